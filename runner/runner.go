// Package runner runs one journey in a browser tab, step by step, and turns
// what happened into a results.Run: statuses, failure causes, timings and
// screenshots. It never stores anything itself; finished runs go to a Sink.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/google/uuid"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner/browser"
)

// Browser hands out isolated tabs. browser.Pool is the implementation.
type Browser interface {
	Tab(ctx context.Context) (context.Context, context.CancelFunc, error)
	Version() string
}

// Sink receives every finished run, e.g. to store it.
type Sink interface {
	SaveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error
}

// Observer is told about progress as it happens, e.g. to print it.
type Observer interface {
	RunStarted(r *results.Run)
	StepFinished(r *results.Run, s *results.Step)
	RunFinished(r *results.Run)
}

// Options configure a Runner. Only Browser is required.
type Options struct {
	BaseURL  string // overrides every journey's site
	Trigger  results.Trigger
	Location string
	// Env reads the environment for ${env:…} and ${secret:…}; nil reads none.
	Env      func(string) (string, bool)
	Now      func() time.Time // nil = time.Now
	NewID    func() string    // nil = UUIDv7 (time-ordered)
	Sink     Sink             // nil = runs are not kept
	Observer Observer         // nil = silent
	Logger   *slog.Logger     // nil = discard
	// ScreenshotQuality is the JPEG quality of screenshots (default 70).
	ScreenshotQuality int
}

// Runner runs journeys. It is safe for concurrent use: each Run gets its
// own tab and browser context.
type Runner struct {
	b    Browser
	opts Options
	log  *slog.Logger
	http *resty.Client // for `request` steps
}

// New returns a Runner that drives b.
func New(b Browser, opts Options) *Runner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if opts.Env == nil {
		opts.Env = func(string) (string, bool) { return "", false }
	}
	if opts.Trigger == "" {
		opts.Trigger = results.TriggerManual
	}
	if opts.Location == "" {
		opts.Location = "local"
	}
	if opts.ScreenshotQuality == 0 {
		opts.ScreenshotQuality = 70
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{b: b, opts: opts, log: log, http: newHTTPClient()}
}

// Run runs j once and returns the finished run. A run whose outcome is
// error (the monitor failed, not the site) is retried once at once; both
// attempts go to the Sink, and the last is returned. The error is non-nil
// only when the Sink failed to keep a run.
func (r *Runner) Run(ctx context.Context, j *journeys.Journey) (*results.Run, error) {
	run := r.attempt(ctx, j, 1)
	err := r.finish(ctx, j, run)
	if run.Outcome == results.Error && retryable(ctx, run) {
		r.log.Warn("monitor error; retrying once", "journey", j.Name, "run", run.ID, "error", run.Error)
		run = r.attempt(ctx, j, 2)
		err = errors.Join(err, r.finish(ctx, j, run))
	}
	return run, err
}

// retryable says whether an error run is worth a second attempt: not when
// the user interrupted, nor when the browser is not installed.
func retryable(ctx context.Context, run *results.Run) bool {
	if ctx.Err() != nil || run.Cause != results.CauseMonitor {
		return false
	}
	return !strings.Contains(run.Error, "install it")
}

func (r *Runner) finish(ctx context.Context, j *journeys.Journey, run *results.Run) error {
	var err error
	if r.opts.Sink != nil {
		// Keep the run even when ctx was cancelled (Ctrl-C): it was recorded.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err = r.opts.Sink.SaveRun(sctx, j, run); err != nil {
			err = fmt.Errorf("save run %s of %s: %w", run.ID, j.Name, err)
			r.log.Error("run not saved", "journey", j.Name, "run", run.ID, "error", err)
		}
	}
	if r.opts.Observer != nil {
		r.opts.Observer.RunFinished(run)
	}
	return err
}

// attempt runs j once; it never returns nil.
func (r *Runner) attempt(ctx context.Context, j *journeys.Journey, attempt int) *results.Run {
	start := r.opts.Now()
	run := &results.Run{
		ID:             r.opts.NewID(),
		Journey:        j.Name,
		Title:          j.Title,
		File:           j.File,
		Trigger:        r.opts.Trigger,
		Location:       r.opts.Location,
		StartedAt:      start,
		DefinitionHash: j.Hash,
		Attempt:        attempt,
	}
	if r.opts.Observer != nil {
		r.opts.Observer.RunStarted(run)
	}
	x := &execution{r: r, j: j, run: run, start: start}
	x.execute(ctx)
	run.FinishedAt = r.opts.Now()
	run.Duration = run.FinishedAt.Sub(start)
	run.BrowserVersion = r.b.Version()
	x.conclude()
	x.mask()
	return run
}

