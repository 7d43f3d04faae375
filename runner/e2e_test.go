package runner_test

// End-to-end tests: the example journeys in real Chromium against the demo
// shop, healthy and with each fault on. One browser serves every test (a
// fresh browser context per run); each test gets its own shop, so faults
// never leak between parallel tests.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
	"github.com/waymarkhq/waymark/runner/browser"
)

// pool is the one browser of this test binary.
var pool *browser.Pool

func TestMain(m *testing.M) {
	pool = browser.New(browser.Options{})
	code := m.Run()
	if err := pool.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close browser:", err)
	}
	os.Exit(code)
}

// shop starts a demo shop with faults and returns its base URL.
func shop(t *testing.T, faults string) (*examples.Shop, string) {
	t.Helper()
	f, err := examples.ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	s := examples.NewShop(examples.Options{Faults: f, Rand: func() float64 { return 0.5 }})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return s, srv.URL
}

// example loads an example journey; stepTimeout > 0 shortens every step's
// timeout so that failing cases end quickly.
func example(t testing.TB, name string, stepTimeout time.Duration) *journeys.Journey {
	t.Helper()
	js, err := journeys.Load(filepath.Join("..", "examples", "journeys", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j := js[0]
	if stepTimeout > 0 {
		for i := range j.Steps {
			j.Steps[i].Timeout = stepTimeout
		}
	}
	return j
}

// recorder is a Sink that keeps runs in memory.
type recorder struct {
	mu   sync.Mutex
	runs []*results.Run
}

func (r *recorder) SaveRun(_ context.Context, _ *journeys.Journey, run *results.Run) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return nil
}

func newRunner(base string, sink runner.Sink, obs runner.Observer, b runner.Browser) *runner.Runner {
	if b == nil {
		b = pool
	}
	return runner.New(b, runner.Options{BaseURL: base, Sink: sink, Observer: obs,
		Env: func(k string) (string, bool) { return os.LookupEnv(k) }})
}

// slowOnly says whether every step that degraded the run did so by
// crossing a warn threshold, not by failing.
func slowOnly(run *results.Run) bool {
	for _, s := range run.Steps {
		if s.Status == results.StepDegraded && !strings.Contains(s.Error, "over the warn threshold") {
			return false
		}
	}
	return true
}

func TestExamplesPassOnHealthyShop(t *testing.T) {
	for _, name := range []string{"guest-checkout", "signed-in-checkout", "search-and-add"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, base := shop(t, "")
			rec := &recorder{}
			run, err := newRunner(base, rec, nil, nil).Run(t.Context(), example(t, name, 0))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case run.Outcome == results.Degraded && slowOnly(run):
				// A warn threshold crossed on a machine loaded by other
				// test suites: the timing is right to say so.
				t.Logf("degraded by load: %s", run.Error)
			case run.Outcome != results.Passed:
				t.Fatalf("outcome %s: %s", run.Outcome, run.Error)
			}
			if len(rec.runs) != 1 {
				t.Errorf("sink got %d runs, want 1", len(rec.runs))
			}
			first := run.Steps[0]
			if first.HTTPStatus != 200 || first.Timings == nil || first.Timings.Requests < 1 || first.Timings.Load <= 0 {
				t.Errorf("goto step: status %d timings %+v", first.HTTPStatus, first.Timings)
			}
			if !strings.HasPrefix(run.BrowserVersion, "Chrome") && !strings.Contains(run.BrowserVersion, "Chromium") {
				t.Errorf("browser version %q", run.BrowserVersion)
			}
			for _, s := range run.Steps {
				if s.Status != results.StepPassed {
					t.Errorf("step %d %q: %s %s", s.Index, s.Name, s.Status, s.Error)
				}
			}
		})
	}
}

