package web

import (
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// funcs are the templates' helpers.
func (d *dash) funcs() template.FuncMap {
	return template.FuncMap{
		"dur": fmtDuration,
		"ago": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return ago(d.Now().Sub(t))
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"avail": func(s store.JourneyStat) string {
			a, ok := s.Availability()
			if !ok {
				return "—"
			}
			return fmt.Sprintf("%.2f %%", 100*a)
		},
		"pct":     func(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) },
		"outcome": outcomeClass,
		"status":  stepClass,
		"spark":   sparkline,
		"severity": func(s results.Severity) string {
			if s == results.SeverityCritical {
				return "bad"
			}
			return "warn"
		},
		"delivery": func(dl results.Delivery) string {
			switch dl {
			case results.DeliveryDelivered:
				return "good"
			case results.DeliveryFailed:
				return "bad"
			}
			return "warn"
		},
		"path":  url.PathEscape,
		"query": func(v string) string { return url.QueryEscape(v) },
		"kb":    func(n int64) string { return fmt.Sprintf("%.0f kB", float64(n)/1024) },
		"add":   func(a, b int) int { return a + b },
		"list":  func(s ...string) []string { return s },
		"days": func(t time.Time) string { // how far ahead, in days
			n := int(t.Sub(d.Now()).Hours()/24 + 0.5)
			if n <= 1 {
				return "a day"
			}
			return fmt.Sprintf("%d days", n)
		},
		"dict3": func(name string, options []string, current string) selectView {
			return selectView{Name: name, Options: options, Current: current}
		},
		"height": func(a float64) string { // a day bar's height in %, never invisible
			return fmt.Sprintf("%.0f", max(100*a, 4))
		},
	}
}

// ago is how long ago, coarsely: 12s, 5m, 3h, 2d.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// selectView is a filter's drop-down.
type selectView struct {
	Name    string
	Options []string
	Current string
}
