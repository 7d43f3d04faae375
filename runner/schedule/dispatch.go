package schedule

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/journeys"
)

// agentTTL is how recently an agent must have been seen for its location
// to count as having an agent.
const agentTTL = time.Minute

// maxMissRecords bounds how many dropped slots one dispatch records one by
// one for a journey (after weeks of downtime on a 5s schedule); the rest
// are counted in the log.
const maxMissRecords = 100

// dispatchArgs is the dispatcher's periodic job, inserted by the leader.
type dispatchArgs struct{}

func (dispatchArgs) Kind() string { return "waymark_dispatch" }

func (dispatchArgs) InsertOpts() river.InsertOpts {
	// Once is enough: the next tick comes soon, and a failed dispatch must
	// not pile up retries behind it.
	return river.InsertOpts{Queue: controlQueue, MaxAttempts: 1}
}

// dispatcher inserts the jobs of the slots falling due until the next
// dispatch, once per journey, location and slot.
type dispatcher struct {
	river.WorkerDefaults[dispatchArgs]
	e *Engine
}

func (d *dispatcher) Timeout(*river.Job[dispatchArgs]) time.Duration { return time.Minute }

func (d *dispatcher) Work(ctx context.Context, _ *river.Job[dispatchArgs]) error {
	return d.e.Dispatch(ctx)
}

// Dispatch inserts the run jobs of every slot that falls due from the last
// one dispatched until shortly after the next dispatch, and records the
// slots too old to run as dropped. It is safe to run on several agents at
// once: jobs are unique by journey, location and slot, and the last slot
// only moves forward.
func (e *Engine) Dispatch(ctx context.Context) error {
	now := e.opts.Now()
	planned, err := e.opts.Book.ScheduledJourneys(ctx)
	if err != nil {
		return fmt.Errorf("dispatch: read the schedules: %w", err)
	}
	lastSlots, err := e.opts.Book.LastSlots(ctx)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	specs := e.specs.begin()
	defer e.specs.end()
	var active []string
	var activeRead bool
	until := now.Add(e.opts.DispatchEvery + time.Second)
	var jobs []river.InsertManyParams
	done := map[Place]time.Time{}
	for _, p := range planned {
		spec, err := specs.parse(p.Journey, p.Schedule)
		if err != nil {
			e.log.Error("not dispatched: bad schedule", "journey", p.Journey, "error", err)
			continue
		}
		locs := p.Locations
		if len(locs) == 0 {
			if !activeRead {
				if active, err = e.opts.Book.ActiveLocations(ctx, now.Add(-agentTTL)); err != nil {
					return fmt.Errorf("dispatch: read the agents: %w", err)
				}
				activeRead = true
			}
			locs = active
		}
		for _, loc := range locs {
			last, ok := lastSlots[Place{p.Journey, loc}]
			if !ok {
				// New here: a slot that fell due since the last dispatch
				// runs, none before it is owed.
				last = now.Add(-2 * e.opts.DispatchEvery)
			}
			slots, older := spec.Due(last, until, maxMissRecords+1)
			dropped := older
			for _, slot := range slots {
				if !now.Before(slot.Add(spec.Interval(slot))) {
					dropped++
					e.miss(ctx, Miss{Journey: p.Journey, Location: loc, Slot: slot, Reason: MissDropped})
					continue
				}
				jobs = append(jobs, river.InsertManyParams{Args: runArgs{Journey: p.Journey, Location: loc, Slot: slot}, InsertOpts: runOpts(p.Journey, loc, slot)})
			}
			if older > 0 {
				e.log.Warn("slots dropped: no agent dispatched them in time", "journey", p.Journey, "location", loc, "dropped", dropped)
			}
			if len(slots) > 0 {
				done[Place{p.Journey, loc}] = slots[len(slots)-1]
			}
		}
	}
	if len(jobs) > 0 {
		if _, err := e.client.InsertMany(ctx, jobs); err != nil {
			return fmt.Errorf("dispatch: insert %d run jobs: %w", len(jobs), err)
		}
	}
	if err := e.opts.Book.SetLastSlots(ctx, done); err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	return nil
}

// specCache keeps each journey's parsed schedule from one dispatch to the
// next: parsing a cron schedule finds its shortest gap (for the spread),
// which over 10,000 journeys every few seconds was most of a dispatch's CPU. A
// journey whose schedule changed is parsed again; one gone is forgotten
// at the end of the dispatch that no longer saw it.
type specCache struct {
	mu   sync.Mutex
	prev map[string]cachedSpec // the last dispatch's
	next map[string]cachedSpec // this dispatch's
}

