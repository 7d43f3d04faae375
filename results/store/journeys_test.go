package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/journeys"
)

// journeyFiles writes files (name → content) under dir and returns dir.
func journeyFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadedJourney is a journey as journeys.Load gives it for file.
func loadedJourney(name, file, hash, schedule string, locations ...string) *journeys.Journey {
	return &journeys.Journey{Name: name, Title: "Title of " + name, File: file, Hash: hash, Schedule: schedule,
		Owner: "web-team", Customer: "acme", Tags: []string{"shop"}, Locations: locations}
}

// TestSyncJourneys walks one agent's journey files through what happens to
// them while it serves: loaded, broken, broken at a restart, fixed,
// removed, renamed, brought back; another agent's journey stays as it is
// throughout, and rows change only when something in them does.
func TestSyncJourneys(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		s := openNew(t, dialect, WithClock(func() time.Time { return now }))
		ctx := t.Context()
		dir := t.TempDir()
		root := journeyFiles(t, filepath.Join(dir, "journeys"), map[string]string{
			"a.yaml":     "name: a\n# version 1\n",
			"sub/b.yaml": "name: b\n",
		})
		aFile, bFile := filepath.Join(root, "a.yaml"), filepath.Join(root, "sub", "b.yaml")
		// Another agent's journey, outside this agent's root (whose name
		// starts like it: journeys-eu is not under journeys).
		other := journeyFiles(t, filepath.Join(dir, "journeys-eu"), map[string]string{"c.yaml": "name: c\n"})
		cFile := filepath.Join(other, "c.yaml")
		c := loadedJourney("c", cFile, "hc", "@every 1m")
		if err := s.SyncJourneys(ctx, []string{other}, []*journeys.Journey{c}, nil); err != nil {
			t.Fatal(err)
		}
		t0 := now

		a1 := loadedJourney("a", aFile, "ha1", "*/5 * * * *", "eu-west", "us-east")
		b := loadedJourney("b", bFile, "hb", "")
		rec := func(j *journeys.Journey, def string, enabled bool, loadErr string, at time.Time) JourneyRecord {
			return JourneyRecord{Name: j.Name, Title: j.Title, File: j.File, Definition: def, Hash: j.Hash,
				Owner: j.Owner, Customer: j.Customer, Tags: j.Tags, Schedule: j.Schedule, Locations: j.Locations,
				Enabled: enabled, LoadError: loadErr, UpdatedAt: at}
		}
		cRec := rec(c, "name: c\n", true, "", t0)

		steps := []struct {
			name   string
			before func() // changes the files
			loaded []*journeys.Journey
			failed []FileError
			want   []JourneyRecord // by name
		}{
			{"first load", nil, []*journeys.Journey{a1, b}, nil, []JourneyRecord{
				rec(a1, "name: a\n# version 1\n", true, "", t0.Add(time.Minute)),
				rec(b, "name: b\n", true, "", t0.Add(time.Minute)),
				cRec,
			}},
			{"the same again changes nothing", nil, []*journeys.Journey{a1, b}, nil, []JourneyRecord{
				rec(a1, "name: a\n# version 1\n", true, "", t0.Add(time.Minute)),
				rec(b, "name: b\n", true, "", t0.Add(time.Minute)),
				cRec,
			}},
			{"a broken: its last good version stays",
				func() { journeyFiles(t, root, map[string]string{"a.yaml": "name: [a\n"}) },
				[]*journeys.Journey{a1, b}, []FileError{{File: aFile, Err: "a.yaml:1:7: bad\nline 2"}}, []JourneyRecord{
					rec(a1, "name: a\n# version 1\n", true, "a.yaml:1:7: bad\nline 2", t0.Add(3*time.Minute)),
					rec(b, "name: b\n", true, "", t0.Add(time.Minute)),
					cRec,
				}},
			{"a still broken after a restart (no last good version in memory)", nil,
				[]*journeys.Journey{b}, []FileError{{File: root + "/./a.yaml", Err: "a.yaml:1:7: worse"}}, []JourneyRecord{
					rec(a1, "name: a\n# version 1\n", true, "a.yaml:1:7: worse", t0.Add(4*time.Minute)),
					rec(b, "name: b\n", true, "", t0.Add(time.Minute)),
					cRec,
				}},
			{"a fixed",
				func() { journeyFiles(t, root, map[string]string{"a.yaml": "name: a\n# version 2\n"}) },
				[]*journeys.Journey{loadedJourney("a", aFile, "ha2", "*/5 * * * *"), b}, nil, []JourneyRecord{
					rec(loadedJourney("a", aFile, "ha2", "*/5 * * * *"), "name: a\n# version 2\n", true, "", t0.Add(5*time.Minute)),
					rec(b, "name: b\n", true, "", t0.Add(time.Minute)),
					cRec,
				}},
			{"b removed: disabled",
				func() { os.Remove(bFile) },
				[]*journeys.Journey{loadedJourney("a", aFile, "ha2", "*/5 * * * *")}, nil, []JourneyRecord{
					rec(loadedJourney("a", aFile, "ha2", "*/5 * * * *"), "name: a\n# version 2\n", true, "", t0.Add(5*time.Minute)),
					rec(b, "name: b\n", false, "", t0.Add(6*time.Minute)),
					cRec,
				}},
			{"a's file renamed to a2: a disabled",
				func() { journeyFiles(t, root, map[string]string{"a.yaml": "name: a2\n"}) },
				[]*journeys.Journey{loadedJourney("a2", aFile, "ha3", "@hourly")}, nil, []JourneyRecord{
					rec(loadedJourney("a", aFile, "ha2", "*/5 * * * *"), "name: a\n# version 2\n", false, "", t0.Add(7*time.Minute)),
					rec(loadedJourney("a2", aFile, "ha3", "@hourly"), "name: a2\n", true, "", t0.Add(7*time.Minute)),
					rec(b, "name: b\n", false, "", t0.Add(6*time.Minute)),
					cRec,
				}},
			{"b back: enabled",
				func() { journeyFiles(t, root, map[string]string{"sub/b.yaml": "name: b\n"}) },
				[]*journeys.Journey{loadedJourney("a2", aFile, "ha3", "@hourly"), b}, nil, []JourneyRecord{
					rec(loadedJourney("a", aFile, "ha2", "*/5 * * * *"), "name: a\n# version 2\n", false, "", t0.Add(7*time.Minute)),
					rec(loadedJourney("a2", aFile, "ha3", "@hourly"), "name: a2\n", true, "", t0.Add(7*time.Minute)),
					rec(b, "name: b\n", true, "", t0.Add(8*time.Minute)),
					cRec,
				}},
		}
		for i, st := range steps {
			now = t0.Add(time.Duration(i+1) * time.Minute)
			if st.before != nil {
				st.before()
			}
			if err := s.SyncJourneys(ctx, []string{root}, st.loaded, st.failed); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			got, err := s.Journeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, st.name, got, st.want)
			if i == 0 {
				// b's run, kept however b's file fares.
				if err := s.SaveRun(ctx, nil, fullRun("rb", "b", start(), nil)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if runs, err := s.Runs(ctx, RunFilter{Journey: "b"}); err != nil || len(runs) != 1 {
			t.Errorf("b's runs after all that: %d, %v; want its one run kept", len(runs), err)
		}
		sched, err := s.ScheduledJourneys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, j := range sched {
			names = append(names, j.Name)
		}
		// a is disabled, b has no schedule, c is another agent's but enabled.
		if want := []string{"a2", "c"}; !slices.Equal(names, want) {
			t.Errorf("ScheduledJourneys = %v, want %v", names, want)
		}
	})
}

