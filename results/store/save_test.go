package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// start is a run start with nanoseconds and a non-UTC zone, so the tests
// see what storing does to both.
func start() time.Time {
	return time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))
}

func journey(name, hash string) *journeys.Journey {
	return &journeys.Journey{
		Name: name, Title: "Guest checkout", File: "journeys/" + name + ".yaml",
		Schedule: "*/5 * * * *", Owner: "web-team", Customer: "acme",
		Tags: []string{"shop", "critical"}, Hash: hash,
	}
}

// fullRun is a failed run that sets every field of the model but Retried
// (see retriedRun), with a screenshot shot on its first two steps.
func fullRun(id, journey string, at time.Time, shot []byte) *results.Run {
	return &results.Run{
		ID: id, Journey: journey, Title: "Guest checkout", File: "journeys/" + journey + ".yaml",
		Trigger: results.TriggerManual, Location: "eu-west", Slot: at.Truncate(time.Minute),
		StartedAt: at, FinishedAt: at.Add(2500*time.Millisecond + 123456),
		Duration: 2500*time.Millisecond + 123456, Setup: 312*time.Millisecond + 654321,
		Outcome: results.Failed, FailingStep: 2,
		Cause: results.CauseAssertion, Error: `step 2 "see total": text was "€0.00"`,
		BrowserVersion: "Chrome/139.0.7258.5", DefinitionHash: "9f86d08", Attempt: 2,
		Steps: []results.Step{
			{
				Index: 1, Name: "open home", Action: "goto", Line: 12, Start: 1234567, Duration: 850700 * time.Microsecond,
				Status: results.StepDegraded, URL: "https://shop.example.com/", HTTPStatus: 200,
				Timings: &results.PageTimings{
					TTFB: 120400 * time.Microsecond, DOMContentLoaded: 400 * time.Millisecond, Load: 800 * time.Millisecond,
					LCP: 650 * time.Millisecond, CLS: 0.042, Requests: 37, Bytes: 1234567,
				},
				Artifacts: []results.Artifact{{Kind: results.ArtifactScreenshot, Label: "step", Data: shot, Path: "a/1.jpg"}},
			},
			{
				Index: 2, Name: "see total", Action: "assert", Line: 15, Start: 900 * time.Millisecond, Duration: 10 * time.Second,
				Status: results.StepFailed, Cause: results.CauseAssertion, Error: "text was wrong",
				Expected: "contains €12.00", Actual: "€0.00", URL: "https://shop.example.com/cart",
				Console: []results.ConsoleEntry{
					{Kind: results.ConsoleException, Text: "TypeError: cart.total is undefined",
						Source: "https://shop.example.com/cart.js:42", At: 1500*time.Millisecond + 123456},
					{Kind: results.ConsoleError, Text: "line one\nline \"two\" €\t<b>", At: 1600 * time.Millisecond},
					{Kind: results.ConsoleWarning, Text: "", Source: "", At: 0},
					{Kind: results.ConsoleDialog, Text: `alert "Session expired" (accepted)`, At: 10 * time.Second},
				},
				Notes: []string{"no screenshot: the tab had crashed", "second note, with \"quotes\""},
				Artifacts: []results.Artifact{
					{Kind: results.ArtifactScreenshot, Label: "failure", Data: shot},
					{Kind: results.ArtifactDOM, Label: "failure", Data: []byte("<html><body>€0.00</body></html>")},
					{Kind: results.ArtifactConsole, Label: "failure", Data: []byte(`[{"level":"error"}]`)},
					{Kind: results.ArtifactNetwork, Label: "failure"}, // nil Data: an empty blob
				},
			},
			{Index: 3, Name: "newsletter", Action: "click", Line: 18, Status: results.StepSkipped, Optional: true},
			{Index: 4, Name: "thanks", Action: "goto", Line: 20, Status: results.StepSkipped, Timings: &results.PageTimings{}},
		},
	}
}

// retriedRun is a first attempt that ended in error and was retried, with
// no step run: the monitor failed before the first one.
func retriedRun(id string, at time.Time) *results.Run {
	return &results.Run{
		ID: id, Journey: "checkout", Trigger: results.TriggerSchedule, StartedAt: at, FinishedAt: at,
		Setup: 2 * time.Second, Outcome: results.Error, Cause: results.CauseMonitor,
		Error: "browser crashed", Attempt: 1, Retried: true,
	}
}

