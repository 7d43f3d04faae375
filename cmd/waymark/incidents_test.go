package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
	"github.com/waymarkhq/waymark/runner/browser/browsertest"
	"github.com/waymarkhq/waymark/runner/schedule"
)

// hookReceiver is a real webhook endpoint: it answers the first fail
// requests 500, then 200 with a ticket id, and keeps what it accepted.
type hookReceiver struct {
	mu   sync.Mutex
	fail int
	got  []notify.Payload
	url  string // where it listens, once a test serves it
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail > 0 {
		h.fail--
		http.Error(w, "busy", http.StatusInternalServerError)
		return
	}
	var p notify.Payload
	if json.Unmarshal(body, &p) == nil {
		h.got = append(h.got, p)
	}
	fmt.Fprint(w, `{"ticket_id": "SD-1"}`)
}

func (h *hookReceiver) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.got {
		out = append(out, string(p.Event)+" "+p.Incident.Reference)
	}
	return out
}

// TestServeIncidents runs `waymark serve` on a journey @every 2s against
// the demo shop with a webhook channel whose receiver answers 500 twice
// first: with the home page failing inside a maintenance window started
// for a deploy, the runs are kept and marked and nothing opens; once the
// window ends, exactly one incident opens and its message arrives once; with the fault off the next pass resolves it and
// exactly one resolution arrives, carrying the desk's ticket. Then
// `waymark incidents` lists it, `show` tells its story, and acting on a
// resolved incident is refused.
func TestServeIncidents(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testServeIncidents(t, filepath.Join(t.TempDir(), "w.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testServeIncidents(t, storetest.PostgresURL(t))
	})
}

