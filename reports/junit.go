package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// JUnit XML shapes, in the element order the common schemas expect.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		ClassName string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Skipped   *junitMessage `xml:"skipped"`
		Error     *junitMessage `xml:"error"`
		Failure   *junitMessage `xml:"failure"`
		SystemOut *junitText    `xml:"system-out"`
	}
	junitMessage struct {
		Message string `xml:"message,attr,omitempty"`
		Type    string `xml:"type,attr,omitempty"`
		Body    string `xml:",cdata"`
	}
	junitText struct {
		Text string `xml:",cdata"`
	}
)

// WriteJUnit writes runs as JUnit XML for CI test reporters (GitLab,
// Jenkins, GitHub actions): a <testsuite> per run named after its journey
// and a <testcase> per step named "NN step name". A failed step gets a
// <failure> typed by its cause, a step where the monitor failed an <error>
// (it says nothing about the site), a skipped step <skipped/>. Degraded
// and optional failed steps pass with a <system-out> note, as the run
// itself passes. A run that failed or errored outside any step (run
// timeout, browser start) gets a "00 run" test case carrying it, so CI
// never shows a red suite without a red test. Timestamps are UTC without
// zone suffix, as the strict JUnit schema wants.
func WriteJUnit(w io.Writer, runs []*results.Run) error {
	doc := junitSuites{Name: "waymark"}
	for _, r := range runs {
		s := junitRun(r)
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	doc.Time = seconds(wallTime(runs))
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// junitRun turns one run into a test suite.
func junitRun(r *results.Run) junitSuite {
	s := junitSuite{
		Name: r.Journey,
		Time: seconds(r.Duration),
		Properties: []junitProperty{
			{"outcome", string(r.Outcome)},
			{"run_id", r.ID},
			{"browser_version", r.BrowserVersion},
		},
	}
	if !r.StartedAt.IsZero() {
		s.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for _, p := range []junitProperty{
		{"title", r.Title}, {"file", r.File}, {"trigger", string(r.Trigger)}, {"location", r.Location},
		{"cause", string(r.Cause)}, {"definition_hash", r.DefinitionHash},
	} {
		if p.Value != "" {
			s.Properties = append(s.Properties, p)
		}
	}
	if r.Attempt > 1 {
		s.Properties = append(s.Properties, junitProperty{"attempt", strconv.Itoa(r.Attempt)})
	}
	if (r.Outcome == results.Failed || r.Outcome == results.Error) && stepFor(r) == nil {
		msg := &junitMessage{Type: string(r.Cause), Message: joinNonEmpty(": ", string(r.Cause), r.Error), Body: xmlSafe(joinNonEmpty("\n", r.File, r.Error))}
		c := junitCase{ClassName: r.Journey, Name: "00 run", Time: seconds(r.Duration)}
		if r.Outcome == results.Error {
			c.Error = msg
		} else {
			c.Failure = msg
		}
		s.Cases = append(s.Cases, c)
	}
	for i := range r.Steps {
		s.Cases = append(s.Cases, junitStep(r, &r.Steps[i]))
	}
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	return s
}

// junitStep turns one step into a test case.
func junitStep(r *results.Run, st *results.Step) junitCase {
	c := junitCase{ClassName: r.Journey, Name: fmt.Sprintf("%02d %s", st.Index, st.Name), Time: seconds(st.Duration)}
	failed := st.Status == results.StepFailed || st.Status == results.StepError
	switch {
	case st.Status == results.StepSkipped:
		c.Skipped = &junitMessage{Message: "not run after an earlier failure"}
	case failed && st.Optional:
		c.SystemOut = &junitText{"optional step failed, the run goes on\n" + stepBody(r, st)}
	case st.Status == results.StepFailed:
		c.Failure = &junitMessage{Message: joinNonEmpty(": ", string(st.Cause), st.Error), Type: string(st.Cause), Body: stepBody(r, st)}
	case st.Status == results.StepError:
		c.Error = &junitMessage{Message: joinNonEmpty(": ", string(st.Cause), st.Error), Type: string(st.Cause), Body: stepBody(r, st)}
	case st.Status == results.StepDegraded:
		c.SystemOut = &junitText{"degraded: over its warn threshold\n" + stepBody(r, st)}
	}
	return c
}

// stepBody is the text a CI page shows for a step: where, what, and the
// files to look at.
func stepBody(r *results.Run, s *results.Step) string {
	lines := []string{location(r, s), s.Error}
	if s.Expected != "" || s.Actual != "" {
		lines = append(lines, "Expected: "+s.Expected, "Actual: "+s.Actual)
	}
	if s.URL != "" {
		lines = append(lines, "URL: "+s.URL)
	}
	for _, a := range s.Artifacts {
		if a.Path != "" {
			lines = append(lines, fmt.Sprintf("%s: %s", a.Kind, a.Path))
		}
	}
	return xmlSafe(joinNonEmpty("\n", lines...))
}

// xmlSafe replaces the characters XML cannot carry (terminal escapes and
// other control characters in page text) with U+FFFD; encoding/xml does
// this for attributes but not for CDATA.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// seconds formats d as JUnit wants it: seconds with millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
