package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/reports/period"
	"github.com/waymarkhq/waymark/results/store"
)

// reportFlags are the flags of `waymark report` and `report review`.
type reportFlags struct {
	since, until           string
	customer, journey, tag string
	format, out            string
	database               string
}

// defaultReportSince is the period of a report without --since: a month.
const defaultReportSince = "30d"

func (a *app) reportCmd() *cobra.Command {
	f := &reportFlags{}
	c := &cobra.Command{
		Use:   "report [--since 30d] [--customer NAME | --journey NAME | --tag TAG] [--format html|md|json|csv] [--out FILE]",
		Short: "The report of a period: availability, incidents, step timings; `report review` for the monitoring review",
		Long: `The report of a period, for a customer or a monthly review: each journey's
availability (runs in maintenance windows left out, and the windows listed),
the incidents with their time to acknowledge and to resolve, each step's p50
and p95 against the period before (as long, just before it; ▲ slower or ▼
faster by at least 10 % and 50 ms), the slowest steps, the most frequent
failure causes, and the failures' screenshots.

Availability is (passed + degraded) / (passed + degraded + failed) runs: error
runs (the monitor's own trouble) and aborted runs say nothing of the site.

  --format html   one self-contained file (charts and downscaled screenshots
                  inlined) that opens offline and prints on A4
  --format md     Markdown (the default on a terminal)
  --format json   everything, durations in milliseconds
  --format csv    a row of availability per journey, for SLA spreadsheets

The format defaults to --out's extension (.html, .md, .json, .csv), else md.
Days begin at local midnight and times are local.

Exit status: 0 written, 2 bad input: a bad flag, no journey matching
--customer, --journey or --tag, a database that does not exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.periodReport(cmd.Context(), f, false) },
	}
	fl := c.PersistentFlags()
	fl.StringVar(&f.since, "since", defaultReportSince, "the period's start: a `DURATION` before --until (30d, 36h) or a date (2026-03-01)")
	fl.StringVar(&f.until, "until", "", "the period's end: a `DATE` (2026-04-01) or time (2026-04-01T12:00:00Z); default now")
	fl.StringVar(&f.customer, "customer", "", "only the journeys of this `CUSTOMER`")
	fl.StringVar(&f.journey, "journey", "", "only this `JOURNEY`")
	fl.StringVar(&f.tag, "tag", "", "only the journeys tagged `TAG`")
	fl.StringVar(&f.out, "out", "", "write to `FILE` (default: standard output)")
	fl.StringVar(&f.database, "database", "", "database `FILE` or postgres:// URL to read (default: config database)")
	c.Flags().StringVar(&f.format, "format", "", "html, md, json or csv (default: from --out's extension, else md)")
	c.AddCommand(a.reportReviewCmd(f))
	return c
}

func (a *app) reportReviewCmd(f *reportFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "review [--since 30d] [--format md|json] [--out FILE]",
		Short: "The monitoring review of a period: what to tune in alerts and thresholds",
		Long: `The monitoring review a team does after incidents, each finding with a
suggestion: journeys that flap (4 changes between passing and failing in 20
runs in a row), incidents resolved without anyone acknowledging them, the
time to acknowledge per route and escalation level, runs lost to monitor
errors, and thresholds never approached (p95 under a quarter of warn: too
loose) or often crossed with no incident open (p95 over it in 5 % of the
hours: too tight).

Exit status: 0 written, 2 bad input: a bad flag, no journey matching
--customer, --journey or --tag, a database that does not exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.periodReport(cmd.Context(), f, true) },
	}
	c.Flags().StringVar(&f.format, "format", "", "md or json (default: from --out's extension, else md)")
	return c
}

