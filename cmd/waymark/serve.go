package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/journeys/catalog"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/reports/alert"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/reports/web"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/runner"
	"github.com/waymarkhq/waymark/runner/schedule"
)

// serveFlags are the flags of `waymark serve`.
type serveFlags struct {
	listen   string
	location string
	// insecure serves the dashboard with no token beyond loopback.
	insecure bool
}

func (a *app) serveCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run every journey on its schedule until SIGINT/SIGTERM, with /healthz and /metrics",
		Long: `Run every journey on its schedule, day and night, and keep every run.

Journeys are loaded from the config's journeys files and folders, watched
for changes (and reloaded on SIGHUP); a file that stops validating keeps its
last good version scheduled. Several agents may share one PostgreSQL
database; each works its own location's runs. On SIGINT or SIGTERM, running
journeys get shutdown_timeout to finish, then are cut (recorded aborted).

The dashboard and its API share the listener. On a loopback address they
are open; on any other, serve refuses to start unless server.token is set
(a bearer token for the API, and the password of the dashboard's login
form) or --insecure says to serve them open.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "", "address of the dashboard, its API, /healthz and /metrics (default server.listen)")
	fl.StringVar(&f.location, "location", "", "this agent's location label (default the config's location)")
	fl.BoolVar(&f.insecure, "insecure", false, "serve the dashboard with no server.token on an address beyond loopback")
	return c
}

// serve runs the engine until ctx ends, then shuts down in order: no new
// runs, running ones finish or are cut, then the browser and the store.
func (a *app) serve(ctx context.Context, f serveFlags) error {
	a.info = true
	cfg, err := a.loadConfig()
	if err != nil {
		return badInput(err)
	}
	if f.listen != "" {
		cfg.Server.Listen = f.listen
	}
	if f.location != "" {
		cfg.Location = f.location
	}
	if err := a.checkAccess(cfg, f.insecure); err != nil {
		return err
	}
	return a.serveConfig(ctx, cfg, nil)
}

// serveConfig serves cfg until ctx ends. channels are notification
// channels besides the config's, by name, that routes may name (the
// demo's terminal).
func (a *app) serveConfig(ctx context.Context, cfg *config.Config, channels map[string]notify.Channel) error {
	log := a.logger()
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return badInput(fmt.Errorf("listen on %s (server.listen or --listen): %w", cfg.Server.Listen, err))
	}
	defer ln.Close()

	st, err := store.Open(ctx, cfg.Database, store.WithLogger(log))
	if err != nil {
		return badInput(err) // it names the database, without its password
	}
	defer st.Close()

	cat := catalog.New(cfg.Journeys, log)
	snap := cat.Reload()
	sync := func(ctx context.Context, s catalog.Snapshot) {
		for _, fe := range s.Failed {
			log.Error("journey file does not validate", "file", fe.File, "error", fe.Err)
		}
		if err := st.SyncJourneys(ctx, cfg.Journeys, s.Journeys, fileErrors(s.Failed)); err != nil {
			log.Error("sync journeys into the database", "error", err)
		}
	}
	sync(ctx, snap)
	scheduled := 0
	for _, j := range snap.Journeys {
		if j.Schedule != "" {
			scheduled++
		}
	}
	log.Info("journeys loaded", "journeys", len(snap.Journeys), "scheduled", scheduled, "failed_files", len(snap.Failed), "from", cfg.Journeys)

	pool, err := a.startBrowser(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()

	// The engine comes after the alerts, which it works: a remediation's
	// re-run reaches it through eng once it is made.
	var eng *schedule.Engine
	rerun := func(ctx context.Context, journey, location string) error {
		j, ok := cat.Journey(journey)
		if !ok || eng == nil {
			return fmt.Errorf("journey %s is not served here", journey)
		}
		return st.Tx(ctx, func(tx *sqlx.Tx) error {
			_, _, err := eng.RecheckTx(ctx, tx.Tx, j, location, time.Now(), time.Second)
			return err
		})
	}
	alerts, err := a.newAlerts(cfg, st, cat, log, rerun, channels)
	if err != nil {
		return badInput(err)
	}
	sink := &runSink{st: st, alerts: alerts, alert: cfg.Alert, windows: cfg.MaintenanceWindows(), log: log}
	metrics := web.NewMetrics()
	var inFlight atomic.Int64
	r := runner.New(pool, runner.Options{
		Trigger:       results.TriggerSchedule,
		Location:      cfg.Location,
		Env:           a.getenv,
		Sink:          sink,
		Observer:      observed{metrics: metrics, inFlight: &inFlight},
		Logger:        log,
		MaxConcurrent: cfg.Browser.Concurrency(),
	})
	agent := agentID()
	eng, err = schedule.New(schedule.Options{
		Driver:          st.RiverDriver(),
		Agent:           agent,
		Location:        cfg.Location,
		Workers:         cfg.Browser.Concurrency(),
		Runner:          r,
		Sink:            sink,
		Catalog:         cat,
		Book:            book{st},
		LiveAgents:      book{st}.LiveAgents,
		Events:          metrics,
		MaxRunTime:      maxRunTime(snap.Journeys),
		ShutdownTimeout: cfg.ShutdownTimeout,
		Logger:          log,
		Jobs: []schedule.Jobs{{AddWorkers: alerts.AddWorkers, Queues: alerts.Queues(), Periodic: alerts.Periodic()},
			pruneJobs(st, cfg.Retention, log, time.Now)},
	})
	if err != nil {
		return err
	}
	alerts.SetClient(eng.Client())
	sink.engine = eng

	srv := &http.Server{
		Handler: web.New(web.Options{
			Checks: []web.Check{
				{Name: "store", Func: func(ctx context.Context) error { return st.DB().PingContext(ctx) }},
				{Name: "browser", Func: func(ctx context.Context) error {
					_, closeTab, err := pool.Tab(ctx)
					if err == nil {
						closeTab()
						return nil
					}
					// Every slot runs a journey and no tab came free in time:
					// busy, not down (a browser gone fails at once, and the
					// runs in flight would end in error if it hung).
					if ctx.Err() != nil && inFlight.Load() > 0 {
						return nil
					}
					return err
				}},
			},
			Metrics:         metrics,
			QueueDepth:      newQueueWaiting(st, log).depths,
			BrowserRestarts: func() int { return max(pool.Launches()-1, 0) },
			RunsInFlight:    func() int { return int(inFlight.Load()) },
			Dashboard: &web.Dashboard{
				Store:     st,
				Incidents: alerts,
				RunNow: func(ctx context.Context, journey string) error {
					return runNow(ctx, st, eng, cat, cfg.Location, journey)
				},
				Status: func(ctx context.Context) (reports.StatusView, error) {
					now := time.Now()
					d, err := readStatus(ctx, st, now.Add(-24*time.Hour))
					v := statusView(now, d)
					v.Database, v.MissWindow = describeDB(cfg.Database), "24h"
					return v, err
				},
				Windows:      cfg.MaintenanceWindows(),
				Journey:      cat.Journey,
				Token:        cfg.Server.Token,
				SecureCookie: strings.HasPrefix(cfg.Server.PublicURL, "https://"),
				Logger:       log,
			},
			Logger: log,
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http listener stopped", "error", err)
		}
	}()

	// The engine outlives ctx: on a signal it is stopped in order below.
	engCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	started := time.Now()
	host, _ := os.Hostname()
	beat := func(ctx context.Context) {
		err := st.Heartbeat(ctx, store.Agent{ID: agent, Location: cfg.Location, Version: version(), Host: host,
			StartedAt: started, LastSeen: time.Now(), Running: int(inFlight.Load())})
		if err != nil {
			log.Error("agent heartbeat", "error", err)
		}
	}
	// Beat before the engine starts: the first dispatch counts this
	// agent's location among the active ones.
	beat(ctx)
	if err := eng.Start(engCtx); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(schedule.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-engCtx.Done():
				return
			case <-t.C:
				beat(engCtx)
			}
		}
	}()

	if err := cat.Watch(engCtx, 250*time.Millisecond, func(s catalog.Snapshot) {
		log.Info("journey files changed; reloaded", "journeys", len(s.Journeys), "failed_files", len(s.Failed))
		sync(engCtx, s)
	}); err != nil {
		log.Warn("journey files are not watched; send SIGHUP to reload them", "error", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	log.Info("serving", "agent", agent, "location", cfg.Location, "database", describeDB(cfg.Database), "dialect", st.Dialect(),
		"browser", pool.Version(), "workers", cfg.Browser.Concurrency(), "listen", ln.Addr().String())
	fmt.Fprintf(a.stdout, "waymark serve: %d journeys (%d scheduled) in %s; dashboard on http://%s/\n",
		len(snap.Journeys), scheduled, cfg.Location, ln.Addr())
	for {
		select {
		case <-hup:
			s := cat.Reload()
			log.Info("SIGHUP: journeys reloaded", "journeys", len(s.Journeys), "failed_files", len(s.Failed))
			sync(engCtx, s)
			continue
		case <-ctx.Done():
		}
		break
	}

	log.Info("shutting down: running journeys get their time to finish", "shutdown_timeout", cfg.ShutdownTimeout)
	if err := eng.Stop(context.Background()); err != nil {
		log.Error("stop the engine", "error", err)
	}
	stopEngine()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := st.RemoveAgent(sctx, agent); err != nil {
		log.Warn("remove this agent from the agents list", "error", err)
	}
	log.Info("stopped")
	return nil
}

// observed feeds metrics with finished runs and counts the runs in flight.
type observed struct {
	metrics  *web.Metrics
	inFlight *atomic.Int64
}

func (o observed) RunStarted(*results.Run)                  { o.inFlight.Add(1) }
func (o observed) StepFinished(*results.Run, *results.Step) {}
func (o observed) RunFinished(r *results.Run) {
	o.inFlight.Add(-1)
	o.metrics.RunFinished(r)
}

// runSink keeps runs in the store. A slot's final run (not an attempt
// retried at once) is kept in one transaction with the completion of its
// River job, so that the next slot never finds the journey still running
// once the run is kept, and an agent killed after keeping a run leaves no
// job to be rescued and recorded aborted as well (see
// schedule.CompleteJobTx).
//
// The same transaction folds the run into its journey's incidents and
// queues their messages (alert.Manager.ObserveTx). A run inside a
// maintenance window is marked so, and opens nothing.
type runSink struct {
	st      *store.Store
	alerts  *alert.Manager
	alert   config.Alert          // the config's policy defaults
	windows []results.Maintenance // the config's
	log     *slog.Logger
	// engine inserts the early runs of failing journeys (alert.recheck);
	// set once the engine is made.
	engine *schedule.Engine
}

func (s *runSink) SaveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error {
	if run == nil || run.Retried {
		return s.st.SaveRun(ctx, j, run)
	}
	at := run.StartedAt
	if at.IsZero() {
		at = time.Now()
	}
	label, err := maintenanceAt(ctx, s.windows, s.st, j, at)
	if err != nil {
		// The run is kept whatever: counted as outside any window.
		s.log.Error("read maintenance windows", "run", run.ID, "error", err)
	}
	run.Maintenance = label
	var incidents error
	save := func(alerts bool) error {
		return s.st.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := s.st.SaveRunTx(ctx, tx, j, run); err != nil {
				return err
			}
			if _, err := schedule.CompleteJobTx(ctx, tx.Tx); err != nil {
				return fmt.Errorf("save run %s: %w", run.ID, err)
			}
			if !alerts {
				return nil
			}
			var recheck bool
			if recheck, incidents = s.alerts.ObserveTx(ctx, tx, j, run); incidents != nil {
				return incidents
			}
			if recheck && s.engine != nil && run.Trigger == results.TriggerSchedule {
				within := policy(s.alert, j).Recheck
				if _, _, incidents = s.engine.RecheckTx(ctx, tx.Tx, j, run.Location, at, within); incidents != nil {
					return incidents
				}
			}
			return nil
		})
	}
	err = save(true)
	if err != nil && incidents != nil {
		// The incidents could not be written: the run is kept anyway,
		// and the next run of the journey carries the policy on.
		s.log.Error("incidents not updated for a run", "run", run.ID, "journey", run.Journey, "error", incidents)
		err = save(false)
	}
	return err
}

// book is the store as the engine's Book.
type book struct{ st *store.Store }

func (b book) ScheduledJourneys(ctx context.Context) ([]schedule.Planned, error) {
	recs, err := b.st.ScheduledJourneys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]schedule.Planned, len(recs))
	for i, r := range recs {
		out[i] = schedule.Planned{Journey: r.Name, Schedule: r.Schedule, Locations: r.Locations}
	}
	return out, nil
}

func (b book) ActiveLocations(ctx context.Context, since time.Time) ([]string, error) {
	return b.st.ActiveLocations(ctx, since)
}

// LiveAgents lists the agents whose last heartbeat is at or after since,
// by ID, with their locations.
func (b book) LiveAgents(ctx context.Context, since time.Time) (map[string]string, error) {
	agents, err := b.st.Agents(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]string{}
	for _, a := range agents {
		if !a.LastSeen.Before(since) {
			live[a.ID] = a.Location
		}
	}
	return live, nil
}

func (b book) LastSlots(ctx context.Context) (map[schedule.Place]time.Time, error) {
	last, err := b.st.LastSlots(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[schedule.Place]time.Time, len(last))
	for p, slot := range last {
		out[schedule.Place(p)] = slot
	}
	return out, nil
}

func (b book) SetLastSlots(ctx context.Context, slots map[schedule.Place]time.Time) error {
	in := make(map[store.Place]time.Time, len(slots))
	for p, slot := range slots {
		in[store.Place(p)] = slot
	}
	return b.st.SetLastSlots(ctx, in)
}

func (b book) RecordMiss(ctx context.Context, m schedule.Miss) error {
	return b.st.RecordMiss(ctx, store.Miss{Journey: m.Journey, Location: m.Location, Slot: m.Slot, Reason: m.Reason, At: m.At, Agent: m.Agent})
}

// fileErrors turns the catalog's failed files into the store's.
func fileErrors(fs []catalog.FileError) []store.FileError {
	out := make([]store.FileError, len(fs))
	for i, f := range fs {
		out[i] = store.FileError{File: f.File, Err: f.Err}
	}
	return out
}

// maxRunTime bounds the run jobs of journeys this agent has not loaded,
// which it may rescue as the leader (another location's agents may serve
// other files): the longest timeout it knows, twice (a monitor error is
// retried once at once), plus a minute; at least three minutes. The jobs
// of its own journeys follow each journey's timeout (schedule.RunDeadline).
func maxRunTime(js []*journeys.Journey) time.Duration {
	longest := journeys.DefaultRunTimeout
	for _, j := range js {
		longest = max(longest, j.Timeout)
	}
	return max(2*longest+time.Minute, 3*time.Minute)
}

// agentID names this process among the agents: host and a random suffix.
func agentID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "agent"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// version is the module version this binary was built from, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// describeDB names a database for logs without its password.
func describeDB(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// runNow queues a run of the journey at once in each of its locations
// (the agent's own when it names none), as the dashboard's "run now"
// asks: an extra slot, skipped if a run of the journey still goes.
func runNow(ctx context.Context, st *store.Store, eng *schedule.Engine, cat *catalog.Catalog, here, journey string) error {
	j, ok := cat.Journey(journey)
	if !ok {
		return fmt.Errorf("run %s now: %w", journey, web.ErrNotFound)
	}
	locations := j.Locations
	if len(locations) == 0 {
		locations = []string{here}
	}
	return st.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, loc := range locations {
			if _, _, err := eng.RecheckTx(ctx, tx.Tx, j, loc, time.Now(), 0); err != nil {
				return fmt.Errorf("run %s now in %s: %w", journey, loc, err)
			}
		}
		return nil
	})
}
