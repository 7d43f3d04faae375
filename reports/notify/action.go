package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"
)

// MaxActionBody bounds the body an action's template may produce: a
// template over page text must not become a 5 MB request.
const MaxActionBody = 64 << 10

// ActionSettings configure an action (remediation) channel.
type ActionSettings struct {
	// Method is the HTTP method; POST when empty.
	Method string
	// URL is called for each event given to Deliver.
	URL string
	// Headers are sent with every call (an API token, a Content-Type).
	// Content-Type is application/json when a body is sent and it is not
	// set here.
	Headers map[string]string
	// Body is a Go text/template executed over the *Event (fields as in
	// Event: {{.Incident.Ref}}, {{.Journey.Name}}, {{with .Run}}{{.ID}}{{end}}),
	// with two functions: json, which writes a value as JSON (a quoted,
	// escaped string for text: use it for every text inside a JSON body,
	// as page text may hold quotes), and payload, the webhook Payload of
	// the event as JSON ({{payload .}}). Empty sends no body. The result
	// may be at most MaxActionBody bytes.
	Body string
	// Secret, when set, signs each call as a webhook's (HeaderTimestamp,
	// HeaderSignature over the body).
	Secret string
	// Timeout cuts each attempt; DefaultTimeout when zero.
	Timeout time.Duration
}

// Action makes a remediation call, the way support teams' monitors
// restart a stopped service themselves: an HTTP call with the method, URL,
// headers and templated body configured. Its Receipt (status and the first
// KB of the answer) is for the incident's timeline; a non-2xx answer is a
// *DeliveryError carrying the same.
//
// When to call it is the caller's decision, not the channel's: once per
// incident when it opens (or after N failed runs), never during a
// maintenance window, at most once per incident unless configured
// otherwise; then the caller re-runs the journey at once to verify, so the
// timeline reads "restart requested → journey passed 40 s later →
// resolved". Deliver calls the URL every time it is called.
//
// A call cut at its timeout is Temporary like any other, but the endpoint
// may have acted on it: remediation endpoints should be idempotent, or the
// caller should not retry actions that timed out.
type Action struct {
	method  string
	tmpl    *template.Template
	headers http.Header
	secret  string
	http    *httpSender
}

// NewAction checks the settings, parses the body template and makes the
// channel.
func NewAction(s ActionSettings) (*Action, error) {
	if err := checkURL("action url", s.URL); err != nil {
		return nil, err
	}
	method := strings.ToUpper(strings.TrimSpace(s.Method))
	if method == "" {
		method = http.MethodPost
	}
	if !validHeaderName(method) {
		return nil, fmt.Errorf("action method: %q is not an HTTP method", s.Method)
	}
	timeout, err := timeoutOr(s.Timeout)
	if err != nil {
		return nil, fmt.Errorf("action %w", err)
	}
	headers, err := extraHeaders("action", s.Headers)
	if err != nil {
		return nil, err
	}
	a := &Action{method: method, headers: headers, secret: s.Secret, http: newHTTPSender(method, s.URL, timeout)}
	if s.Body != "" {
		a.tmpl, err = template.New("action body").Option("missingkey=error").Funcs(template.FuncMap{
			"json":    jsonText,
			"payload": payloadText,
		}).Parse(s.Body)
		if err != nil {
			return nil, fmt.Errorf("action body: %w", err)
		}
	}
	return a, nil
}

// Deliver makes the call once for e. A forecast is skipped
// (Receipt.Skipped): nothing has failed that a remediation could mend.
func (a *Action) Deliver(ctx context.Context, e Event) (Receipt, error) {
	if err := e.validate(); err != nil {
		return Receipt{}, permanent(fmt.Errorf("action: %w", err))
	}
	if e.Kind == KindForecast {
		return Receipt{Skipped: true}, nil
	}
	var body []byte
	h := a.headers.Clone()
	if a.tmpl != nil {
		var err error
		if body, err = a.render(&e); err != nil {
			return Receipt{}, permanent(fmt.Errorf("action: %s event of %s: %w", e.Kind, e.about(), err))
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	h.Set(HeaderEvent, string(e.Kind))
	if a.secret != "" {
		ts, sig := Sign(a.secret, a.http.now(), body)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
	}
	resp, answer, err := a.http.send(ctx, h, body)
	if err != nil {
		return Receipt{}, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Receipt{}, statusError(a.http.what, resp, answer, a.http.now())
	}
	return Receipt{Status: resp.StatusCode, Body: snippet(answer)}, nil
}

// errBodyTooLarge stops a template whose output passes MaxActionBody.
var errBodyTooLarge = fmt.Errorf("body template: the body is larger than %d bytes", MaxActionBody)

// render executes the body template over e, at most MaxActionBody bytes.
func (a *Action) render(e *Event) ([]byte, error) {
	w := &boundedBuffer{max: MaxActionBody}
	if err := a.tmpl.Execute(w, e); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, fmt.Errorf("body template: %w", err)
	}
	return w.buf.Bytes(), nil
}

// boundedBuffer is a buffer that refuses to grow past max bytes.
type boundedBuffer struct {
	buf bytes.Buffer
	max int
}

// Write appends p, or refuses it whole with errBodyTooLarge.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		return 0, errBodyTooLarge
	}
	return b.buf.Write(p)
}

// jsonText is v as JSON text, for the body template's json function.
func jsonText(v any) (string, error) {
	b, err := marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// payloadText is the webhook Payload of e as JSON, for the body
// template's payload function.
func payloadText(e *Event) (string, error) {
	return jsonText(NewPayload(e))
}
