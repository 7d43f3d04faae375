package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// uuid7 makes a run ID as the runner does (a UUIDv7: its first 48 bits
// are t in Unix milliseconds), with n in place of the random bits.
func uuid7(t time.Time, n int) string {
	ms := t.UnixMilli()
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ms>>16, ms&0xffff, n&0xfff, n&0xfff, n)
}

// storedFixture is the runs TestRuns stores, by name.
type storedFixture map[string]*results.Run

// saveRunsFixture stores, in a new database file, runs made relative to
// now, and returns the file and the runs. Newest first they are: F and E
// (attempts 2 and 1 of checkout, a second apart, so their IDs share their
// first 8 characters), D (search, degraded), C (checkout, passed), B
// (checkout, failed on an assertion), G (login, aborted, whose ID was made
// after its start, as for a run rescued from a dead agent) and A (search,
// passed, ten days ago).
func saveRunsFixture(t *testing.T, now time.Time) (string, storedFixture) {
	t.Helper()
	ms := time.Millisecond
	mk := func(journey string, started time.Time, idTime time.Time, n int, o results.Outcome, steps ...results.Step) *results.Run {
		var d time.Duration
		for _, s := range steps {
			d += s.Duration
		}
		return &results.Run{ID: uuid7(idTime, n), Journey: journey, Title: "The " + journey + " journey", File: "journeys/" + journey + ".yaml",
			Trigger: results.TriggerSchedule, Location: "eu-west", StartedAt: started, FinishedAt: started.Add(d), Duration: d,
			Setup: 120 * ms, Outcome: o, BrowserVersion: "HeadlessChrome/136.0.7103.92", Attempt: 1, Steps: steps}
	}
	passed := func(i int, name string) results.Step {
		return results.Step{Index: i, Name: name, Action: "goto", Line: 4 + i, Duration: 300 * ms, Status: results.StepPassed,
			URL: "http://shop.test/", HTTPStatus: 200}
	}
	at := func(d time.Duration) time.Time { return now.Add(-d).Truncate(time.Millisecond) }
	// E's and F's IDs are a second apart within one 65.536 s block of
	// UUIDv7 time, so they always share their first 8 characters.
	efID := time.UnixMilli(at(5*time.Minute).UnixMilli()&^0xFFFF + 10_000)

	runs := storedFixture{
		"A": mk("search", at(10*24*time.Hour), at(10*24*time.Hour), 1, results.Passed, passed(1, "Home page")),
		"B": mk("checkout", at(2*24*time.Hour), at(2*24*time.Hour), 2, results.Failed, passed(1, "Home page"),
			results.Step{Index: 2, Name: "assert total", Action: "assert", Line: 9, Duration: 2 * time.Second, Status: results.StepFailed,
				Cause: results.CauseAssertion, Error: "expected \"£42.00\", got \"£0.00\" \x1b[2J", Expected: `"£42.00"`, Actual: `"£0.00"`,
				URL: "http://shop.test/cart", Notes: []string{"the total was last updated 1.2s before the timeout"},
				Console: []results.ConsoleEntry{{Kind: results.ConsoleException, Text: "TypeError: cart is null", Source: "http://shop.test/cart.js:7"}}},
			results.Step{Index: 3, Name: "click text=Pay", Action: "click", Line: 10, Status: results.StepSkipped}),
		"C": mk("checkout", at(time.Hour), at(time.Hour), 3, results.Passed, passed(1, "Home page")),
		"D": mk("search", at(30*time.Minute), at(30*time.Minute), 4, results.Degraded,
			results.Step{Index: 1, Name: "goto /search", Action: "goto", Line: 5, Duration: 2400 * ms, Status: results.StepDegraded,
				Error: "took 2.4s, over the 2s warn threshold", URL: "http://shop.test/search", HTTPStatus: 200}),
		"E": mk("checkout", at(5*time.Minute), efID, 5, results.Error,
			results.Step{Index: 1, Name: "Home page", Action: "goto", Line: 5, Duration: 50 * ms, Status: results.StepError,
				Cause: results.CauseMonitor, Error: "browser crashed: websocket closed"}),
		"F": mk("checkout", at(5*time.Minute-time.Second), efID.Add(time.Second), 6, results.Passed, passed(1, "Home page")),
		"G": mk("login", at(3*24*time.Hour), now, 7, results.Aborted,
			results.Step{Index: 1, Name: "Sign in", Action: "click", Line: 5, Duration: 0, Status: results.StepAborted,
				Error: "interrupted: the run was cut short here"}),
	}
	runs["B"].FailingStep, runs["B"].Cause, runs["B"].Error = 2, results.CauseAssertion, `step 2 "assert total": expected "£42.00", got "£0.00"`
	runs["E"].FailingStep, runs["E"].Cause, runs["E"].Error, runs["E"].Retried = 1, results.CauseMonitor, `step 1 "Home page": browser crashed`, true
	runs["F"].Attempt = 2
	runs["G"].FailingStep, runs["G"].Error = 1, `step 1 "Sign in": interrupted`

	db := filepath.Join(t.TempDir(), "runs.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range slices.Sorted(maps.Keys(runs)) {
		if err := st.SaveRun(t.Context(), nil, runs[name]); err != nil {
			t.Fatalf("save run %s: %v", name, err)
		}
	}
	if id := runs["E"].ID[:8]; !strings.HasPrefix(runs["F"].ID, id) {
		t.Fatalf("the fixture needs E and F to share their first 8 characters: %s %s", runs["E"].ID, runs["F"].ID)
	}
	return db, runs
}