func testServeIncidents(t *testing.T, db string) {
	shop := examples.NewShop(examples.Options{})
	base := serveShop(t, shop, shop)
	hook := &hookReceiver{fail: 2}
	desk := httptest.NewServer(hook)
	defer desk.Close()

	dir := t.TempDir()
	jdir := filepath.Join(dir, "journeys")
	if err := os.Mkdir(jdir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(jdir, "home.yaml"), serveJourney("home", "2s", "Trailhead"))
	cfg := filepath.Join(dir, "waymark.yaml")
	writeFile(t, cfg, fmt.Sprintf(`database: %q
journeys: [%s]
server: {listen: %s}
shutdown_timeout: 10s
channels:
  desk: {type: webhook, url: "%s/hook", secret: "${env:HOOK_SECRET}"}
routes:
  - {to: [desk]}
`, db, jdir, freeAddr(t), desk.URL))
	env := map[string]string{"SHOP_URL": base, "HOOK_SECRET": "s3cret-hook-key"}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := startServe(t, ctx, env, cfg)
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	incidents := func() []*results.Incident {
		list, err := st.Incidents(t.Context(), store.IncidentFilter{All: true})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	waitFor(t, "a passing run", 60*time.Second, func() bool {
		rs, _ := st.Runs(t.Context(), store.RunFilter{Journey: "home"})
		return len(rs) > 0 && rs[0].Outcome == results.Passed
	})
	faults, err := examples.ParseFaults("home=500")
	if err != nil {
		t.Fatal(err)
	}
	// A deploy silences the journey: its failed runs are kept, marked,
	// and open nothing.
	if r := cli(t, env, "--config", cfg, "maintenance", "start", "--journey", "home", "--for", "10m", "--reason", "release 4.2"); r.code != 0 {
		t.Fatalf("maintenance start: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	shop.SetFaults(faults)
	waitFor(t, "three failed runs in maintenance", 60*time.Second, func() bool {
		rs, _ := st.Runs(t.Context(), store.RunFilter{Journey: "home", Outcome: results.Failed})
		n := 0
		for _, r := range rs {
			if r.Maintenance != "" {
				n++
			}
		}
		return n >= 3
	})
	if got := incidents(); len(got) != 0 || len(hook.events()) != 0 {
		t.Fatalf("in maintenance: incidents %+v, messages %v; want none", got, hook.events())
	}
	if r := cli(t, env, "--config", cfg, "maintenance", "end", "--journey", "home"); r.code != 0 {
		t.Fatalf("maintenance end: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	waitFor(t, "the incident's message", 60*time.Second, func() bool { return len(hook.events()) == 1 })
	list := incidents()
	if len(list) != 1 || list[0].State != results.IncidentOpen || list[0].Failures < 2 {
		t.Fatalf("incidents %+v, want one open after two failed runs", list)
	}
	ref := list[0].Ref()
	shop.SetFaults(nil)
	waitFor(t, "the resolution's message", 60*time.Second, func() bool { return len(hook.events()) == 2 })
	waitRuns(t, st, "home", 2, time.Now()) // a few more passing runs: nothing more may come

	cancel()
	if r := await(t, done, 60*time.Second); r.code != reports.ExitOK {
		t.Fatalf("exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if got, want := strings.Join(hook.events(), ", "), "opened "+ref+", resolved "+ref; got != want {
		t.Errorf("messages %q, want %q", got, want)
	}
	hook.mu.Lock()
	if p := hook.got[1]; p.Incident.TicketID != "SD-1" {
		t.Errorf("the resolution carries ticket %q, want SD-1", p.Incident.TicketID)
	}
	hook.mu.Unlock()
	if list := incidents(); len(list) != 1 || list[0].State != results.IncidentResolved || list[0].TicketID != "SD-1" {
		t.Errorf("incidents at the end: %+v", list)
	}

	r := cli(t, env, "--config", cfg, "incidents", "--all")
	if r.code != 0 || !strings.Contains(r.stdout, ref) || !strings.Contains(r.stdout, "resolved") {
		t.Errorf("incidents --all: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env, "--config", cfg, "incidents", "show", ref)
	for _, want := range []string{ref + "  critical site incident, resolved", "ticket:    SD-1", "message to desk: delivered", "resolved"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("incidents show lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "s3cret-hook-key") {
		t.Error("incidents show printed the webhook's secret")
	}
	r = cli(t, env, "--config", cfg, "incidents", "ack", ref, "--by", "dana")
	if r.code != reports.ExitBadInput || !strings.Contains(r.stderr, "resolved already") {
		t.Errorf("ack of a resolved incident: %d %s", r.code, r.stderr)
	}
	r = cli(t, env, "--config", cfg, "incidents", "show", "WM-999")
	if r.code != reports.ExitBadInput || !strings.Contains(r.stderr, "no incident WM-999") {
		t.Errorf("show of a missing incident: %d %s", r.code, r.stderr)
	}
}

// nopRunner runs nothing: the sink test below only needs an engine.
type nopRunner struct{}

func (nopRunner) RunSlot(context.Context, *journeys.Journey, time.Time) (*results.Run, error) {
	return nil, errors.New("not here")
}

// TestSinkRechecks keeps runs of an hourly journey through serve's sink:
// a failed one is kept with the journey's alert state and an early run a
// minute later is queued in the same transaction; a run in a maintenance
// window is marked and queues none.
func TestSinkRechecks(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "w.db"))
	j := &journeys.Journey{Name: "nightly", Schedule: "@hourly", Tags: []string{"shop"}}
	a := &app{getenv: envFunc(nil), stdout: io.Discard, stderr: io.Discard}
	cfg := &config.Config{Alert: config.Alert{After: 2, Recheck: time.Minute}}
	alerts, err := a.newAlerts(cfg, st, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := schedule.New(schedule.Options{Driver: st.RiverDriver(), Agent: "a1", Location: "eu-west", Runner: nopRunner{},
		Sink: &runSink{st: st}, Catalog: catalogOf{j}, Book: book{st}, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	alerts.SetClient(eng.Client())
	deploy := results.Maintenance{Name: "deploy", Match: results.MaintenanceMatch{Tag: "shop"}, From: time.Now().Add(-time.Hour), To: time.Now().Add(-time.Minute)}
	sink := &runSink{st: st, alerts: alerts, alert: cfg.Alert, windows: []results.Maintenance{deploy}, engine: eng, log: a.logger()}
	inWindow := deploy.From.Add(time.Minute)
	for i, at := range []time.Time{inWindow, time.Now()} {
		run := &results.Run{ID: fmt.Sprintf("r%d", i), Journey: j.Name, Location: "eu-west", Trigger: results.TriggerSchedule,
			StartedAt: at, FinishedAt: at, Outcome: results.Failed, Attempt: 1}
		if err := sink.SaveRun(t.Context(), j, run); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := st.Runs(t.Context(), store.RunFilter{Journey: j.Name})
	if err != nil || len(runs) != 2 || runs[1].Maintenance != "deploy" || runs[0].Maintenance != "" {
		t.Fatalf("runs kept: %+v, %v; want the first marked deploy", runs, err)
	}
	res, err := eng.Client().JobList(t.Context(), river.NewJobListParams().First(10))
	if err != nil {
		t.Fatal(err)
	}
	var slots []string
	for _, job := range res.Jobs {
		if job.Kind == "run_journey" {
			slots = append(slots, job.ScheduledAt.UTC().Format(time.RFC3339))
		}
	}
	want := runs[0].StartedAt.Add(time.Minute).Truncate(time.Second).Add(-500 * time.Millisecond).UTC().Format(time.RFC3339)
	if len(slots) != 1 || slots[0] != want {
		t.Errorf("early runs queued %v, want one available at %s (the failed run's start + 1m, less the start lead)", slots, want)
	}
}

// catalogOf serves the given journeys.
type catalogOf []*journeys.Journey

func (c catalogOf) Journey(name string) (*journeys.Journey, bool) {
	for _, j := range c {
		if j.Name == name {
			return j, true
		}
	}
	return nil, false
}

// TestDemoTour runs `waymark demo`'s tour, quickened: the example journeys
// every 2s, payment=500 after 5s for 45s, the second level 5s after an
// incident opens. An incident opens, is told to the terminal and the
// notification log, escalates to on-call, and resolves once payment works.
func TestDemoTour(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The end of the story: the terminal's line and the log's (a webhook
	// queue polled every 5s) for the resolution.
	done, resolved := startWatchingAll(ctx, nil, []string{" resolved [", " resolved: "}, "demo", "--listen", freeAddr(t), "--database", filepath.Join(dir, "tour.db"),
		"--tour-every", "2s", "--tour-fault-after", "5s", "--tour-fault-for", "45s", "--tour-escalate-after", "5s")
	select {
	case <-resolved:
	case r := <-done:
		t.Fatalf("demo returned %d before an incident resolved\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	case <-time.After(150 * time.Second):
		cancel()
		r := await(t, done, 60*time.Second)
		t.Fatalf("no incident resolved in 150s\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	cancel()
	r := await(t, done, 60*time.Second)
	if r.code != reports.ExitOK {
		t.Errorf("demo exit %d after Ctrl-C, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	// Each pair in the order it must happen; the two channels of one
	// level may print in either order.
	for _, p := range [][2]string{
		{"Dashboard: http://127.0.0.1:", "The tour:"},
		{"The tour:", "▶ tour: payment=500 is on"},
		{"▶ tour: payment=500 is on", " opened [critical]"},
		{"▶ tour: payment=500 is on", "notification log /desk: WM-"},
		{" opened [critical]", " escalated to level 2"},
		{" opened [critical]", "notification log /on-call: WM-"},
		{"■ tour: payment works again", " resolved [critical]"},
		{"■ tour: payment works again", " resolved: "},
	} {
		i, j := strings.Index(r.stdout, p[0]), strings.LastIndex(r.stdout, p[1])
		if i < 0 || j < 0 || j < i {
			t.Errorf("the tour's output lacks %q after %q:\n%s", p[1], p[0], r.stdout)
		}
	}
}

// TestServeKilledMidDelivery SIGKILLs `waymark serve` while its incident's
// message is being delivered (the receiver holds the request): after a
// restart the message is delivered once, River having rescued the
// delivery of the agent that died, and the incident is not opened again.
func TestServeKilledMidDelivery(t *testing.T) {
	t.Parallel()
	faults, err := examples.ParseFaults("home=500")
	if err != nil {
		t.Fatal(err)
	}
	shop := examples.NewShop(examples.Options{Faults: faults})
	base := serveShop(t, shop, shop)
	held := make(chan struct{}, 1)
	var mu sync.Mutex
	var accepted []string
	desk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case held <- struct{}{}: // the first message: held until its agent dies
			<-r.Context().Done()
			return
		default:
		}
		mu.Lock()
		accepted = append(accepted, string(p.Event)+" "+p.Incident.Reference)
		mu.Unlock()
	}))
	defer desk.Close()
	dir := t.TempDir()
	jdir := journeyDir(t, map[string]string{"home.yaml": serveJourney("home", "2s", "Trailhead")})
	spec := agentSpec{name: "agent", dir: dir, env: map[string]string{"SHOP_URL": base},
		config: fmt.Sprintf("database: %q\njourneys: [%q]\nshutdown_timeout: 5s\nchannels:\n  desk: {type: webhook, url: %q, timeout: 20s}\nroutes:\n  - {to: [desk]}\n",
			filepath.Join(dir, "w.db"), jdir, desk.URL)}
	first := startAgent(t, spec)
	select {
	case <-held:
	case <-time.After(90 * time.Second):
		t.Fatalf("no message reached the desk\nstderr:\n%s", tail(first.stderr.String(), 40))
	}
	first.signal(t, syscall.SIGKILL)
	first.wait(t, 10*time.Second)

	startAgent(t, spec)
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(accepted)
	}
	// River rescues the dead agent's delivery once its timeout (30s) has
	// passed, on its rescuer's next round.
	waitFor(t, "the message delivered after the restart", 150*time.Second, func() bool { return len(got()) > 0 })
	// Nothing more may come while the site still fails.
	waitRuns(t, openStore(t, filepath.Join(dir, "w.db")), "home", 2, time.Now())
	if g := got(); !slices.Equal(g, []string{"opened WM-1"}) {
		t.Errorf("the desk accepted %v, want the opened message of WM-1 once", g)
	}
}

// waitRuns waits for n runs of the journey that started after after.
func waitRuns(t *testing.T, st *store.Store, journey string, n int, after time.Time) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d more runs of %s", n, journey), 60*time.Second, func() bool {
		rs, err := st.Runs(t.Context(), store.RunFilter{Journey: journey, Limit: n})
		if err != nil {
			t.Fatal(err)
		}
		return len(rs) == n && rs[n-1].StartedAt.After(after)
	})
}

// TestServeBrowserKilled kills the browser `waymark serve` drives while a
// run is loading the shop's home page, and keeps it down: the cut run
// and the ones after it are the monitor's errors, so no site incident
// opens and the site's owner hears nothing; after three of them a monitor
// incident goes to the operators' route only, and it resolves once the
// browser is back. On SQLite and PostgreSQL.
func TestServeBrowserKilled(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testServeBrowserKilled(t, filepath.Join(t.TempDir(), "w.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testServeBrowserKilled(t, storetest.PostgresURL(t))
	})
}

func testServeBrowserKilled(t *testing.T, db string) {
	_, base, inFlight := watchedShop(t, "home=slow:1500ms")
	remote := browsertest.Start(t, 0)
	owner, ops := &hookReceiver{}, &hookReceiver{}
	for _, h := range []*hookReceiver{owner, ops} {
		srv := httptest.NewServer(h)
		defer srv.Close()
		h.url = srv.URL
	}
	dir := t.TempDir()
	jdir := journeyDir(t, map[string]string{"home.yaml": serveJourney("home", "2s", "Trailhead")})
	cfg := filepath.Join(dir, "waymark.yaml")
	writeFile(t, cfg, fmt.Sprintf(`database: %q
journeys: [%s]
server: {listen: %s}
shutdown_timeout: 10s
browser: {url: %q, max_concurrent: 1}
channels:
  owner: {type: webhook, url: %q}
  ops: {type: webhook, url: %q}
routes:
  - {match: {kind: monitor}, to: [ops]}
  - {to: [owner]}
`, db, jdir, freeAddr(t), remote.HTTPURL(), owner.url, ops.url))
	env := map[string]string{"SHOP_URL": base}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := startServe(t, ctx, env, cfg)
	st := openStore(t, db)

	waitFor(t, "a passing run", 60*time.Second, func() bool {
		rs, _ := st.Runs(t.Context(), store.RunFilter{Journey: "home", Outcome: results.Passed})
		return len(rs) > 0
	})
	waitFor(t, "a run loading the home page", 30*time.Second, func() bool { return inFlight.Load() > 0 })
	killed := time.Now()
	remote.Kill()
	waitFor(t, "the monitor incident's message to ops", 90*time.Second, func() bool { return len(ops.events()) == 1 })
	if got := ops.events()[0]; !strings.HasPrefix(got, "monitor_down WM-") {
		t.Errorf("ops got %q, want monitor_down", got)
	}
	browsertest.Start(t, remote.Port)
	back := time.Now()
	waitFor(t, "the monitor incident's resolution", 90*time.Second, func() bool { return len(ops.events()) == 2 })
	cancel()
	if r := await(t, done, 60*time.Second); r.code != reports.ExitOK {
		t.Fatalf("exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}

	if got := owner.events(); len(got) != 0 {
		t.Errorf("the site's owner was told %v: a browser killed is the monitor's trouble", got)
	}
	list, err := st.Incidents(t.Context(), store.IncidentFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Kind != results.IncidentMonitor || list[0].State != results.IncidentResolved {
		t.Errorf("incidents %+v, want one monitor incident, resolved", list)
	}
	cut := false
	for _, r := range storedRuns(t, st) {
		switch {
		case r.Outcome == results.Failed:
			t.Errorf("run %s failed (%s: %s): a killed browser is never the site's failure", r.ID, r.Cause, r.Error)
		case r.StartedAt.Before(killed) && r.FinishedAt.After(killed):
			cut = true
			if r.Outcome != results.Error || r.Cause != results.CauseMonitor {
				t.Errorf("the run cut by the kill: %s (%s: %s), want an error of the monitor", r.Outcome, r.Cause, r.Error)
			}
		case r.StartedAt.After(killed) && r.FinishedAt.Before(back) && r.Outcome != results.Error:
			t.Errorf("run %s with the browser gone: %s, want error", r.ID, r.Outcome)
		}
	}
	if !cut {
		t.Error("no run was cut by the kill")
	}
}
