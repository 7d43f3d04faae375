package reports

import (
	"errors"
	"regexp"
	"strconv"
	"time"
)

// sinceRE is a duration led by whole days: "7d", "1d12h".
var sinceRE = regexp.MustCompile(`^(\d+)d(.*)$`)

// ParseSince reads a look-back period as people give it to a flag or a
// query parameter: a positive Go duration, optionally led by whole days
// (7d, 1d12h), as config durations are written.
func ParseSince(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if m := sinceRE.FindStringSubmatch(s); m != nil {
		const day = 24 * time.Hour
		days, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || days > int64((1<<63-1)/day) {
			return 0, errors.New("too long")
		}
		d, rest = time.Duration(days)*day, m[2]
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		switch {
		case err != nil:
			return 0, errors.New("not a duration")
		case r < 0:
			return 0, errors.New("negative")
		case d+r < d:
			return 0, errors.New("too long")
		}
		d += r
	}
	if d <= 0 {
		return 0, errors.New("zero")
	}
	return d, nil
}