// listed is a row of `waymark runs`: its ID column and journey.
type listed struct{ id, journey string }

// parseList reads the rows of `waymark runs` below its header.
func parseList(t *testing.T, out string) []listed {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "STARTED") {
		t.Fatalf("no header in:\n%s", out)
	}
	var rows []listed
	for _, l := range lines[1:] {
		f := strings.Fields(l) // symbol, date, time, ID, journey, …
		if len(f) < 5 {
			t.Fatalf("short row %q in:\n%s", l, out)
		}
		rows = append(rows, listed{f[3], f[4]})
	}
	return rows
}

// want is the rows runs names, in order.
func (fx storedFixture) rows(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, fx[n].Journey+" "+fx[n].ID)
	}
	return out
}

// matchRows pairs each listed row with the fixture run whose ID it starts,
// as "journey fullID".
func (fx storedFixture) matchRows(t *testing.T, rows []listed) []string {
	t.Helper()
	var out []string
	for _, r := range rows {
		var hit []string
		for _, run := range fx {
			if strings.HasPrefix(run.ID, r.id) {
				hit = append(hit, run.Journey+" "+run.ID)
			}
		}
		if len(hit) != 1 {
			t.Errorf("listed ID %q matches %d runs, want 1", r.id, len(hit))
			continue
		}
		out = append(out, hit[0])
	}
	return out
}

