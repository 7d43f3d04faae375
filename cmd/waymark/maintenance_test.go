package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// maintNow is the fixed "now" of the maintenance tests: a Monday evening.
var maintNow = time.Date(2026, 11, 23, 20, 10, 0, 0, time.UTC)

func TestWriteMaintenance(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	fromConfig := []results.Maintenance{
		{Name: "weekly patching", Reason: "OS updates", Match: results.MaintenanceMatch{Tag: "shop"},
			Cron: "0 2 * * SUN", Duration: 2 * time.Hour, TimeZone: "Europe/London"},
		{Match: results.MaintenanceMatch{Customer: "acme"}, Cron: "CRON_TZ=Europe/London 30 23 * * *", Duration: time.Hour},
		{Name: "evening", Match: results.MaintenanceMatch{Tag: "eu"}, Cron: "0 20 * * *", Duration: 30 * time.Minute},
		{Match: results.MaintenanceMatch{Journey: "guest-checkout"},
			From: time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)},
		{Match: results.MaintenanceMatch{Journey: "guest-checkout"},
			From: time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)},
	}
	stored := []results.Maintenance{
		{ID: 7, Reason: "release 4.2", Match: results.MaintenanceMatch{Tag: "shop"}, From: at(20, 0), To: at(20, 30).Add(15 * time.Second),
			CreatedBy: "ci", CreatedAt: at(20, 0)},
		{ID: 8, Match: results.MaintenanceMatch{Journey: "checkout", Customer: "acme"}, From: at(19, 0), To: at(21, 0),
			CreatedBy: "alice", CreatedAt: at(19, 0), EndedAt: at(19, 30)},
		{ID: 9, Reason: "\x1b[2Jwipe", Match: results.MaintenanceMatch{Tag: "shop"}, From: at(20, 0), To: at(22, 0), CreatedBy: "bob\n"},
	}
	want := `ID      WINDOW                         MATCH                        WHEN                                         NOW
config  weekly patching (OS updates)   tag shop                     0 2 * * SUN for 2h, Europe/London            next 2026-11-29 02:00 → 04:00 (in 5d6h)
config  -                              customer acme                CRON_TZ=Europe/London 30 23 * * * for 1h     next 23:30 → 2026-11-24 00:30 (in 3h20m)
config  evening                        tag eu                       0 20 * * * for 30m, UTC                      active until 20:30 (20m left)
config  -                              journey guest-checkout       2026-11-01 22:00 → 2026-11-02 02:00          over
config  -                              journey guest-checkout       2026-12-01 22:00 → 2026-12-02 02:00          next 2026-12-01 22:00 → 2026-12-02 02:00 (in 8d2h)
7       release 4.2                    tag shop                     20:00 → 20:30:15, by ci                      active until 20:30:15 (20m left)
8       -                              journey checkout, customer acme  19:00 → 21:00, by alice                  ended early at 19:30
9       "\x1b[2Jwipe"                  tag shop                     20:00 → 22:00, by "bob\n"                    active until 22:00 (1h50m left)
`
	var b strings.Builder
	if err := writeMaintenance(&b, fromConfig, stored, maintNow, time.UTC); err != nil {
		t.Fatal(err)
	}
	if got := squeeze(b.String()); got != squeeze(want) {
		t.Errorf("writeMaintenance =\n%s\nwant (spacing aside)\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("escape sequence in the list:\n%q", b.String())
	}

	b.Reset()
	if err := writeMaintenance(&b, nil, nil, maintNow, time.UTC); err != nil || b.String() != "no maintenance windows\n" {
		t.Errorf("writeMaintenance of none = %q, %v", b.String(), err)
	}

	// Times are shown in the zone asked for: 20:30Z is 05:30 the next day
	// in Tokyo.
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := writeMaintenance(&b, fromConfig[2:3], nil, maintNow, tokyo); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "active until 05:30 (20m left)") {
		t.Errorf("in Tokyo:\n%s", b.String())
	}
}

// squeeze turns every run of spaces into one, so a table is compared by
// its cells, not by how tabwriter pads them.
func squeeze(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }

func TestMaintShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                             "0s",
		1400 * time.Millisecond:       "1s",
		59 * time.Second:              "59s",
		90 * time.Second:              "2m",
		30 * time.Minute:              "30m",
		2 * time.Hour:                 "2h",
		90 * time.Minute:              "1h30m",
		24*time.Hour - 10*time.Second: "24h",
		24 * time.Hour:                "1d",
		5*24*time.Hour + 5*time.Hour + 50*time.Minute: "5d6h",
	} {
		if got := maintShort(d); got != want {
			t.Errorf("maintShort(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestActiveWindows checks what `waymark serve` is given for a run: the
// config's windows and the store's that are active at its time.
func TestActiveWindows(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shop := results.MaintenanceMatch{Tag: "shop"}
	for _, w := range []results.Maintenance{
		{Reason: "deploy", Match: shop, From: maintNow.Add(-5 * time.Minute), To: maintNow.Add(25 * time.Minute), CreatedAt: maintNow},
		{Reason: "later", Match: shop, From: maintNow.Add(time.Hour), To: maintNow.Add(2 * time.Hour), CreatedAt: maintNow},
		{Reason: "over", Match: shop, From: maintNow.Add(-2 * time.Hour), To: maintNow.Add(-time.Hour), CreatedAt: maintNow},
	} {
		if _, err := st.StartMaintenance(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
	ended, err := st.StartMaintenance(t.Context(), results.Maintenance{Reason: "ended", Match: shop, From: maintNow.Add(-time.Hour), To: maintNow.Add(time.Hour), CreatedAt: maintNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EndMaintenance(t.Context(), ended.ID, maintNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	cfg := []results.Maintenance{
		{Name: "evening", Match: shop, Cron: "0 20 * * *", Duration: 30 * time.Minute},
		{Name: "night", Match: shop, Cron: "0 2 * * *", Duration: time.Hour},
	}
	for _, tc := range []struct {
		name string
		st   *store.Store
		at   time.Time
		want []string
	}{
		{"config and store", st, maintNow, []string{"evening", "deploy"}},
		{"no store", nil, maintNow, []string{"evening"}},
		{"later", st, maintNow.Add(90 * time.Minute), []string{"later"}},
		{"at night", st, maintNow.Add(6 * time.Hour), []string{"night"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := activeWindows(t.Context(), cfg, tc.st, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, w := range ws {
				got = append(got, w.Label())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("activeWindows at %s = %q, want %q", tc.at, got, tc.want)
			}
		})
	}
}

// maintConfig writes a waymark.yaml with the database and one window of
// each kind, and returns its path.
func maintConfig(t *testing.T, dsn string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "waymark.yaml")
	body := `database: "` + dsn + `"
maintenance:
  - {name: weekly patching, match: {tag: shop}, cron: "0 2 * * SUN", duration: 2h, time_zone: Europe/London}
  - {match: {journey: guest-checkout}, from: 2026-12-01T22:00:00Z, to: 2026-12-02T02:00:00Z}
`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMaintenanceCommands starts, lists and ends windows through the CLI,
// on each dialect, as a CI pipeline and a person would.
func TestMaintenanceCommands(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			dsn := filepath.Join(t.TempDir(), "waymark.db")
			if dialect == store.DialectPostgres {
				dsn = storetest.PostgresURL(t)
			}
			st, err := store.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			cfg := maintConfig(t, dsn)
			mw := func(args ...string) result {
				t.Helper()
				r := cli(t, map[string]string{"USER": "alice"}, append(append([]string{"maintenance"}, args...), "--config", cfg)...)
				if r.code != 0 {
					t.Fatalf("waymark maintenance %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
				}
				return r
			}
			mustMatch := func(what, out string, patterns ...string) {
				t.Helper()
				for _, p := range patterns {
					if !regexp.MustCompile(`(?m)` + p).MatchString(out) {
						t.Errorf("%s lacks a line matching %q:\n%s", what, p, out)
					}
				}
			}

			r := mw()
			mustMatch("the list of the config's windows", r.stdout,
				`^ID +WINDOW +MATCH +WHEN +NOW$`,
				`^config +weekly patching +tag shop +0 2 \* \* SUN for 2h, Europe/London +next `,
				`^config +- +journey guest-checkout +2026-12-0[12] \d\d:00 → 2026-12-0[12] \d\d:00 +`)

			r = mw("start", "--tag", "shop", "--for", "30m", "--reason", "release 4.2", "--by", "ci")
			m := regexp.MustCompile(`^maintenance (\d+) started: tag shop until .+ \(30m\)\n$`).FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("start said %q", r.stdout)
			}
			id := m[1]
			r = mw()
			mustMatch("the list after start", r.stdout, `^`+id+` +release 4\.2 +tag shop +.* by ci +active until .* \((30m|29m) left\)$`)

			r = mw("end", id)
			mustMatch("end", r.stdout, `^maintenance `+id+` ended: tag shop \(was until .+\)$`)
			r = mw("end", id)
			mustMatch("end again", r.stdout, `^maintenance `+id+` \(tag shop\) was already over at .+: nothing to end$`)

			// By match: exactly the match it was made with.
			r = mw("start", "--journey", "checkout", "--customer", "acme", "--for", "1h")
			id2 := regexp.MustCompile(`^maintenance (\d+) started: journey checkout, customer acme until`).FindStringSubmatch(r.stdout)
			if id2 == nil {
				t.Fatalf("start said %q", r.stdout)
			}
			r = mw("end", "--journey", "checkout")
			mustMatch("end of another match", r.stdout, `^no active maintenance window made for journey checkout: nothing to end$`)
			r = mw("end", "--journey", "checkout", "--customer", "acme")
			mustMatch("end by match", r.stdout, `^maintenance `+id2[1]+` ended: journey checkout, customer acme \(was until .+\)$`)

			r = mw()
			mustMatch("the list at the end", r.stdout,
				`^`+id+` +release 4\.2 +tag shop +.*, by ci +ended early at `,
				`^`+id2[1]+` +- +journey checkout, customer acme +.*, by alice +ended early at `)
			if strings.Contains(r.stdout, "active until") {
				t.Errorf("a window is still active:\n%s", r.stdout)
			}
		})
	}
}

// TestMaintenanceListWithoutDatabase lists the config's windows when the
// database does not exist yet, and does not create it.
func TestMaintenanceListWithoutDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := maintConfig(t, filepath.Join(dir, "waymark.db"))
	r := cli(t, nil, "maintenance", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "weekly patching") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if files := storetest.Listing(t, dir); len(files) != 1 {
		t.Errorf("the list created %v", files)
	}
}

// TestMaintenanceBadInput checks that every mistake is exit 2, names the
// flag or setting, prints nothing on stdout and, when found before the
// database is opened, leaves it alone.
func TestMaintenanceBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "waymark.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	missing := filepath.Join(dir, "missing.db")
	badConfig := filepath.Join(t.TempDir(), "waymark.yaml")
	if err := os.WriteFile(badConfig, []byte("maintenance:\n  - {match: {tag: shop}, cron: \"0 2 * * SUN\", duration: 2h, time_zone: Europe/Lndon}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		want  []string // in stderr
		opens bool     // the database is opened before the mistake is found
	}{
		{"start without a match", []string{"start", "--for", "30m"}, []string{"--journey, --tag or --customer: want at least one"}, false},
		{"start without --for", []string{"start", "--tag", "shop"}, []string{"--for: required"}, false},
		{"--for zero", []string{"start", "--tag", "shop", "--for", "0s"}, []string{`--for "0s": zero: want a positive duration`}, false},
		{"--for negative", []string{"start", "--tag", "shop", "--for", "-5m"}, []string{`--for "-5m": negative`}, false},
		{"--for not a duration", []string{"start", "--tag", "shop", "--for", "soon"}, []string{`--for "soon": not a duration`}, false},
		{"start with an argument", []string{"start", "shop", "--for", "30m"}, []string{`unknown command "shop"`}, false},
		{"unknown flag", []string{"start", "--owner", "web", "--for", "30m"}, []string{"unknown flag: --owner"}, false},
		{"end with ID and match", []string{"end", "3", "--tag", "shop"}, []string{"not both"}, false},
		{"end with neither", []string{"end"}, []string{"want the window's ID"}, false},
		{"end with a bad ID", []string{"end", "WM-3"}, []string{`maintenance ID "WM-3": want a number`}, false},
		{"end with two IDs", []string{"end", "3", "4"}, []string{"accepts at most 1 arg"}, false},
		{"end an unknown ID", []string{"end", "999"}, []string{"no maintenance window 999 in " + db}, true},
		{"list with a bad --since", []string{"--since", "7"}, []string{`--since "7"`}, false},
		{"start in a missing database", []string{"start", "--tag", "shop", "--for", "30m", "--database", missing},
			[]string{"--database", missing, "no such database"}, false},
		{"end in a missing database", []string{"end", "3", "--database", missing}, []string{"--database", missing, "no such database"}, false},
		{"bad window in the config", []string{"--config", badConfig},
			[]string{badConfig + `:2:72: maintenance.time_zone: unknown time zone "Europe/Lndon"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := storetest.Listing(t, dir)
			r := cli(t, map[string]string{"WAYMARK_DATABASE": db}, append([]string{"maintenance"}, tc.args...)...)
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
			if after := storetest.Listing(t, dir); !tc.opens && !slices.Equal(before, after) {
				t.Errorf("the command changed %s:\nbefore %q\nafter  %q", dir, before, after)
			}
		})
	}
}
