package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
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

// Allowances of a run's hard deadline besides the journey's own timeout.
const (
	// setupAllowance is the monitor's own time around one attempt's
	// steps: a browser context and tab (usually well under a second), a
	// browser started again after a crash, a remote browser dialled.
	setupAllowance = 10 * time.Second
	// recordAllowance is the time to keep a run cut at its deadline and
	// complete its job, after which the job may be rescued.
	recordAllowance = 10 * time.Second
	// rescueHorizon is the shortest Timeout a run job may have: River
	// looks for stuck jobs among those running longer than this.
	rescueHorizon = 2*setupAllowance + recordAllowance
)

// RunDeadline is the hard deadline of one slot's run of a journey with
// the given timeout (0: journeys.DefaultRunTimeout): twice the timeout,
// as a monitor error is retried once at once, each attempt with time for
// its set-up. A run still going then is cut and recorded aborted; River
// rescues a job held longer (plus the time to record a cut run) by an
// agent that died, so a journey with a 5s timeout is rescued after 40s.
func RunDeadline(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		timeout = journeys.DefaultRunTimeout
	}
	return 2 * (timeout + setupAllowance)
}

// Timeout bounds a run job: its journey's RunDeadline and the time to
// record a run cut there, or MaxRunTime for a journey this agent has not
// loaded. River cancels the job then, and rescues it from an agent that
// died once it has been running that long.
func (w *worker) Timeout(job *river.Job[runArgs]) time.Duration {
	if j, ok := w.e.opts.Catalog.Journey(job.Args.Journey); ok {
		return RunDeadline(j.Timeout) + recordAllowance
	}
	return max(w.e.opts.MaxRunTime, rescueHorizon)
}

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
		return w.aborted(withJob(ctx, job), job, j)
	}
	if !ok || j.Schedule == "" {
		// Unloaded or unscheduled since the slot was dispatched.
		return river.JobCancel(fmt.Errorf("journey %s is not scheduled on agent %s any more", a.Journey, e.opts.Agent))
	}
	spec, err := Parse(j.Name, j.Schedule)
	if err != nil {
		return river.JobCancel(err)
	}
	if early := a.Slot.Sub(now); early > 0 && early <= startLead {
		// Fetched in the lead before the slot: start on the second.
		t := time.NewTimer(early)
		select {
		case <-ctx.Done():
			t.Stop()
			return river.JobSnooze(0)
		case <-t.C:
		}
		now = e.opts.Now()
	}
	if !now.Before(a.Slot.Add(spec.Interval(a.Slot))) {
		e.miss(ctx, Miss{Journey: a.Journey, Location: a.Location, Slot: a.Slot, Reason: MissDropped})
		return nil
	}
	place := Place{a.Journey, a.Location}
	busy, err := w.take(ctx, job, place)
	if err != nil {
		return fmt.Errorf("check the runs of %s in %s: %w", a.Journey, a.Location, err)
	}
	if busy {
		e.miss(ctx, Miss{Journey: a.Journey, Location: a.Location, Slot: a.Slot, Reason: MissSkipped})
		return nil
	}
	defer w.release(place)
	if e.opts.Events != nil {
		e.opts.Events.RunStarted(a.Journey, a.Location, max(now.Sub(a.Slot), 0))
	}
	// The run's own deadline, before River's (Timeout): a run cut here
	// is still recorded before the job may be rescued.
	runCtx, cancel := context.WithTimeout(withJob(ctx, job), RunDeadline(j.Timeout))
	defer cancel()
	run, err := e.opts.Runner.RunSlot(runCtx, j, a.Slot)
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

// take claims the journey's run in the location for job, unless a run of
// it goes on already (busy): on this agent, which it knows itself, or on
// another live agent of the location, which only the job table knows.
// The database is asked only when there is such an agent: one agent per
// location, the usual set-up, makes no query per run (at 10,000 journeys
// a minute on PostgreSQL that query was most of the database's work).
func (w *worker) take(ctx context.Context, job *river.Job[runArgs], place Place) (busy bool, err error) {
	e := w.e
	e.mu.Lock()
	if e.running[place] > 0 {
		e.mu.Unlock()
		return true, nil
	}
	// Claimed before asking the others, so two workers of this agent
	// never both run it.
	e.running[place]++
	e.mu.Unlock()
	defer func() {
		if busy || err != nil {
			w.release(place)
		}
	}()
	peers, err := w.peers(ctx)
	if err != nil || len(peers) == 0 {
		return false, err
	}
	res, err := e.client.JobList(ctx, river.NewJobListParams().
		Kinds(runArgs{}.Kind()).
		States(rivertype.JobStateRunning).
		Queues(QueueFor(place.Location)).
		TagsAll(journeyTag(place.Journey)).
		First(10))
	if err != nil {
		return false, err
	}
	for _, other := range res.Jobs {
		if n := len(other.AttemptedBy); other.ID != job.ID && n > 0 && peers[other.AttemptedBy[n-1]] {
			return true, nil
		}
	}
	return false, nil
}

// release ends a run that take claimed.
func (w *worker) release(place Place) {
	e := w.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[place]--; e.running[place] <= 0 {
		delete(e.running, place)
	}
}

// peers are the other live agents of this agent's location, read again
// at most every HeartbeatEvery: an agent that joined the location since
// may see its first run of a journey overlap one here, once.
func (w *worker) peers(ctx context.Context) (map[string]bool, error) {
	e := w.e
	if e.opts.LiveAgents == nil {
		return nil, nil
	}
	now := e.opts.Now()
	e.mu.Lock()
	if !e.peersAt.IsZero() && now.Sub(e.peersAt) < HeartbeatEvery {
		defer e.mu.Unlock()
		return e.peers, nil
	}
	e.mu.Unlock()
	agents, err := e.opts.LiveAgents(ctx, now.Add(-AgentLostAfter))
	if err != nil {
		return nil, err
	}
	peers := map[string]bool{}
	for id, loc := range agents {
		if id != e.opts.Agent && loc == e.opts.Location {
			peers[id] = true
		}
	}
	e.mu.Lock()
	e.peers, e.peersAt = peers, now
	e.mu.Unlock()
	return peers, nil
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

// jobKey is the context key of the run job a worker works.
type jobKey struct{}

// withJob is ctx carrying the run job it works, for CompleteJobTx.
func withJob(ctx context.Context, job *river.Job[runArgs]) context.Context {
	return context.WithValue(ctx, jobKey{}, job)
}

// CompleteJobTx marks the run job that ctx works (the ctx a Runner's or a
// Sink's SaveRun gets from a worker) completed within tx, the transaction
// that saves the slot's final run, and reports whether there was one: the
// run and the end of its job are then kept together or not at all. River
// would otherwise complete the job a moment after Work returns, in a
// batch: until then the next slot would find the journey still running
// and be skipped, and an agent killed in between would leave a kept run
// whose job is rescued and recorded aborted as well.
func CompleteJobTx(ctx context.Context, tx *sql.Tx) (bool, error) {
	job, ok := ctx.Value(jobKey{}).(*river.Job[runArgs])
	if !ok {
		return false, nil
	}
	if _, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
		return false, fmt.Errorf("complete the job of %s in %s for %s: %w", job.Args.Journey, job.Args.Location,
			job.Args.Slot.Format(time.RFC3339), err)
	}
	return true, nil
}
