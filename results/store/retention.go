package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/results"
)

// Retention says how long Prune keeps what the store holds; a zero
// duration keeps it forever. Incidents and their timelines are always
// kept: they refer to runs by ID only, so a run leaves without them.
type Retention struct {
	// Runs is how long runs are kept with their steps and artifacts (every
	// run but the failed and error ones, which Failures keeps), and how
	// long skipped and dropped slots are counted.
	Runs time.Duration
	// Failures is how long failed and error runs are kept with their steps
	// and artifacts: the failure evidence, screenshots first. It is never
	// shorter than Runs: a shorter one counts as Runs, and so does any
	// value when Runs keeps runs forever.
	Failures time.Duration
	// Aggregates is how long the hourly aggregates of runs and steps are
	// kept (see JourneyHours and StepHours).
	Aggregates time.Duration
}

// failures is how long failed and error runs are kept: Failures, but
// never less than Runs (0 is forever).
func (r Retention) failures() time.Duration {
	if r.Runs == 0 || r.Failures == 0 {
		return 0
	}
	return max(r.Failures, r.Runs)
}

// PruneReport says what Prune did, so that `waymark prune` and the
// periodic job can say it. After an error it counts what was done before.
type PruneReport struct {
	// HoursAggregated counts the hours whose runs were aggregated.
	HoursAggregated int
	// Runs, Steps and Artifacts count the rows removed with the runs.
	Runs, Steps, Artifacts int64
	// Blobs counts the artifact contents removed because no artifact
	// refers to them any more; BlobBytes is their size.
	Blobs, BlobBytes int64
	// Aggregates counts the hourly aggregates removed, of journeys and of
	// steps.
	Aggregates int64
	// SlotMisses counts the skipped and dropped slots forgotten.
	SlotMisses int64
	// Maintenance counts the windows made on the spot forgotten: those
	// over for longer than runs are kept, as the runs they marked are gone.
	Maintenance int64
}

// Removed reports whether anything was removed.
func (r PruneReport) Removed() bool {
	return r.Runs+r.Steps+r.Artifacts+r.Blobs+r.Aggregates+r.SlotMisses+r.Maintenance > 0
}

const (
	// pruneBatch is how many rows one transaction of Prune deletes or
	// writes at most: on SQLite a run being saved waits for at most one
	// such transaction, a few milliseconds.
	pruneBatch = 500
	// aggregateSettle is how long after an hour ends its runs are
	// aggregated. A run is stored when it finishes, so one that started
	// late in the hour arrives after the hour ends; a run's hard deadline
	// is twice its journey's timeout and set-up (60s by default), far
	// less than this. A run stored later still is kept, but not counted.
	aggregateSettle = 30 * time.Minute
	hourMS          = int64(time.Hour / time.Millisecond)
)

// Prune applies retention r at now. First it aggregates every hour of
// runs that ended aggregateSettle before now and is not yet aggregated;
// then it deletes, in transactions of at most a few hundred rows so that
// runs being saved never wait long, the runs older than r.Runs except the
// failed and error ones, those older than r.Failures, with their steps and
// artifacts, the artifact contents no artifact refers to any more, the
// skipped and dropped slots and the maintenance windows made on the spot
// over for longer than r.Runs, and the aggregates older
// than r.Aggregates. A run is never deleted before its hour is aggregated.
//
// Prune is safe to run while runs are saved, and on several agents at
// once; run again, it removes nothing more until time passes. When ctx
// ends it stops between two transactions, keeping what it did, and the
// next Prune goes on from there.
func (s *Store) Prune(ctx context.Context, r Retention, now time.Time) (PruneReport, error) {
	return s.prune(ctx, r, now, pruneBatch)
}

