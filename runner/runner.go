// Package runner runs journeys in a browser, step by step, and turns what
// happened into results.Run values: statuses, failure causes, timings,
// what the page said and screenshots. It also bounds how many runs are in
// flight at once, for every caller alike (`waymark run`, `waymark serve`).
// It never stores anything itself; finished runs go to a Sink.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
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
	// Local says whether the browser runs on this machine and can read
	// its files (an upload); a remote one is sent the file's bytes.
	Local() bool
}

// Sink receives every finished run, e.g. to store it.
type Sink interface {
	SaveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error
}

// Observer is told about progress as it happens, e.g. to print it. Every
// run and step it sees is already secret-masked and size-limited.
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
	// MaxConcurrent bounds the runs in flight at once, over every caller
	// of the Runner: browsers are what a monitor runs out of. 0 means 1.
	MaxConcurrent int
}

// ErrNotStarted is returned (wrapping the context's error) for a run that
// was interrupted before its first step: it never happened, so it is
// neither reported nor kept.
var ErrNotStarted = errors.New("interrupted before the run started")

// Runner runs journeys. It is safe for concurrent use: each run gets its
// own tab and browser context, and at most Options.MaxConcurrent run at
// once.
type Runner struct {
	b     Browser
	opts  Options
	log   *slog.Logger
	http  *resty.Client // for `request` steps
	slots chan struct{}
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
	return &Runner{b: b, opts: opts, log: log, http: newHTTPClient(), slots: make(chan struct{}, max(opts.MaxConcurrent, 1))}
}

// RunAll runs every journey once, at most MaxConcurrent at a time and
// starting them in order, and returns every attempt of every run that
// started, in journey order (a retried run gives its error attempt,
// marked Retried, then the retry). Runs interrupted before they started
// are left out. The error joins the Sink's failures to keep runs.
func (r *Runner) RunAll(ctx context.Context, js []*journeys.Journey) ([]*results.Run, error) {
	attempts := make([][]*results.Run, len(js))
	errs := make([]error, len(js))
	var wg sync.WaitGroup
	turn := make(chan struct{})
	close(turn)
	for i, j := range js {
		// Each journey takes its slot after the one before it took its
		// own, so they start in the order given.
		wait, next := turn, make(chan struct{})
		turn = next
		wg.Go(func() {
			<-wait
			ok := r.acquire(ctx)
			close(next)
			if ok {
				defer r.release()
				attempts[i], errs[i] = r.attempts(ctx, j, time.Time{})
			}
		})
	}
	wg.Wait()
	var out []*results.Run
	for _, a := range attempts {
		out = append(out, a...)
	}
	return out, errors.Join(errs...)
}

// Run runs j once and returns the finished run. A run whose outcome is
// error because the monitor stumbled (the browser crashed, a tab would not
// open) is retried once at once; both attempts go to the Sink, the first
// marked Retried, and the last is returned. The error is ErrNotStarted
// when ctx ended before the run's first step, and otherwise non-nil only
// when the Sink failed to keep a run.
func (r *Runner) Run(ctx context.Context, j *journeys.Journey) (*results.Run, error) {
	return r.RunSlot(ctx, j, time.Time{})
}

// RunSlot is Run for a schedule's slot: the run records the slot it is
// for.
func (r *Runner) RunSlot(ctx context.Context, j *journeys.Journey, slot time.Time) (*results.Run, error) {
	var runs []*results.Run
	var err error
	if r.acquire(ctx) {
		runs, err = r.attempts(ctx, j, slot)
		r.release()
	}
	if len(runs) == 0 {
		return nil, errors.Join(fmt.Errorf("%w: %w", ErrNotStarted, context.Cause(ctx)), err)
	}
	return runs[len(runs)-1], err
}

// acquire takes one of the runner's slots, or gives up when ctx ends.
func (r *Runner) acquire(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case r.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *Runner) release() { <-r.slots }

