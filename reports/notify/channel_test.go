package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// Every channel is a Channel.
var (
	_ Channel = (*Webhook)(nil)
	_ Channel = (*Slack)(nil)
	_ Channel = (*Email)(nil)
	_ Channel = (*PagerDuty)(nil)
	_ Channel = (*Action)(nil)
	_ Channel = (*Terminal)(nil)
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Mon, 02 Mar 2026 10:00:30 GMT", 30 * time.Second},
		{"999999999999", MaxRetryAfter},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
	}
	for _, tc := range cases {
		if got := retryAfter(tc.header, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("é", MaxAnswer) // 2 bytes each: the cut falls inside one
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, ""},
		{"text", []byte(`{"status":"success"}`), `{"status":"success"}`},
		{"invalid UTF-8 and NUL", []byte("a\xffb\x00c"), `a\xffb\x00c`},
		{"cut at a character boundary", []byte(long), strings.Repeat("é", MaxAnswer/2)},
		{"cut after a KB", []byte(strings.Repeat("x", 5000)), strings.Repeat("x", MaxAnswer)},
	}
	for _, tc := range cases {
		if got := snippet(tc.in); got != tc.want {
			t.Errorf("%s: snippet = %q (%d bytes), want %q", tc.name, got, len(got), tc.want)
		}
	}
}

