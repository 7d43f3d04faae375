package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// SaveRun stores a finished run in one transaction: the journey row (when j
// is not nil), the run, its steps, the content of its artifacts and the
// artifact rows. Either all of it is stored or none. It fills in the Hash of
// every artifact of run: the hex sha256 of its Data.
//
// To store more in the same transaction (an incident change, River jobs),
// call SaveRunTx inside Tx instead.
func (s *Store) SaveRun(ctx context.Context, j *journeys.Journey, run *results.Run) error {
	if run == nil {
		return errors.New("save run: nil run")
	}
	err := s.Tx(ctx, func(tx *sqlx.Tx) error { return s.saveRun(ctx, tx, j, run) })
	if err != nil {
		return fmt.Errorf("save run %s: %w", run.ID, err)
	}
	return nil
}

// SaveRunTx is SaveRun within tx, a transaction of Tx: the run is stored
// when tx commits, together with whatever else tx writes.
func (s *Store) SaveRunTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, run *results.Run) error {
	if run == nil {
		return errors.New("save run: nil run")
	}
	if err := s.saveRun(ctx, tx, j, run); err != nil {
		return fmt.Errorf("save run %s: %w", run.ID, err)
	}
	return nil
}

func (s *Store) saveRun(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, run *results.Run) error {
	switch {
	case run.ID == "":
		return errors.New("the run has no ID")
	case run.Journey == "":
		return errors.New("the run has no journey name")
	case j != nil && j.Name != run.Journey:
		return fmt.Errorf("journey %q given for a run of journey %q", j.Name, run.Journey)
	}
	// Content-addressed: the same bytes under the same hash are stored once.
	type blob struct {
		hash string
		data []byte
	}
	var blobs []blob
	for i := range run.Steps {
		for k := range run.Steps[i].Artifacts {
			a := &run.Steps[i].Artifacts[k]
			sum := sha256.Sum256(a.Data)
			a.Hash = hex.EncodeToString(sum[:])
			data := a.Data
			if data == nil {
				data = []byte{} // the column is NOT NULL; nil would bind as NULL
			}
			blobs = append(blobs, blob{a.Hash, data})
		}
	}
	// Blobs go in first and in hash order, so that on PostgreSQL two runs
	// sharing screenshots take their row locks in the same order and never
	// deadlock.
	slices.SortFunc(blobs, func(a, b blob) int { return cmp.Compare(a.hash, b.hash) })
	blobs = slices.CompactFunc(blobs, func(a, b blob) bool { return a.hash == b.hash })

	if j != nil {
		if err := s.upsertJourney(ctx, tx, j); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO blobs (hash, size, bytes) VALUES (?, ?, ?)
			ON CONFLICT (hash) DO NOTHING`), b.hash, len(b.data), b.data); err != nil {
			return fmt.Errorf("insert blob %s: %w", b.hash, err)
		}
	}
	// On PostgreSQL, keep Prune from deleting a blob found stored before
	// the artifacts below refer to it (see lockBlobs).
	stored := make(map[string][]byte, len(blobs))
	for _, b := range blobs {
		stored[b.hash] = b.data
	}
	if err := s.lockBlobs(ctx, tx, stored); err != nil {
		return err
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
			row := artifactRow{RunID: run.ID, StepIdx: st.Index, Seq: k, Kind: a.Kind, Label: text(a.Label), Hash: a.Hash}
			if _, err := tx.NamedExecContext(ctx, `INSERT INTO artifacts (run_id, step_idx, seq, kind, label, hash)
				VALUES (:run_id, :step_idx, :seq, :kind, :label, :hash)`, row); err != nil {
				return fmt.Errorf("insert artifact of step %d %s: %w", st.Index, a.Kind, err)
			}
		}
	}
	return nil
}

// upsertJourney records what the journey is now. It leaves enabled,
// definition, locations and load_error alone: those belong to SyncJourneys.
func (s *Store) upsertJourney(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey) error {
	tags, err := jsonList(j.Tags)
	if err != nil {
		return fmt.Errorf("upsert journey %s: %w", j.Name, err)
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO journeys
		(name, title, file, definition_hash, owner, customer, tags, schedule, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET title = excluded.title, file = excluded.file,
			definition_hash = excluded.definition_hash, owner = excluded.owner,
			customer = excluded.customer, tags = excluded.tags, schedule = excluded.schedule,
			updated_at = excluded.updated_at`),
		j.Name, text(j.Title), text(j.File), j.Hash, text(j.Owner), text(j.Customer), tags, text(j.Schedule), s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("upsert journey %s: %w", j.Name, err)
	}
	return nil
}

// jsonList is list as a JSON array, '[]' when empty, with each element
// made storable text.
func jsonList(list []string) (string, error) {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = text(s)
	}
	b, err := json.Marshal(out)
	return string(b), err
}
