package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestActionCall makes a remediation call to a real receiver: method,
// headers, the templated body with page text safely in JSON, the
// signature, and the status and first KB of the answer in the receipt.
func TestActionCall(t *testing.T) {
	answer := `{"restarted": "payments", "log": "` + strings.Repeat("x", 3000) + `"}`
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, answer)
	})
	ch, err := NewAction(ActionSettings{
		Method:  "put",
		URL:     rc.URL + "/services/payments/restart",
		Headers: map[string]string{"Authorization": "Bearer ops-token"},
		Body: `{"service": "payments", "incident": {{json .Incident.Ref}}, "journey": {{json .Journey.Name}},` +
			` {{with .Run}}"run": {{json .ID}}, "error": {{json .Step.Error}}{{end}}}`,
		Secret:  "act-secret",
		Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := hostileEvent() // an error with quotes, newlines, escapes and invalid UTF-8
	rcpt, err := ch.Deliver(context.Background(), e)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if rcpt.Status != http.StatusAccepted || rcpt.Body != answer[:MaxAnswer] {
		t.Errorf("receipt = status %d, body of %d bytes, want 202 and the first %d bytes", rcpt.Status, len(rcpt.Body), MaxAnswer)
	}
	req := rc.only(t)
	if req.Method != http.MethodPut || req.Path != "/services/payments/restart" {
		t.Errorf("got %s %s, want PUT /services/payments/restart", req.Method, req.Path)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer ops-token" {
		t.Errorf("Authorization = %q", got)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json by default", got)
	}
	if err := Verify("act-secret", req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), req.Body, time.Now(), time.Minute); err != nil {
		t.Errorf("Verify the action's signature: %v", err)
	}
	var body struct{ Service, Incident, Journey, Run, Error string }
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("the rendered body is not JSON (page text broke out of its string?): %v\n%s", err, req.Body)
	}
	if body.Incident != "WM-12" || body.Journey != "guest-checkout" || body.Run != e.Run.ID ||
		body.Error != strings.ReplaceAll(e.Run.Step.Error, "\xff\xfe", "\uFFFD\uFFFD") {
		t.Errorf("rendered body = %+v", body)
	}
}

// TestActionPayloadAndNoBody: {{payload .}} sends the webhook body; an
// empty template sends no body at all.
func TestActionPayloadAndNoBody(t *testing.T) {
	rc := newReceiver(t, nil)
	withPayload, err := NewAction(ActionSettings{URL: rc.URL, Body: `{{payload .}}`})
	if err != nil {
		t.Fatal(err)
	}
	noBody, err := NewAction(ActionSettings{Method: "GET", URL: rc.URL + "/restart?service=payments"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []*Action{withPayload, noBody} {
		if _, err := ch.Deliver(context.Background(), openedEvent()); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	var p Payload
	if err := json.Unmarshal(reqs[0].Body, &p); err != nil || p.Incident.Reference != "WM-12" || p.Run == nil || p.Run.Step.Number != 7 {
		t.Errorf("payload body = %+v (%v)", p, err)
	}
	opened := openedEvent()
	want, err := marshal(NewPayload(&opened))
	if err != nil {
		t.Fatal(err)
	}
	if string(reqs[0].Body) != string(want) {
		t.Errorf("payload body differs from the webhook's:\n%s\n%s", reqs[0].Body, want)
	}
	if reqs[1].Method != http.MethodGet || len(reqs[1].Body) != 0 || reqs[1].Header.Get("Content-Type") != "" {
		t.Errorf("no-body call = %s, %d bytes, Content-Type %q", reqs[1].Method, len(reqs[1].Body), reqs[1].Header.Get("Content-Type"))
	}
}

// TestActionBodyRefused: a body too large, or a template that fails on
// the event, is a final error and no call is made.
func TestActionBodyRefused(t *testing.T) {
	rc := newReceiver(t, nil)
	big := openedEvent()
	big.Note = strings.Repeat("n", MaxActionBody)
	noRun := acknowledgedEvent()
	noRun.Run = nil
	cases := []struct {
		name string
		tmpl string
		e    Event
		want string
	}{
		{"too large", `{"note": {{json .Note}}}`, big, "larger than"},
		{"a nil run", `{"run": {{json .Run.ID}}}`, noRun, "nil pointer"},
	}
	for _, tc := range cases {
		ch, err := NewAction(ActionSettings{URL: rc.URL, Body: tc.tmpl})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Deliver(context.Background(), tc.e)
		var de *DeliveryError
		if !errors.As(err, &de) || de.Temporary || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Deliver = %v, want a final error saying %q", tc.name, err, tc.want)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("%d calls were made with a refused body", n)
	}
}

func TestNewActionSettings(t *testing.T) {
	cases := []struct {
		name string
		s    ActionSettings
		want string
	}{
		{"good", ActionSettings{URL: "https://ops.example.com/restart", Body: `{{.Incident.Ref}}`}, ""},
		{"bad template", ActionSettings{URL: "https://ops.example.com/restart", Body: `{{.Incident.Ref`}, "action body"},
		{"unknown function", ActionSettings{URL: "https://ops.example.com/restart", Body: `{{shell "rm"}}`}, "action body"},
		{"bad method", ActionSettings{URL: "https://ops.example.com/restart", Method: "RE START"}, "not an HTTP method"},
		{"no URL", ActionSettings{}, "action url"},
	}
	for _, tc := range cases {
		_, err := NewAction(tc.s)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: NewAction = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
