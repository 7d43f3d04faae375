// Package period is the report of a period: availability, incidents, step
// timings against the previous period, for a customer or a monthly review.
//
// Build reads a Source (the store) into a Report, Review into a Review;
// both are plain values that the writers render as HTML (one
// self-contained file that prints on A4), Markdown, JSON or CSV. Nothing
// here writes to the store.
//
// Availability is (passed + degraded) / (passed + degraded + failed): the
// share of the runs that checked the site in which it worked. Runs in a
// maintenance window are left out (and counted apart), and so are error
// runs (the monitor's own trouble) and aborted ones (cut short). The
// figures come from the hourly aggregates (store.PeriodHours), which do
// not tell maintenance runs apart: the maintenance runs still found among
// the raw runs are taken out of them (store.MaintenanceCounts). Raw runs
// are kept for retention.runs (30d by default), failed ones for
// retention.failures (90d): beyond the first, runs in maintenance that
// passed stay counted as passed, which the report says in its notes.
package period

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// Source is what Build and Review read: the methods of *store.Store they
// use, so tests can give them a real store.
type Source interface {
	Journeys(ctx context.Context) ([]store.JourneyRecord, error)
	PeriodHours(ctx context.Context, f store.PeriodFilter) ([]store.JourneyHour, []store.StepHour, error)
	MaintenanceCounts(ctx context.Context, f store.PeriodFilter) ([]store.MaintenanceCount, error)
	MaintenanceWindows(ctx context.Context, since time.Time) ([]results.Maintenance, error)
	IncidentsBetween(ctx context.Context, f store.PeriodFilter) ([]*results.Incident, error)
	Timeline(ctx context.Context, id int64) ([]results.IncidentEvent, error)
	RunFailures(ctx context.Context, f store.PeriodFilter, outcomes ...results.Outcome) ([]store.RunFailure, error)
	RunOutcomes(ctx context.Context, f store.PeriodFilter) ([]store.RunOutcome, error)
	Run(ctx context.Context, id string) (*results.Run, error)
	Blob(ctx context.Context, hash string) ([]byte, error)
}

var _ Source = (*store.Store)(nil)

// Options say what period of which journeys a report covers.
type Options struct {
	// Since and Until bound the period. Since is taken from the start of
	// its hour: the aggregates are hourly.
	Since, Until time.Time
	// Customer, Journey and Tag narrow the report to a customer's
	// journeys, one journey, or the journeys with a tag; at most one is
	// set. None: every journey.
	Customer, Journey, Tag string
	// Windows are the maintenance windows of waymark.yaml; those made on
	// the spot are read from the store.
	Windows []results.Maintenance
	// Zone is where days begin and in which times are shown; nil is UTC.
	Zone *time.Location
	// Now is when the report is made, as it says.
	Now time.Time
	// Screenshots loads the failures' screenshots, downscaled, for the
	// HTML report; the other formats name them by hash only.
	Screenshots bool
	// RunsKept is retention.runs (0: forever): before Now − RunsKept only
	// failed and error runs are kept raw, which the report says.
	RunsKept time.Duration
	// Routes name the config's routes by index, for the review's time to
	// acknowledge; a route without a name is "route N".
	Routes []string
}

// Limits of what a report lists.
const (
	slowestSteps   = 10 // steps in "slowest steps"
	topCauses      = 10 // rows of "most frequent failure causes"
	maxScreenshots = 6  // failures shown with their screenshot
	maxTimes       = 100
)

