package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waymarkhq/waymark/results"
)

// Reasons a slot did not run, the values of the reason label of
// waymark_slots_missed_total.
const (
	// SlotSkipped: the journey's previous run in that location was still
	// going when the slot fell due.
	SlotSkipped = "skipped"
	// SlotDropped: the slot was older than its interval when a worker
	// got to it (an agent was down, a queue backed up), and a run that
	// late would say nothing about that time.
	SlotDropped = "dropped"
)

// Histogram buckets, in seconds.
var (
	// runBuckets cover journeys from half a second to the two minutes of a
	// long checkout, closer together where thresholds usually sit.
	runBuckets = []float64{0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, 120}
	// stepBuckets cover steps from an assertion that holds at once to one
	// that waits out its whole timeout.
	stepBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30}
	// lagBuckets cover the time from a slot's due time to its run's start,
	// from a healthy few milliseconds to the minute of a backed-up queue.
	lagBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// Metrics are the counts and timings the engine reports about its runs
// and slots, served by /metrics. The engine calls its methods; they are
// safe for concurrent use and cheap (a map lookup and an atomic add).
//
// Metrics is a prometheus.Collector and registers in no registry itself:
// New registers it in the handler's own registry, so nothing is shared
// through client_golang's global default registry, and tests can have as
// many as they like.
type Metrics struct {
	runs        *prometheus.CounterVec
	runDuration *prometheus.HistogramVec
	stepTime    *prometheus.HistogramVec
	slotsMissed *prometheus.CounterVec
	lag         *prometheus.HistogramVec
}

// NewMetrics returns Metrics with every series at zero.
func NewMetrics() *Metrics {
	return &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_runs_total",
			Help: "Finished runs by journey, location and outcome (passed, degraded, failed, error: the monitor failed, aborted: cut short by a shutdown). Every attempt counts: an error run retried at once counts once as error and once by the outcome of its retry.",
		}, []string{"journey", "location", "outcome"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_run_duration_seconds",
			Help:    "Duration of runs that checked the site (passed, degraded, failed), from the first step's start to the last step's end: the site's time, without the monitor's own set-up.",
			Buckets: runBuckets,
		}, []string{"journey", "location"}),
		// The step label is the step's 1-based index, not its name: names
		// are free text from journey files (long, any character, changed
		// at will), which would make series unbounded in number, awkward
		// to escape and broken by every rename. The index stays put while
		// the journey does; the journey file says which step it is.
		stepTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_step_duration_seconds",
			Help:    "Duration of steps that checked the site (passed, degraded, failed; not skipped, monitor errors nor aborted), by journey and step, the step's 1-based index in the journey.",
			Buckets: stepBuckets,
		}, []string{"journey", "step"}),
		slotsMissed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waymark_slots_missed_total",
			Help: "Scheduled slots that did not run, by journey, location and reason: skipped (the previous run of the journey was still going) or dropped (the slot was older than its interval when a worker got to it).",
		}, []string{"journey", "location", "reason"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waymark_schedule_lag_seconds",
			Help:    "Time from a slot's due time to the start of its run, by location: how far behind its schedule the engine runs.",
			Buckets: lagBuckets,
		}, []string{"location"}),
	}
}

// RunFinished counts a finished run (every attempt, aborted ones
// included) and, for a run that checked the site, observes its duration
// and the durations of its steps that ran.
func (m *Metrics) RunFinished(run *results.Run) {
	if run == nil {
		return
	}
	journey, location := label(run.Journey), label(run.Location)
	// Every outcome of a journey exists from its first run on, at zero
	// until it happens, so increase() and alerts on "failed" work from
	// the first failure rather than the second.
	for _, o := range outcomes {
		m.runs.WithLabelValues(journey, location, o)
	}
	m.runs.WithLabelValues(journey, location, label(string(run.Outcome))).Inc()
	switch run.Outcome {
	case results.Passed, results.Degraded, results.Failed:
	default:
		return // error and aborted runs timed the monitor, not the site
	}
	m.runDuration.WithLabelValues(journey, location).Observe(run.Duration.Seconds())
	for i := range run.Steps {
		s := &run.Steps[i]
		switch s.Status {
		case results.StepPassed, results.StepDegraded, results.StepFailed:
			m.stepTime.WithLabelValues(journey, strconv.Itoa(s.Index)).Observe(s.Duration.Seconds())
		}
	}
}

