// Package alert turns kept runs into incidents and incidents into
// messages, and warns before a step crosses its threshold (forecast.go):
// in the transaction that keeps a run it folds the run into its
// journey's alert state (results' incident policy), opens, escalates,
// counts or resolves the journey's incident with its timeline, and inserts
// one River job per message; River then delivers each message through its
// channel (reports/notify) with retries, and the leader escalates and
// reminds unacknowledged incidents. A crash between a run and its
// incident, or between an incident and its messages, cannot happen: they
// are one transaction.
package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// Policy is a journey's incident policy: when its runs open and resolve
// incidents (results.AlertPolicy), in how many locations at once
// (Locations, at least 1), and how often an unacknowledged incident is
// told again (RemindEvery, 0 for never unless its route says).
type Policy struct {
	results.AlertPolicy
	Locations int
	// PerLocation gives each location its own site incident (Locations
	// then does not apply).
	PerLocation bool
	RemindEvery time.Duration
	// Recheck is how soon a failing journey runs again (see ObserveTx),
	// when its next slot is further away.
	Recheck time.Duration
}

// Remedy paces an action channel (a remediation): it is called once the
// incident has counted After failed runs (0: when it opens), at most
// MaxCalls times an incident (0: once), once per further failed run.
type Remedy struct {
	After, MaxCalls int
}

// Options configure a Manager.
type Options struct {
	// Store keeps incidents, their timelines and the alert states.
	Store *store.Store
	// Routes send incidents to channels, in order (see Route).
	Routes []Route
	// Channels deliver messages, by name.
	Channels map[string]notify.Channel
	// Policy gives a journey's incident policy; nil: the defaults.
	Policy func(j *journeys.Journey) Policy
	// InMaintenance says whether the journey is inside a maintenance
	// window at a time, for the escalations and reminders it pauses
	// (runs carry their own mark). nil: never.
	InMaintenance func(ctx context.Context, j *journeys.Journey, at time.Time) (bool, error)
	// Journey looks a journey up by name, for escalations and people's
	// actions, which no run brings. nil: the journey is known by name only.
	Journey func(name string) (*journeys.Journey, bool)
	// Journeys lists the journeys served, for the daily forecast of their
	// steps (see Forecast). nil: nothing is forecast.
	Journeys func() []*journeys.Journey
	// Forecast configures the daily forecast.
	Forecast ForecastOptions
	// PublicURL is where people reach the dashboard, for links; empty:
	// messages carry no links.
	PublicURL string
	// Remedies pace the action channels, by name; an action without an
	// entry is called once, when the incident opens.
	Remedies map[string]Remedy
	// Rerun runs the journey again at once in the location, after a
	// remediation (an action channel) was called, to verify it; nil: no
	// re-run.
	Rerun func(ctx context.Context, journey, location string) error
	// MaxAge is how long a message is retried before it is recorded as
	// failed (default 24h).
	MaxAge time.Duration
	// RetryBase is the wait before a message's second attempt, doubled for
	// each next one up to an hour (default 5s).
	RetryBase time.Duration
	// ChannelPoll is how often an agent looks for each channel's messages
	// (default 5s): a message waits at most this long after the run that
	// caused it, or after its retry is due. Each poll is a query, and an
	// idle agent polls every channel's queue (docs/performance.md).
	ChannelPoll time.Duration
	Now         func() time.Time // nil: time.Now
	Logger      *slog.Logger     // nil: discard
}

// Manager applies the incident policy and routes, and delivers, escalates
// and reminds through River. It is safe for concurrent use.
type Manager struct {
	o      Options
	log    *slog.Logger
	client *river.Client[*sql.Tx]
}

// New makes a Manager. It inserts no job until SetClient.
func New(o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Policy == nil {
		o.Policy = func(*journeys.Journey) Policy { return Policy{} }
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Second
	}
	if o.ChannelPoll <= 0 {
		o.ChannelPoll = 5 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{o: o, log: log}
}

// SetClient gives the Manager the River client it inserts its jobs with:
// the engine's (whose workers include the Manager's, see AddWorkers), or
// an insert-only client for a command that acknowledges an incident.
func (m *Manager) SetClient(c *river.Client[*sql.Tx]) { m.client = c }

// ObserveTx folds a kept run into its journey's incidents, within tx, the
// transaction that keeps the run: the alert state, the incident's change
// and its timeline, and a delivery job for each message. A run of a
// journey Waymark does not know, or a retried attempt, changes nothing.
//
// recheck says the journey should run again soon rather than at its next
// slot (Policy.Recheck): the run failed or was slow, or an incident of
// the site is open, and it ran outside maintenance.
func (m *Manager) ObserveTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, run *results.Run) (recheck bool, err error) {
	if j == nil || run == nil || run.Retried {
		return false, nil
	}
	siteOpen, err := m.observeTx(ctx, tx, j, run)
	if err != nil || run.Maintenance != "" {
		return false, err
	}
	return siteOpen || run.Outcome == results.Failed || run.Outcome == results.Degraded, nil
}

