package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// PayloadVersion is the version of the webhook body's schema; it changes
// only when a field changes meaning or goes away (new fields may appear).
const PayloadVersion = 1

// Payload is the JSON body a webhook channel posts (and an action channel
// may post, see ActionSettings.Body). The field tags are the schema; the
// package documentation shows an example.
type Payload struct {
	// Version is PayloadVersion.
	Version int `json:"version"`
	// ID is Event.ID: the same on every retry of one event, so a receiver
	// can drop duplicates. Absent when the caller gave none.
	ID string `json:"id,omitempty"`
	// Event is what happened: opened, escalated, reminded, acknowledged,
	// note, resolved, monitor_down, monitor_up or test; or forecast, a
	// warning before any incident.
	Event Kind `json:"event"`
	// At is when it happened (RFC 3339, UTC).
	At time.Time `json:"at"`
	// Summary is the event in one line: "WM-12 opened: Guest checkout —
	// Pay failed (http)".
	Summary string `json:"summary"`
	// Incident is the incident the event belongs to; absent for a
	// forecast, which has none.
	Incident PayloadIncident `json:"incident,omitzero"`
	Journey  PayloadJourney  `json:"journey"`
	// Forecast is what a forecast event says; absent for every other
	// event.
	Forecast *PayloadForecast `json:"forecast,omitempty"`
	// Run is the run that caused the event; absent for events no run
	// caused.
	Run *PayloadRun `json:"run,omitempty"`
	// Links are dashboard URLs; absent unless server.public_url is set.
	Links *PayloadLinks `json:"links,omitempty"`
	// By is who acted (acknowledged, note, resolved by a person).
	By string `json:"by,omitempty"`
	// Note is their note or reason.
	Note string `json:"note,omitempty"`
}

// PayloadIncident is the incident in a Payload.
type PayloadIncident struct {
	// Reference is unique across agents, "WM-12"; PagerDuty's dedup key.
	Reference string `json:"reference"`
	// Kind is site or monitor (the monitor cannot check the site).
	Kind IncidentKind `json:"kind"`
	// Severity is warning or critical.
	Severity results.Severity `json:"severity"`
	// State is open, acknowledged or resolved, after the event.
	State          State     `json:"state"`
	OpenedAt       time.Time `json:"opened_at,omitzero"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	// FirstFailureAt is when the first failing run of the incident started.
	FirstFailureAt time.Time `json:"first_failure_at,omitzero"`
	// Failures counts the failed runs of the incident so far.
	Failures int `json:"failures"`
	// TicketID is the service-desk ticket id a webhook answered with for
	// this incident; absent until one did. Sent with every later event so
	// the desk updates one ticket.
	TicketID string `json:"ticket_id,omitempty"`
	// Level is the escalation level reached (1 for the first); absent when
	// the route does not escalate.
	Level int `json:"level,omitempty"`
}

// PayloadJourney is the journey in a Payload.
type PayloadJourney struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Customer string   `json:"customer"`
	Owner    string   `json:"owner"`
	Tags     []string `json:"tags"`
	Location string   `json:"location"`
}

// PayloadForecast is a forecast in a Payload: a step's p95 rising towards
// its warn threshold.
type PayloadForecast struct {
	// Severity is always info: nothing has failed yet.
	Severity results.Severity `json:"severity"`
	// Step is the step whose p95 rises.
	Step PayloadForecastStep `json:"step"`
	// P95MS is the step's p95 as the trend has it now, SlopeMSPerDay how
	// much it grows a day, WarnMS the step's warn threshold.
	P95MS         int64 `json:"p95_ms"`
	SlopeMSPerDay int64 `json:"slope_ms_per_day"`
	WarnMS        int64 `json:"warn_ms"`
	// CrossesAt is when the trend reaches the threshold, and DaysToWarn
	// how many days from the event that is, rounded as the summary says.
	CrossesAt  time.Time `json:"crosses_at"`
	DaysToWarn int       `json:"days_to_warn"`
	// Days is how many days of runs the trend is fitted on.
	Days int `json:"days"`
}

// PayloadForecastStep is the step of a forecast.
type PayloadForecastStep struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
}

// PayloadRun is the run that caused the event.
type PayloadRun struct {
	ID      string          `json:"id"`
	Outcome results.Outcome `json:"outcome"`
	// Cause is why it failed: network, http, selector, assertion,
	// timeout, script, challenge or monitor.
	Cause results.Cause `json:"cause,omitempty"`
	// Error is the failing step's error, or the run's (a duration over its
	// threshold) when no step failed.
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// ThresholdMS is the limit the duration is held to; absent when none.
	ThresholdMS int64 `json:"threshold_ms,omitempty"`
	// Step is the step that decided the run; absent when none did.
	Step *PayloadStep `json:"step,omitempty"`
}

// PayloadStep is the step that decided a run.
type PayloadStep struct {
	Number   int    `json:"number"`
	Name     string `json:"name"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// URL is the page's URL after the step.
	URL string `json:"url,omitempty"`
}

