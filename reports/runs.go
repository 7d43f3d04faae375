package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// RunsOptions configures ListRuns and ShowRun, the terminal views of
// stored runs (`waymark runs`, `waymark runs show`).
type RunsOptions struct {
	// Color turns on ANSI colors. The CLI sets it when stdout is a TTY and
	// NO_COLOR is unset.
	Color bool
	// Zone is the time zone times are shown in; nil is time.Local. Tests
	// pin it, so their output does not depend on the machine.
	Zone *time.Location
	// OtherIDs (ListRuns only) are IDs of stored runs that the short IDs
	// of the listed runs must tell them apart from too: the runs stored
	// around the listed ones but filtered out of the list, so that an ID
	// copied from `waymark runs checkout` is not the start of a search
	// run's ID made in the same minute. Listed IDs may be among them.
	OtherIDs []string
}

// zone is the time zone of the options, time.Local by default.
func (o RunsOptions) zone() *time.Location {
	if o.Zone == nil {
		return time.Local
	}
	return o.Zone
}

// minShortID is the fewest characters of a run ID that ListRuns shows:
// what people copy, and what `waymark runs show` takes as a prefix.
const minShortID = 8

// ListRuns writes one line per run, in the order given (newest first, as
// the store lists them): the outcome's symbol, when the run started, its
// ID cut to the shortest prefix of at least 8 characters that tells it
// apart from the other runs listed and opts.OtherIDs, journey, location,
// outcome, duration
// and, for a run that did not pass, the step and cause that decided it
// (as the summary of `waymark run` says it). Deciding a run's step needs
// its steps: a run listed without them shows its cause alone. With no
// runs it writes "no runs".
func ListRuns(w io.Writer, runs []*results.Run, opts RunsOptions) error {
	var b strings.Builder
	paint := painter(opts.Color)
	if len(runs) == 0 {
		b.WriteString("no runs\n")
	} else {
		head := []string{"STARTED", "ID", "JOURNEY", "LOCATION", "OUTCOME", "TIME", "WHY"}
		ids := make([]string, len(runs))
		for i, r := range runs {
			ids[i] = r.ID
		}
		ids = shortIDs(ids, opts.OtherIDs)
		rows := make([][]string, len(runs))
		styles := make([]string, len(runs))
		symbols := make([]string, len(runs))
		wid := make([]int, len(head))
		for i, h := range head {
			wid[i] = width(h)
		}
		for i, r := range runs {
			v := termRun(r)
			why := ""
			if v.Outcome != results.Passed {
				why = verdict(v)
			}
			symbols[i], styles[i] = outcomeLook(v.Outcome)
			rows[i] = []string{clock(r.StartedAt, opts.zone(), false), termLine(ids[i]), v.Journey, v.Location, outcomeText(v), human(v.Duration), why}
			for j, c := range rows[i] {
				wid[j] = max(wid[j], width(c))
			}
		}
		line := func(c []string, style string) string {
			c = []string{padRight(c[0], wid[0]), padRight(c[1], wid[1]), padRight(c[2], wid[2]), padRight(c[3], wid[3]),
				padRight(c[4], wid[4]), padLeft(c[5], wid[5]), c[6]}
			c[4] = paint.paint(style, c[4])
			return strings.TrimRight(strings.Join(c, "  "), " ")
		}
		b.WriteString("   " + paint.paint(ansiDim, line(head, "")) + "\n")
		for i := range runs {
			b.WriteString(paint.paint(styles[i], symbols[i]) + "  " + line(rows[i], styles[i]) + "\n")
		}
	}
	if _, err := io.WriteString(w, fit(b.String())); err != nil {
		return fmt.Errorf("write runs: %w", err)
	}
	return nil
}

// shortIDs cuts each ID of ids to the shortest prefix of at least
// minShortID characters that no other ID of ids or others starts with
// (compared without regard to case, as `waymark runs show` compares
// them), as git abbreviates commits. IDs equal but for case are taken for
// one run; an ID that is the start of another is kept whole.
func shortIDs(ids, others []string) []string {
	all := make([]string, 0, len(ids)+len(others))
	for _, id := range slices.Concat(ids, others) {
		all = append(all, strings.ToLower(id))
	}
	slices.Sort(all)
	all = slices.Compact(all)
	out := make([]string, len(ids))
	for i, id := range ids {
		// In sorted order, the longest prefix an ID shares with any other
		// is the one it shares with a neighbour.
		low := strings.ToLower(id)
		k, _ := slices.BinarySearch(all, low)
		n := minShortID
		if k > 0 {
			n = max(n, commonPrefix(low, all[k-1])+1)
		}
		if k+1 < len(all) {
			n = max(n, commonPrefix(low, all[k+1])+1)
		}
		out[i] = id[:min(n, len(id))]
	}
	return out
}

// commonPrefix is the length in bytes of the longest common prefix of a
// and b.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// clock is t in zone as people read it, "2026-11-23 16:50:03", with the
// zone's name when withZone; "-" for the zero time (a run stored without
// one).
func clock(t time.Time, zone *time.Location, withZone bool) string {
	if t.IsZero() {
		return "-"
	}
	if withZone {
		return t.In(zone).Format("2006-01-02 15:04:05 MST")
	}
	return t.In(zone).Format("2006-01-02 15:04:05")
}

