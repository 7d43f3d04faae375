package schedule_test

// Benchmarks of the engine at scale (issue 6, "Performance"): 10,000
// journeys `@every 1m` on a no-op runner for a real period, on SQLite and on
// PostgreSQL, and the engine idle with nothing due. They measure for a fixed
// wall-clock period, once: run them with -benchtime 1x. `make bench-serve`
// runs them; docs/performance.md has the figures and what they mean.
//
// Each measurement has a baseline measured in the same run: River alone
// (impl=river), configured as the engine configures it, fed the same slots
// by a plain goroutine and working them with a worker that does nothing but
// note the start. What the engine costs beyond it is Waymark's: the
// dispatcher's reads and writes of the store, the worker's checks, the log
// line and the metrics of each run.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
	"github.com/waymarkhq/waymark/runner/schedule"
)

var (
	flagJourneys = flag.Int("serve.journeys", 10_000, "journeys scheduled by BenchmarkDispatch and BenchmarkIdle")
	flagWorkers  = flag.Int("serve.workers", 200, "workers (max_concurrent) of the engine in BenchmarkDispatch")
	flagWarmup   = flag.Duration("serve.warmup", 15*time.Second, "time before the measured period")
	flagPeriod   = flag.Duration("serve.period", time.Minute, "measured period of BenchmarkDispatch")
	flagIdle     = flag.Duration("serve.idle", 20*time.Second, "measured period of BenchmarkIdle")
	flagPprof    = flag.String("serve.pprof", "", "directory to write a CPU profile of each measured period to")
	// What-ifs, for trying a fix without changing the engine or the store.
	flagIdleConns = flag.Int("serve.idleconns", 0, "idle connections the store's pool keeps (0: as the store sets it)")
)

// benchLocation is the one location of the benchmarks.
const benchLocation = "bench"

// polling is how a baseline River client polls: every queue's fetch poll
// (FetchPollInterval), the control queue's when set apart, and whether it
// runs without riversqlite's notification listener (PollOnly).
type polling struct {
	fetch, control time.Duration
	pollOnly       bool
}

var (
	// asEngine is how the engine configures River (engine.go): the
	// location's queue polled every second (slots available half a second
	// ahead, see startLead), the control queue every 2s (its one job
	// comes every 2s), no listener.
	asEngine = polling{fetch: time.Second, control: 2 * time.Second, pollOnly: true}
	// before is how the engine configured River until it was measured
	// here: every queue polled every 200ms, with River's listener (on
	// SQLite, itself a poll every 50ms).
	before = polling{fetch: 200 * time.Millisecond}
)

// dispatchEvery and dispatchAhead are the engine's defaults: it dispatches
// every 2s the slots due until 3s later (dispatch.go).
const (
	dispatchEvery = 5 * time.Second
	dispatchAhead = dispatchEvery + time.Second
)

// benchDB is a database the benchmarks run on.
type benchDB struct {
	name string
	open func(b *testing.B) *store.Store
}

var benchDBs = []benchDB{
	{"sqlite", func(b *testing.B) *store.Store {
		return openStore(b, filepath.Join(b.TempDir(), "waymark.db"))
	}},
	// Skipped without PG* variables: run under pg_virtualenv, as make does.
	{"postgres", func(b *testing.B) *store.Store { return openStore(b, storetest.PostgresURL(b)) }},
}

func openStore(b *testing.B, dsn string) *store.Store {
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if *flagIdleConns > 0 {
		st.DB().SetMaxIdleConns(*flagIdleConns)
	}
	return st
}

