package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/reports/alert"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// The JSON API under /api/v1 (docs/api.md): journeys, runs with their
// steps and artifact links, incidents with their timelines and what
// people do to them, maintenance windows, and "run now". The dashboard's
// own buttons and forms post to it (htmx, form-encoded); scripts send
// JSON with the bearer token.
//
// Every answer is one of the shapes below, built field by field from the
// model: nothing internal is marshalled as it is, no filesystem path and
// no secret is ever in one. Times are RFC 3339 in UTC, durations whole
// milliseconds in fields ending _ms. Errors are {"error": "…"} with the
// status that fits.

const (
	// defaultRunLimit and maxRunLimit bound GET /api/v1/runs.
	defaultRunLimit, maxRunLimit = 50, 1000
	// defaultIncidentLimit and maxIncidentLimit bound GET /api/v1/incidents.
	defaultIncidentLimit, maxIncidentLimit = 100, 1000
	// apiBodyLimit bounds a POST body.
	apiBodyLimit = 64 << 10
	// maxByLen, maxNameLen and maxTextLen bound what people write: who
	// they are, a window's name, a note or a reason (in characters).
	maxByLen, maxNameLen, maxTextLen = 100, 200, 4000
	// defaultMaintenanceSince is how long GET /api/v1/maintenance keeps
	// listing a window made on the spot after it is over, as the CLI.
	defaultMaintenanceSince = 24 * time.Hour
)

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

// apiJourney is a journey: GET /api/v1/journeys lists them,
// GET /api/v1/journeys/{name} adds its definition.
type apiJourney struct {
	Name      string   `json:"name"`
	Title     string   `json:"title,omitempty"`
	Owner     string   `json:"owner,omitempty"`
	Customer  string   `json:"customer,omitempty"`
	Tags      []string `json:"tags"`
	Schedule  string   `json:"schedule"` // "" runs on demand only
	Locations []string `json:"locations"`
	Enabled   bool     `json:"enabled"`
	LoadError string   `json:"load_error,omitempty"` // why its file fails to load now
	// LastRun is its latest run that counts (not an attempt retried).
	LastRun *apiRunRef `json:"last_run"`
	// Incident is its open incident, if any.
	Incident *apiIncidentRef `json:"incident"`
	// Definition is the journey file's YAML as last loaded (show only).
	Definition string `json:"definition,omitempty"`
	Page       string `json:"page"` // the dashboard's page of it
}

// apiRunRef is what a journey says of its latest run.
type apiRunRef struct {
	ID         string    `json:"id"`
	Location   string    `json:"location"`
	Outcome    string    `json:"outcome"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`
}

// apiIncidentRef is what a journey says of its open incident.
type apiIncidentRef struct {
	Ref      string    `json:"ref"`
	State    string    `json:"state"`
	Severity string    `json:"severity"`
	OpenedAt time.Time `json:"opened_at,omitzero"`
}

