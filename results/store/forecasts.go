package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/results"
)

// StepForecast is the latest forecast of one step of a journey (see
// results.ForecastStep): the trend of its p95 over the hourly aggregates
// as the daily forecast job last computed it, and whether and when it
// crosses the step's warn threshold. The dashboard shows the steps whose
// CrossesAt is set; the job tells the journey's routes of them at most
// once a week (NotifiedAt).
type StepForecast struct {
	Journey string
	// Index is the step's 1-based index in its runs, Name its name.
	Index int
	Name  string
	// ComputedAt is when the job computed it.
	ComputedAt time.Time
	// P95 is the p95 the trend has now, Slope how much it changes a day
	// (negative: falling), Warn the step's warn threshold.
	P95, Slope, Warn time.Duration
	// CrossesAt is when the p95 crosses Warn, when that is within the
	// forecast's horizon and sure; zero otherwise.
	CrossesAt time.Time
	// NotifiedAt is when the routes were last told of a crossing; zero
	// when they never were.
	NotifiedAt time.Time
}

// Crosses says whether the step is forecast to cross its warn threshold
// within the horizon.
func (f *StepForecast) Crosses() bool { return !f.CrossesAt.IsZero() }

// forecastRow is a row of forecasts.
type forecastRow struct {
	Journey    string        `db:"journey"`
	Index      int           `db:"idx"`
	Name       string        `db:"name"`
	ComputedAt int64         `db:"computed_at"`
	P95MS      int64         `db:"p95_ms"`
	SlopeMS    int64         `db:"slope_ms_per_day"`
	WarnMS     int64         `db:"warn_ms"`
	CrossesAt  sql.NullInt64 `db:"crosses_at"`
	NotifiedAt sql.NullInt64 `db:"notified_at"`
}

const forecastColumns = `journey, idx, name, computed_at, p95_ms, slope_ms_per_day, warn_ms, crosses_at, notified_at`

// forecast is the stored forecast.
func (r forecastRow) forecast() StepForecast {
	return StepForecast{
		Journey: r.Journey, Index: r.Index, Name: r.Name, ComputedAt: time.UnixMilli(r.ComputedAt).UTC(),
		P95: ms(r.P95MS), Slope: ms(r.SlopeMS), Warn: ms(r.WarnMS),
		CrossesAt: fromMillis(r.CrossesAt), NotifiedAt: fromMillis(r.NotifiedAt),
	}
}

// forecasts converts rows.
func forecasts(rows []forecastRow) []StepForecast {
	out := make([]StepForecast, len(rows))
	for i, r := range rows {
		out[i] = r.forecast()
	}
	return out
}

// SetForecastsTx replaces the forecasts of the journey by fs, within tx
// (each one's Journey is taken to be journey; indexes are unique), and
// returns them as stored, by index. A step keeps its NotifiedAt when it
// still has the name it had, so that a daily recomputation does not undo
// the once-a-week rule; a step renamed or moved to another index starts
// afresh. The journey's steps not in fs lose their forecasts.
func (s *Store) SetForecastsTx(ctx context.Context, tx *sqlx.Tx, journey string, fs []StepForecast) ([]StepForecast, error) {
	idx := make([]int, len(fs))
	for i, f := range fs {
		idx[i] = f.Index
		row := forecastRow{
			Journey: text(journey), Index: f.Index, Name: text(f.Name), ComputedAt: f.ComputedAt.UnixMilli(),
			P95MS: f.P95.Milliseconds(), SlopeMS: f.Slope.Milliseconds(), WarnMS: f.Warn.Milliseconds(),
			CrossesAt: millis(f.CrossesAt), NotifiedAt: millis(f.NotifiedAt),
		}
		if _, err := tx.NamedExecContext(ctx, `INSERT INTO forecasts (`+forecastColumns+`)
			VALUES (:journey, :idx, :name, :computed_at, :p95_ms, :slope_ms_per_day, :warn_ms, :crosses_at, :notified_at)
			ON CONFLICT (journey, idx) DO UPDATE SET name = excluded.name, computed_at = excluded.computed_at,
				p95_ms = excluded.p95_ms, slope_ms_per_day = excluded.slope_ms_per_day, warn_ms = excluded.warn_ms,
				crosses_at = excluded.crosses_at,
				notified_at = CASE WHEN forecasts.name = excluded.name
					THEN COALESCE(excluded.notified_at, forecasts.notified_at) ELSE excluded.notified_at END`, row); err != nil {
			return nil, fmt.Errorf("save forecast of %s step %d: %w", journey, f.Index, err)
		}
	}
	del, args := `DELETE FROM forecasts WHERE journey = ?`, []any{text(journey)}
	if len(idx) > 0 {
		q, in, err := sqlx.In(del+` AND idx NOT IN (?)`, text(journey), idx)
		if err != nil {
			return nil, fmt.Errorf("forget old forecasts of %s: %w", journey, err)
		}
		del, args = q, in
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(del), args...); err != nil {
		return nil, fmt.Errorf("forget old forecasts of %s: %w", journey, err)
	}
	return s.ForecastsTx(ctx, tx, journey)
}

