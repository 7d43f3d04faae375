package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// DefaultPagerDutyURL is the Events API v2 endpoint. EU service regions
// use https://events.eu.pagerduty.com/v2/enqueue.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDutySettings configure a PagerDuty channel.
type PagerDutySettings struct {
	// RoutingKey is the integration key of the PagerDuty service (Events
	// API v2). It travels in each request's body, as the API requires.
	RoutingKey string
	// URL is the events endpoint; DefaultPagerDutyURL when empty.
	URL string
	// Timeout cuts each attempt; DefaultTimeout when zero.
	Timeout time.Duration
}

// PagerDuty sends incidents to PagerDuty's Events API v2, with the
// incident's reference as dedup_key so every event of one incident acts
// on one alert:
//
//   - opened, escalated, reminded and monitor_down trigger (a repeated
//     trigger updates the open alert, never opens a second one);
//   - acknowledged acknowledges; resolved and monitor_up resolve;
//   - note is skipped (the Events API has no notes): Receipt.Skipped;
//   - forecast is skipped too: a forecast is no incident and wakes
//     nobody; a PagerDuty alert would also stay open until someone
//     resolves what has not happened. Forecasts belong in chat, mail or
//     a desk's queue (a route with `match: {severity: info}`);
//   - test triggers an info alert for WM-0 and resolves it at once.
//
// Severity: a critical site incident is critical, a warning warning, a
// monitor-health incident error, a test info.
//
// PagerDuty answers 202 with {"status": "success", …}. Any other answer
// is a failure, a 2xx included: a 2xx whose body is not that (a proxy's
// page, a wrong URL that answers 200) means PagerDuty did not take the
// event. It is reported Temporary, with the first bytes of the answer, as
// retrying is harmless (the dedup key makes every action idempotent) and
// a page is worth the retries until the caller's maximum age.
type PagerDuty struct {
	key  string
	http *httpSender
}

// NewPagerDuty checks the settings and makes the channel.
func NewPagerDuty(s PagerDutySettings) (*PagerDuty, error) {
	if s.RoutingKey == "" {
		return nil, fmt.Errorf("pagerduty routing_key: missing: want the integration key of an Events API v2 integration")
	}
	if s.URL == "" {
		s.URL = DefaultPagerDutyURL
	}
	if err := checkURL("pagerduty url", s.URL); err != nil {
		return nil, err
	}
	timeout, err := timeoutOr(s.Timeout)
	if err != nil {
		return nil, fmt.Errorf("pagerduty %w", err)
	}
	return &PagerDuty{key: s.RoutingKey, http: newHTTPSender(http.MethodPost, s.URL, timeout)}, nil
}

// PagerDuty event actions.
const (
	pdTrigger     = "trigger"
	pdAcknowledge = "acknowledge"
	pdResolve     = "resolve"
)

// Deliver sends e once (a test event: a trigger, then a resolve).
func (p *PagerDuty) Deliver(ctx context.Context, e Event) (Receipt, error) {
	if err := e.validate(); err != nil {
		return Receipt{}, permanent(fmt.Errorf("pagerduty: %w", err))
	}
	var actions []string
	switch e.Kind {
	case KindOpened, KindEscalated, KindReminded, KindMonitorDown:
		actions = []string{pdTrigger}
	case KindAcknowledged:
		actions = []string{pdAcknowledge}
	case KindResolved, KindMonitorUp:
		actions = []string{pdResolve}
	case KindTest:
		actions = []string{pdTrigger, pdResolve}
	case KindForecast:
		return Receipt{Skipped: true}, nil
	default:
		return Receipt{Skipped: true}, nil
	}
	var rc Receipt
	for _, action := range actions {
		var err error
		if rc, err = p.send(ctx, PagerDutyEventOf(&e, action, p.key)); err != nil {
			return Receipt{}, err
		}
	}
	return rc, nil
}

// send posts one Events API event and checks PagerDuty took it.
func (p *PagerDuty) send(ctx context.Context, ev PagerDutyEvent) (Receipt, error) {
	body, err := marshal(ev)
	if err != nil {
		return Receipt{}, permanent(fmt.Errorf("pagerduty: encode %s of %s: %w", ev.EventAction, ev.DedupKey, err))
	}
	resp, answer, err := p.http.send(ctx, http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return Receipt{}, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Receipt{}, statusError(p.http.what+" ("+ev.EventAction+" "+ev.DedupKey+")", resp, answer, p.http.now())
	}
	var v struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(answer, &v) != nil || v.Status != "success" {
		return Receipt{}, &DeliveryError{Temporary: true, Status: resp.StatusCode, Body: snippet(answer),
			Err: fmt.Errorf("%s (%s %s): answered %d but not as the Events API does (want {\"status\": \"success\"}): is the events URL right?",
				p.http.what, ev.EventAction, ev.DedupKey, resp.StatusCode)}
	}
	return Receipt{Status: resp.StatusCode, Body: snippet(answer)}, nil
}

