package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// TestLeader reads River's leader row as River's driver writes it: none,
// then one with times of its own, which must come back to the
// millisecond, in UTC, as River's own reader gives them.
func TestLeader(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		if id, elected, expires, ok, err := s.Leader(ctx); err != nil || ok || id != "" || !elected.IsZero() || !expires.IsZero() {
			t.Fatalf("Leader with none elected = %q, %v, %v, %v, %v; want none", id, elected, expires, ok, err)
		}

		elected := time.Date(2026, 5, 1, 12, 0, 0, 123_000_000, time.UTC)
		expires := elected.Add(15*time.Second + 456*time.Millisecond)
		exec := s.RiverDriver().GetExecutor()
		if _, err := exec.LeaderInsert(ctx, &riverdriver.LeaderInsertParams{
			LeaderID: "box1-0a1b2c3d", ElectedAt: &elected, ExpiresAt: &expires, TTL: time.Minute,
		}); err != nil {
			t.Fatal(err)
		}
		id, gotElected, gotExpires, ok, err := s.Leader(ctx)
		if err != nil || !ok || id != "box1-0a1b2c3d" || !gotElected.Equal(elected) || !gotExpires.Equal(expires) ||
			gotElected.Location() != time.UTC || gotExpires.Location() != time.UTC {
			t.Errorf("Leader = %q, %v, %v, %v, %v; want box1-0a1b2c3d, %v, %v, true", id, gotElected, gotExpires, ok, err, elected, expires)
		}
		river, err := exec.LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
		if err != nil {
			t.Fatal(err)
		}
		if river.LeaderID != id || !river.ElectedAt.Truncate(time.Millisecond).Equal(gotElected) ||
			!river.ExpiresAt.Truncate(time.Millisecond).Equal(gotExpires) {
			t.Errorf("Leader = %q, %v, %v; River's own reader says %q, %v, %v", id, gotElected, gotExpires,
				river.LeaderID, river.ElectedAt, river.ExpiresAt)
		}
	})
}

// TestLeaderElectedByRiver starts a River client on the store's driver
// and reads the leader it makes itself: River's own election, with the
// database's clock and River's time format, not rows of ours.
func TestLeaderElectedByRiver(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		before := time.Now().Add(-time.Second) // the database's clock may be a little behind ours
		client, err := river.NewClient(s.RiverDriver(), &river.Config{
			ID:       "elected-" + dialect,
			Queues:   map[string]river.QueueConfig{"idle": {MaxWorkers: 1}},
			Workers:  idleWorkers(),
			Logger:   slog.New(slog.DiscardHandler),
			TestOnly: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.Stop(stopCtx); err != nil {
				t.Errorf("stop River: %v", err)
			}
		})
		id, elected, expires := waitForLeader(t, s)
		if id != "elected-"+dialect {
			t.Errorf("leader %q, want the client, elected-%s", id, dialect)
		}
		if after := time.Now().Add(time.Second); elected.Before(before) || elected.After(after) {
			t.Errorf("elected at %v, want between %v and %v", elected, before, after)
		}
		if !expires.After(elected) {
			t.Errorf("term expires at %v, not after the election at %v", expires, elected)
		}
	})
}

// idleArgs is a job kind no test inserts: a River client needs a worker.
type idleArgs struct{}

func (idleArgs) Kind() string { return "idle" }

type idleWorker struct{ river.WorkerDefaults[idleArgs] }

func (idleWorker) Work(context.Context, *river.Job[idleArgs]) error { return nil }

// idleWorkers is the workers of a client that is started only to be
// elected, or to hold jobs.
func idleWorkers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, idleWorker{})
	return w
}

