// Package reports shows the results of `waymark run` to people and CI: live
// terminal progress, the end-of-run summary, JUnit XML, JSON, the artifacts
// folder and the process exit code.
//
// Runs arrive already secret-masked and clipped (results.Clip), but their
// text still comes from pages, servers and journey files: Progress and
// Summary print runs only through termRun, which escapes what a terminal
// would act on, and every line they print through fit, which caps its
// width. JUnit and JSON have their own escaping (XML, encoding/json).
//
// A journey whose run ended in error is retried at once; callers pass
// every attempt, the retried one (Run.Retried) before the one replacing
// it. Every output shows both, marked, and every count (totals, JSON
// summary, JUnit suites, exit code) takes each journey once, by its
// final attempt.
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
	ansiCyan    = "\x1b[36m"
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
	case results.StepAborted:
		return "⊘", ansiCyan
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
	case results.Aborted:
		return "⊘", ansiCyan
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

// why says in a word why a step did not simply pass: its cause, "slow" for
// a warn threshold, "interrupted" for an aborted step, with "(optional)"
// for an optional step's failure.
func why(s *results.Step) string {
	w := string(s.Cause)
	switch {
	case w != "":
	case s.Status == results.StepDegraded:
		w = "slow"
	case s.Status == results.StepAborted:
		w = "interrupted"
	}
	if s.Optional && (s.Status == results.StepFailed || s.Status == results.StepError) {
		w = strings.TrimSpace(w + " (optional)")
	}
	return w
}

// runCause is the run's cause, or its verdict step's when the run has none.
func runCause(r *results.Run, s *results.Step) string {
	switch {
	case r.Cause != results.CauseNone:
		return string(r.Cause)
	case s != nil:
		return why(s)
	case r.Outcome == results.Aborted:
		return "interrupted"
	}
	return ""
}

// verdict explains a run outcome in one phrase, e.g.
// `step 3 "assert text …": assertion`; "" for a plain pass. r is a
// terminal view (termRun): the step name is quoted as it is, not
// escaped again.
func verdict(r *results.Run) string {
	s := r.DecidingStep()
	var parts []string
	if s != nil {
		parts = append(parts, fmt.Sprintf("step %d \"%s\"", s.Index, s.Name))
	}
	parts = append(parts, runCause(r, s))
	v := joinNonEmpty(": ", parts...)
	if r.Outcome == results.Error {
		v = joinNonEmpty(" — ", v, "the site was not checked")
	}
	return v
}

// outcomeText is a run's outcome as shown: "error, retried" for an
// attempt that a fresh one replaced.
func outcomeText(r *results.Run) string {
	if r.Retried {
		return string(r.Outcome) + ", retried"
	}
	return string(r.Outcome)
}

// attemptNote names an attempt that is not simply the only one:
// "attempt 2", or "attempt 1, retried"; "" otherwise.
func attemptNote(r *results.Run) string {
	switch {
	case r.Retried:
		return fmt.Sprintf("attempt %d, retried", r.Attempt)
	case r.Attempt > 1:
		return fmt.Sprintf("attempt %d", r.Attempt)
	}
	return ""
}

// superseded says, by index in runs, which attempts a later one replaces:
// a Retried run when runs also holds a later attempt of its journey. The
// verdict counts (totals, JSON summary, exit code) skip those, so each
// journey counts once, by its final attempt. A retried attempt with no
// later one in runs still counts: a lost retry must not hide an error.
func superseded(runs []*results.Run) []bool {
	last := map[string]int{}
	for _, r := range runs {
		last[r.Journey] = max(last[r.Journey], r.Attempt)
	}
	out := make([]bool, len(runs))
	for i, r := range runs {
		out[i] = r.Retried && r.Attempt < last[r.Journey]
	}
	return out
}

// maxConsoleShown is how many of a failed step's exceptions and dialogs
// the summary and JUnit show; the rest are counted, and all are in JSON.
const maxConsoleShown = 3

// consoleShown is what the summary and JUnit show of a failed or error
// step's console: its first exceptions and dialogs, and how many more
// there are. Console errors and warnings are left to JSON: pages log
// many, and few explain a failure.
func consoleShown(s *results.Step) (shown []results.ConsoleEntry, more int) {
	if s.Status != results.StepFailed && s.Status != results.StepError {
		return nil, 0
	}
	for _, c := range s.Console {
		if c.Kind != results.ConsoleException && c.Kind != results.ConsoleDialog {
			continue
		}
		if len(shown) < maxConsoleShown {
			shown = append(shown, c)
		} else {
			more++
		}
	}
	return shown, more
}

// moreConsole says how many exceptions and dialogs consoleShown left out.
func moreConsole(n int) string {
	if n == 1 {
		return "… and 1 more exception or dialog"
	}
	return fmt.Sprintf("… and %d more exceptions or dialogs", n)
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
