package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Agent is one running `waymark serve`, as its heartbeat reports it.
type Agent struct {
	ID        string // unique per process, River's client ID
	Location  string // the location whose queue it works
	Version   string // waymark's version
	Host      string
	StartedAt time.Time
	LastSeen  time.Time // its last heartbeat
	Running   int       // runs in progress at the last heartbeat
}

// agentRow is a row of agents.
type agentRow struct {
	ID        string `db:"id"`
	Location  string `db:"location"`
	Version   string `db:"version"`
	Host      string `db:"host"`
	StartedAt int64  `db:"started_at"`
	LastSeen  int64  `db:"last_seen"`
	Running   int    `db:"running"`
}

// Heartbeat records that agent a is alive: it inserts or replaces its row.
// A zero LastSeen is the store's clock now, a zero StartedAt is LastSeen.
func (s *Store) Heartbeat(ctx context.Context, a Agent) error {
	if a.ID == "" {
		return errors.New("heartbeat: the agent has no ID")
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = s.now()
	}
	if a.StartedAt.IsZero() {
		a.StartedAt = a.LastSeen
	}
	_, err := s.exec(ctx, `INSERT INTO agents (id, location, version, host, started_at, last_seen, running)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET location = excluded.location, version = excluded.version,
			host = excluded.host, started_at = excluded.started_at, last_seen = excluded.last_seen,
			running = excluded.running`,
		a.ID, a.Location, text(a.Version), text(a.Host), a.StartedAt.UnixMilli(), a.LastSeen.UnixMilli(), a.Running)
	if err != nil {
		return fmt.Errorf("heartbeat of agent %s: %w", a.ID, err)
	}
	return nil
}

// Agents returns every agent that has a row, by location then ID: those
// alive and those that died without RemoveAgent (see LastSeen).
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	var rows []agentRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, location, version, host, started_at, last_seen, running
		FROM agents ORDER BY location, id`); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	list := make([]Agent, len(rows))
	for i, r := range rows {
		list[i] = Agent{ID: r.ID, Location: r.Location, Version: r.Version, Host: r.Host,
			StartedAt: time.UnixMilli(r.StartedAt).UTC(), LastSeen: time.UnixMilli(r.LastSeen).UTC(), Running: r.Running}
	}
	return list, nil
}

// ActiveLocations returns, sorted, the locations of the agents seen at or
// after since: "every location that has an agent" for a journey that names
// none.
func (s *Store) ActiveLocations(ctx context.Context, since time.Time) ([]string, error) {
	locs := []string{}
	if err := s.db.SelectContext(ctx, &locs, s.db.Rebind(`SELECT DISTINCT location FROM agents
		WHERE last_seen >= ? ORDER BY location`), since.UnixMilli()); err != nil {
		return nil, fmt.Errorf("list active locations: %w", err)
	}
	return locs, nil
}

// RemoveAgent deletes the agent's row, at a clean shutdown. Removing an
// agent that has no row is not an error.
func (s *Store) RemoveAgent(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, `DELETE FROM agents WHERE id = ?`, id); err != nil {
		return fmt.Errorf("remove agent %s: %w", id, err)
	}
	return nil
}

// Place is a journey in a location: what a last slot is kept for. It has
// the fields of runner/schedule.Place, so one converts to the other.
type Place struct{ Journey, Location string }

// LastSlots returns the last slot dispatched of every journey and
// location, in one read however many journeys there are: the dispatcher
// reads them every few seconds.
func (s *Store) LastSlots(ctx context.Context) (map[Place]time.Time, error) {
	var rows []struct {
		Journey  string `db:"journey"`
		Location string `db:"location"`
		Slot     int64  `db:"last_slot"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT journey, location, last_slot FROM dispatch`); err != nil {
		return nil, fmt.Errorf("read the last slots dispatched: %w", err)
	}
	last := make(map[Place]time.Time, len(rows))
	for _, r := range rows {
		last[Place{r.Journey, r.Location}] = time.UnixMilli(r.Slot).UTC()
	}
	return last, nil
}

// slotsPerStatement bounds the rows of one insert of SetLastSlots, well
// under SQLite's limit of bound parameters.
const slotsPerStatement = 200

// SetLastSlots records each slot as the last dispatched of its journey
// and location, in one transaction. A slot only ever moves forward: one
// older than the one stored (a leader that lagged behind its successor)
// changes nothing.
func (s *Store) SetLastSlots(ctx context.Context, slots map[Place]time.Time) error {
	if len(slots) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(slots))
	for p, slot := range slots {
		if slot.IsZero() {
			return fmt.Errorf("set the last slot of %s in %s: zero slot", p.Journey, p.Location)
		}
		args = append(args, p.Journey, p.Location, slot.UnixMilli())
	}
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		for len(args) > 0 {
			n := min(len(args)/3, slotsPerStatement)
			values := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ")
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO dispatch (journey, location, last_slot) VALUES `+values+`
				ON CONFLICT (journey, location) DO UPDATE SET last_slot = excluded.last_slot
				WHERE dispatch.last_slot < excluded.last_slot`), args[:3*n]...)
			if err != nil {
				return err
			}
			args = args[3*n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set the last slots of %d journeys: %w", len(slots), err)
	}
	return nil
}