// ForecastsTx is Forecasts within tx.
func (s *Store) ForecastsTx(ctx context.Context, tx *sqlx.Tx, journey string) ([]StepForecast, error) {
	return s.readForecasts(ctx, tx, journey)
}

// Forecasts returns the forecasts kept of the journey, or of every
// journey when journey is empty, by journey and step index.
func (s *Store) Forecasts(ctx context.Context, journey string) ([]StepForecast, error) {
	return s.readForecasts(ctx, s.db, journey)
}

// readForecasts reads forecasts through q, the pool or a transaction.
func (s *Store) readForecasts(ctx context.Context, q sqlx.QueryerContext, journey string) ([]StepForecast, error) {
	query, args := `SELECT `+forecastColumns+` FROM forecasts`, []any(nil)
	if journey != "" {
		query, args = query+` WHERE journey = ?`, []any{text(journey)}
	}
	var rows []forecastRow
	if err := sqlx.SelectContext(ctx, q, &rows, s.db.Rebind(query+` ORDER BY journey, idx`), args...); err != nil {
		if journey == "" {
			return nil, fmt.Errorf("read forecasts: %w", err)
		}
		return nil, fmt.Errorf("read forecasts of %s: %w", journey, err)
	}
	return forecasts(rows), nil
}

// MarkForecastNotifiedTx records, within tx, that the routes were told at
// at of the forecast of the journey's step index.
func (s *Store) MarkForecastNotifiedTx(ctx context.Context, tx *sqlx.Tx, journey string, index int, at time.Time) error {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE forecasts SET notified_at = ? WHERE journey = ? AND idx = ?`),
		at.UnixMilli(), text(journey), index)
	if err != nil {
		return fmt.Errorf("mark the forecast of %s step %d notified: %w", journey, index, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("mark the forecast of %s step %d notified: %w", journey, index, ErrNotFound)
	}
	return nil
}

// DeleteForecastsBefore forgets the forecasts computed before a time: the
// daily job's way to drop those of journeys it no longer forecasts (gone,
// or without a warn threshold) once it has computed every other. It
// returns how many it deleted.
func (s *Store) DeleteForecastsBefore(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM forecasts WHERE computed_at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("forget forecasts computed before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return res.RowsAffected()
}

// StepKey names a step of a journey as its runs do: its 1-based index
// and its name then.
type StepKey struct {
	Index int
	Name  string
}

// ForecastHours returns what the forecast reads of the hourly aggregates
// of those steps of the journey: the hourly p95s of the hours that
// started from since until until, by step, in time order. Hours without
// runs are left out. Each step is one seek along the primary key
// (journey, idx, name, hour), so aggregates kept for a year cost nothing
// to a two-week window; and only the few columns the forecast needs are
// read, without reflection.
func (s *Store) ForecastHours(ctx context.Context, journey string, steps []StepKey, since, until time.Time) (map[StepKey][]results.HourP95, error) {
	out := map[StepKey][]results.HourP95{}
	if len(steps) == 0 {
		return out, nil
	}
	stmt, err := s.db.PreparexContext(ctx, s.db.Rebind(`SELECT hour, runs, p95_ms FROM step_hours
		WHERE journey = ? AND idx = ? AND name = ? AND hour >= ? AND hour < ? AND runs > 0 ORDER BY hour`))
	if err != nil {
		return nil, fmt.Errorf("read the hourly p95s of %s: %w", journey, err)
	}
	defer stmt.Close()
	for _, k := range steps {
		hours, err := stepP95s(ctx, stmt, journey, k, since, until)
		if err != nil {
			return nil, fmt.Errorf("read the hourly p95s of %s step %d: %w", journey, k.Index, err)
		}
		if len(hours) > 0 {
			out[k] = hours
		}
	}
	return out, nil
}

// stepP95s runs ForecastHours' statement for one step.
func stepP95s(ctx context.Context, stmt *sqlx.Stmt, journey string, k StepKey, since, until time.Time) ([]results.HourP95, error) {
	rows, err := stmt.QueryContext(ctx, text(journey), k.Index, text(k.Name), since.UnixMilli(), until.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []results.HourP95
	for rows.Next() {
		var hour, p95 int64
		var runs int
		if err := rows.Scan(&hour, &runs, &p95); err != nil {
			return nil, err
		}
		out = append(out, results.HourP95{Hour: time.UnixMilli(hour).UTC(), Runs: runs, P95: ms(p95)})
	}
	return out, rows.Err()
}