// outcomes are the values of the outcome label, in order.
var outcomes = []string{
	string(results.Passed), string(results.Degraded), string(results.Failed),
	string(results.Error), string(results.Aborted),
}

// SlotMissed counts a slot of journey in location that did not run, for
// reason SlotSkipped or SlotDropped; any other reason counts as "other",
// so a caller's mistake cannot grow the series without bound.
func (m *Metrics) SlotMissed(journey, location, reason string) {
	switch reason {
	case SlotSkipped, SlotDropped:
	default:
		reason = "other"
	}
	journey, location = label(journey), label(location)
	m.slotsMissed.WithLabelValues(journey, location, SlotSkipped)
	m.slotsMissed.WithLabelValues(journey, location, SlotDropped)
	m.slotsMissed.WithLabelValues(journey, location, reason).Inc()
}

// RunStarted observes the schedule lag of a run of journey in location
// that has just started: the time from its slot's due time to now. A
// negative lag (a clock that moved) counts as zero.
func (m *Metrics) RunStarted(journey, location string, lag time.Duration) {
	_ = journey // by location only: lag is the engine's, and journeys share it
	m.lag.WithLabelValues(label(location)).Observe(max(lag, 0).Seconds())
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.runs.Describe(ch)
	m.runDuration.Describe(ch)
	m.stepTime.Describe(ch)
	m.slotsMissed.Describe(ch)
	m.lag.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.runs.Collect(ch)
	m.runDuration.Collect(ch)
	m.stepTime.Collect(ch)
	m.slotsMissed.Collect(ch)
	m.lag.Collect(ch)
}

// label makes s a valid label value: client_golang refuses (panics on)
// text that is not UTF-8. Journey names are slugs and locations come from
// the config, so this is a guard, not a rewrite.
func label(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// callbacks reads the engine's gauges and its browser restart count
// from the callbacks of Options at each scrape; a nil callback's metric
// is not served, rather than served as a misleading zero.
type callbacks struct {
	queueDepth func() map[string]int
	restarts   func() int
	inFlight   func() int
}

var (
	queueDepthDesc = prometheus.NewDesc("waymark_queue_depth",
		"Jobs waiting to be worked, by queue (a location's runs are in loc_<location>; control holds the dispatcher).",
		[]string{"queue"}, nil)
	restartsDesc = prometheus.NewDesc("waymark_browser_restarts_total",
		"Times the browser was restarted (it crashed or stopped answering) since the process started.", nil, nil)
	inFlightDesc = prometheus.NewDesc("waymark_runs_in_flight",
		"Runs going on now in this process.", nil, nil)
)

// Describe implements prometheus.Collector.
func (g callbacks) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- restartsDesc
	ch <- inFlightDesc
}

// Collect implements prometheus.Collector. A callback that panics is
// reported as that metric's collection error (logged, the rest of the
// scrape served) rather than taking the process down with it.
func (g callbacks) Collect(ch chan<- prometheus.Metric) {
	if g.queueDepth != nil {
		if depth, err := safeCall(g.queueDepth); err != nil {
			ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		} else {
			for q, n := range depth {
				ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n), label(q))
			}
		}
	}
	for _, c := range []struct {
		f    func() int
		desc *prometheus.Desc
		typ  prometheus.ValueType
	}{{g.restarts, restartsDesc, prometheus.CounterValue}, {g.inFlight, inFlightDesc, prometheus.GaugeValue}} {
		if c.f == nil {
			continue
		}
		if n, err := safeCall(c.f); err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
		} else {
			ch <- prometheus.MustNewConstMetric(c.desc, c.typ, float64(n))
		}
	}
}

// safeCall calls f, turning a panic into an error.
func safeCall[T any](f func() T) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("metric callback panicked: %v", p)
		}
	}()
	return f(), nil
}
