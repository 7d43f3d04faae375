package period

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Duration is a duration as reports show it: String reads "850 ms",
// "1.24 s", "12m05s", "3h20m" or "2d04h", and JSON has it in whole
// milliseconds (the fields end in _ms).
type Duration time.Duration

// MarshalJSON writes d in whole milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Duration(d).Milliseconds(), 10), nil
}

// String is d for people, as precise as it is worth.
func (d Duration) String() string {
	t := time.Duration(d)
	neg := ""
	if t < 0 {
		neg, t = "-", -t
	}
	switch {
	case t < time.Second:
		return fmt.Sprintf("%s%d ms", neg, t.Milliseconds())
	case t < time.Minute:
		return fmt.Sprintf("%s%.2f s", neg, float64(t.Milliseconds())/1000)
	case t < time.Hour:
		return fmt.Sprintf("%s%dm%02ds", neg, int(t/time.Minute), int(t%time.Minute/time.Second))
	case t < 48*time.Hour:
		return fmt.Sprintf("%s%dh%02dm", neg, int(t/time.Hour), int(t%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%s%dd%02dh", neg, int(t/(24*time.Hour)), int(t%(24*time.Hour)/time.Hour))
}

// Change compares a timing with the same timing of the period before.
type Change struct {
	// Delta is now − before, in milliseconds; Percent the same relative
	// to before (0 when before was 0).
	Delta   Duration `json:"delta_ms"`
	Percent float64  `json:"percent"`
	// Marked says the change matters: at least 10 % and 50 ms either way.
	Marked bool `json:"marked"`
}

// Thresholds for marking a change.
const (
	markPercent = 10
	markDelta   = 50 * time.Millisecond
)

// change compares now with before.
func change(before, now time.Duration) *Change {
	c := &Change{Delta: Duration(now - before)}
	if before > 0 {
		c.Percent = math.Round(float64(now-before)/float64(before)*1000) / 10
	}
	abs := max(now-before, before-now)
	c.Marked = abs >= markDelta && (before == 0 || math.Abs(c.Percent) >= markPercent)
	return c
}

// String is the change for people: "▲ +12 % (+80 ms)" when marked
// (▲ slower, ▼ faster), else "+3 %".
func (c Change) String() string {
	sign := "+"
	if c.Delta < 0 {
		sign = ""
	}
	pct := fmt.Sprintf("%s%.0f %%", sign, c.Percent)
	if c.Percent == 0 && c.Delta != 0 {
		pct = sign + c.Delta.String()
	}
	if !c.Marked {
		return pct
	}
	arrow := "▲"
	if c.Delta < 0 {
		arrow = "▼"
	}
	return fmt.Sprintf("%s %s (%s%s)", arrow, pct, sign, c.Delta)
}

// sample is one hourly aggregate of durations: n of them, with their
// median, 95th percentile and maximum.
type sample struct {
	n             int
	p50, p95, max time.Duration
}

// estimate is the median and the 95th percentile of the durations that
// hourly aggregates summarise. The durations themselves are gone, so each
// hour of n runs stands for a mixture: half of its runs at its p50, 45 %
// at its p95 and 5 % at its max; the nearest-rank percentiles of the
// mixture are returned. That is exact when every hour holds one run (an
// hourly or slower journey) or when hours are alike, and otherwise close,
// and it reads a year of a step in a few thousand rows.
func estimate(hours []sample) (p50, p95 time.Duration) {
	type point struct {
		d time.Duration
		w int
	}
	var pts []point
	total := 0
	for _, h := range hours {
		if h.n <= 0 {
			continue
		}
		pts = append(pts, point{h.p50, 10 * h.n}, point{h.p95, 9 * h.n}, point{h.max, h.n})
		total += 20 * h.n
	}
	if total == 0 {
		return 0, 0
	}
	slices.SortFunc(pts, func(a, b point) int { return cmp.Compare(a.d, b.d) })
	at := func(p int) time.Duration {
		rank, seen := (p*total+99)/100, 0
		for _, pt := range pts {
			if seen += pt.w; seen >= rank {
				return pt.d
			}
		}
		return pts[len(pts)-1].d
	}
	return at(50), at(95)
}

// median is the nearest-rank median of ds (sorted in place), nil when
// there is none.
func median(ds []time.Duration) *Duration {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	m := Duration(ds[(len(ds)+1)/2-1])
	return &m
}

// percentile is the nearest-rank p-th percentile of ds (sorted in place),
// 0 when there is none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[max((p*len(ds)+99)/100, 1)-1]
}