// Reasons a slot did not run, as Miss.Reason holds them.
const (
	// MissSkipped: the journey's previous run in that location still went
	// when the slot was due.
	MissSkipped = "skipped"
	// MissDropped: the slot was too old to run when a worker could take it,
	// or fell due while no leader dispatched.
	MissDropped = "dropped"
)

// Miss is a slot that did not run. It has the fields of
// runner/schedule.Miss, so one converts to the other.
type Miss struct {
	Journey, Location string
	Slot              time.Time // when the slot was due
	Reason            string    // MissSkipped or MissDropped
	At                time.Time // when it was found missed; zero: the store's clock now
	Agent             string    // the agent that found it
}

// RecordMiss keeps a missed slot. A slot is counted once per reason:
// recording it again (a retried job, a new leader) is not an error and
// keeps the first record.
func (s *Store) RecordMiss(ctx context.Context, m Miss) error {
	switch {
	case m.Reason != MissSkipped && m.Reason != MissDropped:
		return fmt.Errorf("record a missed slot of %s in %s: reason %q, want %q or %q",
			m.Journey, m.Location, m.Reason, MissSkipped, MissDropped)
	case m.Slot.IsZero():
		return fmt.Errorf("record a missed slot of %s in %s: zero slot", m.Journey, m.Location)
	}
	if m.At.IsZero() {
		m.At = s.now()
	}
	_, err := s.exec(ctx, `INSERT INTO slot_misses (journey, location, slot, reason, at, agent)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (journey, location, slot, reason) DO NOTHING`,
		m.Journey, m.Location, m.Slot.UnixMilli(), m.Reason, m.At.UnixMilli(), text(m.Agent))
	if err != nil {
		return fmt.Errorf("record %s slot %s of %s in %s: %w", m.Reason, m.Slot.UTC().Format(time.RFC3339), m.Journey, m.Location, err)
	}
	return nil
}

// MissCount is how many slots of a journey in a location were missed for
// one reason.
type MissCount struct {
	Journey, Location string
	Reason            string // MissSkipped or MissDropped
	Count             int
}

// MissCounts counts the missed slots due at or after since (the zero time:
// all of them) by journey, location and reason, in that order.
func (s *Store) MissCounts(ctx context.Context, since time.Time) ([]MissCount, error) {
	q, args := `SELECT journey, location, reason, COUNT(*) AS n FROM slot_misses`, []any{}
	if !since.IsZero() {
		q, args = q+` WHERE slot >= ?`, append(args, since.UnixMilli())
	}
	q += ` GROUP BY journey, location, reason ORDER BY journey, location, reason`
	var rows []struct {
		Journey  string `db:"journey"`
		Location string `db:"location"`
		Reason   string `db:"reason"`
		N        int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("count missed slots: %w", err)
	}
	counts := make([]MissCount, len(rows))
	for i, r := range rows {
		counts[i] = MissCount{Journey: r.Journey, Location: r.Location, Reason: r.Reason, Count: r.N}
	}
	return counts, nil
}