// labelWidth is the width of the labels of ShowRun.
const labelWidth = 10

// ShowRun writes one run with everything stored about it: a header
// (ID, journey, title, file, trigger, location, start, duration, set-up
// time, outcome and what decided it, attempt, whether it was retried,
// browser), then its steps as the live progress of `waymark run` shows
// them (status symbol, index, name, duration, cause), each followed by
// what it has to say: error, expected and actual, the URL it left the
// page at (when it changed, or the step did not pass), what the page said
// (console entries and dialogs, with their source), the monitor's notes
// and the artifacts kept. Everything from the run goes through termRun.
func ShowRun(w io.Writer, r *results.Run, opts RunsOptions) error {
	var b strings.Builder
	paint := painter(opts.Color)
	v := termRun(r)
	symbol, style := outcomeLook(v.Outcome)

	// field writes a label and a value of one or more lines, each line
	// under the first, after indent.
	field := func(indent, label, value, style string) {
		if value == "" {
			return
		}
		if label != "" {
			label = paint.paint(ansiDim, padRight(label, labelWidth))
		} else {
			label = padRight("", labelWidth)
		}
		for _, l := range strings.Split(value, "\n") {
			b.WriteString(indent + label + " " + paint.paint(style, l) + "\n")
			label = padRight("", labelWidth)
		}
	}

	field("", "run", v.ID, ansiBold)
	field("", "journey", v.Journey, ansiBold)
	field("", "title", v.Title, "")
	field("", "file", v.File, "")
	// termRun leaves Trigger as it is (Progress and Summary do not show
	// it), yet it is text from the database like the rest.
	field("", "trigger", termLine(string(v.Trigger)), "")
	field("", "location", v.Location, "")
	field("", "started", clock(v.StartedAt, opts.zone(), true), "")
	field("", "duration", human(v.Duration), "")
	if v.Setup > 0 {
		field("", "setup", human(v.Setup), "")
	}
	outcome := paint.paint(style, symbol+" "+string(v.Outcome))
	if vd := verdict(v); vd != "" {
		outcome += "  " + vd
	}
	b.WriteString(paint.paint(ansiDim, padRight("outcome", labelWidth)) + " " + outcome + "\n")
	// A run's own error is what no step says: a run threshold, a browser
	// that would not start.
	if v.Outcome != results.Passed && v.DecidingStep() == nil {
		field("", "error", v.Error, style)
	}
	field("", "attempt", fmt.Sprint(v.Attempt), "")
	retried := "no"
	if v.Retried {
		retried = "yes: it ended in error and a fresh attempt replaced it"
	}
	field("", "retried", retried, "")
	field("", "browser", v.BrowserVersion, "")

	if len(v.Steps) == 0 {
		b.WriteString("\nno steps ran\n")
	} else {
		b.WriteString("\n")
	}
	nameW := 0
	for i := range v.Steps {
		nameW = max(nameW, width(v.Steps[i].Name))
	}
	const indent = "       " // under the step's name
	prevURL := ""
	for i := range v.Steps {
		s := &v.Steps[i]
		symbol, style := stepLook(s)
		took := human(s.Duration)
		if s.Status == results.StepSkipped {
			took = "skipped"
		}
		rest := fmt.Sprintf(" %2d %s %s", s.Index, padRight(s.Name, nameW), padLeft(took, stepTimeWidth))
		line := "  " + paint.paint(style, symbol) + rest
		if s.Status == results.StepSkipped {
			line = "  " + paint.paint(style, symbol+rest)
		}
		if w := why(s); w != "" {
			line += "  " + paint.paint(style, w)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")

		field(indent, "error", s.Error, style)
		field(indent, "expected", s.Expected, "")
		field(indent, "actual", s.Actual, "")
		if s.URL != "" && (s.URL != prevURL || s.Status != results.StepPassed) {
			u := s.URL
			if s.HTTPStatus != 0 {
				u += fmt.Sprintf(" (%d)", s.HTTPStatus)
			}
			field(indent, "url", u, "")
		}
		if s.URL != "" {
			prevURL = s.URL
		}
		for _, c := range s.Console {
			// Exceptions and dialogs under their own label; console
			// errors and warnings under "console", so a console error is
			// not taken for the step's own.
			label, text := string(c.Kind), c.Text
			if c.Kind == results.ConsoleError || c.Kind == results.ConsoleWarning {
				label, text = "console", string(c.Kind)+": "+c.Text
			}
			field(indent, label, text, "")
			if c.Source != "" {
				field(indent, "", "from "+c.Source, ansiDim)
			}
		}
		for _, n := range s.Notes {
			field(indent, "note", n, "")
		}
		for _, a := range s.Artifacts {
			field(indent, string(a.Kind), joinNonEmpty("  ", a.Label, a.Path), "")
		}
	}
	if _, err := io.WriteString(w, fit(b.String())); err != nil {
		return fmt.Errorf("write run %s: %w", v.ID, err)
	}
	return nil
}
