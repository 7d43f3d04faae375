package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/runner/schedule"
)

// The tests of this file's kind run `waymark serve` as real processes, so
// that SIGKILL and SIGTERM are real, and talk to them only as an operator
// would: through their database, their output, /healthz and /metrics.

// binDir holds the waymark binary those tests run (see agentBinary).
// TestMain creates it before any test and removes it after the last; it
// does not change in between.
var binDir string

// agentBinary builds the waymark binary once, on first use, as `make
// build` does (static, CGO_ENABLED=0, -trimpath, so a `make build` before
// leaves the build cached): the agents are the binary that ships. Not with
// -race: an idle agent built with it takes a quarter of a core (0.7s of CPU
// in 20s without), and the tests run up to three at once beside Chromium.
var agentBinary = sync.OnceValues(func() (string, error) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the agent tests build waymark with the go command: %w", err)
	}
	path := filepath.Join(binDir, "waymark")
	cmd := exec.Command(gocmd, "build", "-trimpath", "-o", path, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return path, nil
})

// TestMain makes binDir for the agents' binary, and removes it after the
// tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waymark-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// agent is one `waymark serve` process a test started.
type agent struct {
	name string // for the test's messages
	// dir is its working directory, its TMPDIR (so its browser profiles
	// are there) and where its waymark.yaml is.
	dir  string
	addr string // its /healthz and /metrics
	id   string // its agent ID, River's client ID, as it logged it

	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{} // closed once it has exited and been reaped
	code           int           // its exit code, once exited
}

// agentSpec is what a test starts an agent with.
type agentSpec struct {
	name   string
	config string            // waymark.yaml, without server.listen (the agent gets a free address)
	env    map[string]string // on top of this process's environment, WAYMARK_* left out
	dir    string            // "": a new temporary directory
}

// startAgent starts `waymark serve` and waits until it says it serves.
// The agent, and every browser it started, is killed when the test ends.
func startAgent(t *testing.T, spec agentSpec) *agent {
	t.Helper()
	a := launchAgent(t, spec)
	// It logs its ID, then says it serves; the two pipes are read apart.
	serving := regexp.MustCompile(`msg=serving agent=(\S+)`)
	waitFor(t, spec.name+" to serve", 60*time.Second, func() bool {
		if a.hasExited() {
			t.Fatalf("%s exited %d before serving\nstderr:\n%s", a.name, a.code, a.stderr)
		}
		m := serving.FindStringSubmatch(a.stderr.String())
		if m != nil {
			a.id = m[1]
		}
		return m != nil && strings.Contains(a.stdout.String(), "waymark serve:")
	})
	return a
}

// launchAgent starts `waymark serve` and returns at once.
func launchAgent(t *testing.T, spec agentSpec) *agent {
	t.Helper()
	bin, err := agentBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := spec.dir
	if dir == "" {
		dir = t.TempDir()
	}
	a := &agent{name: spec.name, dir: dir, addr: freeAddr(t), stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cfg := filepath.Join(dir, "waymark.yaml")
	writeFile(t, cfg, spec.config+fmt.Sprintf("server: {listen: %q}\n", a.addr))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAYMARK_") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	env = append(env, "TMPDIR="+dir)
	for k, v := range spec.env {
		env = append(env, k+"="+v)
	}
	a.cmd = exec.Command(bin, "--config", cfg, "serve")
	a.cmd.Dir, a.cmd.Env = dir, env
	a.cmd.Stdout, a.cmd.Stderr = a.stdout, a.stderr
	// A process group of its own, so the end of the test reaches the
	// browsers it started even after it was killed.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", spec.name, err)
	}
	go func() {
		err := a.cmd.Wait()
		a.code = a.cmd.ProcessState.ExitCode()
		if err != nil && a.code == 0 {
			a.code = -1
		}
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.exited
		killGroup(a.cmd.Process.Pid)
		killBrowsersUnder(dir)
		// Its log tells what it did; WAYMARK_TEST_AGENT_LOGS=1 shows it
		// for a test that passed too.
		if t.Failed() || os.Getenv("WAYMARK_TEST_AGENT_LOGS") != "" {
			t.Logf("%s (%s) stderr:\n%s", a.name, a.id, tail(a.stderr.String(), 400))
		}
	})
	return a
}

