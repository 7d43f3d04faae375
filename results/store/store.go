// Package store persists runs, their steps and artifacts, the journeys and
// what `waymark serve` keeps besides (agents, dispatch progress, missed
// slots) in SQLite (pure Go, no cgo) or PostgreSQL, through the same sqlx
// code, and applies River's migrations next to its own so that River's
// jobs live in the same database and join the store's transactions.
//
// Conventions of the schema (see migrations/): times are stored as 64-bit
// integer unix milliseconds in UTC (BIGINT on PostgreSQL) and read back in
// UTC, durations as integer milliseconds, so values round-trip at
// millisecond precision. A zero time is stored as NULL and read back as the
// zero time. Text is stored as valid UTF-8 without NUL bytes, which
// PostgreSQL's TEXT cannot hold: an invalid byte or a NUL becomes U+FFFD on
// both databases, so both give back the same. Queries are written with ?
// placeholders and rebound for the dialect.
//
// SQLite runs in WAL mode with one writer: writes of one Store are
// serialised in-process, and IMMEDIATE transactions plus a busy timeout keep
// writers in other processes (`waymark run --record` next to `waymark
// serve`) and River's own transactions from failing with SQLITE_BUSY.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// The dialects a Store speaks, as Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// ErrNotFound is wrapped by the errors of readers asked for a run or blob
// that is not stored, so callers can tell "absent" from "broken" with
// errors.Is.
var ErrNotFound = errors.New("not found")

// Store is a Waymark database. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect string
	// where names the database in errors: the SQLite file, or the
	// PostgreSQL URL without its password.
	where string
	now   func() time.Time
	log   *slog.Logger
	// writeMu serialises this Store's write transactions on SQLite: it has
	// one writer, and waiting here is cheaper and fairer than in
	// busy_timeout. PostgreSQL needs no such lock.
	writeMu sync.Mutex
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock used for the times the store itself records
// (migration and journey update times, a heartbeat or miss without a
// time), so tests can pin them.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithLogger sets the logger for what the store does on its own, such as
// applying migrations. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

// Open opens the database dsn names: a postgres:// or postgresql:// URL
// (postgres://user@host:5432/db?sslmode=require) for PostgreSQL, anything
// else the path of a SQLite file, created (but not its directory) if
// needed. It applies the migrations this binary knows, then River's, and
// proves the database takes writes, so that a database that cannot keep
// runs is refused before any run rather than after it. A database newer
// than the binary, ours or River's part of it, is an error.
//
// Every error is one line naming the database (a URL without its
// password) and what to check.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	switch {
	case dsn == "":
		return nil, errors.New("open database: empty path: expected a file name such as ./waymark.db or a postgres:// URL")
	case isPostgresURL(dsn):
		return openPostgres(ctx, s, dsn)
	default:
		return openSQLite(ctx, s, dsn)
	}
}

// isPostgresURL tells a PostgreSQL URL from a SQLite path by its scheme.
func isPostgresURL(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// DB is the store's connection pool, for River's driver (see RiverDriver)
// and for code that must share the store's pool and transactions. Do not
// close it; Close does.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Dialect is DialectSQLite or DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// Tx runs fn in one write transaction and commits it when fn returns nil;
// it rolls back when fn fails or panics. Everything that must be stored
// together goes through one Tx: a run (SaveRunTx), later its incident
// change and the River jobs that notify about it (River's InsertTx takes
// tx.Tx). On SQLite, transactions of one Store are serialised in-process.
//
// fn must do all its work through tx: on SQLite another write through the
// pool would wait for the write lock tx holds until busy_timeout fails it.
// fn's error is returned as it is.
func (s *Store) Tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if s.dialect == DialectSQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// exec runs one write statement (written with ? placeholders) in its own
// transaction, serialised with the others like every write.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, tx.Rebind(query), args...)
		return err
	})
	return res, err
}

// start checks that the database opens, migrates it and proves it takes
// writes; diagnose turns a failure into what the user can act on.
func (s *Store) start(ctx context.Context, diagnose func(error) error) error {
	if err := s.db.PingContext(ctx); err != nil {
		return diagnose(err)
	}
	if err := s.migrate(ctx); err != nil {
		return diagnose(err)
	}
	if err := s.checkWrites(ctx); err != nil {
		return diagnose(err)
	}
	return nil
}

// checkWrites proves the database takes writes with a write that is rolled
// back. SQLite opens a file it may not write (mode 0444, immutable, on a
// read-only mount) read-only without a word: reads, BEGIN IMMEDIATE and a
// migration-free start all succeed, and only the first write fails, with
// "attempt to write a readonly database". PostgreSQL refuses writes on a
// standby or to a user without the right.
func (s *Store) checkWrites(ctx context.Context) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("check writes: %w", err)
	}
	defer tx.Rollback()
	// Version 0 is never a migration's; the row is rolled back anyway.
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (0, 0)`); err != nil {
		return fmt.Errorf("check writes: %w", err)
	}
	return nil
}
