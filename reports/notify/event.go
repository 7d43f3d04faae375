package notify

import (
	"fmt"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// Kind is what happened to an incident, the reason a message is sent;
// or KindForecast, a warning before any incident.
type Kind string

// Event kinds. A run that fails again while its incident is open
// (results.ChangeFailedAgain) is counted on the incident's timeline and is
// never sent: it has no Kind here, and Deliver refuses any kind not listed.
const (
	// KindOpened: an incident opened (site or monitor kind).
	KindOpened Kind = "opened"
	// KindEscalated: the incident grew worse, a warning that now fails
	// (Incident.Severity is critical), or it reached a further escalation
	// level of its route because nobody acknowledged it (Incident.Level).
	KindEscalated Kind = "escalated"
	// KindReminded: the incident is still open and unacknowledged after
	// `remind_every`.
	KindReminded Kind = "reminded"
	// KindAcknowledged: a person took the incident (Event.By, Event.Note).
	KindAcknowledged Kind = "acknowledged"
	// KindNote: a person added a note to the incident (Event.By, Event.Note).
	KindNote Kind = "note"
	// KindResolved: enough runs passed, or a person resolved it (Event.By,
	// Event.Note for the reason).
	KindResolved Kind = "resolved"
	// KindMonitorDown: the monitor failed to check a journey several times
	// in a row: a monitor-health incident (Incident.Kind is monitor), for
	// the operators, never for the site's owner.
	KindMonitorDown Kind = "monitor_down"
	// KindMonitorUp: the monitor checks the journey again; the
	// monitor-health incident ends.
	KindMonitorUp Kind = "monitor_up"
	// KindTest: a message sent on purpose to prove a channel works
	// (`waymark demo`, a "send test" button); see TestEvent.
	KindTest Kind = "test"
	// KindForecast: no incident, a warning before one: a step's p95 is
	// rising and is forecast to cross its warn threshold soon
	// (Event.Forecast; the Incident is empty). Its severity is info.
	// PagerDuty and action channels skip it: nobody is paged, and
	// nothing is remedied, for what has not happened.
	KindForecast Kind = "forecast"
)

// sent says whether Deliver accepts events of kind k.
func (k Kind) sent() bool {
	switch k {
	case KindOpened, KindEscalated, KindReminded, KindAcknowledged, KindNote,
		KindResolved, KindMonitorDown, KindMonitorUp, KindTest, KindForecast:
		return true
	}
	return false
}

// IncidentKind says whether an incident is about the site or about the
// monitor itself.
type IncidentKind string

// Incident kinds; routes match on them (`match: {kind: monitor}`).
const (
	IncidentSite    IncidentKind = "site"    // the site fails its journey
	IncidentMonitor IncidentKind = "monitor" // the monitor cannot check the site
)

// State is where an incident stands.
type State string

// Incident states.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Event is one message about one incident: what happened, to which
// incident, of which journey, because of which run, and who acted; or a
// forecast about one step of a journey, with no incident (KindForecast).
// Every channel renders the same Event in its own format.
//
// Event carries no secret and channels add none to a body: the run's texts
// (errors, expected and actual values, URLs) were masked by the runner
// before they were stored (results.Step.Clean), and nothing is read from
// the environment while rendering. Texts that came from a page (step
// errors, values, URLs) and from people (notes) are escaped by each
// channel for its format. The one credential in a body is PagerDuty's
// routing key, which its Events API requires there; it goes to the
// configured events URL only.
type Event struct {
	// ID identifies this event across delivery attempts (e.g. the
	// incident timeline entry's id): the same on every retry, different for
	// every event, so a receiver can drop a duplicate delivery. Optional.
	ID string
	// Kind is what happened.
	Kind Kind
	// At is when it happened.
	At time.Time
	// Incident is the incident the event belongs to, as it stands after
	// the event; empty for a forecast.
	Incident Incident
	// Journey is the journey whose runs the incident is about.
	Journey Journey
	// Run is the run that caused the event, nil for events no run caused
	// (an acknowledgement, a note, a reminder may still carry the last
	// failing run, which is what most readers want to see).
	Run *Run
	// Links point to Waymark's dashboard; each is empty unless
	// `server.public_url` is set.
	Links Links
	// Screenshot is the failing step's screenshot (JPEG or PNG), attached
	// inline to email; nil when there is none or it should not be sent.
	// Channels that cannot carry bytes use Links.Screenshot instead.
	Screenshot []byte
	// By is who acted, for acknowledged, note and resolved by a person;
	// empty when Waymark itself did it.
	By string
	// Note is the person's note or reason.
	Note string
	// Forecast is what a forecast event says; nil for every other kind.
	Forecast *Forecast
}

// Forecast is a step's p95 duration rising towards its warn threshold,
// as the daily forecast fitted it from the hourly aggregates
// (results.ForecastStep): "Pay on guest-checkout: p95 1.9 s, +60 ms a
// day; crosses its 3 s warn threshold in about 18 days".
type Forecast struct {
	// Step is the step's 1-based index in its runs, StepName its name.
	Step     int
	StepName string
	// P95 is the step's p95 as the trend has it at Event.At; Slope how
	// much it grows a day; Warn the step's warn threshold.
	P95, Slope, Warn time.Duration
	// CrossesAt is when the trend reaches Warn.
	CrossesAt time.Time
	// Days is how many days of runs the trend is fitted on.
	Days int
}

// Incident is the incident an Event is about.
type Incident struct {
	// Ref is the incident's reference, unique across agents: "WM-12".
	Ref string
	// Kind is site or monitor.
	Kind IncidentKind
	// Severity is warning or critical.
	Severity results.Severity
	// State is open, acknowledged or resolved.
	State State
	// OpenedAt, AcknowledgedAt and ResolvedAt are when the incident
	// reached each state; zero when it has not.
	OpenedAt, AcknowledgedAt, ResolvedAt time.Time
	// FirstFailureAt is when the first failing run of the incident started.
	FirstFailureAt time.Time
	// Failures counts the failed runs of the incident so far.
	Failures int
	// TicketID is the external (service-desk) ticket id a webhook answered
	// with, kept on the incident and sent with each of its later events so
	// the desk updates one ticket; empty when there is none.
	TicketID string
	// Level is the escalation level of its route reached so far (1 for
	// the first); 0 when the route does not escalate.
	Level int
}

// Journey is the journey an incident is about.
type Journey struct {
	Name     string // its slug, "guest-checkout"
	Title    string // for people, "Guest checkout"; Name when empty
	Customer string
	Owner    string
	Tags     []string
	// Location is where the failing runs ran ("eu-west").
	Location string
}

// Run is the run that caused an event.
type Run struct {
	ID      string
	Outcome results.Outcome
	// Duration is the run's duration, and Threshold the limit it is held
	// to (the journey's fail threshold, or warn for a degraded run); zero
	// when the journey has none.
	Duration, Threshold time.Duration
	// Step is the step that decided the run. Its Number is 0 when no step
	// did (the run broke its own duration threshold): Cause and Error then
	// describe the run.
	Step Step
}

// Step is the step that decided a run.
type Step struct {
	Number   int // 1-based; 0 when no step decided the run
	Name     string
	Cause    results.Cause
	Error    string
	Expected string
	Actual   string
	URL      string // the page's URL after the step
}

// Links are the dashboard's pages for an event; empty without a public URL.
type Links struct {
	Incident   string
	Run        string
	Screenshot string
	// Journey is the journey's page, where a forecast's step is charted;
	// set for forecasts.
	Journey string
}

// RunFrom is the Run of a stored run, with the step that decided it
// (results.Run.DecidingStep), for the caller that turns a results.Run into
// an Event. threshold is the journey's limit the run is held to (zero when
// none).
func RunFrom(r *results.Run, threshold time.Duration) *Run {
	out := &Run{ID: r.ID, Outcome: r.Outcome, Duration: r.Duration, Threshold: threshold,
		Step: Step{Cause: r.Cause, Error: r.Error}}
	if s := r.DecidingStep(); s != nil {
		cause := s.Cause
		if cause == results.CauseNone {
			cause = r.Cause
		}
		out.Step = Step{Number: s.Index, Name: s.Name, Cause: cause, Error: s.Error,
			Expected: s.Expected, Actual: s.Actual, URL: s.URL}
	}
	return out
}

// TestEvent is an Event of kind test for proving that a channel works: a
// made-up incident WM-0 of a made-up journey, saying in every field that it
// is a test. PagerDuty triggers and at once resolves it.
func TestEvent(at time.Time) Event {
	return Event{
		Kind: KindTest,
		At:   at,
		Incident: Incident{Ref: "WM-0", Kind: IncidentSite, Severity: results.SeverityWarning,
			State: StateOpen, OpenedAt: at, FirstFailureAt: at, Failures: 1},
		Journey: Journey{Name: "waymark-test", Title: "Waymark test message", Location: "test"},
		Run: &Run{ID: "test", Outcome: results.Failed,
			Step: Step{Number: 1, Name: "Test step", Cause: results.CauseAssertion,
				Error: "this is a test message: nothing failed", Expected: "a message", Actual: "a message"}},
		Note: "Sent to check that this channel works.",
	}
}

// validate refuses an event no channel can render: an unknown kind (which
// includes failed_again, never sent), an incident's event without an
// incident reference, or a forecast without its forecast.
func (e *Event) validate() error {
	switch {
	case !e.Kind.sent():
		return fmt.Errorf("event kind %q is not sent: want one of opened, escalated, reminded, acknowledged, note, resolved, monitor_down, monitor_up, test, forecast", e.Kind)
	case e.Kind == KindForecast && e.Forecast == nil:
		return fmt.Errorf("forecast event of %s without its forecast", e.Journey.Name)
	case e.Kind != KindForecast && e.Incident.Ref == "":
		return fmt.Errorf("%s event without an incident reference", e.Kind)
	}
	return nil
}

// about names what the event is about in errors and logs: the incident's
// reference, or for a forecast the journey and step.
func (e *Event) about() string {
	if e.Kind == KindForecast && e.Forecast != nil {
		return fmt.Sprintf("%s step %d", e.Journey.Name, e.Forecast.Step)
	}
	return e.Incident.Ref
}

// title is the journey as people read it: its title, else its name.
func (j *Journey) title() string {
	if j.Title != "" {
		return j.Title
	}
	return j.Name
}
