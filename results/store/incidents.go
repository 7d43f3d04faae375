package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/results"
)

// LockJourneyTx makes the transactions that change a journey's incidents
// take turns: two agents finishing runs of one journey in two locations at
// once would otherwise both open its incident. On SQLite the write lock
// already does it; on PostgreSQL it is an advisory lock held until tx
// ends.
func (s *Store) LockJourneyTx(ctx context.Context, tx *sqlx.Tx, journey string) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("waymark journey " + journey))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock journey %s: %w", journey, err)
	}
	return nil
}

// AlertStatesTx returns the alert state kept for each location of the
// journey.
func (s *Store) AlertStatesTx(ctx context.Context, tx *sqlx.Tx, journey string) (map[string]results.TrackerState, error) {
	var rows []struct {
		Location string `db:"location"`
		State    string `db:"state"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT location, state FROM alert_states WHERE journey = ?`), journey); err != nil {
		return nil, fmt.Errorf("read the alert states of %s: %w", journey, err)
	}
	out := make(map[string]results.TrackerState, len(rows))
	for _, r := range rows {
		var st results.TrackerState
		if err := json.Unmarshal([]byte(r.State), &st); err != nil {
			return nil, fmt.Errorf("read the alert state of %s in %s: %w", journey, r.Location, err)
		}
		out[r.Location] = st
	}
	return out, nil
}

// SetAlertStateTx keeps the journey's alert state in the location.
func (s *Store) SetAlertStateTx(ctx context.Context, tx *sqlx.Tx, journey, location string, st results.TrackerState, at time.Time) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("keep the alert state of %s in %s: %w", journey, location, err)
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO alert_states (journey, location, state, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (journey, location) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`),
		journey, location, string(b), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("keep the alert state of %s in %s: %w", journey, location, err)
	}
	return nil
}

// incidentRow is a row of incidents.
type incidentRow struct {
	ID               int64         `db:"id"`
	Journey          string        `db:"journey"`
	Location         string        `db:"location"`
	Kind             string        `db:"kind"`
	Severity         string        `db:"severity"`
	State            string        `db:"state"`
	OpenedAt         int64         `db:"opened_at"`
	AcknowledgedAt   sql.NullInt64 `db:"acknowledged_at"`
	AcknowledgedBy   string        `db:"acknowledged_by"`
	ResolvedAt       sql.NullInt64 `db:"resolved_at"`
	ResolvedBy       string        `db:"resolved_by"`
	FirstRun         string        `db:"first_run"`
	LastRun          string        `db:"last_run"`
	FirstFailureAt   int64         `db:"first_failure_at"`
	Failures         int           `db:"failures"`
	Step             int           `db:"step"`
	StepName         string        `db:"step_name"`
	Cause            string        `db:"cause"`
	Error            string        `db:"error"`
	TicketID         string        `db:"ticket_id"`
	Route            int           `db:"route"`
	Level            int           `db:"level"`
	NextEscalationAt sql.NullInt64 `db:"next_escalation_at"`
	NextReminderAt   sql.NullInt64 `db:"next_reminder_at"`
}

const incidentColumns = `id, journey, location, kind, severity, state, opened_at, acknowledged_at, acknowledged_by,
	resolved_at, resolved_by, first_run, last_run, first_failure_at, failures, step, step_name, cause, error,
	ticket_id, route, level, next_escalation_at, next_reminder_at`

func toIncidentRow(i *results.Incident) incidentRow {
	return incidentRow{
		ID: i.ID, Journey: i.Journey, Location: i.Location, Kind: string(i.Kind), Severity: string(i.Severity),
		State: string(i.State), OpenedAt: i.OpenedAt.UnixMilli(), AcknowledgedAt: millis(i.AcknowledgedAt),
		AcknowledgedBy: text(i.AcknowledgedBy), ResolvedAt: millis(i.ResolvedAt), ResolvedBy: text(i.ResolvedBy),
		FirstRun: i.FirstRun, LastRun: i.LastRun, FirstFailureAt: i.FirstFailureAt.UnixMilli(), Failures: i.Failures,
		Step: i.Step, StepName: text(i.StepName), Cause: string(i.Cause), Error: text(i.Error),
		TicketID: text(i.TicketID), Route: i.Route, Level: i.Level,
		NextEscalationAt: millis(i.NextEscalationAt), NextReminderAt: millis(i.NextReminderAt),
	}
}

func (r incidentRow) incident() *results.Incident {
	return &results.Incident{
		ID: r.ID, Journey: r.Journey, Location: r.Location, Kind: results.IncidentKind(r.Kind),
		Severity: results.Severity(r.Severity), State: results.IncidentState(r.State),
		OpenedAt: time.UnixMilli(r.OpenedAt).UTC(), AcknowledgedAt: fromMillis(r.AcknowledgedAt),
		AcknowledgedBy: r.AcknowledgedBy, ResolvedAt: fromMillis(r.ResolvedAt), ResolvedBy: r.ResolvedBy,
		FirstRun: r.FirstRun, LastRun: r.LastRun, FirstFailureAt: time.UnixMilli(r.FirstFailureAt).UTC(),
		Failures: r.Failures, Step: r.Step, StepName: r.StepName, Cause: results.Cause(r.Cause), Error: r.Error,
		TicketID: r.TicketID, Route: r.Route, Level: r.Level,
		NextEscalationAt: fromMillis(r.NextEscalationAt), NextReminderAt: fromMillis(r.NextReminderAt),
	}
}

// OpenIncidentTx returns the open incident of the journey in the location
// (empty: over every location) of the kind, or nil when there is none.
func (s *Store) OpenIncidentTx(ctx context.Context, tx *sqlx.Tx, journey, location string, kind results.IncidentKind) (*results.Incident, error) {
	var row incidentRow
	err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE journey = ? AND location = ? AND kind = ? AND state <> 'resolved'`), journey, location, string(kind))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the open %s incident of %s: %w", kind, journey, err)
	}
	return row.incident(), nil
}

