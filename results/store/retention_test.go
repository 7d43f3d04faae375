package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

const day = 24 * time.Hour

// pruneRun is a run of journey in location started at at, lasting d, with
// the steps given; the run's ID is id.
func pruneRun(id, journey, location string, at time.Time, o results.Outcome, d time.Duration, steps ...results.Step) *results.Run {
	return &results.Run{
		ID: id, Journey: journey, Trigger: results.TriggerSchedule, Location: location,
		StartedAt: at, FinishedAt: at.Add(d), Duration: d, Outcome: o, Attempt: 1, Steps: steps,
	}
}

// pruneStep is step i named name with status st lasting d, with a
// screenshot of each of shots.
func pruneStep(i int, name string, st results.Status, d time.Duration, shots ...string) results.Step {
	s := results.Step{Index: i, Name: name, Action: "goto", Status: st, Duration: d}
	for _, shot := range shots {
		s.Artifacts = append(s.Artifacts, results.Artifact{Kind: results.ArtifactScreenshot, Data: []byte(shot)})
	}
	return s
}

func saveAll(t *testing.T, s *Store, runs ...*results.Run) {
	t.Helper()
	for _, r := range runs {
		if err := s.SaveRun(t.Context(), nil, r); err != nil {
			t.Fatal(err)
		}
	}
}

func prune(t *testing.T, s *Store, r Retention, now time.Time, batch int) PruneReport {
	t.Helper()
	rep, err := s.prune(t.Context(), r, now, batch)
	if err != nil {
		t.Fatalf("Prune at %s: %v (so far %+v)", now.Format(time.RFC3339), err, rep)
	}
	return rep
}

