package period

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// stamp is the layout of times in the Markdown and HTML reports.
const stamp = "2006-01-02 15:04"

// md builds a Markdown document. Every value given to line and table is
// escaped: journey names, errors and URLs come from files and sites, and
// Markdown renders HTML.
type md struct{ b strings.Builder }

// line writes a line of format (Markdown, not escaped) with args (escaped).
func (m *md) line(format string, args ...any) {
	for i, a := range args {
		args[i] = mdEscape(fmt.Sprint(a))
	}
	fmt.Fprintf(&m.b, format+"\n", args...)
}

// blank ends the paragraph or table before with a blank line, once.
func (m *md) blank() {
	if s := m.b.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
		m.b.WriteString("\n")
	}
}

// table writes a table; align holds a character per column: l or r.
func (m *md) table(head []string, align string, rows [][]string) {
	m.blank()
	m.row(head)
	for i := range head {
		if align[i] == 'r' {
			m.b.WriteString("|--:")
		} else {
			m.b.WriteString("|---")
		}
	}
	m.b.WriteString("|\n")
	for _, r := range rows {
		m.row(r)
	}
	m.blank()
}

func (m *md) row(cells []string) {
	for _, c := range cells {
		m.b.WriteString("| " + mdEscape(c) + " ")
	}
	m.b.WriteString("|\n")
}

// mdEscape makes s plain text in Markdown: the characters that start
// markup are escaped with a backslash (so `<script>` shows as text and
// `|` does not end a table cell), and line breaks and other control
// characters become spaces.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]<>|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// percent is an availability for people: "99.65 %" (rounded down, so
// that a failure never shows as 100), or "–" when nothing was checked.
func percent(p *float64) string {
	if p == nil {
		return "–"
	}
	return strconv.FormatFloat(float64(int64(*p*100))/100, 'f', 2, 64) + " %"
}

// optDuration is d, or "–" when nil.
func optDuration(d *Duration) string {
	if d == nil {
		return "–"
	}
	return d.String()
}

// optChange is c, "new" when there is nothing to compare with.
func optChange(c *Change) string {
	if c == nil {
		return "new"
	}
	return c.String()
}

// itoa is strconv.Itoa, for table cells.
func itoa(n int) string { return strconv.Itoa(n) }

// what is what failed in a step, in a line: `step 3 "Pay": timeout —
// the error`.
func what(step int, name, cause, err string) string {
	s := stepLabel(step, name)
	if cause != "" {
		s += ": " + cause
	}
	if err = bare(step, name, err); err != "" {
		s += " — " + err
	}
	return s
}

// bare is the first line of a run's error without the step it names
// first (as results.Decide writes it), for where the step is shown
// beside it.
func bare(step int, name, err string) string {
	return firstLine(strings.TrimPrefix(err, stepLabel(step, name)+": "), 200)
}

