package store

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// dialects are the databases every test of the store's behaviour runs on.
var dialects = []string{DialectSQLite, DialectPostgres}

// sqliteTemplate is a SQLite database fully migrated once per test binary
// by TestMain; openNew copies it rather than migrate a new file for each
// test (River's migrations take half a second under the race detector).
// It is only read once TestMain has made it.
var sqliteTemplate string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "waymark-store-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sqliteTemplate = filepath.Join(dir, "template.db")
	s, err := Open(context.Background(), sqliteTemplate)
	if err == nil {
		err = s.Close() // checkpoints: the file alone holds the database
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "make the template database:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// clock returns a fixed clock at t.
func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// openTest opens a store in a new, migrated SQLite file of t.TempDir and
// closes it when the test ends.
func openTest(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := migratedDSN(t, DialectSQLite)
	return openDSN(t, path, opts...), path
}

// migratedDSN names a new database of the dialect for this test that Open
// will find migrated (SQLite: a copy of sqliteTemplate) or migrate
// (PostgreSQL, where a new database is cheap to migrate). Tests of what
// Open does to a new database use newDSN.
func migratedDSN(t testing.TB, dialect string) string {
	t.Helper()
	dsn := newDSN(t, dialect)
	if dialect == DialectSQLite {
		b, err := os.ReadFile(sqliteTemplate)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dsn, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dsn
}

// newDSN names a new, empty database of the dialect for this test: a file
// in t.TempDir, or a PostgreSQL database of its own (see
// storetest.PostgresURL for when that skips).
func newDSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == DialectPostgres {
		return storetest.PostgresURL(t)
	}
	return filepath.Join(t.TempDir(), "waymark.db")
}

// openDSN opens the database dsn names and closes it when the test ends.
func openDSN(t testing.TB, dsn string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openNew opens a new database of the dialect, migrated and empty.
func openNew(t testing.TB, dialect string, opts ...Option) *Store {
	t.Helper()
	return openDSN(t, migratedDSN(t, dialect), opts...)
}

// forEachDialect runs test once per dialect, as parallel subtests named
// after the dialect.
func forEachDialect(t *testing.T, test func(t *testing.T, dialect string)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			test(t, d)
		})
	}
}

// byDialect picks the value for s's dialect.
func byDialect[T any](s *Store, sqlite, postgres T) T {
	if s.Dialect() == DialectPostgres {
		return postgres
	}
	return sqlite
}