// BenchmarkDispatch runs -serve.journeys journeys `@every 1m` (10,000: 167
// runs a second) for -serve.period after -serve.warmup, on SQLite and
// PostgreSQL, and reports, for the slots due in the measured period:
//
//   - lag-p50-ms, lag-p99-ms, lag-max-ms: from a slot's due time to its
//     run's start; a slot that never started (dropped, skipped, still
//     waiting 10s after the period) counts as infinitely late;
//   - missed: slots due in the period that did not start; dups: slots that
//     started twice (must be 0);
//   - runs/s: runs started in the period per second (target 167);
//   - cpu-ms/1000runs and cpu-%core: this process's CPU time (getrusage) in
//     the period, per thousand runs started and per wall second;
//   - pg-cpu-ms/1000runs: the PostgreSQL server's CPU time in the period
//     (its processes, from /proc), when it runs on this machine;
//   - dispatch-p50-ms, dispatch-max-ms (engine): how long one dispatch
//     took, from reading the schedules to writing the last slots; it runs
//     every 2s and inserts the slots due until 3s later, so one that takes
//     over a second inserts slots late.
//
// impl=river is River alone, fed the same slots; impl=engine is the engine
// as `waymark serve` wires it, on the store, with a runner that returns at
// once and -serve.workers workers. With runs that take no time, the
// workers only bound how many jobs one fetch takes (River fetches every
// 200ms, when about 33 slots fell due); 200 is also about how many runs
// 10,000 real journeys a minute keep going at once, over all agents.
//
// impl=river-before is River alone polling as the engine did before (see
// before), to see what the slower polling costs in lag.
func BenchmarkDispatch(b *testing.B) {
	for _, db := range benchDBs {
		b.Run("db="+db.name, func(b *testing.B) {
			b.Run("impl=river", func(b *testing.B) { benchDispatch(b, db, startRiver(asEngine)) })
			b.Run("impl=engine", func(b *testing.B) { benchDispatch(b, db, startEngine) })
			b.Run("impl=river-before", func(b *testing.B) { benchDispatch(b, db, startRiver(before)) })
		})
	}
}

// BenchmarkIdle measures the CPU of an agent with nothing due for
// -serve.idle, after 5s to settle: cpu-%core is this process's CPU time per
// wall second in percent of one core (target: under 1), pg-cpu-%core the
// PostgreSQL server's. The variants tell what costs:
//
//   - river: River alone, configured as the engine configures it, no jobs;
//   - river-before: River alone as the engine configured it before (see
//     before);
//   - river-1s: River's defaults (FetchPollInterval 1s, listener on);
//   - engine-0: the engine with no journeys (River plus the dispatch job
//     every 2s);
//   - engine-100, engine-N: the engine with 100 and -serve.journeys
//     journeys due once a day, 12 hours from now: the dispatcher still
//     reads them all every 2s.
func BenchmarkIdle(b *testing.B) {
	river := func(p polling) starter {
		return func(b *testing.B, st *store.Store, _ []*journeys.Journey, _ *starts) running {
			return running{stop: startRiverClient(b, st, p, nil)}
		}
	}
	for _, db := range benchDBs {
		b.Run("db="+db.name, func(b *testing.B) {
			b.Run("river", func(b *testing.B) { benchIdle(b, db, 0, river(asEngine)) })
			b.Run("river-before", func(b *testing.B) { benchIdle(b, db, 0, river(before)) })
			b.Run("river-1s", func(b *testing.B) { benchIdle(b, db, 0, river(polling{fetch: time.Second})) })
			for _, n := range []int{0, 100, *flagJourneys} {
				b.Run(fmt.Sprintf("engine-%d", n), func(b *testing.B) { benchIdle(b, db, n, startEngine) })
			}
		})
	}
}

// BenchmarkDispatchOnce is one dispatch of the engine over -serve.journeys
// journeys of which none is due (as in BenchmarkIdle): what the leader
// pays every 2s when nothing is due. cpu-ms/op is this process's CPU per
// dispatch.
func BenchmarkDispatchOnce(b *testing.B) {
	for _, db := range benchDBs {
		b.Run("db="+db.name, func(b *testing.B) {
			st := db.open(b)
			seed(b, st, *flagJourneys, farSchedule())
			e, err := schedule.New(schedule.Options{Driver: st.RiverDriver(), Agent: "bench-agent", Location: benchLocation,
				Runner: newStarts(), Sink: nopSink{}, Catalog: catalog{}, Book: newBook(st)})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := e.Dispatch(ctx); err != nil { // warm the pool and caches
				b.Fatal(err)
			}
			pm := postmaster(st)
			w := startWindow(b, pm)
			for b.Loop() {
				if err := e.Dispatch(ctx); err != nil {
					b.Fatal(err)
				}
			}
			w.end()
			b.ReportMetric(ms(w.cpu())/float64(b.N), "cpu-ms/op")
			if pg, ok := w.pgCPU(); ok {
				b.ReportMetric(ms(pg)/float64(b.N), "pg-cpu-ms/op")
			}
			w.report()
		})
	}
}