// apiRun is a run: GET /api/v1/runs lists them without steps,
// GET /api/v1/runs/{id} gives one with its steps.
type apiRun struct {
	ID         string    `json:"id"`
	Journey    string    `json:"journey"`
	Title      string    `json:"title,omitempty"`
	Trigger    string    `json:"trigger,omitempty"`
	Location   string    `json:"location"`
	Slot       time.Time `json:"slot,omitzero"` // the schedule slot it ran for
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`
	SetupMS    int64     `json:"setup_ms,omitempty"` // the monitor's own time around the steps
	Outcome    string    `json:"outcome"`
	// FailingStep is the step (1-based) that decided a run that did not
	// pass; Cause and Error say why.
	FailingStep    int    `json:"failing_step,omitempty"`
	Cause          string `json:"cause,omitempty"`
	Error          string `json:"error,omitempty"`
	BrowserVersion string `json:"browser_version,omitempty"`
	DefinitionHash string `json:"definition_hash,omitempty"`
	Attempt        int    `json:"attempt,omitempty"`
	Retried        bool   `json:"retried,omitempty"`
	// Maintenance names the window the run ran in.
	Maintenance string    `json:"maintenance,omitempty"`
	Page        string    `json:"page"`
	Steps       []apiStep `json:"steps,omitempty"`
}

// apiStep is a step of a run.
type apiStep struct {
	Index      int          `json:"index"`
	Name       string       `json:"name"`
	Action     string       `json:"action"`
	Line       int          `json:"line,omitempty"` // in the journey file
	StartMS    int64        `json:"start_ms"`       // from the run's start
	DurationMS int64        `json:"duration_ms"`
	Status     string       `json:"status"`
	Optional   bool         `json:"optional,omitempty"`
	Cause      string       `json:"cause,omitempty"`
	Error      string       `json:"error,omitempty"`
	Expected   string       `json:"expected,omitempty"`
	Actual     string       `json:"actual,omitempty"`
	URL        string       `json:"url,omitempty"` // the page's after the step
	HTTPStatus int          `json:"http_status,omitempty"`
	Timings    *apiTimings  `json:"timings,omitempty"`
	Console    []apiConsole `json:"console,omitempty"`
	Notes      []string     `json:"notes,omitempty"`
	// Screenshot links the step's screenshot (the failure's when it has
	// several); Artifacts link everything it produced.
	Screenshot string        `json:"screenshot,omitempty"`
	Artifacts  []apiArtifact `json:"artifacts,omitempty"`
}

// apiTimings are a goto's page timings.
type apiTimings struct {
	TTFBMS             int64   `json:"ttfb_ms"`
	DOMContentLoadedMS int64   `json:"dom_content_loaded_ms"`
	LoadMS             int64   `json:"load_ms"`
	LCPMS              int64   `json:"lcp_ms"`
	CLS                float64 `json:"cls"`
	Requests           int     `json:"requests"`
	Bytes              int64   `json:"bytes"`
}

// apiConsole is what the page said during a step.
type apiConsole struct {
	Kind   string `json:"kind"`
	Text   string `json:"text"`
	Source string `json:"source,omitempty"`
	AtMS   int64  `json:"at_ms"` // from the run's start
}

// apiArtifact links a file a step produced: by its content's hash, never
// by a path, and never with its bytes.
type apiArtifact struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
	URL   string `json:"url"`
}

// apiIncident is an incident: GET /api/v1/incidents lists them,
// GET /api/v1/incidents/{ref} adds the timeline, and the actions answer
// with the incident as it is afterwards.
type apiIncident struct {
	Ref      string `json:"ref"`
	Journey  string `json:"journey"`
	Location string `json:"location,omitempty"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	State    string `json:"state"`

	OpenedAt       time.Time `json:"opened_at,omitzero"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	ResolvedBy     string    `json:"resolved_by,omitempty"`

	FirstRun       string    `json:"first_run,omitempty"`
	LastRun        string    `json:"last_run,omitempty"`
	FirstFailureAt time.Time `json:"first_failure_at,omitzero"`
	Failures       int       `json:"failures"`

	// Step, StepName, Cause and Error are what failed in the run that
	// opened it.
	Step     int    `json:"step,omitempty"`
	StepName string `json:"step_name,omitempty"`
	Cause    string `json:"cause,omitempty"`
	Error    string `json:"error,omitempty"`

	TicketID         string    `json:"ticket_id,omitempty"`
	Level            int       `json:"level,omitempty"` // the escalation level reached
	NextEscalationAt time.Time `json:"next_escalation_at,omitzero"`
	NextReminderAt   time.Time `json:"next_reminder_at,omitzero"`

	Page     string     `json:"page"`
	Timeline []apiEvent `json:"timeline,omitempty"`
}

// apiEvent is an entry of an incident's timeline; a notification carries
// its channel and delivery state.
type apiEvent struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	By       string    `json:"by,omitempty"`
	Run      string    `json:"run,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Delivery string    `json:"delivery,omitempty"` // pending, delivered, failed
	Detail   string    `json:"detail,omitempty"`
	Count    int       `json:"count"`
}

// apiWindow is a maintenance window, from waymark.yaml (source "config",
// no id) or made on the spot (source "store", with its id).
type apiWindow struct {
	ID         int64          `json:"id,omitempty"`
	Source     string         `json:"source"`
	Name       string         `json:"name,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Match      apiWindowMatch `json:"match"`
	Cron       string         `json:"cron,omitempty"`
	DurationMS int64          `json:"duration_ms,omitempty"` // a repeating window's
	TimeZone   string         `json:"time_zone,omitempty"`
	From       time.Time      `json:"from,omitzero"`
	To         time.Time      `json:"to,omitzero"`
	CreatedBy  string         `json:"created_by,omitempty"`
	CreatedAt  time.Time      `json:"created_at,omitzero"`
	EndedAt    time.Time      `json:"ended_at,omitzero"`
	// Active says whether it is on now, and ActiveUntil until when;
	// NextStart and NextEnd are its next occurrence, if any.
	Active      bool      `json:"active"`
	ActiveUntil time.Time `json:"active_until,omitzero"`
	NextStart   time.Time `json:"next_start,omitzero"`
	NextEnd     time.Time `json:"next_end,omitzero"`
}

// apiWindowMatch is what a window covers.
type apiWindowMatch struct {
	Journey  string `json:"journey,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Customer string `json:"customer,omitempty"`
}

