package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store/storetest"
	"github.com/waymarkhq/waymark/runner/browser/browsertest"
	"github.com/waymarkhq/waymark/runner/schedule"
)

// These tests prove `waymark serve` with real parts: agents as processes
// (built once, see agentBinary), real Chromium, the demo shop served by
// the test, SQLite or a PostgreSQL database of the test's own. Schedules
// are short (@every 2s…) and every wait is for a condition, with a
// deadline.

// watchedShop serves a demo shop with the given faults ("" for none) and
// counts the requests for its home page in flight, so a test can tell
// that a run is in the middle of loading it.
func watchedShop(t *testing.T, faults string) (shop *examples.Shop, url string, inFlight *atomic.Int64) {
	t.Helper()
	f, err := examples.ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	shop = examples.NewShop(examples.Options{Faults: f})
	inFlight = &atomic.Int64{}
	url = serveShop(t, shop, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			inFlight.Add(1)
			defer inFlight.Add(-1)
		}
		shop.ServeHTTP(w, r)
	}))
	return shop, url, inFlight
}

// okOrDegraded says whether a run checked a healthy shop as it should;
// degraded counts, as a loaded machine may cross a warn threshold.
func okOrDegraded(o results.Outcome) bool { return o == results.Passed || o == results.Degraded }

// killMidRun waits until the agent victim names (one of agents, by ID)
// holds a running job of journey whose page load is in flight (inFlight
// counts that journey's shop's), then SIGKILLs it and returns it and the
// job it was running. within bounds how long ago the job was fetched (up
// to half a second before its slot, which its worker waits for), so that
// the job found is the one whose page is loading when the agent dies.
func killMidRun(t *testing.T, d *db, agents map[string]*agent, victim func() string, journey string, inFlight *atomic.Int64, within time.Duration) (*agent, runJob) {
	t.Helper()
	var cut runJob
	var who *agent
	waitFor(t, "an agent in the middle of a run of "+journey, 60*time.Second, func() bool {
		if inFlight.Load() == 0 {
			return false
		}
		id := victim()
		for _, j := range d.jobs(t, rivertype.JobStateRunning) {
			if j.Journey == journey && j.Agent == id && time.Since(j.AttemptedAt) < within && inFlight.Load() > 0 {
				cut, who = j, agents[id]
				return who != nil
			}
		}
		return false
	})
	who.signal(t, syscall.SIGKILL)
	who.wait(t, 10*time.Second)
	t.Logf("killed %s (%s) in the middle of %s's slot %s", who.name, who.id, journey, cut.Slot.Format(time.TimeOnly))
	return who, cut
}

// waitAborted waits for the cut run of slow's slot to be recorded aborted:
// River rescues a dead agent's job once it has run longer than its
// deadline, on its rescuer's rounds (every 30s).
func waitAborted(t *testing.T, d *db, cut runJob, what string) {
	t.Helper()
	waitFor(t, what, 120*time.Second, func() bool {
		for _, r := range runsOf(d.runs(t), "slow") {
			if r.Slot.Equal(cut.Slot) && r.Outcome == results.Aborted {
				return true
			}
		}
		return false
	})
}

// waitRunSlotsAfter waits until both quick and slow have run a slot due
// after after.
func waitRunSlotsAfter(t *testing.T, d *db, after time.Time, what string) {
	t.Helper()
	waitFor(t, what, 60*time.Second, func() bool {
		rs := d.runs(t)
		for _, name := range []string{"quick", "slow"} {
			if r := runsOf(rs, name); len(r) == 0 || !r[0].Slot.After(after) {
				return false
			}
		}
		return true
	})
}

// heldBy lists the slots (journey@slot) of the run jobs agent id holds.
func heldBy(t *testing.T, d *db, id string) map[string]bool {
	t.Helper()
	held := map[string]bool{}
	for _, j := range d.jobs(t, rivertype.JobStateRunning) {
		if j.Agent == id {
			held[j.Journey+"@"+j.Slot.Format(time.RFC3339)] = true
		}
	}
	return held
}

