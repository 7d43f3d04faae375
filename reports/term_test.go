package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/results"
)

func TestTermLine(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain text", `fill #email with "a@b.c"`, `fill #email with "a@b.c"`},
		{"clear screen", "a\x1b[2Jb", `a\x1b[2Jb`},
		{"window title (OSC)", "\x1b]0;evil\a", `\x1b]0;evil\a`},
		{"C0 short forms", "\a\b\t\n\v\f\r", `\a\b\t\n\v\f\r`},
		{"other C0 and DEL", "\x00\x01\x7f", `\x00\x01\x7f`},
		{"C1 control", "a\u009b31mb\u0085", `a\u009b31mb\u0085`},
		{"a byte that is not UTF-8 (8-bit CSI)", "a\x9b2Jb", `a\x9b2Jb`},
		{"bidi override and isolate", "txt.\u202eexe\u2066", `txt.\u202eexe\u2066`},
		{"zero-width space and separators", "a\u200bb\u2028c\u2029", `a\u200bb\u2028c\u2029`},
		{"tag character", "a\U000e0041", `a\U000e0041`},
		{"joiners are kept", "👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم"},
		{"a backslash is kept", `C:\Users\ada`, `C:\Users\ada`},
		{"letters and symbols", "Grüße 日本 ✓ €", "Grüße 日本 ✓ €"},
		{"cut with the size left", strings.Repeat("x", 100<<10), strings.Repeat("x", maxText) + "… (99 KB more)"},
		{"escapes count toward the cut", strings.Repeat("\x1b", 1000), strings.Repeat(`\x1b`, maxText/4) + "… (950 bytes more)"},
		{"exactly the budget is not cut", strings.Repeat("é", maxText), strings.Repeat("é", maxText)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := termLine(tc.in); got != tc.want {
				t.Errorf("termLine(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTermLines(t *testing.T) {
	many := strings.Repeat("frame\n", 5000)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"one line", "boom", "boom"},
		{"lines stay lines, escaped", "a\x1b[2J\r\nb\vc\n\n", "a\\x1b[2J\nb\\vc"},
		{"a lone CR is escaped", "a\rb", `a\rb`},
		{"line count is capped", many, strings.Repeat("frame\n", maxTextLines) + "… (4990 more lines)"},
		{"each line is cut", strings.Repeat("y", 300) + "\nz", strings.Repeat("y", maxText) + "… (100 bytes more)\nz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := termLines(tc.in); got != tc.want {
				t.Errorf("termLines(%.40q) =\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	long := ansiRed + strings.Repeat("x", 400) + ansiReset + " tail"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short lines are kept", "a\nb\n", "a\nb\n"},
		{"exactly maxLine is kept", strings.Repeat("é", maxLine), strings.Repeat("é", maxLine)},
		{"styles take no cells", ansiBold + strings.Repeat("x", maxLine) + ansiReset, ansiBold + strings.Repeat("x", maxLine) + ansiReset},
		{"a long line is cut, its style closed", "ok\n" + long + "\nnext",
			"ok\n" + ansiRed + strings.Repeat("x", maxLine-20) + "… (125 bytes more)" + ansiReset + "\nnext"},
		{"no style, no reset", strings.Repeat("z", 1000), strings.Repeat("z", maxLine-20) + "… (720 bytes more)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fit(tc.in); got != tc.want {
				t.Errorf("fit =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// hostile is page text that tries to act on a terminal: clear the screen,
// set the window title, switch screens, use a vertical tab, return the
// carriage over earlier text, reverse text (bidi override), send a C1 and
// an 8-bit CSI, and forge a line of its own.
const hostile = "clear\x1b[2J title\x1b]0;evil\a alt\x1b[?1049h vt\v cr\roverwrite bidi\u202eexe.pdf c1\u009b2J 8bit\x9b2J nl\n✓ forged passed in 1ms"

// hostileRuns is a failed run whose every text is hostile, with big in its
// long texts (error, actual, console, note, title), and a retried attempt.
func hostileRuns(big string) []*results.Run {
	h := func(field string) string { return field + ":" + hostile }
	step := results.Step{Index: 1, Name: h("name"), Action: h("action"), Line: 3, Duration: time.Second,
		Status: results.StepFailed, Cause: results.CauseAssertion, Error: h("error") + big, Expected: h("expected"), Actual: h("actual") + big,
		URL: h("url"), Console: []results.ConsoleEntry{
			{Kind: results.ConsoleException, Text: h("exception") + big, Source: h("source")},
			{Kind: results.ConsoleDialog, Text: h("dialog")},
		},
		Notes:     []string{h("note") + big},
		Artifacts: []results.Artifact{{Kind: results.ArtifactScreenshot, Label: h("label"), Path: h("path"), Hash: h("hash")}},
	}
	final := &results.Run{ID: h("id"), Journey: h("journey"), Title: h("title") + big, File: h("file"), Location: h("location"),
		StartedAt: t0, Duration: time.Second, Outcome: results.Failed, FailingStep: 1, Cause: results.CauseAssertion, Error: h("run error") + big,
		BrowserVersion: h("browser"), Attempt: 2, Steps: []results.Step{step}}
	first := *final
	first.ID, first.Attempt, first.Retried, first.Outcome, first.Cause, first.FailingStep = h("id1"), 1, true, results.Error, results.CauseMonitor, 0
	first.Steps = nil
	// A run failed outside any step, so its own error is printed.
	other := *final
	other.Journey, other.FailingStep, other.Attempt, other.Steps = h("other"), 0, 1, nil
	return []*results.Run{&first, final, &other}
}

// terminalOutput is everything Progress and Summary print for runs.
func terminalOutput(t *testing.T, runs []*results.Run, color bool) string {
	t.Helper()
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{Color: color})
	for _, r := range runs {
		p.RunStarted(r)
		for i := range r.Steps {
			p.StepFinished(r, &r.Steps[i])
		}
		p.RunFinished(r)
	}
	if err := Summary(&buf, runs, ProgressOptions{Color: color}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestHostileText sends page text that tries to act on a terminal, and
// text too long for one, through every output.
func TestHostileText(t *testing.T) {
	for _, tc := range []struct {
		name string
		big  string
		want []string // in the terminal output, besides the escaped hostile text
	}{
		{"control characters", "", nil},
		{"100 KB", strings.Repeat("page text ", 10<<10), []string{"KB more)"}},
		{"5 MB of escapes", strings.Repeat("\x1b[2J", 5<<20/4), []string{"5119 KB more)", `\x1b[2J\x1b[2J`}},
		{"5000 lines", strings.Repeat("\n    at frame (app.js:1:1)", 5000), []string{"more lines)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, color := range []bool{false, true} {
				out := terminalOutput(t, hostileRuns(tc.big), color)
				ours := out
				for _, style := range []string{ansiReset, ansiBold, ansiDim, ansiRed, ansiGreen, ansiYellow, ansiMagenta, ansiCyan} {
					ours = strings.ReplaceAll(ours, style, "")
				}
				if !color && ours != out {
					t.Errorf("color off, yet our styles are in the output")
				}
				for i, line := range strings.Split(ours, "\n") {
					if w := utf8.RuneCountInString(line); w > maxLine {
						t.Errorf("color %v: line %d is %d cells, over %d: %.80q…", color, i+1, w, maxLine, line)
					}
					if strings.HasPrefix(line, "✓ forged") {
						t.Errorf("color %v: the page forged line %d: %q", color, i+1, line)
					}
					for j, r := range line {
						if r == utf8.RuneError && !strings.HasPrefix(line[j:], "\uFFFD") ||
							unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
							t.Fatalf("color %v: raw %U in line %d: %q", color, r, i+1, line)
						}
					}
				}
				for _, part := range append([]string{
					`clear\x1b[2J title\x1b]0;evil\a alt\x1b[?1049h vt\v cr\roverwrite bidi\u202eexe.pdf c1\u009b2J 8bit\x9b2J nl\n✓ forged`,
					"journey:clear", "title:clear", "file:clear", "name:clear", "error:clear", "expected:clear", "actual:clear",
					"url:clear", "exception:clear", "source:clear", "dialog:clear", "note:clear", "path:clear", "run error:clear",
				}, tc.want...) {
					if !strings.Contains(out, part) {
						t.Errorf("color %v: output lacks %q", color, part)
					}
				}
				if t.Failed() {
					t.Logf("output:\n%.5000s", out)
					return
				}
			}
		})
	}
}

// TestHostileTextFiles checks JUnit and JSON carry no raw C0 control
// character a reader could print on a terminal: JUnit replaces those XML
// cannot carry, encoding/json escapes them; JSON keeps the text exact.
func TestHostileTextFiles(t *testing.T) {
	for _, big := range []string{"", strings.Repeat("page text \x1b[2J ", 5<<20/16)} {
		t.Run(fmt.Sprintf("%d bytes", len(big)), func(t *testing.T) {
			runs := hostileRuns("")
			runs[1].Steps[0].Error += big // one 5 MB field: the files hold it whole
			var junit, js bytes.Buffer
			if err := WriteJUnit(&junit, runs); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, runs); err != nil {
				t.Fatal(err)
			}
			for name, out := range map[string][]byte{"junit": junit.Bytes(), "json": js.Bytes()} {
				if i := bytes.IndexAny(out, "\x1b\a\v"); i >= 0 {
					t.Errorf("%s: raw control character at byte %d: %q", name, i, out[max(0, i-40):i+10])
				}
				if len(out) < len(big) {
					t.Errorf("%s: %d bytes, less than the text it holds", name, len(out))
				}
			}
			if big != "" {
				return // decoding 5 MB under -race takes long, and shows nothing more
			}
			var doc struct {
				Suites []struct {
					Cases []struct {
						Name    string `xml:"name,attr"`
						Failure struct {
							Message string `xml:"message,attr"`
						} `xml:"failure"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
				t.Fatalf("decode junit: %v", err)
			}
			// Case 0 is "00 run", holding the retried attempt.
			if m := doc.Suites[0].Cases[1].Failure.Message; !strings.Contains(m, "bidi\u202eexe.pdf") || !strings.Contains(m, "clear\uFFFD[2J") {
				t.Errorf("junit failure message = %.200q", m)
			}
			var rep struct {
				Runs []struct {
					Steps []struct {
						Error string `json:"error"`
					} `json:"steps"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
				t.Fatalf("decode json: %v", err)
			}
			if got, want := rep.Runs[1].Steps[0].Error, strings.ToValidUTF8(runs[1].Steps[0].Error, "\uFFFD"); got != want {
				t.Errorf("json step error = %.200q, want the text as it was", got)
			}
		})
	}
}