// prune is Prune with the batch size given, so tests can see batches
// without thousands of runs.
func (s *Store) prune(ctx context.Context, r Retention, now time.Time, batch int) (PruneReport, error) {
	var rep PruneReport
	if r.Runs < 0 || r.Failures < 0 || r.Aggregates < 0 {
		return rep, fmt.Errorf("prune: negative retention %+v: want durations ≥ 0 (0 keeps forever)", r)
	}
	hours, err := s.aggregate(ctx, now, batch)
	rep.HoursAggregated = hours
	if err != nil {
		return rep, err
	}
	// Runs are deleted only below the watermark: never one not counted.
	until, err := s.aggregatedUntil(ctx)
	if err != nil {
		return rep, err
	}
	if r.Runs > 0 {
		cut := min(now.Add(-r.Runs).UnixMilli(), until)
		if err := s.pruneRuns(ctx, cut, false, batch, &rep); err != nil {
			return rep, fmt.Errorf("prune runs started before %s: %w", fromMS(cut), err)
		}
	}
	if keep := r.failures(); keep > 0 {
		cut := min(now.Add(-keep).UnixMilli(), until)
		if err := s.pruneRuns(ctx, cut, true, batch, &rep); err != nil {
			return rep, fmt.Errorf("prune failed and error runs started before %s: %w", fromMS(cut), err)
		}
	}
	if r.Runs > 0 {
		cut := now.Add(-r.Runs).UnixMilli()
		n, err := s.deleteBatches(ctx, batch, `slot_misses`, `(journey, location, slot, reason)`, `slot < ?`, cut)
		rep.SlotMisses += n
		if err != nil {
			return rep, fmt.Errorf("prune missed slots before %s: %w", fromMS(cut), err)
		}
		n, err = s.deleteBatches(ctx, batch, `maintenance`, `(id)`, `ends_at < ?`, cut)
		rep.Maintenance += n
		if err != nil {
			return rep, fmt.Errorf("prune maintenance windows over before %s: %w", fromMS(cut), err)
		}
	}
	if r.Aggregates > 0 {
		cut := now.Add(-r.Aggregates).UnixMilli()
		for _, t := range []struct{ table, key string }{
			{"journey_hours", "(journey, location, hour)"},
			{"step_hours", "(journey, idx, name, hour)"},
		} {
			n, err := s.deleteBatches(ctx, batch, t.table, t.key, `hour < ?`, cut)
			rep.Aggregates += n
			if err != nil {
				return rep, fmt.Errorf("prune %s before %s: %w", t.table, fromMS(cut), err)
			}
		}
	}
	return rep, nil
}