func TestDeliveryErrorMessage(t *testing.T) {
	cause := errors.New("POST https://hooks.example.com: answered 503 Service Unavailable")
	cases := []struct {
		err  *DeliveryError
		want string
	}{
		{&DeliveryError{Temporary: true, RetryAfter: 30 * time.Second, Status: 503, Body: "busy\ntry later", Err: cause},
			"POST https://hooks.example.com: answered 503 Service Unavailable (temporary, retry after 30s): answer: busy\\ntry later"},
		{&DeliveryError{Status: 404, Err: errors.New("POST https://x: answered 404 Not Found")},
			"POST https://x: answered 404 Not Found"},
		{&DeliveryError{Temporary: true}, "delivery failed (temporary)"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	wrapped := fmt.Errorf("deliver to desk: %w", cases[0].err)
	var de *DeliveryError
	if !errors.As(wrapped, &de) || de.Status != 503 || !errors.Is(wrapped, cause) {
		t.Errorf("errors.As/Is through a wrapped DeliveryError failed: %v", wrapped)
	}
}

func TestSummaryAndSubject(t *testing.T) {
	escalated := openedEvent()
	escalated.Kind = KindEscalated
	level := escalated
	level.Incident.Level = 2
	reminded := openedEvent()
	reminded.Kind = KindReminded
	note := acknowledgedEvent()
	note.Kind = KindNote
	byPerson := resolvedEvent()
	byPerson.By = "grace"
	noName := openedEvent()
	noName.Run.Step.Name = ""
	noTitle := openedEvent()
	noTitle.Journey.Title = ""
	cases := []struct {
		name string
		e    Event
		want string
		subj string
	}{
		{"opened", openedEvent(), "WM-12 opened: Guest checkout — Pay failed (http)", "[critical] WM-12 opened: Guest checkout — Pay failed (http)"},
		{"escalated to critical", escalated, "WM-12 escalated to critical: Guest checkout — Pay failed (http)", ""},
		{"escalated a level", level, "WM-12 escalated to level 2: Guest checkout — Pay failed (http)", ""},
		{"reminded", reminded, "WM-12 still open: Guest checkout — Pay failed (http)", ""},
		{"acknowledged", acknowledgedEvent(), "WM-12 acknowledged by ada: Guest checkout", ""},
		{"note", note, "WM-12 note by ada: Guest checkout", ""},
		{"resolved", resolvedEvent(), "WM-12 resolved: Guest checkout", "[critical] WM-12 resolved: Guest checkout"},
		{"resolved by a person", byPerson, "WM-12 resolved by grace: Guest checkout", ""},
		{"monitor down", monitorDownEvent(), "WM-13 monitor down: Search — Home page failed (monitor)", ""},
		{"degraded by the run's threshold", degradedEvent(), "WM-14 opened: browse — run slow", "[warning] WM-14 opened: browse — run slow"},
		{"a step without a name", noName, "WM-12 opened: Guest checkout — step 7 failed (http)", ""},
		{"a journey without a title", noTitle, "WM-12 opened: guest-checkout — Pay failed (http)", ""},
		{"test", TestEvent(at()), "WM-0 test message: Waymark test message — Test step failed (assertion)", ""},
		{"hostile text stays on one line", hostileEvent(),
			"WM-12 opened: Checkout <b>now</b> Bcc: evil@example.com — Pay <!channel> & [2Jclear failed (http)", ""},
	}
	for _, tc := range cases {
		if got := tc.e.Summary(); got != tc.want {
			t.Errorf("%s: Summary() = %q, want %q", tc.name, got, tc.want)
		}
		if tc.subj != "" {
			if got := tc.e.Subject(); got != tc.subj {
				t.Errorf("%s: Subject() = %q, want %q", tc.name, got, tc.subj)
			}
		}
	}
}

func TestRunFrom(t *testing.T) {
	failed := &results.Run{ID: "r1", Outcome: results.Failed, Duration: 3 * time.Second, FailingStep: 2,
		Cause: results.CauseAssertion, Error: `step 2 "Badge": expected "1", got "0"`,
		Steps: []results.Step{
			{Index: 1, Name: "Home", Status: results.StepPassed},
			{Index: 2, Name: "Badge", Status: results.StepFailed, Cause: results.CauseAssertion,
				Error: `expected "1", got "0"`, Expected: `"1"`, Actual: `"0"`, URL: "https://shop.example.com/"},
		}}
	slow := &results.Run{ID: "r2", Outcome: results.Failed, Duration: 25 * time.Second, Cause: results.CauseTimeout,
		Error: "run took 25s, over the fail threshold of 20s", Steps: []results.Step{{Index: 1, Name: "Home", Status: results.StepPassed}}}
	cases := []struct {
		name      string
		run       *results.Run
		threshold time.Duration
		want      Run
	}{
		{"a failing step", failed, 20 * time.Second, Run{ID: "r1", Outcome: results.Failed, Duration: 3 * time.Second, Threshold: 20 * time.Second,
			Step: Step{Number: 2, Name: "Badge", Cause: results.CauseAssertion, Error: `expected "1", got "0"`,
				Expected: `"1"`, Actual: `"0"`, URL: "https://shop.example.com/"}}},
		{"the run's own threshold", slow, 20 * time.Second, Run{ID: "r2", Outcome: results.Failed, Duration: 25 * time.Second, Threshold: 20 * time.Second,
			Step: Step{Cause: results.CauseTimeout, Error: "run took 25s, over the fail threshold of 20s"}}},
	}
	for _, tc := range cases {
		if got := RunFrom(tc.run, tc.threshold); *got != tc.want {
			t.Errorf("%s: RunFrom = %+v, want %+v", tc.name, *got, tc.want)
		}
	}
}

func TestTermEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"\x1b[2Jclear", `\x1b[2Jclear`},
		{"a\nb\tc\r", `a\nb\tc\r`},
		{"\u202eevil", `\u202eevil`},
		{"bad \xff byte", `bad \xff byte`},
		{"👩\u200d💻 joiner kept", "👩\u200d💻 joiner kept"},
	}
	for _, tc := range cases {
		if got := termEscape(tc.in, 100); got != tc.want {
			t.Errorf("termEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := termEscape(strings.Repeat("x", 500), 100); !strings.HasPrefix(got, strings.Repeat("x", 100)+"… (400 bytes more)") {
		t.Errorf("termEscape of 500 bytes = %q, want 100 bytes and a marker", got)
	}
}
