package results

// Severity is how bad an incident is.
type Severity string

// Severities, from none to worst.
const (
	SeverityNone Severity = ""
	// SeverityInfo is no incident: a forecast that a step will cross its
	// warn threshold (see ForecastStep). Routes match it like the others.
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"  // the site is slow or an optional step fails
	SeverityCritical Severity = "critical" // the site fails
)

// AlertPolicy says when the runs of a journey (in one location) open,
// escalate and resolve an incident. Zero fields take the defaults
// (DefaultAlertPolicy): the config's `alert:` section and the journey's own
// override them field by field.
type AlertPolicy struct {
	// After is how many failed runs in a row open an incident.
	After int
	// Failures and Within, when set, replace After: Failures failed runs
	// among the last Within open an incident, for sites behind load
	// balancers that fail one run in three.
	Failures, Within int
	// DegradedAfter is how many degraded runs in a row open a warning.
	DegradedAfter int
	// ResolveAfter is how many passing (or degraded, once a critical
	// incident is open) runs in a row resolve it.
	ResolveAfter int
	// ErrorAfter is how many error runs in a row raise a monitor-health
	// alert: the monitor cannot check the site.
	ErrorAfter int
	// Severity is that of an incident opened by failed runs: critical
	// unless the journey says warning (a nice-to-have page).
	Severity Severity
}

// DefaultAlertPolicy is the policy where neither the config nor the
// journey says otherwise.
var DefaultAlertPolicy = AlertPolicy{After: 2, DegradedAfter: 3, ResolveAfter: 1, ErrorAfter: 3, Severity: SeverityCritical}

// withDefaults fills p's zero fields from DefaultAlertPolicy.
func (p AlertPolicy) withDefaults() AlertPolicy {
	d := DefaultAlertPolicy
	if p.After <= 0 {
		p.After = d.After
	}
	if p.Failures <= 0 || p.Within < p.Failures {
		p.Failures, p.Within = 0, 0
	}
	if p.DegradedAfter <= 0 {
		p.DegradedAfter = d.DegradedAfter
	}
	if p.ResolveAfter <= 0 {
		p.ResolveAfter = d.ResolveAfter
	}
	if p.ErrorAfter <= 0 {
		p.ErrorAfter = d.ErrorAfter
	}
	if p.Severity == SeverityNone {
		p.Severity = d.Severity
	}
	return p
}

// Change is what one run did to a journey's alert state.
type Change string

// Changes, in the order a Tracker reports them.
const (
	ChangeNone Change = ""
	// ChangeOpened: a site incident opens (its severity in State.Site).
	ChangeOpened Change = "opened"
	// ChangeEscalated: a warning became critical (the slow site now fails).
	ChangeEscalated Change = "escalated"
	// ChangeFailedAgain: a run failed while the incident was open; counted
	// on its timeline, not told to anyone again.
	ChangeFailedAgain Change = "failed_again"
	// ChangeResolved: enough runs passed; the incident resolves.
	ChangeResolved Change = "resolved"
	// ChangeMonitorDown: the monitor failed to check the site ErrorAfter
	// times in a row: a monitor-health alert for the operators.
	ChangeMonitorDown Change = "monitor_down"
	// ChangeMonitorUp: a run checked the site again.
	ChangeMonitorUp Change = "monitor_up"
)

// AlertState is where a journey (in one location) stands.
type AlertState struct {
	// Site is the severity of the open site incident, or none.
	Site Severity
	// Monitor is true while a monitor-health alert is up.
	Monitor bool
	// Failing says the journey's last runs meet the policy for a
	// critical incident, Slow for a warning; with several locations an
	// incident opens only when enough locations are failing at once.
	Failing, Slow bool
}

// Tracker folds one journey's runs in one location, oldest first, into
// its alert state, by the policy. It is pure: no clock, no I/O; the caller
// keeps it (or rebuilds it from the last runs) and acts on the changes.
// A Tracker is not safe for concurrent use.
type Tracker struct {
	policy AlertPolicy
	state  AlertState
	// recent are the last runs that checked the site (no error, no abort,
	// none in maintenance), newest last, at most max(Within, After).
	recent []Outcome
	// errors counts the error runs in a row.
	errors int
}

// NewTracker starts a journey's alert state with no incident.
func NewTracker(p AlertPolicy) *Tracker {
	return &Tracker{policy: p.withDefaults()}
}

// TrackerState is what a Tracker remembers between runs, to be kept in
// the store with each run and resumed for the next (ResumeTracker).
type TrackerState struct {
	State AlertState `json:"state"`
	// Recent are the outcomes of the last runs that checked the site,
	// oldest first.
	Recent []Outcome `json:"recent,omitempty"`
	// Errors counts the error runs in a row.
	Errors int `json:"errors,omitempty"`
}

