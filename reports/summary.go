package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// Summary writes the end-of-run table to w: one row per run (journey,
// outcome, duration, steps passed/total, the step and cause that decided a
// run that did not pass), a totals line, and for each failed or error run
// the deciding step's file:line, error, expected vs actual, URL and
// artifact paths, so the first thing to look at is on screen.
func Summary(w io.Writer, runs []*results.Run, opts ProgressOptions) error {
	var b strings.Builder
	paint := painter(opts.Color)
	if len(runs) > 0 {
		writeTable(&b, paint, runs)
		b.WriteString("\n")
	}
	b.WriteString(totals(runs) + "\n")
	for _, r := range runs {
		if r.Outcome == results.Failed || r.Outcome == results.Error {
			b.WriteString("\n")
			writeDetails(&b, paint, r)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// writeTable writes the aligned one-row-per-run table.
func writeTable(b *strings.Builder, paint painter, runs []*results.Run) {
	head := []string{"JOURNEY", "OUTCOME", "TIME", "STEPS", "WHY"}
	rows := make([][]string, len(runs))
	wid := make([]int, len(head))
	for i, h := range head {
		wid[i] = width(h)
	}
	for i, r := range runs {
		why := ""
		if r.Outcome != results.Passed {
			why = verdict(r, false)
		}
		rows[i] = []string{r.Journey, string(r.Outcome), human(r.Duration), fmt.Sprintf("%d/%d", stepsPassed(r), len(r.Steps)), why}
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
	for i, r := range runs {
		symbol, style := outcomeLook(r.Outcome)
		b.WriteString(paint.paint(style, symbol) + "  " + line(rows[i], style) + "\n")
	}
}

// totals is the one-line count of outcomes and wall time, e.g.
// "3 journeys: 2 passed, 1 failed in 4.2s".
func totals(runs []*results.Run) string {
	if len(runs) == 0 {
		return "no journeys ran"
	}
	count := map[results.Outcome]int{}
	for _, r := range runs {
		count[r.Outcome]++
	}
	var parts []string
	for _, o := range []results.Outcome{results.Passed, results.Degraded, results.Failed, results.Error} {
		if count[o] > 0 {
			word := string(o)
			if o == results.Error && count[o] > 1 {
				word = "errors"
			}
			parts = append(parts, fmt.Sprintf("%d %s", count[o], word))
		}
	}
	noun := "journeys"
	if len(runs) == 1 {
		noun = "journey"
	}
	return fmt.Sprintf("%d %s: %s in %s", len(runs), noun, strings.Join(parts, ", "), human(wallTime(runs)))
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

// writeDetails explains one failed or error run.
func writeDetails(b *strings.Builder, paint painter, r *results.Run) {
	symbol, style := outcomeLook(r.Outcome)
	s := stepFor(r)
	head := paint.paint(style, symbol) + " " + paint.paint(ansiBold, r.Journey)
	if v := verdict(r, false); v != "" {
		head += "  " + v
	}
	b.WriteString(head + "\n")
	field := func(label, value string) {
		if value != "" {
			b.WriteString("    " + paint.paint(ansiDim, padRight(label, 11)) + " " + value + "\n")
		}
	}
	field("at", location(r, s))
	if s == nil {
		field("error", paint.paint(style, r.Error))
		return
	}
	if s.Error != "" {
		field("error", paint.paint(style, s.Error))
	} else {
		field("error", paint.paint(style, r.Error))
	}
	if s.Expected != "" || s.Actual != "" {
		field("expected", s.Expected)
		field("actual", s.Actual)
	}
	field("url", s.URL)
	for _, a := range s.Artifacts {
		field(string(a.Kind), a.Path)
	}
}
