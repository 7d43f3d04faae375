package period

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// ReviewReport is the monitoring review of a period: what the monitor itself
// did well or badly, each finding with a suggestion. It is what a team
// reads after incidents, to tune alerts and thresholds.
type ReviewReport struct {
	Scope     string    `json:"scope"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	Generated time.Time `json:"generated"`
	Zone      string    `json:"time_zone"`
	// Flapping are the journeys whose outcomes alternate.
	Flapping []Flap `json:"flapping"`
	// Unacknowledged are the incidents resolved in the period that nobody
	// acknowledged.
	Unacknowledged []Unacknowledged `json:"unacknowledged"`
	// Acknowledgement is the time to acknowledge per route and level.
	Acknowledgement []AckTime `json:"time_to_acknowledge"`
	// MonitorErrors are the journeys that lost runs to the monitor's own
	// errors.
	MonitorErrors []MonitorErrors `json:"monitor_errors"`
	// Thresholds are the thresholds never approached or often crossed.
	Thresholds []Threshold `json:"thresholds"`
	Notes      []string    `json:"notes"`
}

// Flap is a journey, in a location, whose runs alternate between passing
// and failing.
type Flap struct {
	Journey  string `json:"journey"`
	Location string `json:"location"`
	// Runs counts its runs that checked the site, Changes the times the
	// outcome went from up (passed, degraded) to failed or back, MostIn20
	// the most changes among 20 runs in a row.
	Runs       int    `json:"runs"`
	Changes    int    `json:"changes"`
	MostIn20   int    `json:"most_in_20_runs"`
	Incidents  int    `json:"incidents"` // of the journey, opened in the period
	Suggestion string `json:"suggestion"`
}

// Flapping: a journey flaps when some flapWindow runs in a row hold at
// least flapChanges changes of outcome (20 %), as a run of blips does and
// a single outage (two changes) does not.
const (
	flapWindow  = 20
	flapChanges = 4
)

// Unacknowledged is an incident resolved without anyone acknowledging it.
type Unacknowledged struct {
	Ref        string    `json:"ref"`
	Journey    string    `json:"journey"`
	Location   string    `json:"location"`
	Kind       string    `json:"kind"`
	Severity   string    `json:"severity"`
	Opened     time.Time `json:"opened"`
	Lasted     Duration  `json:"lasted_ms"`
	Failures   int       `json:"failures"`
	ResolvedBy string    `json:"resolved_by"` // empty: it passed again
	Channels   []string  `json:"channels"`    // who was told
	Suggestion string    `json:"suggestion"`
}

// blip is how short an incident nobody acknowledged may be to count as a
// blip rather than as a call nobody answered.
const blip = 15 * time.Minute

// AckTime is how long the incidents taken by a route took to be
// acknowledged, by the escalation level they had reached.
type AckTime struct {
	Route      string   `json:"route"`
	Level      int      `json:"level"`
	Channels   []string `json:"channels"` // told before the acknowledgement
	Incidents  int      `json:"incidents"`
	Median     Duration `json:"median_ms"`
	Max        Duration `json:"max_ms"`
	Suggestion string   `json:"suggestion"`
}

// slowAck is a median time to acknowledge worth a word.
const slowAck = 30 * time.Minute

// MonitorErrors counts a journey's runs lost to the monitor's own errors.
type MonitorErrors struct {
	Journey string  `json:"journey"`
	Runs    int     `json:"runs"`
	Errors  int     `json:"errors"`
	Percent float64 `json:"percent"`
	// Error is the most frequent error, ErrorRuns how many runs ended
	// with it (of those still kept raw).
	Error      string `json:"error"`
	ErrorRuns  int    `json:"error_runs"`
	Suggestion string `json:"suggestion"`
}

// manyErrors is the share of runs lost to the monitor that needs looking
// into, in percent.
const manyErrors = 5

// Threshold is a step's (or a whole run's, Step 0) threshold that its
// timings never approach (too loose) or often cross without an incident
// (too tight).
type Threshold struct {
	Journey  string   `json:"journey"`
	Step     int      `json:"step"`
	StepName string   `json:"step_name"`
	Warn     Duration `json:"warn_ms"`
	Fail     Duration `json:"fail_ms"`
	P95      Duration `json:"p95_ms"`
	// Hours counts the hours the step ran in, Over those whose p95 was
	// over the threshold (warn, else fail) while no incident was open.
	Hours      int    `json:"hours"`
	Over       int    `json:"hours_over"`
	Finding    string `json:"finding"` // "too loose" or "too tight"
	Suggestion string `json:"suggestion"`
}

// Threshold findings: never approached is a p95 under a quarter of the
// threshold; too tight is a p95 over it in at least 5 % of the hours with
// no incident open. Either needs minRuns to say anything.
const (
	looseFactor  = 4
	tightPercent = 5
	minRuns      = 20
)

// Review reads the monitoring review of the period o describes from src.
func Review(ctx context.Context, src Source, o Options) (*ReviewReport, error) {
	rv, err := review(ctx, src, o)
	if err != nil {
		return nil, fmt.Errorf("build the review: %w", err)
	}
	return rv, nil
}

func review(ctx context.Context, src Source, o Options) (*ReviewReport, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	records, err := src.Journeys(ctx)
	if err != nil {
		return nil, err
	}
	sc := resolveScope(&o, records)
	rv := &ReviewReport{Scope: sc.label, Since: o.Since.In(o.Zone), Until: o.Until.In(o.Zone), Generated: o.Now.In(o.Zone), Zone: o.Zone.String()}
	f := store.PeriodFilter{Journeys: sc.names, Since: o.Since, Until: o.Until}
	hours, steps, err := src.PeriodHours(ctx, f)
	if err != nil {
		return nil, err
	}
	outcomes, err := src.RunOutcomes(ctx, f)
	if err != nil {
		return nil, err
	}
	incidents, err := src.IncidentsBetween(ctx, f)
	if err != nil {
		return nil, err
	}
	problems, err := src.RunFailures(ctx, f, results.Failed, results.Error)
	if err != nil {
		return nil, err
	}
	timelines := map[int64][]results.IncidentEvent{}
	for _, inc := range incidents {
		if timelines[inc.ID], err = src.Timeline(ctx, inc.ID); err != nil {
			return nil, err
		}
	}
	rv.Flapping = flapping(outcomes, incidents, problems, o)
	rv.Unacknowledged = unacknowledged(incidents, timelines, o)
	rv.Acknowledgement = ackTimes(incidents, timelines, o)
	rv.MonitorErrors = monitorErrors(hours, problems)
	var notes []string
	rv.Thresholds, notes = thresholds(sc, journeyNames(sc, hours, o.Journey), hours, steps, incidents, o)
	rv.Notes = append(rv.Notes, notes...)
	if o.RunsKept > 0 && o.Since.Before(o.Now.Add(-o.RunsKept)) {
		rv.Notes = append(rv.Notes, fmt.Sprintf("Runs that started before %s are kept only as hourly aggregates "+
			"(retention.runs): flapping is judged from the runs after.", o.Now.Add(-o.RunsKept).In(o.Zone).Format("2006-01-02 15:04")))
	}
	// Empty lists are [] in JSON, not null.
	rv.Flapping, rv.Unacknowledged, rv.Acknowledgement = orEmpty(rv.Flapping), orEmpty(rv.Unacknowledged), orEmpty(rv.Acknowledgement)
	rv.MonitorErrors, rv.Thresholds, rv.Notes = orEmpty(rv.MonitorErrors), orEmpty(rv.Thresholds), orEmpty(rv.Notes)
	return rv, nil
}

// flapping finds the journeys, per location, whose outcomes alternate.
func flapping(outcomes []store.RunOutcome, incidents []*results.Incident, problems []store.RunFailure, o Options) []Flap {
	opened := map[string]int{}
	for _, inc := range incidents {
		if inc.Kind == results.IncidentSite && !inc.OpenedAt.Before(o.Since) {
			opened[inc.Journey]++
		}
	}
	var out []Flap
	for len(outcomes) > 0 {
		n := 1
		for n < len(outcomes) && outcomes[n].Journey == outcomes[0].Journey && outcomes[n].Location == outcomes[0].Location {
			n++
		}
		seq := outcomes[:n]
		outcomes = outcomes[n:]
		var down []bool // per run that checked the site: did it fail?
		for _, r := range seq {
			switch r.Outcome {
			case results.Passed, results.Degraded:
				down = append(down, false)
			case results.Failed:
				down = append(down, true)
			}
		}
		changes, most := 0, 0
		changed := make([]int, len(down)) // changed[i]: 1 when run i differs from run i-1
		for i := 1; i < len(down); i++ {
			if down[i] != down[i-1] {
				changed[i] = 1
				changes++
			}
		}
		window := 0
		for i := 1; i < len(down); i++ {
			window += changed[i]
			if i >= flapWindow {
				window -= changed[i-flapWindow+1]
			}
			most = max(most, window)
		}
		if most < flapChanges {
			continue
		}
		fl := Flap{Journey: seq[0].Journey, Location: seq[0].Location, Runs: len(down), Changes: changes, MostIn20: most,
			Incidents: opened[seq[0].Journey]}
		fl.Suggestion = "set alert: {failures: 3, within: 5} (or raise alert.after to 3) so that failures that come and go " +
			"open one incident, not one each"
		if c := causes(failuresOf(problems, fl.Journey, fl.Location), o.Zone); len(c) > 0 {
			fl.Suggestion += fmt.Sprintf("; then look at %s, which fails most (%d runs, %s)", stepLabel(c[0].Step, c[0].StepName), c[0].Runs, orNone(c[0].Cause))
		}
		out = append(out, fl)
	}
	slices.SortStableFunc(out, func(a, b Flap) int { return cmp.Compare(b.MostIn20, a.MostIn20) })
	return out
}

// failuresOf are the failed runs of the journey in the location.
func failuresOf(problems []store.RunFailure, journey, location string) []store.RunFailure {
	var out []store.RunFailure
	for _, p := range problems {
		if p.Outcome == results.Failed && p.Journey == journey && p.Location == location {
			out = append(out, p)
		}
	}
	return out
}

// told are the channels the timeline sent a message to up to at (every
// one when at is zero), sorted.
func told(events []results.IncidentEvent, at time.Time) []string {
	var out []string
	for _, e := range events {
		if e.Kind == results.EventNotification && e.Channel != "" && (at.IsZero() || !e.At.After(at)) && !slices.Contains(out, e.Channel) {
			out = append(out, e.Channel)
		}
	}
	slices.Sort(out)
	return out
}

// unacknowledged lists the incidents resolved in the period that nobody
// acknowledged.
func unacknowledged(incidents []*results.Incident, timelines map[int64][]results.IncidentEvent, o Options) []Unacknowledged {
	var out []Unacknowledged
	for _, inc := range incidents {
		if inc.State != results.IncidentResolved || !inc.AcknowledgedAt.IsZero() || inc.ResolvedAt.Before(o.Since) || !inc.ResolvedAt.Before(o.Until) {
			continue
		}
		lasted := inc.ResolvedAt.Sub(inc.OpenedAt)
		u := Unacknowledged{Ref: inc.Ref(), Journey: inc.Journey, Location: inc.Location, Kind: string(inc.Kind),
			Severity: string(inc.Severity), Opened: inc.OpenedAt.In(o.Zone), Lasted: Duration(lasted), Failures: inc.Failures,
			ResolvedBy: inc.ResolvedBy, Channels: orEmpty(told(timelines[inc.ID], time.Time{}))}
		switch {
		case inc.ResolvedBy != "":
			u.Suggestion = "resolved by " + inc.ResolvedBy + " without an acknowledgement: acknowledge when you start on an incident, " +
				"so escalation stops and its time to acknowledge is known"
		case lasted < blip:
			u.Suggestion = fmt.Sprintf("a blip that passed again within %s: if it needs no one, raise alert.after "+
				"or set alert: {failures: 3, within: 5} on %s", Duration(blip), inc.Journey)
		case len(u.Channels) == 0:
			u.Suggestion = fmt.Sprintf("lasted %s and no channel was told: give it a route (routes:)", Duration(lasted))
		default:
			u.Suggestion = fmt.Sprintf("lasted %s and nobody acknowledged it: check that %s reaches someone at that hour, "+
				"or add an escalation level", Duration(lasted), strings.Join(u.Channels, " or "))
		}
		out = append(out, u)
	}
	return out
}

// routeName is the name of route i (0-based; -1 none) for people.
func routeName(routes []string, i int) string {
	switch {
	case i < 0:
		return "no route"
	case i < len(routes) && routes[i] != "":
		return routes[i]
	}
	return fmt.Sprintf("route %d", i+1)
}

// ackTimes is the time to acknowledge of the incidents acknowledged in
// the period, per route and the level they had reached.
func ackTimes(incidents []*results.Incident, timelines map[int64][]results.IncidentEvent, o Options) []AckTime {
	type key struct{ route, level int }
	type group struct {
		times    []time.Duration
		channels []string
	}
	groups := map[key]*group{}
	for _, inc := range incidents {
		if inc.AcknowledgedAt.IsZero() || inc.AcknowledgedAt.Before(o.Since) || !inc.AcknowledgedAt.Before(o.Until) {
			continue
		}
		k := key{inc.Route, inc.Level}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
		}
		g.times = append(g.times, inc.AcknowledgedAt.Sub(inc.OpenedAt))
		for _, ch := range told(timelines[inc.ID], inc.AcknowledgedAt) {
			if !slices.Contains(g.channels, ch) {
				g.channels = append(g.channels, ch)
			}
		}
	}
	var out []AckTime
	for k, g := range groups {
		slices.Sort(g.channels)
		a := AckTime{Route: routeName(o.Routes, k.route), Level: k.level, Channels: orEmpty(g.channels), Incidents: len(g.times),
			Median: *median(g.times), Max: Duration(slices.Max(g.times))}
		switch {
		case k.level > 1:
			a.Suggestion = fmt.Sprintf("%d acknowledged only once level %d was told: the earlier levels did not answer "+
				"within their delay; check who they reach, or lengthen the delay if they need more time", a.Incidents, k.level)
		case time.Duration(a.Median) > slowAck:
			a.Suggestion = fmt.Sprintf("slow (median %s): check that %s reaches someone on call, or add an escalation level",
				a.Median, orNone(strings.Join(a.Channels, ", ")))
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b AckTime) int {
		return cmp.Or(strings.Compare(a.Route, b.Route), cmp.Compare(a.Level, b.Level))
	})
	return out
}

// monitorErrors counts each journey's runs lost to the monitor's errors,
// most lost first.
func monitorErrors(hours []store.JourneyHour, problems []store.RunFailure) []MonitorErrors {
	byJourney := map[string]*MonitorErrors{}
	var order []string
	for _, h := range hours {
		m := byJourney[h.Journey]
		if m == nil {
			m = &MonitorErrors{Journey: h.Journey}
			byJourney[h.Journey] = m
			order = append(order, h.Journey)
		}
		m.Runs += h.Runs
		m.Errors += h.Errors
	}
	messages := map[string]map[string]int{}
	for _, p := range problems {
		if p.Outcome != results.Error {
			continue
		}
		if messages[p.Journey] == nil {
			messages[p.Journey] = map[string]int{}
		}
		messages[p.Journey][firstLine(p.Error, 160)]++
	}
	var out []MonitorErrors
	for _, j := range order {
		m := byJourney[j]
		if m.Errors == 0 {
			continue
		}
		m.Percent = float64(m.Errors*1000/m.Runs) / 10
		for msg, n := range messages[j] {
			if n > m.ErrorRuns || n == m.ErrorRuns && msg < m.Error {
				m.Error, m.ErrorRuns = msg, n
			}
		}
		if m.Percent >= manyErrors {
			m.Suggestion = fmt.Sprintf("%.1f %% of its runs say nothing about the site: look at the agents (waymark status), "+
				"their load (browser.max_concurrent) and the browser", m.Percent)
		} else {
			m.Suggestion = "occasional: `waymark runs " + j + " --outcome error` lists them"
		}
		out = append(out, *m)
	}
	slices.SortStableFunc(out, func(a, b MonitorErrors) int { return cmp.Compare(b.Percent, a.Percent) })
	return out
}

// firstLine is the first line of s, cut to n runes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// thresholds checks each step threshold (and run threshold) of the
// journeys names against their hourly p95s. Thresholds come from the
// journeys' definitions as the store keeps them; a journey without one
// (recorded by `waymark run --record` only) or whose definition does not
// parse here (a snippet not found) is left out, which the notes say.
func thresholds(sc scope, names []string, hours []store.JourneyHour, steps []store.StepHour, incidents []*results.Incident,
	o Options) ([]Threshold, []string) {
	var out []Threshold
	var unknown []string
	for _, name := range names {
		rec := sc.byName[name]
		if rec.Definition == "" {
			unknown = append(unknown, name)
			continue
		}
		j, err := journeys.Parse(rec.File, []byte(rec.Definition))
		if err != nil {
			unknown = append(unknown, name)
			continue
		}
		open := incidentSpans(incidents, name, o.Until)
		if th := j.Thresholds; th.Warn > 0 || th.Fail > 0 {
			perHour := map[time.Time]sample{}
			for _, h := range hours {
				if h.Journey == name && h.P95 > 0 {
					s := perHour[h.Hour]
					perHour[h.Hour] = sample{n: s.n + h.Runs, p50: max(s.p50, h.P50), p95: max(s.p95, h.P95), max: max(s.max, h.Max)}
				}
			}
			if t, ok := judge(name, 0, "whole run", th, perHour, open); ok {
				out = append(out, t)
			}
		}
		for _, st := range j.Steps {
			if st.Threshold.Warn == 0 && st.Threshold.Fail == 0 {
				continue
			}
			perHour := map[time.Time]sample{}
			for _, h := range steps {
				if h.Journey == name && h.Name == st.Name {
					s := perHour[h.Hour]
					perHour[h.Hour] = sample{n: s.n + h.Runs, p50: max(s.p50, h.P50), p95: max(s.p95, h.P95), max: max(s.max, h.Max)}
				}
			}
			if t, ok := judge(name, st.Index, st.Name, st.Threshold, perHour, open); ok {
				out = append(out, t)
			}
		}
	}
	var notes []string
	if len(unknown) > 0 {
		notes = append(notes, "Thresholds not checked for "+strings.Join(unknown, ", ")+
			": the database holds no definition of them that reads here (`waymark serve` keeps each journey's file).")
	}
	return out, notes
}

// incidentSpans are the times the journey had an incident open, up to
// until for one still open.
func incidentSpans(incidents []*results.Incident, journey string, until time.Time) []Span {
	var out []Span
	for _, inc := range incidents {
		if inc.Journey != journey || inc.Kind != results.IncidentSite {
			continue
		}
		end := inc.ResolvedAt
		if end.IsZero() {
			end = until
		}
		out = append(out, Span{inc.OpenedAt, end})
	}
	return out
}

// judge says whether the step's threshold th is too loose or too tight
// for its hourly timings.
func judge(journey string, index int, name string, th journeys.Thresholds, perHour map[time.Time]sample, open []Span) (Threshold, bool) {
	var all []sample
	var p95s []time.Duration
	runs := 0
	for _, s := range perHour {
		all = append(all, s)
		p95s = append(p95s, s.p95)
		runs += s.n
	}
	if runs < minRuns {
		return Threshold{}, false
	}
	_, p95 := estimate(all)
	limit, what := th.Warn, "warn"
	if limit == 0 {
		limit, what = th.Fail, "fail"
	}
	t := Threshold{Journey: journey, Step: index, StepName: name, Warn: Duration(th.Warn), Fail: Duration(th.Fail), P95: Duration(p95),
		Hours: len(perHour)}
	for h, s := range perHour {
		if s.p95 > limit && !covered(open, h) {
			t.Over++
		}
	}
	switch {
	case p95 > 0 && p95*looseFactor < limit:
		t.Finding = "too loose"
		t.Suggestion = fmt.Sprintf("p95 %s is under a quarter of %s %s: it would take %d times slower to cross it; lower %s to %s",
			Duration(p95), what, Duration(limit), int(limit/p95), what, Duration(nice(2*p95)))
	case t.Over > 0 && t.Over*100 >= tightPercent*t.Hours:
		t.Finding = "too tight"
		t.Suggestion = fmt.Sprintf("p95 over %s %s in %d of %d hours with no incident open: raise %s to %s, or make the step faster",
			what, Duration(limit), t.Over, t.Hours, what, Duration(nice(max(percentile(p95s, 95), limit)*6/5)))
	default:
		return Threshold{}, false
	}
	return t, true
}

// covered says whether an incident of spans was open at some time in the
// hour from h.
func covered(spans []Span, h time.Time) bool {
	for _, s := range spans {
		if s.From.Before(h.Add(time.Hour)) && s.To.After(h) {
			return true
		}
	}
	return false
}

// nice rounds d up to a threshold people would write: 1, 1.5, 2, 2.5, 3,
// 4, 5, 6 or 8 times a power of ten milliseconds, at least 100 ms.
func nice(d time.Duration) time.Duration {
	for unit := 100 * time.Millisecond; ; unit *= 10 {
		for _, m := range []time.Duration{10, 15, 20, 25, 30, 40, 50, 60, 80} {
			if v := unit * m / 10; v >= d {
				return v
			}
		}
	}
}

// stepLabel names a step for people: `step 3 "Pay"`, or "the run" for
// none.
func stepLabel(index int, name string) string {
	switch {
	case index == 0:
		return "the run"
	case name == "":
		return fmt.Sprintf("step %d", index)
	}
	return fmt.Sprintf("step %d %q", index, name)
}

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
