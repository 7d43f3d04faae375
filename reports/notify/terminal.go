package notify

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// maxTermPart bounds each text from a page in a terminal line.
const maxTermPart = 200

// Terminal writes one line per event to a writer: the notification log of
// `waymark demo` and of `waymark serve`'s output. Text from pages, journey
// files and people is escaped (control characters written Go-style, as
// the reports package does for runs), so a page cannot move the cursor or
// recolour the terminal, and long texts are cut. Lines are written whole,
// one at a time, whatever the number of goroutines delivering.
type Terminal struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTerminal is a Terminal channel writing to w.
func NewTerminal(w io.Writer) *Terminal {
	return &Terminal{w: w}
}

// Deliver writes e's line. A write error is final: retrying a broken
// terminal helps nobody.
func (t *Terminal) Deliver(ctx context.Context, e Event) (Receipt, error) {
	if err := e.validate(); err != nil {
		return Receipt{}, permanent(fmt.Errorf("terminal: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, &DeliveryError{Temporary: true, Err: fmt.Errorf("terminal: %w", err)}
	}
	line := TerminalLine(&e) + "\n"
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := io.WriteString(t.w, line); err != nil {
		return Receipt{}, permanent(fmt.Errorf("terminal: write %s event of %s: %w", e.Kind, e.about(), err))
	}
	return Receipt{}, nil
}

// TerminalLine is e in one line, escaped for a terminal:
//
//	10:02:07 WM-12 opened [critical] Guest checkout (eu-west): step 7 "Pay" failed (http): POST /pay answered 500 · run https://…
//	10:02:07 forecast [info] Pay on guest-checkout: p95 1.9 s, +60 ms a day; crosses its 3 s warn threshold in about 18 days
func TerminalLine(e *Event) string {
	var b strings.Builder
	if !e.At.IsZero() {
		b.WriteString(e.At.Format("15:04:05") + " ")
	}
	if e.Kind == KindForecast && e.Forecast != nil {
		// 10:02:07 forecast [info] Pay on guest-checkout: p95 1.9 s, +60 ms a day; crosses …
		b.WriteString("forecast [info] " + termEscape(e.forecastText(), 2*maxTermPart))
		if u := e.Links.Journey; u != "" {
			b.WriteString(" · " + termEscape(u, maxTermPart))
		}
		return b.String()
	}
	b.WriteString(termEscape(oneLine(e.Incident.Ref, 40), 40) + " " + termEscape(e.verb(), maxTermPart))
	if sev := e.Incident.Severity; sev != "" {
		b.WriteString(" [" + termEscape(string(sev), 20) + "]")
	}
	b.WriteString(" " + termEscape(e.Journey.title(), maxTermPart))
	if l := e.Journey.Location; l != "" {
		b.WriteString(" (" + termEscape(l, 60) + ")")
	}
	if e.what() != "" {
		r := e.Run
		b.WriteString(": ")
		if s := r.Step; s.Number > 0 {
			fmt.Fprintf(&b, "step %d %s", s.Number, termEscape(fmt.Sprintf("%q", s.Name), maxTermPart))
		} else {
			b.WriteString("run")
		}
		b.WriteString(" " + r.verb())
		if c := r.Step.Cause; c != "" {
			b.WriteString(" (" + termEscape(string(c), 20) + ")")
		}
		if msg := firstLine(r.Step.Error); msg != "" {
			b.WriteString(": " + termEscape(msg, maxTermPart))
		}
	}
	if e.Note != "" {
		b.WriteString(": " + termEscape(firstLine(e.Note), maxTermPart))
	}
	if t := e.Incident.TicketID; t != "" {
		b.WriteString(" · ticket " + termEscape(t, 60))
	}
	if u := e.Links.Run; u != "" {
		b.WriteString(" · run " + termEscape(u, maxTermPart))
	}
	return b.String()
}

// firstLine is the first line of s, with a count of the lines left out.
func firstLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	line, rest, more := strings.Cut(s, "\n")
	line = strings.TrimSuffix(line, "\r")
	if more {
		n := strings.Count(rest, "\n") + 1
		line += fmt.Sprintf(" (+%d %s)", n, plural(n, "line", "lines"))
	}
	return line
}
