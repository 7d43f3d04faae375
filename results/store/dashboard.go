package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// JourneyStat sums a journey's runs over a period, for the dashboard's
// overview and its reports: the attempts that were retried are left out,
// and so are the runs in a maintenance window when read from the runs
// themselves (the hourly aggregates do not tell them apart).
type JourneyStat struct {
	Journey string
	// Runs counts every outcome: Passed + Degraded + Failed + Errors +
	// Aborted.
	Runs, Passed, Degraded, Failed, Errors, Aborted int
	// P95 is the nearest-rank 95th percentile of the durations of the runs
	// that checked the site; zero when read from aggregates or none did.
	P95 time.Duration
}

// Checked is how many runs checked the site: passed, degraded or failed
// (an error or an aborted run says nothing of the site).
func (s JourneyStat) Checked() int { return s.Passed + s.Degraded + s.Failed }

// Availability is the share of the runs that checked the site which it
// passed (degraded counts as up), from 0 to 1; ok is false when no run
// checked it.
func (s JourneyStat) Availability() (a float64, ok bool) {
	if s.Checked() == 0 {
		return 0, false
	}
	return float64(s.Passed+s.Degraded) / float64(s.Checked()), true
}

// add counts one run.
func (s *JourneyStat) add(o results.Outcome) {
	s.Runs++
	switch o {
	case results.Passed:
		s.Passed++
	case results.Degraded:
		s.Degraded++
	case results.Failed:
		s.Failed++
	case results.Error:
		s.Errors++
	case results.Aborted:
		s.Aborted++
	}
}

// JourneyStats sums each journey's runs started at or after since, from
// the runs themselves (so within retention.runs), runs in maintenance
// left out, with the p95 of their durations.
func (s *Store) JourneyStats(ctx context.Context, since time.Time) (map[string]JourneyStat, error) {
	var rows []struct {
		Journey  string `db:"journey"`
		Outcome  string `db:"outcome"`
		Duration int64  `db:"duration_ms"`
	}
	q := s.db.Rebind(`SELECT journey, outcome, duration_ms FROM runs
		WHERE started_at >= ? AND retried = ? AND maintenance = ''`)
	if err := s.db.SelectContext(ctx, &rows, q, since.UnixMilli(), false); err != nil {
		return nil, fmt.Errorf("sum runs since %s: %w", since.Format(time.RFC3339), err)
	}
	out := map[string]JourneyStat{}
	durations := map[string][]int64{}
	for _, r := range rows {
		st := out[r.Journey]
		st.Journey = r.Journey
		o := results.Outcome(r.Outcome)
		st.add(o)
		out[r.Journey] = st
		if o == results.Passed || o == results.Degraded || o == results.Failed {
			durations[r.Journey] = append(durations[r.Journey], r.Duration)
		}
	}
	for j, ds := range durations {
		slices.Sort(ds)
		st := out[j]
		st.P95 = time.Duration(ds[rank(len(ds), 95)]) * time.Millisecond
		out[j] = st
	}
	return out, nil
}

// rank is the 0-based index of the nearest-rank p-th percentile of n
// sorted values (n > 0).
func rank(n, p int) int {
	return max((p*n+99)/100-1, 0)
}

// JourneyTotals sums each journey's hourly aggregates of the hours that
// start in [since, until), over its locations: years of availability in
// one query. Runs not yet aggregated (the last hour or so) are not in it.
func (s *Store) JourneyTotals(ctx context.Context, since, until time.Time) (map[string]JourneyStat, error) {
	var rows []struct {
		Journey  string `db:"journey"`
		Runs     int    `db:"runs"`
		Passed   int    `db:"passed"`
		Degraded int    `db:"degraded"`
		Failed   int    `db:"failed"`
		Errors   int    `db:"errors"`
		Aborted  int    `db:"aborted"`
	}
	q := s.db.Rebind(`SELECT journey, SUM(runs) AS runs, SUM(passed) AS passed, SUM(degraded) AS degraded,
		SUM(failed) AS failed, SUM(errors) AS errors, SUM(aborted) AS aborted
		FROM journey_hours WHERE hour >= ? AND hour < ? GROUP BY journey`)
	if err := s.db.SelectContext(ctx, &rows, q, since.UnixMilli(), until.UnixMilli()); err != nil {
		return nil, fmt.Errorf("sum hourly aggregates since %s: %w", since.Format(time.RFC3339), err)
	}
	out := make(map[string]JourneyStat, len(rows))
	for _, r := range rows {
		out[r.Journey] = JourneyStat{Journey: r.Journey, Runs: r.Runs, Passed: r.Passed, Degraded: r.Degraded,
			Failed: r.Failed, Errors: r.Errors, Aborted: r.Aborted}
	}
	return out, nil
}