// checkOutcomes proves that every run passed (or was degraded, or was
// retried at once), but for the runs of the slots held, cut by a kill,
// which are aborted saying that their agent stopped.
func checkOutcomes(t *testing.T, runs []results.Run, held map[string]bool) {
	t.Helper()
	for _, r := range runs {
		key := r.Journey + "@" + r.Slot.Format(time.RFC3339)
		switch {
		case r.Retried || okOrDegraded(r.Outcome):
		case r.Outcome == results.Aborted && held[key]:
			if !strings.Contains(r.Error, "stopped before its run finished") {
				t.Errorf("the aborted run %s of %s says %q, not that its agent stopped", r.ID, key, r.Error)
			}
		default:
			t.Errorf("run %s of %s in %s: %s (%s: %s)", r.ID, key, r.Location, r.Outcome, r.Cause, r.Error)
		}
	}
}

// checkGaps proves that journey kept running after a moment: from its
// last run before after, no two of its runs (by slot) are further apart
// than most.
func checkGaps(t *testing.T, runs []results.Run, journey string, after time.Time, most time.Duration) {
	t.Helper()
	var slots []time.Time
	for _, r := range runs {
		if r.Journey == journey && !r.Retried {
			slots = append(slots, r.Slot)
		}
	}
	slices.SortFunc(slots, time.Time.Compare)
	for i := 1; i < len(slots); i++ {
		if slots[i].Before(after) {
			continue
		}
		if gap := slots[i].Sub(slots[i-1]); gap > most {
			t.Errorf("%s did not run from %s to %s (%s, more than %s)", journey, slots[i-1].Format(time.TimeOnly), slots[i].Format(time.TimeOnly), gap, most)
		}
	}
}

// TestServeTwoAgents runs two agents of one location on one PostgreSQL
// database, then SIGKILLs the leader in the middle of a run: every slot
// of both journeys, over the whole test, runs exactly once (no slot
// twice, none missing beyond the counted misses), both agents share the
// work, the cut run ends aborted once River rescues its job, and the
// survivor becomes the leader and dispatches on.
func TestServeTwoAgents(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresURL(t)
	quickShop := examples.NewShop(examples.Options{})
	quickURL := serveShop(t, quickShop, quickShop)
	_, slowURL, slowInFlight := watchedShop(t, "home=slow:1s")
	jdir := journeyDir(t, map[string]string{
		"quick.yaml": scheduledJourney("quick", "SHOP_URL", "3s", "4s"),
		"slow.yaml":  scheduledJourney("slow", "SLOW_SHOP_URL", "5s", "4s"),
	})
	cfg := fmt.Sprintf("database: %q\njourneys: [%q]\nlocation: eu-west\nshutdown_timeout: 5s\nbrowser: {max_concurrent: 2}\n", dsn, jdir)
	env := map[string]string{"SHOP_URL": quickURL, "SLOW_SHOP_URL": slowURL}
	a1 := startAgent(t, agentSpec{name: "agent 1", config: cfg, env: env})
	a2 := startAgent(t, agentSpec{name: "agent 2", config: cfg, env: env})
	agents := map[string]*agent{a1.id: a1, a2.id: a2}
	d := openDB(t, dsn)

	// Both agents work the location's runs.
	worked := func() map[string]int {
		n := map[string]int{}
		for _, j := range d.jobs(t, rivertype.JobStateCompleted) {
			n[j.Agent]++
		}
		return n
	}
	waitFor(t, "both agents to complete runs", 90*time.Second, func() bool {
		n := worked()
		return n[a1.id] >= 3 && n[a2.id] >= 3 && len(runsOf(d.runs(t), "quick")) >= 10
	})

	// Kill the leader in the middle of a run.
	victim, cut := killMidRun(t, d, agents, func() string { return d.leader(t) }, "slow", slowInFlight, 2*time.Second)
	killed := time.Now()
	survivor := a1
	if victim == a1 {
		survivor = a2
	}
	held := heldBy(t, d, victim.id)

	// The survivor takes the lead, and dispatches slots the dead leader
	// never saw.
	var tookOver time.Time
	waitFor(t, "the survivor to become the leader", 60*time.Second, func() bool {
		tookOver = time.Now()
		return d.leader(t) == survivor.id
	})
	t.Logf("the survivor led %s after the kill", tookOver.Sub(killed).Round(time.Second))
	waitAborted(t, d, cut, "the cut run to be recorded aborted")
	t.Logf("the cut run was recorded aborted %s after the kill", time.Since(killed).Round(time.Second))
	waitRunSlotsAfter(t, d, tookOver.Add(4*time.Second), "both journeys to run slots dispatched by the new leader")
	survivor.signal(t, syscall.SIGTERM)
	if code := survivor.wait(t, 30*time.Second); code != 0 {
		t.Errorf("the survivor exited %d after SIGTERM, want 0", code)
	}

	runs, misses := d.runs(t), d.misses(t)
	for _, c := range []struct {
		slotCheck
		least int // slots that must have run: 50s and more at least
	}{{slotCheck{"quick", "eu-west", "@every 3s"}, 12}, {slotCheck{"slow", "eu-west", "@every 5s"}, 6}} {
		ran, missed := checkSlots(t, c.slotCheck, runs, misses)
		t.Logf("%s: %d slots ran, %d missed (counted)", c.journey, ran, missed)
		if ran < c.least {
			t.Errorf("%s: only %d slots ran, want %d at least", c.journey, ran, c.least)
		}
	}
	checkOutcomes(t, runs, held)
	// The survivor kept both journeys running: the dead leader's slots
	// are dispatched again once the survivor leads, and the job the dead
	// agent still holds keeps its journey's slots from running only until
	// its heartbeat is known lost, well before River rescues the job.
	for _, name := range []string{"quick", "slow"} {
		checkGaps(t, runs, name, killed, schedule.AgentLostAfter+schedule.HeartbeatEvery+10*time.Second)
	}
	if n := worked(); n[survivor.id] == 0 || n[victim.id] == 0 {
		t.Errorf("completed jobs by agent: %v; want both agents to have worked", n)
	}
}

