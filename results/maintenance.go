package results

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Maintenance is one maintenance window: a time when the journeys it
// covers are run and recorded as usual, but marked as in maintenance, so
// that they open, escalate and notify nothing. A window repeats (Cron,
// Duration and a time zone: the weekly patching) or is single (From and
// To: a deploy). Windows come from waymark.yaml, or are made on the spot
// (`waymark maintenance start`) and kept in the store, which gives them an
// ID.
//
// Maintenance is a plain value: every method is pure and takes the time
// it is asked about, so the same window gives the same answer to every
// agent, and tests pin time.
type Maintenance struct {
	// ID is the store's number for a window made on the spot; 0 for a
	// window from waymark.yaml.
	ID int64
	// Name says what the window is for ("weekly patching"); may be empty.
	Name string
	// Reason says why, as given when it was made ("release 4.2").
	Reason string
	// Match is what the window covers.
	Match MaintenanceMatch

	// Cron is when a repeating window starts: 5 fields (minute hour day
	// month weekday) or a descriptor such as @daily, optionally led by
	// CRON_TZ=Zone (or TZ=Zone) instead of TimeZone. @every is refused: it
	// has no fixed start.
	Cron string
	// Duration is how long a repeating window lasts from each start, in
	// elapsed time (a window across a clock change lasts as long).
	Duration time.Duration
	// TimeZone is the IANA zone Cron is read in ("Europe/London"); empty
	// is UTC (or the zone Cron names). Every agent then agrees on when a
	// window starts, wherever it runs.
	TimeZone string

	// From and To bound a single window: it covers From ≤ t < To.
	From, To time.Time

	// CreatedBy says who or what made a window on the spot (a person, a
	// CI pipeline); CreatedAt is when.
	CreatedBy string
	CreatedAt time.Time
	// EndedAt, when set, is when the window was ended early: it covers
	// nothing from then on.
	EndedAt time.Time
}

// MaintenanceMatch selects the journeys a window covers. Every field that
// is set must match, and at least one must be set: a window over every
// journey would silence the whole monitor.
type MaintenanceMatch struct {
	Journey  string // the journey's name
	Tag      string // one of the journey's tags
	Customer string // the journey's customer
}

// IsZero reports whether m sets nothing (and so is no valid match).
func (m MaintenanceMatch) IsZero() bool { return m == MaintenanceMatch{} }

