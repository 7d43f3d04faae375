package period

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/net/html"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// Text a monitored site (or a journey file) could put in a report.
const (
	hostileName  = `x"><img src=x onerror=alert(1)>`
	hostileTitle = `<script>alert("title")</script>`
	hostileError = `"><img src=x onerror=alert(2)><script>alert(3)</script>`
	hostileURL   = `javascript:alert(4)//"><svg onload=alert(5)>`
	hostileStep  = `<script>alert(6)</script>`
	hostileLabel = `<b onmouseover=alert(7)>patch</b>`
)

// openHostile stores runs, a maintenance mark and an incident whose every
// text is an attempt at markup.
func openHostile(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	j := &journeys.Journey{Name: hostileName, Title: hostileTitle, Customer: hostileTitle, Tags: []string{hostileStep}}
	for i, at := range []time.Time{day(2, 10, 0), day(2, 10, 30), day(3, 9, 0), day(9, 9, 0) /* after */} {
		st1 := results.Step{Index: 1, Name: hostileStep, Action: "goto", Duration: 300 * time.Millisecond, Status: results.StepFailed,
			Cause: results.CauseHTTP, Error: hostileError, URL: hostileURL,
			Artifacts: []results.Artifact{{Kind: results.ArtifactScreenshot, Data: []byte(hostileError)}}}
		r := &results.Run{ID: "h" + string(rune('0'+i)), Journey: hostileName, Title: hostileTitle, StartedAt: at, Attempt: 1,
			Steps: []results.Step{st1}}
		if i == 2 {
			r.Maintenance = hostileLabel
		}
		r.Duration = st1.Duration
		v := results.Decide(r.Steps, r.Duration, results.Limits{})
		r.Outcome, r.FailingStep, r.Cause, r.Error = v.Outcome, v.Step, v.Cause, v.Error
		if err := st.SaveRun(t.Context(), j, r); err != nil {
			t.Fatal(err)
		}
	}
	inc := &results.Incident{Journey: hostileName, Location: hostileStep, Kind: results.IncidentSite, Severity: results.SeverityCritical,
		State: results.IncidentAcknowledged, OpenedAt: day(2, 10, 30), AcknowledgedAt: day(2, 11, 0), AcknowledgedBy: hostileTitle,
		StepName: hostileStep, Step: 1, Cause: results.CauseHTTP, Error: hostileError, Route: -1}
	if err := st.Tx(t.Context(), func(tx *sqlx.Tx) error { return st.CreateIncidentTx(t.Context(), tx, inc) }); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHostileTextIsText: in the HTML report, no markup from the store
// becomes an element or an attribute: there is no script element, no
// event handler attribute, and the one picture is our own data: URI (the
// stored "screenshot" is not a picture, so there is none); the hostile
// strings show as text. In Markdown, no < is left unescaped.
func TestHostileTextIsText(t *testing.T) {
	t.Parallel()
	st := openHostile(t)
	o := periodOptions()
	o.Screenshots = true
	o.Windows = append(o.Windows, results.Maintenance{Name: hostileLabel, Match: results.MaintenanceMatch{Journey: hostileName},
		From: day(3, 8, 0), To: day(3, 10, 0)})
	r, err := Build(t.Context(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "iframe" || n.Data == "object" || n.Data == "embed" {
				t.Errorf("a <%s> element in the report", n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("<%s %s=%q>: an event handler in the report", n.Data, a.Key, a.Val)
				}
				if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "data:image/jpeg;base64,") {
					t.Errorf("<%s %s=%q>: a link that is not our own picture", n.Data, a.Key, a.Val)
				}
			}
			if n.Data == "img" {
				t.Errorf("an <img> for a screenshot that is not a picture")
			}
		}
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, s := range []string{hostileName, hostileTitle, hostileStep, hostileURL, hostileLabel, `<script>alert(3)</script>`} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the report's text lacks %q", s)
		}
	}

	var m bytes.Buffer
	if err := WriteMarkdown(&m, r); err != nil {
		t.Fatal(err)
	}
	if loc := regexp.MustCompile(`(^|[^\\])<`).FindStringIndex(m.String()); loc != nil {
		t.Errorf("an unescaped < in the Markdown report: %q", m.String()[max(loc[0]-40, 0):min(loc[1]+40, m.Len())])
	}
	if !strings.Contains(m.String(), `\<script\>alert(6)\</script\>`) {
		t.Errorf("the Markdown report lacks the step name, escaped:\n%s", m.String())
	}
}
