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
// directory) if needed, checks that it works and applies the migrations
// this binary knows. A database newer than the binary is an error.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path: expected a file name such as ./waymark.db")
	}
	s := &Store{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	db, err := sqlx.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %q: %w", path, diagnose(path, err))
	}
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	return s, nil
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
