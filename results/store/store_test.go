package store

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// clock returns a fixed clock at t.
func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// openTest opens a store in a fresh file of t.TempDir and closes it when the
// test ends.
func openTest(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "waymark.db")
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
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

func TestMigrationsAppliedOnceAndRecorded(t *testing.T) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	path := filepath.Join(t.TempDir(), "waymark.db")

	s, err := Open(t.Context(), path, WithClock(clock(first)), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(logs.String(), "applied migration"); got != len(ms) {
		t.Errorf("first open logged %d applied migrations, want %d:\n%s", got, len(ms), &logs)
	}
	s.Close()

	logs.Reset()
	s, err = Open(t.Context(), path, WithClock(clock(first.Add(time.Hour))), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if logs.Len() != 0 {
		t.Errorf("reopen applied migrations again:\n%s", &logs)
	}
	var rows []struct {
		Version   int   `db:"version"`
		AppliedAt int64 `db:"applied_at"`
	}
	if err := s.db.SelectContext(t.Context(), &rows, "SELECT version, applied_at FROM schema_migrations ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d: %+v", len(rows), len(ms), rows)
	}
	for i, r := range rows {
		if r.Version != i+1 || r.AppliedAt != first.UnixMilli() {
			t.Errorf("schema_migrations row %d = %+v, want version %d applied at %d", i, r, i+1, first.UnixMilli())
		}
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

// TestConcurrentOpen opens one new file from several Stores at once, as
// several processes starting together would: each migration is applied once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waymark.db")
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			s, err := Open(t.Context(), path)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "schema_migrations"); n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	s, path := openTest(t)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", len(ms)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), path)
	want := fmt.Sprintf("open database %q: database schema version %d is newer than this waymark knows (%d): upgrade waymark", path, len(ms)+1, len(ms))
	if err == nil || err.Error() != want {
		t.Errorf("Open = %v\nwant %s", err, want)
	}
}

func TestLoadMigrationsNumbering(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  string // error text, "" for none
	}{
		{"in order", []string{"0001_a.sql", "0002_b.sql"}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "migration migrations/0003_c.sql: expected a name starting with 0002_"},
		{"not numbered", []string{"init.sql"}, "migration migrations/init.sql: expected a name starting with 0001_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := loadMigrations(fsys)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Fatalf("loadMigrations = %v, want %q", err, tt.want)
			}
			if err == nil && len(ms) != len(tt.files) {
				t.Errorf("got %d migrations, want %d", len(ms), len(tt.files))
			}
		})
	}
}

// TestSchemaGolden pins the schema the migrations produce, so a change to it
// shows up in review. Run with -update to accept a change.
func TestSchemaGolden(t *testing.T) {
	s, _ := openTest(t)
	var rows []struct {
		Type string `db:"type"`
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	if err := s.db.SelectContext(t.Context(), &rows, `SELECT type, name, sql FROM sqlite_master
		WHERE sql IS NOT NULL ORDER BY type DESC, name`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "-- %s %s\n%s;\n\n", r.Type, r.Name, r.SQL)
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("schema differs from %s (run go test -update to accept):\n%s", golden, b.String())
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
		{"empty path", "", `open database: empty path: expected a file name such as ./waymark.db`},
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

// createV1 makes a database at path as waymark left it before migration
// 0002: schema 0001 only, holding run "old" with one step.
func createV1(t *testing.T, path string) {
	t.Helper()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlx.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		ms[0].sql,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0)`,
		`INSERT INTO runs (id, journey, started_at, finished_at, duration_ms, outcome, failing_step, error, attempt)
			VALUES ('old', 'checkout', 1000, 3000, 2000, 'failed', 1, 'step 1 "home": 500', 1)`,
		`INSERT INTO steps (run_id, idx, name, action, line, duration_ms, status, cause, error)
			VALUES ('old', 1, 'home', 'goto', 3, 2000, 'failed', 'http', '500')`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("make a version 1 database: %v", err)
		}
	}
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
