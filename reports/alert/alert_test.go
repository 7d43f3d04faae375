package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// forEachDialect runs fn on a fresh SQLite file and, when PG* variables
// name a server (make test), on a fresh PostgreSQL database.
func forEachDialect(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, open(t, filepath.Join(t.TempDir(), "waymark.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, open(t, storetest.PostgresURL(t)))
	})
}

func open(t testing.TB, dsn string) *store.Store {
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// clock is a fake clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is a real HTTP endpoint that takes webhook payloads: it answers
// the first fail requests with 500, then 200 with a ticket id.
type receiver struct {
	mu    sync.Mutex
	fail  int
	got   []notify.Payload // accepted
	tries int
	srv   *httptest.Server
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries++
		if r.tries <= r.fail {
			http.Error(w, "down for a moment", http.StatusInternalServerError)
			return
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.got = append(r.got, p)
		fmt.Fprint(w, `{"ticket_id": "DESK-7"}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) accepted() []notify.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func webhook(t testing.TB, url string) notify.Channel {
	ch, err := notify.NewWebhook(notify.WebhookSettings{URL: url, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// fixture is a Manager on a real store with a River client: working (its
// workers deliver) or insert-only.
type fixture struct {
	st  *store.Store
	m   *Manager
	c   *clock
	j   *journeys.Journey
	seq int
}

func newFixture(t testing.TB, st *store.Store, o Options, work bool) *fixture {
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	j := &journeys.Journey{Name: "checkout", Title: "Guest checkout", Owner: "web-team", Customer: "acme", Tags: []string{"shop"}}
	o.Store, o.Now, o.RetryBase, o.ChannelPoll = st, c.now, 20*time.Millisecond, 200*time.Millisecond
	o.Journey = func(name string) (*journeys.Journey, bool) { return j, name == j.Name }
	m := New(o)
	cfg := &river.Config{TestOnly: true}
	if work {
		workers := river.NewWorkers()
		if err := m.AddWorkers(workers); err != nil {
			t.Fatal(err)
		}
		cfg.Workers, cfg.Queues, cfg.FetchPollInterval = workers, m.Queues(), 100*time.Millisecond
		cfg.PollOnly = true
	}
	client, err := river.NewClient(st.RiverDriver(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.SetClient(client)
	if work {
		if err := client.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client.Stop(ctx)
		})
	}
	return &fixture{st: st, m: m, c: c, j: j}
}

// run keeps a run of the journey with the outcome, as serve's sink does,
// and moves the clock on a minute.
func (f *fixture) run(t testing.TB, o results.Outcome, opts ...func(*results.Run)) *results.Run {
	t.Helper()
	f.seq++
	now := f.c.now()
	r := &results.Run{ID: fmt.Sprintf("%s-%02d", f.j.Name, f.seq), Journey: f.j.Name, Location: "eu-west", Trigger: results.TriggerSchedule,
		StartedAt: now, FinishedAt: now.Add(time.Second), Duration: time.Second, Outcome: o, Attempt: 1}
	if o == results.Failed {
		r.FailingStep, r.Cause, r.Error = 2, results.CauseAssertion, `expected "Thank you", got "Payment failed"`
		r.Steps = []results.Step{{Index: 1, Name: "Open", Status: results.StepPassed},
			{Index: 2, Name: "Pay", Status: results.StepFailed, Cause: results.CauseAssertion, Error: r.Error}}
	}
	for _, fn := range opts {
		fn(r)
	}
	err := f.st.Tx(t.Context(), func(tx *sqlx.Tx) error {
		if err := f.st.SaveRunTx(t.Context(), tx, f.j, r); err != nil {
			return err
		}
		_, err := f.m.ObserveTx(t.Context(), tx, f.j, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.c.add(time.Minute)
	return r
}

func (f *fixture) incidents(t *testing.T, all bool) []*results.Incident {
	t.Helper()
	list, err := f.st.Incidents(t.Context(), store.IncidentFilter{All: all})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (f *fixture) timeline(t *testing.T, id int64) []results.IncidentEvent {
	t.Helper()
	tl, err := f.st.Timeline(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// kinds reads a timeline as "kind" or "notification:channel:delivery".
func kinds(tl []results.IncidentEvent) []string {
	var out []string
	for _, e := range tl {
		s := string(e.Kind)
		switch e.Kind {
		case results.EventNotification:
			// The message's kind, then the channel's answer once delivered.
			kind, _, _ := strings.Cut(e.Detail, ":")
			s += ":" + e.Channel + ":" + kind
		case results.EventFailedAgain:
			s += fmt.Sprintf(":%d", e.Count)
		}
		out = append(out, s)
	}
	return out
}

// waitFor polls cond until it holds or 20s pass: deliveries go through
// River's real queue.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIncidentLifecycle: two failed runs open exactly one incident and one
// message; the receiver answers 500 three times then 200, and the message
// arrives once, its ticket id kept; a third failure is counted, not sent;
// a pass resolves it, and the resolution carries the ticket.
func TestIncidentLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		desk := newReceiver(t, 3)
		f := newFixture(t, st, Options{
			Routes:   []Route{{Levels: []Level{{To: []string{"desk"}}}}},
			Channels: map[string]notify.Channel{"desk": webhook(t, desk.srv.URL)},
		}, true)

		f.run(t, results.Passed)
		first := f.run(t, results.Failed)
		if got := f.incidents(t, true); len(got) != 0 {
			t.Fatalf("one failed run opened %d incidents, want none (after: 2)", len(got))
		}
		f.run(t, results.Failed)
		open := f.incidents(t, false)
		if len(open) != 1 {
			t.Fatalf("two failed runs: %d open incidents, want 1", len(open))
		}
		inc := open[0]
		if inc.Kind != results.IncidentSite || inc.Severity != results.SeverityCritical || inc.FirstRun != first.ID ||
			inc.Failures != 2 || inc.Step != 2 || inc.StepName != "Pay" || inc.Route != 0 || inc.Level != 1 {
			t.Errorf("incident %+v", inc)
		}
		waitFor(t, "the opened message", func() bool { return len(desk.accepted()) == 1 })
		waitFor(t, "its delivery on the timeline", func() bool {
			tl := f.timeline(t, inc.ID)
			return len(tl) == 2 && tl[1].Delivery == results.DeliveryDelivered
		})
		if got, err := st.Incident(t.Context(), inc.ID); err != nil || got.TicketID != "DESK-7" {
			t.Errorf("ticket kept: %+v, %v", got, err)
		}

		f.run(t, results.Failed)
		f.run(t, results.Error) // the monitor's trouble: counts for nothing here
		f.run(t, results.Passed)
		if got := f.incidents(t, false); len(got) != 0 {
			t.Fatalf("after a pass: %d open incidents, want none", len(got))
		}
		waitFor(t, "the resolved message", func() bool { return len(desk.accepted()) == 2 })
		got := desk.accepted()
		if got[0].Event != "opened" || got[1].Event != "resolved" || got[0].Incident.Reference != inc.Ref() || got[1].Incident.TicketID != "DESK-7" {
			t.Errorf("messages: %+v", got)
		}
		want := []string{"opened", "notification:desk:opened", "failed_again:1", "resolved", "notification:desk:resolved"}
		var tl []string
		waitFor(t, "the timeline, every message delivered", func() bool {
			events := f.timeline(t, inc.ID)
			tl = kinds(events)
			return slices.Equal(tl, want) && !slices.ContainsFunc(events, func(e results.IncidentEvent) bool {
				return e.Kind == results.EventNotification && e.Delivery == results.DeliveryPending
			})
		})
		if !slices.Equal(tl, want) {
			t.Errorf("timeline %v, want %v", tl, want)
		}
		for _, e := range f.timeline(t, inc.ID) {
			if e.Kind == results.EventNotification && (e.Delivery != results.DeliveryDelivered || !strings.Contains(e.Detail, "status 200")) {
				t.Errorf("message %d: %s, %q; want delivered with the answer", e.ID, e.Delivery, e.Detail)
			}
		}
		// Nothing more may come: every message is on the timeline as
		// delivered, and River holds no delivery still to work.
		waitFor(t, "every delivery job to end", func() bool {
			res, err := f.m.client.JobList(t.Context(), river.NewJobListParams().Kinds(deliverArgs{}.Kind()).
				States(rivertype.JobStateAvailable, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled))
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Jobs) == 0
		})
		if n := len(desk.accepted()); n != 2 {
			t.Errorf("receiver got %d messages, want 2", n)
		}
	})
}

// TestEscalation: an unacknowledged incident reaches level 2 after its
// delay and is reminded; an acknowledged one stays at level 1.
func TestEscalation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		for _, ack := range []bool{false, true} {
			t.Run(fmt.Sprintf("ack=%v", ack), func(t *testing.T) {
				f := newFixture(t, st, Options{
					Routes: []Route{{Levels: []Level{{To: []string{"l1"}}, {After: 15 * time.Minute, To: []string{"l2", "l1"}}},
						RemindEvery: time.Hour}},
					Channels: map[string]notify.Channel{"l1": notify.NewTerminal(io.Discard), "l2": notify.NewTerminal(io.Discard)},
				}, false)
				f.j.Name = fmt.Sprintf("checkout-%v", ack)
				f.run(t, results.Failed)
				f.run(t, results.Failed)
				inc := f.incidents(t, false)[0]
				opened := inc.OpenedAt
				if ack {
					if _, err := f.m.Acknowledge(t.Context(), inc.ID, "dana", "on it"); err != nil {
						t.Fatal(err)
					}
				}
				for _, at := range []time.Duration{14 * time.Minute, 15 * time.Minute, 16 * time.Minute, 75 * time.Minute} {
					f.c.t = opened.Add(at)
					if err := f.m.Escalate(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				got, err := st.Incident(t.Context(), inc.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"opened", "notification:l1:opened", "escalated", "notification:l2:escalated",
					"notification:l1:escalated", "reminded", "notification:l1:reminded", "notification:l2:reminded"}
				wantLevel := 2
				if ack {
					want = []string{"opened", "notification:l1:opened", "acknowledged", "notification:l1:acknowledged"}
					wantLevel = 1
				}
				if tl := kinds(f.timeline(t, inc.ID)); !slices.Equal(tl, want) || got.Level != wantLevel {
					t.Errorf("level %d, timeline %v\nwant level %d, %v", got.Level, tl, wantLevel, want)
				}
			})
		}
	})
}

// TestMonitorHealth: error runs open no site incident; three in a row
// raise a monitor incident that goes to the operators' route only, and a
// run that checks the site again ends it. A run in maintenance opens
// nothing.
func TestMonitorHealth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, Options{
			Routes: []Route{
				{Match: Match{Kind: results.IncidentMonitor}, Levels: []Level{{To: []string{"ops"}}}},
				{Levels: []Level{{To: []string{"owner"}}}},
			},
			Channels: map[string]notify.Channel{"ops": notify.NewTerminal(io.Discard), "owner": notify.NewTerminal(io.Discard)},
		}, false)
		inMaint := func(r *results.Run) { r.Maintenance = "release 4.2" }
		f.run(t, results.Failed, inMaint)
		f.run(t, results.Failed, inMaint)
		f.run(t, results.Failed, inMaint)
		if got := f.incidents(t, true); len(got) != 0 {
			t.Fatalf("runs in maintenance opened %d incidents", len(got))
		}
		f.run(t, results.Error)
		f.run(t, results.Error)
		f.run(t, results.Error)
		list := f.incidents(t, false)
		if len(list) != 1 || list[0].Kind != results.IncidentMonitor || list[0].Location != "eu-west" {
			t.Fatalf("after 3 errors: %+v, want one monitor incident in eu-west", list)
		}
		if tl := kinds(f.timeline(t, list[0].ID)); !slices.Equal(tl, []string{"opened", "notification:ops:monitor_down"}) {
			t.Errorf("monitor incident timeline %v", tl)
		}
		f.run(t, results.Passed)
		if got := f.incidents(t, false); len(got) != 0 {
			t.Errorf("after a pass: %+v open", got)
		}
		if tl := kinds(f.timeline(t, list[0].ID)); !slices.Equal(tl, []string{"opened", "notification:ops:monitor_down", "resolved", "notification:ops:monitor_up"}) {
			t.Errorf("monitor incident timeline %v", tl)
		}
	})
}

// TestRecheckAdvice: ObserveTx asks for an early run after a failed or
// slow run, and after a pass while the site's incident is still open
// (resolve_after 2), never for a run in maintenance or once all is well.
func TestRecheckAdvice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, Options{Policy: func(*journeys.Journey) Policy {
			return Policy{AlertPolicy: results.AlertPolicy{ResolveAfter: 2}}
		}}, false)
		for i, step := range []struct {
			outcome results.Outcome
			maint   bool
			want    bool
		}{
			{results.Passed, false, false},
			{results.Failed, true, false},
			{results.Failed, false, true},
			{results.Failed, false, true}, // opens the incident
			{results.Passed, false, true}, // still open: resolve_after 2
			{results.Passed, false, false},
			{results.Degraded, false, true},
			{results.Error, false, false},
		} {
			f.seq++
			now := f.c.now()
			r := &results.Run{ID: fmt.Sprintf("%s-%02d", f.j.Name, f.seq), Journey: f.j.Name, Location: "eu-west",
				StartedAt: now, FinishedAt: now, Outcome: step.outcome, Attempt: 1}
			if step.maint {
				r.Maintenance = "deploy"
			}
			var got bool
			err := st.Tx(t.Context(), func(tx *sqlx.Tx) error {
				if err := st.SaveRunTx(t.Context(), tx, f.j, r); err != nil {
					return err
				}
				var err error
				got, err = f.m.ObserveTx(t.Context(), tx, f.j, r)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != step.want {
				t.Errorf("run %d (%s, maintenance %v): recheck %v, want %v", i+1, step.outcome, step.maint, got, step.want)
			}
			f.c.add(time.Minute)
		}
	})
}

// TestRemediation: an action channel is called once, when the incident
// opens, never for its resolution; the call goes on the timeline and the
// journey is run again at once to verify it.
func TestRemediation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		var mu sync.Mutex
		var calls []string
		restart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls = append(calls, r.Header.Get(notify.HeaderEvent))
			mu.Unlock()
			fmt.Fprint(w, "restarting php-fpm")
		}))
		defer restart.Close()
		fix, err := notify.NewAction(notify.ActionSettings{URL: restart.URL})
		if err != nil {
			t.Fatal(err)
		}
		var reruns []string
		f := newFixture(t, st, Options{
			Routes:   []Route{{Levels: []Level{{To: []string{"fix", "log"}}}}},
			Channels: map[string]notify.Channel{"fix": fix, "log": notify.NewTerminal(io.Discard)},
			Rerun: func(_ context.Context, journey, location string) error {
				mu.Lock()
				reruns = append(reruns, journey+"@"+location)
				mu.Unlock()
				return nil
			},
		}, true)
		f.run(t, results.Failed)
		f.run(t, results.Failed)
		inc := f.incidents(t, false)[0]
		var tl []results.IncidentEvent
		waitFor(t, "the remediation on the timeline", func() bool {
			tl = f.timeline(t, inc.ID)
			return slices.ContainsFunc(tl, func(e results.IncidentEvent) bool { return e.Kind == results.EventRemediation })
		})
		f.run(t, results.Passed)
		waitFor(t, "the resolution's message", func() bool {
			for _, e := range f.timeline(t, inc.ID) {
				if e.Channel == "log" && strings.HasPrefix(e.Detail, "resolved") && e.Delivery == results.DeliveryDelivered {
					return true
				}
			}
			return false
		})
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(calls, []string{"opened"}) || !slices.Equal(reruns, []string{f.j.Name + "@eu-west"}) {
			t.Errorf("action called for %v, re-runs %v; want once for opened, one re-run", calls, reruns)
		}
		for _, e := range tl {
			if e.Kind == results.EventRemediation && !strings.Contains(e.Detail, "restarting php-fpm") {
				t.Errorf("remediation entry %q lacks the answer", e.Detail)
			}
		}
	})
}

// TestScreenshot finds the deciding step's screenshot of a kept run, for
// email to carry inline; a run without one gives none.
func TestScreenshot(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "waymark.db"))
	f := newFixture(t, st, Options{}, false)
	jpeg := []byte("\xff\xd8\xff\xe0 a failing page")
	with := f.run(t, results.Failed, func(r *results.Run) {
		r.Steps[1].Artifacts = []results.Artifact{{Kind: results.ArtifactDOM, Data: []byte("<html>")},
			{Kind: results.ArtifactScreenshot, Label: "failure", Data: jpeg}}
	})
	without := f.run(t, results.Failed)
	if got := f.m.screenshot(t.Context(), with.ID); string(got) != string(jpeg) {
		t.Errorf("screenshot of %s = %q, want the failing step's", with.ID, got)
	}
	if got := f.m.screenshot(t.Context(), without.ID); got != nil {
		t.Errorf("screenshot of a run without one = %q", got)
	}
	if got := f.m.screenshot(t.Context(), "no-such-run"); got != nil {
		t.Errorf("screenshot of a missing run = %q", got)
	}
}

// TestRemedyPacing: an action with after 3 and max_calls 2 is not called
// when the incident opens after 2 failed runs, is called at the 3rd and
// the 4th, and not at the 5th; one without pacing is called once, at the
// opening.
func TestRemedyPacing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		paced, err := notify.NewAction(notify.ActionSettings{URL: "http://127.0.0.1:9/restart"})
		if err != nil {
			t.Fatal(err)
		}
		once, err := notify.NewAction(notify.ActionSettings{URL: "http://127.0.0.1:9/flush"})
		if err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, st, Options{
			Routes:   []Route{{Levels: []Level{{To: []string{"restart", "flush"}}}}},
			Channels: map[string]notify.Channel{"restart": paced, "flush": once},
			Remedies: map[string]Remedy{"restart": {After: 3, MaxCalls: 2}},
		}, false)
		calls := func() (restart, flush []string) {
			for _, e := range f.timeline(t, f.incidents(t, true)[0].ID) {
				if e.Kind == results.EventNotification {
					kind, _, _ := strings.Cut(e.Detail, ":")
					switch e.Channel {
					case "restart":
						restart = append(restart, kind)
					case "flush":
						flush = append(flush, kind)
					}
				}
			}
			return restart, flush
		}
		f.run(t, results.Failed)
		f.run(t, results.Failed)
		for i, want := range [][]string{nil, {"opened"}, {"opened", "reminded"}, {"opened", "reminded"}} {
			if i > 0 {
				f.run(t, results.Failed)
			}
			restart, flush := calls()
			if !slices.Equal(restart, want) || !slices.Equal(flush, []string{"opened"}) {
				t.Errorf("after %d failed runs: restart called %v, flush %v; want %v and [opened]", 2+i, restart, flush, want)
			}
		}
	})
}

// TestLocations: with a quorum (locations: 2) one location failing opens
// nothing and two failing at once open one incident for the journey,
// which resolves when one of them passes again; per location, each
// location opens and resolves its own incident, and a route can send it
// to that location's team.
func TestLocations(t *testing.T) {
	type step struct {
		location string
		outcome  results.Outcome
		open     string // the open incidents' locations afterwards, "-" for the journey's
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		steps  []step
	}{
		{"quorum", Policy{Locations: 2}, []step{
			{"eu-west", results.Failed, ""},
			{"eu-west", results.Failed, ""}, // one probe's network is not an outage
			{"us-east", results.Failed, ""},
			{"us-east", results.Failed, "-"},
			{"eu-west", results.Failed, "-"},
			{"eu-west", results.Passed, ""},
		}},
		{"per location", Policy{PerLocation: true}, []step{
			{"eu-west", results.Failed, ""},
			{"eu-west", results.Failed, "eu-west"},
			{"us-east", results.Failed, "eu-west"},
			{"us-east", results.Failed, "eu-west us-east"},
			{"eu-west", results.Passed, "us-east"},
			{"us-east", results.Error, "us-east"},
			{"us-east", results.Passed, ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, st *store.Store) {
				f := newFixture(t, st, Options{
					Policy: func(*journeys.Journey) Policy { return tc.policy },
					Routes: []Route{
						{Match: Match{Location: "us-east"}, Levels: []Level{{To: []string{"us-team"}}}},
						{Levels: []Level{{To: []string{"desk"}}}},
					},
					Channels: map[string]notify.Channel{"us-team": notify.NewTerminal(io.Discard), "desk": notify.NewTerminal(io.Discard)},
				}, false)
				for i, s := range tc.steps {
					f.run(t, s.outcome, func(r *results.Run) { r.Location = s.location })
					var open []string
					for _, inc := range f.incidents(t, false) {
						if inc.Kind != results.IncidentSite {
							continue
						}
						where := inc.Location
						if where == "" {
							where = "-"
						}
						open = append(open, where)
					}
					slices.Sort(open)
					if got := strings.Join(open, " "); got != s.open {
						t.Fatalf("after run %d (%s %s): open incidents in %q, want %q", i+1, s.location, s.outcome, got, s.open)
					}
				}
				for _, inc := range f.incidents(t, true) {
					want := "desk"
					if inc.Location == "us-east" {
						want = "us-team"
					}
					for _, e := range f.timeline(t, inc.ID) {
						if e.Kind == results.EventNotification && e.Channel != want {
							t.Errorf("%s (%q) was sent to %s, want %s", inc.Ref(), inc.Location, e.Channel, want)
						}
					}
				}
			})
		})
	}
}