// Report is the report of a period.
type Report struct {
	// Scope says which journeys: "customer acme", "all journeys".
	Scope string `json:"scope"`
	// Since and Until are the period, PreviousSince the start of the
	// period before it, as long, that step timings are compared with.
	Since         time.Time `json:"since"`
	Until         time.Time `json:"until"`
	PreviousSince time.Time `json:"previous_since"`
	Generated     time.Time `json:"generated"`
	Zone          string    `json:"time_zone"`
	// Total is the availability of every journey of the report together,
	// Days the same day by day.
	Total    Availability `json:"total"`
	Days     []Day        `json:"days"`
	Journeys []Journey    `json:"journeys"`
	// Maintenance lists the windows over the journeys that overlapped the
	// period, and the runs recorded in each.
	Maintenance []Window   `json:"maintenance"`
	Incidents   []Incident `json:"incidents"`
	// MedianToAcknowledge and MedianToResolve are over the incidents that
	// were acknowledged, and resolved; nil when none was.
	MedianToAcknowledge *Duration `json:"median_to_acknowledge_ms"`
	MedianToResolve     *Duration `json:"median_to_resolve_ms"`
	// Slowest are the steps with the highest p95, of every journey.
	Slowest []Step `json:"slowest_steps"`
	// Causes are the most frequent reasons runs failed, Failures an
	// example of each of the first with its screenshot.
	Causes   []Cause   `json:"failure_causes"`
	Failures []Failure `json:"failures"`
	// Notes say what the figures cannot show.
	Notes []string `json:"notes"`
}

// Availability counts the runs of a journey (or of several) and how
// often the site worked.
type Availability struct {
	// Checked counts the runs that checked the site outside maintenance:
	// Passed + Degraded + Failed.
	Checked  int `json:"checked"`
	Passed   int `json:"passed"`
	Degraded int `json:"degraded"`
	Failed   int `json:"failed"`
	// Errors and Aborted count the runs that say nothing of the site.
	Errors  int `json:"errors"`
	Aborted int `json:"aborted"`
	// Maintenance counts the runs in a maintenance window, left out.
	Maintenance int `json:"maintenance"`
	// Percent is (Passed + Degraded) / Checked in percent, rounded down
	// to a thousandth so that 99.9996 never shows as 100; nil when no run
	// checked the site.
	Percent *float64 `json:"percent"`
}

// Day is the availability of one day, in the report's zone.
type Day struct {
	Date string `json:"date"` // 2006-01-02
	Availability
}

// Journey is one journey's part of the report.
type Journey struct {
	Name         string       `json:"name"`
	Title        string       `json:"title"`
	Customer     string       `json:"customer"`
	Tags         []string     `json:"tags"`
	Availability Availability `json:"availability"`
	Days         []Day        `json:"days"`
	// Incidents counts the incidents of the journey open in the period.
	Incidents int    `json:"incidents"`
	Steps     []Step `json:"steps"`
}

// Step is one step's timings over the period, against the period before.
type Step struct {
	Journey string `json:"journey"`
	Index   int    `json:"index"`
	Name    string `json:"name"`
	// Runs counts the times the step checked the site, Failures the
	// times it failed.
	Runs     int      `json:"runs"`
	Failures int      `json:"failures"`
	P50      Duration `json:"p50_ms"`
	P95      Duration `json:"p95_ms"`
	// Previous is the same over the period before; nil when the step did
	// not run then.
	Previous *Timing `json:"previous"`
	// P50Change and P95Change compare with Previous; nil without it.
	P50Change *Change `json:"p50_change"`
	P95Change *Change `json:"p95_change"`
	// Daily is the p95 of each day of the report (0: no run that day).
	Daily []Duration `json:"daily_p95_ms"`
}

// Timing is a step's timings over a period.
type Timing struct {
	Runs int      `json:"runs"`
	P50  Duration `json:"p50_ms"`
	P95  Duration `json:"p95_ms"`
}

// Incident is an incident open during the period.
type Incident struct {
	Ref            string     `json:"ref"`
	Journey        string     `json:"journey"`
	Location       string     `json:"location"`
	Kind           string     `json:"kind"`
	Severity       string     `json:"severity"`
	State          string     `json:"state"`
	Opened         time.Time  `json:"opened"`
	Acknowledged   *time.Time `json:"acknowledged"`
	AcknowledgedBy string     `json:"acknowledged_by"`
	Resolved       *time.Time `json:"resolved"`
	ResolvedBy     string     `json:"resolved_by"`
	// ToAcknowledge and ToResolve are from opening; nil until then.
	ToAcknowledge *Duration `json:"to_acknowledge_ms"`
	ToResolve     *Duration `json:"to_resolve_ms"`
	Failures      int       `json:"failures"`
	// Step, StepName, Cause and Error are what failed in the run that
	// opened it.
	Step     int    `json:"step"`
	StepName string `json:"step_name"`
	Cause    string `json:"cause"`
	Error    string `json:"error"`
}

