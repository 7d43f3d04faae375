package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/runner/schedule"
)

// statusFlags are the flags of `waymark status`.
type statusFlags struct {
	since    string
	database string
}

// defaultMissWindow is how far back `waymark status` counts missed slots
// without --since.
const defaultMissWindow = "24h"

// staleAfter is how long an agent may go unseen and still count as
// serving its location: the dispatcher's rule (docs/serve.md, "an agent
// seen within the last minute"); agents beat every 10 seconds.
const staleAfter = time.Minute

func (a *app) statusCmd() *cobra.Command {
	var f statusFlags
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the agents, leader, queues, missed slots and journeys of a served database",
		Long: `Show what ` + "`waymark serve`" + ` is doing on a database, in sections: the agents
(location, version, host, start, last heartbeat, runs in progress; one not
seen for over a minute is stale), River's leader, the queues (jobs waiting
now, due ahead, running; a location's queue with work and no live agent is
flagged), the slots skipped and dropped per journey and location, and the
journeys: scheduled ones with their schedule and locations, those whose
file does not load (they keep their last good version), disabled ones.
Last, each location that journeys name and no live agent serves. Times
are local; reading never creates a database.

Exit status: 0 shown (whatever it shows), 2 bad input: a bad flag, a
database that does not exist or cannot be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.status(cmd.Context(), f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.since, "since", defaultMissWindow, "count missed slots due within this `DURATION` before now (90m, 36h, 7d)")
	fl.StringVar(&f.database, "database", "", "database `FILE` or postgres:// URL to read (default: config database)")
	return c
}

// status is `waymark status`. The flags are checked before the database
// is opened, so a typo costs nothing.
func (a *app) status(ctx context.Context, f statusFlags) error {
	window, err := reports.ParseSince(f.since)
	if err != nil {
		return badInput(fmt.Errorf("--since %q: %w: want a duration such as 90m, 36h or 7d", f.since, err))
	}
	st, db, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	d, err := readStatus(ctx, st, now.Add(-window))
	if err != nil {
		return err
	}
	v := statusView(now, d)
	v.Database, v.MissWindow = describeDB(db), f.since
	return reports.Status(a.stdout, v, reports.StatusOptions{Color: a.color()})
}

// statusData is what `waymark status` reads from the store.
type statusData struct {
	agents                      []store.Agent
	leader                      string // River's leader's ID; "" none
	leaderElected, leaderExpiry time.Time
	queues                      map[string]store.QueueDepth
	misses                      []store.MissCount
	journeys                    []store.JourneyRecord
}

// readStatus reads what `waymark status` shows, the missed slots from
// missesSince on.
func readStatus(ctx context.Context, st *store.Store, missesSince time.Time) (statusData, error) {
	var d statusData
	var err error
	if d.agents, err = st.Agents(ctx); err != nil {
		return d, err
	}
	if d.leader, d.leaderElected, d.leaderExpiry, _, err = st.Leader(ctx); err != nil {
		return d, err
	}
	if d.queues, err = st.QueueDepths(ctx); err != nil {
		return d, err
	}
	if d.misses, err = st.MissCounts(ctx, missesSince); err != nil {
		return d, err
	}
	if d.journeys, err = st.Journeys(ctx); err != nil {
		return d, err
	}
	return d, nil
}

// statusView judges what was read at now: which agents are stale (not
// seen within staleAfter), whether the leader's term still runs, which
// queues hold work that no live agent takes, and which locations that
// scheduled journeys name no live agent serves.
func statusView(now time.Time, d statusData) reports.StatusView {
	v := reports.StatusView{Now: now}
	live := map[string]bool{} // locations with a live agent
	where := map[string]string{}
	for _, a := range d.agents {
		stale := now.Sub(a.LastSeen) > staleAfter
		if !stale {
			live[a.Location] = true
		}
		where[a.ID] = a.Location
		v.Agents = append(v.Agents, reports.StatusAgent{ID: a.ID, Location: a.Location, Version: a.Version, Host: a.Host,
			StartedAt: a.StartedAt, LastSeen: a.LastSeen, Running: a.Running, Stale: stale})
	}
	if d.leader != "" {
		v.Leader = reports.StatusLeader{ID: d.leader, Location: where[d.leader], ElectedAt: d.leaderElected,
			ExpiresAt: d.leaderExpiry, Live: d.leaderExpiry.After(now)}
	}

	for _, name := range slices.Sorted(maps.Keys(d.queues)) {
		q := d.queues[name]
		sq := reports.StatusQueue{Name: name, Waiting: q.Waiting, Ahead: q.Ahead, Running: q.Running}
		// A location's runs are in its queue (schedule.QueueFor); every
		// live agent works the others (the dispatcher's).
		loc, isLoc := strings.CutPrefix(name, schedule.QueueFor(""))
		served := len(live) > 0
		if isLoc {
			sq.Location, served = loc, live[loc]
		}
		sq.NoAgent = !served && q.Waiting+q.Ahead+q.Running > 0
		v.Queues = append(v.Queues, sq)
	}

	type pair struct{ journey, location string }
	var order []pair
	counts := map[pair]*reports.StatusMisses{}
	for _, m := range d.misses { // by journey, location and reason
		p := pair{m.Journey, m.Location}
		c := counts[p]
		if c == nil {
			c = &reports.StatusMisses{Journey: m.Journey, Location: m.Location}
			counts[p] = c
			order = append(order, p)
		}
		switch m.Reason {
		case store.MissSkipped:
			c.Skipped += m.Count
		case store.MissDropped:
			c.Dropped += m.Count
		}
	}
	for _, p := range order {
		v.Misses = append(v.Misses, *counts[p])
	}

	unserved := map[string][]string{} // location -> journeys naming it
	for _, j := range d.journeys {
		v.Journeys = append(v.Journeys, reports.StatusJourney{Name: j.Name, File: j.File, Schedule: j.Schedule,
			Locations: j.Locations, Enabled: j.Enabled, LoadError: j.LoadError})
		if !j.Enabled || j.Schedule == "" {
			continue
		}
		for _, l := range j.Locations {
			if !live[l] {
				unserved[l] = append(unserved[l], j.Name)
			}
		}
	}
	for _, l := range slices.Sorted(maps.Keys(unserved)) {
		v.Unserved = append(v.Unserved, reports.StatusUnserved{Location: l, Journeys: unserved[l]})
	}
	return v
}

// queueDepthTimeout bounds one read of the queue depths for /metrics: a
// scrape must not wait on a slow database.
const queueDepthTimeout = time.Second

// queueWaiting feeds the gauge waymark_queue_depth of /metrics (web
// Options.QueueDepth) with the jobs waiting in each River queue, read from
// the store on every scrape. A read is bounded by a timeout; when it
// fails, the last good value is served, and the failure logged once until
// a read succeeds again, so a database that stalls neither hangs the
// scrape nor blanks the gauge. A queue once seen stays reported, at 0 when
// it has emptied, so its series does not vanish between slots.
type queueWaiting struct {
	read    func(context.Context) (map[string]store.QueueDepth, error)
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	started uint64 // reads begun
	applied uint64 // the newest read whose result last holds
	last    map[string]int
	failing bool
}

// newQueueWaiting reads st's queue depths for /metrics.
func newQueueWaiting(st *store.Store, log *slog.Logger) *queueWaiting {
	return &queueWaiting{read: st.QueueDepths, timeout: queueDepthTimeout, log: log, last: map[string]int{}}
}

// depths is the QueueDepth callback: the waiting jobs by queue name.
func (q *queueWaiting) depths() map[string]int {
	q.mu.Lock()
	q.started++
	n := q.started
	q.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	depths, err := q.read(ctx)
	cancel()

	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case err != nil:
		if !q.failing {
			q.log.Warn("read the queue depths for /metrics; serving the last ones read", "error", err)
			q.failing = true
		}
	case n > q.applied: // not overtaken by a later scrape's read
		if q.failing {
			q.log.Info("queue depths for /metrics read again")
			q.failing = false
		}
		q.applied = n
		for name := range q.last {
			q.last[name] = 0
		}
		for name, d := range depths {
			q.last[name] = d.Waiting
		}
	}
	return maps.Clone(q.last)
}