// execution is the state of one attempt.
type execution struct {
	r     *Runner
	j     *journeys.Journey
	run   *results.Run
	start time.Time
	scope *journeys.Scope
	site  *url.URL
	page  *page

	failed bool   // a non-optional step failed or errored: skip the rest
	params params // the snippet params of the use running now
}

// execute opens the tab and runs the steps. Problems of the monitor end up
// in run.Outcome error; problems of the site in failed steps.
func (x *execution) execute(ctx context.Context) {
	j, run := x.j, x.run
	scope, err := journeys.NewScope(j, journeys.RunInfo{ID: run.ID, Time: x.start, Site: x.r.opts.BaseURL}, x.r.opts.Env)
	if err != nil {
		x.monitorError(fmt.Sprintf("prepare journey: %v", err))
		return
	}
	x.scope = scope
	site, err := scope.Expand("${site}")
	if err != nil {
		x.monitorError(fmt.Sprintf("site: %v", err))
		return
	}
	if site != "" {
		u, err := url.Parse(site)
		if err != nil || u.Scheme == "" || u.Host == "" {
			x.monitorError(fmt.Sprintf("site %q is not an absolute URL like http://shop.example.com", site))
			return
		}
		x.site = u
	}

	timeout := j.Timeout
	if timeout <= 0 {
		timeout = journeys.DefaultRunTimeout
	}
	tab, closeTab, err := x.r.b.Tab(ctx)
	if err != nil {
		if ctx.Err() != nil {
			x.monitorError("interrupted before the run started")
			return
		}
		x.monitorError(err.Error())
		return
	}
	defer closeTab()
	p, err := newPage(tab, x.r.opts.ScreenshotQuality)
	if err != nil {
		x.monitorError(fmt.Sprintf("prepare tab: %v", err))
		return
	}
	x.page = p
	if err := p.setup(tab, j); err != nil {
		x.monitorError(fmt.Sprintf("prepare tab: %v", err))
		return
	}
	runCtx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()

	steps := plan(j.Steps)
	for i := range steps {
		st := &steps[i].step
		res := results.Step{
			Index:    st.Index,
			Name:     st.Name,
			Action:   string(st.Action),
			Line:     st.Pos.Line,
			Optional: st.Optional,
			Start:    x.r.opts.Now().Sub(x.start),
		}
		if x.failed && !st.Always {
			res.Status = results.StepSkipped
		} else if err := x.enter(&steps[i]); err != nil {
			x.refuse(st, &res, err)
		} else {
			x.step(ctx, tab, runCtx, st, &res)
		}
		x.leave(&steps[i])
		run.Steps = append(run.Steps, res)
		if x.r.opts.Observer != nil {
			x.r.opts.Observer.StepFinished(run, &run.Steps[len(run.Steps)-1])
		}
	}
}

// monitorError ends the run as error before any step could run.
func (x *execution) monitorError(msg string) {
	x.run.Outcome = results.Error
	x.run.Cause = results.CauseMonitor
	x.run.Error = msg
	x.failed = true
}

// step runs one step and fills res.
func (x *execution) step(ctx, tab, runCtx context.Context, st *journeys.Step, res *results.Step) {
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = journeys.DefaultStepTimeout
	}
	// Cleanup steps still run after the run budget is spent.
	parent := runCtx
	if st.Always && runCtx.Err() != nil {
		parent = tab
	}
	sctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()

	x.page.stepStarted()
	t0 := x.r.opts.Now()
	err := x.do(sctx, st, res)
	res.Duration = x.r.opts.Now().Sub(t0)
	res.URL = x.page.url()

	switch {
	case err == nil:
		res.Status = results.StepPassed
		switch th := st.Threshold; {
		case th.Fail > 0 && res.Duration > th.Fail:
			res.Status, res.Cause = results.StepFailed, results.CauseTimeout
			res.Error = fmt.Sprintf("took %s, over the fail threshold of %s", round(res.Duration), th.Fail)
		case th.Warn > 0 && res.Duration > th.Warn:
			res.Status = results.StepDegraded
			res.Error = fmt.Sprintf("took %s, over the warn threshold of %s", round(res.Duration), th.Warn)
		}
	default:
		x.classify(ctx, tab, runCtx, sctx, st, err, res)
	}

	policy := x.j.Screenshots
	failedNow := res.Status == results.StepFailed || res.Status == results.StepError
	want := st.Screenshot == "always" ||
		(st.Screenshot != "never" && (policy == journeys.ScreenshotsEveryStep ||
			(failedNow && policy != journeys.ScreenshotsNever)))
	if want && !browser.Dead(tab) {
		label := "step"
		if failedNow {
			label = "failure"
		}
		x.capture(tab, res, label)
	}
	if failedNow && !st.Optional {
		x.failed = true
	}
}

