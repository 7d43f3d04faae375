package web

// The dashboard's test fixture: a store filled by real runs of the demo
// shop in Chromium, kept in testdata/runs.json with the journey files
// they ran (testdata/journeys/). Regenerate it with
//
//	go test ./reports/web -run TestFixture -regen
//
// which runs the journeys again (Chromium needed) and rewrites both. Every
// other test loads it with fillStore, which replays the runs into a store
// as `waymark serve` keeps them: each run and its incident change in one
// transaction, through a real alert.Manager, then the hourly aggregates.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports/alert"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
	"github.com/waymarkhq/waymark/runner"
	"github.com/waymarkhq/waymark/runner/browser"
)

var regen = flag.Bool("regen", false, "TestFixture: run the demo shop's journeys in Chromium and rewrite testdata/runs.json and testdata/journeys")

const (
	// fixtureRuns and fixtureJourneys are where the fixture lives.
	fixtureRuns     = "testdata/runs.json"
	fixtureJourneys = "testdata/journeys"

	// hostileScript and hostileImg are what the hostile page puts in its
	// title, its text and its console: neither may ever act in a page or
	// a report of Waymark's.
	hostileScript = `<script>alert(1)</script>`
	hostileImg    = `"><img src=x onerror=alert(2)>`
	// hostileText is the hostile page's title and headline.
	hostileText = hostileScript + ` ` + hostileImg

	// fixtureLocation and hostileLocation are where the runs ran.
	fixtureLocation = "eu-west"
	hostileLocation = "us-east"
	// fixtureEvery is the time between two runs once replayed, as if on
	// a schedule.
	fixtureEvery = 5 * time.Minute
)

// hostileJourney is a journey with a plain name over the hostile page:
// its second step fails, quoting the page's title.
const hostileJourney = `# A journey over a page that tries to inject markup into whatever shows
# its title, text and console: the dashboard's escaping tests run on it.
name: hostile-page
title: "Hostile page ` + hostileScript + `"
site: ${env:HOSTILE_URL:-http://127.0.0.1:9}
timeout: 30s
owner: sec-team
customer: acme
tags: [hostile]
screenshots: on_failure
steps:
  - goto: /welcome
    name: Open the page
  - assert: {title: Welcome}
    name: The title says welcome
    timeout: 2s
  - assert: {text: "[data-test=headline]", equals: Welcome}
    name: The headline says welcome
`

