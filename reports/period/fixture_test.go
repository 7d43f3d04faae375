package period

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// The fixture: three journeys run every 30 minutes from 2026-02-22 to
// 2026-03-08 (the week reported, 1 to 8 March, and the week before),
// with failures, maintenance, monitor errors and incidents at known
// times. 1 March 2026 is a Sunday.

func day(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }

// periodOptions are the options of the fixture's report: the week from
// 1 March, made on 8 March at 06:00.
func periodOptions() Options {
	return Options{
		Since: day(1, 0, 0), Until: day(8, 0, 0), Now: day(8, 6, 0), Zone: time.UTC,
		Windows: []results.Maintenance{
			{Name: "weekly patching", Match: results.MaintenanceMatch{Tag: "shop"}, Cron: "0 2 * * SUN", Duration: 2 * time.Hour},
			{Name: "datacentre move", Match: results.MaintenanceMatch{Tag: "ops"}, From: day(20, 0, 0), To: day(20, 6, 0)},
		},
		Routes: []string{"acme desk", "ops on call", "default"},
	}
}

// journeyFiles are the fixture's journey files, by file name.
func journeyFiles() map[string]string {
	return map[string]string{
		"guest-checkout.yaml": `name: guest-checkout
title: Guest buys two items
site: http://shop.test
customer: acme
tags: [shop]
thresholds: {warn: 8s, fail: 20s}
steps:
  - goto: /
    name: Home page
    threshold: {warn: 3s, fail: 10s}
  - click: "[data-test=add]"
    name: Add to cart
  - click: "[data-test=pay]"
    name: Pay
    threshold: {warn: 800ms, fail: 5s}
`,
		"search.yaml": `name: search
title: Search for a light
site: http://shop.test
customer: acme
tags: [shop]
steps:
  - goto: /search?q=light
    name: Search
    threshold: {warn: 2s}
`,
		"status-page.yaml": `name: status-page
site: http://status.test
customer: other
tags: [ops]
steps:
  - goto: /
    name: Status
`,
	}
}

