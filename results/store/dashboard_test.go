package store

import (
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// TestDashboardReads: the latest runs of each journey newest first and
// cut at n; a period's sums from the runs (retried attempts and runs in
// maintenance left out, p95 of those that checked the site) and from the
// hourly aggregates; the change mark moves when a run is kept.
func TestDashboardReads(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		now := time.Date(2026, 11, 23, 12, 10, 0, 0, time.UTC)
		at := func(m int) time.Time { return now.Add(time.Duration(-m) * time.Minute) }
		retried := pruneRun("a-retried", "a", "eu", at(50), results.Error, time.Second)
		retried.Retried = true
		maint := pruneRun("a-maint", "a", "eu", at(45), results.Failed, time.Second)
		maint.Maintenance = "release 4.2"
		saveAll(t, s,
			pruneRun("a-1", "a", "eu", at(200), results.Passed, 1*time.Second),
			pruneRun("a-2", "a", "eu", at(100), results.Failed, 3*time.Second),
			retried, maint,
			pruneRun("a-3", "a", "us", at(40), results.Degraded, 2*time.Second),
			pruneRun("b-1", "b", "eu", at(30), results.Error, 9*time.Second),
		)
		latest, err := s.LatestRuns(ctx, []string{"a", "b", "c"}, 2)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range []string{"a", "b", "c"} {
			for _, r := range latest[j] {
				got = append(got, r.ID+":"+string(r.Outcome)+"@"+r.Location)
			}
		}
		assertEqual(t, "latest 2 of a, b, c", got, []string{"a-3:degraded@us", "a-maint:failed@eu", "b-1:error@eu"})

		stats, err := s.JourneyStats(ctx, at(150))
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "a since 150 minutes ago", stats["a"],
			JourneyStat{Journey: "a", Runs: 2, Failed: 1, Degraded: 1, P95: 3 * time.Second})
		assertEqual(t, "b since 150 minutes ago", stats["b"], JourneyStat{Journey: "b", Runs: 1, Errors: 1})
		if a, ok := stats["a"].Availability(); !ok || a != 0.5 {
			t.Errorf("availability of a = %v, %v; want 0.5", a, ok)
		}

		mark, err := s.Mark(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		prune(t, s, Retention{}, now.Add(2*time.Hour), 100)
		totals, err := s.JourneyTotals(ctx, at(300), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// The aggregates count the run in maintenance (they do not tell it
		// apart) but not the retried attempt.
		assertEqual(t, "a's aggregates", totals["a"], JourneyStat{Journey: "a", Runs: 4, Passed: 1, Failed: 2, Degraded: 1})
		if until, err := s.AggregatedUntil(ctx); err != nil || !until.Equal(now.Add(2*time.Hour).Add(-30*time.Minute).Truncate(time.Hour)) {
			t.Errorf("AggregatedUntil = %s, %v", until, err)
		}
		same, err := s.Mark(ctx, now)
		if err != nil || same != mark {
			t.Errorf("mark moved with nothing kept: %q then %q (%v)", mark, same, err)
		}
		saveAll(t, s, pruneRun("b-2", "b", "eu", at(1), results.Passed, time.Second))
		if moved, err := s.Mark(ctx, now); err != nil || moved == mark {
			t.Errorf("mark did not move when a run was kept: %q then %q (%v)", mark, moved, err)
		}
	})
}
