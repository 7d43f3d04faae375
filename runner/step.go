package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner/browser"
)

// step runs one step and fills res: it resolves the step's templates
// once, runs its action within the step's budget, and judges the result.
func (x *execution) step(ctx, tab, runCtx context.Context, planned *journeys.Step, res *results.Step) {
	timeout := planned.Timeout
	if timeout <= 0 {
		timeout = journeys.DefaultStepTimeout
	}
	// Cleanup steps still run after the run budget is spent.
	parent := runCtx
	if planned.Always && runCtx.Err() != nil {
		parent = tab
	}
	sctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	// The run's budget cuts this step short when it ends first.
	// (Context deadlines are on the real clock, whatever Options.Now is.)
	runDeadline, _ := parent.Deadline()
	cutByRun := parent == runCtx && runDeadline.Before(time.Now().Add(timeout))

	x.page.stepStarted()
	t0 := x.r.opts.Now()
	st, err := x.scope.Resolve(planned)
	if err != nil {
		x.refuse(planned, res, err)
	} else {
		err = x.do(sctx, st, res)
		res.Duration = x.r.opts.Now().Sub(t0)
		res.URL = x.page.url()
		res.Console = x.page.stepConsole()
		switch {
		case err == nil:
			res.Status = results.StepPassed
			switch th := st.Threshold; {
			case th.Fail > 0 && res.Duration > th.Fail:
				res.Status, res.Cause = results.StepFailed, results.CauseTimeout
				res.Error = fmt.Sprintf("took %s, over the fail threshold of %s", results.Round(res.Duration), th.Fail)
			case th.Warn > 0 && res.Duration > th.Warn:
				res.Status = results.StepDegraded
				res.Error = fmt.Sprintf("took %s, over the warn threshold of %s", results.Round(res.Duration), th.Warn)
			}
		case cutByRun && runCtx.Err() != nil && ctx.Err() == nil && !browser.Dead(tab):
			res.Status, res.Cause = results.StepFailed, results.CauseTimeout
			res.Error = fmt.Sprintf("the run's %s budget ran out during this step", x.runTimeout())
			if msg := err.Error(); msg != "" && !errors.Is(err, context.DeadlineExceeded) {
				res.Error += " (" + msg + ")"
			}
		default:
			x.classify(ctx, tab, sctx, st, err, res)
		}
	}

	failedNow := res.Status == results.StepFailed || res.Status == results.StepError
	policy := x.j.Screenshots
	want := planned.Screenshot == "always" ||
		(planned.Screenshot != "never" && (policy == journeys.ScreenshotsEveryStep ||
			(failedNow && policy != journeys.ScreenshotsNever)))
	if want && res.Status != results.StepAborted {
		label := "step"
		if failedNow {
			label = "failure"
		}
		x.capture(tab, res, label)
	}
	if failedNow && !planned.Optional {
		x.failed = true
	}
}

// runTimeout is the run's budget as configured.
func (x *execution) runTimeout() time.Duration {
	if x.j.Timeout > 0 {
		return x.j.Timeout
	}
	return journeys.DefaultRunTimeout
}

// capture adds a screenshot of the page to res, within its own short
// budget: the step's own deadline may be spent already. When the page is
// still loading (the browser's own error page after a refused
// connection, say) it waits a moment for it first, so the evidence is the
// page a person would see. When there is no screenshot, the step says why.
func (x *execution) capture(tab context.Context, res *results.Step, label string) {
	if browser.Dead(tab) {
		res.Notes = append(res.Notes, "no screenshot: the browser was gone")
		return
	}
	cctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	var data []byte
	var err error
	for try := 0; try < 3; try++ {
		wctx, wcancel := context.WithTimeout(cctx, time.Second)
		x.page.waitIdle(wctx)
		wcancel()
		if data, err = x.page.screenshot(cctx); err == nil || cctx.Err() != nil {
			break
		}
		_ = sleepCtx(cctx, 100)
	}
	if err != nil {
		x.log.Debug("screenshot failed", "journey", x.j.Name, "step", res.Index, "error", err)
		res.Notes = append(res.Notes, "no screenshot: "+err.Error())
		return
	}
	res.Artifacts = append(res.Artifacts, results.Artifact{Kind: results.ArtifactScreenshot, Label: label, Data: data})
}

