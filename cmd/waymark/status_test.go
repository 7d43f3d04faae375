package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

func TestStatusView(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	agent := func(id, loc string, seen time.Duration) store.Agent {
		return store.Agent{ID: id, Location: loc, Version: "1.0", Host: "h-" + id, StartedAt: now.Add(-time.Hour), LastSeen: now.Add(-seen)}
	}
	scheduled := func(name string, locs ...string) store.JourneyRecord {
		return store.JourneyRecord{Name: name, File: name + ".yaml", Schedule: "@every 1m", Locations: locs, Enabled: true}
	}
	for _, tc := range []struct {
		name string
		in   statusData
		want reports.StatusView
	}{
		{"nothing", statusData{}, reports.StatusView{Now: now}},
		{"agents: a minute unseen is still live, more is stale",
			statusData{agents: []store.Agent{agent("a", "eu", 0), agent("b", "eu", time.Minute), agent("c", "us", time.Minute+time.Millisecond)}},
			reports.StatusView{Now: now, Agents: []reports.StatusAgent{
				{ID: "a", Location: "eu", Version: "1.0", Host: "h-a", StartedAt: now.Add(-time.Hour), LastSeen: now},
				{ID: "b", Location: "eu", Version: "1.0", Host: "h-b", StartedAt: now.Add(-time.Hour), LastSeen: now.Add(-time.Minute)},
				{ID: "c", Location: "us", Version: "1.0", Host: "h-c", StartedAt: now.Add(-time.Hour), LastSeen: now.Add(-time.Minute - time.Millisecond), Stale: true},
			}}},
		{"leader: live, located by its agent",
			statusData{agents: []store.Agent{agent("a", "eu", 0)}, leader: "a", leaderElected: now.Add(-time.Hour), leaderExpiry: now.Add(time.Second)},
			reports.StatusView{Now: now,
				Agents: []reports.StatusAgent{{ID: "a", Location: "eu", Version: "1.0", Host: "h-a", StartedAt: now.Add(-time.Hour), LastSeen: now}},
				Leader: reports.StatusLeader{ID: "a", Location: "eu", ElectedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Second), Live: true}}},
		{"leader: its term ran out at now; not an agent the database knows",
			statusData{leader: "gone", leaderElected: now.Add(-time.Hour), leaderExpiry: now},
			reports.StatusView{Now: now, Leader: reports.StatusLeader{ID: "gone", ElectedAt: now.Add(-time.Hour), ExpiresAt: now}}},
		{"queues: work where no live agent is, by name",
			statusData{agents: []store.Agent{agent("a", "eu", 0), agent("b", "us", time.Hour)}, queues: map[string]store.QueueDepth{
				"loc_us":  {Waiting: 1},
				"loc_eu":  {Waiting: 5, Ahead: 1, Running: 2},
				"loc_ap":  {Running: 1}, // held by an agent that died
				"loc_sa":  {},           // not returned by the store, but empty is no work
				"control": {Ahead: 1},
			}},
			reports.StatusView{Now: now,
				Agents: []reports.StatusAgent{
					{ID: "a", Location: "eu", Version: "1.0", Host: "h-a", StartedAt: now.Add(-time.Hour), LastSeen: now},
					{ID: "b", Location: "us", Version: "1.0", Host: "h-b", StartedAt: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour), Stale: true},
				},
				Queues: []reports.StatusQueue{
					{Name: "control", Ahead: 1},
					{Name: "loc_ap", Location: "ap", Running: 1, NoAgent: true},
					{Name: "loc_eu", Location: "eu", Waiting: 5, Ahead: 1, Running: 2},
					{Name: "loc_sa", Location: "sa"},
					{Name: "loc_us", Location: "us", Waiting: 1, NoAgent: true},
				}}},
		{"queues: no live agent at all leaves the dispatcher's queue too",
			statusData{queues: map[string]store.QueueDepth{"control": {Waiting: 1}}},
			reports.StatusView{Now: now, Queues: []reports.StatusQueue{{Name: "control", Waiting: 1, NoAgent: true}}}},
		{"misses: one row per journey and location",
			statusData{misses: []store.MissCount{
				{Journey: "a", Location: "eu", Reason: store.MissDropped, Count: 3},
				{Journey: "a", Location: "eu", Reason: store.MissSkipped, Count: 2},
				{Journey: "a", Location: "us", Reason: store.MissDropped, Count: 1},
				{Journey: "b", Location: "eu", Reason: store.MissSkipped, Count: 7},
			}},
			reports.StatusView{Now: now, Misses: []reports.StatusMisses{
				{Journey: "a", Location: "eu", Skipped: 2, Dropped: 3},
				{Journey: "a", Location: "us", Dropped: 1},
				{Journey: "b", Location: "eu", Skipped: 7},
			}}},
		{"locations named by scheduled journeys that no live agent serves",
			statusData{agents: []store.Agent{agent("a", "eu", 0), agent("b", "us", 2*time.Minute)}, journeys: []store.JourneyRecord{
				scheduled("anywhere"),
				scheduled("both", "eu", "us"),
				{Name: "disabled", Schedule: "@every 1m", Locations: []string{"ap"}},
				{Name: "on-demand", Locations: []string{"ap"}, Enabled: true},
				{Name: "us-only", Schedule: "@every 1m", Locations: []string{"us"}, Enabled: true, LoadError: "broken"},
			}},
			reports.StatusView{Now: now,
				Agents: []reports.StatusAgent{
					{ID: "a", Location: "eu", Version: "1.0", Host: "h-a", StartedAt: now.Add(-time.Hour), LastSeen: now},
					{ID: "b", Location: "us", Version: "1.0", Host: "h-b", StartedAt: now.Add(-time.Hour), LastSeen: now.Add(-2 * time.Minute), Stale: true},
				},
				Journeys: []reports.StatusJourney{
					{Name: "anywhere", File: "anywhere.yaml", Schedule: "@every 1m", Enabled: true},
					{Name: "both", File: "both.yaml", Schedule: "@every 1m", Locations: []string{"eu", "us"}, Enabled: true},
					{Name: "disabled", Schedule: "@every 1m", Locations: []string{"ap"}},
					{Name: "on-demand", Locations: []string{"ap"}, Enabled: true},
					{Name: "us-only", Schedule: "@every 1m", Locations: []string{"us"}, Enabled: true, LoadError: "broken"},
				},
				Unserved: []reports.StatusUnserved{{Location: "us", Journeys: []string{"both", "us-only"}}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := statusView(now, tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("statusView =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// holdArgs is a job that its worker holds until the test ends: a run in
// progress.
type holdArgs struct {
	N int `json:"n"`
}

func (holdArgs) Kind() string { return "hold" }

type holdWorker struct {
	river.WorkerDefaults[holdArgs]
	release <-chan struct{}
}

func (w *holdWorker) Work(ctx context.Context, _ *river.Job[holdArgs]) error {
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil
}

// waitUntil polls cond every 50ms for up to 30s: for River, which elects
// and fetches on its own time.
func waitUntil(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fillStatus gives the database dsn names what `waymark status` shows:
// a live agent in eu-west that River elects leader and that works a run,
// a stale agent in us-east, jobs waiting in us-east's queue and due ahead
// in both, missed slots within and beyond a day, and journeys: one naming
// three locations, two of which no live agent serves, one broken, one
// disabled, one without a schedule.
func fillStatus(t *testing.T, dsn string) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()

	for _, a := range []store.Agent{
		{ID: "eu-1", Location: "eu-west", Version: "1.0", Host: "box1", StartedAt: now.Add(-time.Hour), LastSeen: now, Running: 1},
		{ID: "us-1", Location: "us-east", Version: "0.9", Host: "box2\x1b[2J", StartedAt: now.Add(-3 * time.Hour), LastSeen: now.Add(-5 * time.Minute)},
	} {
		if err := st.Heartbeat(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	slot := now.Truncate(time.Minute)
	for _, m := range []store.Miss{
		{Journey: "checkout", Location: "eu-west", Slot: slot.Add(-time.Hour), Reason: store.MissSkipped},
		{Journey: "checkout", Location: "us-east", Slot: slot.Add(-2 * time.Hour), Reason: store.MissDropped},
		{Journey: "checkout", Location: "us-east", Slot: slot.Add(-3 * time.Hour), Reason: store.MissDropped},
		{Journey: "checkout", Location: "us-east", Slot: slot.Add(-4 * time.Hour), Reason: store.MissDropped},
		{Journey: "search", Location: "eu-west", Slot: slot.Add(-30 * time.Hour), Reason: store.MissDropped},
	} {
		if err := st.RecordMiss(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	root := t.TempDir()
	loaded := map[string]*journeys.Journey{}
	for _, j := range []struct{ name, schedule string }{
		{"checkout", "@every 5m"}, {"search", "*/5 * * * *"}, {"login", "@every 1m"}, {"old-flow", "@every 1m"}, {"smoke", ""},
	} {
		file := filepath.Join(root, j.name+".yaml")
		if err := os.WriteFile(file, []byte("name: "+j.name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		loaded[j.name] = &journeys.Journey{Name: j.name, Title: j.name, File: file, Hash: "h-" + j.name, Schedule: j.schedule}
	}
	loaded["checkout"].Locations = []string{"eu-west", "us-east", "ap-south"}
	all := slices.Collect(maps.Values(loaded))
	if err := st.SyncJourneys(ctx, []string{root}, all, nil); err != nil {
		t.Fatal(err)
	}
	// old-flow's file removed; login's broken, whose last good version
	// the catalog still holds.
	if err := os.Remove(loaded["old-flow"].File); err != nil {
		t.Fatal(err)
	}
	delete(loaded, "old-flow")
	broken := []store.FileError{{File: loaded["login"].File, Err: "login.yaml:3:7: steps: unknown key \"clik\"\nlogin.yaml:9:5: goto: empty\n"}}
	if err := st.SyncJourneys(ctx, []string{root}, slices.Collect(maps.Values(loaded)), broken); err != nil {
		t.Fatal(err)
	}

	// River: eu-1 works its location's queue and is elected leader; a
	// run it holds, and jobs where nobody works.
	release := make(chan struct{})
	workers := river.NewWorkers()
	river.AddWorker(workers, &holdWorker{release: release})
	client, err := river.NewClient(st.RiverDriver(), &river.Config{
		ID:                "eu-1",
		Queues:            map[string]river.QueueConfig{"loc_eu-west": {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(release)
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(stopCtx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	})
	later := now.Add(time.Hour)
	if _, err := client.InsertMany(ctx, []river.InsertManyParams{
		{Args: holdArgs{1}, InsertOpts: &river.InsertOpts{Queue: "loc_eu-west"}},
		{Args: holdArgs{2}, InsertOpts: &river.InsertOpts{Queue: "loc_eu-west", ScheduledAt: later}},
		{Args: holdArgs{3}, InsertOpts: &river.InsertOpts{Queue: "loc_us-east"}},
		{Args: holdArgs{4}, InsertOpts: &river.InsertOpts{Queue: "loc_us-east"}},
		{Args: holdArgs{5}, InsertOpts: &river.InsertOpts{Queue: "loc_us-east", ScheduledAt: later}},
	}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "River to elect eu-1 and run its job", func() (bool, error) {
		id, _, expires, ok, err := st.Leader(ctx)
		if err != nil || !ok || id != "eu-1" || !expires.After(time.Now()) {
			return false, err
		}
		q, err := st.QueueDepths(ctx)
		return q["loc_eu-west"].Running == 1, err
	})
}

// statusWants are lines `waymark status` prints for fillStatus's
// database, as patterns of whole lines.
var statusWants = []string{
	`Agents  1 live, 1 stale`,
	`✓  eu-1  eu-west   1\.0      box1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \d+s ago +1`,
	`!  us-1  us-east   0\.9      box2\\x1b\[2J  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  5m0\ds ago +0  stale: not seen for over a minute`,
	`Leader  eu-1 in eu-west, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s ago\)`,
	`   QUEUE        WAITING  AHEAD  RUNNING`,
	`   loc_eu-west        0      1        1`,
	`!  loc_us-east        2      1        0  no live agent in us-east: its runs wait, then are dropped`,
	`   checkout  eu-west         1        0`,
	`   checkout  us-east         0        3`,
	`Journeys  3 scheduled, 1 without a schedule, 1 disabled; 1 failing to load`,
	`   checkout  @every 5m    eu-west, us-east, ap-south`,
	`!  login     @every 1m    every location with an agent`,
	`     does not load, keeps its last good version: login\.yaml:3:7: steps: unknown key "clik" \(and 1 more line: waymark validate .*login\.yaml\)`,
	`   search    \*/5 \* \* \* \*  every location with an agent`,
	`–  old-flow  disabled: .*old-flow\.yaml no longer defines it`,
	`   without a schedule, run only by ` + "`waymark run`" + `: smoke`,
	`✗  no agent serves location ap-south: its slots are not run \(checkout\)`,
	`✗  no agent serves location us-east: its slots are not run \(checkout\)`,
}

// TestStatus fills a database on each dialect as agents would and reads
// it back with `waymark status`.
func TestStatus(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			dsn := filepath.Join(t.TempDir(), "waymark.db")
			if dialect == store.DialectPostgres {
				dsn = storetest.PostgresURL(t)
			}
			fillStatus(t, dsn)

			r := cli(t, nil, "status", "--database", dsn)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			for _, w := range statusWants {
				if !regexp.MustCompile(`(?m)^` + w + `$`).MatchString(r.stdout) {
					t.Errorf("status lacks a line matching %q:\n%s", w, r.stdout)
				}
			}
			for _, not := range []string{"search    eu-west", "\x1b"} {
				if strings.Contains(r.stdout, not) {
					t.Errorf("status shows %q:\n%s", not, r.stdout)
				}
			}
			if dialect == store.DialectPostgres {
				srv := storetest.Postgres(t)
				if srv.Password != "" && strings.Contains(r.stdout, srv.Password) {
					t.Errorf("status shows the database's password:\n%s", r.stdout)
				}
				if !strings.Contains(r.stdout, "Database  "+describeDB(dsn)+", read ") {
					t.Errorf("status does not name the database as %s:\n%s", describeDB(dsn), r.stdout)
				}
			}

			// --since widens the window: the drop 30 hours ago shows.
			r = cli(t, map[string]string{"WAYMARK_DATABASE": dsn}, "status", "--since", "2d")
			if r.code != 0 {
				t.Fatalf("--since 2d: exit %d, stderr:\n%s", r.code, r.stderr)
			}
			for _, w := range []string{"Missed slots  in the last 2d\n", "   search    eu-west         0        1\n"} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("status --since 2d lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestStatusBadInput checks that every mistake is exit 2, says what was
// wrong, prints nothing on stdout and creates no database.
func TestStatusBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "waymark.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	missing := filepath.Join(dir, "missing.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string // in stderr
	}{
		{"since without unit", nil, []string{"status", "--since", "7", "--database", db}, []string{`--since "7"`, "7d"}},
		{"since zero", nil, []string{"status", "--since", "0h", "--database", db}, []string{`--since "0h": zero`}},
		{"since empty", nil, []string{"status", "--since", "", "--database", db}, []string{`--since "": zero`}},
		{"unknown flag", nil, []string{"status", "--limit", "3", "--database", db}, []string{"unknown flag: --limit"}},
		{"an argument", nil, []string{"status", "checkout", "--database", db}, []string{`unknown command "checkout"`}},
		{"missing database", nil, []string{"status", "--database", missing}, []string{"--database", missing, "no such database"}},
		{"missing config database", map[string]string{"WAYMARK_DATABASE": missing}, []string{"status"},
			[]string{"database (from the config)", missing, "no such database"}},
		{"database is a directory", nil, []string{"status", "--database", dir}, []string{"is a directory"}},
		{"unreachable server", nil, []string{"status", "--database", "postgres://waymark:s3cret@127.0.0.1:1/waymark?sslmode=disable&connect_timeout=5"},
			[]string{"--database", "127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := storetest.Listing(t, dir)
			r := cli(t, tc.env, tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "s3cret") {
				t.Errorf("stderr shows the password:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout on bad input:\n%s", r.stdout)
			}
			if after := storetest.Listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("the command changed %s:\nbefore %q\nafter  %q", dir, before, after)
			}
		})
	}
}

// TestStatusQueueDepthGauge checks the callback that serves
// waymark_queue_depth: waiting jobs by queue from the store, a queue
// once seen kept at 0, and the last good value when the database fails
// or stalls past the timeout.
func TestStatusQueueDepthGauge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	q := newQueueWaiting(st, log)
	assertDepths := func(what string, want map[string]int) {
		t.Helper()
		if got := q.depths(); !maps.Equal(got, want) {
			t.Errorf("%s: depths %v, want %v", what, got, want)
		}
	}
	assertDepths("no jobs", map[string]int{})

	exec := st.RiverDriver().GetExecutor()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	var ids []int64
	for _, j := range []struct {
		queue string
		at    time.Time
	}{{"loc_eu-west", past}, {"loc_eu-west", past}, {"loc_eu-west", future}, {"loc_us-east", future}, {"control", past}} {
		row, err := exec.JobInsertFull(ctx, &riverdriver.JobInsertFullParams{Kind: "run_journey", EncodedArgs: []byte(`{}`),
			Metadata: []byte(`{}`), MaxAttempts: 3, Priority: 1, Queue: j.queue, ScheduledAt: &j.at, State: rivertype.JobStateAvailable})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row.ID)
	}
	assertDepths("jobs", map[string]int{"loc_eu-west": 2, "loc_us-east": 0, "control": 1})

	// Worked and deleted, as River's cleaner does to finished jobs.
	if _, err := st.DB().ExecContext(ctx, "DELETE FROM river_job WHERE id IN ("+joinIDs(ids[:2])+")"); err != nil {
		t.Fatal(err)
	}
	assertDepths("jobs worked", map[string]int{"loc_eu-west": 0, "loc_us-east": 0, "control": 1})

	// A database that stalls: the scrape returns within the timeout with
	// the last good value.
	q.timeout = 50 * time.Millisecond
	read := q.read
	q.read = func(ctx context.Context) (map[string]store.QueueDepth, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	began := time.Now()
	assertDepths("stalled", map[string]int{"loc_eu-west": 0, "loc_us-east": 0, "control": 1})
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("a stalled read held the scrape %v", took)
	}

	// Two scrapes at once: the read that began first and ends last does
	// not overwrite the newer one's value.
	q.timeout = time.Minute
	first, firstBegan := make(chan struct{}), make(chan struct{})
	var calls int
	var callsMu sync.Mutex
	q.read = func(ctx context.Context) (map[string]store.QueueDepth, error) {
		callsMu.Lock()
		calls++
		n := calls
		callsMu.Unlock()
		if n == 1 {
			close(firstBegan)
			<-first
			return map[string]store.QueueDepth{"control": {Waiting: 1}}, nil
		}
		return map[string]store.QueueDepth{"control": {Waiting: 2}}, nil
	}
	older := make(chan map[string]int)
	go func() { older <- q.depths() }()
	<-firstBegan
	assertDepths("the newer scrape", map[string]int{"loc_eu-west": 0, "loc_us-east": 0, "control": 2})
	close(first)
	if got := <-older; got["control"] != 2 {
		t.Errorf("the older scrape's read overwrote the newer value: %v", got)
	}
	assertDepths("after both", map[string]int{"loc_eu-west": 0, "loc_us-east": 0, "control": 2})

	// A database that fails: closed.
	q.read = read
	st.Close()
	assertDepths("closed", map[string]int{"loc_eu-west": 0, "loc_us-east": 0, "control": 2})
	assertDepths("still closed", map[string]int{"loc_eu-west": 0, "loc_us-east": 0, "control": 2})

	// Each failure is logged once, until a read succeeds again.
	logMu.Lock()
	defer logMu.Unlock()
	var said []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		_, msg, _ := strings.Cut(l, "msg=")
		said = append(said, msg)
	}
	want := []string{
		`"read the queue depths for /metrics; serving the last ones read" error="context deadline exceeded"`,
		`"queue depths for /metrics read again"`,
		`"read the queue depths for /metrics; serving the last ones read" error="count River's jobs by queue: sql: database is closed"`,
	}
	if !slices.Equal(said, want) {
		t.Errorf("logged\n%s\nwant\n%s", strings.Join(said, "\n"), strings.Join(want, "\n"))
	}
}

// writerFunc is a func as an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// joinIDs is ids as a SQL list.
func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}
