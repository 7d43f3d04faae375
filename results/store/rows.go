package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
	Slot           sql.NullInt64   `db:"slot"`
	StartedAt      sql.NullInt64   `db:"started_at"`
	FinishedAt     sql.NullInt64   `db:"finished_at"`
	DurationMS     int64           `db:"duration_ms"`
	SetupMS        int64           `db:"setup_ms"`
	Outcome        results.Outcome `db:"outcome"`
	FailingStep    int             `db:"failing_step"`
	Cause          results.Cause   `db:"cause"`
	Error          string          `db:"error"`
	BrowserVersion string          `db:"browser_version"`
	DefinitionHash string          `db:"definition_hash"`
	Attempt        int             `db:"attempt"`
	Retried        bool            `db:"retried"`
	Maintenance    string          `db:"maintenance"`
}

const runColumns = `id, journey, title, file, "trigger", location, slot, started_at, finished_at, duration_ms,
	setup_ms, outcome, failing_step, cause, error, browser_version, definition_hash, attempt, retried, maintenance`

const runValues = `:id, :journey, :title, :file, :trigger, :location, :slot, :started_at, :finished_at, :duration_ms,
	:setup_ms, :outcome, :failing_step, :cause, :error, :browser_version, :definition_hash, :attempt, :retried, :maintenance`

func toRunRow(r *results.Run) runRow {
	return runRow{
		ID: r.ID, Journey: r.Journey, Title: text(r.Title), File: text(r.File), Trigger: r.Trigger,
		Location: r.Location, Slot: millis(r.Slot), StartedAt: millis(r.StartedAt), FinishedAt: millis(r.FinishedAt),
		DurationMS: r.Duration.Milliseconds(), SetupMS: r.Setup.Milliseconds(), Outcome: r.Outcome,
		FailingStep: r.FailingStep, Cause: r.Cause, Error: text(r.Error), BrowserVersion: text(r.BrowserVersion),
		DefinitionHash: r.DefinitionHash, Attempt: r.Attempt, Retried: r.Retried, Maintenance: text(r.Maintenance),
	}
}

func (row runRow) run() results.Run {
	return results.Run{
		ID: row.ID, Journey: row.Journey, Title: row.Title, File: row.File, Trigger: row.Trigger,
		Location: row.Location, Slot: fromMillis(row.Slot), StartedAt: fromMillis(row.StartedAt), FinishedAt: fromMillis(row.FinishedAt),
		Duration: ms(row.DurationMS), Setup: ms(row.SetupMS), Outcome: row.Outcome,
		FailingStep: row.FailingStep, Cause: row.Cause, Error: row.Error, BrowserVersion: row.BrowserVersion,
		DefinitionHash: row.DefinitionHash, Attempt: row.Attempt, Retried: row.Retried, Maintenance: row.Maintenance,
	}
}

// stepRow is a row of steps; the timing columns are NULL without timings,
// console and notes hold JSON arrays.
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
	Console    string          `db:"console"`
	Notes      string          `db:"notes"`
}

const stepColumns = `run_id, idx, name, action, line, start_ms, duration_ms, status, optional, cause, error,
	expected, actual, url, http_status, ttfb_ms, dcl_ms, load_ms, lcp_ms, cls, requests, bytes, console, notes`

const stepValues = `:run_id, :idx, :name, :action, :line, :start_ms, :duration_ms, :status, :optional, :cause, :error,
	:expected, :actual, :url, :http_status, :ttfb_ms, :dcl_ms, :load_ms, :lcp_ms, :cls, :requests, :bytes,
	:console, :notes`

// consoleEntry is a results.ConsoleEntry as stored in the JSON array of
// steps.console.
type consoleEntry struct {
	Kind   results.ConsoleKind `json:"kind"`
	Text   string              `json:"text"`
	Source string              `json:"source"`
	AtMS   int64               `json:"at_ms"`
}

func toStepRow(runID string, s *results.Step) (stepRow, error) {
	console := make([]consoleEntry, len(s.Console))
	for i, c := range s.Console {
		console[i] = consoleEntry{Kind: c.Kind, Text: text(c.Text), Source: text(c.Source), AtMS: c.At.Milliseconds()}
	}
	consoleJSON, err := json.Marshal(console)
	if err != nil {
		return stepRow{}, fmt.Errorf("encode console of step %d: %w", s.Index, err)
	}
	notesJSON, err := jsonList(s.Notes) // '[]', not 'null', when there are none
	if err != nil {
		return stepRow{}, fmt.Errorf("encode notes of step %d: %w", s.Index, err)
	}
	row := stepRow{
		RunID: runID, Index: s.Index, Name: text(s.Name), Action: s.Action, Line: s.Line,
		StartMS: s.Start.Milliseconds(), DurationMS: s.Duration.Milliseconds(), Status: s.Status,
		Optional: s.Optional, Cause: s.Cause, Error: text(s.Error), Expected: text(s.Expected), Actual: text(s.Actual),
		URL: text(s.URL), HTTPStatus: s.HTTPStatus, Console: string(consoleJSON), Notes: notesJSON,
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
	return row, nil
}

// step is the stored step. An empty console or notes array reads back as
// nil, as the runner leaves them when there is nothing to say.
func (row stepRow) step() (results.Step, error) {
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
	var console []consoleEntry
	if err := json.Unmarshal([]byte(row.Console), &console); err != nil {
		return results.Step{}, fmt.Errorf("decode console of step %d: %w", row.Index, err)
	}
	for _, c := range console {
		s.Console = append(s.Console, results.ConsoleEntry{Kind: c.Kind, Text: c.Text, Source: c.Source, At: ms(c.AtMS)})
	}
	if err := json.Unmarshal([]byte(row.Notes), &s.Notes); err != nil {
		return results.Step{}, fmt.Errorf("decode notes of step %d: %w", row.Index, err)
	}
	if len(s.Notes) == 0 {
		s.Notes = nil
	}
	return s, nil
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

// text is s as both databases can store it: valid UTF-8 without NUL bytes,
// which PostgreSQL's TEXT refuses (SQLite would keep them, but the same
// run must read back the same from both). Each invalid sequence and each
// NUL becomes U+FFFD. Pages, servers and journey files choose what runs
// say; a NUL in a console message must not cost the run.
func text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
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
