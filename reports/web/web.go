// Package web is the HTTP face of `waymark serve`: /healthz for load
// balancers and orchestrators, /metrics for Prometheus, and the dashboard
// with its JSON API (/api/v1) on the same listener.
//
// It holds no state of its own beyond what one handler needs: the engine
// feeds a Metrics value, and tells the handler how to check its parts
// (Check) and how to read its gauges (the callbacks of Options).
package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultCheckTimeout is how long /healthz waits for a check when
// Options.CheckTimeout is zero: short, so a hung database answers 503
// well within the timeout of the probe asking (Kubernetes waits 1s by
// default, most load balancers 2–5s).
const DefaultCheckTimeout = 2 * time.Second

// Options configures New. Every field is optional.
type Options struct {
	// Checks are what /healthz asks, in this order, e.g. "store" (a ping
	// of the database) and "browser" (the browser answers).
	Checks []Check
	// CheckTimeout bounds each check; zero is DefaultCheckTimeout.
	CheckTimeout time.Duration

	// Metrics is what the engine feeds; nil serves a Metrics nobody feeds
	// (every series at zero), so /metrics still describes the process.
	Metrics *Metrics
	// QueueDepth returns the number of jobs waiting, by queue name, for
	// the gauge waymark_queue_depth. It is called on every scrape, so it
	// must be quick; a queue missing from the map is not reported.
	QueueDepth func() map[string]int
	// BrowserRestarts returns how many times the browser was restarted
	// since the process started, for the counter
	// waymark_browser_restarts_total.
	BrowserRestarts func() int
	// RunsInFlight returns how many runs are going on now, for the gauge
	// waymark_runs_in_flight.
	RunsInFlight func() int

	// Dashboard serves the dashboard and its API; nil serves only
	// /healthz and /metrics.
	Dashboard *Dashboard

	// Logger receives what goes wrong while serving a scrape; nil
	// discards.
	Logger *slog.Logger
}

// New returns the handler of `waymark serve`'s listener:
//
//   - GET /healthz: 200 "ok" when every check passes, 503 with one line
//     per failing check ("store: …") otherwise; JSON when the request
//     accepts application/json. See Check.
//   - GET /metrics: the Prometheus exposition format, from a registry of
//     this handler's own holding opts.Metrics, the gauges of opts, and the
//     Go runtime and process collectors.
//
// HEAD is answered as GET without a body, other methods with 405, and any
// other path with 404.
func New(opts Options) http.Handler {
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = DefaultCheckTimeout
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		opts.Metrics,
		callbacks{queueDepth: opts.QueueDepth, restarts: opts.BrowserRestarts, inFlight: opts.RunsInFlight},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// One collector that fails must not blank the whole scrape: what
		// could be gathered is served, and the error logged.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      promLogger{log},
	})

	mux := http.NewServeMux()
	// "GET" patterns match HEAD too; the mux answers other methods with
	// 405 and an Allow header, and unknown paths with 404.
	mux.Handle("GET /healthz", newHealth(opts.Checks, opts.CheckTimeout))
	mux.Handle("GET /metrics", metrics)
	if opts.Dashboard == nil {
		return mux
	}
	if opts.Dashboard.Logger == nil {
		opts.Dashboard.Logger = log
	}
	d := newDash(opts.Dashboard)
	d.register(mux)
	return d.guard(mux)
}

// promLogger hands promhttp's error log to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Warn("serve /metrics", "error", fmt.Sprint(v...))
}