// apiQueued answers "run now".
type apiQueued struct {
	Queued  bool   `json:"queued"`
	Journey string `json:"journey"`
}

// apiList wraps every list, so a list can grow fields (a cursor) later.
type apiList[T any] struct {
	Items []T `json:"items"`
}

// httpError is an API handler's error with the status and message the
// client gets.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// badField is a 400 naming the field (or parameter) at fault.
func badField(field, format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: field + ": " + fmt.Sprintf(format, args...)}
}

// apiNotFound is a 404 saying what was not found.
func apiNotFound(format string, args ...any) error {
	return &httpError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// apiHandler is an API route: it returns the status and body of a
// success, or an error (see fail).
type apiHandler func(r *http.Request) (int, any, error)

// registerAPI adds the JSON API under /api/v1 to mux. Its routes live in
// a mux of their own, so that an unknown route or method answers in JSON
// like everything else of the API.
func (d *dash) registerAPI(mux *http.ServeMux) {
	api := http.NewServeMux()
	routes := []struct {
		pattern string
		h       apiHandler
	}{
		{"GET /api/v1/journeys", d.apiJourneys},
		{"GET /api/v1/journeys/{name}", d.apiJourney},
		{"POST /api/v1/journeys/{name}/run", d.apiRunNow},
		{"GET /api/v1/runs", d.apiRuns},
		{"GET /api/v1/runs/{id}", d.apiRun},
		{"GET /api/v1/incidents", d.apiIncidents},
		{"GET /api/v1/incidents/{ref}", d.apiIncident},
		{"POST /api/v1/incidents/{ref}/ack", d.apiAcknowledge},
		{"POST /api/v1/incidents/{ref}/note", d.apiNote},
		{"POST /api/v1/incidents/{ref}/resolve", d.apiResolve},
		{"GET /api/v1/maintenance", d.apiMaintenance},
		{"POST /api/v1/maintenance", d.apiStartMaintenance},
		{"POST /api/v1/maintenance/{id}/end", d.apiEndMaintenance},
	}
	for _, rt := range routes {
		api.Handle(rt.pattern, d.serveAPI(rt.h))
	}
	mux.Handle("/api/v1/", d.apiRouter(api))
}

// apiRouter serves api's routes, and answers what none of them takes
// (an unknown path, a method a path does not allow) in JSON.
func (d *dash) apiRouter(api *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := api.Handler(r)
		if pattern != "" {
			api.ServeHTTP(w, r) // which sets the path's values, as Handler does not
			return
		}
		// The mux's own answer: 404, 405 with Allow, or a redirect.
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusNotFound:
			d.writeJSON(w, http.StatusNotFound, apiError{Error: "no such API route: " + r.Method + " " + r.URL.Path + " (see docs/api.md)"})
		case http.StatusMethodNotAllowed:
			allow := probe.header.Get("Allow")
			w.Header().Set("Allow", allow)
			d.writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: "method " + r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + allow})
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// statusProbe is a ResponseWriter that keeps the header and status of
// the mux's own answers and drops their text bodies.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

// serveAPI runs an API handler and writes its answer: the body as JSON
// with its status, or the error's (see fail). A successful POST from
// htmx (HX-Request: true) also asks the page to reload (HX-Refresh).
func (d *dash) serveAPI(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		status, body, err := h(r)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost && r.Header.Get("HX-Request") == "true" {
			w.Header().Set("HX-Refresh", "true")
		}
		d.writeJSON(w, status, body)
	})
}

// fail writes an API error: the handler's own status and message, 404
// for what the store does not know, 409 for an action with nothing left
// to do, 413 for a body too large, and otherwise 500 with the error
// logged but not shown (it may name tables, files or hosts).
func (d *dash) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		d.writeJSON(w, he.status, apiError{Error: he.msg})
	case errors.As(err, &tooLarge):
		d.writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("body: larger than %d bytes", tooLarge.Limit)})
	case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrNotFound):
		d.writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
	case errors.Is(err, alert.ErrAlready):
		d.writeJSON(w, http.StatusConflict, apiError{Error: err.Error()})
	case r.Context().Err() != nil:
		// The client went away: nobody reads the answer.
		d.log.Debug("API request cut short", "method", r.Method, "path", r.URL.Path, "error", err)
		d.writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "the request was cut short"})
	default:
		d.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		d.writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error: the server's log says why"})
	}
}

