// Package schedule runs journeys on their schedules as River jobs: a
// dispatcher on the leader turns each journey's schedule into one job per
// journey, location and slot, and every agent works its own location's
// jobs through the runner. River gives the durable, unique jobs, the
// per-location queues, the leader election and the rescue of jobs a dead
// agent held; this package adds what River does not know: slots, spread,
// skipping a slot whose previous run still goes, and dropping one too old
// to matter. See docs/serve.md.
package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// Planned is a journey as the dispatcher sees it: enabled, with a
// schedule, in the locations it runs in (none: every location that has an
// agent).
type Planned struct {
	Journey   string
	Schedule  string
	Locations []string
}

// Place is a journey in a location: what dispatch progress is kept for.
type Place struct{ Journey, Location string }

// Miss is a slot that did not run.
type Miss struct {
	Journey, Location string
	Slot              time.Time
	Reason            string // MissSkipped or MissDropped
	At                time.Time
	Agent             string
}

// Reasons a slot did not run.
const (
	// MissSkipped: the journey's previous run in that location still went
	// when the slot was due; running both would double the load and the
	// alerts.
	MissSkipped = "skipped"
	// MissDropped: the slot was older than its interval when a worker could
	// take it (an agent was down, a queue backed up); a late run would
	// measure nothing useful.
	MissDropped = "dropped"
)

// Book is what the engine keeps in the database besides River's jobs:
// which journeys are scheduled, where agents are, how far dispatch went,
// and the slots that did not run. results/store implements it.
type Book interface {
	ScheduledJourneys(ctx context.Context) ([]Planned, error)
	// ActiveLocations are the locations of the agents seen since since.
	ActiveLocations(ctx context.Context, since time.Time) ([]string, error)
	// LastSlots are the last slots dispatched, in one read: a dispatch
	// over 10,000 journeys must not make 10,000 queries.
	LastSlots(ctx context.Context) (map[Place]time.Time, error)
	// SetLastSlots records the newest slots dispatched, in one write; none
	// ever moves back.
	SetLastSlots(ctx context.Context, slots map[Place]time.Time) error
	// RecordMiss keeps a skipped or dropped slot; recording one twice
	// counts it once.
	RecordMiss(ctx context.Context, m Miss) error
}

// Catalog hands out the last good version of each loaded journey.
type Catalog interface {
	Journey(name string) (*journeys.Journey, bool)
}

// Runner runs one journey now, for a slot, and keeps the run (through its
// Sink, which should keep the final run with CompleteJobTx). runner.Runner
// is the implementation.
type Runner interface {
	RunSlot(ctx context.Context, j *journeys.Journey, slot time.Time) (*results.Run, error)
}

// Sink keeps a run the engine records itself: an aborted run for a slot
// whose agent died. Like the Runner's, it should keep the run with
// CompleteJobTx.
type Sink interface {
	SaveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error
}

// Events are told what the engine does, for metrics.
type Events interface {
	// RunStarted: a slot's run starts lag after the slot was due.
	RunStarted(journey, location string, lag time.Duration)
	SlotMissed(journey, location, reason string)
}

// Options configure an Engine.
type Options struct {
	// Driver is River's driver on the store's database: riversqlite or
	// riverdatabasesql, both on *sql.Tx.
	Driver riverdriver.Driver[*sql.Tx]
	// Agent names this agent (River's client ID); Location is the queue it
	// works.
	Agent    string
	Location string
	// Workers is how many runs this agent works at once
	// (browser.max_concurrent); the Runner must allow as many.
	Workers int
	Runner  Runner
	Sink    Sink
	Catalog Catalog
	Book    Book
	Events  Events // nil: none
	// LiveAgents lists the agents seen since since, by ID, with their
	// locations, from the heartbeats they record every HeartbeatEvery.
	// Only when another live agent works this agent's location does a
	// worker ask the database whether a journey's run still goes there;
	// a job still marked running by an agent lost since then no longer
	// keeps its journey's next slots from running. nil counts this agent
	// as alone in its location.
	LiveAgents func(ctx context.Context, since time.Time) (map[string]string, error)
	// DispatchEvery is how often the leader dispatches (default 5s). It
	// inserts the slots due until the next dispatch and a second more,
	// so it bounds only how soon a changed schedule takes effect; each
	// dispatch is a job and a few reads, a share of an idle agent's CPU.
	DispatchEvery time.Duration
	// MaxRunTime bounds a run of a journey this agent has not loaded
	// (another agent's, when this one is the leader and rescues its jobs);
	// the runs of loaded journeys are bounded by RunDeadline. Give it the
	// longest deadline a run in the database may have.
	MaxRunTime time.Duration
	// ShutdownTimeout is how long Stop lets running runs finish before it
	// cuts them (recorded aborted).
	ShutdownTimeout time.Duration
	Now             func() time.Time // nil = time.Now
	Logger          *slog.Logger     // nil = discard
	// TestOnly makes River start and stop fast, for tests.
	TestOnly bool
	// Jobs are other packages' River jobs the engine's client works too:
	// notification deliveries, escalations, retention. They run on every
	// agent; periodic ones on the leader only.
	Jobs []Jobs
}

// Jobs is one package's share of the engine's River client: it adds its
// workers, and may ask for queues of its own (so its jobs wait for no
// one else's) and for periodic jobs (run by the leader).
type Jobs struct {
	// AddWorkers registers the package's workers.
	AddWorkers func(*river.Workers) error
	// Queues are the package's queues, by name.
	Queues map[string]river.QueueConfig
	// Periodic are jobs the leader inserts on their schedules.
	Periodic []*river.PeriodicJob
}