// capture adds a screenshot of the page to res, within its own short
// budget: the step's own deadline may be spent already.
func (x *execution) capture(tab context.Context, res *results.Step, label string) {
	cctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	data, err := x.page.screenshot(cctx)
	if err != nil {
		x.r.log.Warn("screenshot failed", "journey", x.j.Name, "step", res.Index, "error", err)
		return
	}
	res.Artifacts = append(res.Artifacts, results.Artifact{Kind: results.ArtifactScreenshot, Label: label, Data: data})
}

// classify turns an action's error into a status, cause and message. The
// rule that matters most: only the site's failures are `failed`; the
// monitor's own are `error`.
func (x *execution) classify(ctx, tab, runCtx, sctx context.Context, st *journeys.Step, err error, res *results.Step) {
	res.Status = results.StepFailed
	var se *stepError
	switch {
	case browser.Dead(tab):
		res.Status, res.Cause = results.StepError, results.CauseMonitor
		res.Error = "the browser crashed or was killed during the step: " + err.Error()
	case ctx.Err() != nil:
		res.Status, res.Cause = results.StepError, results.CauseMonitor
		res.Error = "interrupted"
	case errors.As(err, &se):
		res.Cause, res.Error, res.Expected, res.Actual = se.cause, se.msg, se.expected, se.actual
		if se.cause == results.CauseMonitor {
			res.Status = results.StepError
		}
	case runCtx.Err() != nil && !st.Always && errors.Is(err, context.DeadlineExceeded):
		res.Cause = results.CauseTimeout
		res.Error = fmt.Sprintf("run timeout of %s exceeded during this step", x.j.Timeout)
	case sctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		res.Cause = results.CauseTimeout
		res.Error = fmt.Sprintf("timed out after %s: %v", st.Timeout, err)
	default:
		// An error we did not foresee comes from our side, not the site's:
		// never cry wolf.
		res.Status, res.Cause = results.StepError, results.CauseMonitor
		res.Error = err.Error()
	}
	// A page that answered an error, or threw, during a failed step is very
	// likely why it failed: say so, and blame the right thing.
	if res.Status == results.StepFailed && (res.Cause == results.CauseAssertion || res.Cause == results.CauseSelector || res.Cause == results.CauseTimeout) {
		if doc, exc := x.page.recent(); doc != "" {
			res.Cause = results.CauseHTTP
			res.Error += "; the page " + doc
		} else if exc != "" {
			res.Cause = results.CauseScript
			res.Error += "; the page threw: " + exc
		}
	}
}

// conclude derives the run outcome from the steps and thresholds, by the
// one rule of results.Decide.
func (x *execution) conclude() {
	run := x.run
	if run.Outcome == results.Error {
		return
	}
	v := results.Decide(run.Steps, run.Duration, results.Limits{Warn: x.j.Thresholds.Warn, Fail: x.j.Thresholds.Fail})
	run.Outcome, run.Cause, run.Error = v.Outcome, v.Cause, v.Error
	if v.Outcome != results.Degraded {
		run.FailingStep = v.Step
	}
}

// mask removes secret values from everything the run reports.
func (x *execution) mask() {
	if x.scope == nil {
		return
	}
	m := x.scope.Mask
	run := x.run
	run.Error = m(run.Error)
	for i := range run.Steps {
		s := &run.Steps[i]
		s.Name, s.Error, s.Expected, s.Actual, s.URL = m(s.Name), m(s.Error), m(s.Expected), m(s.Actual), m(s.URL)
	}
}

// round keeps durations readable in messages.
func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