// abortedRun is a run cut short by an interrupt on its second step.
func abortedRun(id string, at time.Time) *results.Run {
	return &results.Run{
		ID: id, Journey: "checkout", Trigger: results.TriggerCI, StartedAt: at, FinishedAt: at.Add(time.Second),
		Duration: time.Second, Outcome: results.Aborted, FailingStep: 2, Error: `step 2 "pay": interrupted`, Attempt: 1,
		Steps: []results.Step{
			{Index: 1, Name: "home", Action: "goto", Status: results.StepPassed, Notes: []string{}},
			{Index: 2, Name: "pay", Action: "click", Start: 400 * time.Millisecond, Duration: 600 * time.Millisecond,
				Status: results.StepAborted, Error: "interrupted", Console: []results.ConsoleEntry{}},
			{Index: 3, Name: "cart", Action: "goto", Status: results.StepSkipped},
		},
	}
}

// stored is what reading r back must give: times and durations at the
// stored millisecond precision, times in UTC, artifacts without Data and
// Path, an empty console or notes as nil.
func stored(r results.Run) results.Run {
	tm := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.Truncate(time.Millisecond).UTC()
	}
	r.Slot, r.StartedAt, r.FinishedAt = tm(r.Slot), tm(r.StartedAt), tm(r.FinishedAt)
	r.Duration, r.Setup = r.Duration.Truncate(time.Millisecond), r.Setup.Truncate(time.Millisecond)
	steps := r.Steps
	r.Steps = nil
	for _, s := range steps {
		s.Start, s.Duration = s.Start.Truncate(time.Millisecond), s.Duration.Truncate(time.Millisecond)
		console := s.Console
		s.Console = nil
		for _, c := range console {
			c.At = c.At.Truncate(time.Millisecond)
			s.Console = append(s.Console, c)
		}
		if len(s.Notes) == 0 {
			s.Notes = nil
		}
		if s.Timings != nil {
			t := *s.Timings
			for _, d := range []*time.Duration{&t.TTFB, &t.DOMContentLoaded, &t.Load, &t.LCP} {
				*d = d.Truncate(time.Millisecond)
			}
			s.Timings = &t
		}
		arts := s.Artifacts
		s.Artifacts = nil
		for _, a := range arts {
			s.Artifacts = append(s.Artifacts, results.Artifact{Kind: a.Kind, Label: a.Label, Hash: a.Hash})
		}
		r.Steps = append(r.Steps, s)
	}
	return r
}

// assertEqual fails with both values as JSON when got and want differ.
func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s differs\n got: %s\nwant: %s", what, g, w)
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestSaveRunRoundTrip(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		tests := []struct {
			name string
			run  *results.Run
		}{
			{"failed, every field", fullRun("r1", "guest-checkout", start(), []byte("\xff\xd8\xff\x00\xe0 a JPEG, trust me"))},
			{"error, retried", retriedRun("r2", start())},
			{"aborted", abortedRun("r3", start())},
		}
		s := openNew(t, dialect)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				run := tt.run
				if err := s.SaveRun(ctx, journey(run.Journey, "h1"), run); err != nil {
					t.Fatal(err)
				}
				for _, st := range run.Steps {
					for _, a := range st.Artifacts {
						if a.Hash != sha(a.Data) {
							t.Errorf("step %d %s: Hash = %q, want sha256 of Data %q", st.Index, a.Kind, a.Hash, sha(a.Data))
						}
					}
				}

				got, err := s.Run(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := stored(*run)
				assertEqual(t, "Run", *got, want)

				list, err := s.Runs(ctx, RunFilter{Journey: run.Journey, Outcome: run.Outcome})
				if err != nil {
					t.Fatal(err)
				}
				want.Steps = nil
				assertEqual(t, "Runs", list, []results.Run{want})

				for _, st := range run.Steps {
					for _, a := range st.Artifacts {
						b, err := s.Blob(ctx, a.Hash)
						if err != nil {
							t.Fatal(err)
						}
						if string(b) != string(a.Data) {
							t.Errorf("Blob(%s) = %q, want %q", a.Hash, b, a.Data)
						}
					}
				}
			})
		}
	})
}