func TestRunsList(t *testing.T) {
	db, fx := saveRunsFixture(t, time.Now())
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string // fixture runs, newest first
	}{
		{"every run", nil, []string{"runs", "--database", db}, []string{"F", "E", "D", "C", "B", "G", "A"}},
		{"the config's database", map[string]string{"WAYMARK_DATABASE": db}, []string{"runs"}, []string{"F", "E", "D", "C", "B", "G", "A"}},
		{"one journey", nil, []string{"runs", "checkout", "--database", db}, []string{"F", "E", "C", "B"}},
		{"failed", nil, []string{"runs", "--outcome", "failed", "--database", db}, []string{"B"}},
		{"error in one journey", nil, []string{"runs", "checkout", "--outcome", "error", "--database", db}, []string{"E"}},
		{"limit", nil, []string{"runs", "--limit", "2", "--database", db}, []string{"F", "E"}},
		{"limit 0 is every run", nil, []string{"runs", "--limit", "0", "--database", db}, []string{"F", "E", "D", "C", "B", "G", "A"}},
		{"since a day", nil, []string{"runs", "--since", "1d", "--database", db}, []string{"F", "E", "D", "C"}},
		{"since days and hours", nil, []string{"runs", "--since", "2d12h", "--database", db}, []string{"F", "E", "D", "C", "B"}},
		{"since minutes", nil, []string{"runs", "--since", "45m", "--database", db}, []string{"F", "E", "D"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.env, tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if got, want := fx.matchRows(t, parseList(t, r.stdout)), fx.rows(tc.want...); !slices.Equal(got, want) {
				t.Errorf("listed\n%s\nwant\n%s\nstdout:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.stdout)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("escape sequence in output not on a terminal:\n%q", r.stdout)
			}
		})
	}

	// The line of a run that did not pass says what decided it, and
	// E and F, a second apart, are told apart by longer IDs.
	r := cli(t, nil, "runs", "--database", db)
	for _, want := range []string{
		`checkout  eu-west   failed           2.3s  step 2 "assert total": assertion`,
		`search    eu-west   degraded         2.4s  step 1 "goto /search": slow`,
		`checkout  eu-west   error, retried   50ms  step 1 "Home page": monitor — the site was not checked`,
		`login     eu-west   aborted           0ms  step 1 "Sign in": interrupted`,
		fx["B"].StartedAt.Local().Format("2006-01-02 15:04:05") + "  " + fx["B"].ID[:8] + " ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, row := range parseList(t, r.stdout) {
		if len(row.id) < 8 {
			t.Errorf("ID %q shorter than 8 characters", row.id)
		}
	}

	if r := cli(t, nil, "runs", "nosuch", "--database", db); r.code != 0 || r.stdout != "no runs\n" {
		t.Errorf("a journey without runs: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestRunsShow(t *testing.T) {
	db, fx := saveRunsFixture(t, time.Now())

	// Every ID the list shows opens its run.
	list := cli(t, nil, "runs", "--database", db)
	rows := parseList(t, list.stdout)
	if len(rows) != len(fx) {
		t.Fatalf("listed %d runs, want %d:\n%s", len(rows), len(fx), list.stdout)
	}
	for _, row := range rows {
		r := cli(t, nil, "runs", "show", row.id, "--database", db)
		if r.code != 0 {
			t.Errorf("runs show %s: exit %d, stderr:\n%s", row.id, r.code, r.stderr)
			continue
		}
		if !strings.Contains(r.stdout, "journey    "+row.journey+"\n") {
			t.Errorf("runs show %s shows another journey than %s:\n%s", row.id, row.journey, r.stdout)
		}
	}

	b := fx["B"]
	for _, tc := range []struct{ name, id string }{
		{"whole ID", b.ID},
		{"first 8 characters", b.ID[:8]},
		{"upper case", strings.ToUpper(b.ID[:13])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, map[string]string{"WAYMARK_DATABASE": db}, "runs", "show", tc.id)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			for _, want := range []string{
				"run        " + b.ID + "\n",
				"journey    checkout\n",
				"title      The checkout journey\n",
				"file       journeys/checkout.yaml\n",
				"trigger    schedule\n",
				"location   eu-west\n",
				"started    " + b.StartedAt.Local().Format("2006-01-02 15:04:05 MST") + "\n",
				"duration   2.3s\n",
				"setup      120ms\n",
				`outcome    ✗ failed  step 2 "assert total": assertion` + "\n",
				"attempt    1\n",
				"retried    no\n",
				"browser    HeadlessChrome/136.0.7103.92\n",
				"  ✓  1 Home page        300ms\n",
				"       url        http://shop.test/ (200)\n",
				"  ✗  2 assert total      2.0s  assertion\n",
				`       error      expected "£42.00", got "£0.00" \x1b[2J` + "\n",
				`       expected   "£42.00"` + "\n",
				`       actual     "£0.00"` + "\n",
				"       url        http://shop.test/cart\n",
				"       exception  TypeError: cart is null\n",
				"                  from http://shop.test/cart.js:7\n",
				"       note       the total was last updated 1.2s before the timeout\n",
				"  –  3 click text=Pay skipped\n",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("show lacks %q:\n%s", want, r.stdout)
				}
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("a raw escape from the page, or a color, reached the output:\n%q", r.stdout)
			}
		})
	}

	// G's ID was made three days after it started: a prefix of it is
	// found all the same.
	if r := cli(t, nil, "runs", "show", fx["G"].ID[:13], "--database", db); r.code != 0 || !strings.Contains(r.stdout, "journey    login\n") {
		t.Errorf("runs show of a run whose ID is younger than its start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestRunsBadInput checks that every mistake is exit 2, says what was
// wrong in terms of what the user typed, and creates no database.
func TestRunsBadInput(t *testing.T) {
	db, fx := saveRunsFixture(t, time.Now())
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string // in stderr
	}{
		{"bad outcome", nil, []string{"runs", "--outcome", "fialed", "--database", db},
			[]string{`--outcome "fialed": want one of passed, degraded, failed, error, aborted`}},
		{"negative limit", nil, []string{"runs", "--limit", "-1", "--database", db}, []string{"--limit -1"}},
		{"limit not a number", nil, []string{"runs", "--limit", "ten", "--database", db}, []string{"--limit"}},
		{"since without unit", nil, []string{"runs", "--since", "7", "--database", db}, []string{`--since "7"`, "7d"}},
		{"since bad unit", nil, []string{"runs", "--since", "7x", "--database", db}, []string{`--since "7x"`}},
		{"since zero", nil, []string{"runs", "--since", "0d", "--database", db}, []string{`--since "0d": zero`}},
		{"since negative", nil, []string{"runs", "--since", "-3h", "--database", db}, []string{`--since "-3h": negative`}},
		{"two journeys", nil, []string{"runs", "a", "b", "--database", db}, []string{"accepts at most 1 arg"}},
		{"missing database", nil, []string{"runs", "--database", missing}, []string{"--database", missing, "no such database"}},
		{"missing config database", map[string]string{"WAYMARK_DATABASE": missing}, []string{"runs"},
			[]string{"database (from the config)", missing, "no such database"}},
		{"missing database, show", nil, []string{"runs", "show", fx["B"].ID, "--database", missing}, []string{"--database", missing, "no such database"}},
		{"database is a directory", nil, []string{"runs", "--database", dir}, []string{"is a directory"}},
		{"no such run", nil, []string{"runs", "show", "nosuch-run", "--database", db}, []string{`no run with ID "nosuch-run"`, db}},
		{"no such run, v7 prefix", nil, []string{"runs", "show", fx["B"].ID[:8] + "-ffff", "--database", db}, []string{`no run with ID "` + fx["B"].ID[:8] + `-ffff"`}},
		{"prefix of two runs", nil, []string{"runs", "show", fx["E"].ID[:8], "--database", db},
			[]string{`run ID "` + fx["E"].ID[:8] + `" is the start of 2 runs' IDs`, fx["E"].ID, fx["F"].ID, `"checkout"`}},
		{"show without ID", nil, []string{"runs", "show", "--database", db}, []string{"accepts 1 arg"}},
		{"show with empty ID", nil, []string{"runs", "show", "", "--database", db}, []string{"run ID: empty"}},
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
			if r.stdout != "" {
				t.Errorf("stdout on bad input:\n%s", r.stdout)
			}
			if after := storetest.Listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("the command changed %s:\nbefore %q\nafter  %q", dir, before, after)
			}
			if _, err := os.Stat(missing); err == nil {
				t.Errorf("reading created %s", missing)
			}
		})
	}
}

