package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/results"
)

// ErrMaintenanceOver is wrapped by the error of EndMaintenance for a
// window that has already ended (at its end, or early), so a caller can
// tell "nothing to end" from a failure with errors.Is.
var ErrMaintenanceOver = errors.New("already over")

// maintenanceRow is a row of maintenance.
type maintenanceRow struct {
	ID        int64         `db:"id"`
	Name      string        `db:"name"`
	Reason    string        `db:"reason"`
	Journey   string        `db:"journey"`
	Tag       string        `db:"tag"`
	Customer  string        `db:"customer"`
	StartsAt  int64         `db:"starts_at"`
	EndsAt    int64         `db:"ends_at"`
	CreatedBy string        `db:"created_by"`
	CreatedAt int64         `db:"created_at"`
	EndedAt   sql.NullInt64 `db:"ended_at"`
}

const maintenanceColumns = `id, name, reason, journey, tag, customer, starts_at, ends_at, created_by, created_at, ended_at`

// window is the stored window.
func (r maintenanceRow) window() results.Maintenance {
	return results.Maintenance{
		ID: r.ID, Name: r.Name, Reason: r.Reason,
		Match: results.MaintenanceMatch{Journey: r.Journey, Tag: r.Tag, Customer: r.Customer},
		From:  time.UnixMilli(r.StartsAt).UTC(), To: time.UnixMilli(r.EndsAt).UTC(),
		CreatedBy: r.CreatedBy, CreatedAt: time.UnixMilli(r.CreatedAt).UTC(), EndedAt: fromMillis(r.EndedAt),
	}
}

// windows converts rows, by start then ID.
func windows(rows []maintenanceRow) []results.Maintenance {
	out := make([]results.Maintenance, len(rows))
	for i, r := range rows {
		out[i] = r.window()
	}
	slices.SortFunc(out, func(a, b results.Maintenance) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// StartMaintenance keeps a window made on the spot and returns it as
// stored: with its ID, its times at millisecond precision in UTC. The
// window is single (From and To; repeating windows belong in
// waymark.yaml) and has a match. A zero CreatedAt is the store's clock
// now, a zero From is CreatedAt.
func (s *Store) StartMaintenance(ctx context.Context, w results.Maintenance) (results.Maintenance, error) {
	if w.CreatedAt.IsZero() {
		w.CreatedAt = s.now()
	}
	if w.From.IsZero() {
		w.From = w.CreatedAt
	}
	row := maintenanceRow{
		Name: text(w.Name), Reason: text(w.Reason),
		Journey: text(w.Match.Journey), Tag: text(w.Match.Tag), Customer: text(w.Match.Customer),
		StartsAt: w.From.UnixMilli(), EndsAt: w.To.UnixMilli(),
		CreatedBy: text(w.CreatedBy), CreatedAt: w.CreatedAt.UnixMilli(),
	}
	stored := row.window()
	stored.Cron, stored.Duration, stored.TimeZone = w.Cron, w.Duration, w.TimeZone
	switch {
	case w.ID != 0:
		return results.Maintenance{}, fmt.Errorf("start maintenance for %s: it already has ID %d", w.Match, w.ID)
	case !w.EndedAt.IsZero():
		return results.Maintenance{}, fmt.Errorf("start maintenance for %s: it has already ended", w.Match)
	case w.Repeating():
		return results.Maintenance{}, fmt.Errorf("start maintenance for %s: a repeating window (cron %q) belongs in waymark.yaml: want from and to", w.Match, w.Cron)
	case w.To.IsZero():
		return results.Maintenance{}, fmt.Errorf("start maintenance for %s: no end: want to", w.Match)
	}
	if err := stored.Validate(); err != nil {
		return results.Maintenance{}, fmt.Errorf("start maintenance for %s: %w", w.Match, err)
	}
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		q, args, err := tx.BindNamed(`INSERT INTO maintenance (name, reason, journey, tag, customer, starts_at, ends_at, created_by, created_at)
			VALUES (:name, :reason, :journey, :tag, :customer, :starts_at, :ends_at, :created_by, :created_at) RETURNING id`, row)
		if err != nil {
			return err
		}
		return tx.GetContext(ctx, &stored.ID, q, args...)
	})
	if err != nil {
		return results.Maintenance{}, fmt.Errorf("start maintenance for %s: %w", w.Match, err)
	}
	return stored, nil
}

// EndMaintenance ends the window with this ID at at (one not yet begun
// then never begins) and returns it as ended. A window already over at at
// is left as it is and returned with an error wrapping
// ErrMaintenanceOver; an unknown ID is an error wrapping ErrNotFound.
func (s *Store) EndMaintenance(ctx context.Context, id int64, at time.Time) (results.Maintenance, error) {
	var w results.Maintenance
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		var rows []maintenanceRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(`UPDATE maintenance SET ended_at = ?
			WHERE id = ? AND ended_at IS NULL AND ends_at > ? RETURNING `+maintenanceColumns),
			at.UnixMilli(), id, at.UnixMilli()); err != nil {
			return err
		}
		if len(rows) == 1 {
			w = rows[0].window()
			return nil
		}
		var row maintenanceRow
		err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+maintenanceColumns+` FROM maintenance WHERE id = ?`), id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		w = row.window()
		end := w.To
		if !w.EndedAt.IsZero() {
			end = w.EndedAt
		}
		return fmt.Errorf("%w at %s", ErrMaintenanceOver, end.Format(time.RFC3339))
	})
	if err != nil {
		return w, fmt.Errorf("end maintenance %d: %w", id, err)
	}
	return w, nil
}

// EndMaintenanceMatching ends, at at, every window active then whose
// match is exactly m (`waymark maintenance end --tag shop` after `start
// --tag shop`), and returns them by start; none is not an error.
func (s *Store) EndMaintenanceMatching(ctx context.Context, m results.MaintenanceMatch, at time.Time) ([]results.Maintenance, error) {
	if m.IsZero() {
		return nil, errors.New("end maintenance: no match: want a journey, a tag or a customer")
	}
	var rows []maintenanceRow
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(`UPDATE maintenance SET ended_at = ?
			WHERE journey = ? AND tag = ? AND customer = ? AND ended_at IS NULL AND starts_at <= ? AND ends_at > ?
			RETURNING `+maintenanceColumns),
			at.UnixMilli(), text(m.Journey), text(m.Tag), text(m.Customer), at.UnixMilli(), at.UnixMilli())
	})
	if err != nil {
		return nil, fmt.Errorf("end maintenance for %s: %w", m, err)
	}
	return windows(rows), nil
}

// MaintenanceWindows returns the windows made on the spot that are not
// over by since: active then, still to come, or over after it (ended
// early or not), by start. `waymark serve` asks with the time of a run,
// `waymark maintenance` with a day ago to show recent ones too.
func (s *Store) MaintenanceWindows(ctx context.Context, since time.Time) ([]results.Maintenance, error) {
	var rows []maintenanceRow
	// ended_at, when set, is before ends_at (EndMaintenance sets it only
	// then), so the test on ends_at alone can use its index.
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+maintenanceColumns+` FROM maintenance
		WHERE ends_at > ? AND (ended_at IS NULL OR ended_at > ?)`), since.UnixMilli(), since.UnixMilli()); err != nil {
		return nil, fmt.Errorf("list maintenance windows since %s: %w", since.UTC().Format(time.RFC3339), err)
	}
	return windows(rows), nil
}
