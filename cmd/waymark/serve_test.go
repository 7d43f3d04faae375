package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// serveJourney is a small journey against the demo shop on a schedule.
func serveJourney(name, every, title string) string {
	return fmt.Sprintf(`name: %s
site: ${env:SHOP_URL}
schedule: "@every %s"
timeout: 20s
steps:
  - goto: /
  - assert: {title: {contains: %q}}
`, name, every, title)
}

// waitFor polls cond until it holds or the deadline passes: the runs of a
// schedule arrive on the clock, and the test waits for them, not for a
// guessed delay.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServe runs `waymark serve` on three journeys @every 2s against the
// demo shop: every slot runs once and is stored; a journey edited while
// serving is picked up; one broken by an edit keeps running its last good
// version and its error is recorded; SIGINT stops it with exit 0 and every
// run stored.
func TestServe(t *testing.T) {
	shop := examples.NewShop(examples.Options{})
	base := serveShop(t, shop, shop)
	dir := t.TempDir()
	jdir := filepath.Join(dir, "journeys")
	if err := os.Mkdir(jdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "beta", "gamma"} {
		writeFile(t, filepath.Join(jdir, name+".yaml"), serveJourney(name, "2s", "Trailhead"))
	}
	db, addr := filepath.Join(dir, "w.db"), freeAddr(t)
	cfg := filepath.Join(dir, "waymark.yaml")
	writeFile(t, cfg, fmt.Sprintf("database: %s\njourneys: [%s]\nserver: {listen: %s}\nshutdown_timeout: 10s\nbrowser: {max_concurrent: 3}\n", db, jdir, addr))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := startServe(t, ctx, map[string]string{"SHOP_URL": base}, cfg)
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runsOf := func(journey string) []results.Run {
		t.Helper()
		rs, err := st.Runs(t.Context(), store.RunFilter{Journey: journey})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	waitFor(t, "three runs of each journey", 60*time.Second, func() bool {
		return len(runsOf("alpha")) >= 3 && len(runsOf("beta")) >= 3 && len(runsOf("gamma")) >= 3
	})

	// Edit beta; break gamma.
	before := runsOf("beta")[0].DefinitionHash
	gammaHash := runsOf("gamma")[0].DefinitionHash
	writeFile(t, filepath.Join(jdir, "beta.yaml"), serveJourney("beta", "2s", "Outfitters"))
	writeFile(t, filepath.Join(jdir, "gamma.yaml"), "name: gamma\nsteps:\n  - goto: [\n")
	edited := time.Now()
	waitFor(t, "beta's edit to be picked up", 30*time.Second, func() bool {
		rs := runsOf("beta")
		return len(rs) > 0 && rs[0].DefinitionHash != before
	})
	waitFor(t, "gamma to run again after its file broke", 30*time.Second, func() bool {
		rs := runsOf("gamma")
		return len(rs) > 0 && rs[0].StartedAt.After(edited.Add(time.Second))
	})
	if h := runsOf("gamma")[0].DefinitionHash; h != gammaHash {
		t.Errorf("gamma ran with hash %s after its file broke, want its last good version %s", h, gammaHash)
	}
	recs, err := st.Journeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == "gamma" && (!r.Enabled || !strings.Contains(r.LoadError, "gamma.yaml:3")) {
			t.Errorf("gamma's record: enabled %v, load error %q; want enabled with the file's error", r.Enabled, r.LoadError)
		}
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz answered %d", resp.StatusCode)
	}

	cancel()
	r := await(t, done, 60*time.Second)
	if r.code != reports.ExitOK {
		t.Fatalf("exit %d after SIGINT, want 0\nstderr:\n%s", r.code, r.stderr)
	}

	// Every slot ran once: no two runs of a journey share a slot, and
	// every run was kept passing (or degraded on a loaded machine).
	for _, name := range []string{"alpha", "beta", "gamma"} {
		seen := map[time.Time]bool{}
		for _, run := range runsOf(name) {
			if run.Slot.IsZero() || seen[run.Slot] {
				t.Errorf("%s: run %s for slot %s (twice or none)", name, run.ID, run.Slot)
			}
			seen[run.Slot] = true
			if run.Trigger != results.TriggerSchedule || (run.Outcome != results.Passed && run.Outcome != results.Degraded && run.Outcome != results.Aborted) {
				t.Errorf("%s: run %s trigger %s outcome %s (%s)", name, run.ID, run.Trigger, run.Outcome, run.Error)
			}
		}
	}
}

// startServe starts `waymark serve` with the config file and returns once
// it serves; done gives its result once it returns (cancel ctx to stop it).
func startServe(t *testing.T, ctx context.Context, env map[string]string, cfg string) (done <-chan result) {
	t.Helper()
	done, up := startWatching(ctx, env, "waymark serve:", "--config", cfg, "serve")
	select {
	case <-up:
	case r := <-done:
		t.Fatalf("serve returned %d before serving\nstderr:\n%s", r.code, r.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve never said it serves")
	}
	return done
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
