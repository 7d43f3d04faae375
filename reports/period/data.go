package period

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteJSON writes the report as indented JSON: durations in whole
// milliseconds (fields ending in _ms), times in RFC 3339 in the report's
// zone, availability in percent (null when nothing was checked), and
// each step's change against the period before as delta_ms, percent and
// marked. Screenshots are named by their hash in the store. <, > and &
// are escaped, so the JSON is safe to embed in a page.
func WriteJSON(w io.Writer, r *Report) error {
	return writeJSON(w, r)
}

// WriteReviewJSON writes the monitoring review as indented JSON, as
// WriteJSON does the report.
func WriteReviewJSON(w io.Writer, rv *ReviewReport) error {
	return writeJSON(w, rv)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteCSV writes the availability of each journey over the period as
// CSV, a row per journey and one for them all, for SLA spreadsheets:
// journey, title, customer, from, to (RFC 3339), the runs that checked
// the site, passed, degraded, failed, errors, aborted, in maintenance,
// and the availability in percent (empty when nothing was checked). A
// text cell that a spreadsheet would take for a formula (=, +, -, @) is
// led by a quote.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	from, to := r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339)
	row := func(name, title, customer string, a Availability) []string {
		pct := ""
		if a.Percent != nil {
			pct = strconv.FormatFloat(*a.Percent, 'f', 3, 64)
		}
		return []string{cell(name), cell(title), cell(customer), from, to, itoa(a.Checked), itoa(a.Passed), itoa(a.Degraded),
			itoa(a.Failed), itoa(a.Errors), itoa(a.Aborted), itoa(a.Maintenance), pct}
	}
	rows := [][]string{{"journey", "title", "customer", "from", "to", "checked", "passed", "degraded", "failed", "errors",
		"aborted", "maintenance", "availability_percent"}}
	for _, j := range r.Journeys {
		rows = append(rows, row(j.Name, j.Title, j.Customer, j.Availability))
	}
	rows = append(rows, row("(all)", r.Scope, "", r.Total))
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// cell keeps a spreadsheet from reading text as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
