package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Period is a retention period: how long something is kept. In the file
// and the environment it is a duration that also takes days (30d, 36h,
// 1d12h), or 0 to keep forever, which is why it is a type of its own: every
// other duration must be above zero.
type Period time.Duration

// periodType is Period in the schema.
var periodType = reflect.TypeFor[Period]()

// Duration is p as a time.Duration; 0 keeps forever.
func (p Period) Duration() time.Duration { return time.Duration(p) }

// String says p as the file would: "30d", "36h0m0s", or "forever" for 0.
func (p Period) String() string {
	const day = 24 * time.Hour
	switch d := time.Duration(p); {
	case d == 0:
		return "forever"
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	default:
		return d.String()
	}
}

// parsePeriod reads a retention period, or says what is wrong with it.
func parsePeriod(s string) (any, string) {
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		return nil, fmt.Sprintf("want a duration ≥ 0 like 30d (0 keeps forever), got %q", s)
	}
	d, err := parseDuration(s)
	if err != nil {
		return nil, fmt.Sprintf("bad duration %q: want %s", s, want(periodType))
	}
	if d < 0 {
		return nil, fmt.Sprintf("want a duration ≥ 0 like 30d (0 keeps forever), got %q", s)
	}
	return Period(d), ""
}