// TestPruneAggregates saves the runs of two hours and checks every figure
// of their hourly aggregates: counts by outcome with retried attempts left
// out, and exact nearest-rank p50 and p95 over the runs (and steps) that
// checked the site, per journey and location and per step over every
// location. An hour not over yet is left for later, and aggregating an
// hour again counts nothing twice.
func TestPruneAggregates(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ms := time.Millisecond
		h := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
		var runs []*results.Run
		// checkout in eu-west, 09:00-10:00: 20 runs that checked the site,
		// lasting 100ms, 200ms … 2000ms (saved out of order), the last two
		// failed on step 2 after 5s; step 1 lasts a tenth of the run.
		for _, i := range []int{7, 3, 20, 1, 14, 9, 11, 2, 19, 5, 16, 8, 4, 13, 10, 18, 6, 12, 17, 15} {
			o, st2, d2 := results.Passed, results.StepPassed, time.Duration(i)*20*ms
			switch {
			case i >= 19:
				o, st2, d2 = results.Failed, results.StepFailed, 5*time.Second
			case i >= 16:
				o, st2 = results.Degraded, results.StepDegraded
			}
			runs = append(runs, pruneRun(fmt.Sprintf("c%02d", i), "checkout", "eu-west", h.Add(time.Duration(i)*time.Minute), o,
				time.Duration(i)*100*ms,
				pruneStep(1, "open home", results.StepPassed, time.Duration(i)*10*ms),
				pruneStep(2, "pay", st2, d2),
				pruneStep(3, "thanks", results.StepSkipped, 0)))
		}
		runs = append(runs,
			// Counted, but measure the monitor, not the site.
			pruneRun("c-error", "checkout", "eu-west", h.Add(40*time.Minute), results.Error, 50*ms,
				pruneStep(1, "open home", results.StepError, 50*ms)),
			pruneRun("c-aborted", "checkout", "eu-west", h.Add(41*time.Minute), results.Aborted, 10*time.Second,
				pruneStep(1, "open home", results.StepAborted, 10*time.Second)),
			// Another location: its own journey row, the same step rows.
			pruneRun("c-us", "checkout", "us-east", h.Add(30*time.Minute), results.Passed, 700*ms,
				pruneStep(1, "open home", results.StepPassed, 105*ms),
				pruneStep(2, "pay", results.StepPassed, 30*ms)),
			// The next hour, on the hour.
			pruneRun("c-next", "checkout", "eu-west", h.Add(time.Hour), results.Passed, 300*ms,
				pruneStep(1, "open home", results.StepPassed, 30*ms)),
			// The hour not over at now (12:00 less the settle time).
			pruneRun("c-late", "checkout", "eu-west", h.Add(2*time.Hour+50*time.Minute), results.Passed, 300*ms),
		)
		retried := pruneRun("c-retried", "checkout", "eu-west", h.Add(42*time.Minute), results.Error, 20*ms,
			pruneStep(1, "open home", results.StepError, 20*ms))
		retried.Retried = true
		runs = append(runs, retried)
		saveAll(t, s, runs...)

		now := h.Add(3 * time.Hour) // 12:00: 11:00-12:00 is not settled
		rep := prune(t, s, Retention{}, now, 3)
		assertEqual(t, "report", rep, PruneReport{HoursAggregated: 2})

		wantJourneys := []JourneyHour{
			{Journey: "checkout", Location: "eu-west", Hour: h, Runs: 22, Passed: 15, Degraded: 3, Failed: 2, Errors: 1, Aborted: 1,
				P50: 1000 * ms, P95: 1900 * ms, Max: 2000 * ms},
			{Journey: "checkout", Location: "eu-west", Hour: h.Add(time.Hour), Runs: 1, Passed: 1,
				P50: 300 * ms, P95: 300 * ms, Max: 300 * ms},
			{Journey: "checkout", Location: "us-east", Hour: h, Runs: 1, Passed: 1, P50: 700 * ms, P95: 700 * ms, Max: 700 * ms},
		}
		wantSteps := []StepHour{
			// 10ms … 200ms and 105ms: the 11th of 21 is 105ms, the 20th 190ms.
			{Journey: "checkout", Index: 1, Name: "open home", Hour: h, Runs: 21, P50: 105 * ms, P95: 190 * ms, Max: 200 * ms},
			{Journey: "checkout", Index: 1, Name: "open home", Hour: h.Add(time.Hour), Runs: 1, P50: 30 * ms, P95: 30 * ms, Max: 30 * ms},
			// 20ms … 360ms, 30ms, and 5s twice: the 11th of 21 is 200ms, the 20th 5s.
			{Journey: "checkout", Index: 2, Name: "pay", Hour: h, Runs: 21, Failures: 2, P50: 200 * ms, P95: 5 * time.Second, Max: 5 * time.Second},
		}
		checkHours := func(when string) {
			t.Helper()
			jh, err := s.JourneyHours(t.Context(), HourFilter{})
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, "journey hours "+when, jh, wantJourneys)
			sh, err := s.StepHours(t.Context(), HourFilter{Journey: "checkout"})
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, "step hours "+when, sh, wantSteps)
		}
		checkHours("after the first prune")

		// Again at the same time: nothing to do.
		assertEqual(t, "second report", prune(t, s, Retention{}, now, 3), PruneReport{})
		// An hour aggregated twice replaces its figures.
		if err := s.aggregateHour(t.Context(), h.UnixMilli(), 3); err != nil {
			t.Fatal(err)
		}
		checkHours("after aggregating 09:00 again")

		// Filters.
		jh, err := s.JourneyHours(t.Context(), HourFilter{Journey: "checkout", Since: h.Add(time.Hour), Until: h.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "journey hours of 10:00", jh, wantJourneys[1:2])

		// Once 11:00-12:00 has settled it is aggregated.
		assertEqual(t, "report at 12:30", prune(t, s, Retention{}, h.Add(3*time.Hour+30*time.Minute), 3), PruneReport{HoursAggregated: 1})
		jh, err = s.JourneyHours(t.Context(), HourFilter{Since: h.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "journey hours of 11:00", jh, []JourneyHour{{Journey: "checkout", Location: "eu-west", Hour: h.Add(2 * time.Hour),
			Runs: 1, Passed: 1, P50: 300 * ms, P95: 300 * ms, Max: 300 * ms}})
		if n := count(t, s, "runs"); n != len(runs) {
			t.Errorf("%d runs left, want all %d: retention keeps forever", n, len(runs))
		}
	})
}

