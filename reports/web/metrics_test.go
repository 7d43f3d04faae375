package web

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/waymarkhq/waymark/results"
)

// scrape gets /metrics and parses it as Prometheus does.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	r := do(t, "GET", url+"/metrics", nil)
	if r.code != 200 {
		t.Fatalf("GET /metrics = %d %s", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the text exposition format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	return fams
}

// sample finds the metric of family name whose labels are exactly labels
// ("k=v" pairs); nil when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	want := slices.Sorted(slices.Values(labels))
	for _, m := range f.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return m
		}
	}
	return nil
}

// value is the value of a counter or gauge sample, or the count of a
// histogram's; -1 when the sample is missing.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := sample(fams, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// bucket is the cumulative count of a histogram sample's bucket le.
func bucket(m *dto.Metric, le float64) float64 {
	for _, b := range m.GetHistogram().GetBucket() {
		if b.GetUpperBound() == le {
			return float64(b.GetCumulativeCount())
		}
	}
	return -1
}

// fixtureRun is a finished run of journey in location with steps of the
// given statuses and durations.
func fixtureRun(journey, location string, o results.Outcome, d time.Duration, steps ...results.Step) *results.Run {
	for i := range steps {
		steps[i].Index = i + 1
	}
	return &results.Run{ID: journey + "-" + string(o), Journey: journey, Location: location, Outcome: o, Duration: d, Attempt: 1, Steps: steps}
}

func step(s results.Status, d time.Duration) results.Step {
	return results.Step{Name: "a name with \"quotes\" and \\ and\nnewlines", Status: s, Duration: d}
}

