package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// SaveRun stores a finished run in one transaction: the journey row (when j
// is not nil), the run, its steps, the content of its artifacts and the
// artifact rows. Either all of it is stored or none. It fills in the Hash of
// every artifact of run: the hex sha256 of its Data.
func (s *Store) SaveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error {
	if run == nil {
		return errors.New("save run: nil run")
	}
	if err := s.saveRun(ctx, j, run); err != nil {
		return fmt.Errorf("save run %s: %w", run.ID, err)
	}
	return nil
}

func (s *Store) saveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error {
	switch {
	case run.ID == "":
		return errors.New("the run has no ID")
	case run.Journey == "":
		return errors.New("the run has no journey name")
	case j != nil && j.Name != run.Journey:
		return fmt.Errorf("journey %q given for a run of journey %q", j.Name, run.Journey)
	}
	for i := range run.Steps {
		for k := range run.Steps[i].Artifacts {
			a := &run.Steps[i].Artifacts[k]
			sum := sha256.Sum256(a.Data)
			a.Hash = hex.EncodeToString(sum[:])
		}
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if j != nil {
		if err := s.upsertJourney(ctx, tx, j); err != nil {
			return err
		}
	}
	if _, err := tx.NamedExecContext(ctx, `INSERT INTO runs (`+runColumns+`) VALUES (`+runValues+`)`, toRunRow(run)); err != nil {
		return fmt.Errorf("insert run: %w", err)
	}
	for i := range run.Steps {
		st := &run.Steps[i]
		row, err := toStepRow(run.ID, st)
		if err != nil {
			return err
		}
		if _, err := tx.NamedExecContext(ctx, `INSERT INTO steps (`+stepColumns+`) VALUES (`+stepValues+`)`, row); err != nil {
			return fmt.Errorf("insert step %d: %w", st.Index, err)
		}
		for k, a := range st.Artifacts {
			// Content-addressed: the same bytes under the same hash are stored once.
			data := a.Data
			if data == nil {
				data = []byte{} // the column is NOT NULL; nil would bind as NULL
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (hash, size, bytes) VALUES (?, ?, ?)
				ON CONFLICT (hash) DO NOTHING`, a.Hash, len(data), data); err != nil {
				return fmt.Errorf("insert blob of step %d %s: %w", st.Index, a.Kind, err)
			}
			row := artifactRow{RunID: run.ID, StepIdx: st.Index, Seq: k, Kind: a.Kind, Label: a.Label, Hash: a.Hash}
			if _, err := tx.NamedExecContext(ctx, `INSERT INTO artifacts (run_id, step_idx, seq, kind, label, hash)
				VALUES (:run_id, :step_idx, :seq, :kind, :label, :hash)`, row); err != nil {
				return fmt.Errorf("insert artifact of step %d %s: %w", st.Index, a.Kind, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// upsertJourney records what the journey is now. It leaves enabled alone:
// that column belongs to whoever enables and disables journeys.
func (s *Store) upsertJourney(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey) error {
	tags := j.Tags
	if tags == nil {
		tags = []string{}
	}
	tagsJSON, err := json.Marshal(tags)
	if err != nil {
		return fmt.Errorf("upsert journey %s: %w", j.Name, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO journeys
		(name, title, file, definition_hash, owner, customer, tags, schedule, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET title = excluded.title, file = excluded.file,
			definition_hash = excluded.definition_hash, owner = excluded.owner,
			customer = excluded.customer, tags = excluded.tags, schedule = excluded.schedule,
			updated_at = excluded.updated_at`,
		j.Name, j.Title, j.File, j.Hash, j.Owner, j.Customer, string(tagsJSON), j.Schedule, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("upsert journey %s: %w", j.Name, err)
	}
	return nil
}
