package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/journeys"
)

// FileError is a journey file that failed to load, and why, as the
// catalog reports it.
type FileError struct {
	File string // the path as given to journeys.Load
	Err  string // every problem of the file, one a line
}

// JourneyRecord is a row of journeys: a journey as last synced (or as last
// recorded with a run).
type JourneyRecord struct {
	Name  string
	Title string
	File  string // the path as given to journeys.Load
	// Definition is the file's YAML as last loaded without error; empty for
	// a journey only ever recorded with a run (waymark run --record).
	Definition string
	Hash       string // the definition hash
	Owner      string
	Customer   string
	Tags       []string
	Schedule   string   // cron spec, "" = on demand only
	Locations  []string // empty: every location that has an agent
	// Enabled is false for a journey whose file was removed, or now
	// defines another journey: it is no longer scheduled, its runs kept.
	Enabled bool
	// LoadError is why the file failed to load at the last sync, "" when
	// it loaded. A journey with a load error keeps its last good
	// definition and stays scheduled.
	LoadError string
	UpdatedAt time.Time // when the row last changed
}

// journeyRow is a row of journeys as stored.
type journeyRow struct {
	Name       string `db:"name"`
	Title      string `db:"title"`
	File       string `db:"file"`
	Definition string `db:"definition"`
	Hash       string `db:"definition_hash"`
	Owner      string `db:"owner"`
	Customer   string `db:"customer"`
	Tags       string `db:"tags"`
	Schedule   string `db:"schedule"`
	Locations  string `db:"locations"`
	Enabled    bool   `db:"enabled"`
	LoadError  string `db:"load_error"`
	UpdatedAt  int64  `db:"updated_at"`
}

const journeyColumns = `name, title, file, definition, definition_hash, owner, customer, tags, schedule,
	locations, enabled, load_error, updated_at`

func (row journeyRow) record() (JourneyRecord, error) {
	r := JourneyRecord{
		Name: row.Name, Title: row.Title, File: row.File, Definition: row.Definition, Hash: row.Hash,
		Owner: row.Owner, Customer: row.Customer, Schedule: row.Schedule, Enabled: row.Enabled,
		LoadError: row.LoadError, UpdatedAt: time.UnixMilli(row.UpdatedAt).UTC(),
	}
	for _, l := range []struct {
		col  string
		json string
		dst  *[]string
	}{{"tags", row.Tags, &r.Tags}, {"locations", row.Locations, &r.Locations}} {
		if err := json.Unmarshal([]byte(l.json), l.dst); err != nil {
			return JourneyRecord{}, fmt.Errorf("decode %s of journey %s: %w", l.col, row.Name, err)
		}
		if len(*l.dst) == 0 {
			*l.dst = nil
		}
	}
	return r, nil
}

// SyncJourneys makes the journeys table say what an agent serving the
// journey files under roots (the files and folders it loads) now has, in
// one transaction:
//
//   - every journey of loaded is stored as it is, enabled, with its file's
//     bytes as its definition and no load error;
//   - a journey whose file is in failed keeps its last good definition
//     and its enabled state, and records the file's error; so does one of
//     loaded whose file is in failed (the catalog's last good version:
//     its file holds the broken text now);
//   - a journey whose recorded file lies under roots but which no journey
//     of loaded has any more (its file was removed, or now defines another
//     name) is disabled; its runs are kept.
//
// Journeys whose files lie outside roots, another agent's, are left
// alone. Files compare as cleaned paths, as given to journeys.Load: give
// the same roots the files were loaded from. A row changes (and its
// UpdatedAt with it) only when something in it does.
//
// A file that failed without ever loading has no journey name and so no
// row: its error is not recorded.
func (s *Store) SyncJourneys(ctx context.Context, roots []string, loaded []*journeys.Journey, failed []FileError) error {
	broken := map[string]string{} // fileKey -> the file's error
	for _, f := range failed {
		broken[fileKey(f.File)] = text(f.Err)
	}
	// Read the definitions before the write transaction: file I/O must not
	// hold the database's one writer.
	defs := make([]string, len(loaded))
	seen := map[string]string{} // name -> file
	for i, j := range loaded {
		if other, dup := seen[j.Name]; dup {
			return fmt.Errorf("sync journeys: journey %q given twice, from %s and %s", j.Name, other, j.File)
		}
		seen[j.Name] = j.File
		if _, isBroken := broken[fileKey(j.File)]; isBroken {
			continue
		}
		b, err := os.ReadFile(j.File)
		if err != nil {
			return fmt.Errorf("sync journeys: read the definition of %s: %w", j.Name, err)
		}
		if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
			return fmt.Errorf("sync journeys: the definition of %s in %s is not UTF-8 text", j.Name, j.File)
		}
		defs[i] = string(b)
	}
	now := s.now().UnixMilli()
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		var rows []struct {
			Name string `db:"name"`
			File string `db:"file"`
		}
		if err := tx.SelectContext(ctx, &rows, `SELECT name, file FROM journeys`); err != nil {
			return fmt.Errorf("list journeys: %w", err)
		}
		// What to do to each journey, done in name order: on PostgreSQL two
		// agents syncing at once then lock rows in the same order and never
		// deadlock.
		ops := map[string]func() error{}
		for i, j := range loaded {
			ops[j.Name] = func() error { return s.syncJourney(ctx, tx, j, defs[i], broken, now) }
		}
		for _, r := range rows {
			if _, ok := ops[r.Name]; ok {
				continue
			}
			if msg, isBroken := broken[fileKey(r.File)]; isBroken {
				ops[r.Name] = func() error {
					if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE journeys SET load_error = ?, updated_at = ?
						WHERE name = ? AND load_error <> ?`), msg, now, r.Name, msg); err != nil {
						return fmt.Errorf("record the load error of %s: %w", r.Name, err)
					}
					return nil
				}
			} else if underAny(r.File, roots) {
				ops[r.Name] = func() error {
					if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE journeys SET enabled = FALSE, load_error = '', updated_at = ?
						WHERE name = ? AND (enabled OR load_error <> '')`), now, r.Name); err != nil {
						return fmt.Errorf("disable %s: %w", r.Name, err)
					}
					return nil
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(ops)) {
			if err := ops[name](); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync journeys: %w", err)
	}
	return nil
}

