package schedule

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
)

// riverDB is a fresh SQLite file with River's tables, as the store sets
// it up (WAL, busy timeout, immediate transactions).
func riverDB(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(t.Context(), rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

// book is an in-memory Book; the store's own is tested in results/store.
type book struct {
	mu       sync.Mutex
	planned  []Planned
	active   []string
	last     map[string]time.Time
	misses   []Miss
	missSeen map[string]bool
}

func newBook(planned ...Planned) *book {
	return &book{planned: planned, last: map[string]time.Time{}, missSeen: map[string]bool{}}
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
func (b *book) LastSlot(_ context.Context, j, l string) (time.Time, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.last[j+"/"+l]
	return t, ok, nil
}
func (b *book) SetLastSlot(_ context.Context, j, l string, slot time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slot.After(b.last[j+"/"+l]) {
		b.last[j+"/"+l] = slot
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
	slots   []string // journey@slot
	started chan string
	release chan struct{}
	sink    *sink
}

func (r *fakeRunner) RunSlot(ctx context.Context, j *journeys.Journey, slot time.Time) (*results.Run, error) {
	key := j.Name + "@" + slot.Format(time.RFC3339)
	r.mu.Lock()
	r.slots = append(r.slots, key)
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
func TestDispatch(t *testing.T) {
	db := riverDB(t)
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	b := newBook(
		Planned{Journey: "checkout", Schedule: "@every 10s", Locations: []string{"eu-west"}},
		Planned{Journey: "search", Schedule: "@every 30s"},
	)
	b.active = []string{"eu-west", "us-east"}
	e, err := New(Options{Driver: riversqlite.New(db), Agent: "a1", Location: "eu-west", Runner: &fakeRunner{}, Sink: &sink{},
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

// TestWork drives the worker on real jobs: a slot too old is dropped; a
// slot whose journey still runs is skipped; a job an agent already took
// and lost is recorded aborted; the rest run once.
func TestWork(t *testing.T) {
	db := riverDB(t)
	c := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	b := newBook()
	s := &sink{}
	r := &fakeRunner{sink: s}
	e, err := New(Options{Driver: riversqlite.New(db), Agent: "a1", Location: "eu-west", Runner: r, Sink: s,
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
	if d := b.missed(MissDropped); len(d) != 1 || !d[0].Slot.Equal(slot) {
		t.Errorf("dropped %+v, want the late slot", d)
	}
	if len(s.runs) != 2 || s.runs[1].Outcome != results.Aborted || !s.runs[1].Slot.Equal(slot.Add(10*time.Second)) ||
		s.runs[1].Trigger != results.TriggerSchedule {
		t.Errorf("runs kept: %+v", s.runs)
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
func TestEngine(t *testing.T) {
	db := riverDB(t)
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
	e, err := New(Options{Driver: riversqlite.New(db), Agent: "a1", Location: "eu-west", Runner: r, Sink: s,
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
