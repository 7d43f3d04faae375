package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
)

// worker works run jobs: one journey, one location, one slot.
type worker struct {
	river.WorkerDefaults[runArgs]
	e *Engine
}

// Timeout bounds a run job at the longest a run may take (its timeout, a
// retry and a margin): past it, the run is cut and recorded aborted.
func (w *worker) Timeout(*river.Job[runArgs]) time.Duration { return w.e.opts.MaxRunTime }

// Work runs the slot's journey, unless the slot is too old to matter
// (dropped), the journey's previous run there still goes (skipped), or an
// agent already started this slot and died (recorded aborted). Whatever
// happens to the run, a run that was kept completes the job: River must
// not run a slot twice.
func (w *worker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	a := job.Args
	e := w.e
	now := e.opts.Now()
	j, ok := e.opts.Catalog.Journey(a.Journey)
	if job.Attempt > 1 {
		return w.aborted(ctx, job, j)
	}
	if !ok || j.Schedule == "" {
		// Unloaded or unscheduled since the slot was dispatched.
		return river.JobCancel(fmt.Errorf("journey %s is not scheduled on agent %s any more", a.Journey, e.opts.Agent))
	}
	spec, err := Parse(j.Name, j.Schedule)
	if err != nil {
		return river.JobCancel(err)
	}
	if !now.Before(a.Slot.Add(spec.Interval(a.Slot))) {
		e.miss(ctx, Miss{Journey: a.Journey, Location: a.Location, Slot: a.Slot, Reason: MissDropped})
		return nil
	}
	busy, err := w.othersRunning(ctx, job)
	if err != nil {
		return fmt.Errorf("check the runs of %s in %s: %w", a.Journey, a.Location, err)
	}
	if busy {
		e.miss(ctx, Miss{Journey: a.Journey, Location: a.Location, Slot: a.Slot, Reason: MissSkipped})
		return nil
	}
	if e.opts.Events != nil {
		e.opts.Events.RunStarted(a.Journey, a.Location, max(now.Sub(a.Slot), 0))
	}
	run, err := e.opts.Runner.RunSlot(ctx, j, a.Slot)
	switch {
	case errors.Is(err, runner.ErrNotStarted):
		// Stopped before the run began: nothing happened. Hand the slot
		// back for the next start, which drops it if it is too old.
		return river.JobSnooze(0)
	case err != nil:
		return fmt.Errorf("run %s in %s for %s: %w", a.Journey, a.Location, a.Slot.Format(time.RFC3339), err)
	}
	e.log.Info("run finished", "journey", run.Journey, "location", run.Location, "outcome", run.Outcome,
		"duration", run.Duration.Round(time.Millisecond), "failing_step", run.FailingStep, "cause", run.Cause)
	return nil
}

// othersRunning says whether another job runs the same journey in the
// same location right now.
func (w *worker) othersRunning(ctx context.Context, job *river.Job[runArgs]) (bool, error) {
	res, err := w.e.client.JobList(ctx, river.NewJobListParams().
		Kinds(runArgs{}.Kind()).
		States(rivertype.JobStateRunning).
		Queues(QueueFor(job.Args.Location)).
		TagsAll(journeyTag(job.Args.Journey)).
		First(10))
	if err != nil {
		return false, err
	}
	for _, other := range res.Jobs {
		if other.ID != job.ID {
			return true, nil
		}
	}
	return false, nil
}

// aborted records the run of a slot whose earlier attempt never finished:
// the agent working it died (River rescued the job) or could not keep the
// run. It says nothing about the site, and the slot is not run again late.
func (w *worker) aborted(ctx context.Context, job *river.Job[runArgs], j *journeys.Journey) error {
	a, e := job.Args, w.e
	now := e.opts.Now()
	why := "the agent working this slot stopped before its run finished"
	if n := len(job.Errors); n > 0 {
		why += ": " + job.Errors[n-1].Error
	}
	run := &results.Run{
		ID: uuid.Must(uuid.NewV7()).String(), Journey: a.Journey, Trigger: results.TriggerSchedule,
		Location: a.Location, Slot: a.Slot, StartedAt: now, FinishedAt: now,
		Outcome: results.Aborted, Error: why, Attempt: 1,
	}
	if j != nil {
		run.Title, run.File, run.DefinitionHash = j.Title, j.File, j.Hash
	}
	if err := e.opts.Sink.SaveRun(ctx, j, run); err != nil {
		return fmt.Errorf("record the aborted run of %s in %s: %w", a.Journey, a.Location, err)
	}
	e.log.Warn("run aborted: its agent stopped", "journey", a.Journey, "location", a.Location, "slot", a.Slot)
	return nil
}