func TestMetrics(t *testing.T) {
	ms := time.Millisecond
	m := NewMetrics()
	m.RunFinished(fixtureRun("checkout", "eu-west", results.Passed, 1500*ms,
		step(results.StepPassed, 400*ms), step(results.StepPassed, 1100*ms)))
	m.RunFinished(fixtureRun("checkout", "eu-west", results.Passed, 2500*ms,
		step(results.StepPassed, 600*ms), step(results.StepDegraded, 1900*ms)))
	m.RunFinished(fixtureRun("checkout", "eu-west", results.Failed, 11*time.Second,
		step(results.StepPassed, 1000*ms), step(results.StepFailed, 10*time.Second), step(results.StepSkipped, 0)))
	// Neither an error nor an aborted run is timed: they timed the monitor.
	m.RunFinished(fixtureRun("checkout", "eu-west", results.Error, 50*ms, step(results.StepError, 50*ms)))
	m.RunFinished(fixtureRun("checkout", "us-east", results.Aborted, 300*ms, step(results.StepAborted, 300*ms)))
	m.RunFinished(nil)
	m.SlotMissed("checkout", "eu-west", SlotSkipped)
	m.SlotMissed("checkout", "eu-west", SlotSkipped)
	m.SlotMissed("search", "eu-west", SlotDropped)
	m.SlotMissed("search", "eu-west", "mistyped")
	m.RunStarted("checkout", "eu-west", 40*ms)
	m.RunStarted("search", "eu-west", 3*time.Second)
	m.RunStarted("search", "eu-west", -time.Second) // the clock moved back
	m.RunStarted("checkout", "us-east", 70*time.Second)

	url := serve(t, Options{
		Metrics:         m,
		QueueDepth:      func() map[string]int { return map[string]int{"loc_eu-west": 3, "control": 0} },
		BrowserRestarts: func() int { return 2 },
		RunsInFlight:    func() int { return 1 },
	})
	fams := scrape(t, url)

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"waymark_runs_total", []string{"journey=checkout", "location=eu-west", "outcome=passed"}, 2},
		{"waymark_runs_total", []string{"journey=checkout", "location=eu-west", "outcome=failed"}, 1},
		{"waymark_runs_total", []string{"journey=checkout", "location=eu-west", "outcome=error"}, 1},
		{"waymark_runs_total", []string{"journey=checkout", "location=eu-west", "outcome=degraded"}, 0}, // there from the first run
		{"waymark_runs_total", []string{"journey=checkout", "location=us-east", "outcome=aborted"}, 1},
		{"waymark_runs_total", []string{"journey=checkout", "location=us-east", "outcome=passed"}, 0},
		{"waymark_run_duration_seconds", []string{"journey=checkout", "location=eu-west"}, 3},
		{"waymark_run_duration_seconds", []string{"journey=checkout", "location=us-east"}, -1},
		{"waymark_step_duration_seconds", []string{"journey=checkout", "step=1"}, 3},
		{"waymark_step_duration_seconds", []string{"journey=checkout", "step=2"}, 3},
		{"waymark_step_duration_seconds", []string{"journey=checkout", "step=3"}, -1}, // skipped
		{"waymark_slots_missed_total", []string{"journey=checkout", "location=eu-west", "reason=skipped"}, 2},
		{"waymark_slots_missed_total", []string{"journey=checkout", "location=eu-west", "reason=dropped"}, 0},
		{"waymark_slots_missed_total", []string{"journey=search", "location=eu-west", "reason=dropped"}, 1},
		{"waymark_slots_missed_total", []string{"journey=search", "location=eu-west", "reason=other"}, 1},
		{"waymark_schedule_lag_seconds", []string{"location=eu-west"}, 3},
		{"waymark_schedule_lag_seconds", []string{"location=us-east"}, 1},
		{"waymark_queue_depth", []string{"queue=loc_eu-west"}, 3},
		{"waymark_queue_depth", []string{"queue=control"}, 0},
		{"waymark_browser_restarts_total", nil, 2},
		{"waymark_runs_in_flight", nil, 1},
	} {
		if got := value(fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	run := sample(fams, "waymark_run_duration_seconds", "journey=checkout", "location=eu-west")
	if got := run.GetHistogram().GetSampleSum(); got != 1.5+2.5+11 {
		t.Errorf("run duration sum = %v, want 15", got)
	}
	for le, want := range map[float64]float64{0.5: 0, 1: 0, 2: 1, 3: 2, 8: 2, 13: 3, 120: 3} {
		if got := bucket(run, le); got != want {
			t.Errorf("run duration bucket le=%v = %v, want %v", le, got, want)
		}
	}
	step2 := sample(fams, "waymark_step_duration_seconds", "journey=checkout", "step=2")
	if got := step2.GetHistogram().GetSampleSum(); got != 1.1+1.9+10 {
		t.Errorf("step 2 duration sum = %v, want 13", got)
	}
	lag := sample(fams, "waymark_schedule_lag_seconds", "location=eu-west")
	if got := lag.GetHistogram().GetSampleSum(); got != 0.04+3 {
		t.Errorf("lag sum = %v, want 3.04 (a negative lag counts as 0)", got)
	}
	for le, want := range map[float64]float64{0.01: 1, 0.05: 2, 2.5: 2, 5: 3, 60: 3} {
		if got := bucket(lag, le); got != want {
			t.Errorf("lag bucket le=%v = %v, want %v", le, got, want)
		}
	}
	if got := bucket(sample(fams, "waymark_schedule_lag_seconds", "location=us-east"), 60); got != 0 {
		t.Errorf("a 70s lag is in the le=60 bucket (%v)", got)
	}

	types := map[string]dto.MetricType{
		"waymark_runs_total":             dto.MetricType_COUNTER,
		"waymark_run_duration_seconds":   dto.MetricType_HISTOGRAM,
		"waymark_step_duration_seconds":  dto.MetricType_HISTOGRAM,
		"waymark_slots_missed_total":     dto.MetricType_COUNTER,
		"waymark_schedule_lag_seconds":   dto.MetricType_HISTOGRAM,
		"waymark_queue_depth":            dto.MetricType_GAUGE,
		"waymark_browser_restarts_total": dto.MetricType_COUNTER,
		"waymark_runs_in_flight":         dto.MetricType_GAUGE,
	}
	for name, typ := range types {
		f := fams[name]
		if f == nil {
			t.Errorf("%s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
		if len(f.GetHelp()) < 20 {
			t.Errorf("%s has no help worth the name: %q", name, f.GetHelp())
		}
	}
	// The Go runtime and process collectors are there too.
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
}

// TestMetricsLint holds the metric names, types and help to Prometheus's
// own conventions (promlint).
func TestMetricsLint(t *testing.T) {
	m := NewMetrics()
	m.RunFinished(fixtureRun("checkout", "local", results.Passed, time.Second, step(results.StepPassed, time.Second)))
	m.SlotMissed("checkout", "local", SlotDropped)
	m.RunStarted("checkout", "local", time.Millisecond)
	g := callbacks{
		queueDepth: func() map[string]int { return map[string]int{"control": 1} },
		restarts:   func() int { return 0 },
		inFlight:   func() int { return 0 },
	}
	problems, err := testutil.CollectAndLint(m)
	if err != nil {
		t.Fatal(err)
	}
	more, err := testutil.CollectAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(problems, more...) {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(m); n != 5+2+3 {
		t.Errorf("collected %d series, want 10 (5 outcomes, 2 reasons, one of each of 3 histograms)", n)
	}
}

// TestMetricsUntrusted feeds labels no journey file should hold: the
// scrape must still parse, with the text kept as a label value.
func TestMetricsUntrusted(t *testing.T) {
	m := NewMetrics()
	bad := "shop\xff\"}\n# HELP fake"
	m.RunFinished(fixtureRun(bad, "eu\\west", results.Failed, time.Second, step(results.StepFailed, time.Second)))
	m.SlotMissed(bad, "eu", SlotSkipped)
	fams := scrape(t, serve(t, Options{Metrics: m, QueueDepth: func() map[string]int { return map[string]int{"q\xfe": 1} }}))
	want := strings.ToValidUTF8(bad, "\uFFFD")
	if got := value(fams, "waymark_runs_total", "journey="+want, `location=eu\west`, "outcome=failed"); got != 1 {
		t.Errorf("runs_total for the odd journey = %v, want 1; families: %v", got, slices.Sorted(maps.Keys(fams)))
	}
	if got := value(fams, "waymark_queue_depth", "queue=q\uFFFD"); got != 1 {
		t.Errorf("queue depth of an odd queue name = %v, want 1", got)
	}
}

// TestMetricsConcurrent feeds one Metrics from many goroutines while it is
// scraped, for the race detector, and checks nothing was lost.
func TestMetricsConcurrent(t *testing.T) {
	m := NewMetrics()
	url := serve(t, Options{Metrics: m})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			loc := fmt.Sprintf("loc-%d", w%2)
			for range each {
				m.RunFinished(fixtureRun("checkout", loc, results.Passed, time.Second, step(results.StepPassed, time.Second)))
				m.SlotMissed("checkout", loc, SlotSkipped)
				m.RunStarted("checkout", loc, 10*time.Millisecond)
			}
		})
	}
	for range 3 {
		scrape(t, url)
	}
	wg.Wait()
	fams := scrape(t, url)
	for _, loc := range []string{"loc-0", "loc-1"} {
		want := float64(workers / 2 * each)
		for _, c := range []struct {
			name   string
			labels []string
		}{
			{"waymark_runs_total", []string{"journey=checkout", "location=" + loc, "outcome=passed"}},
			{"waymark_run_duration_seconds", []string{"journey=checkout", "location=" + loc}},
			{"waymark_slots_missed_total", []string{"journey=checkout", "location=" + loc, "reason=skipped"}},
			{"waymark_schedule_lag_seconds", []string{"location=" + loc}},
		} {
			if got := value(fams, c.name, c.labels...); got != want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, want)
			}
		}
	}
	if got := value(fams, "waymark_step_duration_seconds", "journey=checkout", "step=1"); got != workers*each {
		t.Errorf("step 1 observations = %v, want %d", got, workers*each)
	}
}

