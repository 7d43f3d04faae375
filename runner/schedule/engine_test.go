package schedule

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store/storetest"
	"github.com/waymarkhq/waymark/runner"
)

// backend is a database the engine runs on.
type backend struct {
	name string
	// open is River's driver on a fresh database of the test's own, with
	// River's tables, as the store sets it up, and the database.
	open func(t *testing.T) (riverdriver.Driver[*sql.Tx], *sql.DB)
}

// backends are the databases of `waymark serve`: SQLite (riversqlite) and
// PostgreSQL (riverdatabasesql over pgx, on a database of the test's own
// on the server `make test` starts; see storetest.Postgres for when it
// skips).
func backends() []backend {
	return []backend{{"sqlite", sqliteDriver}, {"postgres", postgresDriver}}
}

// forEachBackend runs test on each backend, in parallel subtests.
func forEachBackend(t *testing.T, test func(t *testing.T, driver riverdriver.Driver[*sql.Tx])) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			driver, _ := b.open(t)
			test(t, driver)
		})
	}
}

// sqliteDriver is a fresh SQLite file with River's tables, as the store
// sets it up (WAL, busy timeout, immediate transactions).
func sqliteDriver(t *testing.T) (riverdriver.Driver[*sql.Tx], *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return migrated(t, riversqlite.New(db)), db
}

// postgresDriver is a fresh PostgreSQL database with River's tables,
// through pgx's database/sql driver as the store opens it.
func postgresDriver(t *testing.T) (riverdriver.Driver[*sql.Tx], *sql.DB) {
	t.Helper()
	db, err := sql.Open("pgx", storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return migrated(t, riverdatabasesql.New(db)), db
}

// migrated applies River's migrations with d and returns it.
func migrated(t *testing.T, d riverdriver.Driver[*sql.Tx]) riverdriver.Driver[*sql.Tx] {
	t.Helper()
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(t.Context(), rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

// book is an in-memory Book; the store's own is tested in results/store.
type book struct {
	mu       sync.Mutex
	planned  []Planned
	active   []string
	live     []string // liveAgents, whatever the time
	last     map[Place]time.Time
	misses   []Miss
	missSeen map[string]bool
}

func newBook(planned ...Planned) *book {
	return &book{planned: planned, last: map[Place]time.Time{}, missSeen: map[string]bool{}}
}

func (b *book) ScheduledJourneys(context.Context) ([]Planned, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.planned), nil
}
func (b *book) ActiveLocations(context.Context, time.Time) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.active), nil
}
func (b *book) liveAgents(context.Context, time.Time) (map[string]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := map[string]string{}
	for _, id := range b.live {
		live[id] = "eu-west"
	}
	return live, nil
}
func (b *book) LastSlots(context.Context) (map[Place]time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.last), nil
}
func (b *book) SetLastSlots(_ context.Context, slots map[Place]time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, slot := range slots {
		if slot.After(b.last[p]) {
			b.last[p] = slot
		}
	}
	return nil
}
func (b *book) RecordMiss(_ context.Context, m Miss) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := fmt.Sprint(m.Journey, m.Location, m.Slot.Unix(), m.Reason)
	if !b.missSeen[key] {
		b.missSeen[key] = true
		b.misses = append(b.misses, m)
	}
	return nil
}
func (b *book) missed(reason string) []Miss {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Miss
	for _, m := range b.misses {
		if m.Reason == reason {
			out = append(out, m)
		}
	}
	return out
}

// catalog serves fixed journeys.
type catalog map[string]*journeys.Journey

func (c catalog) Journey(name string) (*journeys.Journey, bool) { j, ok := c[name]; return j, ok }

// fakeRunner records the slots it was asked to run; release, when set, is
// waited on before a run returns (a run that takes long).
type fakeRunner struct {
	mu      sync.Mutex
	slots   []string        // journey@slot
	left    []time.Duration // the time each run had left before its deadline, as it began
	started chan string
	release chan struct{}
	sink    *sink
}

