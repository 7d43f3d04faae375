package web

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// The small pictures are SVG drawn here, so they show without script and
// in every page; only the journey's timing chart, which people zoom, is
// drawn in the browser (uPlot). Text in them is escaped with
// template.HTMLEscapeString: nothing from a site is trusted.

// outcomeClass is the CSS class of an outcome's colour.
func outcomeClass(o results.Outcome) string {
	switch o {
	case results.Passed:
		return "good"
	case results.Degraded:
		return "warn"
	case results.Failed:
		return "bad"
	}
	return "muted"
}

// sparkline draws runs (oldest first) as bars coloured by outcome, their
// height the run's duration against the longest.
func sparkline(runs []results.Run) template.HTML {
	const w, h, gap = 4, 20, 1
	var longest time.Duration
	for _, r := range runs {
		longest = max(longest, r.Duration)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="last %d runs">`,
		sparkRuns*(w+gap), h, sparkRuns*(w+gap), h, len(runs))
	for i, r := range runs {
		bh := h
		if longest > 0 && r.Outcome != results.Error && r.Outcome != results.Aborted {
			bh = max(int(float64(h)*float64(r.Duration)/float64(longest)), 3)
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%d" height="%d"><title>%s %s %s</title></rect>`,
			outcomeClass(r.Outcome), i*(w+gap), h-bh, w, bh,
			template.HTMLEscapeString(r.StartedAt.UTC().Format("Jan 2 15:04")), r.Outcome, fmtDuration(r.Duration))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// waterfall draws each step as a bar from its start offset for its
// duration, with its warn and fail thresholds marked.
func waterfall(steps []stepView, total time.Duration) template.HTML {
	const w, row, label = 720, 22, 200
	end := total
	for _, s := range steps {
		end = max(end, s.Start+s.Duration, s.Start+s.Fail)
	}
	if end <= 0 {
		end = time.Second
	}
	x := func(d time.Duration) float64 { return label + float64(w-label-60)*float64(d)/float64(end) }
	h := row*len(steps) + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="waterfall" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="step waterfall">`, w, h)
	// A tick every second, or every 10 s for long runs.
	tick := time.Second
	if end > 20*time.Second {
		tick = 10 * time.Second
	}
	for t := time.Duration(0); t <= end; t += tick {
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" x2="%.1f" y1="0" y2="%d"/><text class="axis" x="%.1f" y="%d">%s</text>`,
			x(t), x(t), h-14, x(t), h-2, fmtDuration(t))
	}
	for i, s := range steps {
		y := i * row
		name := fmt.Sprintf("%d. %s", s.Index, s.Name)
		if len([]rune(name)) > 28 {
			name = string([]rune(name)[:27]) + "…"
		}
		fmt.Fprintf(&b, `<text class="label" x="0" y="%d">%s</text>`, y+15, template.HTMLEscapeString(name))
		bw := max(x(s.Start+s.Duration)-x(s.Start), 2)
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"><title>%s: %s from %s</title></rect>`,
			stepClass(s.Status), x(s.Start), y+4, bw, row-8, template.HTMLEscapeString(s.Name), fmtDuration(s.Duration), fmtDuration(s.Start))
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%d">%s</text>`, x(s.Start)+bw+4, y+15, fmtDuration(s.Duration))
		for _, t := range []struct {
			d     time.Duration
			class string
		}{{s.Warn, "warn"}, {s.Fail, "bad"}} {
			if t.d > 0 {
				fmt.Fprintf(&b, `<line class="threshold %s" x1="%.1f" x2="%.1f" y1="%d" y2="%d"><title>%s threshold %s</title></line>`,
					t.class, x(s.Start+t.d), x(s.Start+t.d), y+2, y+row-2, t.class, fmtDuration(t.d))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func stepClass(s results.Status) string {
	switch s {
	case results.StepPassed:
		return "good"
	case results.StepDegraded:
		return "warn"
	case results.StepFailed:
		return "bad"
	}
	return "muted"
}

// stepChart is the data of the journey's timing chart, as uPlot takes it:
// times in seconds, then per step a p50 and a p95 series in ms (null
// where the step did not run).
type stepChart struct {
	Times  []int64    `json:"times"`
	Series []string   `json:"series"`
	Values [][]*int64 `json:"values"`
}

// newStepChart lays the hourly step aggregates out for the chart, by day
// (the largest hourly p95 and the median hourly p50 of the day) when
// daily: a year is 365 points, not 8,760.
func newStepChart(hours []store.StepHour, daily bool) stepChart {
	type key struct {
		t    int64
		step int
	}
	bucket := func(t time.Time) int64 {
		if daily {
			return t.UTC().Truncate(24 * time.Hour).Unix()
		}
		return t.Unix()
	}
	names := map[int]string{}
	p50s, p95s := map[key][]int64{}, map[key]int64{}
	var times []int64
	for _, h := range hours {
		if h.Runs == 0 {
			continue
		}
		k := key{bucket(h.Hour), h.Index}
		names[h.Index] = h.Name
		if !slices.Contains(times, k.t) {
			times = append(times, k.t)
		}
		p50s[k] = append(p50s[k], h.P50.Milliseconds())
		p95s[k] = max(p95s[k], h.P95.Milliseconds())
	}
	slices.Sort(times)
	var steps []int
	for i := range names {
		steps = append(steps, i)
	}
	slices.Sort(steps)
	c := stepChart{Times: times}
	for _, i := range steps {
		c.Series = append(c.Series, fmt.Sprintf("%d. %s p50", i, names[i]), fmt.Sprintf("%d. %s p95", i, names[i]))
		p50, p95 := make([]*int64, len(times)), make([]*int64, len(times))
		for ti, t := range times {
			k := key{t, i}
			if v, ok := p50s[k]; ok {
				slices.Sort(v)
				m, q := v[len(v)/2], p95s[k]
				p50[ti], p95[ti] = &m, &q
			}
		}
		c.Values = append(c.Values, p50, p95)
	}
	return c
}

// dayBar is a day's availability on the journey page.
type dayBar struct {
	Day          time.Time
	Availability float64 // 0..1
	Checked      int
	Class        string
}

// dayBars sums the hourly aggregates by UTC day, the last n days to now.
func dayBars(hours []store.JourneyHour, now time.Time, n int) []dayBar {
	type sum struct{ up, checked int }
	sums := map[time.Time]sum{}
	for _, h := range hours {
		d := h.Hour.UTC().Truncate(24 * time.Hour)
		s := sums[d]
		s.up += h.Passed + h.Degraded
		s.checked += h.Passed + h.Degraded + h.Failed
		sums[d] = s
	}
	today := now.UTC().Truncate(24 * time.Hour)
	out := make([]dayBar, 0, n)
	for i := n - 1; i >= 0; i-- {
		d := today.AddDate(0, 0, -i)
		s := sums[d]
		b := dayBar{Day: d, Checked: s.checked, Class: "muted"}
		if s.checked > 0 {
			b.Availability = float64(s.up) / float64(s.checked)
			switch {
			case b.Availability >= 0.999:
				b.Class = "good"
			case b.Availability >= 0.99:
				b.Class = "warn"
			default:
				b.Class = "bad"
			}
		}
		out = append(out, b)
	}
	return out
}

// fmtDuration is a duration as people read it: 850ms, 2.4s, 3m10s.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
