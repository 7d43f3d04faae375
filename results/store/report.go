package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// What `waymark report` reads: a period of a set of journeys, mostly from
// the hourly aggregates, which hold years in few rows, and from the raw
// runs only what the aggregates do not keep (maintenance marks, failure
// causes, the order of outcomes).

// PeriodFilter selects what a report reads: the runs of the journeys
// named (nil: every journey; empty but not nil: none) that started from
// Since until Until.
type PeriodFilter struct {
	Journeys     []string
	Since, Until time.Time
}

// inJourneys is the condition " AND col IN (?, …)" on journeys, with its
// arguments: nothing for nil (every journey), a condition no row meets
// for an empty list.
func inJourneys(col string, journeys []string) (string, []any) {
	switch {
	case journeys == nil:
		return "", nil
	case len(journeys) == 0:
		return " AND 1 = 0", nil
	}
	args := make([]any, len(journeys))
	for i, j := range journeys {
		args[i] = j
	}
	return " AND " + col + " IN (?" + strings.Repeat(", ?", len(journeys)-1) + ")", args
}

// PeriodHours returns the hourly aggregates of the journeys f names for
// the hours from the start of f.Since's hour until f.Until: from
// journey_hours and step_hours for the hours already aggregated, and
// computed from the runs the same way for the later ones (the last hour
// or so under `waymark serve`; every hour of a database nothing has
// pruned yet), so a report reads one kind of row for its whole period.
// An aggregated hour that f.Until cuts is computed from the runs as well,
// so no run after f.Until counts. Journey hours come by journey, location
// and hour, step hours by journey, step index, name and hour.
func (s *Store) PeriodHours(ctx context.Context, f PeriodFilter) ([]JourneyHour, []StepHour, error) {
	since, until := floorHour(f.Since.UnixMilli()), f.Until.UnixMilli()
	if until <= since {
		return nil, nil, nil
	}
	watermark, err := s.aggregatedUntil(ctx)
	if err != nil {
		return nil, nil, err
	}
	stored := min(watermark, floorHour(until)) // hours before it are read from the tables
	var jrows []journeyHourRow
	var srows []stepHourRow
	if stored > since {
		only, args := inJourneys("journey", f.Journeys)
		args = append([]any{since, stored}, args...)
		if err := s.db.SelectContext(ctx, &jrows, s.db.Rebind(`SELECT `+journeyHourColumns+` FROM journey_hours
			WHERE hour >= ? AND hour < ?`+only), args...); err != nil {
			return nil, nil, fmt.Errorf("read journey aggregates from %s to %s: %w", fromMS(since), fromMS(stored), err)
		}
		if err := s.db.SelectContext(ctx, &srows, s.db.Rebind(`SELECT `+stepHourColumns+` FROM step_hours
			WHERE hour >= ? AND hour < ?`+only), args...); err != nil {
			return nil, nil, fmt.Errorf("read step aggregates from %s to %s: %w", fromMS(since), fromMS(stored), err)
		}
	}
	live := max(stored, since)
	if live < until {
		j, st, err := s.summarise(ctx, live, until, f.Journeys)
		if err != nil {
			return nil, nil, fmt.Errorf("summarise the runs from %s to %s: %w", fromMS(live), fromMS(until), err)
		}
		jrows, srows = append(jrows, j...), append(srows, st...)
	}
	// In Go's order, whatever the database's collation.
	slices.SortStableFunc(jrows, func(a, b journeyHourRow) int {
		return cmp.Or(strings.Compare(a.Journey, b.Journey), strings.Compare(a.Location, b.Location), cmp.Compare(a.Hour, b.Hour))
	})
	slices.SortStableFunc(srows, func(a, b stepHourRow) int {
		return cmp.Or(strings.Compare(a.Journey, b.Journey), cmp.Compare(a.Index, b.Index), strings.Compare(a.Name, b.Name),
			cmp.Compare(a.Hour, b.Hour))
	})
	jout := make([]JourneyHour, len(jrows))
	for i, r := range jrows {
		jout[i] = JourneyHour{
			Journey: r.Journey, Location: r.Location, Hour: time.UnixMilli(r.Hour).UTC(),
			Runs: r.Runs, Passed: r.Passed, Degraded: r.Degraded, Failed: r.Failed, Errors: r.Errors, Aborted: r.Aborted,
			P50: ms(r.P50MS), P95: ms(r.P95MS), Max: ms(r.MaxMS),
		}
	}
	sout := make([]StepHour, len(srows))
	for i, r := range srows {
		sout[i] = StepHour{
			Journey: r.Journey, Index: r.Index, Name: r.Name, Hour: time.UnixMilli(r.Hour).UTC(),
			Runs: r.Runs, Failures: r.Failures, P50: ms(r.P50MS), P95: ms(r.P95MS), Max: ms(r.MaxMS),
		}
	}
	return jout, sout, nil
}

