// Package reports shows the results of `waymark run` to people and CI: live
// terminal progress, the end-of-run summary, JUnit XML, JSON, the artifacts
// folder and the process exit code. Runs arrive already secret-masked.
package reports

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/results"
)

// ANSI styles used when color is on.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
)

// painter wraps text in ANSI styles, or leaves it alone when color is off.
type painter bool

func (p painter) paint(style, s string) string {
	if !p || style == "" || s == "" {
		return s
	}
	return style + s + ansiReset
}

// stepLook is the symbol and color of a step status.
func stepLook(s *results.Step) (symbol, style string) {
	switch s.Status {
	case results.StepPassed:
		return "✓", ansiGreen
	case results.StepDegraded:
		return "!", ansiYellow
	case results.StepFailed:
		if s.Optional {
			return "✗", ansiYellow // recorded, but the run goes on
		}
		return "✗", ansiRed
	case results.StepSkipped:
		return "–", ansiDim
	case results.StepError:
		return "⚠", ansiMagenta
	}
	return "?", ""
}

// outcomeLook is the symbol and color of a run outcome.
func outcomeLook(o results.Outcome) (symbol, style string) {
	switch o {
	case results.Passed:
		return "✓", ansiGreen
	case results.Degraded:
		return "!", ansiYellow
	case results.Failed:
		return "✗", ansiRed
	case results.Error:
		return "⚠", ansiMagenta
	}
	return "?", ""
}

// human formats a duration the way people read it: 0ms, 412ms, 1.4s,
// 10.6s, 2m05s, 1h02m.
func human(d time.Duration) string {
	switch {
	case d <= 0:
		return "0ms"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second-500*time.Microsecond:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	case d < time.Minute-50*time.Millisecond:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour-500*time.Millisecond:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// width is the number of terminal cells s takes (one per rune is close
// enough for the text Waymark prints).
func width(s string) int { return utf8.RuneCountInString(s) }

// padRight pads s with spaces to w cells.
func padRight(s string, w int) string {
	if n := width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// padLeft right-aligns s in w cells.
func padLeft(s string, w int) string {
	if n := width(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// truncate shortens s to at most w cells, ending in "…" when cut.
func truncate(s string, w int) string {
	if width(s) <= w {
		return s
	}
	r := []rune(s)
	return string(r[:w-1]) + "…"
}

// stepFor returns the step a run's verdict hangs on (see
// results.Run.DecidingStep); nil when there is none.
func stepFor(r *results.Run) *results.Step { return r.DecidingStep() }

// why says in a word why a step did not simply pass: its cause, "slow" for
// a warn threshold, with "(optional)" for an optional step's failure.
func why(s *results.Step) string {
	w := string(s.Cause)
	if w == "" && s.Status == results.StepDegraded {
		w = "slow"
	}
	if s.Optional && (s.Status == results.StepFailed || s.Status == results.StepError) {
		w = strings.TrimSpace(w + " (optional)")
	}
	return w
}

// runCause is the run's cause, or its verdict step's when the run has none.
func runCause(r *results.Run, s *results.Step) string {
	if r.Cause != results.CauseNone {
		return string(r.Cause)
	}
	if s != nil {
		return why(s)
	}
	return ""
}

// verdict explains a run outcome in one phrase, e.g.
// `step 3 "assert text …": assertion`; "" for a plain pass. withError adds
// the run's error when no step carries it.
func verdict(r *results.Run, withError bool) string {
	s := stepFor(r)
	var parts []string
	if s != nil {
		parts = append(parts, fmt.Sprintf("step %d %q", s.Index, s.Name))
	}
	parts = append(parts, runCause(r, s))
	if s == nil && withError {
		parts = append(parts, r.Error)
	}
	v := joinNonEmpty(": ", parts...)
	if r.Outcome == results.Error {
		v = joinNonEmpty(" — ", v, "the site was not checked")
	}
	return v
}

// stepsPassed counts the steps that passed, degraded ones included.
func stepsPassed(r *results.Run) int {
	n := 0
	for i := range r.Steps {
		if st := r.Steps[i].Status; st == results.StepPassed || st == results.StepDegraded {
			n++
		}
	}
	return n
}

// location is "file:line" for a step, or the file alone without a line.
func location(r *results.Run, s *results.Step) string {
	switch {
	case s == nil || s.Line <= 0:
		return r.File
	case r.File == "":
		return fmt.Sprintf("line %d", s.Line)
	}
	return fmt.Sprintf("%s:%d", r.File, s.Line)
}
