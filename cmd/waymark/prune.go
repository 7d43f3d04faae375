package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/runner/schedule"
)

// pruneFlags are the flags of `waymark prune`.
type pruneFlags struct {
	database string
}

func (a *app) pruneCmd() *cobra.Command {
	var f pruneFlags
	c := &cobra.Command{
		Use:   "prune",
		Short: "Apply retention now: aggregate finished hours, delete what is older than retention",
		Long: `Apply the config's retention to the database now, as ` + "`waymark serve`" + ` does
every hour, and say what was removed. First every finished hour of runs
is summarised into hourly aggregates (per journey and location, and per
step: runs, failures, p50, p95 and max duration); then runs older than
retention.runs (default 30d) are deleted with their steps and artifacts,
but failed and error runs only after retention.failures (default 90d),
then the stored screenshots and other contents no remaining artifact
refers to, the skipped and dropped slots older than retention.runs, and
the aggregates older than retention.aggregates (default 400d). A period
of 0 keeps forever. Incidents are always kept.

Deletes go a few hundred rows per transaction, so it is safe to run while
` + "`waymark serve`" + ` records runs; Ctrl-C stops it between two, keeping what it
did, and the next prune goes on from there. It never creates a database.

Exit status: 0 pruned (also when there was nothing to remove), 2 bad input:
a bad config, a database that does not exist or cannot be pruned; 130
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.prune(cmd.Context(), f)
		},
	}
	c.Flags().StringVar(&f.database, "database", "", "database `FILE` or postgres:// URL to prune (default: config database)")
	return c
}

// prune is `waymark prune`.
func (a *app) prune(ctx context.Context, f pruneFlags) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return badInput(err)
	}
	st, db, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(a.stdout, "pruning %s: %s\n", describeDB(db), describeRetention(cfg.Retention))
	rep, err := st.Prune(ctx, storeRetention(cfg.Retention), time.Now())
	writePruneReport(a.stdout, rep)
	switch {
	case err != nil && ctx.Err() != nil:
		return &exitError{code: exitInterrupted, err: errors.New("interrupted: what is above was done; the next prune goes on from there")}
	case err != nil:
		return err
	}
	return nil
}

// storeRetention is the config's retention as the store takes it.
func storeRetention(r config.Retention) store.Retention {
	return store.Retention{Runs: r.Runs.Duration(), Failures: r.Failures.Duration(), Aggregates: r.Aggregates.Duration()}
}

// describeRetention says what r keeps, as the config would say it.
func describeRetention(r config.Retention) string {
	failures := r.Failures
	if r.Runs == 0 || (r.Failures != 0 && r.Failures < r.Runs) {
		failures = r.Runs // never shorter than runs: see store.Retention
	}
	return fmt.Sprintf("keeping runs %s, failed and error runs %s, hourly aggregates %s", r.Runs, failures, r.Aggregates)
}

// writePruneReport says what a prune did, in two lines.
func writePruneReport(w io.Writer, rep store.PruneReport) {
	fmt.Fprintf(w, "aggregated %s of runs\n", plural(int64(rep.HoursAggregated), "hour"))
	if !rep.Removed() {
		fmt.Fprintln(w, "removed nothing")
		return
	}
	fmt.Fprintf(w, "removed %s (%s, %s), %s (%s), %s, %s, %s\n",
		plural(rep.Runs, "run"), plural(rep.Steps, "step"), plural(rep.Artifacts, "artifact"),
		plural(rep.Blobs, "stored file"), byteSize(rep.BlobBytes),
		plural(rep.Aggregates, "hourly aggregate"), plural(rep.SlotMisses, "missed slot"),
		plural(rep.Maintenance, "maintenance window"))
}

// plural is "1 run" or "2 runs".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// byteSize is n bytes for people: 512 B, 1.5 KiB, 20.0 MiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// The retention job of `waymark serve`.
const (
	// pruneQueue is the retention job's River queue: its own, so that
	// pruning never waits for runs, nor runs for it.
	pruneQueue = "retention"
	// pruneEvery is how often the leader prunes; also once at its start,
	// so that an agent restarted more often still prunes.
	pruneEvery = time.Hour
	// prunePoll is how often agents look for the retention job: it comes
	// hourly, and every poll is a query.
	prunePoll = 30 * time.Second
	// pruneTimeout bounds one prune. A prune cut there keeps what it did
	// and the next one goes on, so a first prune of a large database
	// spreads over a few hours rather than run for one.
	pruneTimeout = 20 * time.Minute
)

// pruneArgs is the retention job, inserted by the leader every pruneEvery.
type pruneArgs struct{}

// Kind names the job in River's tables.
func (pruneArgs) Kind() string { return "waymark_prune" }

// InsertOpts puts the job on its own queue, once: a failed prune is not
// retried, the next one comes within the hour; and never two at once, so
// a prune that runs long is not joined by the next.
func (pruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       pruneQueue,
		MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// pruneWorker applies retention to the store.
type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	st        *store.Store
	retention store.Retention
	now       func() time.Time
	log       *slog.Logger
}

// Timeout bounds one prune (see pruneTimeout).
func (w *pruneWorker) Timeout(*river.Job[pruneArgs]) time.Duration { return pruneTimeout }

// Work prunes and logs what was removed, also when it stopped early.
func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	start := time.Now()
	rep, err := w.st.Prune(ctx, w.retention, w.now())
	attrs := []any{
		"hours_aggregated", rep.HoursAggregated, "runs", rep.Runs, "steps", rep.Steps, "artifacts", rep.Artifacts,
		"blobs", rep.Blobs, "blob_bytes", rep.BlobBytes, "aggregates", rep.Aggregates, "slot_misses", rep.SlotMisses, "maintenance", rep.Maintenance,
		"took", time.Since(start).Round(time.Millisecond),
	}
	switch {
	case err != nil:
		w.log.Error("prune stopped; the next one goes on", append(attrs, "error", err)...)
		return err
	case rep.Removed() || rep.HoursAggregated > 0:
		w.log.Info("pruned", attrs...)
	default:
		w.log.Debug("pruned: nothing to do", attrs...)
	}
	return nil
}

// pruneJobs is retention as a job of `waymark serve`'s engine: the leader
// prunes st with the config's retention r every hour and at its start, on
// a queue of its own, logging what it removed to log. now is the clock
// (time.Now outside tests).
func pruneJobs(st *store.Store, r config.Retention, log *slog.Logger, now func() time.Time) schedule.Jobs {
	w := &pruneWorker{st: st, retention: storeRetention(r), now: now, log: log}
	return schedule.Jobs{
		AddWorkers: func(ws *river.Workers) error { return river.AddWorkerSafely(ws, w) },
		Queues:     map[string]river.QueueConfig{pruneQueue: {MaxWorkers: 1, FetchPollInterval: prunePoll}},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(pruneEvery),
			func() (river.JobArgs, *river.InsertOpts) { return pruneArgs{}, nil },
			&river.PeriodicJobOpts{ID: "prune", RunOnStart: true},
		)},
	}
}