// LatestRuns returns the last n runs of each journey named, newest first,
// without their steps and with only what a summary shows of them (id,
// location, start, duration, outcome, retried): one backward walk of
// runs_journey_started per journey, however long its history (no NULLS
// LAST or tie-break in the ORDER BY, which would make PostgreSQL sort all
// of a journey's runs instead).
func (s *Store) LatestRuns(ctx context.Context, journeys []string, n int) (map[string][]results.Run, error) {
	out := make(map[string][]results.Run, len(journeys))
	if s.dialect == DialectPostgres {
		// One round trip: a LATERAL index walk per journey.
		var rows []runRow
		q := `SELECT r.id, r.journey, r.location, r.started_at, r.finished_at, r.duration_ms, r.outcome, r.retried
			FROM unnest($1::text[]) AS j(name) CROSS JOIN LATERAL (
				SELECT id, journey, location, started_at, finished_at, duration_ms, outcome, retried FROM runs
				WHERE journey = j.name AND started_at IS NOT NULL ORDER BY started_at DESC LIMIT $2) r`
		if err := s.db.SelectContext(ctx, &rows, q, journeys, n); err != nil {
			return nil, fmt.Errorf("read the latest runs: %w", err)
		}
		for _, r := range rows {
			out[r.Journey] = append(out[r.Journey], r.run())
		}
		for _, runs := range out { // LATERAL keeps each walk's order, but say it
			slices.SortStableFunc(runs, func(a, b results.Run) int { return b.StartedAt.Compare(a.StartedAt) })
		}
		return out, nil
	}
	q := s.db.Rebind(`SELECT id, journey, location, started_at, finished_at, duration_ms, outcome, retried FROM runs WHERE journey = ? AND started_at IS NOT NULL
		ORDER BY started_at DESC LIMIT ?`)
	stmt, err := s.db.PreparexContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read the latest runs: %w", err)
	}
	defer stmt.Close()
	for _, j := range journeys {
		var rows []runRow
		if err := stmt.SelectContext(ctx, &rows, j, n); err != nil {
			return nil, fmt.Errorf("read the latest runs of %s: %w", j, err)
		}
		runs := make([]results.Run, len(rows))
		for i, r := range rows {
			runs[i] = r.run()
		}
		out[j] = runs
	}
	return out, nil
}

// AggregatedUntil is the end of the last hour whose runs are in the hourly
// aggregates (the zero time when none is).
func (s *Store) AggregatedUntil(ctx context.Context) (time.Time, error) {
	ms, err := s.aggregatedUntil(ctx)
	if err != nil || ms == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Mark is a cheap summary of what the store holds that changes when a run
// is kept or an incident moves: the dashboard polls it to tell its pages
// to refresh. It says nothing but "different".
func (s *Store) Mark(ctx context.Context, now time.Time) (string, error) {
	var m struct {
		Latest sql.NullInt64 `db:"latest"`
		Recent int64         `db:"recent"`
		Event  sql.NullInt64 `db:"event"`
	}
	q := s.db.Rebind(`SELECT (SELECT MAX(started_at) FROM runs) AS latest,
		(SELECT COUNT(*) FROM runs WHERE started_at >= ?) AS recent,
		(SELECT MAX(id) FROM incident_events) AS event`)
	if err := s.db.GetContext(ctx, &m, q, now.Add(-time.Hour).UnixMilli()); err != nil {
		return "", fmt.Errorf("read the store's change mark: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d", m.Latest.Int64, m.Recent, m.Event.Int64), nil
}