// observeTx is ObserveTx; siteOpen says whether the journey's site
// incident is open once the run is folded in (false in maintenance).
func (m *Manager) observeTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, run *results.Run) (siteOpen bool, err error) {
	st := m.o.Store
	if err := st.LockJourneyTx(ctx, tx, j.Name); err != nil {
		return false, err
	}
	states, err := st.AlertStatesTx(ctx, tx, j.Name)
	if err != nil {
		return false, err
	}
	p := m.o.Policy(j)
	tr := results.ResumeTracker(p.AlertPolicy, states[run.Location])
	changes := tr.Observe(run.Outcome, run.Maintenance != "")
	now := m.o.Now()
	states[run.Location] = tr.Snapshot()
	if err := st.SetAlertStateTx(ctx, tx, j.Name, run.Location, states[run.Location], now); err != nil {
		return false, err
	}
	for _, c := range changes {
		var err error
		switch c {
		case results.ChangeMonitorDown:
			err = m.openTx(ctx, tx, j, run, results.IncidentMonitor, run.Location, results.SeverityWarning, now)
		case results.ChangeMonitorUp:
			err = m.resolveTx(ctx, tx, j, run, results.IncidentMonitor, run.Location, now)
		}
		if err != nil {
			return false, err
		}
	}
	if run.Maintenance != "" {
		return false, nil
	}
	where, sev := "", siteSeverity(states, p.Locations)
	if p.PerLocation {
		where, sev = run.Location, states[run.Location].State.Site
	}
	open, err := st.OpenIncidentTx(ctx, tx, j.Name, where, results.IncidentSite)
	if err != nil {
		return false, err
	}
	switch {
	case open == nil && sev != results.SeverityNone:
		return true, m.openTx(ctx, tx, j, run, results.IncidentSite, where, sev, now)
	case open == nil:
		return false, nil
	case sev == results.SeverityNone:
		return false, m.closeTx(ctx, tx, j, open, run, "", "", now)
	case sev == results.SeverityCritical && open.Severity == results.SeverityWarning:
		open.Severity = results.SeverityCritical
		open.LastRun = run.ID
		open.Failures++
		if err := st.UpdateIncidentTx(ctx, tx, open); err != nil {
			return true, err
		}
		if err := st.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: open.ID, At: now, Kind: results.EventEscalated,
			RunID: run.ID, Detail: "warning became critical: the site now fails"}); err != nil {
			return true, err
		}
		return true, m.notifyTx(ctx, tx, j, open, notify.KindEscalated, run, "", "", m.reached(j, open))
	case run.Outcome == results.Failed || (open.Severity == results.SeverityWarning && run.Outcome == results.Degraded):
		open.LastRun = run.ID
		open.Failures++
		if err := st.UpdateIncidentTx(ctx, tx, open); err != nil {
			return true, err
		}
		if err := st.CountFailureTx(ctx, tx, open.ID, run.ID, now); err != nil {
			return true, err
		}
		return true, m.remedyTx(ctx, tx, j, open, run)
	}
	return true, nil
}

// remedyTx calls, after a further failed run of an open incident, the
// action channels it has reached whose turn it is: once the incident has
// counted their After failed runs, while they have been called fewer than
// MaxCalls times.
func (m *Manager) remedyTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, run *results.Run) error {
	for _, ch := range m.reached(j, inc) {
		if _, remedy := m.o.Channels[ch].(*notify.Action); !remedy {
			continue
		}
		r := m.o.Remedies[ch]
		if inc.Failures < r.After {
			continue
		}
		calls, err := m.o.Store.CountMessagesTx(ctx, tx, inc.ID, ch)
		if err != nil {
			return err
		}
		if calls >= max(r.MaxCalls, 1) {
			continue
		}
		// The first call is the incident's opening for the endpoint; a
		// further one says it is still open.
		kind := notify.KindOpened
		if calls > 0 {
			kind = notify.KindReminded
		}
		if err := m.sendTx(ctx, tx, j, inc, kind, run, "", "", []string{ch}); err != nil {
			return err
		}
	}
	return nil
}

// openingWindow bounds how far back the runs that opened an incident are
// looked for: the longest policy window anyone writes.
const openingWindow = 20

