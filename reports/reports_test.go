package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

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
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
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
	want := map[string][4]int{ // tests, failures, errors, skipped
		"home":           {3, 0, 0, 0},
		"search":         {2, 0, 0, 0},
		"guest-checkout": {5, 1, 0, 1},
		"login":          {2, 0, 1, 1},
		"nightly-export": {1, 0, 1, 0},
	}
	if len(doc.Suites) != len(want) {
		t.Fatalf("got %d suites, want %d", len(doc.Suites), len(want))
	}
	var total [4]int
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
		props := map[string]string{}
		for _, p := range s.Props {
			props[p.Name] = p.Value
		}
		if props["outcome"] == "" || props["run_id"] == "" || props["browser_version"] == "" {
			t.Errorf("%s: properties %v lack outcome, run_id or browser_version", s.Name, props)
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
	if out := doc.Suites[1].Cases[0].SystemOut; !bytes.Contains([]byte(out), []byte("degraded")) {
		t.Errorf("degraded step system-out = %q", out)
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
			Steps      []struct {
				Artifacts []map[string]any `json:"artifacts"`
			} `json:"steps"`
		} `json:"runs"`
		Summary map[string]any `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("decode json: %v", err)
	}
	if len(doc.Runs) != 5 || doc.Runs[2].DurationMS != 10600 {
		t.Fatalf("runs = %+v", doc.Runs)
	}
	a := doc.Runs[2].Steps[2].Artifacts[0]
	if _, ok := a["data"]; ok || a["hash"] != "5b1e0c" || a["path"] == "" {
		t.Errorf("artifact = %v, want path and hash, no data", a)
	}
	if doc.Summary["failed"] != 1.0 || doc.Summary["error"] != 2.0 || doc.Summary["exit_code"] != 1.0 {
		t.Errorf("summary = %v", doc.Summary)
	}
}

func TestExitCode(t *testing.T) {
	runs := func(os ...results.Outcome) []*results.Run {
		var rs []*results.Run
		for _, o := range os {
			rs = append(rs, &results.Run{Outcome: o})
		}
		return rs
	}
	for _, tc := range []struct {
		name string
		runs []*results.Run
		want int
	}{
		{"none", nil, 0},
		{"passed", runs(results.Passed, results.Passed), 0},
		{"degraded passes", runs(results.Passed, results.Degraded), 0},
		{"failed", runs(results.Passed, results.Failed), 1},
		{"error alone is not a site failure", runs(results.Passed, results.Error), 2},
		{"failure wins over error", runs(results.Error, results.Failed, results.Degraded), 1},
		{"unknown outcome", runs(results.Passed, ""), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.runs); got != tc.want {
				t.Errorf("ExitCode = %d, want %d", got, tc.want)
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
