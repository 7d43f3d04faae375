package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// EscalateEvery is how often the leader looks for incidents due to
// escalate or remind: a level is told at most this late.
const EscalateEvery = 15 * time.Second

// escalateArgs is the periodic escalation check.
type escalateArgs struct{}

func (escalateArgs) Kind() string { return "waymark_escalate" }

func (escalateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "control", MaxAttempts: 1}
}

type escalator struct {
	river.WorkerDefaults[escalateArgs]
	m *Manager
}

func (e *escalator) Work(ctx context.Context, _ *river.Job[escalateArgs]) error {
	return e.m.Escalate(ctx)
}

// Escalate tells the next level of each unacknowledged incident whose
// delay has passed, and reminds the levels reached of those whose
// reminder is due; each in its own transaction. A journey in a
// maintenance window is left alone until the window ends.
func (m *Manager) Escalate(ctx context.Context) error {
	now := m.o.Now()
	due, err := m.o.Store.DueIncidents(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		j := m.journey(d.Journey)
		if m.o.InMaintenance != nil {
			in, err := m.o.InMaintenance(ctx, j, now)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if in {
				continue
			}
		}
		err := m.o.Store.Tx(ctx, func(tx *sqlx.Tx) error {
			inc, err := m.o.Store.IncidentTx(ctx, tx, d.ID)
			if err != nil {
				return err
			}
			if inc.State != results.IncidentOpen {
				return nil // acknowledged or resolved meanwhile
			}
			return m.escalateTx(ctx, tx, j, inc, now)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("escalate %s: %w", d.Ref(), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) escalateTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, now time.Time) error {
	st := m.o.Store
	if !inc.NextEscalationAt.IsZero() && !now.Before(inc.NextEscalationAt) {
		inc.Level++
		if err := st.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: inc.ID, At: now, Kind: results.EventEscalated,
			Detail: fmt.Sprintf("level %d: nobody acknowledged it", inc.Level)}); err != nil {
			return err
		}
		m.schedule(j, inc, now)
		if err := st.UpdateIncidentTx(ctx, tx, inc); err != nil {
			return err
		}
		return m.notifyTx(ctx, tx, j, inc, notify.KindEscalated, nil, "", "", m.channels(j, inc, inc.Level, inc.Level))
	}
	if !inc.NextReminderAt.IsZero() && !now.Before(inc.NextReminderAt) {
		if err := st.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: inc.ID, At: now, Kind: results.EventReminded}); err != nil {
			return err
		}
		next := inc.NextEscalationAt
		m.schedule(j, inc, now)
		inc.NextEscalationAt = next
		if err := st.UpdateIncidentTx(ctx, tx, inc); err != nil {
			return err
		}
		return m.notifyTx(ctx, tx, j, inc, notify.KindReminded, nil, "", "", m.reached(j, inc))
	}
	return nil
}

// journey is the named journey, or a stand-in that knows only its name.
func (m *Manager) journey(name string) *journeys.Journey {
	if m.o.Journey != nil {
		if j, ok := m.o.Journey(name); ok {
			return j
		}
	}
	return &journeys.Journey{Name: name}
}

// Acknowledge records that a person took the incident: escalation and
// reminders stop, and the levels reached are told.
func (m *Manager) Acknowledge(ctx context.Context, id int64, by, note string) (*results.Incident, error) {
	return m.act(ctx, id, func(tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, now time.Time) error {
		if inc.State != results.IncidentOpen {
			return fmt.Errorf("%s is %s already: %w", inc.Ref(), inc.State, ErrAlready)
		}
		inc.State, inc.AcknowledgedAt, inc.AcknowledgedBy = results.IncidentAcknowledged, now, by
		inc.NextEscalationAt, inc.NextReminderAt = time.Time{}, time.Time{}
		if err := m.o.Store.UpdateIncidentTx(ctx, tx, inc); err != nil {
			return err
		}
		if err := m.o.Store.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: inc.ID, At: now,
			Kind: results.EventAcknowledged, By: by, Detail: note}); err != nil {
			return err
		}
		return m.notifyTx(ctx, tx, j, inc, notify.KindAcknowledged, nil, by, note, m.reached(j, inc))
	})
}

// Note adds a person's note to the incident's timeline and tells the
// levels reached.
func (m *Manager) Note(ctx context.Context, id int64, by, note string) (*results.Incident, error) {
	return m.act(ctx, id, func(tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, now time.Time) error {
		if err := m.o.Store.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: inc.ID, At: now,
			Kind: results.EventNote, By: by, Detail: note}); err != nil {
			return err
		}
		if !inc.Open() {
			return nil
		}
		return m.notifyTx(ctx, tx, j, inc, notify.KindNote, nil, by, note, m.reached(j, inc))
	})
}

// Resolve resolves the incident by a person, with a reason; every level
// reached is told.
func (m *Manager) Resolve(ctx context.Context, id int64, by, reason string) (*results.Incident, error) {
	return m.act(ctx, id, func(tx *sqlx.Tx, j *journeys.Journey, inc *results.Incident, now time.Time) error {
		if !inc.Open() {
			return fmt.Errorf("%s is resolved already: %w", inc.Ref(), ErrAlready)
		}
		return m.closeTx(ctx, tx, j, inc, nil, by, reason, now)
	})
}

// act runs a person's action on an incident in one transaction.
func (m *Manager) act(ctx context.Context, id int64, fn func(*sqlx.Tx, *journeys.Journey, *results.Incident, time.Time) error) (*results.Incident, error) {
	var out *results.Incident
	err := m.o.Store.Tx(ctx, func(tx *sqlx.Tx) error {
		inc, err := m.o.Store.IncidentTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := m.o.Store.LockJourneyTx(ctx, tx, inc.Journey); err != nil {
			return err
		}
		if err := fn(tx, m.journey(inc.Journey), inc, m.o.Now()); err != nil {
			return err
		}
		out = inc
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no incident WM-%d: %w", id, store.ErrNotFound)
	}
	return out, err
}

// ErrAlready is why a person's action did nothing: the incident is
// already acknowledged or resolved.
var ErrAlready = errors.New("nothing to do")