// TestFaults switches each fault on and checks that the run fails at the
// right step, for the right cause, with a message that explains it and a
// screenshot of the page.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		faults, journey string
		outcome         results.Outcome
		step            string // name of the failing step
		cause           results.Cause
		msg             string
	}{
		{"home=500", "guest-checkout", results.Failed, "Home page", results.CauseHTTP, "answered 500"},
		{"home=flaky:0.9", "guest-checkout", results.Failed, "Home page", results.CauseHTTP, "answered 500"},
		{"home=hang", "guest-checkout", results.Failed, "Home page", results.CauseTimeout, "timed out waiting for http://"},
		{"add-to-cart=missing", "guest-checkout", results.Failed, "Add the backpack", results.CauseSelector, "[data-test=add-backpack]: no element matches"},
		{"add-to-cart=broken", "guest-checkout", results.Failed, "The cart badge counts two items", results.CauseScript, "the page threw"},
		{"add-to-cart=500", "guest-checkout", results.Failed, "The cart badge counts two items", results.CauseAssertion, `expected "2"`},
		{"cart=500", "guest-checkout", results.Failed, "Open the cart", results.CauseHTTP, "/cart answered 500"},
		{"payment=500", "guest-checkout", results.Failed, "Pay", results.CauseHTTP, "/payment answered 500"},
		{"payment=hang", "guest-checkout", results.Failed, "Pay", results.CauseTimeout, "/payment to load after [data-test=pay]"},
		{"payment=missing", "guest-checkout", results.Failed, "Pay", results.CauseSelector, "no element matches"},
		{"payment=broken", "guest-checkout", results.Failed, "The order is complete", results.CauseScript, "demo fault payment=broken"},
		{"confirmation=missing", "guest-checkout", results.Failed, "Note the order number", results.CauseSelector, "[data-test=order-id]"},
		{"login=missing", "signed-in-checkout", results.Failed, "Sign in", results.CauseSelector, "[data-test=login-submit]"},
		{"search=500", "search-and-add", results.Failed, "Search", results.CauseHTTP, "answered 500"},
		{"search=slow:1500ms", "search-and-add", results.Degraded, "", "", ""},
	} {
		t.Run(strings.ReplaceAll(tc.faults, "/", "_"), func(t *testing.T) {
			t.Parallel()
			_, base := shop(t, tc.faults)
			rec := &recorder{}
			j := example(t, tc.journey, 3*time.Second)
			run, err := newRunner(base, rec, nil, nil).Run(t.Context(), j)
			if err != nil {
				t.Fatal(err)
			}
			if run.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s (%s)", run.Outcome, tc.outcome, run.Error)
			}
			if tc.step == "" {
				return
			}
			s := run.DecidingStep()
			if s == nil {
				t.Fatalf("no failed step: %s", run.Error)
			}
			if s.Name != tc.step || s.Cause != tc.cause || !strings.Contains(s.Error, tc.msg) {
				t.Errorf("failed at step %d %q (%s): %s\nwant step %q (%s) saying %q", s.Index, s.Name, s.Cause, s.Error, tc.step, tc.cause, tc.msg)
			}
			if run.FailingStep != s.Index || run.Cause != s.Cause {
				t.Errorf("run failing step %d cause %s, step says %d %s", run.FailingStep, run.Cause, s.Index, s.Cause)
			}
			if len(s.Artifacts) == 0 || !bytes.HasPrefix(s.Artifacts[0].Data, []byte{0xFF, 0xD8, 0xFF}) {
				t.Errorf("failed step has no JPEG screenshot (%d artifacts)", len(s.Artifacts))
			}
			for _, later := range run.Steps[s.Index:] {
				if later.Status != results.StepSkipped && !later.Optional {
					// Only `always` steps run after a failure.
					if i := later.Index - 1; !j.Steps[i].Always {
						t.Errorf("step %d %q ran after the failure: %s", later.Index, later.Name, later.Status)
					}
				}
			}
			if len(rec.runs) != 1 {
				t.Errorf("a site failure was retried: sink got %d runs", len(rec.runs))
			}
		})
	}
}

