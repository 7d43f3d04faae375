package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/results"
)

// reportRuns are runs of two journeys over three hours from h: checkout
// every 10 minutes (failing at :20 of the second hour, in maintenance at
// :40 of it, a retried error attempt at :50), search at :05 of each hour.
func reportRuns(h time.Time) []*results.Run {
	ms := time.Millisecond
	var runs []*results.Run
	for i := range 18 {
		at := h.Add(time.Duration(i) * 10 * time.Minute)
		o, st := results.Passed, results.StepPassed
		if i == 8 || i == 10 {
			o, st = results.Failed, results.StepFailed
		}
		r := pruneRun(fmt.Sprintf("c%02d", i), "checkout", "eu-west", at, o, time.Duration(100+i*10)*ms,
			pruneStep(1, "Home", results.StepPassed, time.Duration(50+i)*ms),
			pruneStep(2, "Pay", st, time.Duration(40+i*10)*ms))
		if st == results.StepFailed {
			r.FailingStep, r.Cause, r.Error = 2, results.CauseHTTP, `step 2 "Pay": 502`
		}
		if i == 10 {
			r.Maintenance = "patching"
		}
		runs = append(runs, r)
		if i == 11 {
			retried := pruneRun(fmt.Sprintf("c%02d-1", i), "checkout", "eu-west", at.Add(-time.Second), results.Error, 5*ms,
				pruneStep(1, "Home", results.StepError, 5*ms))
			retried.Retried = true
			runs = append(runs, retried)
		}
	}
	for i := range 3 {
		runs = append(runs, pruneRun(fmt.Sprintf("s%d", i), "search", "us-east", h.Add(time.Duration(i)*time.Hour+5*time.Minute),
			results.Passed, 300*ms, pruneStep(1, "Search", results.StepPassed, 300*ms)))
	}
	return runs
}

// TestPeriodHours: the hours of a period read the same whether they were
// aggregated or are computed from the runs on the spot, an hour cut by
// the end counts only the runs before it, and the journeys filter holds.
func TestPeriodHours(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		h := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
		raw, aggregated := openNew(t, dialect), openNew(t, dialect)
		saveAll(t, raw, reportRuns(h)...)
		saveAll(t, aggregated, reportRuns(h)...)
		// 09:00 and 10:00 aggregated, 11:00 not.
		prune(t, aggregated, Retention{}, h.Add(2*time.Hour+aggregateSettle), 500)
		full := PeriodFilter{Since: h.Add(7 * time.Minute), Until: h.Add(3 * time.Hour)} // Since: from 09:00
		rj, rs, err := raw.PeriodHours(t.Context(), full)
		if err != nil {
			t.Fatal(err)
		}
		aj, as, err := aggregated.PeriodHours(t.Context(), full)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "journey hours, aggregated or not", aj, rj)
		assertEqual(t, "step hours, aggregated or not", as, rs)
		if len(rj) != 6 || rj[0].Journey != "checkout" || rj[3].Journey != "search" {
			t.Errorf("journey hours: %+v, want 3 of checkout then 3 of search", rj)
		}
		// 10:00: six runs of checkout, the retried attempt left out, two
		// failed (one in maintenance: the aggregates keep it).
		assertEqual(t, "checkout at 10:00", rj[1], JourneyHour{Journey: "checkout", Location: "eu-west", Hour: h.Add(time.Hour),
			Runs: 6, Passed: 4, Failed: 2, P50: 180 * time.Millisecond, P95: 210 * time.Millisecond, Max: 210 * time.Millisecond})

		// An end within an aggregated hour: only its runs before the end.
		for _, s := range []*Store{raw, aggregated} {
			cut, steps, err := s.PeriodHours(t.Context(), PeriodFilter{Journeys: []string{"checkout"}, Since: h.Add(time.Hour),
				Until: h.Add(time.Hour + 25*time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if len(cut) != 1 || cut[0].Runs != 3 || cut[0].Failed != 1 || len(steps) != 2 || steps[0].Runs != 3 {
				t.Errorf("10:00-10:25 of checkout: %+v %+v, want 3 runs, 1 failed, 2 steps of 3 runs", cut, steps)
			}
		}
		none, noSteps, err := aggregated.PeriodHours(t.Context(), PeriodFilter{Journeys: []string{}, Since: h, Until: h.Add(3 * time.Hour)})
		if err != nil || len(none)+len(noSteps) != 0 {
			t.Errorf("no journeys: %v %v %v, want nothing", none, noSteps, err)
		}
	})
}

// TestReportReads: the raw reads of a report, on both dialects.
func TestReportReads(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		h := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
		saveAll(t, s, reportRuns(h)...)
		ctx := t.Context()
		f := PeriodFilter{Since: h, Until: h.Add(3 * time.Hour)}

		counts, err := s.MaintenanceCounts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "maintenance counts", counts, []MaintenanceCount{
			{Journey: "checkout", Hour: h.Add(time.Hour), Window: "patching", Outcome: results.Failed, Runs: 1}})

		fails, err := s.RunFailures(ctx, f, results.Failed, results.Error)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "failures", fails, []RunFailure{{ID: "c08", Journey: "checkout", Location: "eu-west",
			StartedAt: h.Add(80 * time.Minute), Outcome: results.Failed, Step: 2, StepName: "Pay", Cause: results.CauseHTTP,
			Error: `step 2 "Pay": 502`}})

		outs, err := s.RunOutcomes(ctx, PeriodFilter{Journeys: []string{"search", "checkout"}, Since: h.Add(time.Hour), Until: h.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range outs {
			got = append(got, fmt.Sprintf("%s %s %s", o.Journey, o.StartedAt.Format("15:04"), o.Outcome))
		}
		assertEqual(t, "outcomes", got, []string{"checkout 10:00 passed", "checkout 10:10 passed", "checkout 10:20 failed", "checkout 10:30 passed",
			"checkout 10:50 passed", "search 10:05 passed"})

		// Incidents: one over before the period, one across its start, one
		// opened in it and still open, one after it.
		for _, inc := range []results.Incident{
			{Journey: "checkout", OpenedAt: h.Add(-3 * time.Hour), ResolvedAt: h.Add(-2 * time.Hour), State: results.IncidentResolved},
			{Journey: "checkout", OpenedAt: h.Add(-time.Hour), ResolvedAt: h.Add(time.Hour), State: results.IncidentResolved},
			{Journey: "search", OpenedAt: h.Add(2 * time.Hour), State: results.IncidentOpen},
			{Journey: "checkout", OpenedAt: h.Add(4 * time.Hour), Location: "eu-west", State: results.IncidentOpen},
		} {
			inc.Kind, inc.Severity, inc.FirstFailureAt = results.IncidentSite, results.SeverityCritical, inc.OpenedAt
			if err := s.Tx(ctx, func(tx *sqlx.Tx) error { return s.CreateIncidentTx(ctx, tx, &inc) }); err != nil {
				t.Fatal(err)
			}
		}
		incs, err := s.IncidentsBetween(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(incs) != 2 || incs[0].ID != 2 || incs[1].ID != 3 {
			t.Errorf("incidents: %+v, want WM-2 and WM-3", incs)
		}
		incs, err = s.IncidentsBetween(ctx, PeriodFilter{Journeys: []string{"search"}, Since: f.Since, Until: f.Until})
		if err != nil || len(incs) != 1 || incs[0].Journey != "search" {
			t.Errorf("incidents of search: %+v %v, want WM-3", incs, err)
		}
	})
}