// MaintenanceCount counts the runs of a journey in one hour that ran in a
// maintenance window and ended with one outcome.
type MaintenanceCount struct {
	Journey string
	Hour    time.Time // the start of the hour, in UTC
	Window  string    // the window's label, as the run recorded it
	Outcome results.Outcome
	Runs    int
}

// MaintenanceCounts counts, from the raw runs, the runs f selects that ran
// in a maintenance window, the attempts that were retried left out, by
// journey, hour, window and outcome. The hourly aggregates do not tell
// these runs apart, so a report takes them out of the aggregates with
// this; runs pruned by retention are no longer found (see
// Retention: the failed ones are kept longer).
func (s *Store) MaintenanceCounts(ctx context.Context, f PeriodFilter) ([]MaintenanceCount, error) {
	only, args := inJourneys("journey", f.Journeys)
	var rows []struct {
		Journey string `db:"journey"`
		Hour    int64  `db:"hour"`
		Window  string `db:"maintenance"`
		Outcome string `db:"outcome"`
		Runs    int    `db:"runs"`
	}
	q := `SELECT journey, (started_at / 3600000) * 3600000 AS hour, maintenance, outcome, COUNT(*) AS runs FROM runs
		WHERE started_at >= ? AND started_at < ? AND maintenance <> '' AND NOT retried` + only + `
		GROUP BY journey, (started_at / 3600000) * 3600000, maintenance, outcome
		ORDER BY journey, hour, maintenance, outcome`
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), append([]any{f.Since.UnixMilli(), f.Until.UnixMilli()}, args...)...); err != nil {
		return nil, fmt.Errorf("count the runs in maintenance from %s: %w", f.Since.UTC().Format(time.RFC3339), err)
	}
	out := make([]MaintenanceCount, len(rows))
	for i, r := range rows {
		out[i] = MaintenanceCount{Journey: r.Journey, Hour: time.UnixMilli(r.Hour).UTC(), Window: r.Window,
			Outcome: results.Outcome(r.Outcome), Runs: r.Runs}
	}
	return out, nil
}

