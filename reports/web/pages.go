package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// securityHeaders are sent with every page: scripts only from the binary
// itself, so text a monitored site put in a title or an error can never
// run, even if an escape were missed.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
		"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"X-Frame-Options":        "DENY",
}

// registerPages adds the dashboard's pages, its static files, the
// artifacts and the live-update stream.
func (d *dash) registerPages(mux *http.ServeMux) {
	d.pages = template.Must(template.New("").Funcs(d.funcs()).ParseFS(templateFS, "templates/*.html"))
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(files, 24*time.Hour)))
	mux.HandleFunc("GET /{$}", d.page(d.overview))
	mux.HandleFunc("GET /journeys/{name}", d.page(d.journey))
	mux.HandleFunc("GET /runs/{id}", d.page(d.run))
	mux.HandleFunc("GET /incidents", d.page(d.incidents))
	mux.HandleFunc("GET /incidents/{ref}", d.page(d.incident))
	mux.HandleFunc("GET /status", d.page(d.status))
	mux.HandleFunc("GET /runs/{id}/steps/{n}/screenshot", d.screenshot)
	mux.HandleFunc("GET /artifacts/{hash}", d.artifact)
	mux.HandleFunc("GET /events", d.events)
}

// cacheFor lets browsers keep the embedded files: they change only with
// the binary, and their names carry the vendored versions.
func cacheFor(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// view is what a page handler gives its template: the page's name (its
// template), title and data.
type view struct {
	Template string
	Title    string
	Nav      string // the menu entry that is current
	Data     any
}

// errPage is a page handler's error with the status people should see.
type errPage struct {
	status int
	msg    string
}

func (e *errPage) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &errPage{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// page serves a page handler's view through the layout, or its error.
func (d *dash) page(fn func(r *http.Request) (view, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		v, err := fn(r)
		if err != nil {
			status, msg := http.StatusInternalServerError, "the dashboard could not read the store; the log says why"
			var ep *errPage
			switch {
			case errors.As(err, &ep):
				status, msg = ep.status, ep.msg
			case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrNotFound):
				status, msg = http.StatusNotFound, "not found"
			default:
				d.log.Error("dashboard page", "path", r.URL.Path, "error", err)
			}
			w.WriteHeader(status)
			v = view{Template: "error", Title: http.StatusText(status), Data: msg}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := d.pages.ExecuteTemplate(w, "layout", v); err != nil {
			d.log.Error("render dashboard page", "path", r.URL.Path, "error", err)
		}
	}
}

// journeyState is what the overview says of a journey, worst first.
type journeyState string

const (
	stateFailing     journeyState = "failing"
	stateDegraded    journeyState = "degraded"
	stateInvalid     journeyState = "file invalid"
	stateMaintenance journeyState = "in maintenance"
	statePassing     journeyState = "passing"
	statePaused      journeyState = "paused"
	stateNew         journeyState = "no runs yet"
)

// overviewRow is one journey on the overview.
type overviewRow struct {
	store.JourneyRecord
	State      journeyState
	Class      string // the state's colour
	Last       *results.Run
	Locations  []results.Run // the last run in each location
	Recent     []results.Run // oldest first, for the sparkline
	Day, Month store.JourneyStat
	Incident   *results.Incident
	Window     string // the maintenance window it is in
	// Warnings are its steps forecast to cross their warn threshold.
	Warnings []store.StepForecast
}

// overviewData is the overview page.
type overviewData struct {
	Rows                               []overviewRow
	Incidents                          []*results.Incident
	Filter                             overviewFilter
	Customers, Owners, Tags, Locations []string
	Counts                             map[journeyState]int
}

// overviewFilter is the overview's query.
type overviewFilter struct{ Customer, Owner, Tag, Location string }

// sparkRuns is how many recent runs the overview's sparkline shows.
const sparkRuns = 30

func (d *dash) overview(r *http.Request) (view, error) {
	ctx := r.Context()
	q := r.URL.Query()
	f := overviewFilter{Customer: q.Get("customer"), Owner: q.Get("owner"), Tag: q.Get("tag"), Location: q.Get("location")}
	now := d.Now()
	all, err := d.Store.Journeys(ctx)
	if err != nil {
		return view{}, err
	}
	data := overviewData{Filter: f, Counts: map[journeyState]int{}}
	var names []string
	var kept []store.JourneyRecord
	seen := map[string]map[string]bool{"c": {}, "o": {}, "t": {}, "l": {}}
	add := func(kind string, list *[]string, v string) {
		if v != "" && !seen[kind][v] {
			seen[kind][v] = true
			*list = append(*list, v)
		}
	}
	for _, j := range all {
		add("c", &data.Customers, j.Customer)
		add("o", &data.Owners, j.Owner)
		for _, t := range j.Tags {
			add("t", &data.Tags, t)
		}
		for _, l := range j.Locations {
			add("l", &data.Locations, l)
		}
		if (f.Customer != "" && j.Customer != f.Customer) || (f.Owner != "" && j.Owner != f.Owner) ||
			(f.Tag != "" && !slices.Contains(j.Tags, f.Tag)) ||
			(f.Location != "" && len(j.Locations) > 0 && !slices.Contains(j.Locations, f.Location)) {
			continue
		}
		kept = append(kept, j)
		names = append(names, j.Name)
	}
	for _, l := range [][]string{data.Customers, data.Owners, data.Tags, data.Locations} {
		slices.Sort(l)
	}
	latest, err := d.Store.LatestRuns(ctx, names, sparkRuns)
	if err != nil {
		return view{}, err
	}
	day, err := d.Store.JourneyStats(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return view{}, err
	}
	month, err := d.monthStats(ctx, now)
	if err != nil {
		return view{}, err
	}
	open, err := d.Store.Incidents(ctx, store.IncidentFilter{})
	if err != nil {
		return view{}, err
	}
	windows, err := d.activeWindows(ctx, now)
	if err != nil {
		return view{}, err
	}
	forecasts, err := d.Store.Forecasts(ctx, "")
	if err != nil {
		return view{}, err
	}
	warnings := map[string][]store.StepForecast{}
	for _, f := range forecasts {
		if f.Crosses() {
			warnings[f.Journey] = append(warnings[f.Journey], f)
		}
	}
	incidentOf := map[string]*results.Incident{}
	for _, inc := range open {
		if _, ok := incidentOf[inc.Journey]; !ok && slices.Contains(names, inc.Journey) {
			incidentOf[inc.Journey] = inc
			data.Incidents = append(data.Incidents, inc)
		}
	}
	for _, j := range kept {
		row := overviewRow{JourneyRecord: j, Day: day[j.Name], Month: month[j.Name], Incident: incidentOf[j.Name],
			Warnings: warnings[j.Name]}
		runs := latest[j.Name]
		if f.Location != "" {
			runs = slices.DeleteFunc(slices.Clone(runs), func(r results.Run) bool { return r.Location != f.Location })
		}
		var where []string
		for i := range runs {
			if runs[i].Retried {
				continue
			}
			if row.Last == nil {
				row.Last = &runs[i]
			}
			if !slices.Contains(where, runs[i].Location) {
				where = append(where, runs[i].Location)
				row.Locations = append(row.Locations, runs[i])
			}
			row.Recent = append(row.Recent, runs[i])
		}
		slices.Reverse(row.Recent)
		if w, ok := results.InMaintenance(windows, j.Name, j.Customer, j.Tags, now); ok {
			row.Window = w.Label()
		}
		row.State = stateOf(row)
		row.Class = stateClass(row.State)
		data.Counts[row.State]++
		data.Rows = append(data.Rows, row)
	}
	// Open incidents first, then the worst state, then by name.
	slices.SortStableFunc(data.Rows, func(a, b overviewRow) int {
		if (a.Incident != nil) != (b.Incident != nil) {
			if a.Incident != nil {
				return -1
			}
			return 1
		}
		if c := stateRank(a.State) - stateRank(b.State); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return view{Template: "overview", Title: "Overview", Nav: "overview", Data: data}, nil
}

// monthStats sums the last 30 days from the hourly aggregates, and the
// runs after the last aggregated hour from the runs themselves.
//
// The aggregates' sum changes only when the watermark or the hour moves,
// so it is kept between pages (d.totals): summing a month of hours for
// every journey is most of the overview's cost.
func (d *dash) monthStats(ctx context.Context, now time.Time) (map[string]store.JourneyStat, error) {
	until, err := d.Store.AggregatedUntil(ctx)
	if err != nil {
		return nil, err
	}
	if until.Before(now.Truncate(time.Hour).Add(-2 * time.Hour)) {
		// Aggregation lags (no prune has run yet): read the month from runs.
		return d.Store.JourneyStats(ctx, now.Add(-30*24*time.Hour))
	}
	since := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	totals, err := d.totals.get(ctx, d.Store, since, until)
	if err != nil {
		return nil, err
	}
	// The runs after the watermark are not aggregated yet.
	recent, err := d.Store.JourneyStats(ctx, until)
	if err != nil {
		return nil, err
	}
	month := make(map[string]store.JourneyStat, len(totals))
	for name, s := range totals {
		month[name] = s
	}
	for name, s := range recent {
		m := month[name]
		m.Journey = name
		m.Runs += s.Runs
		m.Passed += s.Passed
		m.Degraded += s.Degraded
		m.Failed += s.Failed
		m.Errors += s.Errors
		m.Aborted += s.Aborted
		month[name] = m
	}
	return month, nil
}

// activeWindows are the maintenance windows of the config and the store
// that may be active at now.
func (d *dash) activeWindows(ctx context.Context, now time.Time) ([]results.Maintenance, error) {
	stored, err := d.Store.MaintenanceWindows(ctx, now)
	if err != nil {
		return nil, err
	}
	return append(slices.Clone(d.Windows), stored...), nil
}

func stateOf(row overviewRow) journeyState {
	switch {
	case row.LoadError != "":
		return stateInvalid
	case row.Window != "":
		return stateMaintenance
	case !row.Enabled || row.Schedule == "":
		if row.Last == nil {
			return statePaused
		}
	}
	if row.Last == nil {
		return stateNew
	}
	switch row.Last.Outcome {
	case results.Failed:
		return stateFailing
	case results.Degraded:
		return stateDegraded
	}
	if !row.Enabled || row.Schedule == "" {
		return statePaused
	}
	return statePassing
}

func stateRank(s journeyState) int {
	return slices.Index([]journeyState{stateFailing, stateDegraded, stateInvalid, stateMaintenance, statePassing, statePaused, stateNew}, s)
}

func stateClass(s journeyState) string {
	switch s {
	case stateFailing:
		return "bad"
	case stateDegraded, stateInvalid:
		return "warn"
	case statePassing:
		return "good"
	}
	return "muted"
}

// journeyData is a journey's page.
type journeyData struct {
	store.JourneyRecord
	Journey   *journeys.Journey // loaded; nil when not served here
	Runs      []results.Run
	Outcome   string // the history's filter
	Location  string
	Locations []string
	Range     string
	Ranges    []string
	Chart     stepChart
	Days      []dayBar
	Incidents []*results.Incident
	Source    []sourceLine
	Forecasts []store.StepForecast // the steps forecast to cross warn
}

// ranges are the journey chart's periods.
var ranges = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
	"90d": 90 * 24 * time.Hour, "1y": 365 * 24 * time.Hour}

func (d *dash) journey(r *http.Request) (view, error) {
	ctx := r.Context()
	name := r.PathValue("name")
	rec, err := d.journeyRecord(ctx, name)
	if err != nil {
		return view{}, err
	}
	q := r.URL.Query()
	data := journeyData{JourneyRecord: rec, Outcome: q.Get("outcome"), Location: q.Get("location"), Range: q.Get("range"),
		Ranges: []string{"24h", "7d", "30d", "90d", "1y"}}
	if _, ok := ranges[data.Range]; !ok {
		data.Range = "30d"
	}
	if d.Journey != nil {
		data.Journey, _ = d.Journey(name)
	}
	data.Runs, err = d.Store.Runs(ctx, store.RunFilter{Journey: name, Outcome: results.Outcome(data.Outcome), Location: data.Location, Limit: 100})
	if err != nil {
		return view{}, err
	}
	data.Locations = rec.Locations
	now := d.Now()
	since := now.Add(-ranges[data.Range])
	steps, err := d.Store.StepHours(ctx, store.HourFilter{Journey: name, Since: since})
	if err != nil {
		return view{}, err
	}
	data.Chart = newStepChart(steps, ranges[data.Range] > 7*24*time.Hour)
	hours, err := d.Store.JourneyHours(ctx, store.HourFilter{Journey: name, Since: now.Add(-30 * 24 * time.Hour)})
	if err != nil {
		return view{}, err
	}
	data.Days = dayBars(hours, now, 30)
	data.Incidents, err = d.Store.Incidents(ctx, store.IncidentFilter{All: true, Journey: name, Limit: 20})
	if err != nil {
		return view{}, err
	}
	data.Source = source(rec.Definition, 0, 0)
	all, err := d.Store.Forecasts(ctx, name)
	if err != nil {
		return view{}, err
	}
	for _, f := range all {
		if f.Crosses() {
			data.Forecasts = append(data.Forecasts, f)
		}
	}
	return view{Template: "journey", Title: name, Data: data}, nil
}

// journeyRecord reads a journey's record by name.
func (d *dash) journeyRecord(ctx context.Context, name string) (store.JourneyRecord, error) {
	all, err := d.Store.Journeys(ctx)
	if err != nil {
		return store.JourneyRecord{}, err
	}
	for _, j := range all {
		if j.Name == name {
			return j, nil
		}
	}
	return store.JourneyRecord{}, notFound("no journey %q", name)
}

// sourceLine is a line of a journey file, numbered.
type sourceLine struct {
	N    int
	Text string
	Mark bool // the failing step's line
}

// source numbers the lines of def, from..to (0: all), marking line mark.
func source(def string, mark, around int) []sourceLine {
	if def == "" {
		return nil
	}
	lines := strings.Split(strings.TrimRight(def, "\n"), "\n")
	from, to := 1, len(lines)
	if around > 0 && mark > 0 {
		from, to = max(mark-around, 1), min(mark+around, len(lines))
	}
	out := make([]sourceLine, 0, to-from+1)
	for n := from; n <= to; n++ {
		out = append(out, sourceLine{N: n, Text: lines[n-1], Mark: n == mark})
	}
	return out
}

// runData is a run's page.
type runData struct {
	*results.Run
	Waterfall template.HTML
	Steps     []stepView
	Source    []sourceLine
	Deciding  *results.Step
}

// stepView is a step on the run page.
type stepView struct {
	results.Step
	Warn, Fail time.Duration // its thresholds, when the journey is loaded
	Shots      []results.Artifact
}

func (d *dash) run(r *http.Request) (view, error) {
	ctx := r.Context()
	run, err := d.Store.Run(ctx, r.PathValue("id"))
	if err != nil {
		return view{}, err
	}
	var j *journeys.Journey
	if d.Journey != nil {
		j, _ = d.Journey(run.Journey)
	}
	data := runData{Run: run, Deciding: run.DecidingStep()}
	for _, s := range run.Steps {
		v := stepView{Step: s}
		if j != nil && s.Index >= 1 && s.Index <= len(j.Steps) {
			v.Warn, v.Fail = j.Steps[s.Index-1].Threshold.Warn, j.Steps[s.Index-1].Threshold.Fail
		}
		for _, a := range s.Artifacts {
			if a.Kind == results.ArtifactScreenshot && a.Hash != "" {
				v.Shots = append(v.Shots, a)
			}
		}
		data.Steps = append(data.Steps, v)
	}
	data.Waterfall = waterfall(data.Steps, run.Duration)
	if s := data.Deciding; s != nil && s.Line > 0 {
		if rec, err := d.journeyRecord(ctx, run.Journey); err == nil {
			data.Source = source(rec.Definition, s.Line, 4)
		}
	}
	return view{Template: "run", Title: run.Journey + " run", Data: data}, nil
}

// incidentsData is the incidents page.
type incidentsData struct {
	Open, Acknowledged, Resolved []*results.Incident
}

func (d *dash) incidents(r *http.Request) (view, error) {
	list, err := d.Store.Incidents(r.Context(), store.IncidentFilter{All: true, Limit: 200})
	if err != nil {
		return view{}, err
	}
	var data incidentsData
	for _, inc := range list {
		switch inc.State {
		case results.IncidentOpen:
			data.Open = append(data.Open, inc)
		case results.IncidentAcknowledged:
			data.Acknowledged = append(data.Acknowledged, inc)
		default:
			data.Resolved = append(data.Resolved, inc)
		}
	}
	return view{Template: "incidents", Title: "Incidents", Nav: "incidents", Data: data}, nil
}

// incidentData is an incident's page.
type incidentData struct {
	*results.Incident
	Timeline []results.IncidentEvent
	Run      *results.Run // the run that opened it
	Shot     string       // its failing step's screenshot URL, if any
	CanAct   bool
}

func (d *dash) incident(r *http.Request) (view, error) {
	ctx := r.Context()
	id, err := results.ParseRef(r.PathValue("ref"))
	if err != nil {
		return view{}, notFound("%v", err)
	}
	inc, err := d.Store.Incident(ctx, id)
	if err != nil {
		return view{}, err
	}
	tl, err := d.Store.Timeline(ctx, id)
	if err != nil {
		return view{}, err
	}
	data := incidentData{Incident: inc, Timeline: tl, CanAct: d.Incidents != nil && inc.Open()}
	if run, err := d.Store.Run(ctx, inc.FirstRun); err == nil {
		data.Run = run
		if s := run.DecidingStep(); s != nil && hasShot(s) {
			data.Shot = fmt.Sprintf("/runs/%s/steps/%d/screenshot", url.PathEscape(run.ID), s.Index)
		}
	}
	return view{Template: "incident", Title: inc.Ref(), Nav: "incidents", Data: data}, nil
}

func hasShot(s *results.Step) bool {
	return slices.ContainsFunc(s.Artifacts, func(a results.Artifact) bool { return a.Kind == results.ArtifactScreenshot })
}

func (d *dash) status(r *http.Request) (view, error) {
	if d.Status == nil {
		return view{}, &errPage{status: http.StatusNotImplemented, msg: "this dashboard has no agent status"}
	}
	v, err := d.Status(r.Context())
	if err != nil {
		return view{}, err
	}
	return view{Template: "status", Title: "Status", Nav: "status", Data: v}, nil
}

// screenshot serves a step's screenshot (the failure's when it has
// several), by run id and step number: nothing of the request reaches the
// filesystem.
func (d *dash) screenshot(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	run, err := d.Store.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		d.notFoundOr(w, r, err)
		return
	}
	for _, s := range run.Steps {
		if s.Index != n {
			continue
		}
		var hash string
		for _, a := range s.Artifacts {
			if a.Kind == results.ArtifactScreenshot && (hash == "" || a.Label == "failure") {
				hash = a.Hash
			}
		}
		if hash != "" {
			d.serveBlob(w, r, hash)
			return
		}
	}
	http.NotFound(w, r)
}

// artifact serves an artifact's content by its hash.
func (d *dash) artifact(w http.ResponseWriter, r *http.Request) {
	d.serveBlob(w, r, r.PathValue("hash"))
}

// serveBlob serves the stored content of hash, which must be a sha256 in
// hex: anything else is not found.
func (d *dash) serveBlob(w http.ResponseWriter, r *http.Request, hash string) {
	if !isHash(hash) {
		http.NotFound(w, r)
		return
	}
	b, err := d.Store.Blob(r.Context(), hash)
	if err != nil {
		d.notFoundOr(w, r, err)
		return
	}
	ct := http.DetectContentType(b)
	if !strings.HasPrefix(ct, "image/") {
		// Never let a browser render stored HTML from our origin.
		ct = "application/octet-stream"
		w.Header().Set("Content-Disposition", "attachment")
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable") // content-addressed
	_, _ = w.Write(b)
}

func (d *dash) notFoundOr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	d.log.Error("serve an artifact", "path", r.URL.Path, "error", err)
	http.Error(w, "could not read the store", http.StatusInternalServerError)
}

// isHash says whether s is a sha256 in lowercase hex.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// totalsCache keeps the last sum of the hourly aggregates, for as long as
// it is the same sum: same first hour, same watermark.
type totalsCache struct {
	mu           sync.Mutex
	since, until time.Time
	sums         map[string]store.JourneyStat
}

func (c *totalsCache) get(ctx context.Context, st *store.Store, since, until time.Time) (map[string]store.JourneyStat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sums != nil && c.since.Equal(since) && c.until.Equal(until) {
		return c.sums, nil
	}
	sums, err := st.JourneyTotals(ctx, since, until)
	if err != nil {
		return nil, err
	}
	c.since, c.until, c.sums = since, until, sums
	return sums, nil
}
