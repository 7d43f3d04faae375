package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dsnParams apply to every pooled connection as it opens: WAL so readers
// never block the writer, a busy timeout instead of SQLITE_BUSY, foreign
// keys on, NORMAL sync (safe in WAL), IMMEDIATE write transactions so a
// transaction never has to upgrade a read lock, and error texts without the
// misleading "out of memory" SQLite appends to open failures. River's
// transactions go through the same pool, so they are IMMEDIATE too.
const dsnParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate&_error_rc=1"

// openSQLite opens the SQLite database at path into s. When it fails it
// leaves behind no -wal or -shm file that it created itself (see
// removeSidecars); the database file is left as it is.
func openSQLite(ctx context.Context, s *Store, path string) (*Store, error) {
	s.dialect, s.where = DialectSQLite, fmt.Sprintf("%q", path)
	absent := absentSidecars(path)
	db, err := sqlx.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", s.where, err)
	}
	// The pool is left unbounded, against riversqlite's advice to use one
	// connection (SetMaxOpenConns(1)) to avoid SQLITE_BUSY. That advice is
	// for a pool without a busy timeout: with dsnParams every connection
	// waits for the write lock at BEGIN IMMEDIATE instead of failing.
	// Measured with runRiverLoad (river_test.go; the suite runs a smaller
	// load in TestRiverWorksBesideOurWrites): River working 300 jobs (8
	// workers, each saving a run and completing its job in one of our
	// transactions) while jobs are inserted in our transactions and five
	// goroutines, two through a second Store standing for another process,
	// save 500 runs: no SQLITE_BUSY and no failed job with pools of 1, 2,
	// 4, 8 or unbounded connections, all within the same 1.5–3.5 s on two
	// cores. Without busy_timeout River's elector and producer log
	// "database is locked (5) (SQLITE_BUSY)" and stall (102 of 300 jobs in
	// 30 s). One connection would not save a second process from
	// SQLITE_BUSY anyway, would make every read wait behind every write,
	// and would deadlock a Tx whose fn reached for the pool.
	s.db = db
	if err := s.start(ctx, func(err error) error { return diagnose(path, err) }); err != nil {
		db.Close()
		removeSidecars(absent)
		return nil, fmt.Errorf("open database %s: %w", s.where, err)
	}
	return s, nil
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