func TestSyncJourneysRejects(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		dir := journeyFiles(t, t.TempDir(), map[string]string{
			"a.yaml":     "name: a\n",
			"b.yaml":     "name: b\n",
			"utf16.yaml": "\xff\xfen\x00a\x00",
		})
		a, b := loadedJourney("a", filepath.Join(dir, "a.yaml"), "h", ""), loadedJourney("b", filepath.Join(dir, "b.yaml"), "h", "")
		tests := []struct {
			name   string
			loaded []*journeys.Journey
			want   string
		}{
			{"one name twice", []*journeys.Journey{a, b, loadedJourney("a", b.File, "h", "")},
				`sync journeys: journey "a" given twice, from ` + a.File + ` and ` + b.File},
			{"file gone", []*journeys.Journey{a, loadedJourney("gone", filepath.Join(dir, "gone.yaml"), "h", "")},
				"sync journeys: read the definition of gone: open " + filepath.Join(dir, "gone.yaml") + ": no such file or directory"},
			{"not UTF-8", []*journeys.Journey{loadedJourney("u", filepath.Join(dir, "utf16.yaml"), "h", "")},
				"sync journeys: the definition of u in " + filepath.Join(dir, "utf16.yaml") + " is not UTF-8 text"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.SyncJourneys(t.Context(), []string{dir}, tt.loaded, nil)
				if err == nil || err.Error() != tt.want {
					t.Errorf("SyncJourneys = %v\nwant %s", err, tt.want)
				}
				if n := count(t, s, "journeys"); n != 0 {
					t.Errorf("%d journeys stored, want none", n)
				}
			})
		}
	})
}