// attempts runs j, and again when the first attempt is worth a retry. The
// caller holds a slot.
func (r *Runner) attempts(ctx context.Context, j *journeys.Journey, slot time.Time) ([]*results.Run, error) {
	var runs []*results.Run
	var errs []error
	for n := 1; n <= 2; n++ {
		x := r.attempt(ctx, j, n, slot)
		if x == nil {
			break
		}
		retry := n == 1 && x.retryable(ctx)
		x.run.Retried = retry
		runs = append(runs, x.run)
		errs = append(errs, r.finish(ctx, j, x.run))
		if !retry {
			break
		}
		x.log.Warn("monitor error; retrying once", "journey", j.Name, "run", x.run.ID, "error", x.run.Error)
	}
	return runs, errors.Join(errs...)
}

// finish hands a run to the Sink and the Observer.
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

// attempt runs j once. It returns nil when ctx ended before the first
// step: a run that never started is not a run.
func (r *Runner) attempt(ctx context.Context, j *journeys.Journey, attempt int, slot time.Time) *execution {
	x := &execution{r: r, j: j, t0: r.opts.Now(), log: r.log}
	x.run = &results.Run{
		ID:             r.opts.NewID(),
		Journey:        j.Name,
		Title:          j.Title,
		File:           j.File,
		Trigger:        r.opts.Trigger,
		Location:       r.opts.Location,
		Slot:           slot,
		DefinitionHash: j.Hash,
		Attempt:        attempt,
	}
	x.execute(ctx)
	if !x.began {
		return nil
	}
	run := x.run
	done := r.opts.Now()
	if x.stepsEnd.IsZero() {
		// No step ran: the monitor gave up while setting up.
		run.StartedAt, run.FinishedAt = done, done
		run.Setup = done.Sub(x.t0)
	} else {
		run.StartedAt, run.FinishedAt = x.stepsStart, x.stepsEnd
		run.Duration = x.stepsEnd.Sub(x.stepsStart)
		run.Setup = x.stepsStart.Sub(x.t0) + done.Sub(x.stepsEnd)
	}
	run.BrowserVersion = r.b.Version()
	x.conclude()
	run.Clean(x.mask)
	return x
}

// execution is the state of one attempt.
type execution struct {
	r     *Runner
	j     *journeys.Journey
	run   *results.Run
	log   *slog.Logger // masks secrets once the scope knows them
	scope *journeys.Scope
	site  *url.URL
	page  *page

	t0                   time.Time // the attempt began (set-up included)
	stepsStart, stepsEnd time.Time // the first step's start, the last one's end
	began                bool      // the run counts: it reached its steps, or the monitor failed first

	failed     bool   // a non-optional step failed or errored: skip the rest
	aborted    bool   // ctx ended during a step: skip the rest, clean-up too
	monitorErr error  // the monitor's failure that decided an error run
	params     params // the snippet params of the use running now
}

// mask hides the run's secrets; before the scope exists there are none.
func (x *execution) mask(s string) string {
	if x.scope == nil {
		return s
	}
	return x.scope.Mask(s)
}

// execute prepares the run and runs its steps. Problems of the monitor
// end up in run.Outcome error; problems of the site in failed steps.
func (x *execution) execute(ctx context.Context) {
	j, run := x.j, x.run
	if ctx.Err() != nil {
		return
	}
	scope, err := journeys.NewScope(j, journeys.RunInfo{ID: run.ID, Time: x.t0, Site: x.r.opts.BaseURL}, x.r.opts.Env)
	if err != nil {
		x.setupFailed(fmt.Errorf("prepare journey: %w", err), false)
		return
	}
	x.scope = scope
	x.log = slog.New(maskHandler{x.r.log.Handler(), scope.Mask})
	site, err := scope.Expand("${site}")
	if err != nil {
		x.setupFailed(fmt.Errorf("site: %w", err), false)
		return
	}
	if site != "" {
		u, err := url.Parse(site)
		if err != nil || u.Scheme == "" || u.Host == "" {
			x.setupFailed(fmt.Errorf("site %q is not an absolute URL like http://shop.example.com", site), false)
			return
		}
		x.site = u
	}
	headers, err := scope.ResolveMap("headers", j.Headers)
	if err != nil {
		x.setupFailed(err, false)
		return
	}

	tab, closeTab, err := x.r.b.Tab(ctx)
	if err != nil {
		if ctx.Err() == nil {
			x.setupFailed(err, true)
		}
		return
	}
	defer closeTab()
	p, err := newPage(tab, x.r.opts.ScreenshotQuality, x.r.opts.Now, x.log.Debug)
	if err == nil {
		x.page = p
		err = p.setup(tab, j, headers)
	}
	if err != nil {
		if ctx.Err() == nil {
			x.setupFailed(fmt.Errorf("prepare tab: %w", err), true)
		}
		return
	}
	if ctx.Err() != nil {
		return
	}

	timeout := j.Timeout
	if timeout <= 0 {
		timeout = journeys.DefaultRunTimeout
	}
	x.begin()
	x.stepsStart = x.r.opts.Now()
	p.begin(x.stepsStart)
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
			Start:    x.r.opts.Now().Sub(x.stepsStart),
		}
		switch {
		case x.aborted || (x.failed && !st.Always):
			res.Status = results.StepSkipped
		case ctx.Err() != nil:
			x.abort(&res)
		default:
			if err := x.enter(&steps[i]); err != nil {
				x.refuse(st, &res, err)
			} else {
				x.step(ctx, tab, runCtx, st, &res)
			}
		}
		x.leave(&steps[i])
		if res.Status != results.StepSkipped {
			x.stepsEnd = x.r.opts.Now()
		}
		res.Clean(x.mask)
		run.Steps = append(run.Steps, res)
		if x.r.opts.Observer != nil {
			x.r.opts.Observer.StepFinished(run, &run.Steps[len(run.Steps)-1])
		}
	}
}