// PayloadLinks are the dashboard's URLs for the event.
type PayloadLinks struct {
	Incident   string `json:"incident,omitempty"`
	Run        string `json:"run,omitempty"`
	Screenshot string `json:"screenshot,omitempty"`
	// Journey is the journey's page; set for forecasts.
	Journey string `json:"journey,omitempty"`
}

// NewPayload is the webhook body of e. Times are in UTC.
func NewPayload(e *Event) Payload {
	inc, j := &e.Incident, &e.Journey
	p := Payload{
		Version: PayloadVersion, ID: e.ID, Event: e.Kind, At: e.At.UTC(), Summary: e.Summary(),
		Incident: PayloadIncident{
			Reference: inc.Ref, Kind: inc.Kind, Severity: inc.Severity, State: inc.State,
			OpenedAt: utc(inc.OpenedAt), AcknowledgedAt: utc(inc.AcknowledgedAt), ResolvedAt: utc(inc.ResolvedAt),
			FirstFailureAt: utc(inc.FirstFailureAt), Failures: inc.Failures, TicketID: inc.TicketID, Level: inc.Level,
		},
		Journey: PayloadJourney{Name: j.Name, Title: j.Title, Customer: j.Customer, Owner: j.Owner,
			Tags: slices.Clone(j.Tags), Location: j.Location},
		By: e.By, Note: e.Note,
	}
	if p.Journey.Tags == nil {
		p.Journey.Tags = []string{}
	}
	if r := e.Run; r != nil {
		p.Run = &PayloadRun{ID: r.ID, Outcome: r.Outcome, Cause: r.Step.Cause, Error: r.Step.Error,
			DurationMS: r.Duration.Milliseconds(), ThresholdMS: r.Threshold.Milliseconds()}
		if s := r.Step; s.Number > 0 {
			p.Run.Step = &PayloadStep{Number: s.Number, Name: s.Name, Expected: s.Expected, Actual: s.Actual, URL: s.URL}
		}
	}
	if f := e.Forecast; f != nil && e.Kind == KindForecast {
		p.Forecast = &PayloadForecast{Severity: results.SeverityInfo, Step: PayloadForecastStep{Number: f.Step, Name: f.StepName},
			P95MS: f.P95.Milliseconds(), SlopeMSPerDay: f.Slope.Milliseconds(), WarnMS: f.Warn.Milliseconds(),
			CrossesAt: utc(f.CrossesAt), DaysToWarn: max(0, int(math.Round(f.CrossesAt.Sub(e.At).Hours()/24))), Days: f.Days}
	}
	if l := e.Links; l != (Links{}) {
		p.Links = &PayloadLinks{Incident: l.Incident, Run: l.Run, Screenshot: l.Screenshot, Journey: l.Journey}
	}
	return p
}

// utc is t in UTC, zero kept zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// Signature headers of webhook and action requests made with a secret.
const (
	// HeaderTimestamp is when the request was signed, in Unix seconds.
	HeaderTimestamp = "X-Waymark-Timestamp"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// channel's secret, of the timestamp, a ".", and the body.
	HeaderSignature = "X-Waymark-Signature"
	// HeaderEvent is the event's kind, for receivers that route on it
	// before reading the body.
	HeaderEvent = "X-Waymark-Event"
)

// DefaultMaxSkew is how far a signed timestamp may be from the receiver's
// clock when Verify is given no maxSkew.
const DefaultMaxSkew = 5 * time.Minute

// Errors Verify wraps, for a receiver to tell a forgery from a replay.
var (
	// ErrSignature: the signature is missing, malformed or does not match
	// the body and timestamp (wrong secret, or the request was altered).
	ErrSignature = errors.New("webhook signature does not match")
	// ErrTimestamp: the timestamp is missing, malformed, or too far from
	// now (a replayed request, or clocks apart).
	ErrTimestamp = errors.New("webhook timestamp not accepted")
)

// Sign is what a request with body, signed with secret at t, carries in
// HeaderTimestamp and HeaderSignature.
func Sign(secret string, t time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	return timestamp, "sha256=" + hex.EncodeToString(mac(secret, timestamp, body))
}