// TestConsoleAndNotesColumns pins how console and notes are stored: JSON
// arrays, at_ms for the offset, '[]' for none, so SQL can read them too.
func TestConsoleAndNotesColumns(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		run := abortedRun("r1", start())
		run.Steps[0].Console = []results.ConsoleEntry{{Kind: results.ConsoleError, Text: "boom", Source: "app.js:1", At: 1500*time.Millisecond + 999}}
		run.Steps[0].Notes = []string{"a note"}
		if err := s.SaveRun(t.Context(), nil, run); err != nil {
			t.Fatal(err)
		}
		type row struct {
			Idx     int    `db:"idx"`
			Console string `db:"console"`
			Notes   string `db:"notes"`
		}
		var rows []row
		if err := s.db.SelectContext(t.Context(), &rows, "SELECT idx, console, notes FROM steps ORDER BY idx"); err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "steps console and notes", rows, []row{
			{1, `[{"kind":"error","text":"boom","source":"app.js:1","at_ms":1500}]`, `["a note"]`},
			{2, `[]`, `[]`}, // an empty, non-nil console
			{3, `[]`, `[]`},
		})
	})
}

// TestTextStoredAsValidUTF8 saves texts PostgreSQL's TEXT cannot hold, a
// NUL byte and bytes that are not UTF-8, as a page or server may produce:
// the run is stored on both databases, and reads back the same from both,
// each bad byte as U+FFFD.
func TestTextStoredAsValidUTF8(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		bad := "a\x00b\xffc"
		run := abortedRun("r1", start())
		run.Error = "run " + bad
		st := &run.Steps[1]
		st.Name, st.Error, st.Expected, st.Actual, st.URL = "name "+bad, "error "+bad, "expected "+bad, "actual "+bad, "https://x/"+bad
		st.Console = []results.ConsoleEntry{{Kind: results.ConsoleError, Text: "console " + bad, Source: "source " + bad}}
		st.Notes = []string{"note " + bad}
		st.Artifacts = []results.Artifact{{Kind: results.ArtifactDOM, Label: "label " + bad, Data: []byte(bad)}}
		if err := s.SaveRun(t.Context(), nil, run); err != nil {
			t.Fatal(err)
		}
		got, err := s.Run(t.Context(), "r1")
		if err != nil {
			t.Fatal(err)
		}
		const good = "a\uFFFDb\uFFFDc"
		gs := got.Steps[1]
		assertEqual(t, "texts read back", []string{
			got.Error, gs.Name, gs.Error, gs.Expected, gs.Actual, gs.URL, gs.Console[0].Text, gs.Console[0].Source,
			gs.Notes[0], gs.Artifacts[0].Label,
		}, []string{
			"run " + good, "name " + good, "error " + good, "expected " + good, "actual " + good, "https://x/" + good,
			"console " + good, "source " + good, "note " + good, "label " + good,
		})
		// Blobs are bytes, kept as they are.
		if b, err := s.Blob(t.Context(), gs.Artifacts[0].Hash); err != nil || string(b) != bad {
			t.Errorf("Blob = %q, %v, want %q", b, err, bad)
		}
	})
}

func TestSaveRunUpsertsJourney(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect, WithClock(clock(start())))
		ctx := t.Context()
		if err := s.SaveRun(ctx, journey("checkout", "h1"), fullRun("r1", "checkout", start(), nil)); err != nil {
			t.Fatal(err)
		}
		execSQL(t, s, "UPDATE journeys SET enabled = FALSE")
		j := journey("checkout", "h2")
		j.Owner, j.Tags, j.Schedule = "payments", nil, ""
		if err := s.SaveRun(ctx, j, fullRun("r2", "checkout", start(), nil)); err != nil {
			t.Fatal(err)
		}
		// Without a journey the row stays as it is.
		if err := s.SaveRun(ctx, nil, fullRun("r3", "checkout", start(), nil)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveRun(ctx, journey("other", "h"), fullRun("r4", "other", start(), nil)); err != nil {
			t.Fatal(err)
		}
		js, err := s.Journeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "journeys", js, []JourneyRecord{{
			Name: "checkout", Title: "Guest checkout", File: "journeys/checkout.yaml", Hash: "h2",
			Owner: "payments", Customer: "acme", Enabled: false, UpdatedAt: start().Truncate(time.Millisecond).UTC(),
		}, {
			Name: "other", Title: "Guest checkout", File: "journeys/other.yaml", Hash: "h",
			Owner: "web-team", Customer: "acme", Tags: []string{"shop", "critical"}, Schedule: "*/5 * * * *",
			Enabled: true, UpdatedAt: start().Truncate(time.Millisecond).UTC(),
		}})
		var tags string
		if err := s.db.GetContext(ctx, &tags, "SELECT tags FROM journeys WHERE name = 'other'"); err != nil {
			t.Fatal(err)
		}
		if tags != `["shop","critical"]` {
			t.Errorf("tags = %s, want the JSON array of the journey's tags", tags)
		}
	})
}