type cachedSpec struct {
	schedule string
	spec     *Spec
	err      error
}

// begin locks the cache for one dispatch.
func (c *specCache) begin() *specCache {
	c.mu.Lock()
	c.next = make(map[string]cachedSpec, len(c.prev))
	return c
}

// end keeps what this dispatch parsed and unlocks the cache.
func (c *specCache) end() {
	c.prev, c.next = c.next, nil
	c.mu.Unlock()
}

// parse is Parse, or what it returned last time for the same schedule.
func (c *specCache) parse(journey, schedule string) (*Spec, error) {
	s, ok := c.prev[journey]
	if !ok || s.schedule != schedule {
		s.schedule = schedule
		s.spec, s.err = Parse(journey, schedule)
	}
	c.next[journey] = s
	return s.spec, s.err
}

// miss records a slot that did not run, and tells Events.
func (e *Engine) miss(ctx context.Context, m Miss) {
	m.At = e.opts.Now()
	m.Agent = e.opts.Agent
	if err := e.opts.Book.RecordMiss(ctx, m); err != nil {
		e.log.Error("record a missed slot", "journey", m.Journey, "location", m.Location, "slot", m.Slot, "reason", m.Reason, "error", err)
	}
	if e.opts.Events != nil {
		e.opts.Events.SlotMissed(m.Journey, m.Location, m.Reason)
	}
	e.log.Info("slot "+m.Reason, "journey", m.Journey, "location", m.Location, "slot", m.Slot)
}

// runArgs is the job of one journey's run in one location for one slot.
// It is unique on all three, so a slot runs once however many agents and
// leader changes there are.
type runArgs struct {
	Journey  string    `json:"journey" river:"unique"`
	Location string    `json:"location" river:"unique"`
	Slot     time.Time `json:"slot" river:"unique"`
}

func (runArgs) Kind() string { return "run_journey" }

// Hooks makes a slot's job available ahead of its time (see aheadOfTime).
func (runArgs) Hooks() []rivertype.Hook { return []rivertype.Hook{&aheadOfTime{}} }

// runOpts places a slot's job: its location's queue, due startLead
// before the slot (its worker waits for the slot itself), with a tag
// naming the journey so "is a run of it going on" is a job query.
func runOpts(journey, location string, slot time.Time) *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       QueueFor(location),
		ScheduledAt: slot.Add(-startLead),
		Tags:        []string{journeyTag(journey)},
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}

// journeyTag is the River tag of a journey's run jobs.
func journeyTag(journey string) string { return "journey_" + journey }

// aheadOfTime inserts a run job available rather than scheduled. River's
// workers fetch an available job only once its time has come, within
// their poll interval, while River moves scheduled jobs to available only
// every 5 seconds: a slot would start up to 5s late.
type aheadOfTime struct{ river.HookDefaults }

func (*aheadOfTime) InsertBegin(_ context.Context, p *rivertype.JobInsertParams) error {
	if p.State == rivertype.JobStateScheduled {
		p.State = rivertype.JobStateAvailable
	}
	return nil
}

// RecheckTx inserts, within tx, a run of the journey in the location
// within after from (a failing run's start), when its next slot is
// further away than that: an hourly journey that fails is checked again
// in a minute, so its incident opens and resolves in minutes. The run is
// an extra slot of its own (unique like any slot), skipped if a run of the
// journey still goes then, and leaves the schedule's slots as they are.
// It returns the slot inserted, if any.
func (e *Engine) RecheckTx(ctx context.Context, tx *sql.Tx, j *journeys.Journey, location string, from time.Time, within time.Duration) (time.Time, bool, error) {
	if j == nil || j.Schedule == "" || within <= 0 {
		return time.Time{}, false, nil
	}
	spec, err := Parse(j.Name, j.Schedule)
	if err != nil {
		return time.Time{}, false, err
	}
	slot := from.Add(within).Truncate(time.Second).UTC()
	if !spec.Next(from).After(slot) {
		return time.Time{}, false, nil // the next slot comes soon enough
	}
	if _, err := e.client.InsertTx(ctx, tx, runArgs{Journey: j.Name, Location: location, Slot: slot}, runOpts(j.Name, location, slot)); err != nil {
		return time.Time{}, false, fmt.Errorf("recheck %s in %s at %s: %w", j.Name, location, slot.Format(time.RFC3339), err)
	}
	return slot, true, nil
}
