package reports

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/results"
)

// cet is the zone the golden files show times in: not UTC, so a view
// that forgot the zone would show.
var cet = time.FixedZone("CET", 3600)

// newestFirst is the fixture runs as the store lists them.
func newestFirst() []*results.Run {
	runs := fixtureRuns()
	slices.SortStableFunc(runs, func(a, b *results.Run) int { return b.StartedAt.Compare(a.StartedAt) })
	return runs
}

// withoutSteps is runs as store.Runs returns them: no steps. A passed run
// needs none to be listed.
func withoutSteps(runs []*results.Run) []*results.Run {
	out := make([]*results.Run, len(runs))
	for i, r := range runs {
		c := *r
		c.Steps = nil
		out[i] = &c
	}
	return out
}

func TestListRunsGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		color bool
		runs  []*results.Run
	}{
		{"runs.golden", false, newestFirst()},
		{"runs_color.golden", true, newestFirst()},
		{"runs_without_steps.golden", false, withoutSteps(newestFirst())},
		{"runs_empty.golden", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ListRuns(&buf, tc.runs, RunsOptions{Color: tc.color, Zone: cet}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestShowRunGolden(t *testing.T) {
	var plain, color bytes.Buffer
	for i, r := range fixtureRuns() {
		if i > 0 {
			plain.WriteString("\n========\n\n")
		}
		if err := ShowRun(&plain, r, RunsOptions{Zone: cet}); err != nil {
			t.Fatal(err)
		}
		if r.Outcome == results.Failed {
			if err := ShowRun(&color, r, RunsOptions{Color: true, Zone: cet}); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden(t, "show.golden", plain.Bytes())
	golden(t, "show_color.golden", color.Bytes())
}

// TestShowRunLocal checks that times are shown in the local zone when
// the options name none.
func TestShowRunLocal(t *testing.T) {
	r := fixtureRuns()[0]
	var show, list bytes.Buffer
	if err := ShowRun(&show, r, RunsOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ListRuns(&list, []*results.Run{r}, RunsOptions{}); err != nil {
		t.Fatal(err)
	}
	local := r.StartedAt.In(time.Local)
	if want := "started    " + local.Format("2006-01-02 15:04:05 MST") + "\n"; !strings.Contains(show.String(), want) {
		t.Errorf("show lacks %q:\n%s", want, show.String())
	}
	if want := "  " + local.Format("2006-01-02 15:04:05") + "  "; !strings.Contains(list.String(), want) {
		t.Errorf("list lacks %q:\n%s", want, list.String())
	}
}

func TestShortIDs(t *testing.T) {
	for _, tc := range []struct {
		name              string
		ids, others, want []string
	}{
		{"none", nil, nil, []string{}},
		{"one", []string{"0197f3a2-8c1d-7e4f-9a0b-1c2d3e4f5a6b"}, nil, []string{"0197f3a2"}},
		{"short IDs stay whole", []string{"abc", "abd"}, nil, []string{"abc", "abd"}},
		{"apart in 8", []string{"0197f3a2-aaaa", "0197f3b2-aaaa"}, nil, []string{"0197f3a2", "0197f3b2"}},
		{"same minute: longer", []string{"0197f3a2-8c1d-7e4f-9a0b-1c2d3e4f5a6b", "0197f3a2-8c40-7000-8000-000000000000", "0197f3a2-8c1e-7000-8000-000000000000"}, nil,
			[]string{"0197f3a2-8c1d", "0197f3a2-8c4", "0197f3a2-8c1e"}},
		{"case does not tell apart", []string{"01JPD4Z8AZ1", "01jpd4z8az2", "01JPD4Z8AY"}, nil, []string{"01JPD4Z8AZ1", "01jpd4z8az2", "01JPD4Z8AY"}},
		{"the start of another is whole", []string{"0197f3a2-8c", "0197f3a2-8c1d-7e4f"}, nil, []string{"0197f3a2-8c", "0197f3a2-8c1"}},
		{"twice the same is one run", []string{"0197f3a2-8c1d", "0197F3A2-8C1D"}, nil, []string{"0197f3a2", "0197F3A2"}},
		{"others count", []string{"0197f3a2-8c1d-7e4f"}, []string{"0197f3a2-8c1e-7000", "0197f3b0-0000-7000"}, []string{"0197f3a2-8c1d"}},
		{"listed among others", []string{"0197f3a2-8c1d-7e4f", "0197f3b0-0000-7000"}, []string{"0197f3b0-0000-7000", "0197f3a2-8c1d-7e4f"},
			[]string{"0197f3a2", "0197f3b0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shortIDs(tc.ids, tc.others); !slices.Equal(got, tc.want) {
				t.Errorf("shortIDs(%q, %q) = %q, want %q", tc.ids, tc.others, got, tc.want)
			}
		})
	}
}

// TestRunsHostileText sends page text that tries to act on a terminal,
// and text too long for one, through the list and the view of a run.
func TestRunsHostileText(t *testing.T) {
	for _, big := range []string{"", strings.Repeat("page text ", 10<<10), strings.Repeat("\n    at frame (app.js:1:1)", 5000)} {
		for _, color := range []bool{false, true} {
			runs := hostileRuns(big)
			for _, r := range runs {
				r.Trigger = results.Trigger("trigger:" + hostile) // shown by ShowRun alone
			}
			var buf bytes.Buffer
			if err := ListRuns(&buf, runs, RunsOptions{Color: color, Zone: cet}); err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if err := ShowRun(&buf, r, RunsOptions{Color: color, Zone: cet}); err != nil {
					t.Fatal(err)
				}
			}
			out := buf.String()
			ours := out
			for _, style := range []string{ansiReset, ansiBold, ansiDim, ansiRed, ansiGreen, ansiYellow, ansiMagenta, ansiCyan} {
				ours = strings.ReplaceAll(ours, style, "")
			}
			if !color && ours != out {
				t.Errorf("color off, yet our styles are in the output")
			}
			for i, line := range strings.Split(ours, "\n") {
				if w := utf8.RuneCountInString(line); w > maxLine {
					t.Errorf("big %d, color %v: line %d is %d cells, over %d: %.80q…", len(big), color, i+1, w, maxLine, line)
				}
				// Continuation lines of a message are indented under its
				// label; a forged line must not reach the columns where
				// list rows (0) and step lines (2) start.
				if strings.HasPrefix(line, "✓ forged") || strings.HasPrefix(line, "  ✓ forged") {
					t.Errorf("big %d, color %v: the page forged line %d: %q", len(big), color, i+1, line)
				}
				for j, r := range line {
					if r == utf8.RuneError && !strings.HasPrefix(line[j:], "\uFFFD") ||
						unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
						t.Fatalf("big %d, color %v: raw %U in line %d: %q", len(big), color, r, i+1, line)
					}
				}
			}
			for _, part := range []string{
				`clear\x1b[2J title\x1b]0;evil\a alt\x1b[?1049h vt\v cr\roverwrite bidi\u202eexe.pdf c1\u009b2J 8bit\x9b2J nl\n✓ forged`,
				"id:clear", "journey:clear", "trigger:clear", "title:clear", "file:clear", "location:clear", "browser:clear", "name:clear", "error:clear",
				"expected:clear", "actual:clear", "url:clear", "exception:clear", "source:clear", "dialog:clear", "note:clear",
				"label:clear", "path:clear", "run error:clear",
			} {
				if !strings.Contains(out, part) {
					t.Errorf("big %d, color %v: output lacks %q", len(big), color, part)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%.5000s", out)
				return
			}
		}
	}
}