// killer kills the browser once a given step finishes and then heals the
// shop, so the retry can pass.
type killer struct {
	step string // name of the step after which to kill
	shop *examples.Shop
	once sync.Once
	t    *testing.T
}

func (k *killer) RunStarted(*results.Run)  {}
func (k *killer) RunFinished(*results.Run) {}
func (k *killer) StepFinished(_ *results.Run, s *results.Step) {
	if s.Name != k.step {
		return
	}
	k.once.Do(func() {
		k.shop.SetFaults(nil)
		if p := privatePool.Process(); p != nil {
			if err := p.Kill(); err != nil {
				k.t.Error(err)
			}
		}
	})
}

var privatePool *browser.Pool

// TestBrowserCrashIsNotASiteFailure kills Chromium in the middle of a run:
// that run is `error` (cause monitor), never `failed`, and is retried at
// once on a relaunched browser.
func TestBrowserCrashIsNotASiteFailure(t *testing.T) {
	privatePool = browser.New(browser.Options{})
	defer privatePool.Close()
	s, base := shop(t, "payment=hang")
	rec := &recorder{}
	j := example(t, "guest-checkout", 5*time.Second)
	k := &killer{step: "Enter the test card", shop: s, t: t} // then "Pay" waits on a hanging page
	runs, err := newRunner(base, rec, k, privatePool).RunAll(t.Context(), []*journeys.Journey{j})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.runs) != 2 || len(runs) != 2 {
		t.Fatalf("sink got %d runs and RunAll %d, want the error run and its retry", len(rec.runs), len(runs))
	}
	first, run := rec.runs[0], runs[1]
	if runs[0] != first || !first.Retried || run.Retried {
		t.Errorf("first attempt retried %v, second %v: want only the first marked", first.Retried, run.Retried)
	}
	if first.Outcome != results.Error || first.Cause != results.CauseMonitor {
		t.Errorf("crashed run: outcome %s cause %s (%s), want error/monitor", first.Outcome, first.Cause, first.Error)
	}
	if !strings.Contains(first.Error, "browser crashed") {
		t.Errorf("crashed run error %q does not say the browser crashed", first.Error)
	}
	// Degraded is a healthy shop too: a loaded machine may cross a warn
	// threshold of the relaunched browser's first page.
	if run.Attempt != 2 || (run.Outcome != results.Passed && run.Outcome != results.Degraded) {
		t.Errorf("retry: attempt %d outcome %s (%s), want 2 passed (or degraded)", run.Attempt, run.Outcome, run.Error)
	}
	if n := privatePool.Launches(); n != 2 {
		t.Errorf("browser launched %d times, want 2", n)
	}
}

func TestMissingBrowserIsAMonitorError(t *testing.T) {
	_, base := shop(t, "")
	rec := &recorder{}
	b := browser.New(browser.Options{Path: "/nonexistent/chromium"})
	defer b.Close()
	run, err := newRunner(base, rec, nil, b).Run(t.Context(), example(t, "guest-checkout", 0))
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != results.Error || run.Cause != results.CauseMonitor || !strings.Contains(run.Error, "apt-get install -y chromium") {
		t.Errorf("outcome %s cause %s error %q", run.Outcome, run.Cause, run.Error)
	}
	if len(rec.runs) != 1 {
		t.Errorf("a missing browser was retried: %d runs", len(rec.runs))
	}
}

