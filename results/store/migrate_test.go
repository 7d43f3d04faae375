package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
)

func TestMigrationsAppliedOnceAndRecorded(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		ms, err := loadMigrations(migrationFS, dialect)
		if err != nil {
			t.Fatal(err)
		}
		first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		dsn := newDSN(t, dialect)

		s, err := Open(t.Context(), dsn, WithClock(clock(first)), WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(logs.String(), "msg=\"applied migration\""); got != len(ms) {
			t.Errorf("first open logged %d applied migrations, want %d:\n%s", got, len(ms), &logs)
		}
		m, err := s.riverMigrator()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Count(logs.String(), "msg=\"applied River migration\""), len(m.AllVersions()); got != want {
			t.Errorf("first open logged %d applied River migrations, want %d:\n%s", got, want, &logs)
		}
		s.Close()

		logs.Reset()
		s, err = Open(t.Context(), dsn, WithClock(clock(first.Add(time.Hour))), WithLogger(logger))
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
		if m, err = s.riverMigrator(); err != nil {
			t.Fatal(err)
		}
		res, err := m.Validate(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK {
			t.Errorf("River's schema is not complete: %v", res.Messages)
		}
	})
}

// TestConcurrentOpen opens one new database from several Stores at once,
// as several agents starting together would: each migration, ours and
// River's, is applied once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := newDSN(t, dialect)
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Go(func() {
				s, err := Open(t.Context(), dsn)
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
		s := openDSN(t, dsn)
		ms, err := loadMigrations(migrationFS, dialect)
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "schema_migrations"); n != len(ms) {
			t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		m, err := s.riverMigrator()
		if err != nil {
			t.Fatal(err)
		}
		if n, want := count(t, s, "river_migration"), len(m.AllVersions()); n != want {
			t.Errorf("river_migration has %d rows, want %d", n, want)
		}
	})
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		ms, err := loadMigrations(migrationFS, dialect)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			newer  string // makes the database newer than this binary
			errFmt string // the error after "open database WHERE: "
		}{
			{"our schema", fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)`, len(ms)+1),
				fmt.Sprintf("database schema version %d is newer than this waymark knows (%d): upgrade waymark", len(ms)+1, len(ms))},
			{"River's schema", `INSERT INTO river_migration (line, version) VALUES ('main', 99)`,
				"schema version 99 of River's tables is newer than this waymark knows (%d): upgrade waymark"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dsn := migratedDSN(t, dialect)
				s := openDSN(t, dsn)
				m, err := s.riverMigrator()
				if err != nil {
					t.Fatal(err)
				}
				all := m.AllVersions()
				execSQL(t, s, tt.newer)
				where := s.where
				s.Close()
				_, err = Open(t.Context(), dsn)
				want := "open database " + where + ": " + tt.errFmt
				if strings.Contains(tt.errFmt, "%d") {
					want = fmt.Sprintf(want, all[len(all)-1].Version)
				}
				if err == nil || err.Error() != want {
					t.Errorf("Open = %v\nwant %s", err, want)
				}
			})
		}
	})
}

func TestLoadMigrationsNumbering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files []string
		want  string // error text, "" for none
	}{
		{"in order", []string{"0001_a.sql", "0002_b.sql"}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "migration migrations/sqlite/0003_c.sql: expected a name starting with 0002_"},
		{"not numbered", []string{"init.sql"}, "migration migrations/sqlite/init.sql: expected a name starting with 0001_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"migrations/postgres/0001_other.sql": &fstest.MapFile{Data: []byte("SELECT 1;")}}
			for _, f := range tt.files {
				fsys["migrations/sqlite/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := loadMigrations(fsys, DialectSQLite)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Fatalf("loadMigrations = %v, want %q", err, tt.want)
			}
			if err == nil && len(ms) != len(tt.files) {
				t.Errorf("got %d migrations, want %d", len(ms), len(tt.files))
			}
		})
	}
}

// TestMigrationSetsMatch checks that the dialects' migration sets have the
// same files, so that a schema version means the same on both.
func TestMigrationSetsMatch(t *testing.T) {
	t.Parallel()
	names := map[string][]string{}
	for _, d := range dialects {
		ms, err := loadMigrations(migrationFS, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			names[d] = append(names[d], m.name)
		}
	}
	assertEqual(t, "PostgreSQL migrations against SQLite's", names[DialectPostgres], names[DialectSQLite])
}

// TestReleasedMigrationsUnchanged pins the released migration files: a
// database that applied one never applies it again, so an edit would never
// reach it. A schema change is a new file.
func TestReleasedMigrationsUnchanged(t *testing.T) {
	t.Parallel()
	released := map[string]string{
		"migrations/sqlite/0001_init.sql":                        "d9404b1cd5480df49efe3a61a0a38bff1957cb1ca40e38ae73211606a9e04ed4",
		"migrations/sqlite/0002_setup_retried_console_notes.sql": "209fd0e7aac12b194a48ac84eeca6e7841e08c18bfe6accc95d56401cae473c6",
	}
	for name, want := range released {
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s changed after its release (sha256 %x, was %s): add a new migration instead", name, sum, want)
		}
	}
}

// schemaQuery lists our schema, River's left out (River's migrations are
// River's to review), per dialect.
var schemaQuery = map[string]string{
	DialectSQLite: `SELECT '-- ' || type || ' ' || name || char(10) || sql || ';' FROM sqlite_master
		WHERE sql IS NOT NULL AND name NOT LIKE 'river%' AND name NOT LIKE 'sqlite%' ORDER BY type DESC, name`,
	DialectPostgres: `SELECT line FROM (
		SELECT 1 AS part, c.table_name AS name, c.ordinal_position AS pos,
			'-- column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type
			|| CASE WHEN c.is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			|| COALESCE(' DEFAULT ' || c.column_default, '')
			|| COALESCE(' COLLATE ' || c.collation_name, '') AS line
		FROM information_schema.columns c
		WHERE c.table_schema = current_schema() AND c.table_name NOT LIKE 'river%'
		UNION ALL
		SELECT 2, conrelid::regclass::text, 0,
			'-- constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint
		WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text NOT LIKE 'river%'
		UNION ALL
		SELECT 3, indexname, 0, '-- index ' || indexdef
		FROM pg_indexes WHERE schemaname = current_schema() AND tablename NOT LIKE 'river%'
	) s ORDER BY part, name COLLATE "C", pos, line COLLATE "C"`,
}

// TestSchemaGolden pins the schema the migrations produce on each dialect,
// so a change to it shows up in review. Run with -update to accept a
// change.
func TestSchemaGolden(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		var lines []string
		if err := s.db.SelectContext(t.Context(), &lines, schemaQuery[dialect]); err != nil {
			t.Fatal(err)
		}
		// SQLite's statements span lines: a blank line between them.
		got := strings.Join(lines, byDialect(s, "\n\n", "\n")) + "\n"
		golden := filepath.Join("testdata", "schema."+dialect+".golden")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("schema differs from %s (run go test -update to accept):\n%s", golden, got)
		}
	})
}

// TestSQLiteMigratesInOneTransaction shows that on SQLite our migrations
// and River's commit together: when River's fail (here on a table of the
// name it needs), ours are rolled back too and the database stays as it was.
func TestSQLiteMigratesInOneTransaction(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "waymark.db")
	createAt(t, path, 2, `CREATE TABLE river_job (id INTEGER PRIMARY KEY)`)
	if s, err := Open(t.Context(), path); err == nil {
		s.Close()
		t.Fatal("Open succeeded with a river_job table in River's way")
	} else if !strings.Contains(err.Error(), "migrate River: ") {
		t.Fatalf("Open = %v, want River's migration to fail", err)
	}
	db, err := sqlx.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.GetContext(t.Context(), &version, `SELECT MAX(version) FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	var tables []string
	if err := db.SelectContext(t.Context(), &tables, `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name IN ('agents', 'river_migration') ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	if version != 2 || len(tables) != 0 {
		t.Errorf("after the failed Open: schema version %d and tables %v, want version 2 and neither agents nor river_migration", version, tables)
	}
}