// CreateIncidentTx stores a new incident and sets its ID. A second open
// incident of the same journey, location and kind is refused.
func (s *Store) CreateIncidentTx(ctx context.Context, tx *sqlx.Tx, i *results.Incident) error {
	row := toIncidentRow(i)
	q := `INSERT INTO incidents (` + incidentColumns[len("id, "):] + `) VALUES (:journey, :location, :kind, :severity,
		:state, :opened_at, :acknowledged_at, :acknowledged_by, :resolved_at, :resolved_by, :first_run, :last_run,
		:first_failure_at, :failures, :step, :step_name, :cause, :error, :ticket_id, :route, :level,
		:next_escalation_at, :next_reminder_at) RETURNING id`
	query, args, err := tx.BindNamed(q, row)
	if err != nil {
		return fmt.Errorf("open an incident of %s: %w", i.Journey, err)
	}
	if err := tx.GetContext(ctx, &i.ID, query, args...); err != nil {
		return fmt.Errorf("open an incident of %s: %w", i.Journey, err)
	}
	return nil
}

// UpdateIncidentTx stores the incident's changed fields.
func (s *Store) UpdateIncidentTx(ctx context.Context, tx *sqlx.Tx, i *results.Incident) error {
	_, err := tx.NamedExecContext(ctx, `UPDATE incidents SET severity = :severity, state = :state,
		acknowledged_at = :acknowledged_at, acknowledged_by = :acknowledged_by, resolved_at = :resolved_at,
		resolved_by = :resolved_by, last_run = :last_run, failures = :failures, ticket_id = :ticket_id,
		route = :route, level = :level, next_escalation_at = :next_escalation_at, next_reminder_at = :next_reminder_at
		WHERE id = :id`, toIncidentRow(i))
	if err != nil {
		return fmt.Errorf("update incident %s: %w", i.Ref(), err)
	}
	return nil
}

// eventRow is a row of incident_events.
type eventRow struct {
	ID         int64  `db:"id"`
	IncidentID int64  `db:"incident_id"`
	At         int64  `db:"at"`
	Kind       string `db:"kind"`
	By         string `db:"by_whom"`
	RunID      string `db:"run_id"`
	Channel    string `db:"channel"`
	Delivery   string `db:"delivery"`
	Detail     string `db:"detail"`
	Count      int    `db:"count"`
}

