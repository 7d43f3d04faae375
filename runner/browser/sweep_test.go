package browser

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSweepStaleProfiles(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
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