// classify turns an action's error into a status, cause and message. The
// rule that matters most: only the site's failures are `failed`; the
// monitor's own are `error`, and an interrupt is `aborted`.
func (x *execution) classify(ctx, tab, sctx context.Context, st *journeys.Step, err error, res *results.Step) {
	res.Status = results.StepFailed
	var se *stepError
	switch {
	case browser.Dead(tab):
		res.Status, res.Cause = results.StepError, results.CauseMonitor
		res.Error = "the browser crashed or was killed during the step: " + err.Error()
		x.monitorErr = err
	case ctx.Err() != nil:
		x.abort(res)
		return
	case errors.As(err, &se):
		res.Cause, res.Error, res.Expected, res.Actual = se.cause, se.msg, se.expected, se.actual
		if se.cause == results.CauseMonitor {
			res.Status = results.StepError
		}
	case sctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		res.Cause = results.CauseTimeout
		res.Error = fmt.Sprintf("timed out after %s: %v", st.Timeout, err)
	default:
		// An error we did not foresee comes from our side, not the site's:
		// never cry wolf. Trying again may help.
		res.Status, res.Cause = results.StepError, results.CauseMonitor
		res.Error = err.Error()
		x.monitorErr = err
	}
	if res.Status != results.StepFailed {
		return
	}
	x.explain(res)
}

// explain adds to a failed step what the page did that very likely made
// it fail, and blames the right thing: a page that answered an error or
// threw during this step or the one before it (a click's handler throws;
// the next step notices), and any dialog the page opened.
func (x *execution) explain(res *results.Step) {
	if res.Cause == results.CauseAssertion || res.Cause == results.CauseSelector || res.Cause == results.CauseTimeout {
		if doc := x.page.recentDocErrors(); doc != "" {
			res.Cause = results.CauseHTTP
			res.Error += "; the page " + doc
		} else if exc, where := x.recentException(res); exc != "" {
			res.Cause = results.CauseScript
			res.Error += "; the page threw " + where + ": " + exc
		}
	}
	for _, c := range res.Console {
		if c.Kind == results.ConsoleDialog {
			res.Error += "; the page showed " + c.Text
		}
	}
}

// recentException is the last exception the page threw during this step
// or the one before it, and which step that was.
func (x *execution) recentException(res *results.Step) (text, where string) {
	last := func(cs []results.ConsoleEntry) string {
		for i := len(cs) - 1; i >= 0; i-- {
			if cs[i].Kind == results.ConsoleException {
				return cs[i].Text
			}
		}
		return ""
	}
	if t := last(res.Console); t != "" {
		return t, "during this step"
	}
	if n := len(x.run.Steps); n > 0 {
		prev := &x.run.Steps[n-1]
		if t := last(prev.Console); t != "" {
			return t, fmt.Sprintf("during step %d %q", prev.Index, prev.Name)
		}
	}
	return "", ""
}

// stepError is a failure the step can explain: its cause, what was
// expected and what was found, and the error underneath, if any.
type stepError struct {
	cause            results.Cause
	msg              string
	expected, actual string
	noMatch          bool  // nothing matched the locator at all
	err              error // what went wrong underneath, for errors.As
}

func (e *stepError) Error() string { return e.msg }

// Unwrap gives the error underneath, e.g. a *chromedp.LoadError.
func (e *stepError) Unwrap() error { return e.err }

func fail(cause results.Cause, format string, args ...any) error {
	return &stepError{cause: cause, msg: fmt.Sprintf(format, args...)}
}