// PagerDutyEvent is the Events API v2 request body.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
	Links       []PagerDutyLink   `json:"links,omitempty"`
	Images      []PagerDutyImage  `json:"images,omitempty"`
}

// PagerDutyPayload is a trigger's alert.
type PagerDutyPayload struct {
	Summary       string           `json:"summary"`
	Source        string           `json:"source"`
	Severity      string           `json:"severity"`
	Timestamp     time.Time        `json:"timestamp,omitzero"`
	Component     string           `json:"component,omitempty"`
	Group         string           `json:"group,omitempty"`
	Class         string           `json:"class,omitempty"`
	CustomDetails PagerDutyDetails `json:"custom_details"`
}

// PagerDutyDetails are a trigger's custom_details: the failing step and
// its error, for the responder who reads the alert.
type PagerDutyDetails struct {
	Incident     string   `json:"incident"`
	Event        Kind     `json:"event"`
	Journey      string   `json:"journey"`
	Title        string   `json:"title,omitempty"`
	Customer     string   `json:"customer,omitempty"`
	Owner        string   `json:"owner,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	Location     string   `json:"location,omitempty"`
	Run          string   `json:"run,omitempty"`
	Step         int      `json:"step,omitempty"`
	StepName     string   `json:"step_name,omitempty"`
	Cause        string   `json:"cause,omitempty"`
	Error        string   `json:"error,omitempty"`
	Expected     string   `json:"expected,omitempty"`
	Actual       string   `json:"actual,omitempty"`
	URL          string   `json:"url,omitempty"`
	Duration     string   `json:"duration,omitempty"`
	Threshold    string   `json:"threshold,omitempty"`
	FirstFailure string   `json:"first_failure,omitempty"`
	Failures     int      `json:"failures,omitempty"`
	Level        int      `json:"level,omitempty"`
	TicketID     string   `json:"ticket_id,omitempty"`
}

// PagerDutyLink is a link shown on the alert.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// PagerDutyImage is an image shown on the alert.
type PagerDutyImage struct {
	Src  string `json:"src"`
	Href string `json:"href,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// PagerDutyEventOf is the Events API request for e with the action given
// (trigger, acknowledge or resolve). Acknowledge and resolve carry only
// the dedup key, as the API wants.
func PagerDutyEventOf(e *Event, action, routingKey string) PagerDutyEvent {
	ev := PagerDutyEvent{RoutingKey: routingKey, EventAction: action, DedupKey: e.Incident.Ref}
	if action != pdTrigger {
		return ev
	}
	j, inc := &e.Journey, &e.Incident
	d := PagerDutyDetails{Incident: inc.Ref, Event: e.Kind, Journey: j.Name, Title: j.Title,
		Customer: j.Customer, Owner: j.Owner, Tags: j.Tags, Location: j.Location,
		Failures: inc.Failures, Level: inc.Level, TicketID: inc.TicketID}
	if !inc.FirstFailureAt.IsZero() {
		d.FirstFailure = inc.FirstFailureAt.UTC().Format(time.RFC3339)
	}
	source := j.Name
	var component, class string
	if r := e.Run; r != nil {
		s := r.Step
		d.Run, d.Step, d.StepName, d.Cause = r.ID, s.Number, s.Name, string(s.Cause)
		d.Error, d.Expected, d.Actual, d.URL = s.Error, s.Expected, s.Actual, s.URL
		if r.Duration > 0 {
			d.Duration = results.Round(r.Duration).String()
		}
		if r.Threshold > 0 {
			d.Threshold = r.Threshold.String()
		}
		component, class = s.Name, string(s.Cause)
		if u, err := url.Parse(s.URL); err == nil && u.Hostname() != "" {
			source = u.Hostname()
		}
	}
	if source == "" {
		source = "waymark"
	}
	group := j.Customer
	if group == "" {
		group = j.Owner
	}
	ev.Payload = &PagerDutyPayload{
		Summary: results.Clip(e.Subject(), 1000), Source: results.Clip(source, 255), Severity: pdSeverity(e),
		Timestamp: utc(e.At), Component: results.Clip(component, 255), Group: results.Clip(group, 255),
		Class: class, CustomDetails: d,
	}
	ev.Client, ev.ClientURL = "Waymark", e.Links.Incident
	if e.Links.Run != "" {
		ev.Links = []PagerDutyLink{{Href: e.Links.Run, Text: "The run in Waymark"}}
	}
	if e.Links.Screenshot != "" {
		ev.Images = []PagerDutyImage{{Src: e.Links.Screenshot, Href: e.Links.Run, Alt: "Screenshot of the failing step"}}
	}
	return ev
}

// pdSeverity maps an event to PagerDuty's severities.
func pdSeverity(e *Event) string {
	switch {
	case e.Kind == KindTest:
		return "info"
	case e.Incident.Kind == IncidentMonitor:
		return "error"
	case e.Incident.Severity == results.SeverityCritical:
		return "critical"
	case e.Incident.Severity == results.SeverityWarning:
		return "warning"
	}
	return "error"
}