// Cause is a reason runs of a journey failed: a step and a cause, how
// many runs it failed, and the latest of them.
type Cause struct {
	Journey  string    `json:"journey"`
	Step     int       `json:"step"`
	StepName string    `json:"step_name"`
	Cause    string    `json:"cause"`
	Runs     int       `json:"runs"`
	Last     time.Time `json:"last"`
	LastRun  string    `json:"last_run"`
	Error    string    `json:"error"` // the latest run's
}

// Failure is a failed run shown with its screenshot: the latest of a
// Cause.
type Failure struct {
	Journey  string    `json:"journey"`
	Run      string    `json:"run"`
	At       time.Time `json:"at"`
	Step     int       `json:"step"`
	StepName string    `json:"step_name"`
	Cause    string    `json:"cause"`
	Error    string    `json:"error"`
	URL      string    `json:"url"`
	// Screenshot is the hash of the failing step's screenshot as stored
	// (empty when there is none); Image is it downscaled as a data: URI
	// when Options.Screenshots asked for it.
	Screenshot string `json:"screenshot"`
	Image      string `json:"-"`
}

// Window is a maintenance window that overlapped the period.
type Window struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// Source is "waymark.yaml", or "made on the spot" with the window's ID.
	Source string `json:"source"`
	Covers string `json:"covers"`
	// Times are its occurrences in the period (at most 100; More counts
	// the rest); empty for a window known only from its runs.
	Times []Span `json:"times"`
	More  int    `json:"more"`
	// Runs counts the runs of the report's journeys recorded in it.
	Runs int `json:"runs"`
}

// Span is a stretch of time.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// scope is which journeys a report covers.
type scope struct {
	label  string
	names  []string // nil: every journey
	byName map[string]store.JourneyRecord
}

// resolveScope checks the period and the narrowing of o and finds the
// journeys they select among records.
func resolveScope(o *Options, records []store.JourneyRecord) scope {
	sc := scope{label: "all journeys", byName: map[string]store.JourneyRecord{}}
	for _, r := range records {
		sc.byName[r.Name] = r
	}
	switch {
	case o.Journey != "":
		sc.label, sc.names = "journey "+o.Journey, []string{o.Journey}
	case o.Customer != "":
		sc.label, sc.names = "customer "+o.Customer, []string{}
		for _, r := range records {
			if r.Customer == o.Customer {
				sc.names = append(sc.names, r.Name)
			}
		}
	case o.Tag != "":
		sc.label, sc.names = "tag "+o.Tag, []string{}
		for _, r := range records {
			if slices.Contains(r.Tags, o.Tag) {
				sc.names = append(sc.names, r.Name)
			}
		}
	}
	return sc
}

// check says what is wrong with o, and fills in its defaults.
func (o *Options) check() error {
	n := 0
	for _, s := range []string{o.Customer, o.Journey, o.Tag} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("give at most one of customer, journey and tag")
	case o.Since.IsZero() || o.Until.IsZero():
		return errors.New("the period needs a start and an end")
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	o.Since = o.Since.Truncate(time.Hour)
	if !o.Until.After(o.Since) {
		return fmt.Errorf("the period ends (%s) before it starts (%s)", o.Until.Format(time.RFC3339), o.Since.Format(time.RFC3339))
	}
	return nil
}

// Build reads the report of the period o describes from src.
func Build(ctx context.Context, src Source, o Options) (*Report, error) {
	r, err := build(ctx, src, o)
	if err != nil {
		return nil, fmt.Errorf("build the report: %w", err)
	}
	return r, nil
}

