package store

import (
	"context"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// migrationFS holds the schema as numbered SQL files, one set per dialect:
// migrations/DIALECT/NNNN_what.sql, applied in order. Both sets have the
// same numbers with the same meaning, so schema_migrations says the same
// on both. A released file is never edited: a change is a new file.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the migrations/DIALECT/*.sql of fsys in order,
// checking that they are numbered 1, 2, 3… without gaps or duplicates.
func loadMigrations(fsys fs.FS, dialect string) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/"+dialect+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, name := range names { // Glob sorts, and versions are zero-padded
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: expected a name starting with %04d_", name, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	return ms, nil
}

// schemaMigrationsDDL creates the table that records our applied
// migrations, per dialect.
var schemaMigrationsDDL = map[string]string{
	DialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL -- unix milliseconds, UTC
	)`,
	DialectPostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL -- unix milliseconds, UTC
	)`,
}

// migrationLock is the PostgreSQL advisory lock key that keeps two agents
// from migrating one database at once: "waymark" in ASCII. Advisory locks
// are per database, so databases on one server do not wait for each other.
const migrationLock = 0x7761796d61726b

// migrate applies our migrations the database lacks, then River's, each
// set at most once however many processes start together.
//
// On SQLite everything runs in one IMMEDIATE transaction, which is also
// the lock that keeps other processes out until it commits.
//
// On PostgreSQL ours run in one transaction, but River's cannot join it:
// River applies each of its migrations in a transaction of its own because
// one adds an enum value that a later one uses, which PostgreSQL refuses
// within a single transaction ("unsafe use of new value"). So the lock is
// a session advisory lock, held on one connection from before our
// migrations until River's are done, rather than pg_advisory_xact_lock,
// which would let go at our commit.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS, s.dialect)
	if err != nil {
		return err
	}
	if s.dialect == DialectSQLite {
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer tx.Rollback()
		if err := s.applyMigrations(ctx, tx, ms); err != nil {
			return err
		}
		if err := s.migrateRiverSQLite(ctx, tx); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate: commit: %w", err)
		}
		return nil
	}

	conn, err := s.db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		conn.Close()
		return fmt.Errorf("migrate: wait for the migration lock: %w", err)
	}
	defer func() {
		// A connection still holding the lock must not go back to the
		// pool: it would keep every other agent from starting.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := s.applyMigrations(ctx, tx, ms); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return s.migrateRiverPostgres(ctx)
}

// applyMigrations applies the migrations of ms that the database lacks in
// tx, and records each in schema_migrations. A database with a migration
// this binary does not know is refused.
func (s *Store) applyMigrations(ctx context.Context, tx *sqlx.Tx, ms []migration) error {
	if _, err := tx.ExecContext(ctx, schemaMigrationsDDL[s.dialect]); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.GetContext(ctx, &current, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this waymark knows (%d): upgrade waymark", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
			m.version, s.now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.name, err)
		}
		s.log.InfoContext(ctx, "applied migration", "version", m.version, "file", m.name)
	}
	return nil
}
