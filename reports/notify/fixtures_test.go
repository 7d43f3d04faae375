package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// update rewrites the golden files under testdata/ with what the code
// produces now: go test ./reports/notify/ -update, then review the diff.
var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// at is the fixed time of the fixtures' events.
func at() time.Time { return time.Date(2026, 3, 2, 10, 2, 7, 0, time.UTC) }

// openedEvent is the fixture most tests send: a critical incident opened
// by a checkout whose payment step answered 500.
func openedEvent() Event {
	t := at()
	return Event{
		ID:   "evt-0193a1b2",
		Kind: KindOpened,
		At:   t,
		Incident: Incident{Ref: "WM-12", Kind: IncidentSite, Severity: results.SeverityCritical, State: StateOpen,
			OpenedAt: t, FirstFailureAt: t.Add(-90 * time.Second), Failures: 2, Level: 1},
		Journey: Journey{Name: "guest-checkout", Title: "Guest checkout", Customer: "acme", Owner: "web-team",
			Tags: []string{"shop", "checkout"}, Location: "eu-west"},
		Run: &Run{ID: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", Outcome: results.Failed,
			Duration: 12430 * time.Millisecond, Threshold: 20 * time.Second,
			Step: Step{Number: 7, Name: "Pay", Cause: results.CauseHTTP,
				Error:    "POST https://shop.example.com/pay answered 500 Internal Server Error",
				Expected: "a status below 400", Actual: "500",
				URL: "https://shop.example.com/checkout/pay?cart=42&step=pay"}},
		Links: Links{Incident: "https://waymark.example.com/incidents/WM-12",
			Run:        "https://waymark.example.com/runs/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
			Screenshot: "https://waymark.example.com/runs/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/steps/7/screenshot"},
	}
}

// acknowledgedEvent is the same incident acknowledged by a person with a
// note, once the desk's ticket id is known.
func acknowledgedEvent() Event {
	e := openedEvent()
	e.ID, e.Kind, e.At = "evt-0193a1c0", KindAcknowledged, at().Add(4*time.Minute)
	e.Incident.State, e.Incident.AcknowledgedAt, e.Incident.TicketID = StateAcknowledged, e.At, "DESK-4411"
	e.By, e.Note = "ada", "Looking at the payment provider.\nRolled back 4.2 <@U123> & co."
	return e
}

// resolvedEvent is the same incident resolved by a passing run.
func resolvedEvent() Event {
	e := openedEvent()
	e.ID, e.Kind, e.At = "evt-0193a1d4", KindResolved, at().Add(12*time.Minute)
	e.Incident.State, e.Incident.AcknowledgedAt, e.Incident.ResolvedAt = StateResolved, at().Add(4*time.Minute), e.At
	e.Incident.TicketID, e.Incident.Failures = "DESK-4411", 5
	e.Run = &Run{ID: "0193a1d4-0000-7000-8000-000000000001", Outcome: results.Passed, Duration: 8100 * time.Millisecond, Threshold: 20 * time.Second}
	e.Links.Run = "https://waymark.example.com/runs/0193a1d4-0000-7000-8000-000000000001"
	e.Links.Screenshot = ""
	return e
}

// hostileEvent carries page text that tries everything: a Slack mention
// and link, HTML, a code fence, terminal escapes, a bidi override, line
// breaks and invalid UTF-8.
func hostileEvent() Event {
	e := openedEvent()
	e.Journey.Title = "Checkout <b>now</b>\r\nBcc: evil@example.com"
	e.Run.Step.Name = "Pay <!channel> & \x1b[2Jclear"
	e.Run.Step.Error = "```\n<https://evil.example.com|click me> \x1b]0;pwned\x07 \u202eevil\u202c & \"quotes\"\n\xff\xfe"
	e.Run.Step.Actual = "<script>alert(1)</script>"
	e.Links = Links{}
	return e
}

// monitorDownEvent is a monitor-health incident: the browser keeps
// crashing, the site is not to blame.
func monitorDownEvent() Event {
	t := at()
	return Event{
		ID: "evt-0193a2", Kind: KindMonitorDown, At: t,
		Incident: Incident{Ref: "WM-13", Kind: IncidentMonitor, Severity: results.SeverityCritical, State: StateOpen,
			OpenedAt: t, FirstFailureAt: t.Add(-3 * time.Minute), Failures: 3},
		Journey: Journey{Name: "search", Title: "Search", Location: "us-east"},
		Run: &Run{ID: "0193a2", Outcome: results.Error,
			Step: Step{Number: 1, Name: "Home page", Cause: results.CauseMonitor, Error: "browser: tab crashed"}},
	}
}

// degradedEvent is a warning opened by a slow site, decided by the run's
// own threshold rather than a step.
func degradedEvent() Event {
	t := at()
	return Event{
		Kind: KindOpened, At: t,
		Incident: Incident{Ref: "WM-14", Kind: IncidentSite, Severity: results.SeverityWarning, State: StateOpen,
			OpenedAt: t, FirstFailureAt: t.Add(-10 * time.Minute), Failures: 3},
		Journey: Journey{Name: "browse", Location: "eu-west"},
		Run: &Run{ID: "0193a3", Outcome: results.Degraded, Duration: 9200 * time.Millisecond, Threshold: 8 * time.Second,
			Step: Step{Cause: results.CauseNone, Error: "run took 9.2s, over the warn threshold of 8s"}},
	}
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update, then review the diff):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// goldenJSON compares a JSON document with a golden file, indented.
func goldenJSON(t *testing.T, name string, got []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", name, err, got)
	}
	b.WriteByte('\n')
	golden(t, name, b.Bytes())
}

// jpegBytes is a small real JPEG, as the runner stores screenshots.
func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// crlf makes a MIME part's line endings Unix ones, to compare with goldens.
func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
