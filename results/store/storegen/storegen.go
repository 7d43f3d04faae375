// Package storegen fills a store with a generated monitoring history —
// journeys, months of their runs and steps, hourly aggregates and
// incidents — so the dashboard's pages and the reports can be measured at
// the size a team running Waymark for a quarter has. It writes rows in
// bulk rather than run by run: 200 journeys × 90 days take seconds, not
// the hours SaveRun would.
package storegen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// Spec says how much history to make. Zero fields take the defaults in
// brackets.
type Spec struct {
	Journeys int           // [200]
	Days     int           // [90]
	Every    time.Duration // between two runs of a journey [2h]
	Steps    int           // per journey [5]
	Now      time.Time     // the end of the history [time.Now()]
	Seed     uint64        // for the random outcomes and durations [1]
	// Dir is where the journey files are written (the store keeps their
	// definitions as read from there) [a new temporary folder].
	Dir string
}

func (s *Spec) defaults() {
	if s.Journeys == 0 {
		s.Journeys = 200
	}
	if s.Days == 0 {
		s.Days = 90
	}
	if s.Every == 0 {
		s.Every = 2 * time.Hour
	}
	if s.Steps == 0 {
		s.Steps = 5
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
}

// Totals counts what Fill wrote.
type Totals struct {
	Journeys, Runs, Steps, Incidents int
}

// Name is the name of the generated journey i (0-based).
func Name(i int) string { return fmt.Sprintf("journey-%03d", i) }

// Fill writes the history of spec into st: journeys (loaded from YAML,
// with thresholds), their runs — mostly passed, some degraded, a few
// failed with the failing step's error, steps slowly getting slower on
// every tenth journey — an incident for each streak of failures, and the
// hourly aggregates of it all.
func Fill(ctx context.Context, st *store.Store, spec Spec) (Totals, error) {
	spec.defaults()
	var tot Totals
	rng := rand.New(rand.NewPCG(spec.Seed, 7))
	if spec.Dir == "" {
		dir, err := os.MkdirTemp("", "waymark-storegen-")
		if err != nil {
			return tot, fmt.Errorf("generate journeys: %w", err)
		}
		spec.Dir = dir
	}
	js := make([]*journeys.Journey, spec.Journeys)
	for i := range js {
		path := filepath.Join(spec.Dir, Name(i)+".yaml")
		def := []byte(definition(i, spec.Steps))
		if err := os.WriteFile(path, def, 0o644); err != nil {
			return tot, fmt.Errorf("generate journey %d: %w", i, err)
		}
		j, err := journeys.Parse(path, def)
		if err != nil {
			return tot, fmt.Errorf("generate journey %d: %w", i, err)
		}
		js[i] = j
	}
	if err := st.SyncJourneys(ctx, []string{spec.Dir}, js, nil); err != nil {
		return tot, fmt.Errorf("generate journeys: %w", err)
	}
	tot.Journeys = len(js)
	db := sqlx.NewDb(st.DB(), driverName(st.Dialect()))
	start := spec.Now.Add(-time.Duration(spec.Days) * 24 * time.Hour)
	w := &writer{db: db}
	for ji, j := range js {
		// Each journey runs at its own minute, as a cron spread would.
		offset := time.Duration(ji) * spec.Every / time.Duration(spec.Journeys)
		failing := 0
		var streak []string
		for at, k := start.Add(offset), 0; at.Before(spec.Now); at, k = at.Add(spec.Every), k+1 {
			id := fmt.Sprintf("%s-%06d", j.Name, k)
			days := at.Sub(start).Hours() / 24
			outcome, failStep := results.Passed, 0
			switch p := rng.Float64(); {
			case p < 0.01:
				outcome, failStep = results.Failed, 3
			case p < 0.012:
				outcome = results.Error
			case p < 0.03:
				outcome = results.Degraded
			}
			var elapsed time.Duration
			for si := 1; si <= spec.Steps; si++ {
				base := time.Duration(100+50*si) * time.Millisecond
				if ji%10 == 0 && si == spec.Steps {
					base += time.Duration(days*8) * time.Millisecond // drifts 8 ms a day
				}
				d := time.Duration(float64(base) * (0.8 + 0.4*rng.Float64()))
				status, errText := results.StepPassed, ""
				switch {
				case outcome == results.Error:
					status = results.StepSkipped
					if si == 1 {
						status, errText = results.StepError, "the browser crashed or was killed during the step"
					}
				case failStep > 0 && si == failStep:
					status, errText = results.StepFailed, `expected text "Thank you", got "Payment failed"`
				case failStep > 0 && si > failStep:
					status = results.StepSkipped
				case outcome == results.Degraded && si == spec.Steps:
					status, d = results.StepDegraded, d*4
				}
				if status == results.StepSkipped {
					d = 0
				}
				w.step(id, si, j.Steps[si-1].Name, elapsed, d, status, errText)
				elapsed += d
			}
			cause, errText := results.CauseNone, ""
			switch outcome {
			case results.Failed:
				cause, errText = results.CauseAssertion, `step 3: expected text "Thank you", got "Payment failed"`
			case results.Error:
				cause, errText = results.CauseMonitor, "the browser crashed or was killed during the step"
			}
			w.run(j.Name, id, at, elapsed, outcome, failStep, cause, errText)
			tot.Runs++
			tot.Steps += spec.Steps
			if err := w.flushIfFull(ctx); err != nil {
				return tot, err
			}
			switch outcome {
			case results.Failed:
				failing++
				streak = append(streak, id)
			case results.Passed, results.Degraded:
				if failing >= 1 && ji%4 == 0 {
					// A quarter of the journeys alert on the first failure.
					if err := incident(ctx, st, j.Name, streak, at, rng); err != nil {
						return tot, err
					}
					tot.Incidents++
				}
				failing, streak = 0, nil
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		return tot, err
	}
	if _, err := st.Prune(ctx, store.Retention{}, spec.Now); err != nil {
		return tot, fmt.Errorf("aggregate the generated runs: %w", err)
	}
	return tot, nil
}

// definition is journey i's YAML: a few steps, the last with thresholds.
func definition(i, steps int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ntitle: Generated journey %d\nsite: https://shop%d.example.com\nschedule: \"@every 2h\"\n",
		Name(i), i, i)
	fmt.Fprintf(&b, "customer: customer-%02d\nowner: team-%d\ntags: [shop, %s]\nsteps:\n", i%20, i%5, []string{"eu", "us"}[i%2])
	for s := 1; s <= steps; s++ {
		fmt.Fprintf(&b, "  - goto: /page-%d\n    name: Step %d\n", s, s)
		if s == steps {
			b.WriteString("    threshold: {warn: 1s, fail: 3s}\n")
		}
	}
	return b.String()
}

// incident records a resolved incident over the failed runs of streak,
// acknowledged after a few minutes, resolved by the passing run at at.
func incident(ctx context.Context, st *store.Store, journey string, streak []string, at time.Time, rng *rand.Rand) error {
	opened := at.Add(-time.Duration(len(streak)) * time.Hour)
	acked := opened.Add(time.Duration(2+rng.IntN(20)) * time.Minute)
	inc := &results.Incident{Journey: journey, Kind: results.IncidentSite, Severity: results.SeverityCritical,
		State: results.IncidentResolved, OpenedAt: opened, AcknowledgedAt: acked, AcknowledgedBy: "dana", ResolvedAt: at,
		FirstRun: streak[0], LastRun: streak[len(streak)-1], FirstFailureAt: opened, Failures: len(streak),
		Step: 3, StepName: "Step 3", Cause: results.CauseAssertion, Error: `expected text "Thank you", got "Payment failed"`}
	return st.Tx(ctx, func(tx *sqlx.Tx) error {
		if err := st.CreateIncidentTx(ctx, tx, inc); err != nil {
			return err
		}
		for _, e := range []results.IncidentEvent{
			{At: opened, Kind: results.EventOpened, RunID: streak[0]},
			{At: opened, Kind: results.EventNotification, Channel: "desk", Delivery: results.DeliveryDelivered, Detail: "opened"},
			{At: acked, Kind: results.EventAcknowledged, By: "dana"},
			{At: at, Kind: results.EventResolved, Detail: "the journey passed again"},
		} {
			e.IncidentID = inc.ID
			if err := st.AddEventTx(ctx, tx, &e); err != nil {
				return err
			}
		}
		return nil
	})
}

// driverName is sqlx's name for the store's dialect, for its placeholders.
func driverName(dialect string) string {
	if dialect == "postgres" {
		return "pgx"
	}
	return "sqlite"
}

// writer batches rows into multi-row INSERTs.
type writer struct {
	db          *sqlx.DB
	runs, steps [][]any
}

const batch = 400

func (w *writer) run(journey, id string, at time.Time, d time.Duration, o results.Outcome, failStep int, cause results.Cause, errText string) {
	w.runs = append(w.runs, []any{id, journey, "Generated " + journey, string(results.TriggerSchedule), "local",
		at.UnixMilli(), at.Add(d).UnixMilli(), d.Milliseconds(), string(o), failStep, string(cause), errText, 1, false, ""})
}

func (w *writer) step(run string, idx int, name string, start, d time.Duration, s results.Status, errText string) {
	w.steps = append(w.steps, []any{run, idx, name, "goto", start.Milliseconds(), d.Milliseconds(), string(s), errText,
		math.Round(float64(d.Milliseconds()) * 0.3)})
}

func (w *writer) flushIfFull(ctx context.Context) error {
	if len(w.runs) < batch {
		return nil
	}
	return w.flush(ctx)
}

// flush writes the rows batched so far, the runs before their steps.
func (w *writer) flush(ctx context.Context) error {
	if err := w.insert(ctx, `runs (id, journey, title, "trigger", location, started_at, finished_at, duration_ms, outcome,
		failing_step, cause, error, attempt, retried, maintenance)`, w.runs); err != nil {
		return fmt.Errorf("generate runs: %w", err)
	}
	if err := w.insert(ctx, `steps (run_id, idx, name, action, start_ms, duration_ms, status, error, ttfb_ms)`, w.steps); err != nil {
		return fmt.Errorf("generate steps: %w", err)
	}
	w.runs, w.steps = w.runs[:0], w.steps[:0]
	return nil
}

func (w *writer) insert(ctx context.Context, into string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), batch)
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
		args := make([]any, 0, n*len(rows[0]))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		q := "INSERT INTO " + into + " VALUES " + strings.TrimSuffix(strings.Repeat(ph+", ", n), ", ")
		if _, err := w.db.ExecContext(ctx, w.db.Rebind(q), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// SQLiteFile returns the path of a SQLite store holding spec's history,
// generated into the temporary folder the first time and kept there for
// the next benchmarks (the path says which spec; a .done file beside it
// that it is whole), so each run of them does not pay minutes for it.
func SQLiteFile(ctx context.Context, spec Spec) (string, error) {
	spec.defaults()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("waymark-storegen-%d-%d-%s-%d-%d-%d.db",
		spec.Journeys, spec.Days, spec.Every, spec.Steps, spec.Now.Unix(), spec.Seed))
	if _, err := os.Stat(path + ".done"); err == nil {
		return path, nil
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return "", err
		}
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if spec.Dir == "" {
		spec.Dir = path + ".journeys"
		if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
			return "", err
		}
	}
	if _, err := Fill(ctx, st, spec); err != nil {
		return "", err
	}
	return path, os.WriteFile(path+".done", nil, 0o644)
}

// Bench opens a store of spec's history for a benchmark on dialect
// ("sqlite": the file SQLiteFile keeps; "postgres": a new database of the
// server the PG* variables name, filled anew, which takes minutes).
func Bench(tb testing.TB, dialect string, spec Spec) *store.Store {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	var st *store.Store
	var err error
	if dialect == store.DialectPostgres {
		if st, err = store.Open(ctx, storetest.PostgresURL(tb)); err == nil {
			spec.Dir = tb.TempDir()
			_, err = Fill(ctx, st, spec)
		}
	} else {
		var path string
		if path, err = SQLiteFile(ctx, spec); err == nil {
			st, err = store.Open(ctx, path)
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s: the generated store is ready in %s", dialect, time.Since(start).Round(time.Second))
	return st
}
