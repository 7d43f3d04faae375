package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// workArgs is a job whose worker stores a run, as run_journey's will.
type workArgs struct {
	N int `json:"n"`
}

func (workArgs) Kind() string { return "work" }

// saveWorker stores a run and completes its job in one transaction, as a
// worker that must not lose a finished run does.
type saveWorker struct {
	river.WorkerDefaults[workArgs]
	s *Store
}

func (w *saveWorker) Work(ctx context.Context, job *river.Job[workArgs]) error {
	return w.s.Tx(ctx, func(tx *sqlx.Tx) error {
		run := fullRun(fmt.Sprintf("job-%d", job.Args.N), "worked", start(), fmt.Appendf(nil, "shot %d", job.Args.N))
		if err := w.s.SaveRunTx(ctx, tx, journey("worked", "h"), run); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx.Tx, job)
		return err
	})
}

// syncBuffer is a bytes.Buffer for a logger many goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// riverLoad is what TestRiverWorksBesideOurWrites does at once.
type riverLoad struct {
	jobs          int // jobs inserted, each in a transaction of ours with a run
	workers       int // River workers of the queue, each saving a run per job
	savers        int // goroutines saving runs through the Store meanwhile
	otherSavers   int // … and through a second Store on the same database
	runsPerSaver  int
	completeAfter time.Duration // how long all of it may take
}

// runRiverLoad works load on the database dsn names: River's client (its
// producer, completer, leader election and maintenance on the pool) works
// jobs that save runs, while other goroutines insert jobs with runs in our
// transactions and save runs, through this Store and through a second one
// standing for another process (`waymark run --record` beside `serve`).
// It fails the test on any error, River's logged ones included, and
// returns how long the jobs took.
func runRiverLoad(t *testing.T, s *Store, dsn string, load riverLoad) time.Duration {
	t.Helper()
	ctx := t.Context()
	other := openDSN(t, dsn)
	var logs syncBuffer
	workers := river.NewWorkers()
	river.AddWorker(workers, &saveWorker{s: s})
	client, err := river.NewClient(s.RiverDriver(), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: load.workers}},
		Workers:           workers,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(stopCtx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	}()

	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, load.jobs+(load.savers+load.otherSavers)*load.runsPerSaver)
	// Jobs inserted the way an incident's notifications will be: in the
	// transaction that stores a run.
	wg.Go(func() {
		for n := range load.jobs {
			err := s.Tx(ctx, func(tx *sqlx.Tx) error {
				if err := s.SaveRunTx(ctx, tx, nil, fullRun(fmt.Sprintf("ins-%d", n), "inserting", start(), nil)); err != nil {
					return err
				}
				_, err := client.InsertTx(ctx, tx.Tx, workArgs{N: n}, nil)
				return err
			})
			if err != nil {
				errs <- fmt.Errorf("insert job %d: %w", n, err)
			}
		}
	})
	for g := range load.savers + load.otherSavers {
		st := s
		if g >= load.savers {
			st = other
		}
		wg.Go(func() {
			for i := range load.runsPerSaver {
				if err := st.SaveRun(ctx, nil, fullRun(fmt.Sprintf("save-%d-%d", g, i), "saving", start(), nil)); err != nil {
					errs <- err
				}
			}
		})
	}

	completed, failed := 0, 0
	deadline := time.After(load.completeAfter)
	for completed+failed < load.jobs {
		select {
		case ev := <-events:
			if ev.Kind == river.EventKindJobCompleted {
				completed++
			} else {
				failed++
				t.Errorf("job %d failed: %v", ev.Job.ID, ev.Job.Errors)
			}
		case <-deadline:
			t.Fatalf("after %v: %d of %d jobs completed, %d failed; River logged:\n%s", load.completeAfter, completed, load.jobs, failed, logs.String())
		}
	}
	took := time.Since(began)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l := logs.String(); l != "" {
		t.Errorf("River logged warnings or errors:\n%s", l)
	}
	for journey, want := range map[string]int{
		"worked":    load.jobs,
		"inserting": load.jobs,
		"saving":    (load.savers + load.otherSavers) * load.runsPerSaver,
	} {
		runs, err := s.Runs(ctx, RunFilter{Journey: journey})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != want {
			t.Errorf("%d runs of %s stored, want %d", len(runs), journey, want)
		}
	}
	return took
}

// TestRiverWorksBesideOurWrites works River jobs on the store's own pool
// while the store writes, as `waymark serve` will: on SQLite, River's
// transactions and ours (and another process's) meet only in the
// database, with busy_timeout and BEGIN IMMEDIATE; none may fail with
// SQLITE_BUSY ("database is locked"), and no job may fail or be retried.
func TestRiverWorksBesideOurWrites(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := migratedDSN(t, dialect)
		s := openDSN(t, dsn)
		took := runRiverLoad(t, s, dsn, riverLoad{
			jobs: 40, workers: 4, savers: 2, otherSavers: 1, runsPerSaver: 15, completeAfter: time.Minute,
		})
		t.Logf("%s: jobs done in %v", dialect, took)
	})
}
