package alert

import (
	"slices"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// Route sends the incidents it matches to channels, in escalation levels:
// the first level at once, each next one when the incident is still
// unacknowledged after its delay. Routes are tried in order; the first
// that matches takes the incident, and so does each later one that
// matches while the routes matched so far say Continue.
type Route struct {
	Match Match
	// Levels are the escalation levels, the first usually After 0; a route
	// without escalation has one level.
	Levels []Level
	// Continue lets the routes after this one match the incident too.
	Continue bool
	// RemindEvery repeats the latest message to the levels reached while
	// the incident is unacknowledged; 0 takes the journey's policy.
	RemindEvery time.Duration
}

// Level is one escalation level of a route.
type Level struct {
	// After is how long after the incident opened this level is told.
	After time.Duration
	// To are channel names.
	To []string
}

// Match selects incidents; an empty field matches anything, and every
// set field must match.
type Match struct {
	Journey, Owner, Customer, Tag, Location string
	Severity                                results.Severity
	Kind                                    results.IncidentKind
}

// matches says whether the route's match takes inc of journey j.
func (m Match) matches(j *journeys.Journey, inc *results.Incident) bool {
	return (m.Journey == "" || m.Journey == j.Name) &&
		(m.Owner == "" || m.Owner == j.Owner) &&
		(m.Customer == "" || m.Customer == j.Customer) &&
		(m.Tag == "" || slices.Contains(j.Tags, m.Tag)) &&
		(m.Location == "" || m.Location == inc.Location) &&
		(m.Severity == "" || m.Severity == inc.Severity) &&
		(m.Kind == "" || m.Kind == inc.Kind)
}

// routes are the indexes of the routes that take inc: the first match,
// and the later matches while the routes matched say Continue. A monitor
// incident is taken only by routes that name its kind: the site's owner
// is never paged for the monitor's own trouble.
func (m *Manager) routes(j *journeys.Journey, inc *results.Incident) []int {
	var out []int
	for i, r := range m.o.Routes {
		if inc.Kind == results.IncidentMonitor && r.Match.Kind != results.IncidentMonitor {
			continue
		}
		if !r.Match.matches(j, inc) {
			continue
		}
		out = append(out, i)
		if !r.Continue {
			break
		}
	}
	return out
}

// reached are the channels of the levels inc has reached on its routes,
// each once.
func (m *Manager) reached(j *journeys.Journey, inc *results.Incident) []string {
	return m.channels(j, inc, 1, inc.Level)
}

// channels are the channels of levels from..to (1-based) of inc's routes,
// each once, in order.
func (m *Manager) channels(j *journeys.Journey, inc *results.Incident, from, to int) []string {
	var out []string
	for _, i := range m.routes(j, inc) {
		levels := m.o.Routes[i].Levels
		for l := from; l <= min(to, len(levels)); l++ {
			for _, ch := range levels[l-1].To {
				if !slices.Contains(out, ch) {
					out = append(out, ch)
				}
			}
		}
	}
	return out
}

// schedule sets when inc's next escalation level and next reminder are
// due, from now; zero when none is.
func (m *Manager) schedule(j *journeys.Journey, inc *results.Incident, now time.Time) {
	inc.NextEscalationAt, inc.NextReminderAt = time.Time{}, time.Time{}
	if inc.State != results.IncidentOpen {
		return
	}
	remind := m.o.Policy(j).RemindEvery
	for _, i := range m.routes(j, inc) {
		r := m.o.Routes[i]
		if inc.Level < len(r.Levels) {
			at := inc.OpenedAt.Add(r.Levels[inc.Level].After)
			if inc.NextEscalationAt.IsZero() || at.Before(inc.NextEscalationAt) {
				inc.NextEscalationAt = at
			}
		}
		if r.RemindEvery > 0 {
			remind = r.RemindEvery
		}
	}
	if remind > 0 {
		inc.NextReminderAt = now.Add(remind)
	}
}