// BenchmarkParse is what the dispatcher pays per journey and dispatch to
// read its schedule.
func BenchmarkParse(b *testing.B) {
	for _, spec := range []struct{ name, spec string }{
		{"every-1m", "@every 1m"},
		{"hourly", "@hourly"},
		{"weekdays-9am", "0 9 * * 1-5"},
		{"daily", "0 3 * * *"},
		{"yearly", "0 0 1 7 *"},
	} {
		b.Run(spec.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := schedule.Parse("checkout", spec.spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// running is what a starter started: stop stops it; book, for the engine,
// times its dispatches.
type running struct {
	stop func()
	book *storeBook
}

// starter starts what is measured on st, running js (already synced
// into st), noting each run's start in s.
type starter func(b *testing.B, st *store.Store, js []*journeys.Journey, s *starts) running

func benchDispatch(b *testing.B, db benchDB, start starter) {
	st := db.open(b)
	js := seed(b, st, *flagJourneys, "@every 1m")
	specs := make([]*schedule.Spec, len(js))
	for i, j := range js {
		var err error
		if specs[i], err = schedule.Parse(j.Name, j.Schedule); err != nil {
			b.Fatal(err)
		}
	}
	s := newStarts()
	pm := postmaster(st)
	r := start(b, st, js, s)
	stopped := false
	defer func() {
		if !stopped {
			r.stop()
		}
	}()

	time.Sleep(*flagWarmup)
	b.ResetTimer()
	w := startWindow(b, pm)
	time.Sleep(*flagPeriod)
	w.end()
	b.StopTimer()

	// The slots due in the period, and when each started: wait a little
	// for those still in flight.
	type due struct {
		key  startKey
		slot time.Time
	}
	var want []due
	for i, spec := range specs {
		slots, _ := spec.Due(w.t0.Add(-time.Nanosecond), w.t1.Add(-time.Nanosecond), math.MaxInt)
		for _, slot := range slots {
			want = append(want, due{startKey{js[i].Name, slot.Unix()}, slot})
		}
	}
	grace := time.Now().Add(10 * time.Second)
	var lags []float64
	missed := 0
	for {
		lags, missed = lags[:0], 0
		for _, d := range want {
			if at, ok := s.at(d.key); ok {
				lags = append(lags, float64(at.Sub(d.slot))/float64(time.Millisecond))
			} else {
				lags = append(lags, math.Inf(1))
				missed++
			}
		}
		if missed == 0 || time.Now().After(grace) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.stop()
	stopped = true

	runs := s.startedBetween(w.t0, w.t1)
	slices.Sort(lags)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(pct(lags, 50), "lag-p50-ms")
	b.ReportMetric(pct(lags, 99), "lag-p99-ms")
	b.ReportMetric(pct(lags, 100), "lag-max-ms")
	b.ReportMetric(float64(missed), "missed")
	b.ReportMetric(float64(s.duplicates()), "dups")
	b.ReportMetric(float64(runs)/w.wall().Seconds(), "runs/s")
	if runs > 0 {
		b.ReportMetric(ms(w.cpu())*1000/float64(runs), "cpu-ms/1000runs")
		if pg, ok := w.pgCPU(); ok {
			b.ReportMetric(ms(pg)*1000/float64(runs), "pg-cpu-ms/1000runs")
		}
	}
	b.ReportMetric(100*w.cpu().Seconds()/w.wall().Seconds(), "cpu-%core")
	w.report()
	var ticks []float64
	if r.book != nil {
		for _, d := range r.book.ticksBetween(w.t0, w.t1) {
			ticks = append(ticks, ms(d))
		}
		slices.Sort(ticks)
		if len(ticks) > 0 {
			b.ReportMetric(pct(ticks, 50), "dispatch-p50-ms")
			b.ReportMetric(pct(ticks, 100), "dispatch-max-ms")
		}
	}
	b.Logf("%d journeys, %d slots due in %s, %d runs started in it; lag p50 %.0fms p99 %.0fms max %.0fms; %d missed, %d twice; CPU %s (%.1f%% of a core); %d dispatches, p50 %.0fms",
		len(js), len(want), w.wall().Round(time.Millisecond), runs, pct(lags, 50), pct(lags, 99), pct(lags, 100),
		missed, s.duplicates(), w.cpu().Round(time.Millisecond), 100*w.cpu().Seconds()/w.wall().Seconds(), len(ticks), pct(ticks, 50))
}

// farSchedule is a daily cron spec 12 hours from now: nothing of it falls
// due while a benchmark runs.
func farSchedule() string {
	t := time.Now().UTC().Add(12 * time.Hour)
	return fmt.Sprintf("%d %d * * *", t.Minute(), t.Hour())
}

func benchIdle(b *testing.B, db benchDB, n int, start starter) {
	st := db.open(b)
	js := seed(b, st, n, farSchedule())
	pm := postmaster(st)
	r := start(b, st, js, newStarts())
	defer r.stop()
	time.Sleep(5 * time.Second)
	b.ResetTimer()
	w := startWindow(b, pm)
	time.Sleep(*flagIdle)
	w.end()
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(100*w.cpu().Seconds()/w.wall().Seconds(), "cpu-%core")
	if pg, ok := w.pgCPU(); ok {
		b.ReportMetric(100*pg.Seconds()/w.wall().Seconds(), "pg-cpu-%core")
	}
	w.report()
}

// seed syncs n journeys with the schedule into st, as `serve` does with
// the files it loads, and returns them. Each has the guest-checkout
// example's file as its definition (2 KB): the dispatcher reads the
// journeys' rows, definitions included.
func seed(b *testing.B, st *store.Store, n int, sched string) []*journeys.Journey {
	if n == 0 {
		return nil
	}
	def, err := os.ReadFile(filepath.Join("..", "..", "examples", "journeys", "guest-checkout.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(file, def, 0o644); err != nil {
		b.Fatal(err)
	}
	js := make([]*journeys.Journey, n)
	for i := range js {
		js[i] = &journeys.Journey{Name: fmt.Sprintf("bench-%05d", i), Title: "Bench", File: file, Hash: "bench",
			Schedule: sched, Locations: []string{benchLocation}, Timeout: time.Minute}
	}
	if err := st.SyncJourneys(context.Background(), []string{dir}, js, nil); err != nil {
		b.Fatal(err)
	}
	return js
}

// startEngine starts the engine as `waymark serve` wires it (cmd/waymark
// serve.go) with -serve.workers workers, on st, with a runner that only
// notes when each slot started.
func startEngine(b *testing.B, st *store.Store, js []*journeys.Journey, s *starts) running {
	bk, stop := startEngineBook(b, st, js, s)
	return running{stop: stop, book: bk}
}

func startEngineBook(b *testing.B, st *store.Store, js []*journeys.Journey, s *starts) (*storeBook, func()) {
	bk := newBook(st)
	cat := catalog{}
	for _, j := range js {
		cat[j.Name] = j
	}
	logs := &logFilter{b: b}
	e, err := schedule.New(schedule.Options{
		Driver:   st.RiverDriver(),
		Agent:    "bench-agent",
		Location: benchLocation,
		Workers:  *flagWorkers,
		Runner:   s,
		Sink:     nopSink{},
		Catalog:  cat,
		Book:     bk,
		Events:   &events{},
		// serve logs at info: one line per finished run.
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return bk, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			b.Error(err)
		}
	}
}

// startRiver is the baseline of BenchmarkDispatch: a River client
// configured as the engine configures its own, fed the slots of js by a
// goroutine every 2s (what the dispatcher inserts, without reading or
// writing anything else), working them with a worker that notes the start.
func startRiver(p polling) starter {
	return func(b *testing.B, st *store.Store, js []*journeys.Journey, s *starts) running {
		return startRiverFed(b, st, p, js, s)
	}
}

func startRiverFed(b *testing.B, st *store.Store, p polling, js []*journeys.Journey, s *starts) running {
	specs := make([]*schedule.Spec, len(js))
	for i, j := range js {
		var err error
		if specs[i], err = schedule.Parse(j.Name, j.Schedule); err != nil {
			b.Fatal(err)
		}
	}
	var client *river.Client[*sql.Tx]
	stopClient := startRiverClient(b, st, p, func(c *river.Client[*sql.Tx]) { client = c }, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := make([]time.Time, len(js))
		t := time.NewTicker(dispatchEvery)
		defer t.Stop()
		for {
			now := time.Now()
			var jobs []river.InsertManyParams
			for i, spec := range specs {
				if last[i].IsZero() {
					last[i] = now.Add(-2 * dispatchEvery)
				}
				slots, _ := spec.Due(last[i], now.Add(dispatchAhead), 100)
				for _, slot := range slots {
					jobs = append(jobs, river.InsertManyParams{Args: baseArgs{Journey: js[i].Name, Slot: slot}, InsertOpts: &river.InsertOpts{
						Queue: schedule.QueueFor(benchLocation), ScheduledAt: slot.Add(-startLead), Tags: []string{"journey_" + js[i].Name},
						UniqueOpts: river.UniqueOpts{ByArgs: true}}})
					last[i] = slot
				}
			}
			if len(jobs) > 0 {
				if _, err := client.InsertMany(ctx, jobs); err != nil && ctx.Err() == nil {
					b.Errorf("insert %d jobs: %v", len(jobs), err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return running{stop: func() {
		cancel()
		<-done
		stopClient()
	}}
}

// startRiverClient starts a River client on st with the engine's queues
// and settings, polling as p says, working baseArgs jobs by noting their
// start in s (optional). got, when set, is handed the client.
func startRiverClient(b *testing.B, st *store.Store, p polling, got func(*river.Client[*sql.Tx]), s ...*starts) func() {
	workers := river.NewWorkers()
	w := &baseWorker{}
	if len(s) > 0 {
		w.s = s[0]
	}
	river.AddWorker(workers, w)
	logs := &logFilter{b: b}
	client, err := river.NewClient(st.RiverDriver(), &river.Config{
		ID:     "bench-river",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Queues: map[string]river.QueueConfig{
			schedule.QueueFor(benchLocation): {MaxWorkers: *flagWorkers},
			"control":                        {MaxWorkers: 1, FetchPollInterval: p.control},
		},
		Workers:              workers,
		RescueStuckJobsAfter: 6 * time.Minute,
		MaxAttempts:          3,
		FetchPollInterval:    p.fetch,
		PollOnly:             p.pollOnly,
	})
	if err != nil {
		b.Fatal(err)
	}
	if got != nil {
		got(client)
	}
	if err := client.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := client.Stop(ctx); err != nil {
			b.Error(err)
		}
	}
}

// baseArgs is the baseline's job: a slot of a journey, unique, inserted
// available ahead of its time as the engine's are.
type baseArgs struct {
	Journey string    `json:"journey" river:"unique"`
	Slot    time.Time `json:"slot" river:"unique"`
}

func (baseArgs) Kind() string { return "bench_run" }

func (baseArgs) Hooks() []rivertype.Hook { return []rivertype.Hook{&available{}} }

type available struct{ river.HookDefaults }

func (*available) InsertBegin(_ context.Context, p *rivertype.JobInsertParams) error {
	if p.State == rivertype.JobStateScheduled {
		p.State = rivertype.JobStateAvailable
	}
	return nil
}

type baseWorker struct {
	river.WorkerDefaults[baseArgs]
	s *starts
}

// startLead is the engine's: a slot's job is available this long before
// the slot, and its worker waits for the slot.
const startLead = 500 * time.Millisecond

func (w *baseWorker) Work(_ context.Context, job *river.Job[baseArgs]) error {
	if early := time.Until(job.Args.Slot); early > 0 && early <= startLead {
		time.Sleep(early)
	}
	if w.s != nil {
		w.s.note(job.Args.Journey, job.Args.Slot)
	}
	return nil
}

// startKey is a slot of a journey.
type startKey struct {
	journey string
	slot    int64 // unix seconds
}

// starts notes when each slot's run started; as a schedule.Runner it is
// the no-op runner: it notes the start and returns a passed run at once.
type starts struct {
	mu   sync.Mutex
	when map[startKey]time.Time
	dups int
}

func newStarts() *starts { return &starts{when: map[startKey]time.Time{}} }

func (s *starts) note(journey string, slot time.Time) time.Time {
	now := time.Now()
	k := startKey{journey, slot.Unix()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.when[k]; ok {
		s.dups++
	} else {
		s.when[k] = now
	}
	return now
}

func (s *starts) RunSlot(_ context.Context, j *journeys.Journey, slot time.Time) (*results.Run, error) {
	now := s.note(j.Name, slot)
	return &results.Run{ID: j.Name + "@" + strconv.FormatInt(slot.Unix(), 10), Journey: j.Name, Location: benchLocation,
		Trigger: results.TriggerSchedule, Slot: slot, StartedAt: now, FinishedAt: now, Outcome: results.Passed, Attempt: 1}, nil
}

func (s *starts) at(k startKey) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.when[k]
	return t, ok
}

func (s *starts) startedBetween(t0, t1 time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.when {
		if !t.Before(t0) && t.Before(t1) {
			n++
		}
	}
	return n
}

func (s *starts) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

// storeBook is the store as the engine's Book, as cmd/waymark wires it.
// It also times each dispatch: from its reading of the schedules to its
// last call (the last slots written after the jobs were inserted).
type storeBook struct {
	st *store.Store

	mu        sync.Mutex
	tickStart time.Time
	lastCall  time.Time
	ticks     []tick
}

// tick is one dispatch: when it began and how long it took.
type tick struct {
	at   time.Time
	took time.Duration
}

func newBook(st *store.Store) *storeBook { return &storeBook{st: st} }

func (b *storeBook) called() {
	b.mu.Lock()
	b.lastCall = time.Now()
	b.mu.Unlock()
}

// ticksBetween are the dispatches that began in [t0, t1) and ended.
func (b *storeBook) ticksBetween(t0, t1 time.Time) []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []time.Duration
	for _, t := range b.ticks {
		if !t.at.Before(t0) && t.at.Before(t1) {
			out = append(out, t.took)
		}
	}
	return out
}

func (b *storeBook) ScheduledJourneys(ctx context.Context) ([]schedule.Planned, error) {
	now := time.Now()
	b.mu.Lock()
	if !b.tickStart.IsZero() {
		b.ticks = append(b.ticks, tick{b.tickStart, b.lastCall.Sub(b.tickStart)})
	}
	b.tickStart, b.lastCall = now, now
	b.mu.Unlock()
	defer b.called()
	recs, err := b.st.ScheduledJourneys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]schedule.Planned, len(recs))
	for i, r := range recs {
		out[i] = schedule.Planned{Journey: r.Name, Schedule: r.Schedule, Locations: r.Locations}
	}
	return out, nil
}

func (b *storeBook) ActiveLocations(ctx context.Context, since time.Time) ([]string, error) {
	defer b.called()
	return b.st.ActiveLocations(ctx, since)
}

func (b *storeBook) LastSlots(ctx context.Context) (map[schedule.Place]time.Time, error) {
	defer b.called()
	last, err := b.st.LastSlots(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[schedule.Place]time.Time, len(last))
	for p, slot := range last {
		out[schedule.Place(p)] = slot
	}
	return out, nil
}

func (b *storeBook) SetLastSlots(ctx context.Context, slots map[schedule.Place]time.Time) error {
	defer b.called()
	in := make(map[store.Place]time.Time, len(slots))
	for p, slot := range slots {
		in[store.Place(p)] = slot
	}
	return b.st.SetLastSlots(ctx, in)
}

func (b *storeBook) RecordMiss(ctx context.Context, m schedule.Miss) error {
	return b.st.RecordMiss(ctx, store.Miss{Journey: m.Journey, Location: m.Location, Slot: m.Slot, Reason: m.Reason, At: m.At, Agent: m.Agent})
}

// catalog serves the benchmark's journeys.
type catalog map[string]*journeys.Journey

func (c catalog) Journey(name string) (*journeys.Journey, bool) { j, ok := c[name]; return j, ok }

type nopSink struct{}

func (nopSink) SaveRun(context.Context, *journeys.Journey, *results.Run) error { return nil }

// events counts what the engine tells /metrics.
type events struct{ started, missed atomic.Int64 }

func (e *events) RunStarted(string, string, time.Duration) { e.started.Add(1) }
func (e *events) SlotMissed(string, string, string)        { e.missed.Add(1) }

// logFilter formats every log line, as serve does, and passes on warnings
// and errors (the first 20) to the benchmark's log.
type logFilter struct {
	b     *testing.B
	shown atomic.Int64
}

func (l *logFilter) Write(p []byte) (int, error) {
	if (bytes.Contains(p, []byte("level=WARN")) || bytes.Contains(p, []byte("level=ERROR"))) && l.shown.Add(1) <= 20 {
		fmt.Fprintf(os.Stderr, "%s: %s", l.b.Name(), p)
	}
	return len(p), nil
}

// window is a measured period: wall time and CPU time of this process and
// of the PostgreSQL server.
type window struct {
	b           *testing.B
	pm          int // the PostgreSQL postmaster's PID; 0: none here
	t0, t1      time.Time
	cpu0, cpu1  time.Duration
	pg0, pg1    time.Duration
	pgOK        bool
	all0, all1  time.Duration // the machine's, all processes
	stopProfile func()
}

func startWindow(b *testing.B, pm int) *window {
	w := &window{b: b, pm: pm, stopProfile: func() {}}
	if *flagPprof != "" {
		name := regexp.MustCompile(`[^A-Za-z0-9_.=-]+`).ReplaceAllString(b.Name(), "_")
		f, err := os.Create(filepath.Join(*flagPprof, name+".pprof"))
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Logf("no CPU profile: %v", err)
			f.Close()
		} else {
			w.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	if pm > 0 {
		w.pg0, w.pgOK = serverCPU(pm)
	}
	w.all0 = machineCPU()
	w.cpu0 = processCPU()
	w.t0 = time.Now()
	return w
}

func (w *window) end() {
	w.t1 = time.Now()
	w.cpu1 = processCPU()
	w.all1 = machineCPU()
	if w.pgOK {
		w.pg1, w.pgOK = serverCPU(w.pm)
	}
	w.stopProfile()
}

func (w *window) wall() time.Duration { return w.t1.Sub(w.t0) }
func (w *window) cpu() time.Duration  { return w.cpu1 - w.cpu0 }
func (w *window) pgCPU() (time.Duration, bool) {
	return w.pg1 - w.pg0, w.pgOK
}

// report reports what every measurement reports: other-cpu-%core is the
// CPU the rest of the machine used meanwhile (all processes but this one
// and the PostgreSQL server), in percent of one core. Over a few percent,
// something else ran and the figures are not to be trusted.
func (w *window) report() {
	other := w.all1 - w.all0 - w.cpu()
	if pg, ok := w.pgCPU(); ok {
		other -= pg
	}
	w.b.ReportMetric(max(0, 100*other.Seconds()/w.wall().Seconds()), "other-cpu-%core")
}

// machineCPU is the CPU time all processes used so far (/proc/stat: user,
// nice, system, irq, softirq and steal time over every core).
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var ticks int64
	for i, v := range f {
		if i == 0 || i == 4 || i == 5 || i > 8 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postmaster is the PID of st's PostgreSQL server when it runs on this
// machine (the parent of the backend serving a connection), or 0.
func postmaster(st *store.Store) int {
	if st.Dialect() != store.DialectPostgres {
		return 0
	}
	var backend int
	if err := st.DB().QueryRow(`SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0
	}
	f, err := procStat(backend)
	if err != nil || len(f) < 2 {
		return 0
	}
	pm, _ := strconv.Atoi(f[1])
	return pm
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100

// serverCPU is the CPU time of a PostgreSQL server so far: the
// postmaster's own and that of the children it reaped (backends that
// ended), plus that of its children alive now (backends, autovacuum, the
// WAL writer…).
func serverCPU(pm int) (time.Duration, bool) {
	f, err := procStat(pm)
	if err != nil {
		return 0, false
	}
	ticks := field(f, 14) + field(f, 15) + field(f, 16) + field(f, 17)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	parent := strconv.Itoa(pm)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c, err := procStat(pid); err == nil && len(c) > 1 && c[1] == parent {
			ticks += field(c, 14) + field(c, 15)
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

// procStat returns the fields of /proc/PID/stat after the command name:
// field 3 (state) first, so field n of proc(5) is at n-3.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("unexpected /proc stat format")
	}
	return strings.Fields(string(b[i+1:])), nil
}

// field is field n (numbered as in proc(5)) of a procStat, as a number.
func field(f []string, n int) int64 {
	if n-3 >= len(f) {
		return 0
	}
	v, _ := strconv.ParseInt(f[n-3], 10, 64)
	return v
}

// pct is the p-th percentile of sorted values (nearest rank); +Inf
// stands for a slot that never started.
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