// screenshot is a JPEG of w×h with a coloured band, standing for a page.
func screenshot(w, h int, band color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{250, 250, 250, 255}
			if y < h/8 {
				c = band
			} else if x > w/10 && x < w*9/10 && y > h/4 && y < h/4+20 && (x/8)%3 != 0 {
				c = color.RGBA{40, 40, 40, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // a bytes.Buffer takes whatever it is given
	}
	return b.Bytes()
}

// fixtureRuns are the runs of the fixture.
func fixtureRuns() []*results.Run {
	red := screenshot(1280, 800, color.RGBA{200, 40, 40, 255})
	blue := screenshot(1280, 800, color.RGBA{40, 80, 200, 255})
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	step := func(i int, name string, d time.Duration) results.Step {
		return results.Step{Index: i, Name: name, Action: "click", Duration: d, Status: results.StepPassed, URL: "http://shop.test/"}
	}
	fail := func(s *results.Step, cause results.Cause, msg string, shot []byte) {
		s.Status, s.Cause, s.Error = results.StepFailed, cause, msg
		if shot != nil {
			s.Artifacts = []results.Artifact{{Kind: results.ArtifactScreenshot, Label: "failure", Data: shot}}
		}
	}
	finish := func(r *results.Run) *results.Run {
		var d time.Duration
		for i := range r.Steps {
			r.Steps[i].Start = d
			d += r.Steps[i].Duration
		}
		r.Duration, r.FinishedAt = d, r.StartedAt.Add(d)
		v := results.Decide(r.Steps, d, results.Limits{})
		r.Outcome, r.FailingStep, r.Cause, r.Error = v.Outcome, v.Step, v.Cause, v.Error
		return r
	}
	in := func(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }
	sunday := func(t time.Time) bool {
		return t.Weekday() == time.Sunday && t.Hour() >= 2 && t.Hour() < 4
	}
	var runs []*results.Run
	i := 0
	for at := time.Date(2026, 2, 22, 0, 0, 0, 0, time.UTC); at.Before(day(8, 0, 0)); at = at.Add(30 * time.Minute) {
		i++
		current := !at.Before(day(1, 0, 0))
		newRun := func(journey, short string) *results.Run {
			return &results.Run{ID: short + "-" + at.Format("0102-1504"), Journey: journey, Trigger: results.TriggerSchedule,
				Location: "eu-west", StartedAt: at, Attempt: 1}
		}

		// guest-checkout: Pay is slower this week, over its 800ms warn
		// threshold in some runs; it failed on 3 March (an incident), 6
		// March and 7 March; the shop was down for its Sunday patching.
		gc := newRun("guest-checkout", "gc")
		pay := ms(500 + i%10*30)
		if current {
			pay = ms(600 + i%10*50)
		}
		gc.Steps = []results.Step{step(1, "Home page", ms(200+i%5*20)), step(2, "Add to cart", ms(150+i%3*10)), step(3, "Pay", pay)}
		gc.Steps[0].Action = "goto"
		gc.Steps[2].URL = "http://shop.test/checkout/pay"
		switch {
		case sunday(at):
			fail(&gc.Steps[0], results.CauseNetwork, "connection refused", nil)
			gc.Steps[1].Status, gc.Steps[2].Status = results.StepSkipped, results.StepSkipped
			gc.Maintenance = "weekly patching"
		case in(at, day(3, 10, 0), day(3, 11, 30)), in(at, day(7, 20, 0), day(7, 22, 0)):
			fail(&gc.Steps[2], results.CauseHTTP, "the page answered 502 Bad Gateway", red)
			gc.Steps[2].HTTPStatus = 502
		case at.Equal(day(6, 15, 0)):
			fail(&gc.Steps[2], results.CauseSelector, `nothing matched "[data-test=pay]" within 10s`, blue)
		case pay > 800*time.Millisecond:
			gc.Steps[2].Status = results.StepDegraded
			gc.Steps[2].Error = "took " + pay.String() + ", over the warn threshold of 800ms"
		}
		runs = append(runs, finish(gc))

		// search: alternates between failing and passing on 5 March,
		// failed in a deploy's window on 4 March.
		se := newRun("search", "se")
		se.Steps = []results.Step{step(1, "Search", ms(400+i%4*25))}
		se.Steps[0].Action = "goto"
		switch {
		case sunday(at):
			se.Maintenance = "weekly patching"
		case at.Equal(day(4, 10, 0)):
			fail(&se.Steps[0], results.CauseHTTP, "the page answered 503 Service Unavailable", nil)
			se.Maintenance = "release 4.2"
		case in(at, day(5, 8, 0), day(5, 14, 0)) && at.Minute() == 0:
			fail(&se.Steps[0], results.CauseAssertion, "expected at least 1 result, found 0", nil)
		}
		runs = append(runs, finish(se))

		// status-page: the monitor stumbles on one run in ten, retried
		// once at once (the retry passes on one in two), and could not
		// check at all on 2 March 14:00-14:30.
		sp := newRun("status-page", "sp")
		sp.Steps = []results.Step{step(1, "Status", ms(100+i%7*5))}
		sp.Steps[0].Action = "goto"
		crash := func(r *results.Run) {
			r.Steps[0].Status, r.Steps[0].Cause, r.Steps[0].Error = results.StepError, results.CauseMonitor, "browser crashed: target closed"
		}
		if i%10 == 3 || i%10 == 7 || in(at, day(2, 14, 0), day(2, 14, 31)) {
			first := newRun("status-page", "sp")
			first.ID += "-1"
			first.Steps = []results.Step{step(1, "Status", ms(20))}
			crash(first)
			first.Retried = true
			runs = append(runs, finish(first))
			sp.Attempt = 2
			if i%10 != 7 {
				crash(sp)
			}
		}
		runs = append(runs, finish(sp))
	}
	return runs
}

// fixtureIncidents are the incidents of the fixture, each with its
// timeline, in the order they are stored (and numbered).
func fixtureIncidents() []struct {
	inc    results.Incident
	events []results.IncidentEvent
} {
	type entry = struct {
		inc    results.Incident
		events []results.IncidentEvent
	}
	at := func(d, h, m, s int) time.Time { return time.Date(2026, 3, d, h, m, s, 0, time.UTC) }
	note := func(t time.Time, ch string) results.IncidentEvent {
		return results.IncidentEvent{At: t, Kind: results.EventNotification, Channel: ch, Delivery: results.DeliveryDelivered, Detail: "opened"}
	}
	return []entry{
		// WM-1: before the period, left out.
		{results.Incident{Journey: "guest-checkout", Kind: results.IncidentSite, Severity: results.SeverityCritical,
			State: results.IncidentResolved, OpenedAt: time.Date(2026, 2, 25, 9, 0, 5, 0, time.UTC),
			ResolvedAt: time.Date(2026, 2, 25, 9, 30, 5, 0, time.UTC), Route: 0, Level: 1, Failures: 2}, nil},
		// WM-2: Pay answered 502; acknowledged by dana after 12 minutes.
		{results.Incident{Journey: "guest-checkout", Kind: results.IncidentSite, Severity: results.SeverityCritical,
			State: results.IncidentResolved, OpenedAt: at(3, 10, 30, 5), AcknowledgedAt: at(3, 10, 42, 5), AcknowledgedBy: "dana",
			ResolvedAt: at(3, 11, 30, 5), FirstRun: "gc-0303-1000", FirstFailureAt: at(3, 10, 0, 0), Failures: 3,
			Step: 3, StepName: "Pay", Cause: results.CauseHTTP, Error: `step 3 "Pay": the page answered 502 Bad Gateway`, Route: 0, Level: 1},
			[]results.IncidentEvent{{At: at(3, 10, 30, 5), Kind: results.EventOpened}, note(at(3, 10, 30, 5), "desk"),
				{At: at(3, 10, 42, 5), Kind: results.EventAcknowledged, By: "dana"}, {At: at(3, 11, 30, 5), Kind: results.EventResolved}}},
		// WM-3: the monitor could not check the status page; level 2 took it.
		{results.Incident{Journey: "status-page", Kind: results.IncidentMonitor, Severity: results.SeverityCritical,
			State: results.IncidentResolved, OpenedAt: at(2, 14, 0, 5), AcknowledgedAt: at(2, 14, 45, 5), AcknowledgedBy: "lee",
			ResolvedAt: at(2, 15, 0, 5), FirstFailureAt: at(2, 14, 0, 0), Failures: 2, Step: 1, StepName: "Status",
			Cause: results.CauseMonitor, Error: "browser crashed: target closed", Route: 1, Level: 2},
			[]results.IncidentEvent{{At: at(2, 14, 0, 5), Kind: results.EventOpened}, note(at(2, 14, 0, 5), "ops"),
				{At: at(2, 14, 15, 5), Kind: results.EventEscalated, Detail: "level 2: nobody acknowledged it"}, note(at(2, 14, 15, 5), "pager"),
				{At: at(2, 14, 45, 5), Kind: results.EventAcknowledged, By: "lee"}, note(at(2, 14, 45, 6), "ops"),
				{At: at(2, 15, 0, 5), Kind: results.EventResolved}}},
		// WM-4: a search blip, over before anyone looked.
		{results.Incident{Journey: "search", Kind: results.IncidentSite, Severity: results.SeverityCritical,
			State: results.IncidentResolved, OpenedAt: at(5, 12, 0, 5), ResolvedAt: at(5, 12, 9, 5), Failures: 2,
			Step: 1, StepName: "Search", Cause: results.CauseAssertion, Error: "expected at least 1 result, found 0", Route: 2, Level: 1},
			[]results.IncidentEvent{{At: at(5, 12, 0, 5), Kind: results.EventOpened}, note(at(5, 12, 0, 5), "ops")}},
		// WM-5: the Pay button went missing for 90 minutes, nobody answered.
		{results.Incident{Journey: "guest-checkout", Kind: results.IncidentSite, Severity: results.SeverityCritical,
			State: results.IncidentResolved, OpenedAt: at(6, 15, 0, 5), ResolvedAt: at(6, 16, 30, 5), Failures: 1,
			Step: 3, StepName: "Pay", Cause: results.CauseSelector, Error: `nothing matched "[data-test=pay]" within 10s`, Route: 0, Level: 1},
			[]results.IncidentEvent{{At: at(6, 15, 0, 5), Kind: results.EventOpened}, note(at(6, 15, 0, 5), "desk")}},
		// WM-6: still open when the report is made.
		{results.Incident{Journey: "guest-checkout", Kind: results.IncidentSite, Severity: results.SeverityCritical,
			State: results.IncidentOpen, OpenedAt: at(7, 20, 30, 5), Failures: 4, Step: 3, StepName: "Pay",
			Cause: results.CauseHTTP, Error: `step 3 "Pay": the page answered 502 Bad Gateway`, Route: 0, Level: 1},
			[]results.IncidentEvent{{At: at(7, 20, 30, 5), Kind: results.EventOpened}, note(at(7, 20, 30, 5), "desk")}},
	}
}

// fillStore stores the fixture in st: journeys (their files in dir),
// runs, the window made on the spot, incidents.
func fillStore(ctx context.Context, st *store.Store, dir string) error {
	for name, body := range journeyFiles() {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	loaded, err := journeys.Load(dir)
	if err != nil {
		return err
	}
	if err := st.SyncJourneys(ctx, []string{dir}, loaded, nil); err != nil {
		return err
	}
	runs := fixtureRuns()
	if err := st.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, r := range runs {
			if err := st.SaveRunTx(ctx, tx, nil, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := st.StartMaintenance(ctx, results.Maintenance{Reason: "release 4.2", Match: results.MaintenanceMatch{Journey: "search"},
		From: day(4, 10, 0), To: day(4, 10, 30), CreatedBy: "ci", CreatedAt: day(4, 9, 59)}); err != nil {
		return err
	}
	for _, e := range fixtureIncidents() {
		inc := e.inc
		if err := st.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := st.CreateIncidentTx(ctx, tx, &inc); err != nil {
				return err
			}
			for _, ev := range e.events {
				ev.IncidentID = inc.ID
				if err := st.AddEventTx(ctx, tx, &ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// fixtureDBs are SQLite files holding the fixture, by how far they are
// aggregated (see fixtureAggregations), made once by TestMain: tests copy
// them rather than store two thousand runs and aggregate them each, which
// takes seconds under the race detector. They are only read once
// TestMain has made them.
var fixtureDBs = map[time.Time]string{}

// fixtureAggregations are how far the fixture's copies are aggregated:
// not at all, to 5 March (half way through the week reported), past the
// week.
func fixtureAggregations() []time.Time { return []time.Time{{}, day(5, 0, 30), day(9, 0, 0)} }

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "waymark-period-test-")
	if err == nil {
		err = makeFixtures(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "make the fixture databases:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// makeFixtures stores the fixture in a SQLite file in dir, then keeps a
// copy of it at each of fixtureAggregations, aggregating it further in
// between.
func makeFixtures(dir string) error {
	ctx := context.Background()
	path := filepath.Join(dir, "fixture.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer func() { st.Close() }()
	if err := fillStore(ctx, st, dir); err != nil {
		return err
	}
	for i, at := range fixtureAggregations() {
		if !at.IsZero() {
			if _, err := st.Prune(ctx, store.Retention{}, at); err != nil {
				return err
			}
		}
		if err := st.Close(); err != nil { // checkpoints: the file alone holds the database
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		copyPath := filepath.Join(dir, fmt.Sprintf("fixture-%d.db", i))
		if err := os.WriteFile(copyPath, b, 0o644); err != nil {
			return err
		}
		fixtureDBs[at] = copyPath
		if st, err = store.Open(ctx, path); err != nil {
			return err
		}
	}
	return nil
}

// openFixture opens a copy of the fixture aggregated up to aggregate
// (zero: not at all), one of fixtureAggregations.
func openFixture(t testing.TB, aggregate time.Time) *store.Store {
	t.Helper()
	src, ok := fixtureDBs[aggregate]
	if !ok {
		t.Fatalf("no fixture aggregated to %s: add it to fixtureAggregations", aggregate)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "waymark.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return openAggregated(t, path, time.Time{})
}

// openPostgresFixture opens a new PostgreSQL database holding the
// fixture, aggregated up to aggregate; it skips without a server (see
// storetest.Postgres).
func openPostgresFixture(t testing.TB, aggregate time.Time) *store.Store {
	t.Helper()
	url := storetest.PostgresURL(t)
	st := openAggregated(t, url, time.Time{})
	if err := fillStore(t.Context(), st, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return openAggregated(t, url, aggregate)
}

// openAggregated opens the store dsn names, closed when the test ends,
// and aggregates its runs up to aggregate (zero: not).
func openAggregated(t testing.TB, dsn string, aggregate time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if !aggregate.IsZero() {
		if _, err := st.Prune(t.Context(), store.Retention{}, aggregate); err != nil {
			t.Fatal(err)
		}
	}
	return st
}
