package notify

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/results"
)

// maxSummaryPart bounds each text from a journey file, a page or a person
// in a one-line summary: a subject or a chat header stays readable.
const maxSummaryPart = 120

// Summary is the event in one line, the same in every channel:
//
//	WM-12 opened: Guest checkout — Pay failed (http)
//	WM-12 acknowledged by ada: Guest checkout
//
// A forecast's summary is the forecast in a sentence:
//
//	Pay on guest-checkout: p95 1.9 s, +60 ms a day; crosses its 3 s warn threshold in about 18 days
//
// It holds no line break or control character, and each text in it is cut
// to a readable length.
func (e *Event) Summary() string {
	if e.Kind == KindForecast && e.Forecast != nil {
		return e.forecastText()
	}
	var b strings.Builder
	b.WriteString(oneLine(e.Incident.Ref, maxSummaryPart))
	b.WriteString(" ")
	b.WriteString(e.verb())
	b.WriteString(": ")
	b.WriteString(oneLine(e.Journey.title(), maxSummaryPart))
	if w := e.what(); w != "" {
		b.WriteString(" — ")
		b.WriteString(w)
	}
	return b.String()
}

// Subject is the summary prefixed with the severity, as email subjects
// and PagerDuty summaries read: "[critical] WM-12 opened: Guest checkout —
// Pay failed (http)".
func (e *Event) Subject() string {
	if sev := e.severity(); sev != results.SeverityNone {
		return "[" + oneLine(string(sev), 20) + "] " + e.Summary()
	}
	return e.Summary()
}

// severity is the incident's severity, or info for a forecast.
func (e *Event) severity() results.Severity {
	if e.Kind == KindForecast {
		return results.SeverityInfo
	}
	return e.Incident.Severity
}

// forecastText is a forecast event in a sentence (see Summary).
func (e *Event) forecastText() string {
	f := e.Forecast
	step := oneLine(f.StepName, maxSummaryPart)
	if step == "" {
		step = "step " + strconv.Itoa(f.Step)
	}
	journey := e.Journey.Name
	if journey == "" {
		journey = e.Journey.title()
	}
	return fmt.Sprintf("%s on %s: p95 %s, %s a day; crosses its %s warn threshold %s", step, oneLine(journey, maxSummaryPart),
		seconds(f.P95), signed(f.Slope), seconds(f.Warn), inDays(f.CrossesAt.Sub(e.At)))
}