// IncidentsBetween returns the incidents of the journeys f names that
// were open at some time from f.Since until f.Until (opened before the
// end, not resolved before the start), by opening time.
func (s *Store) IncidentsBetween(ctx context.Context, f PeriodFilter) ([]*results.Incident, error) {
	only, args := inJourneys("journey", f.Journeys)
	var rows []incidentRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?)`+only+` ORDER BY opened_at, id`),
		append([]any{f.Until.UnixMilli(), f.Since.UnixMilli()}, args...)...); err != nil {
		return nil, fmt.Errorf("list the incidents from %s: %w", f.Since.UTC().Format(time.RFC3339), err)
	}
	out := make([]*results.Incident, len(rows))
	for i, r := range rows {
		out[i] = r.incident()
	}
	return out, nil
}

// RunFailure is a run that did not pass, as reports count it: what
// decided it.
type RunFailure struct {
	ID, Journey, Location string
	StartedAt             time.Time
	Outcome               results.Outcome
	Step                  int    // the deciding step, 1-based; 0 when none did
	StepName              string // its name; empty when none or not stored
	Cause                 results.Cause
	Error                 string
}

// RunFailures returns the runs f selects that ended with one of outcomes,
// newest first, leaving out the attempts that were retried and the runs
// in a maintenance window (a report lists those apart). They are read
// from the raw runs: within retention.failures for failed and error runs.
func (s *Store) RunFailures(ctx context.Context, f PeriodFilter, outcomes ...results.Outcome) ([]RunFailure, error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	only, args := inJourneys("r.journey", f.Journeys)
	q := `SELECT r.id, r.journey, r.location, r.started_at, r.outcome, r.failing_step, COALESCE(s.name, '') AS step_name,
			r.cause, r.error
		FROM runs r LEFT JOIN steps s ON s.run_id = r.id AND s.idx = r.failing_step
		WHERE r.outcome IN (?` + strings.Repeat(", ?", len(outcomes)-1) + `) AND r.started_at >= ? AND r.started_at < ?
			AND NOT r.retried AND r.maintenance = ''` + only + `
		ORDER BY r.started_at DESC, r.id DESC`
	qargs := make([]any, 0, len(outcomes)+2+len(args))
	for _, o := range outcomes {
		qargs = append(qargs, string(o))
	}
	qargs = append(append(qargs, f.Since.UnixMilli(), f.Until.UnixMilli()), args...)
	var rows []struct {
		ID        string        `db:"id"`
		Journey   string        `db:"journey"`
		Location  string        `db:"location"`
		StartedAt sql.NullInt64 `db:"started_at"`
		Outcome   string        `db:"outcome"`
		Step      int           `db:"failing_step"`
		StepName  string        `db:"step_name"`
		Cause     string        `db:"cause"`
		Error     string        `db:"error"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), qargs...); err != nil {
		return nil, fmt.Errorf("list the %v runs from %s: %w", outcomes, f.Since.UTC().Format(time.RFC3339), err)
	}
	out := make([]RunFailure, len(rows))
	for i, r := range rows {
		out[i] = RunFailure{ID: r.ID, Journey: r.Journey, Location: r.Location, StartedAt: fromMillis(r.StartedAt),
			Outcome: results.Outcome(r.Outcome), Step: r.Step, StepName: r.StepName, Cause: results.Cause(r.Cause), Error: r.Error}
	}
	return out, nil
}

// RunOutcome is one run's outcome, in the order of a journey's runs.
type RunOutcome struct {
	Journey, Location string
	StartedAt         time.Time
	Outcome           results.Outcome
}

// RunOutcomes returns the outcome of each run f selects, by journey,
// location and start: how a journey's results alternate. The attempts
// that were retried and the runs in a maintenance window are left out.
// They are read from the raw runs, so within retention.runs.
func (s *Store) RunOutcomes(ctx context.Context, f PeriodFilter) ([]RunOutcome, error) {
	only, args := inJourneys("journey", f.Journeys)
	var rows []struct {
		Journey   string `db:"journey"`
		Location  string `db:"location"`
		StartedAt int64  `db:"started_at"`
		Outcome   string `db:"outcome"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT journey, location, started_at, outcome FROM runs
		WHERE started_at >= ? AND started_at < ? AND NOT retried AND maintenance = ''`+only+`
		ORDER BY journey, location, started_at, id`), append([]any{f.Since.UnixMilli(), f.Until.UnixMilli()}, args...)...); err != nil {
		return nil, fmt.Errorf("list run outcomes from %s: %w", f.Since.UTC().Format(time.RFC3339), err)
	}
	out := make([]RunOutcome, len(rows))
	for i, r := range rows {
		out[i] = RunOutcome{Journey: r.Journey, Location: r.Location, StartedAt: time.UnixMilli(r.StartedAt).UTC(),
			Outcome: results.Outcome(r.Outcome)}
	}
	return out, nil
}