func build(ctx context.Context, src Source, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	records, err := src.Journeys(ctx)
	if err != nil {
		return nil, err
	}
	sc := resolveScope(&o, records)
	length := o.Until.Sub(o.Since)
	r := &Report{
		Scope: sc.label, Since: o.Since.In(o.Zone), Until: o.Until.In(o.Zone), PreviousSince: o.Since.Add(-length).In(o.Zone),
		Generated: o.Now.In(o.Zone), Zone: o.Zone.String(),
	}
	f := store.PeriodFilter{Journeys: sc.names, Since: o.Since, Until: o.Until}
	hours, steps, err := src.PeriodHours(ctx, f)
	if err != nil {
		return nil, err
	}
	_, prevSteps, err := src.PeriodHours(ctx, store.PeriodFilter{Journeys: sc.names, Since: o.Since.Add(-length), Until: o.Since})
	if err != nil {
		return nil, err
	}
	maint, err := src.MaintenanceCounts(ctx, f)
	if err != nil {
		return nil, err
	}
	incidents, err := src.IncidentsBetween(ctx, f)
	if err != nil {
		return nil, err
	}
	failed, err := src.RunFailures(ctx, f, results.Failed)
	if err != nil {
		return nil, err
	}

	days := dayStarts(o.Since, o.Until, o.Zone)
	names := journeyNames(sc, hours, o.Journey)
	byJourney := map[string]*Journey{}
	for _, n := range names {
		rec := sc.byName[n]
		j := &Journey{Name: n, Title: rec.Title, Customer: rec.Customer, Tags: rec.Tags, Days: make([]Day, len(days))}
		for i, d := range days {
			j.Days[i].Date = d.Format(time.DateOnly)
		}
		byJourney[n] = j
	}
	count := func(journey string, hour time.Time, add func(*Availability)) {
		j := byJourney[journey]
		if j == nil {
			return
		}
		add(&j.Availability)
		if i := dayIndex(days, hour); i >= 0 {
			add(&j.Days[i].Availability)
		}
	}
	for _, h := range hours {
		count(h.Journey, h.Hour, func(a *Availability) {
			a.Passed += h.Passed
			a.Degraded += h.Degraded
			a.Failed += h.Failed
			a.Errors += h.Errors
			a.Aborted += h.Aborted
		})
	}
	for _, m := range maint {
		count(m.Journey, m.Hour, func(a *Availability) { a.takeMaintenance(m.Outcome, m.Runs) })
	}
	r.Days = make([]Day, len(days))
	for i, d := range days {
		r.Days[i].Date = d.Format(time.DateOnly)
	}
	for _, n := range names {
		j := byJourney[n]
		j.Availability.finish()
		r.Total.add(j.Availability)
		for i := range j.Days {
			j.Days[i].finish()
			r.Days[i].add(j.Days[i].Availability)
		}
	}
	r.Total.finish()
	for i := range r.Days {
		r.Days[i].finish()
	}

	// Step timings, against the period before.
	cur, prev := stepSamples(steps, days, o.Zone), stepSamples(prevSteps, nil, o.Zone)
	for _, k := range sortedKeys(cur) {
		j := byJourney[k.journey]
		if j == nil {
			continue
		}
		c := cur[k]
		st := Step{Journey: k.journey, Index: k.index, Name: k.name, Runs: c.runs, Failures: c.failures, Daily: c.daily}
		p50, p95 := estimate(c.hours)
		st.P50, st.P95 = Duration(p50), Duration(p95)
		if p, ok := prev[k]; ok && p.runs > 0 {
			pp50, pp95 := estimate(p.hours)
			st.Previous = &Timing{Runs: p.runs, P50: Duration(pp50), P95: Duration(pp95)}
			st.P50Change, st.P95Change = change(pp50, p50), change(pp95, p95)
		}
		j.Steps = append(j.Steps, st)
		r.Slowest = append(r.Slowest, st)
	}
	slices.SortStableFunc(r.Slowest, func(a, b Step) int { return cmp.Compare(b.P95, a.P95) })
	r.Slowest = r.Slowest[:min(len(r.Slowest), slowestSteps)]

	// Incidents.
	var toAck, toResolve []time.Duration
	for _, inc := range incidents {
		ri := incident(inc, o.Zone)
		if j := byJourney[inc.Journey]; j != nil {
			j.Incidents++
		}
		if ri.ToAcknowledge != nil {
			toAck = append(toAck, time.Duration(*ri.ToAcknowledge))
		}
		if ri.ToResolve != nil {
			toResolve = append(toResolve, time.Duration(*ri.ToResolve))
		}
		r.Incidents = append(r.Incidents, ri)
	}
	r.MedianToAcknowledge, r.MedianToResolve = median(toAck), median(toResolve)

	r.Causes = causes(failed, o.Zone)
	if r.Failures, err = failures(ctx, src, r.Causes, o.Screenshots, o.Zone); err != nil {
		return nil, err
	}
	if r.Maintenance, err = windows(ctx, src, o, sc, names, maint); err != nil {
		return nil, err
	}
	r.Journeys = []Journey{}
	for _, n := range names {
		j := byJourney[n]
		j.Tags, j.Steps = orEmpty(j.Tags), orEmpty(j.Steps)
		r.Journeys = append(r.Journeys, *j)
	}
	if o.RunsKept > 0 && o.Since.Before(o.Now.Add(-o.RunsKept)) {
		r.Notes = append(r.Notes, fmt.Sprintf("Runs that started before %s are kept only as hourly aggregates (retention.runs), "+
			"failed runs excepted: there, runs in a maintenance window that passed count as passed.",
			o.Now.Add(-o.RunsKept).In(o.Zone).Format("2006-01-02 15:04")))
	}
	// Empty lists are [] in JSON, not null.
	r.Maintenance, r.Incidents, r.Slowest = orEmpty(r.Maintenance), orEmpty(r.Incidents), orEmpty(r.Slowest)
	r.Causes, r.Failures, r.Notes = orEmpty(r.Causes), orEmpty(r.Failures), orEmpty(r.Notes)
	return r, nil
}