// Snapshot is what the tracker remembers now.
func (t *Tracker) Snapshot() TrackerState {
	return TrackerState{State: t.state, Recent: append([]Outcome(nil), t.recent...), Errors: t.errors}
}

// ResumeTracker is a tracker under policy p that remembers s. A policy
// changed since s was kept (a shorter window) keeps the newest runs.
func ResumeTracker(p AlertPolicy, s TrackerState) *Tracker {
	t := NewTracker(p)
	t.state, t.errors = s.State, s.Errors
	keep := max(t.policy.Within, t.policy.After, t.policy.DegradedAfter, t.policy.ResolveAfter)
	t.recent = append(make([]Outcome, 0, keep), s.Recent[max(0, len(s.Recent)-keep):]...)
	return t
}

// State is where the journey stands now.
func (t *Tracker) State() AlertState { return t.state }

// Observe takes the next run's outcome. inMaintenance marks a run inside a
// maintenance window: it is recorded but changes nothing, so a deploy
// opens no incident and resolves none. An error run never counts for or
// against the site (only toward a monitor-health alert), nor does an
// aborted one. It returns what changed, most important first.
func (t *Tracker) Observe(o Outcome, inMaintenance bool) []Change {
	if inMaintenance || o == Aborted {
		return nil
	}
	var out []Change
	if o == Error {
		t.errors++
		if t.errors == t.policy.ErrorAfter && !t.state.Monitor {
			t.state.Monitor = true
			out = append(out, ChangeMonitorDown)
		}
		return out
	}
	t.errors = 0
	if t.state.Monitor {
		t.state.Monitor = false
		out = append(out, ChangeMonitorUp)
	}

	// A window of the last runs, shifted in place: no allocation per run.
	if keep := max(t.policy.Within, t.policy.After, t.policy.DegradedAfter, t.policy.ResolveAfter); len(t.recent) == keep {
		copy(t.recent, t.recent[1:])
		t.recent[keep-1] = o
	} else {
		t.recent = append(t.recent, o)
	}
	t.state.Failing = t.failing()
	t.state.Slow = t.tail(t.policy.DegradedAfter, func(o Outcome) bool { return o == Degraded || o == Failed })

	switch site := t.state.Site; {
	case site == SeverityNone && t.state.Failing:
		t.state.Site = t.policy.Severity
		out = append(out, ChangeOpened)
	case site == SeverityNone && t.state.Slow:
		t.state.Site = SeverityWarning
		out = append(out, ChangeOpened)
	case site == SeverityWarning && o == Failed && t.policy.Severity == SeverityCritical && t.state.Failing:
		t.state.Site = SeverityCritical
		out = append(out, ChangeEscalated)
	case site != SeverityNone && o == Failed:
		out = append(out, ChangeFailedAgain)
	case site != SeverityNone && t.resolved():
		t.state.Site = SeverityNone
		// A fresh start: a warning after this needs DegradedAfter new slow
		// runs, not the failures that just ended.
		t.recent = t.recent[:0]
		t.state.Failing, t.state.Slow = false, false
		out = append(out, ChangeResolved)
	}
	return out
}

// failing says whether the recent runs open a critical incident.
func (t *Tracker) failing() bool {
	if t.policy.Within > 0 {
		n := 0
		for _, o := range t.recent[max(0, len(t.recent)-t.policy.Within):] {
			if o == Failed {
				n++
			}
		}
		return n >= t.policy.Failures
	}
	return t.tail(t.policy.After, func(o Outcome) bool { return o == Failed })
}

// resolved says whether the last runs resolve the open incident: passed
// ones for a warning; passed or degraded ones for a critical incident
// (the site works again, if slowly: a warning may follow).
func (t *Tracker) resolved() bool {
	good := func(o Outcome) bool { return o == Passed }
	if t.state.Site == SeverityCritical {
		good = func(o Outcome) bool { return o == Passed || o == Degraded }
	}
	return t.tail(t.policy.ResolveAfter, good)
}

// tail says whether the last n recent runs all satisfy ok.
func (t *Tracker) tail(n int, ok func(Outcome) bool) bool {
	if n <= 0 || len(t.recent) < n {
		return false
	}
	for _, o := range t.recent[len(t.recent)-n:] {
		if !ok(o) {
			return false
		}
	}
	return true
}

// Quorum is the site severity over several locations of one journey, for
// `alert.locations: N`: an incident is critical only when at least need
// locations are failing at once, a warning when at least need are failing
// or slow; one probe's network is not an outage. need below 1 is 1.
func Quorum(states []AlertState, need int) Severity {
	need = max(need, 1)
	failing, slow := 0, 0
	for _, s := range states {
		switch {
		case s.Failing:
			failing++
			slow++
		case s.Slow:
			slow++
		}
	}
	switch {
	case failing >= need:
		return SeverityCritical
	case slow >= need:
		return SeverityWarning
	}
	return SeverityNone
}
