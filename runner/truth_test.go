package runner_test

// Tests that a run tells the truth: which step decided it, where the
// page's exceptions and dialogs belong, what its duration measures, and
// that nothing unmasked or unbounded leaves the runner.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
)

// pages serves fixed HTML pages by path on 127.0.0.1.
func pages(t *testing.T, byPath map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func stepNamed(t *testing.T, run *results.Run, name string) *results.Step {
	t.Helper()
	for i := range run.Steps {
		if run.Steps[i].Name == name {
			return &run.Steps[i]
		}
	}
	t.Fatalf("no step %q in %d steps", name, len(run.Steps))
	return nil
}

// TestSiteFailureOutlivesCleanupError: the shop fails at "Pay"; the
// journey's clean-up then cannot even start (the order to delete was never
// extracted: a monitor error). The run is failed at Pay — a real outage
// must alert — not error at the clean-up.
func TestSiteFailureOutlivesCleanupError(t *testing.T) {
	_, base := shop(t, "payment=500")
	src, err := os.ReadFile(filepath.Join("..", "examples", "journeys", "guest-checkout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j := parse(t, string(src)+`
  - request: {method: DELETE, url: "/api/orders/${order_id}", expect: {status: 204}}
    name: Cancel the test order
    always: true
`)
	for i := range j.Steps {
		j.Steps[i].Timeout = 3 * time.Second
	}
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	last := run.Steps[len(run.Steps)-1]
	if last.Name != "Cancel the test order" || last.Status != results.StepError || last.Cause != results.CauseMonitor {
		t.Fatalf("clean-up step %q: %s %s (%s), want a monitor error", last.Name, last.Status, last.Cause, last.Error)
	}
	s := run.DecidingStep()
	if run.Outcome != results.Failed || s == nil || s.Name != "Pay" || run.Cause != results.CauseHTTP || run.FailingStep != s.Index {
		t.Errorf("run %s cause %s failing step %d (%+v), want failed at Pay with cause http", run.Outcome, run.Cause, run.FailingStep, s)
	}
	if run.Retried || run.Attempt != 1 {
		t.Errorf("a site failure was retried: attempt %d", run.Attempt)
	}
}

// TestExceptionsBelongToTheirStep: the add buttons throw when clicked. The
// exception is recorded on the click that threw it, and the assertion that
// notices the badge did not change says which step threw.
func TestExceptionsBelongToTheirStep(t *testing.T) {
	_, base := shop(t, "add-to-cart=broken")
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), example(t, "guest-checkout", 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	click := stepNamed(t, run, "Add the bike light")
	var thrown []string
	for _, c := range click.Console {
		if c.Kind == results.ConsoleException {
			thrown = append(thrown, c.Text)
		}
	}
	if len(thrown) != 1 || !strings.Contains(thrown[0], "demo fault add-to-cart=broken") {
		t.Errorf("the click that threw has exceptions %q, want the demo fault's", thrown)
	}
	check := stepNamed(t, run, "The cart badge counts two items")
	for _, c := range check.Console {
		if c.Kind == results.ConsoleException {
			t.Errorf("the assertion got an exception it did not cause: %s", c.Text)
		}
	}
	want := `the page threw during step 5 "Add the bike light": Error: demo fault add-to-cart=broken`
	if check.Status != results.StepFailed || check.Cause != results.CauseScript || !strings.Contains(check.Error, want) {
		t.Errorf("assertion: %s %s %q, want script failure saying %q", check.Status, check.Cause, check.Error, want)
	}
}

// TestDialogsAreAnswered: an alert on load and a confirm on a click would
// block the page until the step timed out. They are answered (alert
// accepted, confirm dismissed), recorded on their steps, and quoted when a
// step fails.
func TestDialogsAreAnswered(t *testing.T) {
	base := pages(t, map[string]string{
		"/": `<title>d</title><script>alert("Session \"expired\"; please sign in again")</script>
<button id=del onclick="document.getElementById('out').textContent = confirm('Delete your account?') ? 'deleted' : 'kept'">Delete</button>
<p id=out></p>`,
	})
	j := parse(t, `
name: dialogs
steps:
  - goto: /
    timeout: 5s
  - click: "#del"
  - assert: {text: "#out", equals: kept}
  - assert: {text: "#out", equals: deleted}
    timeout: 1s
`)
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`alert "Session \"expired\"; please sign in again" (accepted)`, `confirm "Delete your account?" (dismissed)`} {
		s := run.Steps[i]
		if s.Status != results.StepPassed || len(s.Console) != 1 || s.Console[0].Kind != results.ConsoleDialog || s.Console[0].Text != want {
			t.Errorf("step %d %q: %s, console %+v; want passed with dialog %s", s.Index, s.Name, s.Status, s.Console, want)
		}
	}
	if run.Steps[0].Duration > 3*time.Second {
		t.Errorf("the alert held goto for %s", run.Steps[0].Duration)
	}
	if s := run.Steps[2]; s.Status != results.StepPassed {
		t.Errorf("confirm was not dismissed: %s %s", s.Status, s.Error)
	}

	// A failing step quotes the dialog it saw.
	j = parse(t, `
name: dialog-fails
steps:
  - goto: /
  - click: "#del"
  - assert: {text: "#out", equals: deleted}
    timeout: 1s
`)
	base2 := pages(t, map[string]string{"/": `<title>d</title>
<button id=del onclick="alert('Out of stock'); throw new Error('cart refused')">Delete</button><p id=out></p>`})
	run, err = newRunner(base2, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Steps[1]; !strings.Contains(run.Steps[2].Error, `cart refused`) || len(s.Console) != 2 {
		t.Errorf("click console %+v; assertion error %q", s.Console, run.Steps[2].Error)
	}
}

// TestDurationMeasuresTheSite: the run's duration runs from its first
// step's start to its last step's end; the monitor's own set-up and
// tear-down is recorded apart.
func TestDurationMeasuresTheSite(t *testing.T) {
	base := pages(t, map[string]string{"/": `<title>t</title><p id=p>hi</p>`})
	j := parse(t, `
name: short
steps:
  - goto: /
  - assert: {text: "#p", equals: hi}
`)
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	last := run.Steps[len(run.Steps)-1]
	end := last.Start + last.Duration
	if d := run.Duration - end; d < 0 || d > 5*time.Millisecond {
		t.Errorf("run duration %s, last step ends at %s: want them equal", run.Duration, end)
	}
	if run.Setup <= 0 {
		t.Errorf("set-up time %s, want the browser context's set-up and tear-down", run.Setup)
	}
	if !run.FinishedAt.Equal(run.StartedAt.Add(run.Duration)) {
		t.Errorf("started %s finished %s duration %s", run.StartedAt, run.FinishedAt, run.Duration)
	}
}

// TestScreenshotAfterRefusedConnection: the browser's own error page is
// the evidence of a refused connection.
func TestScreenshotAfterRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	j := parse(t, "name: refused\nsite: http://"+addr+"\nsteps:\n  - goto: /\n")
	run, err := newRunner("", nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	s := run.Steps[0]
	if s.Cause != results.CauseNetwork || !strings.Contains(s.Error, "ERR_CONNECTION_REFUSED") {
		t.Fatalf("step: %s %s", s.Cause, s.Error)
	}
	if len(s.Artifacts) != 1 || !bytes.HasPrefix(s.Artifacts[0].Data, []byte{0xFF, 0xD8, 0xFF}) || len(s.Notes) != 0 {
		t.Errorf("refused connection: %d artifacts, notes %q; want the error page's screenshot", len(s.Artifacts), s.Notes)
	}
}

// seen is an Observer that keeps a copy of every step it is shown.
type seen struct {
	mu    sync.Mutex
	steps []results.Step
}

func (o *seen) RunStarted(*results.Run)  {}
func (o *seen) RunFinished(*results.Run) {}
func (o *seen) StepFinished(_ *results.Run, s *results.Step) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.steps = append(o.steps, *s)
}

// TestNothingUnmaskedLeaves: the live progress sees steps already masked,
// including a secret the page echoes in its text, its title and a URL the
// browser form-encoded.
func TestNothingUnmaskedLeaves(t *testing.T) {
	const secret = "Zq7~k*p!x y"
	t.Setenv("WM_TRUTH_SECRET", secret)
	base := pages(t, map[string]string{
		"/": `<title>search</title><form action=/results><input id=q name=q><button id=go>Go</button></form>`,
		"/results": `<title>r</title><h1 id=h></h1><script>const q = new URLSearchParams(location.search).get("q");
document.getElementById("h").textContent = "Results for “" + q + "”"; document.title = q;
setTimeout(() => { throw new Error("no results for " + q) }, 0)</script>`,
	})
	j := parse(t, `
name: echo
vars: {q: "${secret:WM_TRUTH_SECRET}"}
steps:
  - goto: /
  - fill: {"#q": "${q}"}
  - click: "#go"
  - assert: {title: "not ${q}"}
    timeout: 1s
`)
	obs := &seen{}
	run, err := newRunner(base, nil, obs, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != results.Failed {
		t.Fatalf("outcome %s (%s)", run.Outcome, run.Error)
	}
	all := fmt.Sprintf("%+v %+v", obs.steps, *run)
	for _, form := range []string{secret, "Zq7%7Ek*p%21x+y", "Zq7~k*p!x", "Zq7"} {
		if strings.Contains(all, form) {
			t.Errorf("the secret leaked as %q:\n%s", form, all)
		}
	}
	if s := obs.steps[3]; !strings.Contains(s.Error, "•••") || !strings.Contains(s.URL, "q=•••") {
		t.Errorf("failing step as the observer saw it: error %q url %q; want the secret masked", s.Error, s.URL)
	}
}

// TestHostileTextIsBounded: a 100 KB text and a 5 MB eval result are kept
// clipped, with a mark saying how much was cut.
func TestHostileTextIsBounded(t *testing.T) {
	base := pages(t, map[string]string{"/": `<title>big</title><p id=p></p><script>
document.getElementById("p").textContent = "x".repeat(100 * 1024);
console.error("\x1b[2J" + "y".repeat(50 * 1024));</script>`})
	j := parse(t, `
name: big
steps:
  - goto: /
  - assert: {text: "#p", equals: short}
    timeout: 1s
    optional: true
  - assert: {js: "'z'.repeat(5 * 1024 * 1024) === 'no'"}
    timeout: 1s
`)
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Steps {
		for what, v := range map[string]string{"error": s.Error, "expected": s.Expected, "actual": s.Actual} {
			if len(v) > results.MaxError+64 {
				t.Errorf("step %d %s is %d bytes", s.Index, what, len(v))
			}
		}
		for _, c := range s.Console {
			if len(c.Text) > results.MaxConsole+64 {
				t.Errorf("step %d console entry is %d bytes", s.Index, len(c.Text))
			}
		}
	}
	if a := run.Steps[1].Actual; !strings.HasSuffix(a, "KB more)") {
		t.Errorf("actual %q… does not say how much was cut", a[max(0, len(a)-40):])
	}
}

// TestCheckLikeAPerson: a styled radio already checked is left alone; a
// hidden checkbox is toggled through its visible label; an ARIA switch
// is read by aria-checked.
func TestCheckLikeAPerson(t *testing.T) {
	base := pages(t, map[string]string{"/": `<title>c</title><style>.sr{position:absolute;opacity:0;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
label{display:inline-block;padding:4px}</style>
<input type=radio name=ship id=std class=sr checked><label for=std>Standard</label>
<input type=radio name=ship id=exp class=sr><label for=exp>Express</label>
<label><input type=checkbox id=terms style="display:none"> I accept the <a href="/terms">terms</a></label>
<div role=switch id=news aria-checked=false tabindex=0 style="width:40px;height:20px;background:#ccc"
  onclick="this.setAttribute('aria-checked', this.getAttribute('aria-checked') === 'true' ? 'false' : 'true')"></div>`})
	j := parse(t, `
name: toggles
steps:
  - goto: /
  - check: "#std"
    name: already checked
  - check: "#terms"
    name: through its label
  - check: "#news"
    name: aria switch
  - uncheck: "#news"
    name: aria switch off
  - assert: {js: "document.getElementById('std').checked && document.getElementById('terms').checked && location.pathname === '/'"}
  - check: "#exp"
    name: the other radio
  - assert: {js: "document.getElementById('exp').checked && !document.getElementById('std').checked"}
`)
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Steps {
		if s.Status != results.StepPassed {
			t.Errorf("step %d %q: %s %s", s.Index, s.Name, s.Status, s.Error)
		}
	}
}

// inFlight is an Observer that counts the runs in flight at once.
type inFlight struct {
	mu       sync.Mutex
	now, top int
	order    []string // journeys in the order they started
}

func (o *inFlight) RunStarted(r *results.Run) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.order = append(o.order, r.Journey)
	o.now++
	o.top = max(o.top, o.now)
}
func (o *inFlight) RunFinished(*results.Run) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.now--
}
func (o *inFlight) StepFinished(*results.Run, *results.Step) {}

// TestRunAllBoundsConcurrency: RunAll runs every journey, starting them
// in journey order, never more at once than MaxConcurrent.
func TestRunAllBoundsConcurrency(t *testing.T) {
	var js []*journeys.Journey
	for i := range 4 {
		js = append(js, parse(t, fmt.Sprintf("name: j%d\nsteps:\n  - goto: /\n", i)))
	}
	for _, limit := range []int{1, 2} {
		// The page answers once limit requests wait for it (or after 5s),
		// so runs that may overlap do, however loaded the machine is.
		var mu sync.Mutex
		waiting, release := 0, make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if waiting++; waiting == limit {
				close(release)
			}
			mu.Unlock()
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			fmt.Fprint(w, `<title>t</title>`)
		}))
		defer srv.Close()
		base := srv.URL
		obs := &inFlight{}
		r := runner.New(pool, runner.Options{BaseURL: base, Observer: obs, MaxConcurrent: limit})
		runs, err := r.RunAll(t.Context(), js)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != len(js) {
			t.Fatalf("limit %d: %d runs, want %d", limit, len(runs), len(js))
		}
		for i, run := range runs {
			if run.Journey != js[i].Name || run.Outcome != results.Passed {
				t.Errorf("limit %d: run %d is %s %s, want %s passed", limit, i, run.Journey, run.Outcome, js[i].Name)
			}
		}
		if obs.top != limit {
			t.Errorf("limit %d: %d runs were in flight at once", limit, obs.top)
		}
		if limit == 1 && strings.Join(obs.order, " ") != "j0 j1 j2 j3" {
			t.Errorf("one at a time, they started in the order %v", obs.order)
		}
	}
}