// orEmpty is s, or an empty slice for nil.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// journeyNames are the journeys a report shows, by name: those of the
// scope that are enabled or have runs in the period, the one asked for
// by name (journey) in any case; without a narrowing also those with runs
// but no record.
func journeyNames(sc scope, hours []store.JourneyHour, journey string) []string {
	ran := map[string]bool{}
	for _, h := range hours {
		ran[h.Journey] = true
	}
	var names []string
	if sc.names != nil {
		for _, n := range sc.names {
			if ran[n] || sc.byName[n].Enabled || n == journey {
				names = append(names, n)
			}
		}
	} else {
		for n, rec := range sc.byName {
			if ran[n] || rec.Enabled {
				names = append(names, n)
			}
		}
		for n := range ran {
			if _, ok := sc.byName[n]; !ok {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// takeMaintenance takes n runs with outcome o, which ran in a maintenance
// window, out of what a counts, and counts them apart. The aggregates may
// lack a run stored after its hour was aggregated: no count goes below 0.
func (a *Availability) takeMaintenance(o results.Outcome, n int) {
	take := func(c *int) {
		n = min(n, *c)
		*c -= n
	}
	switch o {
	case results.Passed:
		take(&a.Passed)
	case results.Degraded:
		take(&a.Degraded)
	case results.Failed:
		take(&a.Failed)
	case results.Error:
		take(&a.Errors)
	case results.Aborted:
		take(&a.Aborted)
	default:
		return
	}
	a.Maintenance += n
}

// add adds the counts of b to a.
func (a *Availability) add(b Availability) {
	a.Passed += b.Passed
	a.Degraded += b.Degraded
	a.Failed += b.Failed
	a.Errors += b.Errors
	a.Aborted += b.Aborted
	a.Maintenance += b.Maintenance
}

// finish works out Checked and Percent from the counts.
func (a *Availability) finish() {
	a.Checked = a.Passed + a.Degraded + a.Failed
	a.Percent = nil
	if a.Checked > 0 {
		p := float64((a.Passed+a.Degraded)*100_000/a.Checked) / 1000
		a.Percent = &p
	}
}

// dayStarts are the starts of the days, in zone, that the period from
// since until until touches.
func dayStarts(since, until time.Time, zone *time.Location) []time.Time {
	s := since.In(zone)
	d := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, zone)
	var out []time.Time
	for ; d.Before(until); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// dayIndex is the index in days of the day t falls in, or -1.
func dayIndex(days []time.Time, t time.Time) int {
	i, found := slices.BinarySearchFunc(days, t, func(d, t time.Time) int { return d.Compare(t) })
	if !found {
		i--
	}
	if i < 0 || i >= len(days) || !t.Before(days[i].AddDate(0, 0, 1)) {
		return -1
	}
	return i
}

// stepKey names a step of a journey.
type stepKey struct {
	journey string
	index   int
	name    string
}

// stepData gathers a step's hourly aggregates.
type stepData struct {
	runs, failures int
	hours          []sample
	daily          []Duration
}

// stepSamples gathers the hourly aggregates of each step, with the p95 of
// each of days (none when days is nil).
func stepSamples(hours []store.StepHour, days []time.Time, zone *time.Location) map[stepKey]*stepData {
	out := map[stepKey]*stepData{}
	perDay := map[stepKey][][]sample{}
	for _, h := range hours {
		k := stepKey{h.Journey, h.Index, h.Name}
		d := out[k]
		if d == nil {
			d = &stepData{}
			out[k] = d
			if days != nil {
				perDay[k] = make([][]sample, len(days))
			}
		}
		s := sample{n: h.Runs, p50: h.P50, p95: h.P95, max: h.Max}
		d.runs += h.Runs
		d.failures += h.Failures
		d.hours = append(d.hours, s)
		if i := dayIndex(days, h.Hour.In(zone)); i >= 0 {
			perDay[k][i] = append(perDay[k][i], s)
		}
	}
	for k, byDay := range perDay {
		d := out[k]
		d.daily = make([]Duration, len(byDay))
		for i, ss := range byDay {
			_, p95 := estimate(ss)
			d.daily[i] = Duration(p95)
		}
	}
	return out
}

// sortedKeys are the keys of m by journey, step index and name.
func sortedKeys(m map[stepKey]*stepData) []stepKey {
	keys := make([]stepKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b stepKey) int {
		return cmp.Or(strings.Compare(a.journey, b.journey), cmp.Compare(a.index, b.index), strings.Compare(a.name, b.name))
	})
	return keys
}

// incident is inc as the report shows it.
func incident(inc *results.Incident, zone *time.Location) Incident {
	ri := Incident{
		Ref: inc.Ref(), Journey: inc.Journey, Location: inc.Location, Kind: string(inc.Kind), Severity: string(inc.Severity),
		State: string(inc.State), Opened: inc.OpenedAt.In(zone), AcknowledgedBy: inc.AcknowledgedBy, ResolvedBy: inc.ResolvedBy,
		Failures: inc.Failures, Step: inc.Step, StepName: inc.StepName, Cause: string(inc.Cause), Error: inc.Error,
	}
	if !inc.AcknowledgedAt.IsZero() {
		t, d := inc.AcknowledgedAt.In(zone), Duration(inc.AcknowledgedAt.Sub(inc.OpenedAt))
		ri.Acknowledged, ri.ToAcknowledge = &t, &d
	}
	if !inc.ResolvedAt.IsZero() {
		t, d := inc.ResolvedAt.In(zone), Duration(inc.ResolvedAt.Sub(inc.OpenedAt))
		ri.Resolved, ri.ToResolve = &t, &d
	}
	return ri
}

// causes groups failed runs (newest first) by journey, step and cause,
// most frequent first, at most topCauses of them.
func causes(failed []store.RunFailure, zone *time.Location) []Cause {
	type key struct {
		journey string
		step    int
		cause   results.Cause
	}
	at := map[key]int{}
	var out []Cause
	for _, f := range failed {
		k := key{f.Journey, f.Step, f.Cause}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Cause{Journey: f.Journey, Step: f.Step, StepName: f.StepName, Cause: string(f.Cause),
				Last: f.StartedAt.In(zone), LastRun: f.ID, Error: f.Error})
		}
		out[i].Runs++
	}
	slices.SortStableFunc(out, func(a, b Cause) int { return cmp.Compare(b.Runs, a.Runs) })
	return out[:min(len(out), topCauses)]
}

// failures are the latest failed run of each of the first causes, with
// the failing step's screenshot: its hash, and when images is set, the
// picture itself, downscaled.
func failures(ctx context.Context, src Source, cs []Cause, images bool, zone *time.Location) ([]Failure, error) {
	var out []Failure
	for _, c := range cs[:min(len(cs), maxScreenshots)] {
		run, err := src.Run(ctx, c.LastRun)
		if errors.Is(err, store.ErrNotFound) {
			continue // pruned since it was counted
		}
		if err != nil {
			return nil, err
		}
		f := Failure{Journey: run.Journey, Run: run.ID, At: run.StartedAt.In(zone), Step: run.FailingStep,
			StepName: c.StepName, Cause: string(run.Cause), Error: run.Error}
		if st := run.DecidingStep(); st != nil {
			f.URL = st.URL
			for _, a := range st.Artifacts {
				if a.Kind == results.ArtifactScreenshot {
					f.Screenshot = a.Hash
					break
				}
			}
		}
		if images && f.Screenshot != "" {
			b, err := src.Blob(ctx, f.Screenshot)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			f.Image = thumbnail(b) // empty when it cannot be read
		}
		out = append(out, f)
	}
	return out, nil
}

// windows lists the maintenance windows, of the config and made on the
// spot, that cover a journey of the report and overlapped the period,
// with the runs recorded in each; then the windows only the runs name
// (gone from the config since, or forgotten by retention).
func windows(ctx context.Context, src Source, o Options, sc scope, names []string, counts []store.MaintenanceCount) ([]Window, error) {
	runs := map[string]int{}
	for _, c := range counts {
		runs[c.Window] += c.Runs
	}
	stored, err := src.MaintenanceWindows(ctx, o.Since)
	if err != nil {
		return nil, err
	}
	covers := func(w results.Maintenance) bool {
		for _, n := range names {
			rec := sc.byName[n]
			if w.Covers(n, rec.Customer, rec.Tags) {
				return true
			}
		}
		return false
	}
	var out []Window
	seen := map[string]bool{}
	for _, w := range slices.Concat(o.Windows, stored) {
		if !covers(w) {
			continue
		}
		times, more := occurrences(w, o.Since, o.Until)
		if len(times) == 0 {
			continue
		}
		rw := Window{Name: w.Label(), Reason: w.Reason, Source: "waymark.yaml", Covers: w.Match.String(), More: more, Runs: runs[w.Label()]}
		if w.ID != 0 {
			rw.Source = fmt.Sprintf("made on the spot (%d)", w.ID)
			if w.CreatedBy != "" {
				rw.Source += " by " + w.CreatedBy
			}
		}
		for _, t := range times {
			rw.Times = append(rw.Times, Span{t.From.In(o.Zone), t.To.In(o.Zone)})
		}
		seen[w.Label()] = true
		out = append(out, rw)
	}
	for _, label := range sortedLabels(runs) {
		if !seen[label] {
			out = append(out, Window{Name: label, Source: "recorded with its runs", Times: []Span{}, Runs: runs[label]})
		}
	}
	return out, nil
}

// sortedLabels are the keys of m, sorted.
func sortedLabels(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// occurrences are the times w was on from since until until, at most
// maxTimes of them, and how many more there were.
func occurrences(w results.Maintenance, since, until time.Time) ([]Span, int) {
	if !w.Repeating() {
		end := w.To
		if !w.EndedAt.IsZero() && w.EndedAt.Before(end) {
			end = w.EndedAt
		}
		if w.From.Before(until) && end.After(since) && end.After(w.From) {
			return []Span{{w.From, end}}, 0
		}
		return nil, 0
	}
	var out []Span
	more := 0
	for t := since.Add(-w.Duration); ; {
		start, end, ok := w.Next(t)
		if !ok || !start.Before(until) {
			return out, more
		}
		if len(out) < maxTimes {
			out = append(out, Span{start, end})
		} else {
			more++
		}
		t = start
	}
}
