package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWebhookBodyAndSignature posts each kind of event to a real receiver
// that verifies the signature as a receiver would, and checks the bodies
// against the golden files that document the schema.
func TestWebhookBodyAndSignature(t *testing.T) {
	const secret = "s3cret"
	cases := []struct {
		golden string
		event  Event
	}{
		{"webhook_opened.json", openedEvent()},
		{"webhook_acknowledged.json", acknowledgedEvent()},
		{"webhook_resolved.json", resolvedEvent()},
		{"webhook_monitor_down.json", monitorDownEvent()},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
			ch, err := NewWebhook(WebhookSettings{URL: rc.URL + "/hooks/waymark", Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			rcpt, err := ch.Deliver(context.Background(), tc.event)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if rcpt.Status != http.StatusNoContent || rcpt.TicketID != "" {
				t.Errorf("receipt = %+v, want status 204 and no ticket", rcpt)
			}
			req := rc.only(t)
			if req.Method != http.MethodPost || req.Path != "/hooks/waymark" {
				t.Errorf("got %s %s, want POST /hooks/waymark", req.Method, req.Path)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if ev := req.Header.Get(HeaderEvent); ev != string(tc.event.Kind) {
				t.Errorf("%s = %q, want %q", HeaderEvent, ev, tc.event.Kind)
			}
			ts, sig := req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature)
			if err := Verify(secret, ts, sig, req.Body, time.Now(), time.Minute); err != nil {
				t.Errorf("Verify of the delivered request: %v", err)
			}
			if n, _ := strconv.ParseInt(ts, 10, 64); n < sent.Unix()-1 || n > time.Now().Unix()+1 {
				t.Errorf("timestamp %s is not the time of sending (%d)", ts, sent.Unix())
			}
			// Altered on the way: the body, then a replay an hour later.
			tampered := []byte(strings.Replace(string(req.Body), `"critical"`, `"warning"`, 1))
			if err := Verify(secret, ts, sig, tampered, time.Now(), time.Minute); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify of a tampered body = %v, want ErrSignature", err)
			}
			if err := Verify(secret, ts, sig, req.Body, time.Now().Add(time.Hour), 5*time.Minute); !errors.Is(err, ErrTimestamp) {
				t.Errorf("Verify an hour later = %v, want ErrTimestamp", err)
			}
			var p Payload
			if err := json.Unmarshal(req.Body, &p); err != nil {
				t.Fatalf("the body does not decode into Payload: %v", err)
			}
			if p.Version != PayloadVersion || p.Incident.Reference != tc.event.Incident.Ref || p.Event != tc.event.Kind {
				t.Errorf("decoded payload = %+v", p)
			}
			goldenJSON(t, tc.golden, req.Body)
		})
	}
}

func TestVerify(t *testing.T) {
	const secret = "s3cret"
	now := time.Unix(1_772_445_727, 0)
	body := []byte(`{"event":"opened"}`)
	ts, sig := Sign(secret, now, body)
	if want := "1772445727"; ts != want {
		t.Fatalf("Sign timestamp = %q, want %q", ts, want)
	}
	// Computed outside Go, so receivers in other languages can rely on it:
	// printf '%s' '1772445727.{"event":"opened"}' | openssl dgst -sha256 -hmac s3cret
	if want := "sha256=0cd8eef031db86ed388c17b24ad361633f1ab3bfa22236bf5daff83e8101b2d1"; sig != want {
		t.Fatalf("Sign signature = %q, want %q", sig, want)
	}
	cases := []struct {
		name      string
		secret    string
		timestamp string
		signature string
		body      []byte
		now       time.Time
		maxSkew   time.Duration
		want      error
	}{
		{"good", secret, ts, sig, body, now, time.Minute, nil},
		{"good at the edge of the window", secret, ts, sig, body, now.Add(time.Minute), time.Minute, nil},
		{"default window of 5 minutes", secret, ts, sig, body, now.Add(4 * time.Minute), 0, nil},
		{"tampered body", secret, ts, sig, []byte(`{"event":"resolved"}`), now, time.Minute, ErrSignature},
		{"tampered timestamp", secret, strconv.FormatInt(now.Unix()+30, 10), sig, body, now, time.Minute, ErrSignature},
		{"other secret", "other", ts, sig, body, now, time.Minute, ErrSignature},
		{"no sha256= prefix", secret, ts, strings.TrimPrefix(sig, "sha256="), body, now, time.Minute, ErrSignature},
		{"not hex", secret, ts, "sha256=zz", body, now, time.Minute, ErrSignature},
		{"empty signature", secret, ts, "", body, now, time.Minute, ErrSignature},
		{"old: a replay", secret, ts, sig, body, now.Add(6 * time.Minute), 0, ErrTimestamp},
		{"from the future", secret, ts, sig, body, now.Add(-2 * time.Minute), time.Minute, ErrTimestamp},
		{"timestamp not a number", secret, "yesterday", sig, body, now, time.Minute, ErrTimestamp},
		{"no timestamp", secret, "", sig, body, now, time.Minute, ErrTimestamp},
	}
	for _, tc := range cases {
		err := Verify(tc.secret, tc.timestamp, tc.signature, tc.body, tc.now, tc.maxSkew)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Verify("", ts, sig, body, now, time.Minute); err == nil {
		t.Errorf("Verify with no secret accepted the request")
	}
}

// TestWebhookTicketRoundTrip: a service desk answers the first event with
// a ticket id; the caller keeps it on the incident, and every later event
// of the incident carries it.
func TestWebhookTicketRoundTrip(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ticket_id": "DESK-4411", "url": "https://desk.example.com/t/4411"}`)
	})
	ch, err := NewWebhook(WebhookSettings{URL: rc.URL, Headers: map[string]string{"Authorization": "Bearer desk-token"}})
	if err != nil {
		t.Fatal(err)
	}
	opened := openedEvent()
	rcpt, err := ch.Deliver(context.Background(), opened)
	if err != nil {
		t.Fatalf("Deliver opened: %v", err)
	}
	if rcpt.TicketID != "DESK-4411" || rcpt.Status != http.StatusCreated || !strings.Contains(rcpt.Body, "DESK-4411") {
		t.Fatalf("receipt = %+v, want ticket DESK-4411, status 201 and the answer", rcpt)
	}
	// The caller stores it on the incident; the next events carry it.
	for _, e := range []Event{acknowledgedEvent(), resolvedEvent()} {
		e.Incident.TicketID = rcpt.TicketID
		if _, err := ch.Deliver(context.Background(), e); err != nil {
			t.Fatalf("Deliver %s: %v", e.Kind, err)
		}
	}
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3", len(reqs))
	}
	for i, req := range reqs {
		if got := req.Header.Get("Authorization"); got != "Bearer desk-token" {
			t.Errorf("request %d: Authorization = %q", i, got)
		}
		if req.Header.Get(HeaderSignature) != "" || req.Header.Get(HeaderTimestamp) != "" {
			t.Errorf("request %d is signed, but the channel has no secret", i)
		}
		var p Payload
		if err := json.Unmarshal(req.Body, &p); err != nil {
			t.Fatal(err)
		}
		want := "DESK-4411"
		if i == 0 {
			want = "" // not known before the desk answered
		}
		if p.Incident.TicketID != want {
			t.Errorf("request %d (%s): ticket_id = %q, want %q", i, p.Event, p.Incident.TicketID, want)
		}
	}
}

