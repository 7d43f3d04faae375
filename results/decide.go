package results

import (
	"fmt"
	"time"
)

// Limits are a run's duration thresholds; zero means no limit.
type Limits struct {
	Warn, Fail time.Duration
}

// Verdict is a run's outcome and what decided it.
type Verdict struct {
	Outcome Outcome
	// Step is the 1-based index of the step that decided the outcome, 0
	// when no step did (a pass, or a run threshold).
	Step  int
	Cause Cause
	Error string // the step's or the threshold's message
}

// Decide is the one rule that turns a run's steps and duration into its
// outcome. The runner concludes runs with it, and every report reads its
// result, so "which step decided the run" is answered in one place:
//
//   - The first non-optional step that did not pass decides: failed makes
//     the run failed, error makes it error, aborted makes it aborted.
//     Whatever happens after it — a clean-up step that fails, a monitor
//     error, an interrupt — cannot change it. So a site failure followed
//     by a monitor error in clean-up stays a site failure (a real outage
//     must alert), and a monitor error followed by a failing clean-up
//     stays error (what ran after a broken monitor proves nothing).
//   - Otherwise the run is degraded when a step crossed its warn
//     threshold or an optional step failed (an optional step's monitor
//     error says nothing about the site and does not count), and the
//     first such step decides.
//   - A run that no step failed is then held to its own thresholds: over
//     the fail threshold it is failed (cause timeout), over the warn
//     threshold at least degraded.
func Decide(steps []Step, d time.Duration, lim Limits) Verdict {
	for i := range steps {
		s := &steps[i]
		if s.Optional {
			continue
		}
		var o Outcome
		switch s.Status {
		case StepFailed:
			o = Failed
		case StepError:
			o = Error
		case StepAborted:
			o = Aborted
		default:
			continue
		}
		cause := s.Cause
		if o == Error && cause == CauseNone {
			cause = CauseMonitor
		}
		return Verdict{Outcome: o, Step: s.Index, Cause: cause, Error: fmt.Sprintf("step %d %q: %s", s.Index, s.Name, s.Error)}
	}
	v := Verdict{Outcome: Passed}
	if s := firstDegraded(steps); s != nil {
		v = Verdict{Outcome: Degraded, Step: s.Index, Error: fmt.Sprintf("step %d %q: %s", s.Index, s.Name, s.Error)}
	}
	switch {
	case lim.Fail > 0 && d > lim.Fail:
		return Verdict{Outcome: Failed, Cause: CauseTimeout, Error: fmt.Sprintf("run took %s, over the fail threshold of %s", Round(d), lim.Fail)}
	case lim.Warn > 0 && d > lim.Warn && v.Outcome == Passed:
		return Verdict{Outcome: Degraded, Error: fmt.Sprintf("run took %s, over the warn threshold of %s", Round(d), lim.Warn)}
	}
	return v
}

// firstDegraded is the first step that makes a run degraded: over its warn
// threshold, or an optional step that failed on the site.
func firstDegraded(steps []Step) *Step {
	for i := range steps {
		s := &steps[i]
		if s.Status == StepDegraded || (s.Optional && s.Status == StepFailed) {
			return s
		}
	}
	return nil
}

// DecidingStep is the step a run's outcome hangs on, as Decide chose it:
// the failing step of a failed, error or aborted run, the first slow or
// optional failed step of a degraded one; nil when there is none (a pass,
// or a run decided by its own thresholds or before any step ran).
func (r *Run) DecidingStep() *Step {
	switch r.Outcome {
	case Passed:
		return nil
	case Degraded:
		return firstDegraded(r.Steps)
	}
	if i := r.FailingStep; i > 0 && i <= len(r.Steps) && r.Steps[i-1].Index == i {
		return &r.Steps[i-1]
	}
	for i := range r.Steps {
		if r.Steps[i].Index == r.FailingStep && r.FailingStep > 0 {
			return &r.Steps[i]
		}
	}
	return nil
}

// Round keeps durations readable in messages: milliseconds below a
// second, hundredths of a second above.
func Round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