func (r *fakeRunner) RunSlot(ctx context.Context, j *journeys.Journey, slot time.Time) (*results.Run, error) {
	key := j.Name + "@" + slot.Format(time.RFC3339)
	r.mu.Lock()
	r.slots = append(r.slots, key)
	if d, ok := ctx.Deadline(); ok {
		r.left = append(r.left, time.Until(d))
	} else {
		r.left = append(r.left, -1)
	}
	r.mu.Unlock()
	if r.started != nil {
		r.started <- key
	}
	run := &results.Run{ID: key, Journey: j.Name, Slot: slot, Outcome: results.Passed}
	if r.release != nil {
		select {
		case <-r.release:
		case <-ctx.Done():
			run.Outcome = results.Aborted
		}
	}
	if err := r.sink.SaveRun(context.WithoutCancel(ctx), j, run); err != nil {
		return nil, err
	}
	return run, nil
}

// sink keeps the runs it is given.
type sink struct {
	mu   sync.Mutex
	runs []*results.Run
	got  chan *results.Run
}

func (s *sink) SaveRun(_ context.Context, _ *journeys.Journey, run *results.Run) error {
	s.mu.Lock()
	s.runs = append(s.runs, run)
	s.mu.Unlock()
	if s.got != nil {
		s.got <- run
	}
	return nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func journey(name, schedule string) *journeys.Journey {
	return &journeys.Journey{Name: name, Schedule: schedule, Timeout: time.Minute}
}

// listJobs lists the run jobs in the database as journey/location@slot.
func listJobs(t *testing.T, e *Engine) []string {
	t.Helper()
	res, err := e.client.JobList(t.Context(), river.NewJobListParams().Kinds(runArgs{}.Kind()).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range res.Jobs {
		var a runArgs
		if err := unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s/%s@%s %s", a.Journey, a.Location, a.Slot.Format("15:04:05"), j.State))
	}
	sort.Strings(out)
	return out
}

// TestDispatch drives the dispatcher with a fake clock: each slot is
// inserted once, a little ahead of time and available (not scheduled), in
// its location's queue; a journey without locations goes to every active
// one; slots that fell due while nothing dispatched are dropped, not run
// late.
func TestDispatch(t *testing.T) { forEachBackend(t, testDispatch) }

func testDispatch(t *testing.T, driver riverdriver.Driver[*sql.Tx]) {
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	b := newBook(
		Planned{Journey: "checkout", Schedule: "@every 10s", Locations: []string{"eu-west"}},
		Planned{Journey: "search", Schedule: "@every 30s"},
	)
	b.active = []string{"eu-west", "us-east"}
	e, err := New(Options{Driver: driver, Agent: "a1", Location: "eu-west", Runner: &fakeRunner{}, Sink: &sink{},
		Catalog: catalog{}, Book: b, Now: c.now, DispatchEvery: 2 * time.Second, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	checkout, _ := Parse("checkout", "@every 10s")
	search, _ := Parse("search", "@every 30s")

	// Tick for a minute: every slot of both journeys, once.
	start := c.now()
	for {
		if err := e.Dispatch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !c.now().Before(start.Add(time.Minute)) {
			break
		}
		c.set(c.now().Add(2 * time.Second))
	}
	var want []string
	for _, s := range []struct {
		j, loc string
		spec   *Spec
	}{{"checkout", "eu-west", checkout}, {"search", "eu-west", search}, {"search", "us-east", search}} {
		slots, _ := s.spec.Due(start.Add(-4*time.Second), c.now().Add(3*time.Second), 1000)
		for _, slot := range slots {
			want = append(want, fmt.Sprintf("%s/%s@%s available", s.j, s.loc, slot.Format("15:04:05")))
		}
	}
	sort.Strings(want)
	if got := listJobs(t, e); !slices.Equal(got, want) {
		t.Errorf("jobs after a minute of dispatch:\n%q\nwant\n%q", got, want)
	}
	// Dispatching again at the same time inserts nothing new.
	before := listJobs(t, e)
	if err := e.Dispatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := listJobs(t, e); !slices.Equal(got, before) {
		t.Errorf("a second dispatch at the same time changed the jobs")
	}

	// Five minutes with no dispatch: the slots in between are dropped and
	// counted; the slot due now runs.
	c.set(c.now().Add(5 * time.Minute))
	if err := e.Dispatch(t.Context()); err != nil {
		t.Fatal(err)
	}
	dropped := b.missed(MissDropped)
	if n := len(dropped); n < 2*(5*60/30)+5*60/10-6 || n > 2*(5*60/30)+5*60/10+3 {
		t.Errorf("%d slots dropped over 5 minutes, want about %d", n, 2*(5*60/30)+5*60/10)
	}
	for _, m := range dropped {
		spec := map[string]*Spec{"checkout": checkout, "search": search}[m.Journey]
		if m.Slot.Add(spec.Interval(m.Slot)).After(c.now()) {
			t.Errorf("a slot still within its interval was dropped: %+v", m)
		}
	}
	// The slot due now (within its interval) was inserted.
	latest := checkout.Next(c.now().Add(-10 * time.Second))
	if !slices.Contains(listJobs(t, e), fmt.Sprintf("checkout/eu-west@%s available", latest.Format("15:04:05"))) {
		t.Errorf("the slot due now (%s) was not dispatched", latest.Format("15:04:05"))
	}
}

// staleBook is a Book whose dispatch progress never moves: every
// dispatcher reads the last slot as it was before any of them wrote it,
// as two dispatchers running at once do (a slow dispatch on the leader
// while the next one starts on another agent, or a leader that lost its
// lease mid-dispatch).
type staleBook struct{ *book }

func (staleBook) SetLastSlots(context.Context, map[Place]time.Time) error { return nil }

// TestDispatchRace dispatches the same slots from two agents at once,
// again and again: River's unique jobs keep each slot to one job.
func TestDispatchRace(t *testing.T) { forEachBackend(t, testDispatchRace) }

func testDispatchRace(t *testing.T, driver riverdriver.Driver[*sql.Tx]) {
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	b := staleBook{newBook(Planned{Journey: "checkout", Schedule: "@every 1s", Locations: []string{"eu-west", "us-east"}})}
	var engines []*Engine
	for _, agent := range []string{"a1", "a2"} {
		e, err := New(Options{Driver: driver, Agent: agent, Location: "eu-west", Runner: &fakeRunner{}, Sink: &sink{},
			Catalog: catalog{}, Book: b, Now: c.now, DispatchEvery: 2 * time.Second, TestOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	for range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, len(engines))
		for _, e := range engines {
			wg.Go(func() { errs <- e.Dispatch(t.Context()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	jobs := listJobs(t, engines[0])
	if len(jobs) == 0 {
		t.Fatal("nothing dispatched")
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j] {
			t.Errorf("slot dispatched twice: %s", j)
		}
		seen[j] = true
	}
}

// TestWork drives the worker on real jobs: a slot too old is dropped; a
// slot whose journey still runs is skipped; a job an agent already took
// and lost is recorded aborted; the rest run once.
func TestWork(t *testing.T) { forEachBackend(t, testWork) }

func testWork(t *testing.T, driver riverdriver.Driver[*sql.Tx]) {
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	b := newBook()
	s := &sink{}
	r := &fakeRunner{sink: s}
	e, err := New(Options{Driver: driver, Agent: "a1", Location: "eu-west", Runner: r, Sink: s,
		Catalog: catalog{"checkout": journey("checkout", "@every 10s")}, Book: b, Now: c.now, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{e: e}
	spec, _ := Parse("checkout", "@every 10s")
	slot := spec.Next(c.now().Add(-10 * time.Second))
	job := func(slot time.Time, attempt int) *river.Job[runArgs] {
		return &river.Job[runArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt}, Args: runArgs{Journey: "checkout", Location: "eu-west", Slot: slot}}
	}

	// On time: runs.
	c.set(slot.Add(time.Second))
	if err := w.Work(t.Context(), job(slot, 1)); err != nil {
		t.Fatal(err)
	}
	// Ten seconds late on a 10s schedule: dropped.
	c.set(slot.Add(10 * time.Second))
	if err := w.Work(t.Context(), job(slot, 1)); err != nil {
		t.Fatal(err)
	}
	// An earlier attempt was lost with its agent: aborted, not run again.
	lost := job(slot.Add(10*time.Second), 2)
	lost.Errors = []rivertype.AttemptError{{Error: "stuck job rescued by Rescuer"}}
	if err := w.Work(t.Context(), lost); err != nil {
		t.Fatal(err)
	}
	// A journey no longer loaded: the job is cancelled.
	gone := job(slot, 1)
	gone.Args.Journey = "retired"
	var cancel *rivertype.JobCancelError
	if err := w.Work(t.Context(), gone); !errors.As(err, &cancel) {
		t.Errorf("a job for a journey no longer loaded: %v, want it cancelled", err)
	}

	if want := []string{"checkout@" + slot.Format(time.RFC3339)}; !slices.Equal(r.slots, want) {
		t.Errorf("ran %q, want %q", r.slots, want)
	}
	// The run had its hard deadline: twice its timeout and set-up time,
	// before the job's own Timeout (when River cancels it, and may rescue
	// it from a dead agent) by the time to record a cut run.
	deadline := RunDeadline(time.Minute)
	if deadline != 2*(time.Minute+setupAllowance) {
		t.Errorf("RunDeadline(1m) = %s", deadline)
	}
	if left := r.left[0]; left <= deadline-5*time.Second || left > deadline {
		t.Errorf("the run began with %s before its deadline, want just under %s", left, deadline)
	}
	if got, want := w.Timeout(job(slot, 1)), deadline+recordAllowance; got != want {
		t.Errorf("job timeout %s, want %s", got, want)
	}
	if got := w.Timeout(gone); got != e.opts.MaxRunTime {
		t.Errorf("job timeout of a journey not loaded here %s, want MaxRunTime %s", got, e.opts.MaxRunTime)
	}
	if d := b.missed(MissDropped); len(d) != 1 || !d[0].Slot.Equal(slot) {
		t.Errorf("dropped %+v, want the late slot", d)
	}
	if len(s.runs) != 2 || s.runs[1].Outcome != results.Aborted || !s.runs[1].Slot.Equal(slot.Add(10*time.Second)) ||
		s.runs[1].Trigger != results.TriggerSchedule {
		t.Errorf("runs kept: %+v", s.runs)
	}
}

// TestSkip drives the worker on a slot whose journey has another run
// going in the location: the slot is skipped while that run goes on this
// agent, or on another live agent (one that keeps its heartbeat) whose
// job is marked running, and runs when that agent is lost, since a job of
// a dead agent runs nothing any more though River rescues it only past
// its deadline. A job of this agent's still marked running once its run
// ended here (River completes jobs in batches) holds nothing.
func TestSkip(t *testing.T) { forEachBackend(t, testSkip) }

func testSkip(t *testing.T, driver riverdriver.Driver[*sql.Tx]) {
	now := time.Now().UTC().Truncate(time.Second)
	cases := []struct {
		journey, holder string
		skipped         bool
	}{
		{"running-here", "", true},
		{"ended-here", "a1", false},
		{"held-by-a-live-agent", "a2", true},
		{"held-by-a-lost-agent", "a3-lost", false},
	}
	b := newBook()
	b.live = []string{"a1", "a2"}
	s := &sink{}
	r := &fakeRunner{sink: s}
	cat := catalog{}
	for _, tc := range cases {
		cat[tc.journey] = journey(tc.journey, "@every 10s")
	}
	e, err := New(Options{Driver: driver, Agent: "a1", Location: "eu-west", Runner: r, Sink: s,
		Catalog: cat, Book: b, LiveAgents: b.liveAgents, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{e: e}
	for _, tc := range cases {
		if tc.holder == "" {
			e.running[Place{tc.journey, "eu-west"}] = 1
			continue
		}
		at := now.Add(-5 * time.Second)
		enc, err := json.Marshal(runArgs{Journey: tc.journey, Location: "eu-west", Slot: now.Add(-10 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := driver.GetExecutor().JobInsertFull(t.Context(), &riverdriver.JobInsertFullParams{
			Attempt: 1, AttemptedAt: &at, AttemptedBy: []string{tc.holder}, CreatedAt: &at, EncodedArgs: enc,
			Kind: runArgs{}.Kind(), MaxAttempts: 3, Metadata: []byte("{}"), Priority: 1, Queue: QueueFor("eu-west"),
			ScheduledAt: &at, State: rivertype.JobStateRunning, Tags: []string{journeyTag(tc.journey)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		job := &river.Job[runArgs]{JobRow: &rivertype.JobRow{ID: -1, Attempt: 1}, Args: runArgs{Journey: tc.journey, Location: "eu-west", Slot: now}}
		if err := w.Work(t.Context(), job); err != nil {
			t.Fatal(err)
		}
	}
	skipped := map[string]bool{}
	for _, m := range b.missed(MissSkipped) {
		skipped[m.Journey] = true
	}
	ran := map[string]bool{}
	for _, key := range r.slots {
		ran[strings.Split(key, "@")[0]] = true
	}
	for _, tc := range cases {
		if skipped[tc.journey] != tc.skipped || ran[tc.journey] == tc.skipped {
			t.Errorf("%s, held by %s: skipped %v, ran %v; want skipped %v", tc.journey, tc.holder, skipped[tc.journey], ran[tc.journey], tc.skipped)
		}
	}
}

var _ Runner = (*runner.Runner)(nil)

func unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// started is a run start as the fake runner saw it.
type started struct {
	key string
	at  time.Time
}

// TestEngine starts a real River client on SQLite with the real clock: a
// journey @every 1s runs each slot once, never before its time; while one
// run hangs the next slots are skipped, not doubled; Stop cuts the hanging
// run after ShutdownTimeout and it is kept as aborted.
func TestEngine(t *testing.T) { forEachBackend(t, testEngine) }

func testEngine(t *testing.T, driver riverdriver.Driver[*sql.Tx]) {
	b := newBook(Planned{Journey: "tick", Schedule: "@every 1s", Locations: []string{"eu-west"}})
	s := &sink{got: make(chan *results.Run, 100)}
	r := &fakeRunner{sink: s, started: make(chan string, 100)}
	var mu sync.Mutex
	var log []started
	go func() {
		for k := range r.started {
			mu.Lock()
			log = append(log, started{k, time.Now()})
			mu.Unlock()
		}
	}()
	e, err := New(Options{Driver: driver, Agent: "a1", Location: "eu-west", Runner: r, Sink: s,
		Catalog: catalog{"tick": journey("tick", "@every 1s")}, Book: b, DispatchEvery: time.Second, Workers: 2,
		ShutdownTimeout: 500 * time.Millisecond, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			e.Stop(context.Background())
		}
	}()
	for range 4 {
		select {
		case <-s.got:
		case <-time.After(20 * time.Second):
			t.Fatal("no run within 20s")
		}
	}
	// Now hang the next run: the slots behind it are skipped.
	r.mu.Lock()
	r.release = make(chan struct{})
	r.mu.Unlock()
	deadline := time.After(20 * time.Second)
	for len(b.missed(MissSkipped)) < 2 {
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("no slot skipped behind a hanging run (misses %+v)", b.misses)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := e.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped = true

	s.mu.Lock()
	defer s.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, st := range log {
		if seen[st.key] {
			t.Errorf("slot %s ran twice", st.key)
		}
		seen[st.key] = true
		slot, _ := time.Parse(time.RFC3339, st.key[len("tick@"):])
		if lag := st.at.Sub(slot); lag < 0 || lag > 3*time.Second {
			t.Errorf("slot %s started %s after it was due", st.key, lag)
		}
	}
	last := s.runs[len(s.runs)-1]
	if last.Outcome != results.Aborted {
		t.Errorf("the run hanging at shutdown was kept as %s, want aborted", last.Outcome)
	}
}

// TestRescue leaves two run jobs as an agent that died holds them
// (running, attempted by an agent that is gone) and starts an engine: the
// one running longer than its journey's deadline and the time to record a
// cut run is rescued by River and recorded aborted, not run again; the
// one still within its deadline (its run could still be going on a live
// agent) is left alone.
func TestRescue(t *testing.T) { forEachBackend(t, testRescue) }

func testRescue(t *testing.T, driver riverdriver.Driver[*sql.Tx]) {
	s := &sink{got: make(chan *results.Run, 10)}
	r := &fakeRunner{sink: s}
	short, long := journey("short", "@every 1h"), journey("long", "@every 1h")
	short.Timeout = 5 * time.Second
	b := newBook() // nothing to dispatch
	e, err := New(Options{Driver: driver, Agent: "a2", Location: "eu-west", Runner: r, Sink: s,
		Catalog: catalog{"short": short, "long": long}, Book: b, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	stuck := func(j *journeys.Journey, running time.Duration) *rivertype.JobRow {
		t.Helper()
		args := runArgs{Journey: j.Name, Location: "eu-west", Slot: now.Add(-running).Truncate(time.Second)}
		enc, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		at := now.Add(-running)
		row, err := driver.GetExecutor().JobInsertFull(t.Context(), &riverdriver.JobInsertFullParams{
			Attempt: 1, AttemptedAt: &at, AttemptedBy: []string{"a1-dead"}, CreatedAt: &at, EncodedArgs: enc,
			Kind: args.Kind(), MaxAttempts: 3, Metadata: []byte("{}"), Priority: 1, Queue: QueueFor("eu-west"),
			ScheduledAt: &at, State: rivertype.JobStateRunning, Tags: []string{journeyTag(j.Name)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	// short's job is past its 40s (RunDeadline(5s) + recordAllowance);
	// long's, 50s into its 150s, is past River's horizon but not its own.
	cut := stuck(short, RunDeadline(short.Timeout)+recordAllowance+5*time.Second)
	going := stuck(long, 50*time.Second)

	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	var run *results.Run
	select {
	case run = <-s.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the job of a dead agent was not rescued and recorded within 30s")
	}
	if run.Journey != "short" || run.Outcome != results.Aborted || !run.Slot.Equal(runArgsOf(t, cut).Slot) ||
		run.Location != "eu-west" || !strings.Contains(run.Error, "stopped before its run finished") {
		t.Errorf("recorded %+v, want short's slot aborted", run)
	}
	if len(r.slots) != 0 {
		t.Errorf("the rescued slot ran again: %q", r.slots)
	}
	// The rescuer ran (it rescued short's job), and left long's alone.
	job, err := e.Client().JobGet(t.Context(), going.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != rivertype.JobStateRunning {
		t.Errorf("a job within its deadline was rescued: state %s", job.State)
	}
	select {
	case run := <-s.got:
		t.Errorf("recorded another run: %+v", run)
	default:
	}
}

// runArgsOf decodes a run job's args.
func runArgsOf(t *testing.T, row *rivertype.JobRow) runArgs {
	t.Helper()
	var a runArgs
	if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// txSink keeps nothing but completes the run job of a final run in a
// transaction of its own, as serve's sink does with the run, and notes
// whether the job was completed once that transaction committed.
type txSink struct {
	db        *sql.DB
	client    func() *river.Client[*sql.Tx]
	mu        sync.Mutex
	completed []bool
}

func (s *txSink) SaveRun(ctx context.Context, _ *journeys.Journey, run *results.Run) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	found, err := CompleteJobTx(ctx, tx)
	if err != nil || !found {
		return fmt.Errorf("complete the job of slot %s: found %v, %v", run.Slot, found, err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Work has not returned yet: River has not completed the job itself.
	res, err := s.client().JobList(ctx, river.NewJobListParams().Kinds(runArgs{}.Kind()).States(rivertype.JobStateCompleted).First(100))
	if err != nil {
		return err
	}
	done := false
	for _, j := range res.Jobs {
		var a runArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err == nil && a.Slot.Equal(run.Slot) {
			done = true
		}
	}
	s.mu.Lock()
	s.completed = append(s.completed, done)
	s.mu.Unlock()
	return nil
}

// TestCompleteJobTx runs slots with a Sink that completes each run's job
// in its own transaction (CompleteJobTx): the job is completed when that
// transaction commits, before Work returns, and River completing it again
// afterwards does no harm; a ctx that is not a run job's has none.
func TestCompleteJobTx(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			driver, db := b.open(t)
			if found, err := CompleteJobTx(t.Context(), nil); found || err != nil {
				t.Errorf("CompleteJobTx outside a job: %v, %v", found, err)
			}
			var e *Engine
			s := &txSink{db: db, client: func() *river.Client[*sql.Tx] { return e.Client() }}
			var logs lockedBuffer
			e, err := New(Options{Driver: driver, Agent: "a1", Location: "eu-west", Runner: sinkRunner{s}, Sink: s,
				Catalog: catalog{"tick": journey("tick", "@every 1s")}, Book: newBook(Planned{Journey: "tick", Schedule: "@every 1s", Locations: []string{"eu-west"}}),
				DispatchEvery: time.Second, TestOnly: true,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for s.count() < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("%d runs within 20s, want 3", s.count())
				}
				time.Sleep(50 * time.Millisecond) // polls, with the deadline above
			}
			// What River says while it stops (an insert notification cut by
			// its own shutdown) is not about the runs.
			complaints := logs.String()
			if err := e.Stop(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, done := range s.completed {
				if !done {
					t.Errorf("run %d: its job was not completed when the run's transaction committed", i+1)
				}
			}
			if complaints != "" {
				t.Errorf("the engine or River complained:\n%s", complaints)
			}
			res, err := e.Client().JobList(t.Context(), river.NewJobListParams().Kinds(runArgs{}.Kind()).States(rivertype.JobStateCompleted).First(100))
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range res.Jobs {
				if j.Attempt != 1 || len(j.Errors) > 0 {
					t.Errorf("job %d: attempt %d, errors %v; want completed at the first attempt", j.ID, j.Attempt, j.Errors)
				}
			}
		})
	}
}

func (s *txSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.completed)
}

// sinkRunner "runs" a slot by handing a passed run to its sink, with the
// ctx it was given, as runner.Runner does.
type sinkRunner struct{ sink Sink }

func (r sinkRunner) RunSlot(ctx context.Context, j *journeys.Journey, slot time.Time) (*results.Run, error) {
	run := &results.Run{ID: j.Name + "@" + slot.Format(time.RFC3339), Journey: j.Name, Slot: slot, Outcome: results.Passed}
	return run, r.sink.SaveRun(ctx, j, run)
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRecheck: a failing run of an hourly journey inserts, in the caller's
// transaction, a run a minute after it started, once however often it is
// asked; a journey whose next slot comes sooner than that gets none, and a
// transaction rolled back leaves none.
func TestRecheck(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			driver, db := b.open(t)
			e, err := New(Options{Driver: driver, Agent: "a1", Location: "eu-west", Runner: &fakeRunner{}, Sink: &sink{},
				Catalog: catalog{}, Book: newBook(), TestOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(2026, 11, 23, 10, 17, 30, 250e6, time.UTC)
			recheck := func(j *journeys.Journey, commit bool) (time.Time, bool) {
				t.Helper()
				tx, err := db.BeginTx(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				slot, ok, err := e.RecheckTx(t.Context(), tx, j, "eu-west", from, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if commit {
					if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				return slot, ok
			}
			if _, ok := recheck(journey("hourly", "@hourly"), false); !ok {
				t.Fatal("no recheck of an hourly journey")
			}
			if got := listJobs(t, e); len(got) != 0 {
				t.Errorf("a rolled back recheck left %v", got)
			}
			for range 2 {
				if slot, ok := recheck(journey("hourly", "@hourly"), true); !ok || !slot.Equal(from.Add(time.Minute).Truncate(time.Second)) {
					t.Errorf("recheck of an hourly journey: %s, %v; want a minute after %s", slot, ok, from)
				}
			}
			if _, ok := recheck(journey("often", "@every 30s"), true); ok {
				t.Error("a journey @every 30s was rechecked: its next slot comes sooner")
			}
			if _, ok := recheck(journey("manual", ""), true); ok {
				t.Error("a journey without a schedule was rechecked")
			}
			if got, want := listJobs(t, e), []string{"hourly/eu-west@10:18:30 available"}; !slices.Equal(got, want) {
				t.Errorf("jobs %v, want %v", got, want)
			}
		})
	}
}