// begin makes the attempt a run: from here on it is reported and kept.
func (x *execution) begin() {
	x.began = true
	if x.r.opts.Observer != nil {
		x.r.opts.Observer.RunStarted(x.run)
	}
}

// setupFailed ends the run as error before any step could run. transient
// says whether trying again could help (a tab that would not open), as
// opposed to a journey that cannot run as configured (a secret not set).
func (x *execution) setupFailed(err error, transient bool) {
	x.begin()
	x.run.Outcome = results.Error
	x.run.Cause = results.CauseMonitor
	x.run.Error = err.Error()
	x.failed = true
	if transient {
		x.monitorErr = err
	}
}

// abort records a step cut short by ctx ending (Ctrl-C, a shutdown).
func (x *execution) abort(res *results.Step) {
	res.Status = results.StepAborted
	res.Cause = results.CauseNone
	res.Error = "interrupted: the run was cut short here"
	x.aborted = true
}

// retryable says whether an error run is worth a second attempt at once:
// only when the monitor stumbled (the browser crashed or would not give a
// tab), not when the journey cannot run as configured, the browser is not
// installed, or the user interrupted.
func (x *execution) retryable(ctx context.Context) bool {
	if ctx.Err() != nil || x.run.Outcome != results.Error || x.monitorErr == nil {
		return false
	}
	var ni *browser.NotInstalledError
	return !errors.As(x.monitorErr, &ni)
}

// conclude derives the run outcome from the steps and thresholds, by the
// one rule of results.Decide; a run that failed in set-up is decided
// already.
func (x *execution) conclude() {
	run := x.run
	if run.Outcome == results.Error && len(run.Steps) == 0 {
		return
	}
	v := results.Decide(run.Steps, run.Duration, results.Limits{Warn: x.j.Thresholds.Warn, Fail: x.j.Thresholds.Fail})
	run.Outcome, run.Cause, run.Error = v.Outcome, v.Cause, v.Error
	run.FailingStep = 0
	if v.Outcome != results.Degraded {
		run.FailingStep = v.Step
	}
}

// maskHandler is a slog.Handler that hides the run's secrets in every
// message and attribute before they reach the real handler.
type maskHandler struct {
	h    slog.Handler
	mask func(string) string
}

func (m maskHandler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m maskHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, m.mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(m.attr(a))
		return true
	})
	return m.h.Handle(ctx, out)
}

func (m maskHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = m.attr(a)
	}
	return maskHandler{m.h.WithAttrs(masked), m.mask}
}

func (m maskHandler) WithGroup(name string) slog.Handler {
	return maskHandler{m.h.WithGroup(name), m.mask}
}

// attr masks one attribute's value, as the text it would print.
func (m maskHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, e := range g {
			out[i] = m.attr(e)
		}
		return slog.Group(a.Key, out...)
	case slog.KindString, slog.KindAny:
		return slog.String(a.Key, m.mask(v.String()))
	}
	return a
}
