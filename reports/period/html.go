package period

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

//go:embed templates/report.html
var templates embed.FS

// htmlView is the report as the HTML template reads it: the report, and
// its charts worked out as shapes.
type htmlView struct {
	*Report
	DayChart     barChart
	JourneyViews []journeyView
	Definition   string
	MarkPercent  int
	MarkDelta    Duration
}

// journeyView is a journey with its chart of availability by day and its
// steps with their sparklines.
type journeyView struct {
	Journey
	Chart     barChart
	StepViews []stepView
}

// stepView is a step with its sparkline of p95 by day.
type stepView struct {
	Step
	Spark sparkline
}

// barChart is a bar per day of availability, drawn from a floor (90 %,
// or lower when a day was worse) to 100 %, coloured by how good it was.
type barChart struct {
	W, H, Top, Base int
	Left            int  // where the bars start: after the scale
	Axis            bool // the large chart: a grid line, the scale and dates
	Floor           int
	Label           string
	Bars            []bar
	Ticks           []tick
}

type bar struct {
	X, Y, W, H   float64
	Class, Title string
}

type tick struct {
	X            float64
	Anchor, Text string
}

// sparkline is a line through the daily p95s of a step.
type sparkline struct {
	W, H   int
	Points string
	Label  string
}

// WriteHTML writes the report as one HTML file that needs nothing else:
// its style inline, its charts inline SVG, the failures' screenshots
// inlined as downscaled JPEG data: URIs. It prints on A4. Everything from
// the store is escaped by html/template, and the page's Content Security
// Policy allows no script at all.
func WriteHTML(w io.Writer, r *Report) error {
	t, err := template.New("report.html").Funcs(template.FuncMap{
		"stamp":       func(t time.Time) string { return t.Format(stamp) },
		"pct":         percent,
		"dur":         optDuration,
		"change":      optChange,
		"changeClass": changeClass,
		"arrow":       arrow,
		"stepLabel":   stepLabel,
		"what":        what,
		"spans":       spans,
		"bare":        bare,
		"img":         dataURI,
	}).ParseFS(templates, "templates/report.html")
	if err != nil {
		return fmt.Errorf("read the report template: %w", err)
	}
	v := htmlView{Report: r, Definition: availabilityDefinition, MarkPercent: markPercent, MarkDelta: Duration(markDelta),
		DayChart: bars(r.Days, 680, 110, true, "availability by day of "+r.Scope)}
	for _, j := range r.Journeys {
		jv := journeyView{Journey: j, Chart: bars(j.Days, 100, 22, false, "availability by day of "+j.Name)}
		for _, s := range j.Steps {
			jv.StepViews = append(jv.StepViews, stepView{Step: s, Spark: spark(s.Daily, 110, 22, "p95 by day of "+s.Name)})
		}
		v.JourneyViews = append(v.JourneyViews, jv)
	}
	return t.Execute(w, v)
}

// dataURI lets through, as a URL html/template will not rewrite, only
// the JPEG data: URIs that thumbnail makes; anything else is dropped.
func dataURI(s string) template.URL {
	const prefix = "data:image/jpeg;base64,"
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != "" {
		return ""
	}
	return template.URL(s)
}

// changeClass is the CSS class of a change: up (slower), down (faster)
// or none when it is not marked.
func changeClass(c *Change) string {
	switch {
	case c == nil || !c.Marked:
		return ""
	case c.Delta > 0:
		return "up"
	}
	return "down"
}

// arrow is ▲ for a slower step, ▼ for a faster one.
func arrow(c *Change) string {
	if c.Delta > 0 {
		return "▲"
	}
	return "▼"
}

// bars draws days as a w×h bar chart; axis adds the scale and dates.
func bars(days []Day, w, h int, axis bool, label string) barChart {
	c := barChart{W: w, H: h, Axis: axis, Label: label, Floor: 90}
	for _, d := range days {
		if d.Percent != nil && *d.Percent < float64(c.Floor) {
			c.Floor = int(math.Floor(*d.Percent/10)) * 10
		}
	}
	if axis {
		c.Left, c.Top, c.Base = 34, 6, h-14 // room for the scale and the dates
	} else {
		c.Top, c.Base = 0, h
	}
	if len(days) == 0 {
		return c
	}
	slot := float64(w-c.Left) / float64(len(days))
	gap := math.Min(2, slot/4)
	span := float64(c.Base - c.Top)
	for i, d := range days {
		b := bar{X: round1(float64(c.Left) + float64(i)*slot + gap/2), W: round1(slot - gap), Class: "none", Title: d.Date + ": no run checked the site"}
		bh := 2.0
		if d.Percent != nil {
			p := *d.Percent
			bh = math.Max(2, span*(p-float64(c.Floor))/float64(100-c.Floor))
			b.Class = "ok"
			switch {
			case p < 99:
				b.Class = "bad"
			case p < 99.9:
				b.Class = "warn"
			}
			b.Title = fmt.Sprintf("%s: %s of %d runs", d.Date, percent(d.Percent), d.Checked)
		}
		b.H, b.Y = round1(bh), round1(float64(c.Base)-bh)
		c.Bars = append(c.Bars, b)
	}
	if axis {
		for _, i := range []int{0, len(days) / 2, len(days) - 1} {
			t := tick{X: round1(float64(c.Left) + float64(i)*slot + slot/2), Anchor: "middle", Text: days[i].Date}
			switch i {
			case 0:
				t.X, t.Anchor = float64(c.Left), "start"
			case len(days) - 1:
				t.X, t.Anchor = float64(w), "end"
			}
			if len(c.Ticks) == 0 || c.Ticks[len(c.Ticks)-1].Text != t.Text {
				c.Ticks = append(c.Ticks, t)
			}
		}
	}
	return c
}

// spark draws the daily p95s as a w×h line from 0 to a tenth above the
// largest; days without a run are left out.
func spark(daily []Duration, w, h int, label string) sparkline {
	s := sparkline{W: w, H: h, Label: label}
	var top Duration
	for _, d := range daily {
		top = max(top, d)
	}
	if top == 0 || len(daily) < 2 {
		return s
	}
	step := float64(w-2) / float64(len(daily)-1)
	var pts []string
	for i, d := range daily {
		if d == 0 {
			continue
		}
		y := float64(h-1) - float64(h-2)*float64(d)/(float64(top)*1.1)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", 1+float64(i)*step, y))
	}
	if len(pts) < 2 {
		return s
	}
	s.Points = strings.Join(pts, " ")
	return s
}

// round1 rounds to a tenth, for short SVG.
func round1(f float64) float64 { return math.Round(f*10) / 10 }