// hasExited reports whether the agent has exited (its code is then set).
func (a *agent) hasExited() bool {
	select {
	case <-a.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the agent alone (not to its browsers).
func (a *agent) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := a.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", a.name, err)
	}
}

// wait waits at most limit for the agent to exit and returns its code.
func (a *agent) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-a.exited:
		return a.code
	case <-time.After(limit):
		t.Fatalf("%s did not exit within %s\nstderr:\n%s", a.name, limit, tail(a.stderr.String(), 40))
		return 0
	}
}

// get asks the agent's listener for path and returns the status and body.
func (a *agent) get(t *testing.T, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// killGroup kills what is left of process group pgid.
func killGroup(pgid int) {
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, syscall.SIGKILL) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polls for the group's end, with the deadline above
	}
}

// browsersUnder lists the Chromium processes whose profile lies under dir:
// those of an agent whose TMPDIR is dir, wherever they were reparented.
// Chromium passes --user-data-dir to every process it starts.
func browsersUnder(dir string) []int {
	want := []byte("--user-data-dir=" + dir + string(filepath.Separator))
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		cmdline, err := os.ReadFile(p + "/cmdline")
		if err != nil {
			continue // gone meanwhile
		}
		for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.HasPrefix(arg, want) {
				pid, _ := strconv.Atoi(filepath.Base(p))
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// killBrowsersUnder kills the browsers of browsersUnder(dir) until none is
// left (a dying browser's children may still fork), for a few seconds.
func killBrowsersUnder(dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for pids := browsersUnder(dir); len(pids) > 0 && time.Now().Before(deadline); pids = browsersUnder(dir) {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond) // lets them die before looking again
	}
}

// profilesUnder lists the temporary browser profiles left in dir.
func profilesUnder(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "chromedp-runner*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scheduledJourney is a journey against ${env:<siteVar>} every every,
// with the whole-run timeout given: a home page and its title.
func scheduledJourney(name, siteVar, every, timeout string) string {
	return fmt.Sprintf(`name: %s
site: ${env:%s}
schedule: "@every %s"
timeout: %s
steps:
  - goto: /
  - assert: {title: {contains: "Trailhead"}}
`, name, siteVar, every, timeout)
}

// journeyDir writes the journeys (file name → content) into a new folder.
func journeyDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "journeys")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	return dir
}

// db is the database the agents of a test share, as the test reads it.
type db struct {
	st    *store.Store
	river *river.Client[*sql.Tx] // insert-only: lists River's jobs
}

// openDB opens the agents' database for reading, once they have created it.
func openDB(t *testing.T, dsn string) *db {
	t.Helper()
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open the agents' database: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	rc, err := river.NewClient(st.RiverDriver(), &river.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return &db{st: st, river: rc}
}

