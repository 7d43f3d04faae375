package schedule

import (
	"testing"
	"time"
)

func TestSlots(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		journey, spec string
		after         string
		interval      time.Duration
	}{
		{"a", "@every 5s", "2026-11-23T10:00:00Z", 5 * time.Second},
		{"b", "@every 1m", "2026-11-23T10:00:00Z", time.Minute},
		{"c", "*/5 * * * *", "2026-11-23T10:00:00Z", 5 * time.Minute},
		{"d", "0 9 * * 1-5", "2026-11-26T10:00:00Z", 72 * time.Hour}, // a Thursday: next is Friday, then Monday
		{"e", "CRON_TZ=Europe/London 0 9 * * *", "2026-07-01T00:00:00Z", 24 * time.Hour},
	} {
		s, err := Parse(tc.journey, tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		after := at(tc.after)
		first := s.Next(after)
		if !first.After(after) || first.Location() != time.UTC {
			t.Errorf("%s: Next(%s) = %s, want a later UTC time", tc.spec, after, first)
		}
		if got := s.Interval(first); got != tc.interval {
			t.Errorf("%s: interval %s, want %s", tc.spec, got, tc.interval)
		}
		if s.Next(first.Add(-time.Nanosecond)) != first {
			t.Errorf("%s: Next just before a slot is not that slot", tc.spec)
		}
		second := s.Next(first)
		if second.Sub(first) != tc.interval || s.Next(second.Add(-time.Second)) != second {
			t.Errorf("%s: slots %s, %s", tc.spec, first, second)
		}
		limit := min(tc.interval, maxCronSpread)
		if tc.spec[0] == '@' {
			limit = tc.interval
		}
		if off := s.Offset(); off < 0 || off >= limit || off%time.Second != 0 {
			t.Errorf("%s: offset %s, want whole seconds below %s", tc.spec, off, limit)
		}
	}
	// The Europe/London 9 o'clock is 08:00 UTC in summer, plus the spread.
	s, _ := Parse("e", "CRON_TZ=Europe/London 0 9 * * *")
	if got := s.Next(at("2026-07-01T00:00:00Z")); got.Truncate(time.Minute) != at("2026-07-01T08:00:00Z") {
		t.Errorf("London 9:00 in July = %s, want 08:00 UTC (plus under a minute)", got)
	}
}

// TestSpread: journeys with the same schedule start at different seconds,
// each always at the same one.
func TestSpread(t *testing.T) {
	seen := map[time.Duration]int{}
	for i := range 100 {
		name := "journey-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		s, err := Parse(name, "@every 5m")
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Parse(name, "@every 5m")
		if s.Offset() != again.Offset() {
			t.Fatalf("%s: offset %s then %s", name, s.Offset(), again.Offset())
		}
		if s.Offset() >= 5*time.Minute {
			t.Fatalf("%s: offset %s beyond the interval", name, s.Offset())
		}
		seen[s.Offset()]++
	}
	if len(seen) < 70 {
		t.Errorf("100 journeys @every 5m share only %d distinct start seconds", len(seen))
	}
	for off, n := range seen {
		if n > 4 {
			t.Errorf("%d journeys start at offset %s", n, off)
		}
	}
	// A minute-wide spread at most for cron.
	s, _ := Parse("hourly", "@hourly")
	if s.Offset() >= time.Minute {
		t.Errorf("@hourly offset %s, want under a minute", s.Offset())
	}
}

func TestDue(t *testing.T) {
	s, _ := Parse("x", "@every 10s")
	base := s.Next(time.Unix(1_800_000_000, 0))
	slots, skipped := s.Due(base.Add(-time.Second), base.Add(35*time.Second), 10)
	if len(slots) != 4 || skipped != 0 || slots[0] != base || slots[3] != base.Add(30*time.Second) {
		t.Errorf("Due = %v, %d", slots, skipped)
	}
	slots, skipped = s.Due(base.Add(-time.Second), base.Add(time.Hour), 1)
	if len(slots) != 1 || skipped != 360 || slots[0] != base.Add(time.Hour) {
		t.Errorf("Due over an hour, newest only = %v, %d skipped", slots, skipped)
	}
	if slots, _ := s.Due(base, base.Add(9*time.Second), 10); len(slots) != 0 {
		t.Errorf("Due between slots = %v", slots)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, spec := range []string{"@every 0s", "@every 500ms", "@every 1500ms", "@every -5s", "61 * * * *", "CRON_TZ=Nowhere/Land 0 9 * * *"} {
		if _, err := Parse("x", spec); err == nil {
			t.Errorf("Parse(%q) accepted it", spec)
		}
	}
}