// siteSeverity is the journey's site severity over its locations: critical
// when at least need locations have a critical incident of their own by
// the policy, a warning when at least need have one of either.
func siteSeverity(states map[string]results.TrackerState, need int) results.Severity {
	need = max(need, 1)
	critical, any := 0, 0
	for _, s := range states {
		switch s.State.Site {
		case results.SeverityCritical:
			critical++
			any++
		case results.SeverityWarning:
			any++
		}
	}
	switch {
	case critical >= need:
		return results.SeverityCritical
	case any >= need:
		return results.SeverityWarning
	}
	return results.SeverityNone
}

// openTx opens an incident of the journey for run, and tells the first
// level of its routes.
func (m *Manager) openTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, run *results.Run,
	kind results.IncidentKind, location string, sev results.Severity, now time.Time) error {
	st := m.o.Store
	if open, err := st.OpenIncidentTx(ctx, tx, j.Name, location, kind); err != nil || open != nil {
		return err
	}
	inc := &results.Incident{Journey: j.Name, Location: location, Kind: kind, Severity: sev, State: results.IncidentOpen,
		OpenedAt: now, FirstRun: run.ID, LastRun: run.ID, FirstFailureAt: run.StartedAt, Failures: 1,
		Cause: run.Cause, Error: run.Error, Route: -1}
	if kind == results.IncidentSite {
		// The runs that opened it: the unbroken bad ones up to this one.
		bad := []results.Outcome{results.Failed}
		if sev == results.SeverityWarning {
			bad = append(bad, results.Degraded)
		}
		first, n, err := st.FirstOfStreakTx(ctx, tx, j.Name, location, bad, openingWindow)
		if err != nil {
			return err
		}
		if n > 0 {
			inc.FirstRun, inc.FirstFailureAt, inc.Failures = first.ID, first.StartedAt, n
		}
	}
	if inc.FirstFailureAt.IsZero() {
		inc.FirstFailureAt = now
	}
	if s := run.DecidingStep(); s != nil {
		inc.Step, inc.StepName, inc.Error = s.Index, s.Name, s.Error
		if s.Cause != results.CauseNone {
			inc.Cause = s.Cause
		}
	}
	routes := m.routes(j, inc)
	if len(routes) > 0 {
		inc.Route, inc.Level = routes[0], 1
	}
	m.schedule(j, inc, now)
	if err := st.CreateIncidentTx(ctx, tx, inc); err != nil {
		return err
	}
	what := "the site fails its journey"
	switch {
	case kind == results.IncidentMonitor:
		what = "the monitor cannot check the site: its runs end in error"
	case sev == results.SeverityWarning:
		what = "the site is slow on its journey"
	}
	if err := st.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: inc.ID, At: now, Kind: results.EventOpened,
		RunID: run.ID, Detail: what}); err != nil {
		return err
	}
	k := notify.KindOpened
	if kind == results.IncidentMonitor {
		k = notify.KindMonitorDown
	}
	return m.notifyTx(ctx, tx, j, inc, k, run, "", "", m.reached(j, inc))
}

// resolveTx resolves the open incident of the kind, by a run, and tells
// every level reached.
func (m *Manager) resolveTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, run *results.Run,
	kind results.IncidentKind, location string, now time.Time) error {
	st := m.o.Store
	inc, err := st.OpenIncidentTx(ctx, tx, j.Name, location, kind)
	if err != nil || inc == nil {
		return err
	}
	return m.closeTx(ctx, tx, j, inc, run, "", "", now)
}

// closeTx resolves inc, by run or by a person (by, with a reason).
func (m *Manager) closeTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, run *results.Run,
	by, reason string, now time.Time) error {
	st := m.o.Store
	inc.State, inc.ResolvedAt, inc.ResolvedBy = results.IncidentResolved, now, by
	inc.NextEscalationAt, inc.NextReminderAt = time.Time{}, time.Time{}
	ev := &results.IncidentEvent{IncidentID: inc.ID, At: now, Kind: results.EventResolved, By: by, Detail: reason}
	if run != nil {
		inc.LastRun, ev.RunID = run.ID, run.ID
		if ev.Detail == "" {
			ev.Detail = "the journey " + string(run.Outcome) + " again"
		}
	}
	if err := st.UpdateIncidentTx(ctx, tx, inc); err != nil {
		return err
	}
	if err := st.AddEventTx(ctx, tx, ev); err != nil {
		return err
	}
	if inc.Kind == results.IncidentSite && run == nil {
		// A person says the site works: the policy starts afresh, so the
		// next failures open a new incident rather than none.
		if err := m.resetTx(ctx, tx, j.Name, inc.Location, now); err != nil {
			return err
		}
	}
	k := notify.KindResolved
	if inc.Kind == results.IncidentMonitor {
		k = notify.KindMonitorUp
	}
	return m.notifyTx(ctx, tx, j, inc, k, run, by, reason, m.reached(j, inc))
}