// TestMetricsNoCallbacks: gauges without a callback are left out rather
// than served as a misleading zero, and a handler without Metrics still
// serves the process's.
func TestMetricsNoCallbacks(t *testing.T) {
	fams := scrape(t, serve(t, Options{}))
	for _, name := range []string{"waymark_queue_depth", "waymark_browser_restarts_total", "waymark_runs_in_flight", "waymark_runs_total"} {
		if fams[name] != nil {
			t.Errorf("%s served without a callback or a run", name)
		}
	}
	if fams["go_goroutines"] == nil {
		t.Error("go_goroutines missing")
	}
}

// TestMetricsTwoHandlers: one Metrics serves several handlers (registries
// of their own, no global one), each seeing every count.
func TestMetricsTwoHandlers(t *testing.T) {
	m := NewMetrics()
	a, b := serve(t, Options{Metrics: m}), serve(t, Options{Metrics: m})
	m.SlotMissed("checkout", "local", SlotDropped)
	for _, url := range []string{a, b} {
		if got := value(scrape(t, url), "waymark_slots_missed_total", "journey=checkout", "location=local", "reason=dropped"); got != 1 {
			t.Errorf("%s: dropped = %v, want 1", url, got)
		}
	}
}

// TestMetricsCallbackPanics: a callback that panics costs its own metric,
// logged, and neither the scrape nor the process.
func TestMetricsCallbackPanics(t *testing.T) {
	var logged strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), nil))
	fams := scrape(t, serve(t, Options{
		QueueDepth:      func() map[string]int { panic("river client is nil") },
		BrowserRestarts: func() int { return 4 },
		RunsInFlight:    func() int { panic("pool closed") },
		Logger:          log,
	}))
	if got := value(fams, "waymark_browser_restarts_total"); got != 4 {
		t.Errorf("restarts = %v, want 4 next to the callbacks that panicked", got)
	}
	for _, name := range []string{"waymark_queue_depth", "waymark_runs_in_flight"} {
		if fams[name] != nil {
			t.Errorf("%s served from a callback that panicked", name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"river client is nil", "pool closed"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}

// writerFunc is an io.Writer of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
