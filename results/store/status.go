package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// leaderQuery reads River's leader row, per dialect, with its times as
// unix milliseconds like every time of ours. River keeps one row (its
// name is always 'default'); SQLite holds River's times as UTC text
// ("2006-01-02 15:04:05.000"), PostgreSQL as timestamptz.
var leaderQuery = map[string]string{
	DialectSQLite: `SELECT leader_id,
		CAST(ROUND(unixepoch(elected_at, 'subsec') * 1000) AS INTEGER) AS elected_at,
		CAST(ROUND(unixepoch(expires_at, 'subsec') * 1000) AS INTEGER) AS expires_at
		FROM river_leader WHERE name = 'default'`,
	DialectPostgres: `SELECT leader_id,
		ROUND(EXTRACT(EPOCH FROM elected_at) * 1000)::bigint AS elected_at,
		ROUND(EXTRACT(EPOCH FROM expires_at) * 1000)::bigint AS expires_at
		FROM river_leader WHERE name = 'default'`,
}

// Leader reads who River last elected leader, the agent that dispatches
// the schedules: its client ID (an agent's ID, see Agent), when it was
// elected and when its term runs out unless it is re-elected (River does
// that every few seconds while the leader lives). ok is false when no
// agent holds the leadership. A leader that died keeps its row until
// another agent stands for election, so a caller that wants the live
// leader compares expiresAt with the time now.
func (s *Store) Leader(ctx context.Context) (id string, electedAt, expiresAt time.Time, ok bool, err error) {
	var row struct {
		ID        string `db:"leader_id"`
		ElectedAt int64  `db:"elected_at"`
		ExpiresAt int64  `db:"expires_at"`
	}
	err = s.db.GetContext(ctx, &row, leaderQuery[s.dialect])
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, time.Time{}, false, fmt.Errorf("read River's leader: %w", err)
	}
	return row.ID, time.UnixMilli(row.ElectedAt).UTC(), time.UnixMilli(row.ExpiresAt).UTC(), true, nil
}

// QueueDepth is what one River queue holds that is not finished.
type QueueDepth struct {
	// Waiting are the jobs a worker could take now: available and due,
	// and scheduled or retryable jobs that are due (River's scheduler
	// makes those available within seconds, on the leader). Waiting
	// that grows says the queue's workers do not keep up, or that no
	// agent works the queue.
	Waiting int
	// Ahead are the jobs due later: the dispatcher inserts a slot's job
	// as available a little ahead of its time; scheduled jobs; and
	// retryable ones waiting for their next attempt.
	Ahead int
	// Running are the jobs a worker holds, a dead agent's included until
	// River rescues them.
	Running int
}

// queueDepthsQuery counts the unfinished jobs of each queue, per dialect,
// in one pass over River's fetch index (state, queue, priority,
// scheduled_at, id): the states asked for are ranges of its first
// column, and every column read is in it, so finished jobs, however many
// are kept, are never read, nor any row of the table (an index-only scan
// on PostgreSQL, a covering index on SQLite). "Now" is the database's, as
// River's own fetch takes it, and its times compare as River writes them
// (on SQLite, UTC text).
var queueDepthsQuery = map[string]string{
	DialectSQLite: `SELECT queue,
		SUM(CASE WHEN state <> 'running' AND scheduled_at <= datetime('now', 'subsec') THEN 1 ELSE 0 END) AS waiting,
		SUM(CASE WHEN state <> 'running' AND scheduled_at > datetime('now', 'subsec') THEN 1 ELSE 0 END) AS ahead,
		SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running
		FROM river_job WHERE state IN ('available', 'retryable', 'running', 'scheduled')
		GROUP BY queue`,
	DialectPostgres: `SELECT queue,
		COUNT(*) FILTER (WHERE state <> 'running' AND scheduled_at <= now()) AS waiting,
		COUNT(*) FILTER (WHERE state <> 'running' AND scheduled_at > now()) AS ahead,
		COUNT(*) FILTER (WHERE state = 'running') AS running
		FROM river_job WHERE state IN ('available', 'retryable', 'running', 'scheduled')
		GROUP BY queue`,
}

// QueueDepths counts the unfinished jobs of every River queue that has
// any, by queue name (a location's runs are in loc_<location>, the
// dispatcher's in control). A queue with none is absent. It is one query
// on an index River keeps anyway, cheap enough for every /metrics scrape.
func (s *Store) QueueDepths(ctx context.Context) (map[string]QueueDepth, error) {
	var rows []struct {
		Queue   string `db:"queue"`
		Waiting int    `db:"waiting"`
		Ahead   int    `db:"ahead"`
		Running int    `db:"running"`
	}
	if err := s.db.SelectContext(ctx, &rows, queueDepthsQuery[s.dialect]); err != nil {
		return nil, fmt.Errorf("count River's jobs by queue: %w", err)
	}
	depths := make(map[string]QueueDepth, len(rows))
	for _, r := range rows {
		depths[r.Queue] = QueueDepth{Waiting: r.Waiting, Ahead: r.Ahead, Running: r.Running}
	}
	return depths, nil
}