// waitForLeader waits up to 20 seconds for River to elect a leader; River
// tries at once when a client starts, then every few seconds.
func waitForLeader(t *testing.T, s *Store) (id string, elected, expires time.Time) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		id, elected, expires, ok, err := s.Leader(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return id, elected, expires
		}
		if time.Now().After(deadline) {
			t.Fatal("River elected no leader within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQueueDepths counts jobs inserted by River's driver in every state,
// due and not, in several queues.
func TestQueueDepths(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		got, err := s.QueueDepths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "QueueDepths with no jobs", got, map[string]QueueDepth{})

		// An hour either way of the database's now, so its clock and ours
		// need not agree to the second.
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		jobs := []struct {
			queue string
			state rivertype.JobState
			at    time.Time
			n     int
		}{
			{"loc_eu-west", rivertype.JobStateAvailable, past, 3},                      // waiting
			{"loc_eu-west", rivertype.JobStateAvailable, future, 2},                    // inserted ahead of its slot
			{"loc_eu-west", rivertype.JobStateRunning, past, 2},                        // held by a worker
			{"loc_eu-west", rivertype.JobStateScheduled, past, 1},                      // due: the scheduler makes it available
			{"loc_eu-west", rivertype.JobStateScheduled, future, 1},                    // ahead
			{"loc_eu-west", rivertype.JobStateRetryable, past, 1},                      // due for its next attempt
			{"loc_eu-west", rivertype.JobStateRetryable, future, 1},                    // its next attempt later
			{"loc_eu-west", rivertype.JobStateCompleted, past, 5},                      // finished: not counted
			{"loc_eu-west", rivertype.JobStateCancelled, past, 1},                      //  …
			{"loc_eu-west", rivertype.JobStateDiscarded, past, 1},                      //  …
			{"loc_us-east", rivertype.JobStateAvailable, past, 4},                      // a queue nobody works
			{"control", rivertype.JobStateRunning, past, 1},                            // the dispatcher
			{"loc_gone", rivertype.JobStateCompleted, past, 2},                         // only finished jobs: absent
			{"loc_ap-south", rivertype.JobStateScheduled, future, 1},                   // only ahead
			{"loc_weird\x1b", rivertype.JobStateAvailable, past, 1},                    // names are River's to check, not ours
			{"loc_eu-west", rivertype.JobStateAvailable, past.Add(-48 * time.Hour), 1}, // long overdue: still waiting
		}
		exec := s.RiverDriver().GetExecutor()
		for _, j := range jobs {
			for i := range j.n {
				p := &riverdriver.JobInsertFullParams{
					Kind: "run_journey", EncodedArgs: fmt.Appendf(nil, `{"n":%d}`, i), Metadata: []byte(`{}`),
					MaxAttempts: 3, Priority: 1, Queue: j.queue, ScheduledAt: &j.at, State: j.state,
				}
				switch j.state {
				case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
					p.FinalizedAt = &j.at
				case rivertype.JobStateRunning:
					p.Attempt, p.AttemptedAt, p.AttemptedBy = 1, &j.at, []string{"box1"}
				}
				if _, err := exec.JobInsertFull(ctx, p); err != nil {
					t.Fatalf("insert a %s job in %s: %v", j.state, j.queue, err)
				}
			}
		}
		got, err = s.QueueDepths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "QueueDepths", got, map[string]QueueDepth{
			"loc_eu-west":   {Waiting: 3 + 1 + 1 + 1, Ahead: 2 + 1 + 1, Running: 2},
			"loc_us-east":   {Waiting: 4},
			"control":       {Running: 1},
			"loc_ap-south":  {Ahead: 1},
			"loc_weird\x1b": {Waiting: 1},
		})
	})
}

// TestQueueDepthsUsesRiversIndex checks the plan of the query /metrics
// runs on every scrape: it reads River's fetch index for the unfinished
// states only, so the finished jobs River keeps for days cost nothing.
// PostgreSQL plans by the table's statistics: it is given what a busy
// database has, thousands of finished jobs and a few waiting, and
// analysed; it must then choose the index, and never a sequential scan.
func TestQueueDepthsUsesRiversIndex(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		var plan []string
		switch dialect {
		case DialectSQLite:
			var rows []struct {
				ID      int    `db:"id"`
				Parent  int    `db:"parent"`
				NotUsed int    `db:"notused"`
				Detail  string `db:"detail"`
			}
			if err := s.db.SelectContext(ctx, &rows, `EXPLAIN QUERY PLAN `+queueDepthsQuery[dialect]); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
		case DialectPostgres:
			execSQL(t, s, `INSERT INTO river_job (args, kind, max_attempts, queue, state, scheduled_at, finalized_at)
				SELECT '{}', 'run_journey', 3, 'loc_' || (i % 4), 'completed', now() - i * interval '1 second', now()
				FROM generate_series(1, 20000) AS i`)
			execSQL(t, s, `INSERT INTO river_job (args, kind, max_attempts, queue, state, scheduled_at)
				SELECT '{}', 'run_journey', 3, 'loc_' || (i % 4), 'available', now() + i * interval '1 second'
				FROM generate_series(1, 20) AS i`)
			execSQL(t, s, `VACUUM ANALYZE river_job`)
			if err := s.db.SelectContext(ctx, &plan, `EXPLAIN `+queueDepthsQuery[dialect]); err != nil {
				t.Fatal(err)
			}
		}
		text := strings.Join(plan, "\n")
		want := byDialect(s,
			[]string{"USING COVERING INDEX river_job_prioritized_fetching_index (state=?)"},
			[]string{"Index Only Scan using river_job_prioritized_fetching_index", "Index Cond: (state = ANY ("})
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("the plan lacks %q:\n%s", w, text)
			}
		}
		for _, line := range plan {
			if strings.Contains(line, "Seq Scan") || strings.TrimSpace(line) == "SCAN river_job" {
				t.Errorf("the plan reads the whole table:\n%s", text)
			}
		}
	})
}
