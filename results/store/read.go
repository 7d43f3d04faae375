package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// Run returns a stored run with its steps and their artifacts. Artifacts
// carry their Hash but no Data: fetch the content with Blob.
func (s *Store) Run(ctx context.Context, id string) (*results.Run, error) {
	var row runRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+runColumns+` FROM runs WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", id, err)
	}
	var steps []stepRow
	if err := s.db.SelectContext(ctx, &steps, s.db.Rebind(`SELECT `+stepColumns+` FROM steps WHERE run_id = ? ORDER BY idx`), id); err != nil {
		return nil, fmt.Errorf("read steps of run %s: %w", id, err)
	}
	var arts []artifactRow
	if err := s.db.SelectContext(ctx, &arts, s.db.Rebind(`SELECT run_id, step_idx, seq, kind, label, hash
		FROM artifacts WHERE run_id = ? ORDER BY step_idx, seq`), id); err != nil {
		return nil, fmt.Errorf("read artifacts of run %s: %w", id, err)
	}
	run := row.run()
	at := make(map[int]int, len(steps)) // step index → position in run.Steps
	for i, sr := range steps {
		st, err := sr.step()
		if err != nil {
			return nil, fmt.Errorf("read run %s: %w", id, err)
		}
		run.Steps = append(run.Steps, st)
		at[sr.Index] = i
	}
	for _, a := range arts {
		st := &run.Steps[at[a.StepIdx]]
		st.Artifacts = append(st.Artifacts, results.Artifact{Kind: a.Kind, Label: a.Label, Hash: a.Hash})
	}
	return &run, nil
}

// RunFilter selects runs; zero fields select everything, so the zero
// RunFilter with a Limit lists the latest runs of every journey.
type RunFilter struct {
	Journey  string          // only this journey's runs
	Location string          // only runs in this location
	Outcome  results.Outcome // only runs with this outcome
	Since    time.Time       // only runs started at or after this time
	Limit    int             // at most this many runs; 0 means no limit
}

// Runs returns the runs f selects, newest first (runs with no start time
// last, runs started in the same millisecond by descending id), without
// their steps.
func (s *Store) Runs(ctx context.Context, f RunFilter) ([]results.Run, error) {
	var where []string
	var args []any
	if f.Journey != "" {
		where, args = append(where, "journey = ?"), append(args, f.Journey)
	}
	if f.Location != "" {
		where, args = append(where, "location = ?"), append(args, f.Location)
	}
	if f.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, f.Outcome)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "started_at >= ?"), append(args, f.Since.UnixMilli())
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	// SQLite sorts NULL first ascending, PostgreSQL last: say it.
	q += ` ORDER BY started_at DESC NULLS LAST, id DESC`
	if f.Limit > 0 {
		q, args = q+` LIMIT ?`, append(args, f.Limit)
	}
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list runs %+v: %w", f, err)
	}
	runs := make([]results.Run, len(rows))
	for i, r := range rows {
		runs[i] = r.run()
	}
	return runs, nil
}

// Blob returns the content stored under hash (hex sha256).
func (s *Store) Blob(ctx context.Context, hash string) ([]byte, error) {
	var b []byte
	err := s.db.GetContext(ctx, &b, s.db.Rebind(`SELECT bytes FROM blobs WHERE hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read blob %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", hash, err)
	}
	return b, nil
}
