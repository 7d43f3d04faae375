package schedule

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads the schedules journeys may have: 5-field cron,
// descriptors (@hourly…) and a CRON_TZ=/TZ= prefix. @every is read apart.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// maxCronSpread bounds the spread of a cron schedule: a person who wrote
// `0 9 * * 1-5` wants nine o'clock, not nine plus an hour; a minute of
// spread is enough to keep a hundred journeys from starting in one second.
const maxCronSpread = time.Minute

// Spec is a journey's schedule as slots: the times it is due. Slots are
// the same for every agent and every restart: `@every D` is anchored to the
// Unix epoch, and each journey is shifted by an offset derived from its
// name, so a hundred journeys with the same schedule do not all start in
// the same second.
type Spec struct {
	every  time.Duration // @every D; 0 for a cron schedule
	cron   cron.Schedule
	offset time.Duration
}

// Parse reads journey's schedule spec. Specs were validated when the
// journey loaded; the error is for a caller that skipped that.
func Parse(journey, spec string) (*Spec, error) {
	s := &Spec{}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("schedule %q of %s: want @every and a whole number of seconds, at least 1s", spec, journey)
		}
		s.every = d
		s.offset = spread(journey, d)
		return s, nil
	}
	c, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q of %s: %w", spec, journey, err)
	}
	s.cron = c
	// The spread of a cron schedule is bounded by its shortest gap, found
	// from a fixed point so it is the same everywhere.
	gap := maxCronSpread
	t := c.Next(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) // a Monday
	for range 8 {
		n := c.Next(t)
		gap = min(gap, n.Sub(t))
		t = n
	}
	s.offset = spread(journey, gap)
	return s, nil
}

// spread is the journey's offset within an interval: a hash of its name,
// in whole seconds below the interval.
func spread(journey string, interval time.Duration) time.Duration {
	secs := int64(interval / time.Second)
	if secs <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(journey))
	return time.Duration(h.Sum64()%uint64(secs)) * time.Second
}

// Offset is the journey's spread within its interval.
func (s *Spec) Offset() time.Duration { return s.offset }

// Next returns the first slot strictly after t, in UTC.
func (s *Spec) Next(t time.Time) time.Time {
	if s.every > 0 {
		base := t.Add(-s.offset).Unix()
		d := int64(s.every / time.Second)
		k := base / d
		if base < 0 && base%d != 0 {
			k-- // floor for times before the epoch
		}
		return time.Unix((k+1)*d, 0).Add(s.offset).UTC()
	}
	// In UTC unless the spec names a zone (CRON_TZ=): agents in several
	// locations and time zones must agree on every slot.
	return s.cron.Next(t.Add(-s.offset).UTC()).Add(s.offset).UTC()
}

// Interval is how long slot stands before the next one: a slot picked up
// later than that is dropped, not run late.
func (s *Spec) Interval(slot time.Time) time.Duration {
	return s.Next(slot).Sub(slot)
}

// Due returns the slots in (after, until], oldest first, at most limit of
// them (the newest); skipped counts the older ones left out.
func (s *Spec) Due(after, until time.Time, limit int) (slots []time.Time, skipped int) {
	for t := s.Next(after); !t.After(until); t = s.Next(t) {
		slots = append(slots, t)
		if len(slots) > limit {
			// Keep the newest; the slice stays small however long the gap.
			slots = slots[1:]
			skipped++
		}
		if skipped > 1_000_000 {
			break // a gap of years on a 1s schedule: stop counting
		}
	}
	return slots, skipped
}
