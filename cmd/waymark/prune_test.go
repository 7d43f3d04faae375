package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// savePruneFixture stores, in a new database file, runs of every age
// relative to base (an hour boundary, so runs a minute apart share their
// hour): a passed and a failed run 100 days ago, a passed and a failed one
// 40 days ago, a passed one 10 days ago sharing a screenshot with the
// passed one of 40 days ago, and a passed one 3 hours ago. It returns the
// file.
func savePruneFixture(t *testing.T, base time.Time) string {
	t.Helper()
	run := func(id string, at time.Time, o results.Outcome, shots ...string) *results.Run {
		st := results.Step{Index: 1, Name: "Home page", Action: "goto", Duration: 300 * time.Millisecond, Status: results.StepPassed}
		if o == results.Failed {
			st.Status = results.StepFailed
		}
		for _, s := range shots {
			st.Artifacts = append(st.Artifacts, results.Artifact{Kind: results.ArtifactScreenshot, Data: []byte(s)})
		}
		return &results.Run{ID: id, Journey: "checkout", Location: "eu-west", Trigger: results.TriggerSchedule,
			StartedAt: at, FinishedAt: at.Add(st.Duration), Duration: st.Duration, Outcome: o, Attempt: 1,
			Steps: []results.Step{st}}
	}
	day := 24 * time.Hour
	db := filepath.Join(t.TempDir(), "prune.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, r := range []*results.Run{
		run("p100", base.Add(-100*day+time.Minute), results.Passed, "home 100"),
		run("f100", base.Add(-100*day+2*time.Minute), results.Failed, "error 100"),
		run("p40", base.Add(-40*day+time.Minute), results.Passed, "home"),
		run("f40", base.Add(-40*day+2*time.Minute), results.Failed, "error 40"),
		run("p10", base.Add(-10*day+time.Minute), results.Passed, "home"),
		run("p0", base.Add(-3*time.Hour+time.Minute), results.Passed),
	} {
		if err := st.SaveRun(t.Context(), nil, r); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// storedRunIDs lists the runs in the database file db.
func storedRunIDs(t *testing.T, db string) []string {
	t.Helper()
	st := openStore(t, db)
	runs, err := st.Runs(t.Context(), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestPrune(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Hour)
	for _, tc := range []struct {
		name string
		env  map[string]string
		out  []string // stdout, line by line
		left []string // the runs left, newest first
	}{
		{"the defaults", nil, []string{
			"keeping runs 30d, failed and error runs 90d, hourly aggregates 400d",
			"aggregated 4 hours of runs",
			"removed 3 runs (3 steps, 3 artifacts), 2 stored files (17 B), 0 hourly aggregates, 0 missed slots, 0 maintenance windows",
		}, []string{"p0", "p10", "f40"}},
		{"runs kept forever, failures too", map[string]string{"WAYMARK_RETENTION_RUNS": "0"}, []string{
			"keeping runs forever, failed and error runs forever, hourly aggregates 400d",
			"aggregated 4 hours of runs",
			"removed nothing",
		}, []string{"p0", "p10", "f40", "p40", "f100", "p100"}},
		{"failures kept no shorter than runs", map[string]string{"WAYMARK_RETENTION_RUNS": "50d", "WAYMARK_RETENTION_FAILURES": "1d"}, []string{
			"keeping runs 50d, failed and error runs 50d, hourly aggregates 400d",
			"aggregated 4 hours of runs",
			"removed 2 runs (2 steps, 2 artifacts), 2 stored files (17 B), 0 hourly aggregates, 0 missed slots, 0 maintenance windows",
		}, []string{"p0", "p10", "f40", "p40"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := savePruneFixture(t, base)
			r := cli(t, tc.env, "prune", "--database", db)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			want := append([]string{"pruning " + db + ": " + tc.out[0]}, tc.out[1:]...)
			if got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("stdout\n%s\nwant\n%s", r.stdout, strings.Join(want, "\n"))
			}
			if got := storedRunIDs(t, db); strings.Join(got, " ") != strings.Join(tc.left, " ") {
				t.Errorf("runs left %v, want %v", got, tc.left)
			}
			// Again: nothing more to do.
			again := cli(t, tc.env, "prune", "--database", db)
			if again.code != 0 || !strings.HasSuffix(again.stdout, "aggregated 0 hours of runs\nremoved nothing\n") {
				t.Errorf("second prune: exit %d, stdout:\n%s\nstderr:\n%s", again.code, again.stdout, again.stderr)
			}
		})
	}
}

func TestPruneBadInput(t *testing.T) {
	dir := t.TempDir()
	db := savePruneFixture(t, time.Now().UTC().Truncate(time.Hour))
	missing := filepath.Join(dir, "missing.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // in stderr
	}{
		{"missing database", nil, []string{"prune", "--database", missing}, "no such database"},
		{"negative period", map[string]string{"WAYMARK_RETENTION_RUNS": "-30d"}, []string{"prune", "--database", db},
			`WAYMARK_RETENTION_RUNS: want a duration ≥ 0 like 30d (0 keeps forever), got "-30d"`},
		{"bad period", map[string]string{"WAYMARK_RETENTION_AGGREGATES": "a year"}, []string{"prune", "--database", db},
			`WAYMARK_RETENTION_AGGREGATES: bad duration "a year": want a duration like 30d, 12h or 90m, or 0 to keep forever`},
		{"an argument", nil, []string{"prune", "now", "--database", db}, `unknown command "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.env, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want 2, and stderr with %q:\n%s", r.code, tc.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout on bad input:\n%s", r.stdout)
			}
		})
	}
	if got := storedRunIDs(t, db); len(got) != 6 {
		t.Errorf("bad input removed runs: %v left", got)
	}
}

// TestPruneJob runs the retention job in River as `waymark serve` does:
// the leader inserts it at its start, on its own queue, and the worker
// prunes with the config's retention at the injected time and logs what it
// removed.
func TestPruneJob(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	db := savePruneFixture(t, now)
	st := openStore(t, db)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	day := config.Period(24 * time.Hour)
	jobs := pruneJobs(st, config.Retention{Runs: 30 * day, Failures: 90 * day, Aggregates: 400 * day}, log, func() time.Time { return now })

	workers := river.NewWorkers()
	if err := jobs.AddWorkers(workers); err != nil {
		t.Fatal(err)
	}
	queues := jobs.Queues
	if q, ok := queues[pruneQueue]; !ok || q.MaxWorkers != 1 || len(queues) != 1 {
		t.Fatalf("queues %+v, want only %s with one worker", queues, pruneQueue)
	}
	// Polled fast here; hourly jobs are polled slowly in production.
	queues = map[string]river.QueueConfig{pruneQueue: {MaxWorkers: 1, FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond}}
	client, err := river.NewClient(st.RiverDriver(), &river.Config{
		ID:           "eu-1",
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: jobs.Periodic,
		Logger:       slog.New(slog.DiscardHandler),
		TestOnly:     true,
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
	select {
	case ev := <-events:
		if ev.Kind != river.EventKindJobCompleted || ev.Job.Kind != "waymark_prune" || ev.Job.Queue != pruneQueue {
			t.Fatalf("event %s of job %s on %s, want the prune job completed on %s; logs:\n%s",
				ev.Kind, ev.Job.Kind, ev.Job.Queue, pruneQueue, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("no prune job ran within a minute of the leader's start; logs:\n%s", logs.String())
	}
	if got := storedRunIDs(t, db); fmt.Sprint(got) != "[p0 p10 f40]" {
		t.Errorf("runs left %v, want [p0 p10 f40]", got)
	}
	want := "level=INFO msg=pruned hours_aggregated=4 runs=3 steps=3 artifacts=3 blobs=2 blob_bytes=17 aggregates=0 slot_misses=0 maintenance=0 took="
	if !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs.String())
	}
}