// count returns the number of rows of table.
func count(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.GetContext(t.Context(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// execSQL runs statements written with ? placeholders on s, for setting up
// what a test needs.
func execSQL(t testing.TB, s *Store, query string, args ...any) {
	t.Helper()
	if _, err := s.db.ExecContext(t.Context(), s.db.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	// Hold several connections at once so the pool must open distinct ones.
	for i := range 4 {
		c, err := s.db.Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": "10000",
			"synchronous":  "1", // NORMAL
		} {
			var got string
			if err := c.GetContext(ctx, &got, "PRAGMA "+pragma); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: PRAGMA %s = %q, want %q", i, pragma, got, want)
			}
		}
	}
	if st := s.db.Stats(); st.OpenConnections < 4 {
		t.Errorf("%d open connections, want 4 distinct ones checked", st.OpenConnections)
	}
}

// TestWriteTransactionsLockAtBegin shows transactions are IMMEDIATE: a
// second writer waits at BEGIN rather than failing later when upgrading.
func TestWriteTransactionsLockAtBegin(t *testing.T) {
	a, path := openTest(t)
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tx, err := a.db.BeginTxx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if tx2, err := b.db.BeginTxx(ctx, nil); err == nil {
		tx2.Rollback()
		t.Fatal("a second transaction began while the first held the database, want it to wait for the write lock")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	garbage := filepath.Join(dir, "garbage.db")
	for name, content := range map[string]string{file: "x", garbage: strings.Repeat("not sqlite ", 100)} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	locked := unwritableDir(t)

	tests := []struct {
		name, path, want string
	}{
		{"empty path", "", `open database: empty path: expected a file name such as ./waymark.db or a postgres:// URL`},
		{"missing directory", filepath.Join(dir, "nope", "waymark.db"),
			fmt.Sprintf(`open database %q: directory %q does not exist`, filepath.Join(dir, "nope", "waymark.db"), filepath.Join(dir, "nope"))},
		{"parent is a file", filepath.Join(file, "waymark.db"),
			fmt.Sprintf(`open database %q: %q is not a directory`, filepath.Join(file, "waymark.db"), file)},
		{"path is a directory", dir,
			fmt.Sprintf(`open database %q: %q is a directory, expected a database file`, dir, dir)},
		{"unwritable directory", filepath.Join(locked, "waymark.db"),
			fmt.Sprintf(`open database %q: directory %q is not writable`, filepath.Join(locked, "waymark.db"), locked)},
		{"not a database", garbage,
			fmt.Sprintf(`open database %q: file is not a database (26)`, garbage)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := storetest.Listing(t, dir)
			s, err := Open(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want error %s", tt.path, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Open(%q) error\n got: %v\nwant: %s", tt.path, err, tt.want)
			}
			assertEqual(t, "files after the failed Open", storetest.Listing(t, dir), before)
		})
	}
}

// createAt makes a SQLite database at path as a waymark of schema
// version left it: our migrations up to version, no River tables, and
// the statements of rows run after them.
func createAt(t *testing.T, path string, version int, rows ...string) {
	t.Helper()
	ms, err := loadMigrations(migrationFS, DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlx.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	qs := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	for _, m := range ms[:version] {
		qs = append(qs, m.sql, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)`, m.version))
	}
	for _, q := range append(qs, rows...) {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("make a version %d database: %v", version, err)
		}
	}
}

// createV1 makes a database at path as waymark left it before migration
// 0002: schema 0001 only, holding run "old" with one step.
func createV1(t *testing.T, path string) {
	t.Helper()
	createAt(t, path, 1,
		`INSERT INTO runs (id, journey, started_at, finished_at, duration_ms, outcome, failing_step, error, attempt)
			VALUES ('old', 'checkout', 1000, 3000, 2000, 'failed', 1, 'step 1 "home": 500', 1)`,
		`INSERT INTO steps (run_id, idx, name, action, line, duration_ms, status, cause, error)
			VALUES ('old', 1, 'home', 'goto', 3, 2000, 'failed', 'http', '500')`)
}

// TestMigrateFromV1 opens a database of schema 0001 with a run in it: the
// run reads back as it was, with no set-up time, not retried, and no
// console or notes on its step.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waymark.db")
	createV1(t, path)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Run(t.Context(), "old")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "run stored before 0002", *got, results.Run{
		ID: "old", Journey: "checkout", StartedAt: time.UnixMilli(1000).UTC(), FinishedAt: time.UnixMilli(3000).UTC(),
		Duration: 2 * time.Second, Outcome: results.Failed, FailingStep: 1, Error: `step 1 "home": 500`, Attempt: 1,
		Steps: []results.Step{{Index: 1, Name: "home", Action: "goto", Line: 3, Duration: 2 * time.Second,
			Status: results.StepFailed, Cause: results.CauseHTTP, Error: "500"}},
	})
	if err := s.SaveRun(t.Context(), nil, retriedRun("new", start())); err != nil {
		t.Fatalf("save into the migrated database: %v", err)
	}
}

// TestMigrateFromV2 opens a database as waymark 0002 left it, with a
// journey recorded by `waymark run --record` and a run: the journey reads
// back with no definition, every location and no load error, enabled, and
// the run with no slot; River's tables are added.
func TestMigrateFromV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waymark.db")
	createAt(t, path, 2,
		`INSERT INTO journeys (name, title, file, definition_hash, owner, customer, tags, schedule, updated_at)
			VALUES ('checkout', 'Checkout', 'journeys/checkout.yaml', 'h1', 'web', 'acme', '["shop"]', '@every 5m', 1000)`,
		`INSERT INTO runs (id, journey, started_at, finished_at, outcome, attempt, setup_ms, retried)
			VALUES ('old', 'checkout', 1000, 3000, 'passed', 1, 5, 0)`)
	s := openDSN(t, path)
	js, err := s.Journeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "journeys stored before 0003", js, []JourneyRecord{{
		Name: "checkout", Title: "Checkout", File: "journeys/checkout.yaml", Hash: "h1", Owner: "web",
		Customer: "acme", Tags: []string{"shop"}, Schedule: "@every 5m", Enabled: true,
		UpdatedAt: time.UnixMilli(1000).UTC(),
	}})
	got, err := s.Run(t.Context(), "old")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "run stored before 0003", *got, results.Run{
		ID: "old", Journey: "checkout", StartedAt: time.UnixMilli(1000).UTC(), FinishedAt: time.UnixMilli(3000).UTC(),
		Setup: 5 * time.Millisecond, Outcome: results.Passed, Attempt: 1,
	})
	if n := count(t, s, "river_job"); n != 0 {
		t.Errorf("%d River jobs in a database just migrated, want 0", n)
	}
}

// TestOpenReadOnly opens databases this process may read but not write.
// SQLite opens them read-only without a word and fails only at the first
// write, which would be a run's; Open must refuse them, and leave behind
// none of the -wal and -shm files such a connection leaves.
func TestOpenReadOnly(t *testing.T) {
	tests := []struct {
		name string
		// setup makes the database at path and returns the path to make
		// read-only.
		setup func(t *testing.T, path string) string
		want  func(path string) string
	}{
		{"read-only file", func(t *testing.T, path string) string {
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SaveRun(t.Context(), nil, fullRun("r1", "checkout", start(), nil)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			return path
		}, func(path string) string { return fmt.Sprintf(`open database %q: file %q is not writable`, path, path) }},
		{"read-only file of schema 0001", func(t *testing.T, path string) string {
			createV1(t, path)
			return path
		}, func(path string) string { return fmt.Sprintf(`open database %q: file %q is not writable`, path, path) }},
		{"database in a read-only directory", func(t *testing.T, path string) string {
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			return filepath.Dir(path)
		}, func(path string) string {
			return fmt.Sprintf(`open database %q: directory %q is not writable`, path, filepath.Dir(path))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "waymark.db")
			storetest.ReadOnly(t, tt.setup(t, path))
			before := storetest.Listing(t, dir)
			s, err := Open(t.Context(), path)
			if err == nil {
				s.Close()
				t.Fatalf("Open of a read-only database succeeded, want %s", tt.want(path))
			}
			if err.Error() != tt.want(path) {
				t.Errorf("Open error\n got: %v\nwant: %s", err, tt.want(path))
			}
			assertEqual(t, "files after the failed Open", storetest.Listing(t, dir), before)
		})
	}
}

// TestFailedOpenKeepsOthersFiles shows a failed Open removes only the -wal
// and -shm files it created: those of a connection already open stay, and
// that connection goes on working.
func TestFailedOpenKeepsOthersFiles(t *testing.T) {
	a, path := openTest(t)
	if err := a.SaveRun(t.Context(), nil, fullRun("r1", "checkout", start(), nil)); err != nil {
		t.Fatal(err)
	}
	// A newer schema makes the next Open fail after SQLite has opened the
	// database, the -wal and -shm files included.
	if _, err := a.db.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)"); err != nil {
		t.Fatal(err)
	}
	// An empty -wal file, as removeSidecars keeps one with content anyway.
	if _, err := a.db.ExecContext(t.Context(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("the -wal file after a TRUNCATE checkpoint: %v, want it empty", err)
	}
	if b, err := Open(t.Context(), path); err == nil {
		b.Close()
		t.Fatal("Open of a newer database succeeded")
	}
	for _, suffix := range sidecars {
		if _, err := os.Stat(path + suffix); err != nil {
			t.Errorf("the open connection's %s file: %v", suffix, err)
		}
	}
	if err := a.SaveRun(t.Context(), nil, fullRun("r2", "checkout", start(), nil)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "runs"); n != 2 {
		t.Errorf("%d runs stored, want 2", n)
	}
}

func TestRemoveSidecars(t *testing.T) {
	tests := []struct {
		name     string
		wal, shm string // content; "-" for no file
		absent   []string
		want     []string // files left
	}{
		{"both created, empty WAL", "", "shm", []string{"-wal", "-shm"}, nil},
		{"both created, WAL with commits", "frames", "shm", []string{"-wal", "-shm"}, []string{"-shm", "-wal"}},
		{"only -shm created", "frames", "shm", []string{"-shm"}, []string{"-wal"}},
		{"none created", "", "shm", nil, []string{"-shm", "-wal"}},
		{"created, then gone", "-", "-", []string{"-wal", "-shm"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "w.db")
			for suffix, content := range map[string]string{"-wal": tt.wal, "-shm": tt.shm} {
				if content == "-" {
					continue
				}
				if err := os.WriteFile(path+suffix, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var absent []string
			for _, suffix := range tt.absent {
				absent = append(absent, path+suffix)
			}
			removeSidecars(absent)
			var left []string
			for _, suffix := range []string{"-shm", "-wal"} {
				if _, err := os.Stat(path + suffix); err == nil {
					left = append(left, suffix)
				}
			}
			assertEqual(t, "files left", left, tt.want)
		})
	}
}

// unwritableDir returns a directory this process cannot create files in: a
// read-only temporary directory, or /proc when running as root (which
// ignores permission bits).
func unwritableDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		f.Close()
		if runtime.GOOS != "linux" {
			t.Skip("cannot make an unwritable directory here: permission bits are not enforced")
		}
		return "/proc"
	}
	return dir
}
