package browser_test

// Whole runs through remote browsers, as the runner sees them: a browser
// that is down or dies is the monitor's error, never the site's failure.

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
	"github.com/waymarkhq/waymark/runner/browser"
	"github.com/waymarkhq/waymark/runner/browser/browsertest"
)

// recorder keeps every attempt the runner finishes.
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

// restarter kills the remote browser once the step named after has
// finished, and starts a new one on the same port at once.
type restarter struct {
	t     *testing.T
	after string
	c     *browsertest.Chromium
	once  sync.Once
}

func (r *restarter) RunStarted(*results.Run)  {}
func (r *restarter) RunFinished(*results.Run) {}
func (r *restarter) StepFinished(_ *results.Run, s *results.Step) {
	if s.Name == r.after {
		r.once.Do(func() {
			r.c.Kill()
			browsertest.Start(r.t, r.c.Port)
		})
	}
}

const twoPages = `
name: remote-run
steps:
  - goto: /first
    name: first
  - goto: /second
    name: second
  - assert: {title: /second}
`

// TestRemoteRunKilled kills the remote browser between two steps: the
// attempt is an error of the monitor saying the browser went, and its
// retry passes on the new browser found at the same http:// address.
func TestRemoteRunKilled(t *testing.T) {
	srv := site(t)
	c := browsertest.Start(t, 0)
	j, err := journeys.Parse("inline.yaml", []byte(twoPages))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	p := newPool(t, browser.Remote{URL: c.HTTPURL()})
	r := runner.New(p, runner.Options{BaseURL: srv.URL, Sink: rec, Observer: &restarter{t: t, after: "first", c: c}})
	if _, err := r.Run(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if len(rec.runs) != 2 {
		t.Fatalf("%d attempts, want the error and its retry", len(rec.runs))
	}
	first, retry := rec.runs[0], rec.runs[1]
	if first.Outcome != results.Error || first.Cause != results.CauseMonitor || !first.Retried || !strings.Contains(first.Error, "browser crashed or was killed") {
		t.Errorf("attempt cut by the kill: %s (%s) retried %v: %s; want error (monitor), retried, saying the browser went",
			first.Outcome, first.Cause, first.Retried, first.Error)
	}
	if retry.Outcome != results.Passed {
		t.Errorf("retry on the restarted browser: %s (%s): %s", retry.Outcome, retry.Cause, retry.Error)
	}
}

// TestRemoteRunDown runs against a remote browser that is not there: every
// attempt is an error of the monitor naming the URL, without its token.
func TestRemoteRunDown(t *testing.T) {
	srv := site(t)
	j, err := journeys.Parse("inline.yaml", []byte(twoPages))
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + deadAddr(t)
	rec := &recorder{}
	p := newPool(t, browser.Remote{URL: down + "/?token=s3cret"})
	if _, err := runner.New(p, runner.Options{BaseURL: srv.URL, Sink: rec}).Run(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if len(rec.runs) == 0 {
		t.Fatal("no run kept")
	}
	for i, run := range rec.runs {
		if run.Outcome != results.Error || run.Cause != results.CauseMonitor || len(run.Steps) != 0 {
			t.Errorf("attempt %d: %s (%s) with %d steps, want error (monitor) before any step", i+1, run.Outcome, run.Cause, len(run.Steps))
		}
		if !strings.Contains(run.Error, down) || strings.Contains(run.Error, "s3cret") {
			t.Errorf("attempt %d error %q: want it to name %s, without the token", i+1, run.Error, down)
		}
	}
}
