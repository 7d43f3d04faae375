package browser

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSweepStaleProfiles(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	profile := func(name, lock string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "Default"), 0o755); err != nil {
			t.Fatal(err)
		}
		if lock != "" {
			if err := os.Symlink(lock, filepath.Join(p, "SingletonLock")); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	stale := profile("chromedp-runner111", host+"-2147483646")                // dead pid on this host
	live := profile("chromedp-runner222", host+"-"+strconv.Itoa(os.Getpid())) // running
	other := profile("chromedp-runner333", "elsewhere-2147483646")            // another host
	unlocked := profile("chromedp-runner444", "")                             // starting up
	notOurs := profile("someone-else", host+"-2147483646")                    // not our pattern

	got := sweepStaleProfiles(dir)
	if len(got) != 1 || got[0] != stale {
		t.Errorf("removed %v, want only %s", got, stale)
	}
	for _, p := range []string{live, other, unlocked, notOurs} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale profile still there: %v", err)
	}
}

// TestSweepZombie: a browser killed a moment ago is a zombie until its
// parent reaps it; its profile is stale already.
func TestSweepZombie(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	// Not reaped yet: it is a zombie once it has exited.
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			t.Fatalf("read the child's state (the sweep reads /proc too): %v", err)
		}
		if s := string(stat); s[strings.LastIndexByte(s, ')')+2] == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never became a zombie")
		}
		time.Sleep(10 * time.Millisecond)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "chromedp-runner555")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host+"-"+strconv.Itoa(pid), filepath.Join(p, "SingletonLock")); err != nil {
		t.Fatal(err)
	}
	if got := sweepStaleProfiles(dir); len(got) != 1 || got[0] != p {
		t.Errorf("removed %v, want the zombie's profile %s", got, p)
	}
}
