package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/results"
)

// TestPagerDutySequence sends an incident's life to a local Events API
// receiver: trigger, trigger again on escalation, acknowledge, a note
// that is skipped, resolve, each with the reference as dedup key.
func TestPagerDutySequence(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"WM-12"}`)
	})
	ch, err := NewPagerDuty(PagerDutySettings{RoutingKey: "R0UTINGKEY", URL: rc.URL + "/v2/enqueue"})
	if err != nil {
		t.Fatal(err)
	}
	escalated := openedEvent()
	escalated.Kind, escalated.Incident.Level = KindEscalated, 2
	note := acknowledgedEvent()
	note.Kind = KindNote
	steps := []struct {
		event   Event
		action  string // "" for skipped
		skipped bool
	}{
		{openedEvent(), "trigger", false},
		{escalated, "trigger", false},
		{acknowledgedEvent(), "acknowledge", false},
		{note, "", true},
		{resolvedEvent(), "resolve", false},
	}
	var wantActions []string
	for _, s := range steps {
		rcpt, err := ch.Deliver(context.Background(), s.event)
		if err != nil {
			t.Fatalf("Deliver %s: %v", s.event.Kind, err)
		}
		if rcpt.Skipped != s.skipped {
			t.Errorf("%s: Skipped = %v, want %v", s.event.Kind, rcpt.Skipped, s.skipped)
		}
		if !s.skipped && (rcpt.Status != http.StatusAccepted || !strings.Contains(rcpt.Body, "Event processed")) {
			t.Errorf("%s: receipt = %+v, want 202 and PagerDuty's answer", s.event.Kind, rcpt)
		}
		if s.action != "" {
			wantActions = append(wantActions, s.action)
		}
	}
	reqs := rc.requests()
	if len(reqs) != len(wantActions) {
		t.Fatalf("PagerDuty got %d events, want %d (%v)", len(reqs), len(wantActions), wantActions)
	}
	for i, req := range reqs {
		var ev PagerDutyEvent
		if err := json.Unmarshal(req.Body, &ev); err != nil {
			t.Fatal(err)
		}
		if req.Path != "/v2/enqueue" || ev.EventAction != wantActions[i] || ev.DedupKey != "WM-12" || ev.RoutingKey != "R0UTINGKEY" {
			t.Errorf("event %d: %s action %q dedup %q key %q, want /v2/enqueue %q WM-12 R0UTINGKEY",
				i, req.Path, ev.EventAction, ev.DedupKey, ev.RoutingKey, wantActions[i])
		}
		if (ev.Payload != nil) != (ev.EventAction == "trigger") {
			t.Errorf("event %d (%s): payload present = %v, want it only on triggers", i, ev.EventAction, ev.Payload != nil)
		}
	}
	goldenJSON(t, "pagerduty_trigger.json", reqs[0].Body)
	goldenJSON(t, "pagerduty_acknowledge.json", reqs[2].Body)
	goldenJSON(t, "pagerduty_resolve.json", reqs[3].Body)
}

// TestPagerDutyTestEvent: a test event proves the integration without
// leaving an alert open: an info trigger, then its resolve.
func TestPagerDutyTestEvent(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"WM-0"}`)
	})
	ch, err := NewPagerDuty(PagerDutySettings{RoutingKey: "k", URL: rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Deliver(context.Background(), TestEvent(at())); err != nil {
		t.Fatalf("Deliver test: %v", err)
	}
	var got []string
	for _, req := range rc.requests() {
		var ev PagerDutyEvent
		if err := json.Unmarshal(req.Body, &ev); err != nil {
			t.Fatal(err)
		}
		s := ev.EventAction + " " + ev.DedupKey
		if ev.Payload != nil {
			s += " " + ev.Payload.Severity
		}
		got = append(got, s)
	}
	if want := []string{"trigger WM-0 info", "resolve WM-0"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("PagerDuty got %q, want %q", got, want)
	}
}

// TestPagerDutyInvalidEvent: PagerDuty's 400 is final, with its reasons
// kept for the timeline.
func TestPagerDutyInvalidEvent(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid","errors":["'routing_key' is invalid"]}`)
	})
	ch, err := NewPagerDuty(PagerDutySettings{RoutingKey: "wrong", URL: rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Deliver(context.Background(), openedEvent())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Temporary || de.Status != 400 || !strings.Contains(de.Body, "'routing_key' is invalid") {
		t.Fatalf("Deliver = %v (%+v), want a final 400 with PagerDuty's reasons", err, de)
	}
	if !strings.Contains(err.Error(), "trigger WM-12") {
		t.Errorf("error %q does not say which action of which incident failed", err)
	}
}

// TestPagerDutyUnexpectedSuccess: a 2xx that is not the Events API's
// success did not reach PagerDuty; it is retried, with the answer kept.
func TestPagerDutyUnexpectedSuccess(t *testing.T) {
	for _, answer := range []string{`{}`, `{"status":"invalid event"}`, `{"ok": true}`, `ok`, ``} {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, answer) })
		ch, err := NewPagerDuty(PagerDutySettings{RoutingKey: "k", URL: rc.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Deliver(context.Background(), openedEvent())
		var de *DeliveryError
		if !errors.As(err, &de) || !de.Temporary || de.Status != 200 || de.Body != answer {
			t.Errorf("answer %q: Deliver = %v, want a temporary error keeping the answer", answer, err)
		}
	}
}

func TestPagerDutySeverity(t *testing.T) {
	warning := openedEvent()
	warning.Incident.Severity = results.SeverityWarning
	none := openedEvent()
	none.Incident.Severity = results.SeverityNone
	cases := []struct {
		name string
		e    Event
		want string
	}{
		{"critical site incident", openedEvent(), "critical"},
		{"warning site incident", warning, "warning"},
		{"monitor health", monitorDownEvent(), "error"},
		{"test", TestEvent(at()), "info"},
		{"no severity", none, "error"},
	}
	for _, tc := range cases {
		ev := PagerDutyEventOf(&tc.e, "trigger", "k")
		if ev.Payload == nil || ev.Payload.Severity != tc.want {
			t.Errorf("%s: severity = %+v, want %q", tc.name, ev.Payload, tc.want)
		}
	}
}

func TestNewPagerDutySettings(t *testing.T) {
	if _, err := NewPagerDuty(PagerDutySettings{}); err == nil || !strings.Contains(err.Error(), "routing_key") {
		t.Errorf("NewPagerDuty without a key = %v, want an error naming routing_key", err)
	}
	if _, err := NewPagerDuty(PagerDutySettings{RoutingKey: "k", URL: "events.eu.pagerduty.com"}); err == nil {
		t.Errorf("NewPagerDuty accepted a URL without a scheme")
	}
	p, err := NewPagerDuty(PagerDutySettings{RoutingKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if p.http.url != DefaultPagerDutyURL {
		t.Errorf("NewPagerDuty without a URL posts to %q, want %s", p.http.url, DefaultPagerDutyURL)
	}
}