// syncJourney stores one loaded journey: in full with definition, or, when
// its file is broken, only its load error (all of it when there is no row
// yet, with no definition).
func (s *Store) syncJourney(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, def string, broken map[string]string, now int64) error {
	tags, err := jsonList(j.Tags)
	if err != nil {
		return fmt.Errorf("encode tags of %s: %w", j.Name, err)
	}
	locations, err := jsonList(j.Locations)
	if err != nil {
		return fmt.Errorf("encode locations of %s: %w", j.Name, err)
	}
	args := []any{j.Name, text(j.Title), text(j.File), def, j.Hash, text(j.Owner), text(j.Customer), tags,
		text(j.Schedule), locations}
	if msg, isBroken := broken[fileKey(j.File)]; isBroken {
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO journeys (name, title, file, definition,
				definition_hash, owner, customer, tags, schedule, locations, enabled, load_error, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?)
			ON CONFLICT (name) DO UPDATE SET load_error = excluded.load_error, updated_at = excluded.updated_at
			WHERE journeys.load_error <> excluded.load_error`), append(args, msg, now)...)
	} else {
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO journeys (name, title, file, definition,
				definition_hash, owner, customer, tags, schedule, locations, enabled, load_error, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, '', ?)
			ON CONFLICT (name) DO UPDATE SET title = excluded.title, file = excluded.file,
				definition = excluded.definition, definition_hash = excluded.definition_hash,
				owner = excluded.owner, customer = excluded.customer, tags = excluded.tags,
				schedule = excluded.schedule, locations = excluded.locations, enabled = TRUE,
				load_error = '', updated_at = excluded.updated_at
			WHERE journeys.title <> excluded.title OR journeys.file <> excluded.file
				OR journeys.definition <> excluded.definition
				OR journeys.definition_hash <> excluded.definition_hash
				OR journeys.owner <> excluded.owner OR journeys.customer <> excluded.customer
				OR journeys.tags <> excluded.tags OR journeys.schedule <> excluded.schedule
				OR journeys.locations <> excluded.locations OR NOT journeys.enabled
				OR journeys.load_error <> ''`), append(args, now)...)
	}
	if err != nil {
		return fmt.Errorf("store journey %s: %w", j.Name, err)
	}
	return nil
}

// fileKey is a journey file's path as SyncJourneys compares it: cleaned,
// and as stored (see text).
func fileKey(path string) string { return filepath.Clean(text(path)) }

// underAny reports whether file is one of roots or lies under one, as
// keys (see fileKey).
func underAny(file string, roots []string) bool {
	for _, root := range roots {
		rel, err := filepath.Rel(fileKey(root), fileKey(file))
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// Journeys returns every journey row, by name.
func (s *Store) Journeys(ctx context.Context) ([]JourneyRecord, error) {
	return s.journeys(ctx, "")
}

// Scheduled is what the dispatcher needs of a journey: its schedule and
// where it runs. It leaves out the definition, which the dispatcher reads
// every few seconds for every journey and never uses.
type Scheduled struct {
	Name      string
	Schedule  string
	Locations []string // none: every location with an agent
}

// ScheduledJourneys returns the journeys to dispatch, by name: enabled,
// with a schedule.
func (s *Store) ScheduledJourneys(ctx context.Context) ([]Scheduled, error) {
	var rows []struct {
		Name      string `db:"name"`
		Schedule  string `db:"schedule"`
		Locations string `db:"locations"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT name, schedule, locations FROM journeys
		WHERE enabled AND schedule <> '' ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list scheduled journeys: %w", err)
	}
	list := make([]Scheduled, len(rows))
	for i, row := range rows {
		list[i] = Scheduled{Name: row.Name, Schedule: row.Schedule}
		if err := json.Unmarshal([]byte(row.Locations), &list[i].Locations); err != nil {
			return nil, fmt.Errorf("decode locations of journey %s: %w", row.Name, err)
		}
		if len(list[i].Locations) == 0 {
			list[i].Locations = nil
		}
	}
	return list, nil
}

func (s *Store) journeys(ctx context.Context, where string) ([]JourneyRecord, error) {
	var rows []journeyRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+journeyColumns+` FROM journeys`+where+` ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list journeys: %w", err)
	}
	list := make([]JourneyRecord, len(rows))
	for i, row := range rows {
		r, err := row.record()
		if err != nil {
			return nil, fmt.Errorf("list journeys: %w", err)
		}
		list[i] = r
	}
	return list, nil
}