// TestServeTwoLocations runs an agent in eu-west and one in us-east on one
// PostgreSQL database: a journey without locations runs each slot once
// in each location, by that location's agent, and each run records its
// location; a journey with `locations: [us-east]` runs there only. Each
// agent's /metrics counts its own location's runs.
func TestServeTwoLocations(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresURL(t)
	shop := examples.NewShop(examples.Options{})
	url := serveShop(t, shop, shop)
	jdir := journeyDir(t, map[string]string{
		"everywhere.yaml": scheduledJourney("everywhere", "SHOP_URL", "3s", "4s"),
		"us-only.yaml":    scheduledJourney("us-only", "SHOP_URL", "4s", "4s") + "locations: [us-east]\n",
	})
	env := map[string]string{"SHOP_URL": url}
	agents := map[string]*agent{}
	for _, loc := range []string{"eu-west", "us-east"} {
		a := startAgent(t, agentSpec{name: "agent in " + loc, env: env,
			config: fmt.Sprintf("database: %q\njourneys: [%q]\nlocation: %s\nshutdown_timeout: 5s\nbrowser: {max_concurrent: 2}\n", dsn, jdir, loc)})
		agents[loc] = a
	}
	d := openDB(t, dsn)
	waitFor(t, "five runs of each journey in each of its locations", 90*time.Second, func() bool {
		n := map[string]int{}
		for _, r := range d.runs(t) {
			n[r.Journey+"/"+r.Location]++
		}
		return n["everywhere/eu-west"] >= 5 && n["everywhere/us-east"] >= 5 && n["us-only/us-east"] >= 5
	})
	for loc, a := range agents {
		code, body := a.get(t, "/metrics")
		if code != http.StatusOK {
			t.Fatalf("%s /metrics: %d %s", a.name, code, body)
		}
		own := regexp.MustCompile(`(?m)^waymark_runs_total\{journey="everywhere",location="` + loc + `",outcome="(passed|degraded)"\} ([1-9][0-9]*)$`)
		if !own.MatchString(body) {
			t.Errorf("%s /metrics counts no run of everywhere in %s:\n%s", a.name, loc, grepLines(body, "waymark_runs_total"))
		}
		// Runs are counted by the agent that ran them; slots are dropped
		// and counted by the leader for every location, and every agent
		// sees every queue.
		for other := range agents {
			if other != loc && strings.Contains(grepLines(body, "waymark_runs_total{"), `location="`+other+`"`) {
				t.Errorf("%s /metrics counts runs in %s:\n%s", a.name, other, grepLines(body, "waymark_runs_total{"))
			}
		}
	}
	for _, a := range agents {
		a.signal(t, syscall.SIGTERM)
	}
	for _, a := range agents {
		if code := a.wait(t, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM, want 0", a.name, code)
		}
	}

	runs, misses := d.runs(t), d.misses(t)
	first := map[string]time.Time{} // location → its first slot of everywhere
	last := map[string]time.Time{}
	for _, c := range []slotCheck{{"everywhere", "eu-west", "@every 3s"}, {"everywhere", "us-east", "@every 3s"}, {"us-only", "us-east", "@every 4s"}} {
		ran, missed := checkSlots(t, c, runs, misses)
		t.Logf("%s in %s: %d slots ran, %d missed (counted)", c.journey, c.location, ran, missed)
	}
	for _, r := range runs {
		if !okOrDegraded(r.Outcome) && !r.Retried {
			t.Errorf("run %s of %s in %s: %s (%s)", r.ID, r.Journey, r.Location, r.Outcome, r.Error)
		}
		if r.Journey == "us-only" && r.Location != "us-east" {
			t.Errorf("us-only ran in %s", r.Location)
		}
		if r.Journey == "everywhere" {
			if f, ok := first[r.Location]; !ok || r.Slot.Before(f) {
				first[r.Location] = r.Slot
			}
			if r.Slot.After(last[r.Location]) {
				last[r.Location] = r.Slot
			}
		}
	}
	// Each slot ran once per location: with every slot of each location's
	// span accounted for (checkSlots), the spans must overlap.
	from, to := first["eu-west"], last["eu-west"]
	if f := first["us-east"]; f.After(from) {
		from = f
	}
	if l := last["us-east"]; l.Before(to) {
		to = l
	}
	if to.Sub(from) < 8*time.Second {
		t.Errorf("the locations ran everywhere together only from %s to %s", from.Format(time.TimeOnly), to.Format(time.TimeOnly))
	}
	// Each location's jobs were worked by its own agent, and the runs say
	// where they ran.
	for _, j := range d.jobs(t) {
		a := agents[j.Location]
		if a == nil {
			t.Errorf("a job of %s for a location no agent serves: %s", j.Journey, j.Location)
			continue
		}
		if j.State == rivertype.JobStateCompleted && j.Agent != a.id {
			t.Errorf("%s's job of %s in %s was worked by %s, not by %s", j.Journey, j.Slot.Format(time.TimeOnly), j.Location, j.Agent, a.id)
		}
	}
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeSQLiteKill SIGKILLs a SQLite `waymark serve` in the middle of
// a run and starts it again: the database passes PRAGMA integrity_check,
// every run it had kept is still there, the cut run is recorded aborted
// by the restarted agent (River rescues its job), scheduling goes on, and
// once the restarted agent stops no browser or profile of either is left.
func TestServeSQLiteKill(t *testing.T) {
	t.Parallel()
	quickShop := examples.NewShop(examples.Options{})
	quickURL := serveShop(t, quickShop, quickShop)
	_, slowURL, slowInFlight := watchedShop(t, "home=slow:1s")
	jdir := journeyDir(t, map[string]string{
		"quick.yaml": scheduledJourney("quick", "SHOP_URL", "3s", "4s"),
		"slow.yaml":  scheduledJourney("slow", "SLOW_SHOP_URL", "5s", "4s"),
	})
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "w.db")
	spec := agentSpec{name: "agent", dir: dir, env: map[string]string{"SHOP_URL": quickURL, "SLOW_SHOP_URL": slowURL},
		config: fmt.Sprintf("database: %q\njourneys: [%q]\nshutdown_timeout: 5s\nbrowser: {max_concurrent: 2}\n", dbPath, jdir)}
	a := startAgent(t, spec)
	d := openDB(t, dbPath)
	waitFor(t, "runs of both journeys", 60*time.Second, func() bool {
		rs := d.runs(t)
		return len(runsOf(rs, "quick")) >= 3 && len(runsOf(rs, "slow")) >= 2
	})
	_, cut := killMidRun(t, d, map[string]*agent{a.id: a}, func() string { return a.id }, "slow", slowInFlight, 2*time.Second)
	held := heldBy(t, d, a.id)

	kept := map[string]results.Outcome{}
	for _, r := range d.runs(t) {
		kept[r.ID] = r.Outcome
	}
	raw, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check after SIGKILL: %q, %v", check, err)
	}
	raw.Close()

	restarted := time.Now()
	spec.name = "restarted agent"
	b := startAgent(t, spec)
	waitAborted(t, d, cut, "the cut run to be recorded aborted after the restart")
	t.Logf("the cut run was recorded aborted %s after the restart", time.Since(restarted).Round(time.Second))
	waitRunSlotsAfter(t, d, restarted.Add(2*time.Second), "both journeys to run again")
	b.signal(t, syscall.SIGTERM)
	if code := b.wait(t, 30*time.Second); code != 0 {
		t.Errorf("the restarted agent exited %d after SIGTERM, want 0", code)
	}

	runs, misses := d.runs(t), d.misses(t)
	now := map[string]results.Run{}
	for _, r := range runs {
		now[r.ID] = r
	}
	for id, o := range kept {
		if r, ok := now[id]; !ok || r.Outcome != o {
			t.Errorf("run %s (%s) kept before the kill is now %+v", id, o, r)
		}
	}
	for _, c := range []slotCheck{{"quick", "local", "@every 3s"}, {"slow", "local", "@every 5s"}} {
		ran, missed := checkSlots(t, c, runs, misses)
		t.Logf("%s: %d slots ran, %d missed (counted)", c.journey, ran, missed)
	}
	checkOutcomes(t, runs, held)
	for _, name := range []string{"quick", "slow"} {
		checkGaps(t, runs, name, restarted, schedule.AgentLostAfter+schedule.HeartbeatEvery+10*time.Second)
	}
	if pids := browsersUnder(dir); len(pids) > 0 {
		t.Errorf("browsers left behind: %v", pids)
	}
}

