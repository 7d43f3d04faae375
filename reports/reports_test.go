package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

func TestProgressGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		color bool
	}{{"progress.golden", false}, {"progress_color.golden", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewProgress(&buf, ProgressOptions{Color: tc.color})
			for _, r := range fixtureRuns() {
				p.RunStarted(r)
				for i := range r.Steps {
					p.StepFinished(r, &r.Steps[i])
				}
				p.RunFinished(r)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}

// TestProgressInterleaved checks that lines of runs in parallel carry
// their journey name once a second run is in flight.
func TestProgressInterleaved(t *testing.T) {
	runs := fixtureRuns()
	a, b := runs[2], runs[0]
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{})
	p.RunStarted(a)
	p.StepFinished(a, &a.Steps[0])
	p.RunStarted(b)
	p.StepFinished(b, &b.Steps[0])
	p.StepFinished(a, &a.Steps[1])
	p.StepFinished(b, &b.Steps[1])
	p.StepFinished(b, &b.Steps[2])
	p.RunFinished(b)
	p.StepFinished(a, &a.Steps[2])
	p.StepFinished(a, &a.Steps[3])
	p.RunFinished(a)
	golden(t, "progress_parallel.golden", buf.Bytes())
}

func TestSummaryGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		color bool
		runs  []*results.Run
	}{
		{"summary.golden", false, fixtureRuns()},
		{"summary_color.golden", true, fixtureRuns()},
		{"summary_passed.golden", false, fixtureRuns()[:1]},
		{"summary_empty.golden", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Summary(&buf, tc.runs, ProgressOptions{Color: tc.color}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, fixtureRuns()); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", buf.Bytes())

	// Decode with shapes of our own, as a CI parser would.
	type message struct {
		Message    string `xml:"message,attr"`
		Type       string `xml:"type,attr"`
		Body       string `xml:",chardata"`
		StackTrace string `xml:"stackTrace"`
	}
	var doc struct {
		XMLName  xml.Name
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				ClassName string   `xml:"classname,attr"`
				Name      string   `xml:"name,attr"`
				Failure   *message `xml:"failure"`
				Error     *message `xml:"error"`
				Skipped   *message `xml:"skipped"`
				Flaky     *message `xml:"flakyError"`
				Rerun     *message `xml:"rerunError"`
				SystemOut string   `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("decode junit: %v", err)
	}
	if doc.XMLName.Local != "testsuites" {
		t.Fatalf("root = %q, want testsuites", doc.XMLName.Local)
	}
	// One suite per journey, for its final attempt: login and account ran
	// twice, and count once.
	want := map[string][4]int{ // tests, failures, errors, skipped
		"home":           {3, 0, 0, 0},
		"search":         {2, 0, 0, 0},
		"guest-checkout": {5, 1, 0, 1},
		"login":          {2, 0, 1, 1},
		"nightly-export": {1, 0, 1, 0},
		"account":        {2, 0, 0, 0},
		"card-payment":   {3, 0, 0, 2},
	}
	if len(doc.Suites) != len(want) {
		t.Fatalf("got %d suites, want %d", len(doc.Suites), len(want))
	}
	var total [4]int
	props := map[string]map[string]string{}
	for _, s := range doc.Suites {
		var got [4]int
		for _, c := range s.Cases {
			got[0]++
			if c.ClassName != s.Name {
				t.Errorf("%s: case %q classname %q", s.Name, c.Name, c.ClassName)
			}
			for i, m := range []*message{c.Failure, c.Error, c.Skipped} {
				if m != nil {
					got[i+1]++
				}
			}
		}
		if got != want[s.Name] || [4]int{s.Tests, s.Failures, s.Errors, s.Skipped} != got {
			t.Errorf("%s: cases count %v, attributes %v, want %v", s.Name, got, [4]int{s.Tests, s.Failures, s.Errors, s.Skipped}, want[s.Name])
		}
		props[s.Name] = map[string]string{}
		for _, p := range s.Props {
			props[s.Name][p.Name] = p.Value
		}
		if p := props[s.Name]; p["outcome"] == "" || p["run_id"] == "" || p["browser_version"] == "" {
			t.Errorf("%s: properties %v lack outcome, run_id or browser_version", s.Name, p)
		}
		for i := range total {
			total[i] += got[i]
		}
	}
	if [4]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped} != total {
		t.Errorf("testsuites counts %v, want %v", [4]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped}, total)
	}
	f := doc.Suites[2].Cases[2]
	if f.Name != "03 assert text [data-test=cart-badge]" || f.Failure == nil || f.Failure.Type != "assertion" ||
		f.Failure.Message != `assertion: expected "2", got "1"` {
		t.Fatalf("failed step case = %+v", f)
	}
	for _, part := range []string{"examples/journeys/guest-checkout.yaml:12", `Expected: "2"`, `Actual: "1"`, "URL: http://127.0.0.1:8080/cart", "03-assert-text-data-test-cart-badge-failure.jpg"} {
		if !bytes.Contains([]byte(f.Failure.Body), []byte(part)) {
			t.Errorf("failure body lacks %q:\n%s", part, f.Failure.Body)
		}
	}
	for _, part := range []string{"Console exception from http://127.0.0.1:8080/static/cart.js:41: TypeError: cart.items is undefined",
		`Console dialog: alert "Session expired" (accepted)`, "… and 1 more exception or dialog", "Note: the cart badge"} {
		if !strings.Contains(f.Failure.Body, part) {
			t.Errorf("failure body lacks %q:\n%s", part, f.Failure.Body)
		}
	}
	if strings.Contains(f.Failure.Body, "deprecated") || strings.Contains(f.Failure.Body, "Failed to load resource") {
		t.Errorf("failure body shows console warnings or errors:\n%s", f.Failure.Body)
	}
	if out := doc.Suites[1].Cases[0].SystemOut; !bytes.Contains([]byte(out), []byte("degraded")) {
		t.Errorf("degraded step system-out = %q", out)
	}

	// The retried attempts are reruns in the final attempt's cases.
	login, account, card := doc.Suites[3], doc.Suites[5], doc.Suites[6]
	if r := login.Cases[0].Rerun; r == nil || r.Type != "monitor" || !strings.Contains(r.StackTrace, "01JPD4Z8AZ1111111111111111") ||
		!strings.HasPrefix(r.Message, "attempt 1, retried: ") || login.Cases[0].Flaky != nil {
		t.Errorf("login step 1, an error on both attempts: rerunError = %+v, flakyError = %+v", r, login.Cases[0].Flaky)
	}
	if f := account.Cases[1].Flaky; f == nil || !strings.Contains(f.StackTrace, "target closed") || account.Cases[1].Rerun != nil {
		t.Errorf("account step 2, passed on attempt 2: flakyError = %+v, rerunError = %+v", f, account.Cases[1].Rerun)
	}
	for _, name := range []string{"login", "account"} {
		if got := props[name]["retried_attempts"]; got != "1" {
			t.Errorf("%s: retried_attempts = %q, want 1", name, got)
		}
	}
	if got := props["home"]["retried_attempts"]; got != "" {
		t.Errorf("home: retried_attempts = %q, want none", got)
	}
	// An interrupt is neither a failure nor an error.
	if props["card-payment"]["outcome"] != "aborted" {
		t.Errorf("card-payment: outcome property = %q, want aborted", props["card-payment"]["outcome"])
	}
	if sk := card.Cases[1].Skipped; sk == nil || !strings.HasPrefix(sk.Message, "interrupted: context canceled") || !strings.Contains(sk.Body, "Note: no screenshot") {
		t.Errorf("aborted step: skipped = %+v", sk)
	}
}

// TestJUnitReruns checks where a retried attempt goes in the final
// attempt's suite, and that it never changes the suite's counts.
func TestJUnitReruns(t *testing.T) {
	ms := time.Millisecond
	step := func(i int, st results.Status) results.Step {
		s := results.Step{Index: i, Name: fmt.Sprintf("step %d", i), Status: st, Duration: 10 * ms}
		if st == results.StepError {
			s.Cause, s.Error = results.CauseMonitor, "target closed"
		}
		return s
	}
	run := func(attempt int, o results.Outcome, failing int, steps ...results.Step) *results.Run {
		r := &results.Run{ID: fmt.Sprintf("run-%d", attempt), Journey: "j", Attempt: attempt, Outcome: o, FailingStep: failing, Steps: steps}
		if o == results.Error {
			r.Cause, r.Error, r.Retried = results.CauseMonitor, "browser crashed", attempt == 1
		}
		return r
	}
	for _, tc := range []struct {
		name          string
		first, second *results.Run
		wantCase      string
		wantElem      string // flakyError or rerunError
		wantCounts    [3]int // tests, errors, skipped
	}{
		{"error in a step, then a pass",
			run(1, results.Error, 2, step(1, results.StepPassed), step(2, results.StepError)),
			run(2, results.Passed, 0, step(1, results.StepPassed), step(2, results.StepPassed)),
			"02 step 2", "flakyError", [3]int{2, 0, 0}},
		{"error in a step, twice",
			run(1, results.Error, 1, step(1, results.StepError), step(2, results.StepSkipped)),
			run(2, results.Error, 1, step(1, results.StepError), step(2, results.StepSkipped)),
			"01 step 1", "rerunError", [3]int{2, 1, 1}},
		{"error before any step, then a pass",
			run(1, results.Error, 0),
			run(2, results.Passed, 0, step(1, results.StepPassed)),
			"00 run", "flakyError", [3]int{2, 0, 0}},
		{"error before any step, twice",
			run(1, results.Error, 0),
			run(2, results.Error, 0),
			"00 run", "rerunError", [3]int{1, 1, 0}},
		{"error in a step, then an interrupt in it",
			run(1, results.Error, 1, step(1, results.StepError)),
			run(2, results.Aborted, 1, step(1, results.StepAborted)),
			"01 step 1", "rerunError", [3]int{1, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, []*results.Run{tc.first, tc.second}); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Suites []struct {
					Tests   int `xml:"tests,attr"`
					Errors  int `xml:"errors,attr"`
					Skipped int `xml:"skipped,attr"`
					Cases   []struct {
						Name   string `xml:"name,attr"`
						Reruns []struct {
							XMLName    xml.Name
							Type       string `xml:"type,attr"`
							StackTrace string `xml:"stackTrace"`
						} `xml:",any"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("decode junit: %v\n%s", err, buf.Bytes())
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("%d suites, want 1:\n%s", len(doc.Suites), buf.Bytes())
			}
			s := doc.Suites[0]
			if got := [3]int{s.Tests, s.Errors, s.Skipped}; got != tc.wantCounts || len(s.Cases) != s.Tests {
				t.Errorf("tests, errors, skipped = %v (%d cases), want %v", got, len(s.Cases), tc.wantCounts)
			}
			var where []string
			for _, c := range s.Cases {
				for _, e := range c.Reruns {
					if e.XMLName.Local == "flakyError" || e.XMLName.Local == "rerunError" {
						where = append(where, c.Name+" "+e.XMLName.Local)
						if e.Type != "monitor" || !strings.Contains(e.StackTrace, "run-1") {
							t.Errorf("%s = %+v, want type monitor and the run ID", e.XMLName.Local, e)
						}
					}
				}
			}
			if want := []string{tc.wantCase + " " + tc.wantElem}; !slices.Equal(where, want) {
				t.Errorf("reruns at %q, want %q:\n%s", where, want, buf.Bytes())
			}
		})
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureRuns()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.json", buf.Bytes())
	var doc struct {
		Runs []struct {
			Journey    string `json:"journey"`
			DurationMS int64  `json:"duration_ms"`
			SetupMS    int64  `json:"setup_ms"`
			Attempt    int    `json:"attempt"`
			Retried    bool   `json:"retried"`
			Steps      []struct {
				Console   []map[string]any `json:"console"`
				Notes     []string         `json:"notes"`
				Artifacts []map[string]any `json:"artifacts"`
			} `json:"steps"`
		} `json:"runs"`
		Summary map[string]any `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("decode json: %v", err)
	}
	// Every attempt is a run; the summary counts journeys by their final
	// attempt.
	if len(doc.Runs) != 9 || doc.Runs[2].DurationMS != 10600 || doc.Runs[2].SetupMS != 180 {
		t.Fatalf("runs = %+v", doc.Runs)
	}
	var attempts []string
	for _, r := range doc.Runs {
		if r.Journey == "login" || r.Journey == "account" {
			attempts = append(attempts, fmt.Sprintf("%s %d %v", r.Journey, r.Attempt, r.Retried))
		}
	}
	if want := []string{"login 1 true", "login 2 false", "account 1 true", "account 2 false"}; !slices.Equal(attempts, want) {
		t.Errorf("attempts = %q, want %q", attempts, want)
	}
	a := doc.Runs[2].Steps[2].Artifacts[0]
	if _, ok := a["data"]; ok || a["hash"] != "5b1e0c" || a["path"] == "" {
		t.Errorf("artifact = %v, want path and hash, no data", a)
	}
	if st := doc.Runs[2].Steps[2]; len(st.Console) != 6 || st.Console[1]["kind"] != "exception" || st.Console[1]["at_ms"] != 470.0 || len(st.Notes) != 1 {
		t.Errorf("console = %v, notes = %v", st.Console, st.Notes)
	}
	want := map[string]any{"total": 7.0, "passed": 2.0, "degraded": 1.0, "failed": 1.0, "error": 2.0, "aborted": 1.0,
		"retried_attempts": 2.0, "duration_ms": 11600.0, "exit_code": 1.0}
	if !maps.Equal(doc.Summary, want) {
		t.Errorf("summary = %v\nwant      %v", doc.Summary, want)
	}
}

func TestExitCode(t *testing.T) {
	// run is "outcome" or "outcome/retried" for journey j's next attempt.
	runs := func(specs ...string) []*results.Run {
		var rs []*results.Run
		attempt := map[string]int{}
		for _, spec := range specs {
			journey, rest, _ := strings.Cut(spec, ":")
			o, retried := strings.CutSuffix(rest, "/retried")
			attempt[journey]++
			rs = append(rs, &results.Run{Journey: journey, Attempt: attempt[journey], Outcome: results.Outcome(o), Retried: retried})
		}
		return rs
	}
	for _, tc := range []struct {
		name string
		runs []*results.Run
		want int
	}{
		{"none", nil, ExitOK},
		{"passed", runs("a:passed", "b:passed"), ExitOK},
		{"degraded passes", runs("a:passed", "b:degraded"), ExitOK},
		{"failed", runs("a:passed", "b:failed"), ExitFailed},
		{"error alone is not a site failure", runs("a:passed", "b:error"), ExitBadInput},
		{"failure wins over error", runs("a:error", "b:failed", "c:degraded"), ExitFailed},
		{"unknown outcome", runs("a:passed", "b:"), ExitBadInput},
		{"aborted", runs("a:passed", "b:aborted"), ExitInterrupted},
		{"failure wins over aborted", runs("a:aborted", "b:failed"), ExitFailed},
		{"aborted wins over error", runs("a:error", "b:aborted", "c:error"), ExitInterrupted},
		{"a retried error passed is superseded", runs("a:error/retried", "a:passed"), ExitOK},
		{"a retried error errored again", runs("a:error/retried", "a:error"), ExitBadInput},
		{"a retried error then failed", runs("a:error/retried", "a:failed"), ExitFailed},
		{"a retried error then interrupted", runs("a:error/retried", "a:aborted", "b:passed"), ExitInterrupted},
		{"a retry of one journey does not supersede another", runs("a:error/retried", "b:passed"), ExitBadInput},
		{"the fixture", fixtureRuns(), ExitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.runs); got != tc.want {
				t.Errorf("ExitCode = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestTotals checks the totals line counts each journey once, by its
// final attempt.
func TestTotals(t *testing.T) {
	run := func(journey string, attempt int, o results.Outcome, retried bool) *results.Run {
		return &results.Run{Journey: journey, Attempt: attempt, Outcome: o, Retried: retried, StartedAt: t0, Duration: time.Second}
	}
	for _, tc := range []struct {
		name string
		runs []*results.Run
		want string
	}{
		{"none", nil, "no journeys ran"},
		{"one", []*results.Run{run("a", 1, results.Passed, false)}, "1 journey: 1 passed in 1.0s"},
		{"a retry that passed", []*results.Run{run("a", 1, results.Error, true), run("a", 2, results.Passed, false)},
			"1 journey: 1 passed in 1.0s; 1 attempt retried"},
		{"every outcome", []*results.Run{
			run("a", 1, results.Error, true), run("a", 2, results.Error, false), run("b", 1, results.Error, true), run("b", 2, results.Failed, false),
			run("c", 1, results.Aborted, false), run("d", 1, results.Degraded, false), run("e", 1, results.Error, false),
		}, "5 journeys: 1 degraded, 1 failed, 2 errors, 1 aborted in 1.0s; 2 attempts retried"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := totals(tc.runs); got != tc.want {
				t.Errorf("totals = %q\nwant     %q", got, tc.want)
			}
		})
	}
}

// TestJUnitOddText checks that control characters and a CDATA terminator
// in page text still give XML a parser reads back.
func TestJUnitOddText(t *testing.T) {
	r := fixtureRuns()[2]
	r.Steps[2].Error = "got \x1b[31mred\x1b[0m and ]]> and \x00 <b>&amp;"
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, []*results.Run{r}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Failure struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("decode junit: %v\n%s", err, buf.Bytes())
	}
	f := doc.Suites[0].Cases[2].Failure
	want := "got \uFFFD[31mred\uFFFD[0m and ]]> and \uFFFD <b>&amp;"
	if !strings.Contains(f.Body, want) || !strings.Contains(f.Message, want) {
		t.Errorf("failure = %+v, want it to contain %q", f, want)
	}
}