// seconds is a duration as forecasts say it: "850 ms" under a second,
// else seconds to one decimal, "1.9 s", "3 s".
func seconds(d time.Duration) string {
	if d.Abs() < time.Second {
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(math.Round(d.Seconds()*10)/10, 'f', -1, 64) + " s"
}

// signed is seconds with its sign: "+60 ms", "-1.2 s".
func signed(d time.Duration) string {
	if d < 0 {
		return "-" + seconds(-d)
	}
	return "+" + seconds(d)
}

// inDays says how far ahead d is, to the day: "in about 18 days", "within
// a day".
func inDays(d time.Duration) string {
	days := int(math.Round(d.Hours() / 24))
	switch {
	case days < 1:
		return "within a day"
	case days == 1:
		return "in about 1 day"
	}
	return "in about " + strconv.Itoa(days) + " days"
}

// verb is what happened, as a summary says it.
func (e *Event) verb() string {
	by := ""
	if e.By != "" {
		by = " by " + oneLine(e.By, maxSummaryPart)
	}
	switch e.Kind {
	case KindEscalated:
		if e.Incident.Level > 1 {
			return "escalated to level " + strconv.Itoa(e.Incident.Level)
		}
		if e.Incident.Severity != results.SeverityNone {
			return "escalated to " + oneLine(string(e.Incident.Severity), 20)
		}
		return "escalated"
	case KindReminded:
		return "still open"
	case KindAcknowledged, KindNote, KindResolved:
		return string(e.Kind) + by
	case KindMonitorDown:
		return "monitor down"
	case KindMonitorUp:
		return "monitor up"
	case KindTest:
		return "test message"
	case KindForecast:
		return "forecast"
	}
	return oneLine(string(e.Kind), 40)
}

// what is the failure in a few words, "Pay failed (http)", for the events
// whose news is the failure; "" for the others and when there is no run.
func (e *Event) what() string {
	switch e.Kind {
	case KindOpened, KindEscalated, KindReminded, KindMonitorDown, KindTest:
	default:
		return ""
	}
	r := e.Run
	if r == nil {
		return ""
	}
	name := "run"
	if s := r.Step; s.Number > 0 {
		name = oneLine(s.Name, maxSummaryPart)
		if name == "" {
			name = "step " + strconv.Itoa(s.Number)
		}
	}
	w := name + " " + r.verb()
	if c := r.Step.Cause; c != results.CauseNone {
		w += " (" + oneLine(string(c), 20) + ")"
	}
	return w
}

// verb says what the run did, in a summary's words: failed (a failed or
// error run), slow (degraded), or its outcome.
func (r *Run) verb() string {
	switch r.Outcome {
	case results.Failed, results.Error:
		return "failed"
	case results.Degraded:
		return "slow"
	}
	return oneLine(string(r.Outcome), 20)
}

// maxFactValue bounds a one-line fact (a title, an owner, the tags).
const maxFactValue = 300

// fact is one labelled line of a message body: "Cause: http".
type fact struct {
	Label string
	Value string
	// Code marks text from a page or a server (an error, a value) that
	// reads best in a monospace font and must never be formatted.
	Code bool
}

// facts are the details of an event, in the order every long format
// (email, Slack, the terminal's verbose view) shows them; empty values are
// left out. Texts are as the event has them: each format escapes them.
func (e *Event) facts() []fact {
	var fs []fact
	add := func(label, value string, code bool) {
		if !code {
			// Names and labels from journey files read on one line.
			value = oneLine(value, maxFactValue)
		}
		if value != "" {
			fs = append(fs, fact{Label: label, Value: value, Code: code})
		}
	}
	inc, j := &e.Incident, &e.Journey
	sev := string(e.severity())
	if inc.Kind == IncidentMonitor {
		sev = strings.TrimSpace(sev + " (monitor health)")
	}
	add("Severity", sev, false)
	journey := j.title()
	if j.Title != "" && j.Name != "" && j.Title != j.Name {
		journey += " (" + j.Name + ")"
	}
	add("Journey", journey, false)
	add("Customer", j.Customer, false)
	add("Owner", j.Owner, false)
	add("Location", j.Location, false)
	add("Tags", strings.Join(j.Tags, ", "), false)
	if f := e.Forecast; f != nil && e.Kind == KindForecast {
		add("Step", fmt.Sprintf("%d %q", f.Step, f.StepName), false)
		add("p95 now", seconds(f.P95), false)
		trend := signed(f.Slope) + " a day"
		if f.Days > 0 {
			trend += fmt.Sprintf(" over %d %s of runs", f.Days, plural(f.Days, "day", "days"))
		}
		add("Trend", trend, false)
		add("Warn threshold", seconds(f.Warn), false)
		if !f.CrossesAt.IsZero() {
			add("Crosses it", stamp(f.CrossesAt)+" ("+inDays(f.CrossesAt.Sub(e.At))+")", false)
		}
	}
	if r := e.Run; r != nil {
		if s := r.Step; s.Number > 0 {
			add("Step", fmt.Sprintf("%d %q", s.Number, s.Name), false)
		}
		add("Cause", string(r.Step.Cause), false)
		add("Error", r.Step.Error, true)
		add("Expected", r.Step.Expected, true)
		add("Actual", r.Step.Actual, true)
		add("Page", r.Step.URL, true)
		if r.Duration > 0 {
			d := results.Round(r.Duration).String()
			if r.Threshold > 0 {
				d += " (threshold " + r.Threshold.String() + ")"
			}
			add("Duration", d, false)
		}
	}
	if !inc.FirstFailureAt.IsZero() {
		since := stamp(inc.FirstFailureAt)
		if inc.Failures > 0 {
			since += fmt.Sprintf(" (%d failed %s)", inc.Failures, plural(inc.Failures, "run", "runs"))
		}
		label := "Failing since"
		if inc.State == StateResolved || e.Kind == KindResolved || e.Kind == KindMonitorUp {
			label = "First failure"
		}
		add(label, since, false)
	}
	if !inc.OpenedAt.IsZero() {
		add("Opened at", stamp(inc.OpenedAt), false)
	}
	if !inc.AcknowledgedAt.IsZero() {
		add("Acknowledged at", stamp(inc.AcknowledgedAt), false)
	}
	if !inc.ResolvedAt.IsZero() {
		r := stamp(inc.ResolvedAt)
		if !inc.OpenedAt.IsZero() && inc.ResolvedAt.After(inc.OpenedAt) {
			r += " (open for " + inc.ResolvedAt.Sub(inc.OpenedAt).Round(time.Second).String() + ")"
		}
		add("Resolved at", r, false)
	}
	if inc.Level > 0 {
		add("Level", strconv.Itoa(inc.Level), false)
	}
	add("Ticket", inc.TicketID, false)
	if e.Run != nil {
		add("Run ID", e.Run.ID, false)
	}
	return fs
}

// stamp is a time in messages: UTC, to the minute, the same for every
// reader whatever their zone.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// oneLine makes s fit in a one-line summary: line breaks, tabs and other
// control or format characters become spaces (so a name cannot start a
// new header or a new paragraph), runs of spaces one, and the result is
// cut to max bytes with results.Clip's marker.
func oneLine(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || isControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return results.Clip(b.String(), max)
}

// isControl says whether r is a character a terminal or a mail header may
// act on rather than show: C0 and C1 controls, DEL, format characters
// (bidirectional overrides, zero-width spaces; the joiners U+200C and
// U+200D excepted, as emoji and scripts need them) and the line and
// paragraph separators.
func isControl(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d':
		return false
	case r < 0x20 || r == 0x7f, r == '\u2028', r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}

// termEscape makes s safe to print on a terminal, as reports does for
// runs (reports.termLine, unexported there): control and format
// characters and invalid bytes are written Go-style (\n, \x1b, \u202e,
// \xff), so a page cannot move the cursor, recolour or reorder the line;
// then s is cut to max bytes with results.Clip's marker.
func termEscape(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if b.Len() >= max {
			b.WriteString(results.Clip(s[i:], 0))
			break
		}
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isControl(r):
			if j := strings.IndexRune("\a\b\t\n\v\f\r", r); j >= 0 {
				b.WriteString(`\` + "abtnvfr"[j:j+1])
			} else if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
