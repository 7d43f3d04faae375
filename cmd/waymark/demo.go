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
	database  string
	artifacts string
}

func (a *app) demoCmd() *cobra.Command {
	var f demoFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Serve the demo shop and run the example journeys against it",
		Long: `Serve the built-in demo shop and run the example journeys against it once,
recording the runs, then say where to look. With --shop-only, just serve the
shop until interrupted (for trying journeys by hand or in tests).

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
	js, err := journeys.LoadFS(examples.JourneysFS, "examples")
	if err != nil {
		return fmt.Errorf("example journeys are invalid (a bug): %w", err)
	}
	pool, err := a.startBrowser(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	db := f.database
	if db == "" {
		db = cfg.Database
	}
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