// String says what m matches, for people: "tag shop, customer acme".
func (m MaintenanceMatch) String() string {
	var parts []string
	for _, p := range [...]struct{ what, v string }{{"journey", m.Journey}, {"tag", m.Tag}, {"customer", m.Customer}} {
		if p.v != "" {
			parts = append(parts, p.what+" "+p.v)
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// Matches reports whether a journey with this name, customer and tags is
// selected by m. A zero m selects nothing.
func (m MaintenanceMatch) Matches(journey, customer string, tags []string) bool {
	return !m.IsZero() &&
		(m.Journey == "" || m.Journey == journey) &&
		(m.Customer == "" || m.Customer == customer) &&
		(m.Tag == "" || slices.Contains(tags, m.Tag))
}

// Repeating reports whether w is a repeating (cron) window rather than a
// single one.
func (w Maintenance) Repeating() bool { return w.Cron != "" }

// Label names w for a run that ran in it and for people: its name, else
// its reason, else its ID, else what it matches.
func (w Maintenance) Label() string {
	switch {
	case w.Name != "":
		return w.Name
	case w.Reason != "":
		return w.Reason
	case w.ID != 0:
		return "maintenance " + strconv.FormatInt(w.ID, 10)
	}
	return "maintenance for " + w.Match.String()
}

// Covers reports whether w covers the journey with this name, customer
// and tags (at whatever time: see Active for when).
func (w Maintenance) Covers(journey, customer string, tags []string) bool {
	return w.Match.Matches(journey, customer, tags)
}

// Validate says what is wrong with w, or nil: a match with at least one
// field; either Cron (a spec the parser takes, in a known time zone, that
// starts at least once) with a positive Duration, or From before To, not
// both. An invalid window is never active.
func (w Maintenance) Validate() error {
	_, _, err := w.check()
	return err
}

// check validates w and, for a repeating window, returns its schedule and
// time zone.
func (w Maintenance) check() (cron.Schedule, *time.Location, error) {
	if w.Match.IsZero() {
		return nil, nil, errors.New("the window matches nothing: want a journey, a tag or a customer")
	}
	single := !w.From.IsZero() || !w.To.IsZero()
	switch {
	case w.Repeating() && single:
		return nil, nil, errors.New("want either cron and duration, or from and to, not both")
	case w.Repeating():
		sched, loc, err := ParseMaintenanceCron(w.Cron, w.TimeZone)
		if err != nil {
			return nil, nil, err
		}
		if w.Duration <= 0 {
			return nil, nil, fmt.Errorf("a repeating window needs a duration > 0, got %s", w.Duration)
		}
		return sched, loc, nil
	case w.Duration != 0 || w.TimeZone != "":
		return nil, nil, errors.New("duration and time zone belong to a repeating window: want cron with them")
	case w.From.IsZero() || w.To.IsZero():
		return nil, nil, errors.New("a single window needs from and to")
	case !w.To.After(w.From):
		return nil, nil, fmt.Errorf("to (%s) is not after from (%s)", w.To.UTC().Format(time.RFC3339), w.From.UTC().Format(time.RFC3339))
	}
	return nil, nil, nil
}

// Active reports whether w is on at t and, if it is, the start and end
// of its current occurrence (end is when it was ended early, if sooner).
// A single window is on from From until To. A repeating one is on from
// its latest start at or before t whose start + Duration is after t; when
// occurrences overlap, the latest one is current, so end is the furthest.
func (w Maintenance) Active(t time.Time) (start, end time.Time, ok bool) {
	sched, loc, err := w.check()
	if err != nil || (!w.EndedAt.IsZero() && !t.Before(w.EndedAt)) {
		return time.Time{}, time.Time{}, false
	}
	if sched == nil {
		start, end = w.From.In(t.Location()), w.To.In(t.Location())
	} else {
		if start, ok = latestStart(sched, t.In(loc), w.Duration); !ok {
			return time.Time{}, time.Time{}, false
		}
		start = start.In(t.Location())
		end = start.Add(w.Duration)
	}
	if t.Before(start) || !t.Before(end) {
		return time.Time{}, time.Time{}, false
	}
	if !w.EndedAt.IsZero() && w.EndedAt.Before(end) {
		end = w.EndedAt.In(t.Location())
	}
	return start, end, true
}

// Next returns the first occurrence of w that starts after t, for showing
// when a window is next on; ok is false when there is none (a single
// window that has started, one ended early, a cron that never comes).
func (w Maintenance) Next(t time.Time) (start, end time.Time, ok bool) {
	sched, loc, err := w.check()
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	if sched == nil {
		start, end = w.From.In(t.Location()), w.To.In(t.Location())
	} else {
		if start = sched.Next(t.In(loc)); start.IsZero() {
			return time.Time{}, time.Time{}, false
		}
		start = start.In(t.Location())
		end = start.Add(w.Duration)
	}
	if !start.After(t) || (!w.EndedAt.IsZero() && !start.Before(w.EndedAt)) {
		return time.Time{}, time.Time{}, false
	}
	if !w.EndedAt.IsZero() && w.EndedAt.Before(end) {
		end = w.EndedAt.In(t.Location())
	}
	return start, end, true
}

// InMaintenance returns the window of windows that covers the journey
// (with this name, customer and tags) at at: of several, the one that
// ends last, as the journey stays in maintenance until then; of those,
// the first listed. The bool is false when none does.
func InMaintenance(windows []Maintenance, journey string, customer string, tags []string, at time.Time) (Maintenance, bool) {
	var best Maintenance
	var bestEnd time.Time
	found := false
	for _, w := range windows {
		if !w.Covers(journey, customer, tags) {
			continue
		}
		if _, end, ok := w.Active(at); ok && (!found || end.After(bestEnd)) {
			best, bestEnd, found = w, end, true
		}
	}
	return best, found
}

// maintenanceCronParser reads the cron of a repeating window, as journeys'
// schedules are read: 5 fields or a descriptor. The time zone prefix is
// read apart (see ParseMaintenanceCron).
func maintenanceCronParser() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// ParseMaintenanceCron reads a repeating window's cron spec and its time
// zone: zone (an IANA name, empty for UTC) or a CRON_TZ=/TZ= prefix of
// spec, not both. It refuses @every, which has no fixed start, and a spec
// that never starts (the 30th of February). Its errors say what is
// expected.
func ParseMaintenanceCron(spec, zone string) (cron.Schedule, *time.Location, error) {
	rest := strings.TrimSpace(spec)
	if strings.HasPrefix(rest, "TZ=") || strings.HasPrefix(rest, "CRON_TZ=") {
		// Split as the parser does: the zone ends at the first space.
		prefix, z, _ := strings.Cut(rest, "=")
		z, rest, _ = strings.Cut(z, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case z == "":
			return nil, nil, fmt.Errorf("cron %q: missing time zone after %s=: want a name like %s=Europe/London", spec, prefix, prefix)
		case zone != "" && zone != z:
			return nil, nil, fmt.Errorf("cron %q names time zone %s and time_zone is %s: set it once", spec, z, zone)
		case rest == "":
			return nil, nil, fmt.Errorf("cron %q: missing schedule after the time zone: want one like %s=%s 0 2 * * SUN", spec, prefix, z)
		}
		zone = z
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return nil, nil, err
	}
	if strings.HasPrefix(rest, "@every") {
		return nil, nil, fmt.Errorf("cron %q: @every has no fixed start: want 5 fields (minute hour day month weekday) or @daily, @weekly", spec)
	}
	sched, err := maintenanceCronParser().Parse(rest)
	if err != nil {
		return nil, nil, fmt.Errorf("bad cron %q: %v; want 5 fields (minute hour day month weekday) or @daily, @weekly", spec, err)
	}
	// robfig/cron gives up after five years; a fixed instant keeps the
	// answer the same whenever it is asked.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, nil, fmt.Errorf("cron %q never starts: want a date that exists, like 0 2 * * SUN", spec)
	}
	return sched, loc, nil
}

// LoadZone loads an IANA time zone by name; empty is UTC. "Local" is
// refused: agents in several places must agree on every window.
func LoadZone(name string) (*time.Location, error) {
	const want = "want a name from the IANA time zone database like Europe/London, America/New_York or UTC"
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("time zone %q differs from agent to agent: %s", name, want)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %s", name, want)
	}
	return loc, nil
}

// firstGap is the smallest step latestStart looks back by: cron starts
// fall on whole minutes.
const firstGap = time.Minute

// latestStart returns the latest start of sched in (t-d, t], if any.
// robfig/cron only looks forward (Next: the first start after a time), so
// it looks back from t by a gap that doubles up to d and walks forward
// from the first start found: a few calls, however many starts d spans.
func latestStart(sched cron.Schedule, t time.Time, d time.Duration) (time.Time, bool) {
	var s time.Time
	for gap := min(firstGap, d); ; {
		s = sched.Next(t.Add(-gap))
		if !s.IsZero() && !s.After(t) {
			break // a start in (t-gap, t]
		}
		if gap == d {
			return time.Time{}, false
		}
		if gap > d/2 {
			gap = d
		} else {
			gap *= 2
		}
	}
	for {
		n := sched.Next(s)
		if n.IsZero() || n.After(t) {
			return s, true
		}
		s = n
	}
}