func TestRunsParseSince(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"0d", 0, "zero"},
		{"0s", 0, "zero"},
		{"-1h", 0, "negative"},
		{"1d-1h", 0, "negative"},
		{"7", 0, "not a duration"},
		{"d", 0, "not a duration"},
		{"7days", 0, "not a duration"},
		{"", 0, "zero"},
		{"99999999999999999d", 0, "too long"},
		{"106751d24h", 0, "too long"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := reports.ParseSince(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("reports.ParseSince(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("reports.ParseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRunsUUID7Since(t *testing.T) {
	now := time.Date(2026, 11, 23, 16, 50, 3, 0, time.UTC)
	id := uuid7(now.Add(-time.Hour), 1) // 019ab1a9-…
	made := now.Add(-time.Hour).Truncate(time.Millisecond)
	for _, tc := range []struct {
		name, prefix string
		ok           bool
		earliest     time.Time // the run's start is at or after it; zero when !ok
		latest       time.Time // … and it is no later than this
	}{
		{"8 digits: about a minute", id[:8], true, made.Add(-2 * time.Minute), made.Add(-time.Minute)},
		{"with the dash", id[:9], true, made.Add(-2 * time.Minute), made.Add(-time.Minute)},
		{"12 digits: the millisecond", id[:13], true, made.Add(-time.Minute), made.Add(-time.Minute)},
		{"the whole ID", id, true, made.Add(-time.Minute), made.Add(-time.Minute)},
		{"too short", id[:7], false, time.Time{}, time.Time{}},
		{"not hex", "0197zzzz", false, time.Time{}, time.Time{}},
		{"not shaped like a UUID", id[:8] + "x1234", false, time.Time{}, time.Time{}},
		{"before 2020 (a v4 UUID)", "0123abcd-0000", false, time.Time{}, time.Time{}},
		{"a ULID", "01JPD4Z8AY7K", false, time.Time{}, time.Time{}},
		{"a v4 UUID far in the future", "f3c1a2b4-0000", false, time.Time{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := uuid7Since(tc.prefix, now)
			if ok != tc.ok {
				t.Fatalf("uuid7Since(%q) ok = %v, want %v (%v)", tc.prefix, ok, tc.ok, got)
			}
			if ok && (got.Before(tc.earliest) || got.After(tc.latest)) {
				t.Errorf("uuid7Since(%q) = %v, want between %v and %v", tc.prefix, got, tc.earliest, tc.latest)
			}
		})
	}
}