// resetTx forgets the journey's site alert state in every location.
func (m *Manager) resetTx(ctx context.Context, tx *sqlx.Tx, journey, location string, now time.Time) error {
	states, err := m.o.Store.AlertStatesTx(ctx, tx, journey)
	if err != nil {
		return err
	}
	for loc, s := range states {
		if location != "" && loc != location {
			continue // an incident of one location: the others keep theirs
		}
		s.State.Site, s.State.Failing, s.State.Slow, s.Recent = results.SeverityNone, false, false, nil
		if err := m.o.Store.SetAlertStateTx(ctx, tx, journey, loc, s, now); err != nil {
			return err
		}
	}
	return nil
}

// deliverOpts places a message's job in its channel's queue: a channel
// that is down delays its own messages and no one else's.
func deliverOpts(channel string) *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueFor(channel), MaxAttempts: maxAttempts}
}

// notifyTx tells the channels about the incident, within tx, but for the
// action channels whose turn it is not (see remedyTx).
func (m *Manager) notifyTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, kind notify.Kind,
	run *results.Run, by, note string, channels []string) error {
	var send []string
	for _, ch := range channels {
		if _, remedy := m.o.Channels[ch].(*notify.Action); remedy &&
			((kind != notify.KindOpened && kind != notify.KindMonitorDown) || inc.Failures < m.o.Remedies[ch].After) {
			// A remediation is called when the incident opens (or once it
			// counts its After failed runs, see remedyTx); not to tell
			// anyone about escalations, notes or the end.
			continue
		}
		send = append(send, ch)
	}
	return m.sendTx(ctx, tx, j, inc, kind, run, by, note, send)
}

// sendTx records a message of the incident to each channel and inserts
// its delivery job, within tx.
func (m *Manager) sendTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, kind notify.Kind,
	run *results.Run, by, note string, channels []string) error {
	if len(channels) == 0 {
		return nil
	}
	if m.client == nil {
		return errors.New("alert: no River client to insert messages with")
	}
	now := m.o.Now()
	var jobs []river.InsertManyParams
	for _, ch := range channels {
		rec := &results.IncidentEvent{IncidentID: inc.ID, At: now, Kind: results.EventNotification, Channel: ch,
			Delivery: results.DeliveryPending, Detail: string(kind)}
		if run != nil {
			rec.RunID = run.ID
		}
		if err := m.o.Store.AddEventTx(ctx, tx, rec); err != nil {
			return err
		}
		ev := m.event(j, inc, kind, run, by, note, now)
		ev.ID = fmt.Sprintf("%s-%d", inc.Ref(), rec.ID)
		jobs = append(jobs, river.InsertManyParams{Args: deliverArgs{Message: rec.ID, Incident: inc.ID, Channel: ch, Event: ev},
			InsertOpts: deliverOpts(ch)})
	}
	if _, err := m.client.InsertManyTx(ctx, tx.Tx, jobs); err != nil {
		return fmt.Errorf("queue %d messages of %s: %w", len(jobs), inc.Ref(), err)
	}
	return nil
}

// event is the message about inc, as every channel renders it.
func (m *Manager) event(j *journeys.Journey, inc *results.Incident, kind notify.Kind, run *results.Run, by, note string, at time.Time) notify.Event {
	ev := notify.Event{Kind: kind, At: at, By: by, Note: note,
		Incident: notify.Incident{Ref: inc.Ref(), Kind: notify.IncidentKind(inc.Kind), Severity: inc.Severity,
			State: notify.State(inc.State), OpenedAt: inc.OpenedAt, AcknowledgedAt: inc.AcknowledgedAt,
			ResolvedAt: inc.ResolvedAt, FirstFailureAt: inc.FirstFailureAt, Failures: inc.Failures,
			TicketID: inc.TicketID, Level: inc.Level},
		Journey: notify.Journey{Name: j.Name, Title: j.Title, Customer: j.Customer, Owner: j.Owner,
			Tags: slices.Clone(j.Tags), Location: inc.Location},
	}
	if run != nil {
		ev.Journey.Location = run.Location
		threshold := j.Thresholds.Fail
		if run.Outcome == results.Degraded {
			threshold = j.Thresholds.Warn
		}
		ev.Run = notify.RunFrom(run, threshold)
	}
	if m.o.PublicURL != "" {
		ev.Links.Incident = m.o.PublicURL + "/incidents/" + inc.Ref()
		if run != nil {
			ev.Links.Run = m.o.PublicURL + "/runs/" + run.ID
			if s := run.DecidingStep(); s != nil && len(s.Artifacts) > 0 {
				ev.Links.Screenshot = fmt.Sprintf("%s/runs/%s/steps/%d/screenshot", m.o.PublicURL, run.ID, s.Index)
			}
		}
	}
	return ev
}