// Engine is one agent's share of the schedule: the dispatcher when it is
// the leader, and the workers of its location.
type Engine struct {
	opts   Options
	log    *slog.Logger
	client *river.Client[*sql.Tx]
	specs  specCache

	mu sync.Mutex
	// running counts the runs of each journey going on this agent.
	running map[Place]int
	// peers are the other live agents of this location, as of peersAt.
	peers   map[string]bool
	peersAt time.Time
}

// Agent liveness, from the heartbeats the agents record in the Book.
const (
	// HeartbeatEvery is how often an agent records that it is alive.
	HeartbeatEvery = 5 * time.Second
	// AgentLostAfter is how long after its last heartbeat an agent counts
	// as gone: the runs its jobs still claim no longer keep the next slots
	// of their journeys from running.
	AgentLostAfter = 4 * HeartbeatEvery
)

// fetchPollInterval is how often an agent looks for the runs due in its
// location. A slot's job becomes available startLead before its time and
// its worker waits for the time itself, so a run starts on time when the
// poll falls in that lead and at most fetchPollInterval-startLead late
// otherwise. Each poll is a query (most of an idle agent's CPU:
// docs/performance.md), so the poll is as slow as the lag target allows.
const (
	fetchPollInterval = time.Second
	startLead         = fetchPollInterval / 2
)

// controlQueue holds the dispatcher's jobs; every agent works it.
const controlQueue = "control"

// QueueFor is the River queue of a location's runs.
func QueueFor(location string) string { return "loc_" + location }

// New builds an engine; nothing runs until Start.
func New(opts Options) (*Engine, error) {
	if opts.Driver == nil || opts.Runner == nil || opts.Sink == nil || opts.Catalog == nil || opts.Book == nil {
		return nil, errors.New("schedule: Driver, Runner, Sink, Catalog and Book are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DispatchEvery <= 0 {
		opts.DispatchEvery = 5 * time.Second
	}
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.MaxRunTime <= 0 {
		opts.MaxRunTime = 5 * time.Minute
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, log: log, running: map[Place]int{}}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &dispatcher{e: e}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &worker{e: e}); err != nil {
		return nil, err
	}
	queues := map[string]river.QueueConfig{
		QueueFor(opts.Location): {MaxWorkers: opts.Workers},
		// The dispatcher's job comes every DispatchEvery: polling for it
		// more often is CPU spent for nothing.
		controlQueue: {MaxWorkers: 1, FetchPollInterval: opts.DispatchEvery},
	}
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(opts.DispatchEvery),
		func() (river.JobArgs, *river.InsertOpts) { return dispatchArgs{}, nil },
		&river.PeriodicJobOpts{ID: "dispatch", RunOnStart: true},
	)}
	for _, j := range opts.Jobs {
		if j.AddWorkers != nil {
			if err := j.AddWorkers(workers); err != nil {
				return nil, err
			}
		}
		for name, q := range j.Queues {
			if _, ok := queues[name]; ok {
				return nil, fmt.Errorf("schedule: queue %s is defined twice", name)
			}
			queues[name] = q
		}
		periodic = append(periodic, j.Periodic...)
	}
	client, err := river.NewClient(opts.Driver, &river.Config{
		ID:           opts.Agent,
		Logger:       quiet(log),
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: periodic,
		// A run job is rescued once it has been running longer than its
		// own Timeout (worker.Timeout: its run's deadline and the time to
		// record a cut run), when no run can still be going on it; this
		// is only the horizon of River's search for such jobs, the
		// shortest Timeout a job may have. River requires JobTimeout not
		// to exceed it; every worker sets its own Timeout anyway.
		RescueStuckJobsAfter: rescueHorizon,
		JobTimeout:           rescueHorizon,
		// A run job that errors is one whose run could not be kept; a
		// second attempt records it aborted (see worker.Work).
		MaxAttempts:     3,
		SoftStopTimeout: opts.ShutdownTimeout,
		// Slots are inserted as available ahead of their time (see
		// runArgs.Hooks and startLead).
		FetchPollInterval: fetchPollInterval,
		// Polling alone: the jobs are inserted ahead of their time, so
		// an insert notification would only wake producers early for
		// nothing, and on SQLite River's listener is itself a poll
		// every 50ms. Leader handover waits for the old leader's lease
		// (River's election interval) instead of a notification.
		PollOnly: true,
		TestOnly: opts.TestOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("start the job engine: %w", err)
	}
	e.client = client
	return e, nil
}

// Start starts working jobs (and dispatching, when this agent is or
// becomes the leader). It returns at once.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("start the job engine: %w", err)
	}
	return nil
}

// Stop stops taking jobs, lets the runs in flight finish within
// ShutdownTimeout, then cuts them (each is recorded aborted) and returns
// once every job has stopped.
func (e *Engine) Stop(ctx context.Context) error {
	if err := e.client.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop the job engine: %w", err)
	}
	return nil
}

// Client is the engine's River client, for inserting jobs in a caller's
// transaction and for status queries.
func (e *Engine) Client() *river.Client[*sql.Tx] { return e.client }

// quiet passes on River's warnings and errors, not its routine chatter.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	floor slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.floor && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(as), h.floor}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.floor}
}