// writeJSON writes v as the JSON answer with status. encoding/json
// escapes <, > and & in strings, so no text from a monitored site can
// be sniffed as markup either.
func (d *dash) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		d.log.Error("encode an API answer", "error", err)
		status, b = http.StatusInternalServerError, []byte(`{"error": "internal error: the server's log says why"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// --- journeys ---

func (d *dash) apiJourneys(r *http.Request) (int, any, error) {
	ctx := r.Context()
	recs, err := d.Store.Journeys(ctx)
	if err != nil {
		return 0, nil, err
	}
	out, err := d.journeySummaries(ctx, recs)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, apiList[apiJourney]{Items: out}, nil
}

func (d *dash) apiJourney(r *http.Request) (int, any, error) {
	ctx := r.Context()
	name := r.PathValue("name")
	recs, err := d.Store.Journeys(ctx)
	if err != nil {
		return 0, nil, err
	}
	i := slices.IndexFunc(recs, func(j store.JourneyRecord) bool { return j.Name == name })
	if i < 0 {
		return 0, nil, apiNotFound("no journey %q", name)
	}
	out, err := d.journeySummaries(ctx, recs[i:i+1])
	if err != nil {
		return 0, nil, err
	}
	j := out[0]
	j.Definition = recs[i].Definition
	return http.StatusOK, j, nil
}

// journeySummaries reads the latest run and the open incident of each
// journey of recs.
func (d *dash) journeySummaries(ctx context.Context, recs []store.JourneyRecord) ([]apiJourney, error) {
	names := make([]string, len(recs))
	for i, j := range recs {
		names[i] = j.Name
	}
	// Two: the latest may be an attempt that was retried, superseded by
	// the next.
	latest, err := d.Store.LatestRuns(ctx, names, 2)
	if err != nil {
		return nil, err
	}
	open, err := d.Store.Incidents(ctx, store.IncidentFilter{Limit: maxIncidentLimit})
	if err != nil {
		return nil, err
	}
	incidentOf := map[string]*results.Incident{}
	for _, inc := range open { // newest first: keep each journey's newest
		if _, ok := incidentOf[inc.Journey]; !ok {
			incidentOf[inc.Journey] = inc
		}
	}
	out := make([]apiJourney, len(recs))
	for i, j := range recs {
		a := apiJourney{
			Name: j.Name, Title: j.Title, Owner: j.Owner, Customer: j.Customer,
			Tags: nonNil(j.Tags), Schedule: j.Schedule, Locations: nonNil(j.Locations),
			Enabled: j.Enabled, LoadError: j.LoadError, Page: "/journeys/" + url.PathEscape(j.Name),
		}
		for _, run := range latest[j.Name] {
			if !run.Retried {
				a.LastRun = &apiRunRef{ID: run.ID, Location: run.Location, Outcome: string(run.Outcome),
					StartedAt: utc(run.StartedAt), DurationMS: run.Duration.Milliseconds()}
				break
			}
		}
		if inc := incidentOf[j.Name]; inc != nil {
			a.Incident = &apiIncidentRef{Ref: inc.Ref(), State: string(inc.State), Severity: string(inc.Severity), OpenedAt: utc(inc.OpenedAt)}
		}
		out[i] = a
	}
	return out, nil
}

func (d *dash) apiRunNow(r *http.Request) (int, any, error) {
	name := r.PathValue("name")
	if d.RunNow == nil {
		return 0, nil, &httpError{status: http.StatusNotImplemented, msg: "run now is not available on this dashboard: it is not served by `waymark serve`"}
	}
	if err := d.RunNow(r.Context(), name); err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, store.ErrNotFound) {
			return 0, nil, apiNotFound("no journey %q is served here", name)
		}
		return 0, nil, fmt.Errorf("run %s now: %w", name, err)
	}
	return http.StatusAccepted, apiQueued{Queued: true, Journey: name}, nil
}

// --- runs ---

func (d *dash) apiRuns(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	if err := knownParams(q, "journey", "location", "outcome", "since", "limit"); err != nil {
		return 0, nil, err
	}
	f := store.RunFilter{Journey: q.Get("journey"), Location: q.Get("location"), Limit: defaultRunLimit}
	if o := q.Get("outcome"); o != "" {
		switch results.Outcome(o) {
		case results.Passed, results.Degraded, results.Failed, results.Error, results.Aborted:
		default:
			return 0, nil, badField("outcome", "%q is no outcome: want passed, degraded, failed, error or aborted", o)
		}
		f.Outcome = results.Outcome(o)
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSinceParam(s, d.Now())
		if err != nil {
			return 0, nil, badField("since", "%v", err)
		}
		f.Since = t
	}
	limit, err := limitParam(q, defaultRunLimit, maxRunLimit)
	if err != nil {
		return 0, nil, err
	}
	f.Limit = limit
	runs, err := d.Store.Runs(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]apiRun, len(runs))
	for i := range runs {
		out[i] = toAPIRun(&runs[i])
	}
	return http.StatusOK, apiList[apiRun]{Items: out}, nil
}

func (d *dash) apiRun(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	run, err := d.Store.Run(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, apiNotFound("no run %q: give its whole ID", id)
	}
	if err != nil {
		return 0, nil, err
	}
	out := toAPIRun(run)
	out.Steps = make([]apiStep, len(run.Steps))
	for i := range run.Steps {
		out.Steps[i] = toAPIStep(run.ID, &run.Steps[i])
	}
	return http.StatusOK, out, nil
}

// toAPIRun is a run without its steps.
func toAPIRun(run *results.Run) apiRun {
	return apiRun{
		ID: run.ID, Journey: run.Journey, Title: run.Title, Trigger: string(run.Trigger), Location: run.Location,
		Slot: utc(run.Slot), StartedAt: utc(run.StartedAt), FinishedAt: utc(run.FinishedAt),
		DurationMS: run.Duration.Milliseconds(), SetupMS: run.Setup.Milliseconds(), Outcome: string(run.Outcome),
		FailingStep: run.FailingStep, Cause: string(run.Cause), Error: run.Error,
		BrowserVersion: run.BrowserVersion, DefinitionHash: run.DefinitionHash, Attempt: run.Attempt,
		Retried: run.Retried, Maintenance: run.Maintenance, Page: "/runs/" + url.PathEscape(run.ID),
	}
}

// toAPIStep is a step of run runID, its artifacts as links.
func toAPIStep(runID string, s *results.Step) apiStep {
	a := apiStep{
		Index: s.Index, Name: s.Name, Action: s.Action, Line: s.Line,
		StartMS: s.Start.Milliseconds(), DurationMS: s.Duration.Milliseconds(), Status: string(s.Status),
		Optional: s.Optional, Cause: string(s.Cause), Error: s.Error, Expected: s.Expected, Actual: s.Actual,
		URL: s.URL, HTTPStatus: s.HTTPStatus, Notes: s.Notes,
	}
	if t := s.Timings; t != nil {
		a.Timings = &apiTimings{TTFBMS: t.TTFB.Milliseconds(), DOMContentLoadedMS: t.DOMContentLoaded.Milliseconds(),
			LoadMS: t.Load.Milliseconds(), LCPMS: t.LCP.Milliseconds(), CLS: t.CLS, Requests: t.Requests, Bytes: t.Bytes}
	}
	for _, c := range s.Console {
		a.Console = append(a.Console, apiConsole{Kind: string(c.Kind), Text: c.Text, Source: c.Source, AtMS: c.At.Milliseconds()})
	}
	shot := false
	for _, art := range s.Artifacts {
		if !isHash(art.Hash) {
			continue // never stored: nothing to link
		}
		a.Artifacts = append(a.Artifacts, apiArtifact{Kind: string(art.Kind), Label: art.Label, URL: "/artifacts/" + art.Hash})
		shot = shot || art.Kind == results.ArtifactScreenshot
	}
	if shot {
		a.Screenshot = fmt.Sprintf("/runs/%s/steps/%d/screenshot", url.PathEscape(runID), s.Index)
	}
	return a
}

// --- incidents ---

func (d *dash) apiIncidents(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	if err := knownParams(q, "all", "journey", "customer", "limit"); err != nil {
		return 0, nil, err
	}
	f := store.IncidentFilter{Journey: q.Get("journey"), Customer: q.Get("customer")}
	if s := q.Get("all"); s != "" {
		all, err := strconv.ParseBool(s)
		if err != nil {
			return 0, nil, badField("all", "%q: want 1 (resolved incidents too) or 0", s)
		}
		f.All = all
	}
	limit, err := limitParam(q, defaultIncidentLimit, maxIncidentLimit)
	if err != nil {
		return 0, nil, err
	}
	f.Limit = limit
	list, err := d.Store.Incidents(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]apiIncident, len(list))
	for i, inc := range list {
		out[i] = toAPIIncident(inc)
	}
	return http.StatusOK, apiList[apiIncident]{Items: out}, nil
}

func (d *dash) apiIncident(r *http.Request) (int, any, error) {
	ctx := r.Context()
	id, err := refParam(r)
	if err != nil {
		return 0, nil, err
	}
	inc, err := d.Store.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, apiNotFound("no incident WM-%d", id)
	}
	if err != nil {
		return 0, nil, err
	}
	tl, err := d.Store.Timeline(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	out := toAPIIncident(inc)
	out.Timeline = make([]apiEvent, len(tl))
	for i, e := range tl {
		out.Timeline[i] = apiEvent{At: utc(e.At), Kind: string(e.Kind), By: e.By, Run: e.RunID, Channel: e.Channel,
			Delivery: string(e.Delivery), Detail: e.Detail, Count: e.Count}
	}
	return http.StatusOK, out, nil
}

// toAPIIncident is an incident without its timeline.
func toAPIIncident(inc *results.Incident) apiIncident {
	return apiIncident{
		Ref: inc.Ref(), Journey: inc.Journey, Location: inc.Location, Kind: string(inc.Kind),
		Severity: string(inc.Severity), State: string(inc.State),
		OpenedAt: utc(inc.OpenedAt), AcknowledgedAt: utc(inc.AcknowledgedAt), AcknowledgedBy: inc.AcknowledgedBy,
		ResolvedAt: utc(inc.ResolvedAt), ResolvedBy: inc.ResolvedBy,
		FirstRun: inc.FirstRun, LastRun: inc.LastRun, FirstFailureAt: utc(inc.FirstFailureAt), Failures: inc.Failures,
		Step: inc.Step, StepName: inc.StepName, Cause: string(inc.Cause), Error: inc.Error,
		TicketID: inc.TicketID, Level: inc.Level,
		NextEscalationAt: utc(inc.NextEscalationAt), NextReminderAt: utc(inc.NextReminderAt),
		Page: "/incidents/" + inc.Ref(),
	}
}

// refParam reads the {ref} of an incident's path: WM-12 or 12.
func refParam(r *http.Request) (int64, error) {
	id, err := results.ParseRef(r.PathValue("ref"))
	if err != nil {
		return 0, badField("ref", "%v", err)
	}
	return id, nil
}

func (d *dash) apiAcknowledge(r *http.Request) (int, any, error) {
	return d.incidentAction(r, "note", false, func(ctx context.Context, id int64, by, text string) (*results.Incident, error) {
		return d.Incidents.Acknowledge(ctx, id, by, text)
	})
}

func (d *dash) apiNote(r *http.Request) (int, any, error) {
	return d.incidentAction(r, "note", true, func(ctx context.Context, id int64, by, text string) (*results.Incident, error) {
		return d.Incidents.Note(ctx, id, by, text)
	})
}

func (d *dash) apiResolve(r *http.Request) (int, any, error) {
	return d.incidentAction(r, "reason", false, func(ctx context.Context, id int64, by, text string) (*results.Incident, error) {
		return d.Incidents.Resolve(ctx, id, by, text)
	})
}

// incidentAction reads {by, <field>} from the body and does act to
// the incident of the path, answering with the incident afterwards.
func (d *dash) incidentAction(r *http.Request, field string, required bool,
	act func(ctx context.Context, id int64, by, text string) (*results.Incident, error)) (int, any, error) {
	if d.Incidents == nil {
		return 0, nil, &httpError{status: http.StatusNotImplemented, msg: "acting on incidents is not available on this dashboard: it is not served by `waymark serve`"}
	}
	id, err := refParam(r)
	if err != nil {
		return 0, nil, err
	}
	body, err := readBody(r, "by", field)
	if err != nil {
		return 0, nil, err
	}
	by, err := lineField(body, "by", maxByLen, true)
	if err != nil {
		return 0, nil, err
	}
	text, err := textField(body, field, maxTextLen, required)
	if err != nil {
		return 0, nil, err
	}
	inc, err := act(r.Context(), id, by, text)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, apiNotFound("no incident WM-%d", id)
	case errors.Is(err, alert.ErrAlready):
		return 0, nil, &httpError{status: http.StatusConflict, msg: err.Error()}
	case err != nil:
		return 0, nil, fmt.Errorf("act on WM-%d: %w", id, err)
	}
	return http.StatusOK, toAPIIncident(inc), nil
}

// --- maintenance ---

func (d *dash) apiMaintenance(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	if err := knownParams(q, "since"); err != nil {
		return 0, nil, err
	}
	now := d.Now()
	since := now.Add(-defaultMaintenanceSince)
	if s := q.Get("since"); s != "" {
		t, err := parseSinceParam(s, now)
		if err != nil {
			return 0, nil, badField("since", "%v", err)
		}
		since = t
	}
	stored, err := d.Store.MaintenanceWindows(r.Context(), since)
	if err != nil {
		return 0, nil, err
	}
	out := make([]apiWindow, 0, len(d.Windows)+len(stored))
	for _, w := range d.Windows {
		out = append(out, toAPIWindow(w, "config", now))
	}
	for _, w := range stored {
		out = append(out, toAPIWindow(w, "store", now))
	}
	return http.StatusOK, apiList[apiWindow]{Items: out}, nil
}

func (d *dash) apiStartMaintenance(r *http.Request) (int, any, error) {
	body, err := readBody(r, "journey", "tag", "customer", "for", "reason", "name", "by")
	if err != nil {
		return 0, nil, err
	}
	var m results.MaintenanceMatch
	for _, f := range []struct {
		key string
		v   *string
	}{{"journey", &m.Journey}, {"tag", &m.Tag}, {"customer", &m.Customer}} {
		if *f.v, err = lineField(body, f.key, maxNameLen, false); err != nil {
			return 0, nil, err
		}
	}
	if m.IsZero() {
		return 0, nil, badField("journey, tag or customer", "want at least one: what the window covers")
	}
	forText := strings.TrimSpace(body["for"])
	if forText == "" {
		return 0, nil, badField("for", "required: how long the window lasts, like 30m, 2h or 1d")
	}
	dur, err := reports.ParseSince(forText)
	if err != nil {
		return 0, nil, badField("for", "%q: %v: want a positive duration such as 30m, 2h or 1d", forText, err)
	}
	name, err := lineField(body, "name", maxNameLen, false)
	if err != nil {
		return 0, nil, err
	}
	by, err := lineField(body, "by", maxByLen, false)
	if err != nil {
		return 0, nil, err
	}
	reason, err := textField(body, "reason", maxTextLen, false)
	if err != nil {
		return 0, nil, err
	}
	now := d.Now()
	to := now.Add(dur)
	if to.Before(now) {
		return 0, nil, badField("for", "%q is too long", forText)
	}
	w, err := d.Store.StartMaintenance(r.Context(), results.Maintenance{Name: name, Reason: reason, Match: m,
		From: now, To: to, CreatedBy: by, CreatedAt: now})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toAPIWindow(w, "store", now), nil
}

func (d *dash) apiEndMaintenance(r *http.Request) (int, any, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, badField("id", "%q: want a window's number, as GET /api/v1/maintenance lists it", s)
	}
	now := d.Now()
	w, err := d.Store.EndMaintenance(r.Context(), id, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, apiNotFound("no maintenance window %d made on the spot (windows of waymark.yaml end by editing it)", id)
	case errors.Is(err, store.ErrMaintenanceOver):
		end := w.To
		if !w.EndedAt.IsZero() && w.EndedAt.Before(end) {
			end = w.EndedAt
		}
		return 0, nil, &httpError{status: http.StatusConflict,
			msg: fmt.Sprintf("maintenance window %d was over already at %s: nothing to end", id, end.UTC().Format(time.RFC3339))}
	case err != nil:
		return 0, nil, err
	}
	return http.StatusOK, toAPIWindow(w, "store", now), nil
}

// toAPIWindow is a window as it stands at now.
func toAPIWindow(w results.Maintenance, source string, now time.Time) apiWindow {
	a := apiWindow{
		ID: w.ID, Source: source, Name: w.Name, Reason: w.Reason,
		Match: apiWindowMatch{Journey: w.Match.Journey, Tag: w.Match.Tag, Customer: w.Match.Customer},
		Cron:  w.Cron, DurationMS: w.Duration.Milliseconds(), TimeZone: w.TimeZone,
		From: utc(w.From), To: utc(w.To), CreatedBy: w.CreatedBy, CreatedAt: utc(w.CreatedAt), EndedAt: utc(w.EndedAt),
	}
	if _, end, ok := w.Active(now); ok {
		a.Active, a.ActiveUntil = true, utc(end)
	}
	if start, end, ok := w.Next(now); ok {
		a.NextStart, a.NextEnd = utc(start), utc(end)
	}
	return a
}

// --- requests ---

// readBody reads the fields of a POST body: a JSON object of strings
// (Content-Type application/json), or a form (the dashboard's htmx forms).
// A JSON body must hold only the fields named; a form's other fields are
// ignored. An empty body without a Content-Type has no fields.
func readBody(r *http.Request, fields ...string) (map[string]string, error) {
	ct := r.Header.Get("Content-Type")
	media := ""
	if ct != "" {
		m, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: want application/json or a form", ct)}
		}
		media = m
	}
	body := http.MaxBytesReader(nil, r.Body, apiBodyLimit)
	out := map[string]string{}
	switch media {
	case "application/json":
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, fmt.Errorf("read the body: %w", err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, badField("body", "want a JSON object with %s", strings.Join(fields, ", "))
		}
		for k, v := range obj {
			if !slices.Contains(fields, k) {
				return nil, badField(k, "unknown field: want %s", strings.Join(fields, ", "))
			}
			var s *string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, badField(k, "want a string")
			}
			if s != nil {
				out[k] = *s
			}
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		r.Body = body
		var err error
		if media == "multipart/form-data" {
			err = r.ParseMultipartForm(apiBodyLimit)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, err
			}
			return nil, badField("body", "the form could not be read: %v", err)
		}
		for _, f := range fields {
			if vs := r.PostForm[f]; len(vs) > 0 {
				out[f] = vs[0]
			}
		}
	case "":
		n, err := io.Copy(io.Discard, body)
		if err != nil {
			return nil, fmt.Errorf("read the body: %w", err)
		}
		if n > 0 {
			return nil, &httpError{status: http.StatusUnsupportedMediaType, msg: "Content-Type: missing: want application/json or a form"}
		}
	default:
		return nil, &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: want application/json or a form", media)}
	}
	for k, v := range out {
		if !utf8.ValidString(v) {
			return nil, badField(k, "not UTF-8 text")
		}
	}
	return out, nil
}

// lineField is a short one-line field people fill (who, a name, a
// tag): trimmed, at most most characters, no control characters.
func lineField(body map[string]string, key string, most int, required bool) (string, error) {
	v := strings.TrimSpace(body[key])
	switch {
	case v == "" && required:
		return "", badField(key, "required")
	case utf8.RuneCountInString(v) > most:
		return "", badField(key, "longer than %d characters", most)
	case strings.ContainsFunc(v, unicode.IsControl):
		return "", badField(key, "holds control characters: want one line of text")
	}
	return v, nil
}

// textField is a free text field (a note, a reason): trimmed, at most
// most characters; new lines and tabs are kept, other control characters
// refused.
func textField(body map[string]string, key string, most int, required bool) (string, error) {
	v := strings.TrimSpace(body[key])
	switch {
	case v == "" && required:
		return "", badField(key, "required")
	case utf8.RuneCountInString(v) > most:
		return "", badField(key, "longer than %d characters", most)
	case strings.ContainsFunc(v, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\r' && c != '\t' }):
		return "", badField(key, "holds control characters")
	}
	return v, nil
}

// knownParams refuses query parameters a route does not take: a typo
// (?outcom=failed) would otherwise silently list everything.
func knownParams(q url.Values, known ...string) error {
	for k := range q {
		if !slices.Contains(known, k) {
			return badField(k, "unknown parameter: want %s", strings.Join(known, ", "))
		}
	}
	return nil
}

// limitParam reads ?limit=: def when absent, 1..most.
func limitParam(q url.Values, def, most int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, badField("limit", "%q: want a number from 1 to %d", s, most)
	}
	return n, nil
}

// parseSinceParam reads ?since=: a duration back from now (90m, 36h, 7d)
// or an RFC 3339 time.
func parseSinceParam(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := reports.ParseSince(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %v: want a duration such as 90m, 36h or 7d, or an RFC 3339 time", s, err)
	}
	return now.Add(-d), nil
}

// utc is t in UTC; the zero time stays zero (and is left out).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// nonNil is list, or an empty list: JSON says [] rather than null.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
