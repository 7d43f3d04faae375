package reports

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
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
	// junitCase holds at most one of Skipped, Error and Failure, so its
	// children come in the order of Surefire's schema.
	junitCase struct {
		ClassName  string        `xml:"classname,attr"`
		Name       string        `xml:"name,attr"`
		Time       string        `xml:"time,attr"`
		Skipped    *junitMessage `xml:"skipped"`
		Error      *junitMessage `xml:"error"`
		Failure    *junitMessage `xml:"failure"`
		RerunError []junitRerun  `xml:"rerunError"`
		FlakyError []junitRerun  `xml:"flakyError"`
		SystemOut  *junitText    `xml:"system-out"`
	}
	// junitRerun is an earlier attempt of a test case, in Maven
	// Surefire's rerun format: <flakyError> when the final attempt passed
	// the case, <rerunError> when it did not. CI reporters that know the
	// format (Jenkins, GitLab) show it; others ignore it, and no counter
	// includes it.
	junitRerun struct {
		Message    string    `xml:"message,attr,omitempty"`
		Type       string    `xml:"type,attr"`
		StackTrace junitText `xml:"stackTrace"`
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
// Jenkins, GitHub actions): a <testsuite> per journey, for its final
// attempt, named after the journey, and a <testcase> per step named "NN
// step name". A failed step gets a <failure> typed by its cause, a step
// where the monitor failed an <error> (it says nothing about the site), a
// skipped step <skipped/>, and a step cut short by an interrupt
// <skipped message="interrupted…"/>: an interrupt says nothing about the
// site nor the monitor. Degraded and optional failed steps pass with a
// <system-out> note, as the run itself passes. A run that failed, errored
// or was aborted outside any step (run timeout, browser start) gets a
// "00 run" test case carrying it, so CI never shows a red suite without a
// red test.
//
// An attempt that was retried is not a suite of its own, which would
// count its tests twice: it is a <flakyError> or <rerunError> (Maven
// Surefire's rerun format, see junitRerun) in the test case of the step
// where it errored, or in "00 run", and the suite's property
// retried_attempts counts them. Timestamps are UTC without zone suffix,
// as the strict JUnit schema wants.
func WriteJUnit(w io.Writer, runs []*results.Run) error {
	doc := junitSuites{Name: "waymark"}
	gone := superseded(runs)
	for i, r := range runs {
		if gone[i] {
			continue
		}
		var retried []*results.Run
		for j, o := range runs {
			if gone[j] && o.Journey == r.Journey {
				retried = append(retried, o)
			}
		}
		s := junitRun(r, retried)
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

// junitRun turns a journey's final attempt r into a test suite, with the
// attempts it superseded as reruns.
func junitRun(r *results.Run, retried []*results.Run) junitSuite {
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
	if len(retried) > 0 {
		s.Properties = append(s.Properties, junitProperty{"retried_attempts", strconv.Itoa(len(retried))})
	}
	if c, ok := runCase(r); ok {
		s.Cases = append(s.Cases, c)
	}
	for i := range r.Steps {
		s.Cases = append(s.Cases, junitStep(r, &r.Steps[i]))
	}
	for _, a := range retried {
		addRerun(&s, r, a)
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

// runCase is the "00 run" test case of a run that failed, errored or was
// aborted with no step to blame; ok is false for any other run.
func runCase(r *results.Run) (c junitCase, ok bool) {
	if r.DecidingStep() != nil {
		return c, false
	}
	c = junitCase{ClassName: r.Journey, Name: "00 run", Time: seconds(r.Duration)}
	msg := &junitMessage{Type: string(r.Cause), Message: joinNonEmpty(": ", string(r.Cause), r.Error), Body: xmlSafe(joinNonEmpty("\n", r.File, r.Error))}
	switch r.Outcome {
	case results.Failed:
		c.Failure = msg
	case results.Error:
		c.Error = msg
	case results.Aborted:
		c.Skipped = &junitMessage{Message: joinNonEmpty(": ", "interrupted", r.Error), Body: msg.Body}
	default:
		return c, false
	}
	return c, true
}

// addRerun adds the retried attempt a to the suite of the final attempt
// r: in the test case of the step that decided a, or else in "00 run",
// added (passing) when r has none. It is a flakyError when that case
// passed in r, a rerunError when it did not.
func addRerun(s *junitSuite, r, a *results.Run) {
	name := "00 run"
	body := joinNonEmpty("\n", a.File, a.Error)
	if st := a.DecidingStep(); st != nil {
		for i := range r.Steps {
			if r.Steps[i].Index == st.Index {
				name = fmt.Sprintf("%02d %s", st.Index, r.Steps[i].Name)
			}
		}
		body = stepBody(a, st)
	}
	i := slices.IndexFunc(s.Cases, func(c junitCase) bool { return c.Name == name })
	if i < 0 {
		// Time 0: the case stands for the run, whose steps have theirs.
		s.Cases = slices.Insert(s.Cases, 0, junitCase{ClassName: r.Journey, Name: "00 run", Time: seconds(0)})
		i = 0
	}
	c := &s.Cases[i]
	cause := string(a.Cause)
	rerun := junitRerun{
		Message:    joinNonEmpty(": ", fmt.Sprintf("attempt %d, retried", a.Attempt), cause, a.Error),
		Type:       cmp.Or(cause, string(a.Outcome)),
		StackTrace: junitText{xmlSafe(joinNonEmpty("\n", fmt.Sprintf("attempt %d, run %s, retried at once", a.Attempt, a.ID), body))},
	}
	if c.Failure == nil && c.Error == nil && c.Skipped == nil {
		c.FlakyError = append(c.FlakyError, rerun)
	} else {
		c.RerunError = append(c.RerunError, rerun)
	}
}

// junitStep turns one step into a test case.
func junitStep(r *results.Run, st *results.Step) junitCase {
	c := junitCase{ClassName: r.Journey, Name: fmt.Sprintf("%02d %s", st.Index, st.Name), Time: seconds(st.Duration)}
	failed := st.Status == results.StepFailed || st.Status == results.StepError
	switch {
	case st.Status == results.StepSkipped && r.Outcome == results.Aborted:
		c.Skipped = &junitMessage{Message: "not run: the run was interrupted"}
	case st.Status == results.StepSkipped:
		c.Skipped = &junitMessage{Message: "not run after an earlier failure"}
	case st.Status == results.StepAborted:
		c.Skipped = &junitMessage{Message: joinNonEmpty(": ", "interrupted", st.Error), Body: stepBody(r, st)}
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

// stepBody is the text a CI page shows for a step that did not pass:
// where, what, the page's exceptions and dialogs (for a failed or error
// step), the monitor's notes, and the files to look at.
func stepBody(r *results.Run, s *results.Step) string {
	lines := []string{location(r, s), s.Error}
	if s.Expected != "" || s.Actual != "" {
		lines = append(lines, "Expected: "+s.Expected, "Actual: "+s.Actual)
	}
	if s.URL != "" {
		lines = append(lines, "URL: "+s.URL)
	}
	shown, more := consoleShown(s)
	for _, c := range shown {
		lines = append(lines, joinNonEmpty(" from ", "Console "+string(c.Kind), c.Source)+": "+c.Text)
	}
	if more > 0 {
		lines = append(lines, moreConsole(more))
	}
	for _, n := range s.Notes {
		lines = append(lines, "Note: "+n)
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
