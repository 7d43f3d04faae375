package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// JSON report shapes. Field names are a stable, snake_case contract for
// scripts; durations are whole milliseconds; artifacts carry no bytes;
// lists are [] when empty, never null.
type (
	jsonReport struct {
		Runs    []jsonRun   `json:"runs"`
		Summary jsonSummary `json:"summary"`
	}
	// jsonSummary counts journeys, each once, by its final attempt.
	jsonSummary struct {
		Total    int `json:"total"`
		Passed   int `json:"passed"`
		Degraded int `json:"degraded"`
		Failed   int `json:"failed"`
		Error    int `json:"error"`
		Aborted  int `json:"aborted"`
		// RetriedAttempts counts the attempts in runs that a later
		// attempt superseded; they are in no other count.
		RetriedAttempts int   `json:"retried_attempts"`
		DurationMS      int64 `json:"duration_ms"`
		ExitCode        int   `json:"exit_code"`
	}
	jsonRun struct {
		ID             string     `json:"id"`
		Journey        string     `json:"journey"`
		Title          string     `json:"title"`
		File           string     `json:"file"`
		Trigger        string     `json:"trigger"`
		Location       string     `json:"location"`
		StartedAt      time.Time  `json:"started_at"`
		FinishedAt     time.Time  `json:"finished_at"`
		DurationMS     int64      `json:"duration_ms"`
		SetupMS        int64      `json:"setup_ms"`
		Outcome        string     `json:"outcome"`
		FailingStep    int        `json:"failing_step"`
		Cause          string     `json:"cause"`
		Error          string     `json:"error"`
		BrowserVersion string     `json:"browser_version"`
		DefinitionHash string     `json:"definition_hash"`
		Attempt        int        `json:"attempt"`
		Retried        bool       `json:"retried"`
		Steps          []jsonStep `json:"steps"`
	}
	jsonStep struct {
		Index      int            `json:"index"`
		Name       string         `json:"name"`
		Action     string         `json:"action"`
		Line       int            `json:"line"`
		StartMS    int64          `json:"start_ms"`
		DurationMS int64          `json:"duration_ms"`
		Status     string         `json:"status"`
		Optional   bool           `json:"optional"`
		Cause      string         `json:"cause"`
		Error      string         `json:"error"`
		Expected   string         `json:"expected"`
		Actual     string         `json:"actual"`
		URL        string         `json:"url"`
		HTTPStatus int            `json:"http_status"`
		Timings    *jsonTimings   `json:"timings"`
		Console    []jsonConsole  `json:"console"`
		Notes      []string       `json:"notes"`
		Artifacts  []jsonArtifact `json:"artifacts"`
	}
	// jsonConsole is a console entry; at_ms is from the run's start.
	jsonConsole struct {
		Kind   string `json:"kind"`
		Text   string `json:"text"`
		Source string `json:"source"`
		AtMS   int64  `json:"at_ms"`
	}
	jsonTimings struct {
		TTFBMS             int64   `json:"ttfb_ms"`
		DOMContentLoadedMS int64   `json:"dom_content_loaded_ms"`
		LoadMS             int64   `json:"load_ms"`
		LCPMS              int64   `json:"lcp_ms"`
		CLS                float64 `json:"cls"`
		Requests           int     `json:"requests"`
		Bytes              int64   `json:"bytes"`
	}
	jsonArtifact struct {
		Kind  string `json:"kind"`
		Label string `json:"label"`
		Hash  string `json:"hash"`
		Path  string `json:"path"`
	}
)

// WriteJSON writes runs as {"runs": [...], "summary": {...}} for scripts
// and dashboards: snake_case names, times in UTC RFC 3339, durations in
// milliseconds, artifacts by path and hash without their bytes. Every
// attempt is a run, with "attempt" and "retried"; the summary counts each
// journey once, by its final attempt, says how many attempts were retried
// ("retried_attempts") and gives the exit code `waymark run` gives.
func WriteJSON(w io.Writer, runs []*results.Run) error {
	doc := jsonReport{Runs: make([]jsonRun, 0, len(runs))}
	gone := superseded(runs)
	for i, r := range runs {
		doc.Runs = append(doc.Runs, jsonFromRun(r))
		if gone[i] {
			doc.Summary.RetriedAttempts++
			continue
		}
		doc.Summary.Total++
		switch r.Outcome {
		case results.Passed:
			doc.Summary.Passed++
		case results.Degraded:
			doc.Summary.Degraded++
		case results.Failed:
			doc.Summary.Failed++
		case results.Error:
			doc.Summary.Error++
		case results.Aborted:
			doc.Summary.Aborted++
		}
	}
	doc.Summary.DurationMS = wallTime(runs).Milliseconds()
	doc.Summary.ExitCode = ExitCode(runs)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func jsonFromRun(r *results.Run) jsonRun {
	j := jsonRun{
		ID: r.ID, Journey: r.Journey, Title: r.Title, File: r.File,
		Trigger: string(r.Trigger), Location: r.Location,
		StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(),
		DurationMS: r.Duration.Milliseconds(), SetupMS: r.Setup.Milliseconds(), Outcome: string(r.Outcome),
		FailingStep: r.FailingStep, Cause: string(r.Cause), Error: r.Error,
		BrowserVersion: r.BrowserVersion, DefinitionHash: r.DefinitionHash,
		Attempt: r.Attempt, Retried: r.Retried, Steps: make([]jsonStep, 0, len(r.Steps)),
	}
	for _, s := range r.Steps {
		js := jsonStep{
			Index: s.Index, Name: s.Name, Action: s.Action, Line: s.Line,
			StartMS: s.Start.Milliseconds(), DurationMS: s.Duration.Milliseconds(),
			Status: string(s.Status), Optional: s.Optional, Cause: string(s.Cause),
			Error: s.Error, Expected: s.Expected, Actual: s.Actual, URL: s.URL,
			HTTPStatus: s.HTTPStatus, Console: make([]jsonConsole, 0, len(s.Console)),
			Notes: append([]string{}, s.Notes...), Artifacts: make([]jsonArtifact, 0, len(s.Artifacts)),
		}
		for _, c := range s.Console {
			js.Console = append(js.Console, jsonConsole{Kind: string(c.Kind), Text: c.Text, Source: c.Source, AtMS: c.At.Milliseconds()})
		}
		if t := s.Timings; t != nil {
			js.Timings = &jsonTimings{
				TTFBMS: t.TTFB.Milliseconds(), DOMContentLoadedMS: t.DOMContentLoaded.Milliseconds(),
				LoadMS: t.Load.Milliseconds(), LCPMS: t.LCP.Milliseconds(),
				CLS: t.CLS, Requests: t.Requests, Bytes: t.Bytes,
			}
		}
		for _, a := range s.Artifacts {
			js.Artifacts = append(js.Artifacts, jsonArtifact{Kind: string(a.Kind), Label: a.Label, Hash: a.Hash, Path: a.Path})
		}
		j.Steps = append(j.Steps, js)
	}
	return j
}