// runs lists every stored run, newest first.
func (d *db) runs(t *testing.T) []results.Run {
	t.Helper()
	rs, err := d.st.Runs(t.Context(), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// miss is a row of slot_misses.
type miss struct {
	Journey  string `db:"journey"`
	Location string `db:"location"`
	Slot     int64  `db:"slot"`
	Reason   string `db:"reason"`
}

// misses lists the missed slots.
func (d *db) misses(t *testing.T) []miss {
	t.Helper()
	rows, err := d.st.DB().QueryContext(t.Context(), `SELECT journey, location, slot, reason FROM slot_misses`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []miss
	for rows.Next() {
		var m miss
		if err := rows.Scan(&m.Journey, &m.Location, &m.Slot, &m.Reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// runJob is a run_journey job as River keeps it.
type runJob struct {
	Journey, Location string
	Slot              time.Time
	State             rivertype.JobState
	Agent             string // the agent of its last attempt, "" before any
	Attempt           int
	AttemptedAt       time.Time
}

// jobs lists the run jobs in the given states (none: all).
func (d *db) jobs(t *testing.T, states ...rivertype.JobState) []runJob {
	t.Helper()
	p := river.NewJobListParams().Kinds("run_journey").First(10000)
	if len(states) > 0 {
		p = p.States(states...)
	}
	res, err := d.river.JobList(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []runJob
	for _, j := range res.Jobs {
		var a struct {
			Journey  string    `json:"journey"`
			Location string    `json:"location"`
			Slot     time.Time `json:"slot"`
		}
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		rj := runJob{Journey: a.Journey, Location: a.Location, Slot: a.Slot, State: j.State, Attempt: j.Attempt}
		if n := len(j.AttemptedBy); n > 0 {
			rj.Agent = j.AttemptedBy[n-1]
		}
		if j.AttemptedAt != nil {
			rj.AttemptedAt = *j.AttemptedAt
		}
		out = append(out, rj)
	}
	return out
}

// leader is the agent River's leader election chose, "" when none holds
// the lease.
func (d *db) leader(t *testing.T) string {
	t.Helper()
	var id string
	err := d.st.DB().QueryRowContext(t.Context(), `SELECT leader_id FROM river_leader`).Scan(&id)
	if err == sql.ErrNoRows {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// slotCheck is the schedule of one journey in one location, to check.
type slotCheck struct {
	journey, location, schedule string
}

// checkSlots proves that every slot of c's journey in c's location, from
// the first that ran to the last that ran, ran exactly once or was
// counted as missed (skipped or dropped), never both: no slot twice, none
// missing beyond the counted misses. A run counts once with the attempt
// it retried at once after a monitor error. It returns how many slots ran
// and how many were missed.
func checkSlots(t *testing.T, c slotCheck, runs []results.Run, misses []miss) (ran, missed int) {
	t.Helper()
	spec, err := schedule.Parse(c.journey, c.schedule)
	if err != nil {
		t.Fatal(err)
	}
	final := map[int64][]string{}   // slot → the IDs of its final runs
	retried := map[int64][]string{} // slot → the IDs of its retried attempts
	for _, r := range runs {
		if r.Journey != c.journey || r.Location != c.location {
			continue
		}
		if r.Slot.IsZero() || r.Trigger != results.TriggerSchedule {
			t.Errorf("%s in %s: run %s has slot %v and trigger %s, want a scheduled slot", c.journey, c.location, r.ID, r.Slot, r.Trigger)
			continue
		}
		if r.Retried {
			retried[r.Slot.UnixMilli()] = append(retried[r.Slot.UnixMilli()], r.ID)
		} else {
			final[r.Slot.UnixMilli()] = append(final[r.Slot.UnixMilli()], r.ID)
		}
	}
	if len(final) == 0 {
		t.Errorf("%s in %s: no run", c.journey, c.location)
		return 0, 0
	}
	missedAt := map[int64][]string{}
	for _, m := range misses {
		if m.Journey == c.journey && m.Location == c.location {
			missedAt[m.Slot] = append(missedAt[m.Slot], m.Reason)
		}
	}
	slotsRan := slices.Sorted(maps.Keys(final))
	first, last := time.UnixMilli(slotsRan[0]), time.UnixMilli(slotsRan[len(slotsRan)-1])
	due, _ := spec.Due(first.Add(-time.Millisecond), last, 1_000_000)
	onSchedule := map[int64]bool{}
	for _, s := range due {
		ms := s.UnixMilli()
		onSchedule[ms] = true
		ids, reasons := final[ms], missedAt[ms]
		switch {
		case len(ids) > 1:
			t.Errorf("%s in %s: slot %s ran %d times (runs %v)", c.journey, c.location, s.Format(time.TimeOnly), len(ids), ids)
		case len(ids) == 1 && len(reasons) > 0:
			t.Errorf("%s in %s: slot %s ran (run %s) and was counted %v", c.journey, c.location, s.Format(time.TimeOnly), ids[0], reasons)
		case len(ids) == 0 && len(reasons) == 0:
			t.Errorf("%s in %s: slot %s neither ran nor was counted as missed", c.journey, c.location, s.Format(time.TimeOnly))
		}
		if len(ids) > 0 {
			ran++
		} else if len(reasons) > 0 {
			missed++
		}
	}
	for ms, ids := range final {
		if !onSchedule[ms] {
			t.Errorf("%s in %s: runs %v for %s, not a slot of %q", c.journey, c.location, ids, time.UnixMilli(ms).UTC().Format(time.TimeOnly), c.schedule)
		}
	}
	for ms, ids := range retried {
		if len(final[ms]) == 0 {
			t.Errorf("%s in %s: attempts %v of slot %s were retried, but no final run followed", c.journey, c.location, ids, time.UnixMilli(ms).UTC().Format(time.TimeOnly))
		}
	}
	return ran, missed
}

// runsOf are the runs of journey, newest first.
func runsOf(rs []results.Run, journey string) []results.Run {
	var out []results.Run
	for _, r := range rs {
		if r.Journey == journey {
			out = append(out, r)
		}
	}
	return out
}