// TestServeRemoteBrowser serves through a remote browser, a Chromium the
// test starts with a DevTools port, named by its http:// URL: runs pass
// through it with no browser of the agent's own; killed, it gives error
// runs (the monitor's, naming the browser), never failed ones, and
// /healthz says so; started again on the same port, it is found again
// (the URL is resolved anew) and runs pass.
func TestServeRemoteBrowser(t *testing.T) {
	t.Parallel()
	shop := examples.NewShop(examples.Options{})
	url := serveShop(t, shop, shop)
	remote := browsertest.Start(t, 0)
	port := remote.Port
	jdir := journeyDir(t, map[string]string{"home.yaml": scheduledJourney("home", "SHOP_URL", "2s", "4s")})
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "w.db")
	a := startAgent(t, agentSpec{name: "agent", dir: dir, env: map[string]string{"SHOP_URL": url},
		config: fmt.Sprintf("database: %q\njourneys: [%q]\nshutdown_timeout: 5s\nbrowser: {url: %q, max_concurrent: 2}\n", dbPath, jdir, remote.HTTPURL())})
	d := openDB(t, dbPath)
	since := func(at time.Time, ok func(results.Run) bool) int {
		n := 0
		for _, r := range d.runs(t) {
			if r.StartedAt.After(at) && ok(r) {
				n++
			}
		}
		return n
	}
	passedRun := func(r results.Run) bool { return okOrDegraded(r.Outcome) }
	waitFor(t, "two runs through the remote browser", 60*time.Second, func() bool { return since(time.Time{}, passedRun) >= 2 })
	if pids := browsersUnder(dir); len(pids) > 0 {
		t.Errorf("the agent started browsers of its own: %v", pids)
	}

	killed := time.Now()
	remote.Kill()
	waitFor(t, "two error runs with the browser gone", 60*time.Second, func() bool {
		return since(killed, func(r results.Run) bool { return r.Outcome == results.Error }) >= 2
	})
	waitFor(t, "/healthz to say the browser is down", 30*time.Second, func() bool {
		code, _ := a.get(t, "/healthz")
		return code == http.StatusServiceUnavailable
	})
	back := browsertest.Start(t, port)
	restarted := time.Now()
	waitFor(t, "a run through the browser started again", 60*time.Second, func() bool { return since(restarted, passedRun) >= 1 })
	waitFor(t, "/healthz to say all is well again", 30*time.Second, func() bool {
		code, _ := a.get(t, "/healthz")
		return code == http.StatusOK
	})
	if pages, err := back.Pages(t.Context()); err != nil {
		t.Errorf("list the new browser's tabs: %v", err)
	} else {
		t.Logf("the new browser has %d tabs", len(pages))
	}
	a.signal(t, syscall.SIGTERM)
	if code := a.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}

	where := fmt.Sprintf("127.0.0.1:%d", port)
	for _, r := range d.runs(t) {
		switch {
		case r.Outcome == results.Failed:
			t.Errorf("run %s failed (%s: %s): a browser gone is the monitor's error, never the site's", r.ID, r.Cause, r.Error)
		case r.FinishedAt.Before(killed), r.StartedAt.After(restarted):
			// The browser was there: the run passed, or its retry did.
			if !okOrDegraded(r.Outcome) && !r.Retried {
				t.Errorf("run %s with the browser up: %s (%s)", r.ID, r.Outcome, r.Error)
			}
		case r.StartedAt.After(killed) && r.FinishedAt.Before(restarted):
			if r.Outcome != results.Error || r.Cause != results.CauseMonitor || !strings.Contains(r.Error, where) {
				t.Errorf("run %s with the browser gone: %s (%s: %s), want an error of the monitor naming %s", r.ID, r.Outcome, r.Cause, r.Error, where)
			}
		}
	}
	if pids := browsersUnder(dir); len(pids) > 0 {
		t.Errorf("the agent left browsers of its own: %v", pids)
	}
}

