package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// saveReportFixture stores, in a new database file, hourly runs of
// checkout (customer acme, tag shop) over the last two days, one failed;
// it returns the file.
func saveReportFixture(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "report.db")
	st := openStore(t, db)
	j := &journeys.Journey{Name: "checkout", Title: "Guest checkout", Customer: "acme", Tags: []string{"shop"}}
	now := time.Now().Truncate(time.Hour)
	for i := range 48 {
		at := now.Add(-time.Duration(i+1) * time.Hour)
		step := results.Step{Index: 1, Name: "Home page", Action: "goto", Duration: 300 * time.Millisecond, Status: results.StepPassed}
		o := results.Passed
		if i == 5 {
			step.Status, step.Cause, step.Error, o = results.StepFailed, results.CauseHTTP, "the page answered 500", results.Failed
		}
		r := &results.Run{ID: "r" + at.Format("0102-15"), Journey: "checkout", Location: "eu-west", Trigger: results.TriggerSchedule,
			StartedAt: at, FinishedAt: at.Add(step.Duration), Duration: step.Duration, Outcome: o, Attempt: 1,
			Steps: []results.Step{step}}
		if o == results.Failed {
			r.FailingStep, r.Cause, r.Error = 1, results.CauseHTTP, `step 1 "Home page": the page answered 500`
		}
		if err := st.SaveRun(t.Context(), j, r); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestReport(t *testing.T) {
	db := saveReportFixture(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		args  []string
		file  string // written instead of stdout
		check func(t *testing.T, out string)
	}{
		{"markdown on stdout", []string{"report", "--since", "7d"}, "", func(t *testing.T, out string) {
			for _, want := range []string{"# Waymark report: all journeys", "| checkout | 97.91 % | 48 | 1 |", "## Step timings"} {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
		}},
		{"html by extension", []string{"report", "--customer", "acme"}, "report.html", func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "Waymark report: customer acme") {
				t.Errorf("not the HTML report:\n%.300s", out)
			}
		}},
		{"csv by extension", []string{"report", "--tag", "shop"}, "sla.csv", func(t *testing.T, out string) {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 || rows[1][0] != "checkout" || rows[1][12] != "97.916" {
				t.Errorf("CSV rows: %q", rows)
			}
		}},
		{"json", []string{"report", "--journey", "checkout", "--format", "json"}, "", func(t *testing.T, out string) {
			var r struct {
				Scope    string `json:"scope"`
				Journeys []struct {
					Name string `json:"name"`
				} `json:"journeys"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Scope != "journey checkout" || len(r.Journeys) != 1 {
				t.Errorf("JSON report: %+v", r)
			}
		}},
		{"since a date until a date", []string{"report", "--since", time.Now().AddDate(0, 0, -3).Format(time.DateOnly),
			"--until", time.Now().AddDate(0, 0, 1).Format(time.DateOnly)}, "", func(t *testing.T, out string) {
			if !strings.Contains(out, "| checkout |") {
				t.Errorf("report lacks checkout:\n%s", out)
			}
		}},
		{"review", []string{"report", "review", "--since", "7d"}, "", func(t *testing.T, out string) {
			if !strings.Contains(out, "# Waymark monitoring review: all journeys") {
				t.Errorf("not the review:\n%s", out)
			}
		}},
		{"review as json", []string{"report", "review"}, "review.json", func(t *testing.T, out string) {
			if !json.Valid([]byte(out)) || !strings.Contains(out, `"flapping"`) {
				t.Errorf("not the review in JSON:\n%s", out)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--database", db)
			if tc.file != "" {
				args = append(args, "--out", filepath.Join(dir, tc.file))
			}
			r := cli(t, nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
			}
			out := r.stdout
			if tc.file != "" {
				if r.stdout != "" {
					t.Errorf("stdout with --out:\n%s", r.stdout)
				}
				b, err := os.ReadFile(filepath.Join(dir, tc.file))
				if err != nil {
					t.Fatal(err)
				}
				out = string(b)
			}
			tc.check(t, out)
		})
	}
}

// TestReportBadInput: every bad flag exits 2 naming it, before anything
// is read or written.
func TestReportBadInput(t *testing.T) {
	db := saveReportFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.md")
	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"unknown format", []string{"report", "--format", "pdf"}, []string{`--format "pdf": want html, md, json, csv`}},
		{"review as html", []string{"report", "review", "--format", "html"}, []string{`--format "html": want md, json`}},
		{"review as csv by extension", []string{"report", "review", "--out", filepath.Join(dir, "r.csv")},
			[]string{`--out "` + filepath.Join(dir, "r.csv") + `": the review is written as md or json`}},
		{"customer and journey", []string{"report", "--customer", "acme", "--journey", "checkout"},
			[]string{"--customer and --journey: give at most one of --customer, --journey and --tag"}},
		{"journey and tag", []string{"report", "review", "--journey", "checkout", "--tag", "shop"}, []string{"--journey and --tag"}},
		{"since not a duration", []string{"report", "--since", "7x"}, []string{`--since "7x": want a duration`}},
		{"since zero", []string{"report", "--since", "0d"}, []string{`--since "0d"`}},
		{"since after until", []string{"report", "--since", "2026-03-10", "--until", "2026-03-01"},
			[]string{`--since "2026-03-10": the period starts`}},
		{"bad until", []string{"report", "--until", "yesterday"}, []string{`--until "yesterday": want a date`}},
		{"out is a directory", []string{"report", "--out", dir, "--format", "md"}, []string{`--out "` + dir + `" is a directory`}},
		{"out in no folder", []string{"report", "--out", filepath.Join(dir, "no", "r.md")}, []string{`--out "` + filepath.Join(dir, "no", "r.md") + `": no folder`}},
		{"unknown customer", []string{"report", "--customer", "nobody", "--out", out}, []string{`--customer "nobody": no journey of this customer`}},
		{"unknown journey", []string{"report", "review", "--journey", "nope"}, []string{`--journey "nope": no such journey`}},
		{"unknown tag", []string{"report", "--tag", "nope"}, []string{`--tag "nope": no journey with this tag`}},
		{"unknown flag", []string{"report", "--customers", "acme"}, []string{"unknown flag: --customers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := storetest.Listing(t, dir)
			r := cli(t, nil, append(tc.args, "--database", db)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout on bad input:\n%s", r.stdout)
			}
			if after := storetest.Listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("the command changed %s:\nbefore %q\nafter  %q", dir, before, after)
			}
		})
	}
	missing := filepath.Join(dir, "missing.db")
	if r := cli(t, nil, "report", "--database", missing); r.code != 2 || !strings.Contains(r.stderr, "no such database") {
		t.Errorf("missing database: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("reading created %s", missing)
	}
}
