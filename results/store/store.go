// Package store persists runs, their steps and artifacts in SQLite (pure
// Go, no cgo) through sqlx.
//
// Conventions of the schema (see migrations/): times are stored as INTEGER
// unix milliseconds in UTC and read back in UTC, durations as INTEGER
// milliseconds, so values round-trip at millisecond precision. A zero time
// is stored as NULL and read back as the zero time.
//
// The database runs in WAL mode with one writer: writes of one Store are
// serialised in-process, and IMMEDIATE transactions plus a busy timeout keep
// writers in other processes (`waymark run --record` next to `waymark
// serve`) from failing with SQLITE_BUSY.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is wrapped by the errors of readers asked for a run or blob
// that is not stored, so callers can tell "absent" from "broken" with
// errors.Is.
var ErrNotFound = errors.New("not found")

// Store is a Waymark database. It is safe for concurrent use.
type Store struct {
	db  *sqlx.DB
	now func() time.Time
	log *slog.Logger
	// writeMu serialises this Store's write transactions: SQLite has one
	// writer, and waiting here is cheaper and fairer than in busy_timeout.
	writeMu sync.Mutex
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock used for the times the store itself records
// (migration and journey update times), so tests can pin them.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithLogger sets the logger for what the store does on its own, such as
// applying migrations. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

// dsnParams apply to every pooled connection as it opens: WAL so readers
// never block the writer, a busy timeout instead of SQLITE_BUSY, foreign
// keys on, NORMAL sync (safe in WAL), IMMEDIATE write transactions so a
// transaction never has to upgrade a read lock, and error texts without the
// misleading "out of memory" SQLite appends to open failures.
const dsnParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate&_error_rc=1"

// Open opens the SQLite database at path, creating the file (but not its
// directory) if needed, applies the migrations this binary knows and
// proves the database takes writes, so that a database that cannot keep
// runs is refused before any run rather than after it. A database newer
// than the binary is an error.
//
// When Open fails it leaves behind no -wal or -shm file that it created
// itself (see removeSidecars); the database file is left as it is.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path: expected a file name such as ./waymark.db")
	}
	s := &Store{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	absent := absentSidecars(path)
	db, err := sqlx.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	s.db = db
	if err := s.start(ctx, path); err != nil {
		db.Close()
		removeSidecars(absent)
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	return s, nil
}

// start checks that the database at path opens, migrates it and proves it
// takes writes.
func (s *Store) start(ctx context.Context, path string) error {
	if err := s.db.PingContext(ctx); err != nil {
		return diagnose(path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return diagnose(path, err)
	}
	if err := s.checkWrites(ctx); err != nil {
		return diagnose(path, err)
	}
	return nil
}

// checkWrites proves the database takes writes with a write that is rolled
// back. SQLite opens a file it may not write (mode 0444, immutable, on a
// read-only mount) read-only without a word: reads, BEGIN IMMEDIATE and a
// migration-free start all succeed, and only the first write fails, with
// "attempt to write a readonly database".
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

// sidecars are the files SQLite keeps next to a database in WAL mode.
var sidecars = [...]string{"-wal", "-shm"}

// absentSidecars returns the -wal and -shm files of the database at path
// that do not exist yet.
func absentSidecars(path string) []string {
	var absent []string
	for _, suffix := range sidecars {
		if _, err := os.Lstat(path + suffix); errors.Is(err, fs.ErrNotExist) {
			absent = append(absent, path+suffix)
		}
	}
	return absent
}

// removeSidecars removes the files of absent (see absentSidecars) that a
// failed Open created. A connection that could only read leaves its -wal
// and -shm behind when it closes, as it cannot checkpoint; left there,
// owned by this user with the database file's mode, they would stand in
// the way of the database's rightful writer. A -wal file with content is
// kept, with its -shm: it holds commits, which cannot be this Open's.
func removeSidecars(absent []string) {
	for _, p := range absent {
		if strings.HasSuffix(p, "-wal") {
			if fi, err := os.Lstat(p); err == nil && fi.Size() > 0 {
				return
			}
		}
	}
	for _, p := range absent {
		os.Remove(p) // best effort: the error Open returns is the one that matters
	}
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// dsn makes a SQLite URI of path. The characters a URI gives a meaning to
// are escaped; an absolute path gets an empty authority so that a path
// starting with "//" is not taken for a host.
func dsn(path string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	if strings.HasPrefix(p, "/") {
		p = "//" + p
	}
	return "file:" + p + "?" + dsnParams
}

// diagnose turns SQLite's failure to open path into the reason a user can
// act on, falling back to SQLite's own error.
func diagnose(path string, err error) error {
	dir := filepath.Dir(path)
	fi, serr := os.Stat(dir)
	switch {
	case errors.Is(serr, fs.ErrNotExist):
		return fmt.Errorf("directory %q does not exist", dir)
	case serr != nil:
		return serr
	case !fi.IsDir():
		return fmt.Errorf("%q is not a directory", dir)
	}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return fmt.Errorf("%q is a directory, expected a database file", path)
	}
	// The journal and WAL files live next to the database, so the directory
	// must be writable even when the file exists.
	probe, perr := os.CreateTemp(dir, ".waymark-probe-*")
	if perr != nil {
		return fmt.Errorf("directory %q is not writable", dir)
	}
	probe.Close()
	os.Remove(probe.Name())
	if f, ferr := os.OpenFile(path, os.O_RDWR, 0); ferr == nil {
		f.Close()
	} else if !errors.Is(ferr, fs.ErrNotExist) {
		return fmt.Errorf("file %q is not writable", path)
	}
	return err
}