// TestPruneRetention applies the default periods to runs of every age:
// passed runs go after 30 days, failed and error runs after 90, with their
// steps, artifacts and the contents no other artifact refers to; the
// aggregates made of them stay, until 400 days; missed slots go with the
// runs; incidents stay, though runs they name are gone. A second prune
// removes nothing.
func TestPruneRetention(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
		ago := func(d time.Duration) time.Time { return now.Add(-d) }
		sec := time.Second
		// shared: in a passed run that goes and one that stays; both: in
		// two runs that go in different batches; evidence: a failure's.
		const shared, both, evidence, gone1, gone2, old = "shared shot", "both shot", "evidence shot", "gone 1", "gone 2 (longer)", "very old"
		saveAll(t, s,
			pruneRun("r500-passed", "checkout", "eu-west", ago(500*day), results.Passed, sec,
				pruneStep(1, "open", results.StepPassed, sec, old)),
			pruneRun("r100-passed", "checkout", "eu-west", ago(100*day), results.Passed, sec,
				pruneStep(1, "open", results.StepPassed, sec, both)),
			pruneRun("r100-failed", "checkout", "eu-west", ago(100*day-time.Minute), results.Failed, sec,
				pruneStep(1, "open", results.StepPassed, sec),
				pruneStep(2, "pay", results.StepFailed, sec, gone1)),
			pruneRun("r40-passed", "checkout", "eu-west", ago(40*day), results.Passed, sec,
				pruneStep(1, "open", results.StepPassed, sec, shared, gone2),
				pruneStep(2, "pay", results.StepPassed, sec, both)),
			pruneRun("r40-degraded", "search", "eu-west", ago(40*day-time.Minute), results.Degraded, sec,
				pruneStep(1, "search", results.StepDegraded, sec)),
			pruneRun("r40-aborted", "search", "eu-west", ago(40*day-2*time.Minute), results.Aborted, sec,
				pruneStep(1, "search", results.StepAborted, sec)),
			pruneRun("r40-failed", "checkout", "eu-west", ago(40*day-3*time.Minute), results.Failed, sec,
				pruneStep(1, "open", results.StepPassed, sec),
				pruneStep(2, "pay", results.StepFailed, sec, evidence)),
			pruneRun("r40-error", "search", "eu-west", ago(40*day-4*time.Minute), results.Error, sec,
				pruneStep(1, "search", results.StepError, sec)),
			pruneRun("r10-passed", "checkout", "eu-west", ago(10*day), results.Passed, sec,
				pruneStep(1, "open", results.StepPassed, sec, shared)),
			pruneRun("r10-failed", "checkout", "eu-west", ago(10*day-time.Minute), results.Failed, sec,
				pruneStep(1, "open", results.StepFailed, sec, evidence)),
		)
		for _, m := range []Miss{
			{Journey: "checkout", Location: "eu-west", Slot: ago(31 * day), Reason: MissDropped},
			{Journey: "checkout", Location: "eu-west", Slot: ago(29 * day), Reason: MissSkipped},
		} {
			if err := s.RecordMiss(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		// Windows made on the spot: one over 31 days ago, one 29 days ago.
		for _, end := range []time.Duration{31 * day, 29 * day} {
			if _, err := s.StartMaintenance(ctx, results.Maintenance{Match: results.MaintenanceMatch{Tag: "shop"},
				From: ago(end + time.Hour), To: ago(end), CreatedAt: ago(end + time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		// An incident whose timeline names runs that go.
		execSQL(t, s, `INSERT INTO incidents (journey, kind, severity, state, opened_at, first_run, last_run, first_failure_at)
			VALUES ('checkout', 'site', 'critical', 'resolved', ?, 'r100-failed', 'r40-failed', ?)`, ago(100*day).UnixMilli(), ago(100*day).UnixMilli())
		var incident int64
		if err := s.db.GetContext(ctx, &incident, `SELECT id FROM incidents`); err != nil {
			t.Fatal(err)
		}
		execSQL(t, s, `INSERT INTO incident_events (incident_id, at, kind, run_id) VALUES (?, ?, 'opened', 'r100-failed')`,
			incident, ago(100*day).UnixMilli())

		r := Retention{Runs: 30 * day, Failures: 90 * day, Aggregates: 400 * day}
		rep := prune(t, s, r, now, 2)
		if rep.HoursAggregated != 4 { // 500, 100, 40 and 10 days ago
			t.Errorf("aggregated %d hours, want 4", rep.HoursAggregated)
		}
		rep.HoursAggregated = 0
		goneBytes := int64(len(old) + len(both) + len(gone1) + len(gone2))
		assertEqual(t, "report", rep, PruneReport{
			Runs: 6, Steps: 8, Artifacts: 6, Blobs: 4, BlobBytes: goneBytes,
			Aggregates: 2, // the journey's and the step's of 500 days ago
			SlotMisses: 1, Maintenance: 1,
		})

		var left []string
		if err := s.db.SelectContext(ctx, &left, `SELECT id FROM runs ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "runs left", left, []string{"r10-failed", "r10-passed", "r40-error", "r40-failed"})
		if _, err := s.Run(ctx, "r40-passed"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Run(r40-passed) = %v, want ErrNotFound", err)
		}
		kept, err := s.Run(ctx, "r40-failed")
		if err != nil {
			t.Fatal(err)
		}
		if len(kept.Steps) != 2 || len(kept.Steps[1].Artifacts) != 1 {
			t.Fatalf("kept failed run lost its steps or artifacts: %+v", kept)
		}
		for shot, want := range map[string]bool{shared: true, evidence: true, both: false, gone1: false, gone2: false, old: false} {
			_, err := s.Blob(ctx, sha([]byte(shot)))
			if got := err == nil; got != want || (err != nil && !errors.Is(err, ErrNotFound)) {
				t.Errorf("blob %q: Blob error %v, want kept %v", shot, err, want)
			}
		}
		if n := count(t, s, "steps"); n != 5 {
			t.Errorf("%d steps left, want 5", n)
		}
		if n := count(t, s, "artifacts"); n != 3 {
			t.Errorf("%d artifacts left, want 3", n)
		}
		if n := count(t, s, "slot_misses"); n != 1 {
			t.Errorf("%d missed slots left, want 1", n)
		}
		if n := count(t, s, "incident_events"); n != 1 {
			t.Errorf("%d incident events left, want 1: incidents are kept", n)
		}

		// The aggregates outlive the runs, but for the one past 400 days.
		jh, err := s.JourneyHours(ctx, HourFilter{Journey: "checkout"})
		if err != nil {
			t.Fatal(err)
		}
		var hours []string
		for _, a := range jh {
			hours = append(hours, fmt.Sprintf("%d %d/%d", now.Sub(a.Hour)/day, a.Runs, a.Failed))
		}
		assertEqual(t, "checkout's hours (days ago, runs/failed)", hours, []string{"100 2/1", "40 2/1", "10 2/1"})

		// Nothing more until time passes.
		assertEqual(t, "second report", prune(t, s, r, now, 2), PruneReport{})
		// 51 days later the failures of 40 days ago are past 90 days, the
		// passed run of 10 days ago past 30, and its screenshot goes.
		later := prune(t, s, r, now.Add(51*day), 500)
		assertEqual(t, "report 51 days later", later, PruneReport{Runs: 3, Steps: 4, Artifacts: 2, Blobs: 1, BlobBytes: int64(len(shared)), SlotMisses: 1, Maintenance: 1})
	})
}

// TestPruneNeverBeforeAggregated shows a run is not deleted before its
// hour is aggregated, however short Runs is.
func TestPruneNeverBeforeAggregated(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		now := time.Date(2026, 11, 23, 20, 10, 0, 0, time.UTC)
		saveAll(t, s,
			pruneRun("old", "checkout", "", now.Add(-2*time.Hour), results.Passed, time.Second),
			pruneRun("recent", "checkout", "", now.Add(-25*time.Minute), results.Passed, time.Second))
		rep := prune(t, s, Retention{Runs: time.Minute, Failures: time.Minute}, now, 500)
		assertEqual(t, "report", rep, PruneReport{HoursAggregated: 1, Runs: 1})
		if _, err := s.Run(t.Context(), "recent"); err != nil {
			t.Errorf("the run of an hour not aggregated yet: %v", err)
		}
	})
}

// TestPruneStaysBounded runs the store for 40 simulated days: every 6
// hours a passed and a failed run, each with a screenshot of its own and
// one they all share, then a prune. Once the longest period has passed,
// every table stays the same size.
func TestPruneStaysBounded(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		r := Retention{Runs: 2 * day, Failures: 4 * day, Aggregates: 6 * day}
		start := time.Date(2026, 3, 1, 0, 10, 0, 0, time.UTC)
		tables := []string{"runs", "steps", "artifacts", "blobs", "journey_hours", "step_hours"}
		var sizes []string
		for k := range 40 * 4 {
			now := start.Add(time.Duration(k) * 6 * time.Hour)
			at := now.Add(-time.Minute)
			saveAll(t, s,
				pruneRun(fmt.Sprintf("p%03d", k), "checkout", "eu-west", at, results.Passed, time.Second,
					pruneStep(1, "open", results.StepPassed, time.Second, "logo", fmt.Sprintf("page %d", k))),
				pruneRun(fmt.Sprintf("f%03d", k), "checkout", "eu-west", at, results.Failed, time.Second,
					pruneStep(1, "open", results.StepFailed, time.Second, "logo", fmt.Sprintf("error %d", k))))
			prune(t, s, r, now, 5)
			var size []string
			for _, table := range tables {
				size = append(size, fmt.Sprintf("%s %d", table, count(t, s, table)))
			}
			sizes = append(sizes, strings.Join(size, ", "))
		}
		// Passed runs of the last 2 days (8) and failed ones of the last 4
		// (16), a step and two screenshots each; their own screenshots and
		// the shared one; the hours with runs of the last 6 days (23, each
		// a journey and a step row) but the last, not aggregated yet.
		want := "runs 24, steps 24, artifacts 48, blobs 25, journey_hours 23, step_hours 23"
		for i, size := range sizes[len(sizes)-8*4:] {
			if size != want {
				t.Errorf("after prune %d: %s, want %s", len(sizes)-8*4+i, size, want)
			}
		}
	})
}

// TestPruneRefusesNegative refuses periods below zero, which config
// refuses too.
func TestPruneRefusesNegative(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	_, err := s.Prune(t.Context(), Retention{Runs: -time.Hour}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "negative retention") {
		t.Errorf("Prune with a negative period: %v, want an error", err)
	}
}

// TestPruneStopsWithContext keeps what it did when ctx ends, and the next
// prune goes on from there.
func TestPruneStopsWithContext(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	for i := range 5 {
		saveAll(t, s, pruneRun(fmt.Sprint("r", i), "checkout", "", now.Add(-40*day+time.Duration(i)*time.Hour), results.Passed, time.Second))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rep, err := s.prune(ctx, Retention{Runs: 30 * day}, now, 1)
	if !errors.Is(err, context.Canceled) || rep.Removed() {
		t.Fatalf("Prune with an ended context: %+v, %v; want nothing removed and context.Canceled", rep, err)
	}
	rep = prune(t, s, Retention{Runs: 30 * day}, now, 1)
	if rep.Runs != 5 || rep.HoursAggregated != 5 {
		t.Errorf("the next prune: %+v, want 5 hours aggregated and 5 runs removed", rep)
	}
}

// TestPruneSkipsBlobsOfSaveInProgress (PostgreSQL, where saves and prunes
// run at once) shows that a blob an unfinished save refers to is neither
// deleted nor waited for.
func TestPruneSkipsBlobsOfSaveInProgress(t *testing.T) {
	t.Parallel()
	s := openNew(t, DialectPostgres)
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	saveAll(t, s, pruneRun("old", "checkout", "", now.Add(-40*day), results.Passed, time.Second,
		pruneStep(1, "open", results.StepPassed, time.Second, "logo")))

	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := s.SaveRunTx(ctx, tx, nil, pruneRun("new", "checkout", "", now, results.Passed, time.Second,
		pruneStep(1, "open", results.StepPassed, time.Second, "logo"))); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second) // a prune that waits fails here
	defer cancel()
	rep, err := s.Prune(pctx, Retention{Runs: 30 * day}, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Runs != 1 || rep.Blobs != 0 {
		t.Errorf("prune with a save in progress: %+v, want the old run removed and its blob kept", rep)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blob(ctx, sha([]byte("logo"))); err != nil {
		t.Errorf("the new run's blob: %v", err)
	}
}

// TestSaveStoresAgainABlobPruned (PostgreSQL) shows a save that found a
// blob stored, which a prune then deleted before the save's artifact
// referred to it, storing it again instead of failing on the foreign key.
func TestSaveStoresAgainABlobPruned(t *testing.T) {
	t.Parallel()
	s := openNew(t, DialectPostgres)
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	logo := []byte("logo")
	saveAll(t, s, pruneRun("old", "checkout", "", now.Add(-40*day), results.Passed, time.Second,
		pruneStep(1, "open", results.StepPassed, time.Second, string(logo))))

	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// What a save does first: finds the blob stored, and takes no lock.
	if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (hash, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`,
		sha(logo), len(logo), logo); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Prune(ctx, Retention{Runs: 30 * day}, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 1 {
		t.Fatalf("prune: %+v, want the old run's blob removed", rep)
	}
	// The save's artifact would now refer to a blob that is gone.
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM blobs WHERE hash = $1`, sha(logo)); err != nil || n != 0 {
		t.Fatalf("the blob in the save's transaction: %d rows, %v; want it gone", n, err)
	}
	if err := s.lockBlobs(ctx, tx, map[string][]byte{sha(logo): logo}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRunTx(ctx, tx, nil, pruneRun("new", "checkout", "", now, results.Passed, time.Second,
		pruneStep(1, "open", results.StepPassed, time.Second, string(logo)))); err != nil {
		t.Fatalf("save after the prune: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Blob(ctx, sha(logo)); err != nil || string(b) != string(logo) {
		t.Errorf("Blob = %q, %v; want it stored again", b, err)
	}
}

func TestNearestRank(t *testing.T) {
	t.Parallel()
	seq := func(n int) []int64 {
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(i + 1)
		}
		return v
	}
	for _, tc := range []struct {
		values        []int64
		p50, p95, max int64
	}{
		{nil, 0, 0, 0},
		{[]int64{7}, 7, 7, 7},
		{[]int64{9, 1}, 1, 9, 9},
		{[]int64{3, 1, 2}, 2, 3, 3},
		{seq(20), 10, 19, 20},
		{seq(21), 11, 20, 21},
		{seq(100), 50, 95, 100},
		{seq(101), 51, 96, 101},
	} {
		p50, p95, maxMS := percentiles(append([]int64(nil), tc.values...))
		if p50 != tc.p50 || p95 != tc.p95 || maxMS != tc.max {
			t.Errorf("percentiles(%v) = %d, %d, %d; want %d, %d, %d", tc.values, p50, p95, maxMS, tc.p50, tc.p95, tc.max)
		}
	}
}

func TestRetentionFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r    Retention
		want time.Duration
	}{
		{Retention{Runs: 30 * day, Failures: 90 * day}, 90 * day},
		{Retention{Runs: 30 * day, Failures: 7 * day}, 30 * day}, // never shorter than Runs
		{Retention{Runs: 30 * day}, 0},                           // failures forever
		{Retention{Failures: 90 * day}, 0},                       // runs forever: failures too
	} {
		if got := tc.r.failures(); got != tc.want {
			t.Errorf("%+v: failures kept %v, want %v", tc.r, got, tc.want)
		}
	}
}
