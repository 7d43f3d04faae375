package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// Summary writes the end-of-run table to w: one row per attempt (journey,
// outcome, duration, steps passed/total, the step and cause that decided a
// run that did not pass; a retried attempt's outcome reads "error,
// retried"), a totals line counting each journey once, by its final
// attempt, and for each failed or error attempt the deciding step's
// file:line, error, expected vs actual, URL, the page's exceptions and
// dialogs, the monitor's notes and artifact paths, so the first thing to
// look at is on screen.
func Summary(w io.Writer, runs []*results.Run, opts ProgressOptions) error {
	var b strings.Builder
	paint := painter(opts.Color)
	views := make([]*results.Run, len(runs))
	for i, r := range runs {
		views[i] = termRun(r)
	}
	if len(runs) > 0 {
		writeTable(&b, paint, views)
		b.WriteString("\n")
	}
	b.WriteString(totals(runs) + "\n")
	for _, v := range views {
		if v.Outcome == results.Failed || v.Outcome == results.Error {
			b.WriteString("\n")
			writeDetails(&b, paint, v)
		}
	}
	if _, err := io.WriteString(w, fit(b.String())); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// writeTable writes the aligned one-row-per-attempt table of terminal
// views.
func writeTable(b *strings.Builder, paint painter, views []*results.Run) {
	head := []string{"JOURNEY", "OUTCOME", "TIME", "STEPS", "WHY"}
	rows := make([][]string, len(views))
	wid := make([]int, len(head))
	for i, h := range head {
		wid[i] = width(h)
	}
	for i, v := range views {
		why := ""
		if v.Outcome != results.Passed {
			why = verdict(v)
		}
		rows[i] = []string{v.Journey, outcomeText(v), human(v.Duration), fmt.Sprintf("%d/%d", stepsPassed(v), len(v.Steps)), why}
		for j, c := range rows[i] {
			wid[j] = max(wid[j], width(c))
		}
	}
	line := func(c []string, style string) string {
		c = []string{padRight(c[0], wid[0]), padRight(c[1], wid[1]), padLeft(c[2], wid[2]), padLeft(c[3], wid[3]), c[4]}
		c[1] = paint.paint(style, c[1])
		return strings.TrimRight(strings.Join(c, "  "), " ")
	}
	b.WriteString("   " + paint.paint(ansiDim, line(head, "")) + "\n")
	for i, v := range views {
		symbol, style := outcomeLook(v.Outcome)
		b.WriteString(paint.paint(style, symbol) + "  " + line(rows[i], style) + "\n")
	}
}

// totals is the one-line count of outcomes and wall time, each journey
// counted once by its final attempt, e.g. "3 journeys: 2 passed, 1 failed
// in 4.2s", with "; 1 attempt retried" when the monitor had to retry.
func totals(runs []*results.Run) string {
	if len(runs) == 0 {
		return "no journeys ran"
	}
	count := map[results.Outcome]int{}
	journeys, retried := 0, 0
	for i, gone := range superseded(runs) {
		if gone {
			retried++
			continue
		}
		journeys++
		count[runs[i].Outcome]++
	}
	var parts []string
	for _, o := range []results.Outcome{results.Passed, results.Degraded, results.Failed, results.Error, results.Aborted} {
		if count[o] > 0 {
			word := string(o)
			if o == results.Error && count[o] > 1 {
				word = "errors"
			}
			parts = append(parts, fmt.Sprintf("%d %s", count[o], word))
		}
	}
	t := fmt.Sprintf("%d %s: %s in %s", journeys, plural(journeys, "journey"), strings.Join(parts, ", "), human(wallTime(runs)))
	if retried > 0 {
		t += fmt.Sprintf("; %d %s retried", retried, plural(retried, "attempt"))
	}
	return t
}

// plural is noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// wallTime is the time from the first run's start to the last run's end,
// so runs in parallel are not counted twice.
func wallTime(runs []*results.Run) time.Duration {
	var first, last time.Time
	for i, r := range runs {
		end := r.StartedAt.Add(r.Duration)
		if i == 0 || r.StartedAt.Before(first) {
			first = r.StartedAt
		}
		if i == 0 || end.After(last) {
			last = end
		}
	}
	return last.Sub(first)
}

// writeDetails explains one failed or error attempt, from its terminal
// view.
func writeDetails(b *strings.Builder, paint painter, v *results.Run) {
	symbol, style := outcomeLook(v.Outcome)
	s := v.DecidingStep()
	b.WriteString(joinNonEmpty("  ", paint.paint(style, symbol)+" "+paint.paint(ansiBold, v.Journey), attemptNote(v), verdict(v)) + "\n")
	// field writes a label and a value of one or more lines, each line
	// under the first.
	field := func(label, value, style string) {
		if value == "" {
			return
		}
		for _, l := range strings.Split(value, "\n") {
			if label != "" {
				label = paint.paint(ansiDim, padRight(label, 11))
			} else {
				label = padRight("", 11)
			}
			b.WriteString("    " + label + " " + paint.paint(style, l) + "\n")
			label = ""
		}
	}
	field("at", location(v, s), "")
	if s == nil || s.Error == "" {
		field("error", v.Error, style)
	} else {
		field("error", s.Error, style)
	}
	if s == nil {
		return
	}
	if s.Expected != "" || s.Actual != "" {
		field("expected", s.Expected, "")
		field("actual", s.Actual, "")
	}
	field("url", s.URL, "")
	shown, more := consoleShown(s)
	for _, c := range shown {
		field(string(c.Kind), c.Text, "")
		if c.Source != "" {
			field("", "from "+c.Source, ansiDim)
		}
	}
	if more > 0 {
		field("", moreConsole(more), ansiDim)
	}
	for _, n := range s.Notes {
		field("note", n, "")
	}
	for _, a := range s.Artifacts {
		field(string(a.Kind), a.Path, "")
	}
}