func TestSaveRunRejects(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		tests := []struct {
			name string
			j    *journeys.Journey
			run  *results.Run
			want string
		}{
			{"nil run", nil, nil, "save run: nil run"},
			{"no id", nil, fullRun("", "a", start(), nil), "save run : the run has no ID"},
			{"no journey", nil, fullRun("r", "", start(), nil), "save run r: the run has no journey name"},
			{"other journey", journey("b", "h"), fullRun("r", "a", start(), nil), `save run r: journey "b" given for a run of journey "a"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.SaveRun(t.Context(), tt.j, tt.run)
				if fmt.Sprint(err) != tt.want {
					t.Errorf("SaveRun = %v, want %s", err, tt.want)
				}
				err = s.Tx(t.Context(), func(tx *sqlx.Tx) error { return s.SaveRunTx(t.Context(), tx, tt.j, tt.run) })
				if fmt.Sprint(err) != tt.want {
					t.Errorf("SaveRunTx = %v, want %s", err, tt.want)
				}
			})
		}
		if n := count(t, s, "runs"); n != 0 {
			t.Errorf("%d runs stored, want none", n)
		}
	})
}

func TestBlobsStoredOnce(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		shot := []byte(strings.Repeat("JPEG", 1000))
		for _, id := range []string{"r1", "r2"} {
			if err := s.SaveRun(t.Context(), nil, fullRun(id, "j", start(), shot)); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := s.db.GetContext(t.Context(), &n, s.db.Rebind("SELECT COUNT(*) FROM blobs WHERE hash = ?"), sha(shot)); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("the screenshot is stored %d times, want once", n)
		}
		// Per run: screenshot on steps 1 and 2, dom, console, network.
		if got := count(t, s, "artifacts"); got != 10 {
			t.Errorf("%d artifact rows, want 10", got)
		}
		if got := count(t, s, "blobs"); got != 4 { // screenshot, dom, console, empty
			t.Errorf("%d blobs, want 4", got)
		}
	})
}

// snapshot is everything SaveRun writes, to show a failed one wrote nothing.
func snapshot(t *testing.T, s *Store) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, table := range []string{"journeys", "runs", "steps", "artifacts", "blobs"} {
		m[table] = count(t, s, table)
	}
	var hashes []string
	if err := s.db.SelectContext(t.Context(), &hashes, "SELECT definition_hash FROM journeys ORDER BY name"); err != nil {
		t.Fatal(err)
	}
	m["journey hashes"] = hashes
	return m
}

func TestSaveRunIsAtomic(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		dupStep := fullRun("r2", "checkout", start(), []byte("new shot"))
		dupStep.Steps[2].Index = 2 // fails after the run, a step and blobs went in

		tests := []struct {
			name             string
			j                *journeys.Journey
			run              *results.Run
			sqlite, postgres string
		}{
			{"duplicate run id", journey("checkout", "h2"), fullRun("r1", "checkout", start(), []byte("new shot")),
				"save run r1: insert run: constraint failed: UNIQUE constraint failed: runs.id (1555)",
				`save run r1: insert run: ERROR: duplicate key value violates unique constraint "runs_pkey" (SQLSTATE 23505)`},
			{"duplicate step index", journey("checkout", "h2"), dupStep,
				"save run r2: insert step 2: constraint failed: UNIQUE constraint failed: steps.run_id, steps.idx (1555)",
				`save run r2: insert step 2: ERROR: duplicate key value violates unique constraint "steps_pkey" (SQLSTATE 23505)`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openNew(t, dialect)
				if err := s.SaveRun(t.Context(), journey("checkout", "h1"), fullRun("r1", "checkout", start(), []byte("shot"))); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, s)
				err := s.SaveRun(t.Context(), tt.j, tt.run)
				if want := byDialect(s, tt.sqlite, tt.postgres); fmt.Sprint(err) != want {
					t.Errorf("SaveRun = %v, want %s", err, want)
				}
				assertEqual(t, "rows after the failed SaveRun", snapshot(t, s), before)
				if _, err := s.Blob(t.Context(), sha([]byte("new shot"))); !errors.Is(err, ErrNotFound) {
					t.Errorf("the failed run's screenshot: Blob = %v, want ErrNotFound", err)
				}
			})
		}
	})
}

func TestConcurrentSaveRun(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := migratedDSN(t, dialect)
		a := openDSN(t, dsn)
		// A second Store on the same database stands for a second process:
		// its writers are not serialised with a's in Go, only by the
		// database.
		b := openDSN(t, dsn)

		const goroutines, perGoroutine = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*perGoroutine)
		hashes := make(chan string, goroutines*perGoroutine*5)
		for g := range goroutines {
			s := []*Store{a, b}[g%2]
			wg.Go(func() {
				for i := range perGoroutine {
					// Shared screenshots every other run, unique ones otherwise.
					shot := fmt.Appendf(nil, "shot %d", i%2)
					if i%2 == 1 {
						shot = fmt.Appendf(nil, "shot %d-%d", g, i)
					}
					run := fullRun(fmt.Sprintf("g%d-r%d", g, i), "checkout", start().Add(time.Duration(i)*time.Minute), shot)
					if err := s.SaveRun(t.Context(), journey("checkout", fmt.Sprint(i)), run); err != nil {
						errs <- err
						continue
					}
					for _, st := range run.Steps {
						for _, art := range st.Artifacts {
							hashes <- art.Hash
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		close(hashes)
		for err := range errs {
			t.Error(err)
		}
		distinct := map[string]bool{}
		for h := range hashes {
			distinct[h] = true
		}
		if n := count(t, a, "runs"); n != goroutines*perGoroutine {
			t.Errorf("%d runs stored, want %d", n, goroutines*perGoroutine)
		}
		if n := count(t, a, "blobs"); n != len(distinct) {
			t.Errorf("%d blobs stored, want %d distinct contents", n, len(distinct))
		}
	})
}

// TestSharedBlobsInAnyOrder saves, at the same moment, two runs that carry
// the same two new screenshots in opposite orders, again and again: on
// PostgreSQL each waits for the other's uncommitted blob, so without a
// common order they would deadlock.
func TestSharedBlobsInAnyOrder(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		for i := range 30 {
			x, y := fmt.Appendf(nil, "x%d", i), fmt.Appendf(nil, "y%d", i)
			var wg sync.WaitGroup
			for k, shots := range [][][]byte{{x, y}, {y, x}} {
				wg.Go(func() {
					run := &results.Run{ID: fmt.Sprintf("r%d-%d", i, k), Journey: "j", Outcome: results.Passed, Steps: []results.Step{{
						Index: 1, Status: results.StepPassed, Artifacts: []results.Artifact{
							{Kind: results.ArtifactScreenshot, Data: shots[0]}, {Kind: results.ArtifactScreenshot, Data: shots[1]},
						},
					}}}
					if err := s.SaveRun(t.Context(), nil, run); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		if n := count(t, s, "blobs"); n != 60 {
			t.Errorf("%d blobs, want 60", n)
		}
	})
}

func TestRunsFilterAndOrder(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		t0 := start()
		for _, r := range []struct {
			id, journey, location string
			outcome               results.Outcome
			at                    time.Duration
		}{
			{"r1", "a", "eu-west", results.Passed, 0},
			{"r2", "a", "us-east", results.Failed, time.Minute},
			{"r3", "b", "eu-west", results.Failed, 2 * time.Minute},
			// Same start as r4 and saved before it: only the id puts it
			// first, and byte order puts "r5" before "R9", which an
			// alphabetical collation would not.
			{"R9", "b", "eu-west", results.Passed, 3 * time.Minute},
			{"r5", "a", "eu-west", results.Degraded, 3 * time.Minute},
			{"r4", "b", "us-east", results.Passed, 3 * time.Minute},
			{"r0", "b", "eu-west", results.Aborted, -time.Minute},
			{"r6", "b", "eu-west", results.Error, -1}, // no start time: last
		} {
			run := fullRun(r.id, r.journey, t0.Add(r.at), nil)
			run.Outcome, run.Location = r.outcome, r.location
			if r.at == -1 {
				run.StartedAt, run.FinishedAt = time.Time{}, time.Time{}
			}
			if err := s.SaveRun(t.Context(), nil, run); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name   string
			filter RunFilter
			want   []string
		}{
			{"all, newest first", RunFilter{}, []string{"r5", "r4", "R9", "r3", "r2", "r1", "r0", "r6"}},
			{"aborted", RunFilter{Outcome: results.Aborted}, []string{"r0"}},
			{"journey", RunFilter{Journey: "a"}, []string{"r5", "r2", "r1"}},
			{"location", RunFilter{Location: "us-east"}, []string{"r4", "r2"}},
			{"failed", RunFilter{Outcome: results.Failed}, []string{"r3", "r2"}},
			{"since is inclusive", RunFilter{Since: t0.Add(2 * time.Minute)}, []string{"r5", "r4", "R9", "r3"}},
			{"limit", RunFilter{Limit: 2}, []string{"r5", "r4"}},
			{"journey and outcome", RunFilter{Journey: "a", Outcome: results.Failed}, []string{"r2"}},
			{"journey and location", RunFilter{Journey: "b", Location: "eu-west"}, []string{"R9", "r3", "r0", "r6"}},
			{"all filters", RunFilter{Journey: "b", Location: "eu-west", Outcome: results.Failed, Since: t0, Limit: 1}, []string{"r3"}},
			{"no match", RunFilter{Journey: "nobody"}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				runs, err := s.Runs(t.Context(), tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				ids := []string{}
				for _, r := range runs {
					ids = append(ids, r.ID)
					if r.Steps != nil {
						t.Errorf("run %s has steps, want none from Runs", r.ID)
					}
				}
				if !slices.Equal(ids, tt.want) {
					t.Errorf("Runs(%+v) = %v, want %v", tt.filter, ids, tt.want)
				}
			})
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		if _, err := s.Run(t.Context(), "nope"); !errors.Is(err, ErrNotFound) || err.Error() != "read run nope: not found" {
			t.Errorf("Run = %v, want ErrNotFound", err)
		}
		if _, err := s.Blob(t.Context(), "abc"); !errors.Is(err, ErrNotFound) || err.Error() != "read blob abc: not found" {
			t.Errorf("Blob = %v, want ErrNotFound", err)
		}
	})
}

// BenchmarkSaveRun saves a 15-step run with one distinct 30 KB screenshot.
func BenchmarkSaveRun(b *testing.B) {
	s, _ := openTest(b)
	shot := make([]byte, 30<<10)
	for i := range shot {
		shot[i] = byte(i * 7)
	}
	steps := make([]results.Step, 15)
	for i := range steps {
		steps[i] = results.Step{
			Index: i + 1, Name: fmt.Sprint("step ", i+1), Action: "click", Line: 10 + i,
			Start: time.Duration(i) * 100 * time.Millisecond, Duration: 90 * time.Millisecond,
			Status: results.StepPassed, URL: "https://shop.example.com/",
			Timings: &results.PageTimings{TTFB: 80 * time.Millisecond, Requests: 20},
		}
	}
	j := journey("bench", "h")
	i := 0
	for b.Loop() {
		i++
		binary.LittleEndian.PutUint64(shot, uint64(i)) // a new screenshot each run
		run := &results.Run{
			ID: fmt.Sprint("run-", i), Journey: "bench", StartedAt: start(), Outcome: results.Passed,
			Steps: slices.Clone(steps),
		}
		run.Steps[14].Artifacts = []results.Artifact{{Kind: results.ArtifactScreenshot, Label: "step", Data: shot}}
		if err := s.SaveRun(b.Context(), j, run); err != nil {
			b.Fatal(err)
		}
	}
}
