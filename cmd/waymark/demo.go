package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// demoFlags are the flags of `waymark demo`.
type demoFlags struct {
	listen    string
	faults    string
	shopOnly  bool
	once      bool
	database  string
	artifacts string
	tour      tourTimes
}

// tourTimes pace the tour: how often the journeys run, when the payment
// fault comes on and for how long, and when an unacknowledged incident
// reaches the second level. Hidden flags set them, for tests.
type tourTimes struct {
	every, faultAfter, faultFor, escalateAfter time.Duration
}

func (a *app) demoCmd() *cobra.Command {
	var f demoFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "The tour: the demo shop, serve on the example journeys, an incident from start to end",
		Long: `Serve the built-in demo shop and, on it, what ` + "`waymark serve`" + ` does: the example
journeys every 30s, kept in the database, with a notification log (a
webhook receiver built into the demo) and this terminal as channels. After
about a minute the demo switches payment=500 on by itself for two minutes:
the incident opens, is notified, escalates to a second level when nobody
acknowledges it, then resolves, each printed as it happens, with where to
look. It runs until Ctrl-C.

With --once, run the example journeys once instead, record them and say
where to look. With --shop-only, just serve the shop until interrupted (for
trying journeys by hand or in tests).

Faults can be switched on at start (--faults payment=500,add-to-cart=broken,search=slow:2s)
or while running: curl -X PUT -d '{"payment":"500"}' http://ADDR/__faults ({} clears all).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8085", "address the shop listens on")
	fl.StringVar(&f.faults, "faults", "", "faults to switch on, e.g. payment=500,search=slow:2s")
	fl.BoolVar(&f.shopOnly, "shop-only", false, "only serve the shop, run nothing")
	fl.BoolVar(&f.once, "once", false, "run the example journeys once, no tour")
	fl.DurationVar(&f.tour.every, "tour-every", 30*time.Second, "how often the tour runs each journey")
	fl.DurationVar(&f.tour.faultAfter, "tour-fault-after", time.Minute, "when the tour switches payment=500 on")
	fl.DurationVar(&f.tour.faultFor, "tour-fault-for", 2*time.Minute, "how long the tour's fault lasts")
	fl.DurationVar(&f.tour.escalateAfter, "tour-escalate-after", time.Minute, "when an unacknowledged incident reaches level 2")
	for _, name := range []string{"tour-every", "tour-fault-after", "tour-fault-for", "tour-escalate-after"} {
		_ = fl.MarkHidden(name)
	}
	fl.StringVar(&f.database, "database", "", "database to record the demo runs in (default: config database)")
	fl.StringVar(&f.artifacts, "artifacts", "out/demo", "write screenshots to `DIR`")
	return c
}

func (a *app) demo(ctx context.Context, f demoFlags) error {
	faults, err := examples.ParseFaults(f.faults)
	if err != nil {
		return badInput(fmt.Errorf("--faults: %w", err))
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return badInput(fmt.Errorf("--listen %s: %w", f.listen, err))
	}
	shop := examples.NewShop(examples.Options{Faults: faults, Logger: a.logger()})
	srv := &http.Server{Handler: shop, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		shop.Close() // release hanging requests first, so shutdown is quick
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			a.logger().Warn("shop shutdown", "error", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(a.stdout, "demo shop on %s", base)
	if len(faults) > 0 {
		fmt.Fprintf(a.stdout, " with faults %s", f.faults)
	}
	fmt.Fprintln(a.stdout)

	if f.shopOnly {
		fmt.Fprintln(a.stdout, "serving until interrupted (Ctrl-C)")
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		}
	}

	cfg, err := a.loadConfig()
	if err != nil {
		return badInput(err)
	}
	if f.database != "" {
		cfg.Database = f.database
	}
	if !f.once {
		return a.tour(ctx, cfg, f.tour, shop, base)
	}
	js, err := journeys.LoadFS(examples.JourneysFS, "examples")
	if err != nil {
		return fmt.Errorf("example journeys are invalid (a bug): %w", err)
	}
	pool, err := a.startBrowser(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	db := cfg.Database
	st, err := store.Open(ctx, db, store.WithLogger(a.logger()))
	if err != nil {
		return badInput(err)
	}
	defer st.Close()
	fmt.Fprintf(a.stdout, "running %d example journeys against it (recorded in %s)\n\n", len(js), db)
	runs, err := a.execute(ctx, pool, cfg, js, runOptions{baseURL: base, parallel: cfg.Browser.Concurrency(), sink: st, trigger: results.TriggerManual})
	rerr := a.report(runs, runFlags{artifacts: f.artifacts})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, `
Where to look:
  the runs         %s — every run, step, timing and screenshot (SQLite)
  screenshots      %s/ — failed steps and screenshot: steps
  the journeys     examples/journeys/*.yaml — copy one to start your own
  the shop         waymark demo --shop-only, then open %s
  a broken shop    waymark demo --faults payment=500,add-to-cart=broken
`, db, f.artifacts, base)
	return rerr
}