// TestServeShutdown sends SIGTERM while a run hangs on a page that never
// answers: the agent waits shutdown_timeout for it, cuts it, records it
// aborted (its job completed, so no later start records it again), and
// exits 0 soon after, leaving no browser process or profile behind.
func TestServeShutdown(t *testing.T) {
	t.Parallel()
	_, url, inFlight := watchedShop(t, "home=hang")
	jdir := journeyDir(t, map[string]string{"hang.yaml": scheduledJourney("hang", "SHOP_URL", "2s", "60s")})
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "w.db")
	const shutdownTimeout = 2 * time.Second
	a := startAgent(t, agentSpec{name: "agent", dir: dir, env: map[string]string{"SHOP_URL": url},
		config: fmt.Sprintf("database: %q\njourneys: [%q]\nshutdown_timeout: %s\nbrowser: {max_concurrent: 2}\n", dbPath, jdir, shutdownTimeout)})
	d := openDB(t, dbPath)
	var hanging runJob
	waitFor(t, "a run to hang", 60*time.Second, func() bool {
		if inFlight.Load() == 0 {
			return false
		}
		jobs := d.jobs(t, rivertype.JobStateRunning)
		if len(jobs) == 1 {
			hanging = jobs[0]
		}
		return len(jobs) == 1
	})
	if len(browsersUnder(dir)) == 0 {
		t.Fatal("no browser of the agent's found while it runs: the check for leftovers below would prove nothing")
	}
	a.signal(t, syscall.SIGTERM)
	termed := time.Now()
	code := a.wait(t, shutdownTimeout+30*time.Second)
	took := time.Since(termed)
	t.Logf("exited %d %s after SIGTERM", code, took.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	if took < shutdownTimeout || took > shutdownTimeout+5*time.Second {
		t.Errorf("exited %s after SIGTERM, want within shutdown_timeout (%s) and a little", took.Round(time.Millisecond), shutdownTimeout)
	}
	if pids := browsersUnder(dir); len(pids) > 0 {
		t.Errorf("browser processes left behind: %v", pids)
	}
	if p := profilesUnder(t, dir); len(p) > 0 {
		t.Errorf("browser profiles left behind: %v", p)
	}

	var cut []results.Run
	for _, r := range d.runs(t) {
		if r.Slot.Equal(hanging.Slot) {
			cut = append(cut, r)
		}
	}
	if len(cut) != 1 || cut[0].Outcome != results.Aborted {
		t.Fatalf("runs of the hanging slot %s: %+v, want one, aborted", hanging.Slot.Format(time.TimeOnly), cut)
	}
	for _, j := range d.jobs(t) {
		if j.Slot.Equal(hanging.Slot) && j.State != rivertype.JobStateCompleted {
			t.Errorf("the job of the slot cut at shutdown is %s, want completed (a later start would record it aborted again)", j.State)
		}
	}
	if !strings.Contains(a.stderr.String(), "msg=stopped") {
		t.Errorf("the agent did not log that it stopped:\n%s", tail(a.stderr.String(), 10))
	}
}

