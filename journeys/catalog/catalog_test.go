package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const good = "name: %s\nschedule: \"@every 5s\"\nsteps:\n  - goto: https://shop.example.com/%s\n"

func journeyFile(name, page string) string {
	return strings.ReplaceAll(strings.Replace(good, "%s", name, 1), "%s", page)
}

func names(s Snapshot) string {
	var out []string
	for _, j := range s.Journeys {
		out = append(out, j.Name+"="+j.Steps[0].Target)
	}
	return strings.Join(out, " ")
}

// TestReload: a journey whose file stops validating keeps its last good
// version, and the file is reported; a removed file drops its journey; a
// fixed file is picked up.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	write(t, a, journeyFile("alpha", "one"))
	write(t, b, journeyFile("beta", "one"))
	c := New([]string{dir}, nil)
	if s := c.Reload(); names(s) != "alpha=https://shop.example.com/one beta=https://shop.example.com/one" || len(s.Failed) != 0 {
		t.Fatalf("first load: %s, failed %+v", names(s), s.Failed)
	}

	write(t, a, "name: alpha\nsteps:\n  - goto: [\n") // broken
	write(t, b, journeyFile("beta", "two"))
	s := c.Reload()
	if names(s) != "alpha=https://shop.example.com/one beta=https://shop.example.com/two" {
		t.Errorf("after breaking alpha: %s, want alpha's last good version and beta's new one", names(s))
	}
	if len(s.Failed) != 1 || s.Failed[0].File != a || !strings.Contains(s.Failed[0].Err, "a.yaml:") {
		t.Errorf("failed files %+v, want a.yaml with its position", s.Failed)
	}
	if j, ok := c.Journey("alpha"); !ok || j.Steps[0].Target != "https://shop.example.com/one" {
		t.Errorf("Journey(alpha) = %v, %v", j, ok)
	}

	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	write(t, a, journeyFile("alpha", "three"))
	s = c.Reload()
	if names(s) != "alpha=https://shop.example.com/three" || len(s.Failed) != 0 {
		t.Errorf("after fixing alpha and removing beta: %s, failed %+v", names(s), s.Failed)
	}
	if _, ok := c.Journey("beta"); ok {
		t.Errorf("beta is still served after its file was removed")
	}
}

// TestWatch: editing a file reloads the catalog, and so does a file
// added in a folder created after the watch began.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), journeyFile("alpha", "one"))
	c := New([]string{dir}, nil)
	c.Reload()
	changes := make(chan Snapshot, 10)
	if err := c.Watch(t.Context(), 20*time.Millisecond, func(s Snapshot) { changes <- s }); err != nil {
		t.Fatal(err)
	}

	await := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-changes:
				if names(s) == want {
					return
				}
			case <-deadline:
				t.Fatalf("the catalog never became %q", want)
			}
		}
	}
	write(t, filepath.Join(dir, "a.yaml"), journeyFile("alpha", "two"))
	await("alpha=https://shop.example.com/two")

	sub := filepath.Join(dir, "team")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// The new folder is watched once its creation is seen: write into it
	// until a write is noticed.
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		write(t, filepath.Join(sub, "b.yaml"), journeyFile("beta", "v"+string(rune('0'+i%10))))
		select {
		case s := <-changes:
			if strings.Contains(names(s), "beta=") {
				return
			}
		case <-deadline:
			t.Fatal("a journey in a new folder was never loaded")
		}
	}
}