func TestTicketID(t *testing.T) {
	cases := []struct{ answer, want string }{
		{`{"ticket_id": "DESK-1"}`, "DESK-1"},
		{` {"ticket_id": 4411} `, "4411"},
		{`{"ticket_id": null}`, ""},
		{`{"ticket_id": {"id": 1}}`, ""},
		{`{"id": "DESK-1"}`, ""},
		{`["DESK-1"]`, ""},
		{`ok`, ""},
		{`<html>{"ticket_id": "x"}</html>`, ""},
		{`{"ticket_id": "DESK-1\n\u001b[2J"}`, "DESK-1 [2J"},
		{`{"ticket_id": "` + strings.Repeat("x", 500) + `"}`, strings.Repeat("x", maxTicketID) + "… (300 bytes more)"},
		{``, ""},
	}
	for _, tc := range cases {
		if got := ticketID([]byte(tc.answer)); got != tc.want {
			t.Errorf("ticketID(%.40q) = %q, want %q", tc.answer, got, tc.want)
		}
	}
}

func TestNewWebhookSettings(t *testing.T) {
	cases := []struct {
		name string
		s    WebhookSettings
		want string // part of the error; "" for none
	}{
		{"good", WebhookSettings{URL: "https://desk.example.com/hook", Secret: "x", Timeout: time.Second}, ""},
		{"no URL", WebhookSettings{}, "webhook url: missing"},
		{"not http", WebhookSettings{URL: "ftp://desk.example.com/hook"}, "want an absolute http(s) URL"},
		{"relative", WebhookSettings{URL: "/hook"}, "want an absolute http(s) URL"},
		{"negative timeout", WebhookSettings{URL: "https://x.example.com", Timeout: -time.Second}, "timeout"},
		{"bad header name", WebhookSettings{URL: "https://x.example.com", Headers: map[string]string{"Bad Name": "x"}}, "not a valid header name"},
		{"header on two lines", WebhookSettings{URL: "https://x.example.com", Headers: map[string]string{"X-A": "a\r\nX-B: b"}}, "one line"},
		{"replaces the signature", WebhookSettings{URL: "https://x.example.com", Headers: map[string]string{"x-waymark-signature": "x"}}, "set by Waymark"},
	}
	for _, tc := range cases {
		_, err := NewWebhook(tc.s)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: NewWebhook = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	// A token in the URL never shows in an error.
	if _, err := NewWebhook(WebhookSettings{URL: "hooks.example.com/T0/SECRET"}); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("NewWebhook error = %v: want an error that does not repeat the URL", err)
	}
}

// TestDocumentedPayload keeps the example in the package documentation
// the same as what a webhook sends (testdata/webhook_opened.json).
func TestDocumentedPayload(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(src), "# Webhook body")
	if !ok {
		t.Fatal("doc.go has no Webhook body section")
	}
	var doc strings.Builder
	in := false
	for _, line := range strings.Split(after, "\n") {
		code, isCode := strings.CutPrefix(line, "//\t")
		switch {
		case isCode && code == "{":
			in = true
		case !in:
			continue
		}
		if !isCode {
			break
		}
		doc.WriteString(code + "\n")
		if code == "}" {
			break
		}
	}
	golden, err := os.ReadFile("testdata/webhook_opened.json")
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := json.Compact(&a, []byte(doc.String())); err != nil {
		t.Fatalf("the documented example is not JSON: %v\n%s", err, doc.String())
	}
	if err := json.Compact(&b, golden); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("doc.go's example differs from testdata/webhook_opened.json:\n%s\n%s", a.String(), b.String())
	}
}