// hostilePage is the page the hostile journey opens: the payloads in its
// title (the browser reads them as text), escaped in its headline (shown
// as text), and said on its console.
func hostilePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html>
<html><head><title>%s</title></head>
<body><h1 data-test="headline">&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(2)&gt;</h1>
<script>console.error(%s);</script>
</body></html>
`, hostileText, strings.ReplaceAll(strconv.Quote(hostileText), "</", `<\/`))
}

// fixtureFile is testdata/runs.json.
type fixtureFile struct {
	// Generated is when the runs ran; fillStore moves them to the hours
	// before the test.
	Generated time.Time
	Runs      []fixtureEntry
}

// fixtureEntry is one run of the fixture with what it ran.
type fixtureEntry struct {
	// File is its journey file, under testdata/journeys.
	File string
	// Faults are the shop's faults during the run ("" none); "hostile"
	// for the hostile page.
	Faults string
	// Run is the run as the runner handed it on, artifacts with their
	// bytes.
	Run *results.Run
}

// fixtureStep is one run the generator makes: the journey, the faults,
// and the outcome it must have (a healthy run is run again, up to three
// times, until it passes: a machine loaded by other tests degrades it).
type fixtureStep struct {
	journey, faults string
	want            results.Outcome
}

// fixturePlan is the fixture's runs in order: each example journey
// passing; two failed guest checkouts with payment=500 (an incident
// opens), one passing after (it resolves); the hostile page failing twice
// in another location (an incident opens and stays open).
func fixturePlan() []fixtureStep {
	return []fixtureStep{
		{"guest-checkout", "", results.Passed},
		{"search-and-add", "", results.Passed},
		{"signed-in-checkout", "", results.Passed},
		{"guest-checkout", "payment=500", results.Failed},
		{"guest-checkout", "payment=500", results.Failed},
		{"guest-checkout", "", results.Passed},
		{"hostile-page", "hostile", results.Failed},
		{"hostile-page", "hostile", results.Failed},
	}
}

// TestFixture checks testdata/runs.json against the plan; with -regen it
// first makes it again from real runs.
func TestFixture(t *testing.T) {
	if *regen {
		generateFixture(t)
	}
	f := readFixture(t)
	plan := fixturePlan()
	if len(f.Runs) != len(plan) {
		t.Fatalf("%s holds %d runs, want %d: regenerate it (-regen)", fixtureRuns, len(f.Runs), len(plan))
	}
	for i, p := range plan {
		fr := f.Runs[i]
		if fr.Run.Journey != p.journey || fr.Faults != p.faults || fr.Run.Outcome != p.want {
			t.Errorf("run %d: %s with faults %q, %s; want %s with %q, %s", i, fr.Run.Journey, fr.Faults, fr.Run.Outcome, p.journey, p.faults, p.want)
		}
		if fr.Run.Outcome == results.Failed {
			s := fr.Run.DecidingStep()
			if s == nil || !slices.ContainsFunc(s.Artifacts, func(a results.Artifact) bool {
				return a.Kind == results.ArtifactScreenshot && len(a.Data) > 3 && a.Data[0] == 0xFF && a.Data[1] == 0xD8
			}) {
				t.Errorf("run %d (%s): its failing step has no JPEG screenshot", i, fr.Run.Journey)
			}
		}
	}
	hostile := f.Runs[len(f.Runs)-1].Run
	if !strings.Contains(hostile.Error, hostileScript) || !strings.Contains(hostile.Error, hostileImg) {
		t.Errorf("the hostile run's error does not quote the page: %q", hostile.Error)
	}
}

// generateFixture runs the plan in Chromium against the demo shop and the
// hostile page, and writes the runs and the journeys.
func generateFixture(t *testing.T) {
	if err := os.RemoveAll(fixtureJourneys); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(fixtureJourneys, 0o755); err != nil {
		t.Fatal(err)
	}
	err := fs.WalkDir(examples.JourneysFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := fs.ReadFile(examples.JourneysFS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(fixtureJourneys, filepath.Base(path)), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fixtureJourneys, "hostile-page.yaml"), []byte(hostileJourney), 0o644); err != nil {
		t.Fatal(err)
	}
	byName := loadFixtureJourneys(t)

	shop := examples.NewShop(examples.Options{Rand: func() float64 { return 0.5 }})
	shopSrv := httptest.NewServer(shop)
	defer func() { shop.Close(); shopSrv.Close() }()
	hostileSrv := httptest.NewServer(http.HandlerFunc(hostilePage))
	defer hostileSrv.Close()

	pool := browser.New(browser.Options{})
	defer pool.Close()
	newRunner := func(base, location string) *runner.Runner {
		return runner.New(pool, runner.Options{BaseURL: base, Trigger: results.TriggerSchedule, Location: location,
			ScreenshotQuality: 30, Env: func(string) (string, bool) { return "", false }})
	}
	atShop, atHostile := newRunner(shopSrv.URL, fixtureLocation), newRunner(hostileSrv.URL, hostileLocation)

	f := fixtureFile{Generated: time.Now().UTC()}
	for i, p := range fixturePlan() {
		r := atShop
		if p.faults == "hostile" {
			r = atHostile
		} else {
			faults, err := examples.ParseFaults(p.faults)
			if err != nil {
				t.Fatal(err)
			}
			shop.SetFaults(faults)
		}
		var run *results.Run
		for try := 1; try <= 3; try++ {
			var err error
			run, err = r.Run(t.Context(), byName[p.journey])
			if err != nil {
				t.Fatalf("run %d (%s): %v", i, p.journey, err)
			}
			if run.Outcome == p.want {
				break
			}
			t.Logf("run %d (%s), try %d: %s (%s), want %s", i, p.journey, try, run.Outcome, run.Error, p.want)
		}
		if run.Outcome != p.want {
			t.Fatalf("run %d (%s): %s (%s), want %s", i, p.journey, run.Outcome, run.Error, p.want)
		}
		f.Runs = append(f.Runs, fixtureEntry{File: filepath.Base(byName[p.journey].File), Faults: p.faults, Run: run})
	}
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixtureRuns, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d runs, %d bytes", fixtureRuns, len(f.Runs), len(b))
}

// readFixture reads testdata/runs.json.
func readFixture(t testing.TB) fixtureFile {
	t.Helper()
	b, err := os.ReadFile(fixtureRuns)
	if err != nil {
		t.Fatalf("%v: make it with go test ./reports/web -run TestFixture -regen", err)
	}
	var f fixtureFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("read %s: %v", fixtureRuns, err)
	}
	return f
}

// loadFixtureJourneys loads testdata/journeys, by name.
func loadFixtureJourneys(t testing.TB) map[string]*journeys.Journey {
	t.Helper()
	js, err := journeys.Load(fixtureJourneys)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*journeys.Journey{}
	for _, j := range js {
		byName[j.Name] = j
	}
	return byName
}

// fixture is a store filled by fillStore, and what tests need to find in
// it.
type fixture struct {
	st     *store.Store
	alerts *alert.Manager // the Manager that folded the runs into incidents
	// now is the test's clock: the runs ran in the three hours before,
	// five minutes apart, and every finished hour is aggregated.
	now      time.Time
	journeys map[string]*journeys.Journey // loaded from testdata/journeys
	runs     []*results.Run               // as kept, in order; artifacts carry their hashes
	// passed is a passing guest-checkout run with a screenshot, failed
	// the first failed one (payment=500), hostile the last hostile-page
	// run.
	passed, failed, hostile *results.Run
	// resolved is guest-checkout's incident (resolved by the passing run),
	// open hostile-page's (open, unacknowledged).
	resolved, open *results.Incident
	// shot is the hash of the failed run's failure screenshot.
	shot string
}

// fixtureDesk is the webhook channel incidents are routed to; nothing
// delivers (River is insert-only), so fillStore sets some deliveries.
const fixtureDesk = "https://desk.example.com/hooks/waymark"

// fillStore replays the fixture's runs into st, as `waymark serve` keeps
// them: the journeys synced from testdata/journeys (definitions kept),
// then each run, moved to the hours before now, saved and folded into
// incidents by a real alert.Manager in one transaction (River insert-only:
// the notification jobs are inserted, none delivered); then the first
// notification is marked delivered and the last of guest-checkout's
// failed, and every finished hour aggregated (store.Prune keeping
// everything).
func fillStore(t testing.TB, st *store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	f := readFixture(t)
	fx := fixture{st: st, now: time.Now().UTC().Truncate(time.Second), journeys: loadFixtureJourneys(t)}
	var loaded []*journeys.Journey
	for _, j := range fx.journeys {
		loaded = append(loaded, j)
	}
	if err := st.SyncJourneys(ctx, []string{fixtureJourneys}, loaded, nil); err != nil {
		t.Fatal(err)
	}

	var clock struct {
		sync.Mutex
		at time.Time
	}
	now := func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.at }
	desk, err := notify.NewWebhook(notify.WebhookSettings{URL: fixtureDesk})
	if err != nil {
		t.Fatal(err)
	}
	fx.alerts = alert.New(alert.Options{
		Store:    st,
		Routes:   []alert.Route{{Levels: []alert.Level{{To: []string{"desk"}}}}},
		Channels: map[string]notify.Channel{"desk": desk},
		Journey: func(name string) (*journeys.Journey, bool) {
			j, ok := fx.journeys[name]
			return j, ok
		},
		PublicURL: "http://127.0.0.1:8080",
		Now:       now,
	})
	client, err := river.NewClient(st.RiverDriver(), &river.Config{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	fx.alerts.SetClient(client)

	base := fx.now.Truncate(time.Hour).Add(-3 * time.Hour)
	for i, fr := range f.Runs {
		run := fr.Run
		j := fx.journeys[run.Journey]
		if j == nil {
			t.Fatalf("run %d: journey %s is not in %s", i, run.Journey, fixtureJourneys)
		}
		at := base.Add(time.Duration(i) * fixtureEvery)
		shift := at.Sub(run.StartedAt)
		run.Slot, run.StartedAt, run.FinishedAt = at, at, run.FinishedAt.Add(shift)
		clock.Lock()
		clock.at = run.FinishedAt
		clock.Unlock()
		err := st.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := st.SaveRunTx(ctx, tx, j, run); err != nil {
				return err
			}
			_, err := fx.alerts.ObserveTx(ctx, tx, j, run)
			return err
		})
		if err != nil {
			t.Fatalf("keep run %d (%s): %v", i, run.Journey, err)
		}
		fx.runs = append(fx.runs, run)
	}
	clock.Lock()
	clock.at = fx.now
	clock.Unlock()
	fx.passed, fx.failed, fx.hostile = fx.runs[0], fx.runs[3], fx.runs[len(fx.runs)-1]
	for _, a := range fx.failed.DecidingStep().Artifacts {
		if a.Kind == results.ArtifactScreenshot {
			fx.shot = a.Hash
		}
	}

	incs, err := st.Incidents(ctx, store.IncidentFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range incs {
		switch inc.Journey {
		case "guest-checkout":
			fx.resolved = inc
		case "hostile-page":
			fx.open = inc
		}
	}
	if fx.resolved == nil || fx.resolved.Open() || fx.open == nil || !fx.open.Open() {
		t.Fatalf("incidents after the fixture: %+v; want guest-checkout's resolved and hostile-page's open", incs)
	}
	// Deliveries: the first message of guest-checkout delivered, its last
	// failed; hostile-page's stay pending.
	tl, err := st.Timeline(ctx, fx.resolved.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sent []results.IncidentEvent
	for _, e := range tl {
		if e.Kind == results.EventNotification {
			sent = append(sent, e)
		}
	}
	if len(sent) < 2 {
		t.Fatalf("guest-checkout's incident sent %d messages, want at least 2 (opened, resolved)", len(sent))
	}
	if err := st.SetDelivery(ctx, sent[0].ID, results.DeliveryDelivered, "opened: status 200: ticket DESK-7", fx.resolved.OpenedAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	last := sent[len(sent)-1]
	if err := st.SetDelivery(ctx, last.ID, results.DeliveryFailed, "resolved: status 500: given up after 24h", last.At.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Prune(ctx, store.Retention{}, fx.now); err != nil {
		t.Fatal(err)
	}
	return fx
}

// forDialects runs fn on a store filled by fillStore: a SQLite file and,
// when the PG* variables name a server (make test), a fresh PostgreSQL
// database.
func forDialects(t *testing.T, fn func(t *testing.T, fx fixture)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, fillStore(t, openTestStore(t, filepath.Join(t.TempDir(), "waymark.db"))))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, fillStore(t, openTestStore(t, storetest.PostgresURL(t))))
	})
}

// openTestStore opens a store for the test and closes it when it ends.
func openTestStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestFillStore checks what fillStore gives every test, on both dialects:
// the runs, their screenshots as blobs, the journeys with their
// definitions, two incidents, and hourly aggregates.
func TestFillStore(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		runs, err := fx.st.Runs(ctx, store.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != len(fixturePlan()) || len(fx.runs) != len(runs) {
			t.Errorf("%d runs stored, %d kept; want %d", len(runs), len(fx.runs), len(fixturePlan()))
		}
		for _, r := range runs {
			if r.StartedAt.After(fx.now.Add(-time.Hour)) || r.StartedAt.Before(fx.now.Add(-4*time.Hour)) {
				t.Errorf("run %s started at %s, want in the hours before %s", r.ID, r.StartedAt, fx.now)
			}
		}
		if b, err := fx.st.Blob(ctx, fx.shot); err != nil || len(b) < 1000 {
			t.Errorf("the failure's screenshot: %d bytes, %v", len(b), err)
		}
		recs, err := fx.st.Journeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range recs {
			if j.Definition == "" || !j.Enabled {
				t.Errorf("journey %s: enabled %v, %d bytes of definition", j.Name, j.Enabled, len(j.Definition))
			}
		}
		if fx.resolved.Failures != 2 || fx.open.Location != "" || fx.open.Failures != 2 {
			t.Errorf("incidents: %+v, %+v", fx.resolved, fx.open)
		}
		until, err := fx.st.AggregatedUntil(ctx)
		if err != nil || until.Before(fx.runs[len(fx.runs)-1].FinishedAt) {
			t.Errorf("aggregated until %s (%v), want past the last run", until, err)
		}
		hours, err := fx.st.JourneyHours(ctx, store.HourFilter{Journey: "guest-checkout"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range hours {
			n += h.Runs
		}
		if n != 4 {
			t.Errorf("guest-checkout's hours count %d runs, want 4: %+v", n, hours)
		}
	})
}
