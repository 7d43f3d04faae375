package results

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// IncidentKind says whether an incident is about the site or about the
// monitor itself.
type IncidentKind string

// Incident kinds; routes match on them.
const (
	// IncidentSite: the site fails (or is slow on) its journey.
	IncidentSite IncidentKind = "site"
	// IncidentMonitor: the monitor cannot check the site (its runs end in
	// error); for the operators, never the site's owner.
	IncidentMonitor IncidentKind = "monitor"
)

// IncidentState is where an incident stands.
type IncidentState string

// Incident states.
const (
	IncidentOpen         IncidentState = "open"
	IncidentAcknowledged IncidentState = "acknowledged"
	IncidentResolved     IncidentState = "resolved"
)

// Incident is one outage (or slowdown) of one journey, from the run that
// opened it to the run or the person that resolved it. Its reference,
// WM-<ID>, is what people, tickets and pagers call it.
type Incident struct {
	ID      int64
	Journey string
	// Location is where it fails; empty for a site incident over every
	// location of the journey.
	Location string
	Kind     IncidentKind
	Severity Severity
	State    IncidentState

	OpenedAt, AcknowledgedAt, ResolvedAt time.Time
	AcknowledgedBy, ResolvedBy           string // a person; empty for Waymark

	// FirstRun and LastRun are the first failing run and the latest run
	// counted; FirstFailureAt is when the first failing run started.
	FirstRun, LastRun string
	FirstFailureAt    time.Time
	// Failures counts the failed (or, for a warning, slow; for a monitor
	// incident, error) runs of the incident.
	Failures int

	// Step (1-based, 0 for none), StepName, Cause and Error are what
	// failed in the run that opened the incident, secrets masked.
	Step     int
	StepName string
	Cause    Cause
	Error    string

	// TicketID is the service-desk ticket a webhook answered with.
	TicketID string
	// Route is the index of the route that took the incident (-1: none),
	// Level the escalation level of that route reached (1 the first).
	Route, Level int
	// NextEscalationAt and NextReminderAt are when the next level and the
	// next reminder are due; zero when none is.
	NextEscalationAt, NextReminderAt time.Time
}

// Ref is the incident's reference, "WM-12".
func (i *Incident) Ref() string { return "WM-" + strconv.FormatInt(i.ID, 10) }

// Open says whether the incident is still open (acknowledged or not).
func (i *Incident) Open() bool { return i.State != IncidentResolved }

// ParseRef reads an incident reference, "WM-12" (any case) or "12".
func ParseRef(ref string) (int64, error) {
	s := strings.TrimSpace(ref)
	if len(s) > 3 && strings.EqualFold(s[:3], "WM-") {
		s = s[3:]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("incident reference %q: want WM- and a number, like WM-12", ref)
	}
	return id, nil
}

// EventKind is what an entry of an incident's timeline records.
type EventKind string

// Timeline entries.
const (
	EventOpened EventKind = "opened"
	// EventFailedAgain is one entry per incident, counting the failed runs
	// after the one that opened it: a timeline is read, not scrolled.
	EventFailedAgain  EventKind = "failed_again"
	EventEscalated    EventKind = "escalated"
	EventReminded     EventKind = "reminded"
	EventAcknowledged EventKind = "acknowledged"
	EventNote         EventKind = "note"
	EventRemediation  EventKind = "remediation"
	// EventNotification is one message to one channel, with its delivery
	// state.
	EventNotification EventKind = "notification"
	EventResolved     EventKind = "resolved"
)

// Delivery is where a notification stands.
type Delivery string

// Delivery states.
const (
	DeliveryPending   Delivery = "pending"
	DeliveryDelivered Delivery = "delivered"
	DeliveryFailed    Delivery = "failed"
)

// IncidentEvent is one entry of an incident's timeline.
type IncidentEvent struct {
	ID         int64
	IncidentID int64
	At         time.Time
	Kind       EventKind
	By         string // who acted; empty for Waymark
	RunID      string // the run that caused it, if one did
	Channel    string // notifications: the channel's name
	Delivery   Delivery
	// Detail is what a person wrote, what an event was about (for a
	// notification, the event it carries: "opened"), or what a channel
	// answered.
	Detail string
	// Count is how many runs a failed_again entry counts; 1 otherwise.
	Count int
}