// fromMS is a stored time for messages.
func fromMS(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// failureOutcomes are the outcomes Retention.Failures keeps: the runs that
// are evidence of something wrong.
const failureOutcomes = `('` + string(results.Failed) + `', '` + string(results.Error) + `')`

// pruneRuns deletes the runs started before cut, with their steps,
// artifacts and the contents only they referred to: the failed and error
// ones when failures is true, the others when it is false. Each batch is
// one transaction.
func (s *Store) pruneRuns(ctx context.Context, cut int64, failures bool, batch int, rep *PruneReport) error {
	// The other runs are listed through runs_started, past the failed
	// ones kept among them: after each batch the search resumes where it
	// stopped rather than walk them again.
	from := int64(-1 << 63)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var done bool
		err := s.Tx(ctx, func(tx *sqlx.Tx) error {
			type pick struct {
				ID        string `db:"id"`
				StartedAt int64  `db:"started_at"`
			}
			var picks []pick
			q := `SELECT id, started_at FROM runs WHERE started_at < ? AND started_at >= ? AND outcome NOT IN ` + failureOutcomes +
				` ORDER BY started_at LIMIT ?`
			if failures {
				q = `SELECT id, started_at FROM runs WHERE started_at < ? AND started_at >= ? AND outcome IN ` + failureOutcomes +
					` ORDER BY started_at LIMIT ?`
			}
			if err := tx.SelectContext(ctx, &picks, tx.Rebind(q), cut, from, batch); err != nil {
				return fmt.Errorf("list runs: %w", err)
			}
			if len(picks) == 0 {
				done = true
				return nil
			}
			ids := make([]string, len(picks))
			for i, p := range picks {
				ids[i] = p.ID
			}
			if err := s.deleteRuns(ctx, tx, ids, rep); err != nil {
				return err
			}
			from = picks[len(picks)-1].StartedAt
			done = len(picks) < batch
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// deleteRuns deletes the runs ids in tx with their steps and artifacts,
// then the contents those artifacts referred to that no other artifact
// does, and adds what it removed to rep once tx is written. Incidents
// refer to runs by ID only, so no incident keeps a run from going.
func (s *Store) deleteRuns(ctx context.Context, tx *sqlx.Tx, ids []string, rep *PruneReport) error {
	var hashes []string
	if err := selectIn(ctx, tx, &hashes, `SELECT DISTINCT hash FROM artifacts WHERE run_id IN (?) ORDER BY hash`, ids); err != nil {
		return fmt.Errorf("list the artifacts of %d runs: %w", len(ids), err)
	}
	var got PruneReport
	for _, d := range []struct {
		what, query string
		n           *int64
	}{
		{"artifacts", `DELETE FROM artifacts WHERE run_id IN (?)`, &got.Artifacts},
		{"steps", `DELETE FROM steps WHERE run_id IN (?)`, &got.Steps},
		{"runs", `DELETE FROM runs WHERE id IN (?)`, &got.Runs},
	} {
		n, err := execIn(ctx, tx, d.query, ids)
		if err != nil {
			return fmt.Errorf("delete the %s of %d runs: %w", d.what, len(ids), err)
		}
		*d.n = n
	}
	if len(hashes) > 0 {
		n, size, err := s.deleteUnreferencedBlobs(ctx, tx, hashes)
		if err != nil {
			return err
		}
		got.Blobs, got.BlobBytes = n, size
	}
	rep.Runs += got.Runs
	rep.Steps += got.Steps
	rep.Artifacts += got.Artifacts
	rep.Blobs += got.Blobs
	rep.BlobBytes += got.BlobBytes
	return nil
}

// deleteUnreferencedBlobs deletes in tx those of the blobs hashes that no
// artifact refers to, and returns how many it deleted and their size.
//
// On SQLite writers take turns, so a run being saved either refers to a
// blob before this looks or stores it again after. On PostgreSQL a run
// being saved holds a share lock on each blob it uses from the moment it
// stored it (see lockBlobs): those are skipped, never waited for, and a
// save that comes to a blob this locked waits until it is gone, then
// stores it again. The delete looks at the artifacts once more, with a
// newer snapshot, for a run saved between the two statements.
func (s *Store) deleteUnreferencedBlobs(ctx context.Context, tx *sqlx.Tx, hashes []string) (n, size int64, err error) {
	const unreferenced = `NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.hash = blobs.hash)`
	if s.dialect == DialectPostgres {
		var locked []string
		if err := selectIn(ctx, tx, &locked, `SELECT hash FROM blobs WHERE hash IN (?) AND `+unreferenced+`
			ORDER BY hash FOR UPDATE SKIP LOCKED`, hashes); err != nil {
			return 0, 0, fmt.Errorf("lock unreferenced blobs: %w", err)
		}
		if hashes = locked; len(hashes) == 0 {
			return 0, 0, nil
		}
	}
	var sizes []int64
	if err := selectIn(ctx, tx, &sizes, `DELETE FROM blobs WHERE hash IN (?) AND `+unreferenced+` RETURNING size`, hashes); err != nil {
		return 0, 0, fmt.Errorf("delete unreferenced blobs: %w", err)
	}
	for _, b := range sizes {
		size += b
	}
	return int64(len(sizes)), size, nil
}

// lockBlobs holds, on PostgreSQL, a share lock until tx ends on each blob
// of hashes, which tx has just stored (or found stored), and stores again
// any that a concurrent Prune deleted in between. Without it, Prune could
// delete a blob between the moment a run's save finds it stored and the
// moment the save's artifact refers to it, and the save would fail on the
// foreign key. Share locks do not wait for each other, only for Prune.
// SQLite needs none: its writers take turns.
func (s *Store) lockBlobs(ctx context.Context, tx *sqlx.Tx, blobs map[string][]byte) error {
	if s.dialect != DialectPostgres || len(blobs) == 0 {
		return nil
	}
	hashes := slices.Sorted(maps.Keys(blobs))
	for range 3 {
		var held []string
		if err := selectIn(ctx, tx, &held, `SELECT hash FROM blobs WHERE hash IN (?) ORDER BY hash FOR KEY SHARE`, hashes); err != nil {
			return fmt.Errorf("lock blobs: %w", err)
		}
		var gone []string
		for _, h := range hashes {
			if _, ok := slices.BinarySearch(held, h); !ok {
				gone = append(gone, h)
			}
		}
		if len(gone) == 0 {
			return nil
		}
		for _, h := range gone {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO blobs (hash, size, bytes) VALUES (?, ?, ?)
				ON CONFLICT (hash) DO NOTHING`), h, len(blobs[h]), blobs[h]); err != nil {
				return fmt.Errorf("insert blob %s again: %w", h, err)
			}
		}
		hashes = gone
	}
	return errors.New("lock blobs: deleted again each time they were stored")
}

// deleteBatches deletes the rows of table that match where (with args),
// at most batch per transaction, and returns how many it deleted. key is
// the table's primary key as a row value, such as (journey, hour).
func (s *Store) deleteBatches(ctx context.Context, batch int, table, key, where string, args ...any) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		err := s.Tx(ctx, func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+table+` WHERE `+key+` IN
				(SELECT `+strings.Trim(key, "()")+` FROM `+table+` WHERE `+where+` LIMIT ?)`), append(args, batch)...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

// selectIn runs query, whose one ? stands for the list in, into dest.
func selectIn[T any](ctx context.Context, tx *sqlx.Tx, dest *[]T, query string, in []string) error {
	q, args, err := sqlx.In(query, in)
	if err != nil {
		return err
	}
	return tx.SelectContext(ctx, dest, tx.Rebind(q), args...)
}

// execIn runs query, whose one ? stands for the list in, and returns the
// rows it affected.
func execIn(ctx context.Context, tx *sqlx.Tx, query string, in []string) (int64, error) {
	q, args, err := sqlx.In(query, in)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Aggregation.

// JourneyHour is the hourly aggregate of a journey's runs in a location:
// what is kept of them for Retention.Aggregates, after the runs are gone.
type JourneyHour struct {
	Journey  string
	Location string
	// Hour is the start of the hour, in UTC, in which the runs started.
	Hour time.Time
	// Runs counts the runs of every outcome, the attempts that were
	// retried left out: Passed + Degraded + Failed + Errors + Aborted.
	Runs, Passed, Degraded, Failed, Errors, Aborted int
	// P50, P95 and Max are the nearest-rank median, 95th percentile and
	// maximum of the durations of the runs that checked the site: the
	// passed, degraded and failed ones. Zero when none did.
	P50, P95, Max time.Duration
}

// StepHour is the hourly aggregate of one step of a journey, over every
// location.
type StepHour struct {
	Journey string
	Index   int // 1-based
	Name    string
	// Hour is the start of the hour, in UTC, in which the runs started.
	Hour time.Time
	// Runs counts the times the step checked the site (it passed, was
	// degraded or failed: not skipped, error or aborted), in the runs that
	// were not retried; Failures the times it failed.
	Runs, Failures int
	// P50, P95 and Max are the nearest-rank median, 95th percentile and
	// maximum of the durations of those times. Zero when Runs is.
	P50, P95, Max time.Duration
}

// HourFilter selects hourly aggregates; zero fields select everything.
type HourFilter struct {
	Journey string    // only this journey's
	Since   time.Time // only hours starting at or after this time
	Until   time.Time // only hours starting before this time
}

// where is f as a WHERE clause (or "") and its arguments.
func (f HourFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.Journey != "" {
		conds, args = append(conds, "journey = ?"), append(args, f.Journey)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "hour >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "hour < ?"), append(args, f.Until.UnixMilli())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// journeyHourRow is a row of journey_hours.
type journeyHourRow struct {
	Journey  string `db:"journey"`
	Location string `db:"location"`
	Hour     int64  `db:"hour"`
	Runs     int    `db:"runs"`
	Passed   int    `db:"passed"`
	Degraded int    `db:"degraded"`
	Failed   int    `db:"failed"`
	Errors   int    `db:"errors"`
	Aborted  int    `db:"aborted"`
	P50MS    int64  `db:"p50_ms"`
	P95MS    int64  `db:"p95_ms"`
	MaxMS    int64  `db:"max_ms"`
}

const journeyHourColumns = `journey, location, hour, runs, passed, degraded, failed, errors, aborted, p50_ms, p95_ms, max_ms`

// stepHourRow is a row of step_hours.
type stepHourRow struct {
	Journey  string `db:"journey"`
	Index    int    `db:"idx"`
	Name     string `db:"name"`
	Hour     int64  `db:"hour"`
	Runs     int    `db:"runs"`
	Failures int    `db:"failures"`
	P50MS    int64  `db:"p50_ms"`
	P95MS    int64  `db:"p95_ms"`
	MaxMS    int64  `db:"max_ms"`
}

const stepHourColumns = `journey, idx, name, hour, runs, failures, p50_ms, p95_ms, max_ms`

// JourneyHours returns the hourly aggregates of journeys f selects, by
// journey, location and hour.
func (s *Store) JourneyHours(ctx context.Context, f HourFilter) ([]JourneyHour, error) {
	where, args := f.where()
	var rows []journeyHourRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+journeyHourColumns+` FROM journey_hours`+where+
		` ORDER BY journey, location, hour`), args...); err != nil {
		return nil, fmt.Errorf("read journey aggregates %+v: %w", f, err)
	}
	out := make([]JourneyHour, len(rows))
	for i, r := range rows {
		out[i] = JourneyHour{
			Journey: r.Journey, Location: r.Location, Hour: time.UnixMilli(r.Hour).UTC(),
			Runs: r.Runs, Passed: r.Passed, Degraded: r.Degraded, Failed: r.Failed, Errors: r.Errors, Aborted: r.Aborted,
			P50: ms(r.P50MS), P95: ms(r.P95MS), Max: ms(r.MaxMS),
		}
	}
	return out, nil
}

// StepHours returns the hourly aggregates of steps f selects, by journey,
// step index, name and hour.
func (s *Store) StepHours(ctx context.Context, f HourFilter) ([]StepHour, error) {
	where, args := f.where()
	var rows []stepHourRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+stepHourColumns+` FROM step_hours`+where+
		` ORDER BY journey, idx, name, hour`), args...); err != nil {
		return nil, fmt.Errorf("read step aggregates %+v: %w", f, err)
	}
	out := make([]StepHour, len(rows))
	for i, r := range rows {
		out[i] = StepHour{
			Journey: r.Journey, Index: r.Index, Name: r.Name, Hour: time.UnixMilli(r.Hour).UTC(),
			Runs: r.Runs, Failures: r.Failures, P50: ms(r.P50MS), P95: ms(r.P95MS), Max: ms(r.MaxMS),
		}
	}
	return out, nil
}

// aggregatedUntil reads the watermark: every hour before it is
// aggregated (0: none yet).
func (s *Store) aggregatedUntil(ctx context.Context) (int64, error) {
	var until int64
	if err := s.db.GetContext(ctx, &until, `SELECT aggregated_until FROM aggregation WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("read how far runs are aggregated: %w", err)
	}
	return until, nil
}

// aggregate aggregates, hour by hour, the runs of every hour from the
// watermark to the last hour that ended aggregateSettle before now, and
// moves the watermark past each. Hours without runs are passed over in
// one step. It returns how many hours it aggregated.
func (s *Store) aggregate(ctx context.Context, now time.Time, batch int) (int, error) {
	limit := floorHour(now.UnixMilli() - aggregateSettle.Milliseconds())
	hours := 0
	for {
		if err := ctx.Err(); err != nil {
			return hours, err
		}
		from, err := s.aggregatedUntil(ctx)
		if err != nil || from >= limit {
			return hours, err
		}
		var first sql.NullInt64
		if err := s.db.GetContext(ctx, &first, s.db.Rebind(`SELECT MIN(started_at) FROM runs
			WHERE started_at >= ? AND started_at < ?`), from, limit); err != nil {
			return hours, fmt.Errorf("aggregate runs: find the next hour after %s: %w", fromMS(from), err)
		}
		if !first.Valid {
			return hours, s.advance(ctx, limit)
		}
		hour := floorHour(first.Int64)
		if err := s.aggregateHour(ctx, hour, batch); err != nil {
			return hours, fmt.Errorf("aggregate the runs of %s: %w", fromMS(hour), err)
		}
		hours++
	}
}

// floorHour is the start of the hour of ms.
func floorHour(ms int64) int64 {
	h := ms / hourMS * hourMS
	if h > ms {
		h -= hourMS
	}
	return h
}

// advance moves the watermark forward to until; it never moves back, so
// agents pruning at once cannot undo each other.
func (s *Store) advance(ctx context.Context, until int64) error {
	_, err := s.exec(ctx, `UPDATE aggregation SET aggregated_until = ? WHERE id = 1 AND aggregated_until < ?`, until, until)
	if err != nil {
		return fmt.Errorf("record runs aggregated until %s: %w", fromMS(until), err)
	}
	return nil
}

// aggregateHour computes the aggregates of the runs that started in the
// hour from hour (unix ms) from the raw rows, writes them (replacing any
// earlier ones of the same keys, so an hour aggregated twice counts its
// runs once) a batch per transaction, and moves the watermark past it.
func (s *Store) aggregateHour(ctx context.Context, hour int64, batch int) error {
	end := hour + hourMS
	jout, sout, err := s.summarise(ctx, hour, end, nil)
	if err != nil {
		return err
	}
	if err := upsertBatches(ctx, s, batch, jout, `INSERT INTO journey_hours (`+journeyHourColumns+`)
		VALUES (:journey, :location, :hour, :runs, :passed, :degraded, :failed, :errors, :aborted, :p50_ms, :p95_ms, :max_ms)
		ON CONFLICT (journey, location, hour) DO UPDATE SET runs = excluded.runs, passed = excluded.passed,
			degraded = excluded.degraded, failed = excluded.failed, errors = excluded.errors, aborted = excluded.aborted,
			p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, max_ms = excluded.max_ms`); err != nil {
		return fmt.Errorf("write journey aggregates: %w", err)
	}
	if err := upsertBatches(ctx, s, batch, sout, `INSERT INTO step_hours (`+stepHourColumns+`)
		VALUES (:journey, :idx, :name, :hour, :runs, :failures, :p50_ms, :p95_ms, :max_ms)
		ON CONFLICT (journey, idx, name, hour) DO UPDATE SET runs = excluded.runs, failures = excluded.failures,
			p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, max_ms = excluded.max_ms`); err != nil {
		return fmt.Errorf("write step aggregates: %w", err)
	}
	return s.advance(ctx, end)
}

// summarise computes, from the raw rows, the hourly aggregates of the
// runs that started from from until until (unix ms), of the journeys
// named (nil: every journey), sorted by key. Aggregation writes what it
// returns for one hour; reports use it for the hours not aggregated yet,
// so both read the same figures. The percentiles are computed here rather
// than in SQL so that they are exact and the same on both dialects.
func (s *Store) summarise(ctx context.Context, from, until int64, journeys []string) ([]journeyHourRow, []stepHourRow, error) {
	only, onlyArgs := inJourneys("r.journey", journeys)
	// The rows are read one at a time: an hour of a busy monitor is
	// hundreds of thousands of runs, and only their durations are kept.
	type journeyKey struct {
		journey, location string
		hour              int64
	}
	jrows := map[journeyKey]*journeyHourRow{}
	jdur := map[journeyKey][]int64{}
	err := eachRow(ctx, s.db, `SELECT r.journey, r.location, r.started_at, r.outcome, r.duration_ms FROM runs r
		WHERE r.started_at >= ? AND r.started_at < ? AND NOT r.retried`+only, append([]any{from, until}, onlyArgs...),
		func(rows *sqlx.Rows) error {
			var k journeyKey
			var outcome results.Outcome
			var d int64
			if err := rows.Scan(&k.journey, &k.location, &k.hour, &outcome, &d); err != nil {
				return err
			}
			k.hour = floorHour(k.hour)
			row := jrows[k]
			if row == nil {
				row = &journeyHourRow{Journey: k.journey, Location: k.location, Hour: k.hour}
				jrows[k] = row
			}
			row.Runs++
			switch outcome {
			case results.Passed:
				row.Passed++
			case results.Degraded:
				row.Degraded++
			case results.Failed:
				row.Failed++
			case results.Error:
				row.Errors++
			case results.Aborted:
				row.Aborted++
			}
			if checkedSite(outcome) {
				jdur[k] = append(jdur[k], d)
			}
			return nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("read runs: %w", err)
	}
	type stepKey struct {
		journey string
		index   int
		name    string
		hour    int64
	}
	srows := map[stepKey]*stepHourRow{}
	sdur := map[stepKey][]int64{}
	err = eachRow(ctx, s.db, `SELECT r.journey, s.idx, s.name, r.started_at, s.status, s.duration_ms
		FROM runs r JOIN steps s ON s.run_id = r.id
		WHERE r.started_at >= ? AND r.started_at < ? AND NOT r.retried AND s.status IN (?, ?, ?)`+only,
		append([]any{from, until, results.StepPassed, results.StepDegraded, results.StepFailed}, onlyArgs...),
		func(rows *sqlx.Rows) error {
			var k stepKey
			var status results.Status
			var d int64
			if err := rows.Scan(&k.journey, &k.index, &k.name, &k.hour, &status, &d); err != nil {
				return err
			}
			k.hour = floorHour(k.hour)
			row := srows[k]
			if row == nil {
				row = &stepHourRow{Journey: k.journey, Index: k.index, Name: k.name, Hour: k.hour}
				srows[k] = row
			}
			row.Runs++
			if status == results.StepFailed {
				row.Failures++
			}
			sdur[k] = append(sdur[k], d)
			return nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("read steps: %w", err)
	}

	// Sorted by key, so that on PostgreSQL two agents aggregating the same
	// hour lock rows in the same order.
	var jout []journeyHourRow
	for k, row := range jrows {
		row.P50MS, row.P95MS, row.MaxMS = percentiles(jdur[k])
		jout = append(jout, *row)
	}
	slices.SortFunc(jout, func(a, b journeyHourRow) int {
		return cmp.Or(strings.Compare(a.Journey, b.Journey), strings.Compare(a.Location, b.Location), cmp.Compare(a.Hour, b.Hour))
	})
	var sout []stepHourRow
	for k, row := range srows {
		row.P50MS, row.P95MS, row.MaxMS = percentiles(sdur[k])
		sout = append(sout, *row)
	}
	slices.SortFunc(sout, func(a, b stepHourRow) int {
		return cmp.Or(strings.Compare(a.Journey, b.Journey), cmp.Compare(a.Index, b.Index), strings.Compare(a.Name, b.Name),
			cmp.Compare(a.Hour, b.Hour))
	})
	return jout, sout, nil
}

// eachRow runs query (with ? placeholders) on db and calls fn on each row
// of its result in turn.
func eachRow(ctx context.Context, db *sqlx.DB, query string, args []any, fn func(*sqlx.Rows) error) error {
	rows, err := db.QueryxContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkedSite reports whether a run with outcome o measured the site, so
// that its duration belongs in the percentiles: error and aborted runs
// measure the monitor or an interruption.
func checkedSite(o results.Outcome) bool {
	return o == results.Passed || o == results.Degraded || o == results.Failed
}

// upsertBatches runs the named statement query for each of rows, at most
// batch rows per transaction.
func upsertBatches[T any](ctx context.Context, s *Store, batch int, rows []T, query string) error {
	for chunk := range slices.Chunk(rows, batch) {
		err := s.Tx(ctx, func(tx *sqlx.Tx) error {
			stmt, err := tx.PrepareNamedContext(ctx, query)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, r := range chunk {
				if _, err := stmt.ExecContext(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// percentiles returns the nearest-rank 50th and 95th percentiles and the
// maximum of durations (in any order; it is sorted in place), or zeros
// when it is empty.
func percentiles(durations []int64) (p50, p95, maxMS int64) {
	if len(durations) == 0 {
		return 0, 0, 0
	}
	slices.Sort(durations)
	return nearestRank(durations, 50), nearestRank(durations, 95), durations[len(durations)-1]
}

// nearestRank is the p-th percentile of sorted by the nearest-rank method:
// the smallest value that at least p percent of the values are at or
// below, the ⌈p/100 × n⌉-th smallest. It is always one of the values.
func nearestRank(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}