func parse(t *testing.T, src string) *journeys.Journey {
	t.Helper()
	j, err := journeys.Parse("inline.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestSecretsAreMasked(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	t.Setenv("WM_TEST_PASSWORD", secret)
	_, base := shop(t, "")
	j := parse(t, `
name: secret-login
vars: {password: "${secret:WM_TEST_PASSWORD}"}
steps:
  - goto: /login
  - fill: {"[data-test=login-email]": ada@example.com, "[data-test=login-password]": "${password}"}
  - assert: {value: "[data-test=login-password]", equals: "not-${password}"}
    timeout: 1s
`)
	rec := &recorder{}
	run, err := newRunner(base, rec, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	s := run.DecidingStep()
	if s == nil || s.Index != 3 {
		t.Fatalf("want step 3 to fail, got %+v", s)
	}
	all := fmt.Sprintf("%+v", *run)
	if strings.Contains(all, secret) {
		t.Errorf("secret leaked into the run: %s", all)
	}
	if !strings.Contains(s.Expected, "•••") || !strings.Contains(s.Actual, "•••") {
		t.Errorf("expected %q actual %q: want the secret masked, not dropped", s.Expected, s.Actual)
	}
}

func TestRunTimeoutAndCleanup(t *testing.T) {
	_, base := shop(t, "")
	j := parse(t, `
name: slowpoke
timeout: 1s
steps:
  - goto: /
  - wait: 3s
  - click: "[data-test=add-backpack]"
  - goto: /cart
    always: true
    name: cleanup
`)
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	want := []results.Status{results.StepPassed, results.StepFailed, results.StepSkipped, results.StepPassed}
	for i, s := range run.Steps {
		if s.Status != want[i] {
			t.Errorf("step %d %q: %s, want %s (%s)", s.Index, s.Name, s.Status, want[i], s.Error)
		}
	}
	if run.Outcome != results.Failed || run.Cause != results.CauseTimeout || !strings.Contains(run.Error, "the run's 1s budget ran out during this step") {
		t.Errorf("outcome %s cause %s: %s", run.Outcome, run.Cause, run.Error)
	}
}

// holdSignal is a slog.Handler for the demo shop's logger that closes a
// channel when the shop starts holding a request (a hang fault): the test
// then knows, without guessing a delay, that the run is stuck on the page.
type holdSignal struct {
	once sync.Once
	held chan struct{}
}

func (h *holdSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h *holdSignal) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "holding request") {
		h.once.Do(func() { close(h.held) })
	}
	return nil
}
func (h *holdSignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *holdSignal) WithGroup(string) slog.Handler      { return h }

// TestInterruptIsNotAFailure interrupts a run stuck on a hanging page: the
// run is kept as aborted (neither a site failure nor a monitor error), and
// a run interrupted before it started is not a run at all.
func TestInterruptIsNotAFailure(t *testing.T) {
	f, err := examples.ParseFaults("home=hang")
	if err != nil {
		t.Fatal(err)
	}
	sig := &holdSignal{held: make(chan struct{})}
	s := examples.NewShop(examples.Options{Faults: f, Logger: slog.New(sig)})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		select {
		case <-sig.held:
			cancel()
		case <-ctx.Done():
		}
	}()
	rec := &recorder{}
	run, err := newRunner(srv.URL, rec, nil, nil).Run(ctx, example(t, "guest-checkout", 0))
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != results.Aborted || len(rec.runs) != 1 || run.Retried {
		t.Fatalf("interrupted run: outcome %s, %d runs kept, retried %v (%s)", run.Outcome, len(rec.runs), run.Retried, run.Error)
	}
	if s := run.DecidingStep(); s == nil || s.Name != "Home page" || s.Status != results.StepAborted {
		t.Errorf("deciding step %+v, want the home page aborted", s)
	}
	for _, s := range run.Steps[1:] {
		if s.Status != results.StepSkipped {
			t.Errorf("step %d %q after the interrupt: %s, want skipped", s.Index, s.Name, s.Status)
		}
	}

	// Interrupted before it started: no run, nothing kept.
	rec = &recorder{}
	run, err = newRunner(srv.URL, rec, nil, nil).Run(ctx, example(t, "guest-checkout", 0))
	if run != nil || !errors.Is(err, runner.ErrNotStarted) || len(rec.runs) != 0 {
		t.Errorf("run after the interrupt: %+v, error %v, %d kept; want none, ErrNotStarted", run, err, len(rec.runs))
	}
}