// mac is the HMAC-SHA256 of "<timestamp>.<body>" keyed with secret.
func mac(secret, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a signed request as a receiver gets it: timestamp and
// signature are the values of HeaderTimestamp and HeaderSignature, body
// the raw body as read (before any JSON decoding), now the receiver's
// clock. It fails with ErrSignature when the signature does not match, so
// a request altered on the way (body or timestamp) or signed with another
// secret is refused, and with ErrTimestamp when the timestamp is further
// than maxSkew from now (DefaultMaxSkew when maxSkew ≤ 0), so a recorded
// request cannot be replayed later.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	if secret == "" {
		return errors.New("verify webhook signature: no secret to verify with")
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, HeaderTimestamp, timestamp)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrSignature, HeaderSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrSignature, HeaderSignature)
	}
	if !hmac.Equal(got, mac(secret, strings.TrimSpace(timestamp), body)) {
		return ErrSignature
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > maxSkew || skew < -maxSkew {
		return fmt.Errorf("%w: signed at %s, %s from now, more than the %s allowed (a replay, or clocks apart)",
			ErrTimestamp, time.Unix(ts, 0).UTC().Format(time.RFC3339), skew.Round(time.Second).Abs(), maxSkew)
	}
	return nil
}

// WebhookSettings configure a webhook channel.
type WebhookSettings struct {
	// URL receives a POST of the JSON Payload for every event.
	URL string
	// Secret, when set, signs every request (HeaderTimestamp,
	// HeaderSignature); the receiver checks it with Verify.
	Secret string
	// Headers are sent with every request, e.g. a service desk's
	// Authorization. They cannot replace Content-Type or the Waymark
	// headers.
	Headers map[string]string
	// Timeout cuts each attempt; DefaultTimeout when zero.
	Timeout time.Duration
}

// Webhook posts events as JSON (Payload) to a URL, signed when a secret is
// set. A service desk may answer a 2xx with {"ticket_id": "…"} (a string
// or a number): it comes back in Receipt.TicketID. Any other 2xx answer,
// JSON or not, is a success; the rest fail as DeliveryError says.
type Webhook struct {
	secret  string
	headers http.Header
	http    *httpSender
}

// NewWebhook checks the settings and makes the channel.
func NewWebhook(s WebhookSettings) (*Webhook, error) {
	if err := checkURL("webhook url", s.URL); err != nil {
		return nil, err
	}
	timeout, err := timeoutOr(s.Timeout)
	if err != nil {
		return nil, fmt.Errorf("webhook %w", err)
	}
	headers, err := extraHeaders("webhook", s.Headers)
	if err != nil {
		return nil, err
	}
	return &Webhook{secret: s.Secret, headers: headers, http: newHTTPSender(http.MethodPost, s.URL, timeout)}, nil
}

// Deliver posts e once.
func (w *Webhook) Deliver(ctx context.Context, e Event) (Receipt, error) {
	if err := e.validate(); err != nil {
		return Receipt{}, permanent(fmt.Errorf("webhook: %w", err))
	}
	body, err := marshal(NewPayload(&e))
	if err != nil {
		return Receipt{}, permanent(fmt.Errorf("webhook: encode %s event of %s: %w", e.Kind, e.about(), err))
	}
	h := w.headers.Clone()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderEvent, string(e.Kind))
	if w.secret != "" {
		ts, sig := Sign(w.secret, w.http.now(), body)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
	}
	resp, answer, err := w.http.send(ctx, h, body)
	if err != nil {
		return Receipt{}, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Receipt{}, statusError(w.http.what, resp, answer, w.http.now())
	}
	return Receipt{Status: resp.StatusCode, Body: snippet(answer), TicketID: ticketID(answer)}, nil
}

// maxTicketID bounds a ticket id a desk answers with; it is kept on the
// incident and shown in the terminal.
const maxTicketID = 200

// ticketID is the ticket_id of a JSON object answer, a string or a
// number; "" when the answer is not one or has none.
func ticketID(answer []byte) string {
	answer = bytes.TrimSpace(answer)
	if len(answer) == 0 || answer[0] != '{' {
		return ""
	}
	var v struct {
		TicketID json.RawMessage `json:"ticket_id"`
	}
	if json.Unmarshal(answer, &v) != nil || len(v.TicketID) == 0 {
		return ""
	}
	var s string
	var n json.Number
	switch {
	case json.Unmarshal(v.TicketID, &s) == nil:
	case json.Unmarshal(v.TicketID, &n) == nil:
		s = n.String()
	default:
		return ""
	}
	return oneLine(s, maxTicketID)
}

// extraHeaders checks headers from settings: names HTTP allows, values on
// one line, none of the headers the channel sets itself.
func extraHeaders(channel string, in map[string]string) (http.Header, error) {
	h := http.Header{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		if !validHeaderName(name) {
			return nil, fmt.Errorf("%s headers: %q is not a valid header name", channel, name)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("%s headers: %s: the value must be one line", channel, name)
		}
		switch http.CanonicalHeaderKey(name) {
		case HeaderTimestamp, HeaderSignature, HeaderEvent:
			return nil, fmt.Errorf("%s headers: %s is set by Waymark", channel, name)
		}
		h.Set(name, v)
	}
	return h, nil
}

// validHeaderName says whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