func (r eventRow) event() results.IncidentEvent {
	return results.IncidentEvent{ID: r.ID, IncidentID: r.IncidentID, At: time.UnixMilli(r.At).UTC(),
		Kind: results.EventKind(r.Kind), By: r.By, RunID: r.RunID, Channel: r.Channel,
		Delivery: results.Delivery(r.Delivery), Detail: r.Detail, Count: r.Count}
}

// AddEventTx adds an entry to an incident's timeline and sets its ID.
func (s *Store) AddEventTx(ctx context.Context, tx *sqlx.Tx, e *results.IncidentEvent) error {
	if e.Count == 0 {
		e.Count = 1
	}
	query, args, err := tx.BindNamed(`INSERT INTO incident_events (incident_id, at, kind, by_whom, run_id, channel,
		delivery, detail, count) VALUES (:incident_id, :at, :kind, :by_whom, :run_id, :channel, :delivery, :detail, :count)
		RETURNING id`, eventRow{IncidentID: e.IncidentID, At: e.At.UnixMilli(), Kind: string(e.Kind), By: text(e.By),
		RunID: e.RunID, Channel: e.Channel, Delivery: string(e.Delivery), Detail: text(clipDetail(e.Detail)), Count: e.Count})
	if err != nil {
		return fmt.Errorf("add %s to incident WM-%d: %w", e.Kind, e.IncidentID, err)
	}
	if err := tx.GetContext(ctx, &e.ID, query, args...); err != nil {
		return fmt.Errorf("add %s to incident WM-%d: %w", e.Kind, e.IncidentID, err)
	}
	return nil
}

// maxDetail bounds a timeline entry's detail: a note or the first KB of
// an answer, not a page.
const maxDetail = 4 << 10

func clipDetail(s string) string { return results.Clip(s, maxDetail) }

// CountFailureTx counts one more failed run on the incident's timeline:
// one failed_again entry per incident, its count and time moving on.
func (s *Store) CountFailureTx(ctx context.Context, tx *sqlx.Tx, incidentID int64, runID string, at time.Time) error {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incident_events SET count = count + 1, at = ?, run_id = ?
		WHERE incident_id = ? AND kind = ?`), at.UnixMilli(), runID, incidentID, string(results.EventFailedAgain))
	if err != nil {
		return fmt.Errorf("count a failure of incident WM-%d: %w", incidentID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	return s.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: incidentID, At: at, Kind: results.EventFailedAgain, RunID: runID})
}

// CountMessagesTx counts the messages of the incident to the channel.
func (s *Store) CountMessagesTx(ctx context.Context, tx *sqlx.Tx, incidentID int64, channel string) (int, error) {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM incident_events WHERE incident_id = ? AND kind = ? AND channel = ?`),
		incidentID, string(results.EventNotification), channel); err != nil {
		return 0, fmt.Errorf("count the messages of WM-%d to %s: %w", incidentID, channel, err)
	}
	return n, nil
}

// SetDelivery records where a notification stands, and what the channel
// answered.
func (s *Store) SetDelivery(ctx context.Context, eventID int64, d results.Delivery, detail string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE incident_events SET delivery = ?, detail = ?, at = ? WHERE id = ?`,
		string(d), text(clipDetail(detail)), at.UnixMilli(), eventID); err != nil {
		return fmt.Errorf("record delivery %d as %s: %w", eventID, d, err)
	}
	return nil
}

// SetTicketID keeps the service-desk ticket id of an incident, the first
// one a channel answered with.
func (s *Store) SetTicketID(ctx context.Context, incidentID int64, ticket string) error {
	if _, err := s.exec(ctx, `UPDATE incidents SET ticket_id = ? WHERE id = ? AND ticket_id = ''`, text(ticket), incidentID); err != nil {
		return fmt.Errorf("keep the ticket of incident WM-%d: %w", incidentID, err)
	}
	return nil
}

// Incident returns the incident with the ID, or an error saying there is
// none.
func (s *Store) Incident(ctx context.Context, id int64) (*results.Incident, error) {
	return getIncident(ctx, s.db, id)
}

// IncidentTx is Incident within tx.
func (s *Store) IncidentTx(ctx context.Context, tx *sqlx.Tx, id int64) (*results.Incident, error) {
	return getIncident(ctx, tx, id)
}

// queryer reads through the pool or within a transaction.
type queryer interface {
	sqlx.QueryerContext
	Rebind(string) string
}

func getIncident(ctx context.Context, q queryer, id int64) (*results.Incident, error) {
	var row incidentRow
	err := sqlx.GetContext(ctx, q, &row, q.Rebind(`SELECT `+incidentColumns+` FROM incidents WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("incident WM-%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read incident WM-%d: %w", id, err)
	}
	return row.incident(), nil
}