// TestServeBadStart refuses to serve with what cannot work, each with one
// line on stderr saying what and where, and exit 2, leaving no agent
// running and nothing created: a postgres:// URL where nothing listens, a
// wrong password, and an invalid browser.url (named by waymark.yaml:LINE).
func TestServeBadStart(t *testing.T) {
	t.Parallel()
	closed := freeAddr(t) // nothing listens there any more
	jdir := journeyDir(t, map[string]string{"home.yaml": scheduledJourney("home", "SHOP_URL", "1m", "5s")})
	for _, tc := range []struct {
		name string
		// config is the agent's waymark.yaml, but for journeys, and what
		// to check afterwards that nothing was created (nil: nothing).
		config func(t *testing.T) (config string, check func(t *testing.T))
		want   []string // in the one line
		never  string   // nowhere in stderr
	}{
		{"unreachable database", func(t *testing.T) (string, func(*testing.T)) {
			return fmt.Sprintf("database: postgres://waymark@%s/waymark?sslmode=disable\n", closed), nil
		}, []string{"nothing accepts connections at " + closed, "postgres://waymark@" + closed + "/waymark"}, ""},
		{"wrong password", func(t *testing.T) (string, func(*testing.T)) {
			srv := storetest.Postgres(t)
			name := srv.NewDatabase(t)
			admin := srv.Admin(t)
			role := name + "_agent"
			if _, err := admin.ExecContext(t.Context(), `CREATE ROLE `+role+` LOGIN PASSWORD 'the-right-one'`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if _, err := admin.ExecContext(context.Background(), `DROP ROLE IF EXISTS `+role); err != nil {
					t.Errorf("drop role %s: %v", role, err)
				}
			})
			return fmt.Sprintf("database: %q\n", srv.URL(name, role, "a-wrong-one")), func(t *testing.T) {
				// Nothing was created in the database.
				db, err := sql.Open("pgx", srv.URL(name, srv.User, srv.Password))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var n int
				if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&n); err != nil || n != 0 {
					t.Errorf("%d tables in the database after a refused start (%v), want none", n, err)
				}
			}
		}, []string{`password authentication failed for user "wm_`, "check the password"}, "a-wrong-one"},
		{"invalid browser.url", func(t *testing.T) (string, func(*testing.T)) {
			dbPath := filepath.Join(t.TempDir(), "w.db")
			return fmt.Sprintf("database: %q\n# a remote browser\nbrowser:\n  url: chrome:9222\n", dbPath), func(t *testing.T) {
				if _, err := os.Stat(dbPath); err == nil {
					t.Errorf("the database %s was created by a refused start", dbPath)
				}
			}
		}, []string{"waymark.yaml:4:8: browser.url: want a DevTools URL", `got "chrome:9222"`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			config, check := tc.config(t)
			a := launchAgent(t, agentSpec{name: "agent", env: map[string]string{"SHOP_URL": "http://127.0.0.1:9"},
				config: config + fmt.Sprintf("journeys: [%q]\n", jdir)})
			code := a.wait(t, 60*time.Second)
			stderr := a.stderr.String()
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "waymark: ") {
				t.Errorf("stderr has %d lines, want one saying what is wrong:\n%s", len(lines), stderr)
			}
			t.Logf("stderr: %s", lines[0])
			for _, w := range tc.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if tc.never != "" && strings.Contains(stderr, tc.never) {
				t.Errorf("stderr shows %q:\n%s", tc.never, stderr)
			}
			if a.stdout.String() != "" {
				t.Errorf("stdout: %q, want nothing", a.stdout)
			}
			if pids := browsersUnder(a.dir); len(pids) > 0 {
				t.Errorf("browsers left behind: %v", pids)
			}
			if code, _ := a.get(t, "/healthz"); code != 0 {
				t.Errorf("something answers on the agent's address after it refused to start: %d", code)
			}
			if check != nil {
				check(t)
			}
		})
	}
}