func TestUnderAny(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		roots []string
		want  bool
	}{
		{"journeys/a.yaml", []string{"journeys"}, true},
		{"journeys/sub/a.yaml", []string{"./journeys/"}, true},
		{"./journeys/a.yaml", []string{"journeys"}, true},
		{"journeys/a.yaml", []string{"."}, true},
		{"journeys/a.yaml", []string{"journeys/a.yaml"}, true}, // a root may be a file
		{"journeys-eu/a.yaml", []string{"journeys"}, false},
		{"../journeys/a.yaml", []string{"."}, false},
		{"/srv/journeys/a.yaml", []string{"journeys"}, false}, // absolute against relative: not comparable
		{"/srv/journeys/a.yaml", []string{"/srv"}, true},
		{"/srv/journeys/a.yaml", []string{"/other", "/srv/journeys"}, true},
		{"a.yaml", nil, false},
	}
	for _, tt := range tests {
		if got := underAny(tt.file, tt.roots); got != tt.want {
			t.Errorf("underAny(%q, %q) = %v, want %v", tt.file, strings.Join(tt.roots, ","), got, tt.want)
		}
	}
}

// TestConcurrentSyncJourneys has two agents of one location, serving the
// same journey files, sync at once again and again, each listing the
// journeys in its own order: no sync fails (on PostgreSQL, no deadlock)
// and the rows end as both say.
func TestConcurrentSyncJourneys(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := migratedDSN(t, dialect)
		a, b := openDSN(t, dsn), openDSN(t, dsn)
		files := map[string]string{}
		for i := range 20 {
			files[fmt.Sprintf("j%02d.yaml", i)] = fmt.Sprintf("name: j%02d\n", i)
		}
		root := journeyFiles(t, t.TempDir(), files)
		var forward []*journeys.Journey
		for i := range 20 {
			forward = append(forward, loadedJourney(fmt.Sprintf("j%02d", i), filepath.Join(root, fmt.Sprintf("j%02d.yaml", i)), "h", "@every 1m"))
		}
		backward := slices.Clone(forward)
		slices.Reverse(backward)
		var wg sync.WaitGroup
		for _, agent := range []struct {
			s      *Store
			loaded []*journeys.Journey
		}{{a, forward}, {b, backward}} {
			wg.Go(func() {
				for round := range 10 {
					// Every other round a journey's hash changes, so rows
					// are written, not only locked.
					loaded := slices.Clone(agent.loaded)
					for i, j := range loaded {
						j2 := *j
						j2.Hash = fmt.Sprint("h", round%2)
						loaded[i] = &j2
					}
					if err := agent.s.SyncJourneys(t.Context(), []string{root}, loaded, nil); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		js, err := a.Journeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(js) != 20 || js[0].Hash != "h1" || !js[0].Enabled {
			t.Errorf("after the syncs: %d journeys, the first with hash %q; want 20 enabled with h1", len(js), js[0].Hash)
		}
	})
}
