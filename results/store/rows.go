package store

import (
	"database/sql"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// runRow is a row of runs. The column lists below name exactly its fields.
type runRow struct {
	ID             string          `db:"id"`
	Journey        string          `db:"journey"`
	Title          string          `db:"title"`
	File           string          `db:"file"`
	Trigger        results.Trigger `db:"trigger"`
	Location       string          `db:"location"`
	StartedAt      sql.NullInt64   `db:"started_at"`
	FinishedAt     sql.NullInt64   `db:"finished_at"`
	DurationMS     int64           `db:"duration_ms"`
	Outcome        results.Outcome `db:"outcome"`
	FailingStep    int             `db:"failing_step"`
	Cause          results.Cause   `db:"cause"`
	Error          string          `db:"error"`
	BrowserVersion string          `db:"browser_version"`
	DefinitionHash string          `db:"definition_hash"`
	Attempt        int             `db:"attempt"`
}

const runColumns = `id, journey, title, file, "trigger", location, started_at, finished_at, duration_ms,
	outcome, failing_step, cause, error, browser_version, definition_hash, attempt`

const runValues = `:id, :journey, :title, :file, :trigger, :location, :started_at, :finished_at, :duration_ms,
	:outcome, :failing_step, :cause, :error, :browser_version, :definition_hash, :attempt`

func toRunRow(r *results.Run) runRow {
	return runRow{
		ID: r.ID, Journey: r.Journey, Title: r.Title, File: r.File, Trigger: r.Trigger,
		Location: r.Location, StartedAt: millis(r.StartedAt), FinishedAt: millis(r.FinishedAt),
		DurationMS: r.Duration.Milliseconds(), Outcome: r.Outcome, FailingStep: r.FailingStep,
		Cause: r.Cause, Error: r.Error, BrowserVersion: r.BrowserVersion,
		DefinitionHash: r.DefinitionHash, Attempt: r.Attempt,
	}
}

func (row runRow) run() results.Run {
	return results.Run{
		ID: row.ID, Journey: row.Journey, Title: row.Title, File: row.File, Trigger: row.Trigger,
		Location: row.Location, StartedAt: fromMillis(row.StartedAt), FinishedAt: fromMillis(row.FinishedAt),
		Duration: ms(row.DurationMS), Outcome: row.Outcome, FailingStep: row.FailingStep,
		Cause: row.Cause, Error: row.Error, BrowserVersion: row.BrowserVersion,
		DefinitionHash: row.DefinitionHash, Attempt: row.Attempt,
	}
}

// stepRow is a row of steps; the timing columns are NULL without timings.
type stepRow struct {
	RunID      string          `db:"run_id"`
	Index      int             `db:"idx"`
	Name       string          `db:"name"`
	Action     string          `db:"action"`
	Line       int             `db:"line"`
	StartMS    int64           `db:"start_ms"`
	DurationMS int64           `db:"duration_ms"`
	Status     results.Status  `db:"status"`
	Optional   bool            `db:"optional"`
	Cause      results.Cause   `db:"cause"`
	Error      string          `db:"error"`
	Expected   string          `db:"expected"`
	Actual     string          `db:"actual"`
	URL        string          `db:"url"`
	HTTPStatus int             `db:"http_status"`
	TTFBMS     sql.NullInt64   `db:"ttfb_ms"`
	DCLMS      sql.NullInt64   `db:"dcl_ms"`
	LoadMS     sql.NullInt64   `db:"load_ms"`
	LCPMS      sql.NullInt64   `db:"lcp_ms"`
	CLS        sql.NullFloat64 `db:"cls"`
	Requests   sql.NullInt64   `db:"requests"`
	Bytes      sql.NullInt64   `db:"bytes"`
}

const stepColumns = `run_id, idx, name, action, line, start_ms, duration_ms, status, optional, cause, error,
	expected, actual, url, http_status, ttfb_ms, dcl_ms, load_ms, lcp_ms, cls, requests, bytes`

const stepValues = `:run_id, :idx, :name, :action, :line, :start_ms, :duration_ms, :status, :optional, :cause, :error,
	:expected, :actual, :url, :http_status, :ttfb_ms, :dcl_ms, :load_ms, :lcp_ms, :cls, :requests, :bytes`

func toStepRow(runID string, s *results.Step) stepRow {
	row := stepRow{
		RunID: runID, Index: s.Index, Name: s.Name, Action: s.Action, Line: s.Line,
		StartMS: s.Start.Milliseconds(), DurationMS: s.Duration.Milliseconds(), Status: s.Status,
		Optional: s.Optional, Cause: s.Cause, Error: s.Error, Expected: s.Expected, Actual: s.Actual,
		URL: s.URL, HTTPStatus: s.HTTPStatus,
	}
	if t := s.Timings; t != nil {
		row.TTFBMS = valid(t.TTFB.Milliseconds())
		row.DCLMS = valid(t.DOMContentLoaded.Milliseconds())
		row.LoadMS = valid(t.Load.Milliseconds())
		row.LCPMS = valid(t.LCP.Milliseconds())
		row.CLS = sql.NullFloat64{Float64: t.CLS, Valid: true}
		row.Requests = valid(int64(t.Requests))
		row.Bytes = valid(t.Bytes)
	}
	return row
}

func (row stepRow) step() results.Step {
	s := results.Step{
		Index: row.Index, Name: row.Name, Action: row.Action, Line: row.Line,
		Start: ms(row.StartMS), Duration: ms(row.DurationMS), Status: row.Status,
		Optional: row.Optional, Cause: row.Cause, Error: row.Error, Expected: row.Expected,
		Actual: row.Actual, URL: row.URL, HTTPStatus: row.HTTPStatus,
	}
	if row.TTFBMS.Valid {
		s.Timings = &results.PageTimings{
			TTFB: ms(row.TTFBMS.Int64), DOMContentLoaded: ms(row.DCLMS.Int64), Load: ms(row.LoadMS.Int64),
			LCP: ms(row.LCPMS.Int64), CLS: row.CLS.Float64, Requests: int(row.Requests.Int64),
			Bytes: row.Bytes.Int64,
		}
	}
	return s
}

// artifactRow is a row of artifacts: where an artifact belongs and which
// blob holds its content.
type artifactRow struct {
	RunID   string               `db:"run_id"`
	StepIdx int                  `db:"step_idx"`
	Seq     int                  `db:"seq"`
	Kind    results.ArtifactKind `db:"kind"`
	Label   string               `db:"label"`
	Hash    string               `db:"hash"`
}

func valid(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: true} }

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// millis is t as stored: unix milliseconds, NULL for the zero time.
func millis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return valid(t.UnixMilli())
}

// fromMillis is a stored time read back, in UTC.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}