// IncidentFilter selects incidents to list.
type IncidentFilter struct {
	// All includes resolved incidents; otherwise only open ones.
	All      bool
	Journey  string
	Customer string // the journey's customer
	Limit    int    // 0: 100
}

// Incidents lists incidents, open ones first, newest first within each.
func (s *Store) Incidents(ctx context.Context, f IncidentFilter) ([]*results.Incident, error) {
	q := `SELECT ` + prefixed("i.", incidentColumns) + ` FROM incidents i LEFT JOIN journeys j ON j.name = i.journey WHERE 1 = 1`
	var args []any
	if !f.All {
		q += ` AND i.state <> 'resolved'`
	}
	if f.Journey != "" {
		q += ` AND i.journey = ?`
		args = append(args, f.Journey)
	}
	if f.Customer != "" {
		q += ` AND j.customer = ?`
		args = append(args, f.Customer)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY CASE WHEN i.state = 'resolved' THEN 1 ELSE 0 END, i.opened_at DESC, i.id DESC LIMIT ?`
	args = append(args, limit)
	var rows []incidentRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out := make([]*results.Incident, len(rows))
	for i, r := range rows {
		out[i] = r.incident()
	}
	return out, nil
}

// Timeline returns the incident's timeline, oldest first.
func (s *Store) Timeline(ctx context.Context, id int64) ([]results.IncidentEvent, error) {
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, incident_id, at, kind, by_whom, run_id, channel,
		delivery, detail, count FROM incident_events WHERE incident_id = ? ORDER BY id`), id); err != nil {
		return nil, fmt.Errorf("read the timeline of WM-%d: %w", id, err)
	}
	out := make([]results.IncidentEvent, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// DueIncidents are the open, unacknowledged incidents whose next
// escalation or reminder is due at now.
func (s *Store) DueIncidents(ctx context.Context, now time.Time) ([]*results.Incident, error) {
	var rows []incidentRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE state = 'open' AND (next_escalation_at <= ? OR next_reminder_at <= ?) ORDER BY id`),
		now.UnixMilli(), now.UnixMilli()); err != nil {
		return nil, fmt.Errorf("list incidents due to escalate or remind: %w", err)
	}
	out := make([]*results.Incident, len(rows))
	for i, r := range rows {
		out[i] = r.incident()
	}
	return out, nil
}

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = alias + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// RunRef names a run and when it started.
type RunRef struct {
	ID        string    `db:"id"`
	StartedAt time.Time `db:"-"`
}

// FirstOfStreakTx looks at the journey's last runs in the location (every
// location when empty), at most window of them, newest first, skipping
// those that checked nothing (error, aborted) or ran in maintenance, and
// returns the oldest of the unbroken run of outcomes in bad that ends
// with the newest, and how many that run has.
func (s *Store) FirstOfStreakTx(ctx context.Context, tx *sqlx.Tx, journey, location string, bad []results.Outcome, window int) (RunRef, int, error) {
	q := `SELECT id, started_at, outcome FROM runs WHERE journey = ? AND retried = FALSE AND maintenance = ''
		AND outcome NOT IN ('error', 'aborted')`
	args := []any{journey}
	if location != "" {
		q += ` AND location = ?`
		args = append(args, location)
	}
	q += ` ORDER BY started_at DESC LIMIT ?`
	args = append(args, window)
	var rows []struct {
		ID        string          `db:"id"`
		StartedAt sql.NullInt64   `db:"started_at"`
		Outcome   results.Outcome `db:"outcome"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return RunRef{}, 0, fmt.Errorf("read the last runs of %s: %w", journey, err)
	}
	var first RunRef
	n := 0
	for _, r := range rows {
		if !slices.Contains(bad, r.Outcome) {
			break
		}
		first, n = RunRef{ID: r.ID, StartedAt: fromMillis(r.StartedAt)}, n+1
	}
	return first, n, nil
}