// periodReport is `waymark report` and, with review, `waymark report review`.
// Every flag is checked before the database is opened, and nothing is
// written to --out unless the whole report is ready.
func (a *app) periodReport(ctx context.Context, f *reportFlags, review bool) error {
	now := time.Now()
	o, format, err := reportOptions(f, review, now, time.Local)
	if err != nil {
		return badInput(err)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return badInput(err)
	}
	o.Windows, o.Routes, o.RunsKept = cfg.MaintenanceWindows(), routeNames(cfg.Routes), cfg.Retention.Runs.Duration()
	st, _, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	records, err := st.Journeys(ctx)
	if err != nil {
		return err
	}
	if err := checkScope(f, records); err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if review {
		rv, err := period.Review(ctx, st, o)
		if err != nil {
			return err
		}
		err = map[string]func(io.Writer, *period.ReviewReport) error{
			"md": period.WriteReviewMarkdown, "json": period.WriteReviewJSON,
		}[format](&buf, rv)
		if err != nil {
			return err
		}
	} else {
		r, err := period.Build(ctx, st, o)
		if err != nil {
			return err
		}
		err = map[string]func(io.Writer, *period.Report) error{
			"html": period.WriteHTML, "md": period.WriteMarkdown, "json": period.WriteJSON, "csv": period.WriteCSV,
		}[format](&buf, r)
		if err != nil {
			return err
		}
	}
	if f.out == "" {
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(f.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// reportOptions reads the flags into the report's options and format, or
// says which flag is wrong.
func reportOptions(f *reportFlags, review bool, now time.Time, zone *time.Location) (period.Options, string, error) {
	o := period.Options{Customer: f.customer, Journey: f.journey, Tag: f.tag, Now: now, Zone: zone, Until: now}
	var set []string
	for _, s := range []struct{ flag, v string }{{"--customer", f.customer}, {"--journey", f.journey}, {"--tag", f.tag}} {
		if s.v != "" {
			set = append(set, s.flag)
		}
	}
	if len(set) > 1 {
		return o, "", fmt.Errorf("%s: give at most one of --customer, --journey and --tag", strings.Join(set, " and "))
	}
	if f.until != "" {
		t, err := parseDate(f.until, zone)
		if err != nil {
			return o, "", fmt.Errorf("--until %q: %w", f.until, err)
		}
		o.Until = t
	}
	if d, err := reports.ParseSince(f.since); err == nil {
		o.Since = o.Until.Add(-d)
	} else if t, derr := parseDate(f.since, zone); derr == nil {
		o.Since = t
	} else {
		return o, "", fmt.Errorf("--since %q: want a duration such as 30d or 36h, or a date such as 2026-03-01", f.since)
	}
	if !o.Since.Before(o.Until) {
		return o, "", fmt.Errorf("--since %q: the period starts at %s, not before its end %s", f.since,
			o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}

	formats := []string{"html", "md", "json", "csv"}
	if review {
		formats = []string{"md", "json"}
	}
	format := f.format
	if format == "" {
		switch strings.ToLower(filepath.Ext(f.out)) {
		case ".html", ".htm":
			format = "html"
		case ".json":
			format = "json"
		case ".csv":
			format = "csv"
		default:
			format = "md"
		}
		if !slices.Contains(formats, format) {
			return o, "", fmt.Errorf("--out %q: the review is written as %s, not %s: give --format", f.out, strings.Join(formats, " or "), format)
		}
	} else if !slices.Contains(formats, format) {
		return o, "", fmt.Errorf("--format %q: want %s", format, strings.Join(formats, ", "))
	}
	o.Screenshots = format == "html"
	if f.out != "" {
		if fi, err := os.Stat(f.out); err == nil && fi.IsDir() {
			return o, "", fmt.Errorf("--out %q is a directory: want a file", f.out)
		}
		if fi, err := os.Stat(filepath.Dir(f.out)); err != nil || !fi.IsDir() {
			return o, "", fmt.Errorf("--out %q: no folder %s to write it in", f.out, filepath.Dir(f.out))
		}
	}
	return o, format, nil
}

// parseDate reads a date (2026-03-01, midnight in zone) or an RFC 3339
// time.
func parseDate(s string, zone *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, zone); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a date such as 2026-03-01 or a time such as 2026-03-01T12:00:00Z")
}

// checkScope says when --customer, --journey or --tag matches no journey
// of the database: a typo, more likely than a report of nothing.
func checkScope(f *reportFlags, records []store.JourneyRecord) error {
	match := func(r store.JourneyRecord) bool {
		return (f.journey == "" || r.Name == f.journey) && (f.customer == "" || r.Customer == f.customer) &&
			(f.tag == "" || slices.Contains(r.Tags, f.tag))
	}
	if f.journey == "" && f.customer == "" && f.tag == "" || slices.ContainsFunc(records, match) {
		return nil
	}
	flag, v, what := "--journey", f.journey, "no such journey"
	switch {
	case f.customer != "":
		flag, v, what = "--customer", f.customer, "no journey of this customer"
	case f.tag != "":
		flag, v, what = "--tag", f.tag, "no journey with this tag"
	}
	return fmt.Errorf("%s %q: %s in the database", flag, v, what)
}

// routeNames names the config's routes for the review: "#1 customer acme
// → desk", "#3 → ops".
func routeNames(routes []config.Route) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		m := r.Match
		var match []string
		for _, p := range [...]struct{ k, v string }{{"journey", m.Journey}, {"owner", m.Owner}, {"customer", m.Customer},
			{"tag", m.Tag}, {"severity", m.Severity}, {"location", m.Location}, {"kind", m.Kind}} {
			if p.v != "" {
				match = append(match, p.k+" "+p.v)
			}
		}
		to := strings.Join(r.To, ", ")
		for l, lv := range r.Escalate {
			if l > 0 || to != "" {
				to += "; "
			}
			to += fmt.Sprintf("L%d %s", l+1, strings.Join(lv.To, ", "))
		}
		out[i] = strings.TrimSpace(fmt.Sprintf("#%d %s", i+1, strings.Join(match, ", "))) + " → " + to
	}
	return out
}