// spans says when a window was on: its first times and how many more.
func spans(w Window) string {
	if len(w.Times) == 0 {
		return "–"
	}
	const shown = 3
	var parts []string
	for _, t := range w.Times[:min(len(w.Times), shown)] {
		to := t.To.Format("15:04")
		if t.To.YearDay() != t.From.YearDay() || t.To.Year() != t.From.Year() {
			to = t.To.Format(stamp)
		}
		parts = append(parts, t.From.Format(stamp)+" → "+to)
	}
	s := strings.Join(parts, ", ")
	if more := len(w.Times) - shown + w.More; more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// availabilityRow is a row of the availability table.
func availabilityRow(name string, a Availability, incidents string) []string {
	return []string{name, percent(a.Percent), itoa(a.Checked), itoa(a.Failed), itoa(a.Degraded), itoa(a.Errors),
		itoa(a.Maintenance), incidents}
}

// availabilityHead heads the availability table.
func availabilityHead() []string {
	return []string{"Journey", "Availability", "Checked", "Failed", "Degraded", "Errors", "In maintenance", "Incidents"}
}

// availabilityDefinition says how availability is counted.
const availabilityDefinition = "Availability is (passed + degraded) / (passed + degraded + failed) runs: runs in a maintenance window " +
	"are left out and counted apart, and so are error runs (the monitor's own trouble) and aborted ones."

// WriteMarkdown writes the report as Markdown.
func WriteMarkdown(w io.Writer, r *Report) error {
	var m md
	m.line("# Waymark report: %s", r.Scope)
	m.blank()
	m.line("%s → %s (%s); step timings against %s → %s. Made %s.", r.Since.Format(stamp), r.Until.Format(stamp), r.Zone,
		r.PreviousSince.Format(stamp), r.Since.Format(stamp), r.Generated.Format(stamp))
	m.blank()
	m.line("**Availability %s** over %s runs that checked the site · %s incidents · median time to acknowledge %s, to resolve %s",
		percent(r.Total.Percent), r.Total.Checked, len(r.Incidents), optDuration(r.MedianToAcknowledge), optDuration(r.MedianToResolve))

	m.blank()
	m.line("## Availability")
	rows := make([][]string, 0, len(r.Journeys)+1)
	for _, j := range r.Journeys {
		rows = append(rows, availabilityRow(j.Name, j.Availability, itoa(j.Incidents)))
	}
	rows = append(rows, availabilityRow("All", r.Total, itoa(len(r.Incidents))))
	m.table(availabilityHead(), "lrrrrrrr", rows)
	m.line("%s", availabilityDefinition)
	m.blank()
	m.line("### By day")
	rows = rows[:0]
	for _, d := range r.Days {
		rows = append(rows, []string{d.Date, percent(d.Percent), itoa(d.Checked), itoa(d.Failed), itoa(d.Maintenance)})
	}
	m.table([]string{"Day", "Availability", "Checked", "Failed", "In maintenance"}, "lrrrr", rows)

	m.line("## Maintenance")
	if len(r.Maintenance) == 0 {
		m.blank()
		m.line("No maintenance window over these journeys in the period.")
		m.blank()
	} else {
		rows = rows[:0]
		for _, mw := range r.Maintenance {
			name := mw.Name
			if mw.Reason != "" && mw.Reason != mw.Name {
				name += " (" + mw.Reason + ")"
			}
			rows = append(rows, []string{name, mw.Source, orNone(mw.Covers), spans(mw), itoa(mw.Runs)})
		}
		m.table([]string{"Window", "From", "Covers", "When", "Runs in it"}, "llllr", rows)
	}

	m.line("## Incidents")
	if len(r.Incidents) == 0 {
		m.blank()
		m.line("No incident in the period.")
		m.blank()
	} else {
		rows = rows[:0]
		for _, i := range r.Incidents {
			rows = append(rows, incidentRow(i))
		}
		m.table([]string{"Incident", "Journey", "Severity", "Opened", "Acknowledged", "Resolved", "Failed runs", "What failed"},
			"llllllrl", rows)
	}

	m.line("## Step timings")
	m.blank()
	m.line("p50 and p95 of each step against the period before; ▲ slower or ▼ faster by at least %s %% and %s. "+
		"Step timings count the runs in maintenance too.", markPercent, Duration(markDelta))
	for _, j := range r.Journeys {
		if len(j.Steps) == 0 {
			continue
		}
		m.blank()
		if j.Title != "" {
			m.line("### %s — %s", j.Name, j.Title)
		} else {
			m.line("### %s", j.Name)
		}
		rows = rows[:0]
		for _, s := range j.Steps {
			rows = append(rows, stepRow(s))
		}
		m.table([]string{"#", "Step", "Runs", "Failed", "p50", "p50 before", "Change", "p95", "p95 before", "Change"},
			"rlrrrrlrrl", rows)
	}

	m.line("## Slowest steps")
	rows = rows[:0]
	for _, s := range r.Slowest {
		rows = append(rows, []string{s.Journey, stepLabel(s.Index, s.Name), s.P95.String(), s.P50.String(), optChange(s.P95Change)})
	}
	m.table([]string{"Journey", "Step", "p95", "p50", "Change of p95"}, "llrrl", rows)

	m.line("## Most frequent failure causes")
	if len(r.Causes) == 0 {
		m.blank()
		m.line("No run failed in the period.")
		m.blank()
	} else {
		rows = rows[:0]
		for _, c := range r.Causes {
			rows = append(rows, []string{c.Journey, stepLabel(c.Step, c.StepName), orNone(c.Cause), itoa(c.Runs),
				c.Last.Format(stamp), bare(c.Step, c.StepName, c.Error)})
		}
		m.table([]string{"Journey", "Step", "Cause", "Failed runs", "Last", "Error of the last"}, "lllrll", rows)
	}

	if len(r.Failures) > 0 {
		m.line("## Failures")
		m.blank()
		m.line("The latest failed run of each of the first causes; the HTML report shows their screenshots.")
		m.blank()
		for _, f := range r.Failures {
			m.line("- %s, run %s at %s: %s", f.Journey, f.Run, f.At.Format(stamp), what(f.Step, f.StepName, f.Cause, f.Error))
			if f.URL != "" {
				m.line("  - URL: %s", f.URL)
			}
			if f.Screenshot != "" {
				m.line("  - screenshot: sha256 %s", f.Screenshot)
			}
		}
		m.blank()
	}
	writeNotes(&m, r.Notes)
	_, err := io.WriteString(w, m.b.String())
	return err
}

// incidentRow is an incident as a row of the incidents table.
func incidentRow(i Incident) []string {
	journey := i.Journey
	if i.Location != "" {
		journey += " @" + i.Location
	}
	severity := i.Severity
	if i.Kind != "site" {
		severity += " (" + i.Kind + ")"
	}
	ack, res := "–", "open"
	if i.ToAcknowledge != nil {
		ack = "after " + i.ToAcknowledge.String()
		if i.AcknowledgedBy != "" {
			ack += " by " + i.AcknowledgedBy
		}
	}
	if i.ToResolve != nil {
		res = "after " + i.ToResolve.String()
		if i.ResolvedBy != "" {
			res += " by " + i.ResolvedBy
		}
	}
	return []string{i.Ref, journey, severity, i.Opened.Format(stamp), ack, res, itoa(i.Failures), what(i.Step, i.StepName, i.Cause, i.Error)}
}

// stepRow is a step as a row of a step timings table.
func stepRow(s Step) []string {
	prev50, prev95 := "–", "–"
	if s.Previous != nil {
		prev50, prev95 = s.Previous.P50.String(), s.Previous.P95.String()
	}
	return []string{itoa(s.Index), s.Name, itoa(s.Runs), itoa(s.Failures), s.P50.String(), prev50, optChange(s.P50Change),
		s.P95.String(), prev95, optChange(s.P95Change)}
}

// writeNotes writes the notes section, if there are notes.
func writeNotes(m *md, notes []string) {
	if len(notes) == 0 {
		return
	}
	m.line("## Notes")
	m.blank()
	for _, n := range notes {
		m.line("- %s", n)
	}
	m.blank()
}

// WriteReviewMarkdown writes the monitoring review as Markdown.
func WriteReviewMarkdown(w io.Writer, rv *ReviewReport) error {
	var m md
	m.line("# Waymark monitoring review: %s", rv.Scope)
	m.blank()
	m.line("%s → %s (%s). Made %s.", rv.Since.Format(stamp), rv.Until.Format(stamp), rv.Zone, rv.Generated.Format(stamp))
	m.blank()

	m.line("## Flapping journeys")
	if len(rv.Flapping) == 0 {
		m.blank()
		m.line("No journey's outcomes alternate (%s changes in %s runs in a row).", flapChanges, flapWindow)
		m.blank()
	} else {
		var rows [][]string
		for _, f := range rv.Flapping {
			rows = append(rows, []string{f.Journey, orNone(f.Location), itoa(f.Runs), itoa(f.Changes), itoa(f.MostIn20),
				itoa(f.Incidents), f.Suggestion})
		}
		m.table([]string{"Journey", "Location", "Runs", "Changes", "Most in 20 runs", "Incidents", "Suggestion"}, "llrrrrl", rows)
	}

	m.line("## Resolved without an acknowledgement")
	if len(rv.Unacknowledged) == 0 {
		m.blank()
		m.line("Every incident resolved in the period was acknowledged first.")
		m.blank()
	} else {
		var rows [][]string
		for _, u := range rv.Unacknowledged {
			rows = append(rows, []string{u.Ref, u.Journey, u.Severity, u.Opened.Format(stamp), u.Lasted.String(), itoa(u.Failures),
				orNone(strings.Join(u.Channels, ", ")), u.Suggestion})
		}
		m.table([]string{"Incident", "Journey", "Severity", "Opened", "Lasted", "Failed runs", "Told", "Suggestion"}, "lllllrll", rows)
	}

	m.line("## Time to acknowledge")
	if len(rv.Acknowledgement) == 0 {
		m.blank()
		m.line("No incident was acknowledged in the period.")
		m.blank()
	} else {
		var rows [][]string
		for _, a := range rv.Acknowledgement {
			rows = append(rows, []string{a.Route, itoa(a.Level), orNone(strings.Join(a.Channels, ", ")), itoa(a.Incidents),
				a.Median.String(), a.Max.String(), orDash(a.Suggestion)})
		}
		m.table([]string{"Route", "Level", "Told", "Incidents", "Median", "Longest", "Suggestion"}, "lrlrrrl", rows)
	}

	m.line("## Runs lost to monitor errors")
	if len(rv.MonitorErrors) == 0 {
		m.blank()
		m.line("No run ended in a monitor error.")
		m.blank()
	} else {
		var rows [][]string
		for _, e := range rv.MonitorErrors {
			rows = append(rows, []string{e.Journey, itoa(e.Runs), itoa(e.Errors), strconv.FormatFloat(e.Percent, 'f', 1, 64) + " %",
				orDash(e.Error), e.Suggestion})
		}
		m.table([]string{"Journey", "Runs", "Errors", "Share", "Most frequent error", "Suggestion"}, "lrrrll", rows)
	}

	m.line("## Thresholds")
	if len(rv.Thresholds) == 0 {
		m.blank()
		m.line("No threshold is far above its step's timings or crossed often without an incident.")
		m.blank()
	} else {
		var rows [][]string
		for _, t := range rv.Thresholds {
			rows = append(rows, []string{t.Journey, stepLabel(t.Step, t.StepName), optLimit(t.Warn), optLimit(t.Fail), t.P95.String(),
				fmt.Sprintf("%d of %d", t.Over, t.Hours), t.Finding, t.Suggestion})
		}
		m.table([]string{"Journey", "Step", "Warn", "Fail", "p95", "Hours over", "Finding", "Suggestion"}, "lllllrll", rows)
	}
	writeNotes(&m, rv.Notes)
	_, err := io.WriteString(w, m.b.String())
	return err
}

// optLimit is a threshold, "–" when unset.
func optLimit(d Duration) string {
	if d == 0 {
		return "–"
	}
	return d.String()
}

// orDash is s, or "–" when empty.
func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
