package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
)

// runNowLog records the journeys "run now" was asked for.
type runNowLog struct {
	mu    sync.Mutex
	names []string
}

func (l *runNowLog) asked() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// configWindow is the fixture dashboard's maintenance window from
// waymark.yaml: the weekly patching of the shop.
func configWindow() results.Maintenance {
	return results.Maintenance{Name: "weekly patching", Match: results.MaintenanceMatch{Tag: "shop"},
		Cron: "0 2 * * SUN", Duration: 2 * time.Hour}
}

// testDashboard is the Dashboard over a fixture, as `waymark serve` makes
// it: its Manager acts on incidents, "run now" is recorded (and knows the
// fixture's journeys only), the clock is the fixture's.
func testDashboard(fx fixture, ran *runNowLog) *Dashboard {
	return &Dashboard{
		Store:     fx.st,
		Incidents: fx.alerts,
		RunNow: func(_ context.Context, name string) error {
			if _, ok := fx.journeys[name]; !ok {
				return fmt.Errorf("run %s now: %w", name, ErrNotFound)
			}
			ran.mu.Lock()
			defer ran.mu.Unlock()
			ran.names = append(ran.names, name)
			return nil
		},
		Windows: []results.Maintenance{configWindow()},
		Journey: func(name string) (*journeys.Journey, bool) {
			j, ok := fx.journeys[name]
			return j, ok
		},
		Now: func() time.Time { return fx.now },
	}
}

// send makes one request with a body (ctype its Content-Type, none when
// empty) and reads the whole answer; redirects are not followed.
func send(t *testing.T, method, url, ctype, body string, header map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// Redirects are shown, not followed.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, url, err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// decodeAs reads a JSON answer.
func decodeAs[T any](t *testing.T, r reply) T {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON\n%s", ct, r.body)
	}
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, r.body)
	}
	return v
}

// wantError checks an error answer: the status, JSON {"error": …}
// holding every one of want.
func wantError(t *testing.T, what string, r reply, status int, want ...string) {
	t.Helper()
	if r.code != status {
		t.Errorf("%s: %d, want %d\n%s", what, r.code, status, r.body)
		return
	}
	e := decodeAs[map[string]string](t, r)
	for _, w := range want {
		if !strings.Contains(e["error"], w) {
			t.Errorf("%s: error %q does not say %q", what, e["error"], w)
		}
	}
	if len(e) != 1 {
		t.Errorf("%s: error answer %s, want only {\"error\": …}", what, r.body)
	}
}

// leaks says what of the fixture's internals an answer shows: the
// journeys' files, a channel's URL, artifact bytes, Go field names.
func leaks(body string) []string {
	var found []string
	for _, s := range []string{"testdata/journeys", fixtureDesk, `"Data"`, `"data"`, `"path"`, `"file"`, `"File"`, `"ID"`, "/9j/"} {
		if strings.Contains(body, s) {
			found = append(found, s)
		}
	}
	return found
}

const jsonType, formType = "application/json", "application/x-www-form-urlencoded"

// TestAPIJourneys lists and shows journeys and runs one now.
func TestAPIJourneys(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		ran := &runNowLog{}
		base := serve(t, Options{Dashboard: testDashboard(fx, ran)})

		r := do(t, "GET", base+"/api/v1/journeys", nil)
		if r.code != 200 {
			t.Fatalf("list: %d %s", r.code, r.body)
		}
		if l := leaks(r.body); l != nil {
			t.Errorf("the list shows %q", l)
		}
		list := decodeAs[apiList[apiJourney]](t, r).Items
		var names []string
		byName := map[string]apiJourney{}
		for _, j := range list {
			names = append(names, j.Name)
			byName[j.Name] = j
		}
		if want := []string{"guest-checkout", "hostile-page", "search-and-add", "signed-in-checkout"}; !slices.Equal(names, want) {
			t.Fatalf("journeys %q, want %q", names, want)
		}
		gc := byName["guest-checkout"]
		if gc.Title != "Guest buys two items" || gc.Owner != "web-team" || gc.Schedule != "@every 5m" ||
			!slices.Equal(gc.Tags, []string{"shop", "checkout", "demo"}) || !gc.Enabled || gc.Locations == nil ||
			gc.Page != "/journeys/guest-checkout" || gc.Definition != "" {
			t.Errorf("guest-checkout: %+v", gc)
		}
		last := fx.runs[5]
		if gc.LastRun == nil || gc.LastRun.ID != last.ID || gc.LastRun.Outcome != string(last.Outcome) ||
			!gc.LastRun.StartedAt.Equal(last.StartedAt) || gc.LastRun.DurationMS != last.Duration.Milliseconds() || gc.LastRun.Location != fixtureLocation {
			t.Errorf("guest-checkout's last run %+v, want %s %s", gc.LastRun, last.ID, last.Outcome)
		}
		if gc.Incident != nil {
			t.Errorf("guest-checkout's incident %+v, want none (resolved)", gc.Incident)
		}
		hp := byName["hostile-page"]
		if hp.Incident == nil || hp.Incident.Ref != fx.open.Ref() || hp.Incident.State != "open" || hp.Incident.Severity == "" {
			t.Errorf("hostile-page's incident %+v, want %s open", hp.Incident, fx.open.Ref())
		}
		if hp.Title != "Hostile page "+hostileScript || hp.Customer != "acme" {
			t.Errorf("hostile-page: %+v", hp)
		}
		// Times in UTC, RFC 3339.
		var raw struct {
			Items []struct {
				LastRun struct {
					StartedAt string `json:"started_at"`
				} `json:"last_run"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
			t.Fatal(err)
		}
		if s := raw.Items[0].LastRun.StartedAt; !strings.HasSuffix(s, "Z") {
			t.Errorf("started_at %q, want RFC 3339 in UTC", s)
		}

		r = do(t, "GET", base+"/api/v1/journeys/guest-checkout", nil)
		if r.code != 200 {
			t.Fatalf("show: %d %s", r.code, r.body)
		}
		def, err := os.ReadFile(filepath.Join(fixtureJourneys, "guest-checkout.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if j := decodeAs[apiJourney](t, r); j.Definition != string(def) || j.LastRun == nil || j.Name != "guest-checkout" {
			t.Errorf("show: definition %d bytes (want %d), last run %+v", len(j.Definition), len(def), j.LastRun)
		}
		wantError(t, "show an unknown journey", do(t, "GET", base+"/api/v1/journeys/nope", nil), 404, `no journey "nope"`)

		r = send(t, "POST", base+"/api/v1/journeys/guest-checkout/run", "", "", nil)
		if q := decodeAs[apiQueued](t, r); r.code != 202 || !q.Queued || q.Journey != "guest-checkout" {
			t.Errorf("run now: %d %s", r.code, r.body)
		}
		if r.header.Get("HX-Refresh") != "" {
			t.Error("run now without HX-Request asked for a refresh")
		}
		r = send(t, "POST", base+"/api/v1/journeys/search-and-add/run", "", "", map[string]string{"HX-Request": "true"})
		if r.code != 202 || r.header.Get("HX-Refresh") != "true" {
			t.Errorf("run now from htmx: %d, HX-Refresh %q", r.code, r.header.Get("HX-Refresh"))
		}
		if got := ran.asked(); !slices.Equal(got, []string{"guest-checkout", "search-and-add"}) {
			t.Errorf("run now asked for %q", got)
		}
		wantError(t, "run an unknown journey", send(t, "POST", base+"/api/v1/journeys/nope/run", "", "", nil), 404, `"nope"`)

		// Without RunNow (not served by `waymark serve`): 501.
		d := testDashboard(fx, ran)
		d.RunNow = nil
		bare := serve(t, Options{Dashboard: d})
		wantError(t, "run now without RunNow", send(t, "POST", bare+"/api/v1/journeys/guest-checkout/run", "", "", nil), 501, "not available")
	})
}

// TestAPIRuns lists runs with each filter and shows one with its steps
// and artifact links, which serve the screenshot.
func TestAPIRuns(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		base := serve(t, Options{Dashboard: testDashboard(fx, &runNowLog{})})
		ids := func(runs []*results.Run) []string {
			var out []string
			for i := len(runs) - 1; i >= 0; i-- { // newest first
				out = append(out, runs[i].ID)
			}
			return out
		}
		where := func(keep func(*results.Run) bool) []string {
			var out []*results.Run
			for _, r := range fx.runs {
				if keep(r) {
					out = append(out, r)
				}
			}
			return ids(out)
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", ids(fx.runs)},
			{"?journey=guest-checkout", where(func(r *results.Run) bool { return r.Journey == "guest-checkout" })},
			{"?outcome=failed", where(func(r *results.Run) bool { return r.Outcome == results.Failed })},
			{"?location=" + hostileLocation, where(func(r *results.Run) bool { return r.Location == hostileLocation })},
			{"?journey=guest-checkout&outcome=passed&limit=1", ids(fx.runs[5:6])},
			{"?limit=3", ids(fx.runs)[:3]},
			{"?since=1h", nil},
			{"?since=5h", ids(fx.runs)},
			{"?since=" + url.QueryEscape(fx.runs[6].StartedAt.Format(time.RFC3339)), ids(fx.runs[6:])},
			{"?journey=nope", nil},
		} {
			r := do(t, "GET", base+"/api/v1/runs"+tc.query, nil)
			if r.code != 200 {
				t.Errorf("runs%s: %d %s", tc.query, r.code, r.body)
				continue
			}
			var got []string
			for _, run := range decodeAs[apiList[apiRun]](t, r).Items {
				got = append(got, run.ID)
				if run.Steps != nil {
					t.Errorf("runs%s: the list carries steps", tc.query)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("runs%s = %q, want %q", tc.query, got, tc.want)
			}
			if l := leaks(r.body); l != nil {
				t.Errorf("runs%s shows %q", tc.query, l)
			}
		}
		for _, tc := range []struct{ query, field string }{
			{"?outcome=broken", "outcome"},
			{"?limit=0", "limit"},
			{"?limit=1001", "limit"},
			{"?limit=ten", "limit"},
			{"?since=yesterday", "since"},
			{"?since=-5m", "since"},
			{"?journy=guest-checkout", "journy"},
		} {
			wantError(t, "runs"+tc.query, do(t, "GET", base+"/api/v1/runs"+tc.query, nil), 400, tc.field+":")
		}

		// One run: its steps, the failure's screenshot linked, never inlined.
		failed := fx.failed
		r := do(t, "GET", base+"/api/v1/runs/"+failed.ID, nil)
		if r.code != 200 {
			t.Fatalf("show run: %d %s", r.code, r.body)
		}
		if l := leaks(r.body); l != nil {
			t.Errorf("the run shows %q", l)
		}
		run := decodeAs[apiRun](t, r)
		if run.ID != failed.ID || run.Journey != "guest-checkout" || run.Outcome != "failed" || run.FailingStep != failed.FailingStep ||
			run.Cause != string(failed.Cause) || run.Error != failed.Error || run.Location != fixtureLocation || run.Trigger != "schedule" ||
			run.DurationMS != failed.Duration.Milliseconds() || !run.StartedAt.Equal(failed.StartedAt) || run.BrowserVersion == "" ||
			run.Page != "/runs/"+failed.ID || len(run.Steps) != len(failed.Steps) {
			t.Errorf("run: %+v", run)
		}
		first := run.Steps[0]
		if first.Index != 1 || first.Action != "goto" || first.Timings == nil || first.HTTPStatus != 200 || first.Line == 0 || first.Status != "passed" {
			t.Errorf("step 1: %+v", first)
		}
		s := run.Steps[failed.FailingStep-1]
		wantShot := fmt.Sprintf("/runs/%s/steps/%d/screenshot", failed.ID, failed.FailingStep)
		if s.Status != "failed" || s.Cause != "http" || s.Error == "" || s.Screenshot != wantShot ||
			len(s.Artifacts) != 1 || s.Artifacts[0].Kind != "screenshot" || s.Artifacts[0].Label != "failure" || s.Artifacts[0].URL != "/artifacts/"+fx.shot {
			t.Errorf("failing step: %+v", s)
		}
		if after := run.Steps[failed.FailingStep]; after.Status != "skipped" || after.Screenshot != "" || after.Artifacts != nil {
			t.Errorf("the step after: %+v", after)
		}
		for _, link := range []string{s.Screenshot, s.Artifacts[0].URL} {
			r := do(t, "GET", base+link, nil)
			if r.code != 200 || r.header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(r.body, "\xff\xd8\xff") {
				t.Errorf("GET %s: %d %s", link, r.code, r.header.Get("Content-Type"))
			}
		}

		// The hostile run: what the page said, as it said it.
		r = do(t, "GET", base+"/api/v1/runs/"+fx.hostile.ID, nil)
		hostile := decodeAs[apiRun](t, r)
		if !strings.Contains(hostile.Error, hostileScript) || len(hostile.Steps[0].Console) != 1 || hostile.Steps[0].Console[0].Text != hostileText ||
			hostile.Steps[0].Console[0].Kind != "error" || hostile.Location != hostileLocation {
			t.Errorf("hostile run: %+v", hostile)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "<img") {
			t.Errorf("the JSON carries markup unescaped: %s", r.body)
		}

		wantError(t, "an unknown run", do(t, "GET", base+"/api/v1/runs/nope", nil), 404, `no run "nope"`)
		wantError(t, "a prefix", do(t, "GET", base+"/api/v1/runs/"+failed.ID[:8], nil), 404, "whole ID")
	})
}

// TestAPIIncidents lists incidents, shows one with its timeline and the
// delivery of each message, and acknowledges, annotates and resolves one,
// in JSON and as htmx forms.
func TestAPIIncidents(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		base := serve(t, Options{Dashboard: testDashboard(fx, &runNowLog{})})
		refs := func(query string) []string {
			t.Helper()
			r := do(t, "GET", base+"/api/v1/incidents"+query, nil)
			if r.code != 200 {
				t.Fatalf("incidents%s: %d %s", query, r.code, r.body)
			}
			if l := leaks(r.body); l != nil {
				t.Errorf("incidents%s shows %q", query, l)
			}
			var out []string
			for _, inc := range decodeAs[apiList[apiIncident]](t, r).Items {
				out = append(out, inc.Ref)
			}
			return out
		}
		open, resolved := fx.open.Ref(), fx.resolved.Ref()
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{open}},
			{"?all=1", []string{open, resolved}},
			{"?all=true&journey=guest-checkout", []string{resolved}},
			{"?journey=guest-checkout", nil},
			{"?all=1&customer=acme", []string{open}},
			{"?all=1&customer=nobody", nil},
			{"?all=1&limit=1", []string{open}},
		} {
			if got := refs(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("incidents%s = %q, want %q", tc.query, got, tc.want)
			}
		}
		wantError(t, "all=maybe", do(t, "GET", base+"/api/v1/incidents?all=maybe", nil), 400, "all:")
		wantError(t, "limit=5000", do(t, "GET", base+"/api/v1/incidents?limit=5000", nil), 400, "limit:")

		// The resolved one, with its timeline.
		r := do(t, "GET", base+"/api/v1/incidents/"+strings.ToLower(resolved), nil)
		if r.code != 200 {
			t.Fatalf("show: %d %s", r.code, r.body)
		}
		inc := decodeAs[apiIncident](t, r)
		if inc.Ref != resolved || inc.Journey != "guest-checkout" || inc.State != "resolved" || inc.Kind != "site" ||
			inc.FirstRun != fx.failed.ID || inc.LastRun != fx.runs[5].ID || inc.Failures != 2 || inc.Step != fx.failed.FailingStep ||
			inc.StepName != "Pay" || inc.Cause != "http" || inc.ResolvedAt.IsZero() || inc.OpenedAt.IsZero() || inc.Page != "/incidents/"+resolved {
			t.Errorf("incident: %+v", inc)
		}
		var kinds []string
		deliveries := map[string]bool{}
		for _, e := range inc.Timeline {
			kinds = append(kinds, e.Kind)
			if e.Kind == "notification" {
				if e.Channel != "desk" {
					t.Errorf("a message to %q, want desk", e.Channel)
				}
				deliveries[e.Delivery] = true
			}
			if e.At.IsZero() || e.At.Location() != time.UTC {
				t.Errorf("event at %v", e.At)
			}
		}
		if kinds[0] != "opened" || !slices.Contains(kinds, "resolved") || !slices.Contains(kinds, "notification") {
			t.Errorf("timeline %q", kinds)
		}
		if !deliveries["delivered"] || !deliveries["failed"] {
			t.Errorf("deliveries %v, want delivered and failed among them", deliveries)
		}
		wantError(t, "an unknown incident", do(t, "GET", base+"/api/v1/incidents/WM-999", nil), 404, "no incident WM-999")
		wantError(t, "a bad reference", do(t, "GET", base+"/api/v1/incidents/bogus", nil), 400, "ref:")

		// Acting on the open one: JSON from a script, forms from htmx.
		act := func(what, ctype, body string, hx bool) reply {
			t.Helper()
			h := map[string]string{}
			if hx {
				h["HX-Request"] = "true"
			}
			return send(t, "POST", base+"/api/v1/incidents/"+open+"/"+what, ctype, body, h)
		}
		wantError(t, "ack without by", act("ack", jsonType, `{"note": "looking"}`, false), 400, "by: required")
		wantError(t, "ack with an unknown field", act("ack", jsonType, `{"by": "ana", "reason": "x"}`, false), 400, "reason: unknown field")
		wantError(t, "ack with a number", act("ack", jsonType, `{"by": 7}`, false), 400, "by: want a string")
		wantError(t, "ack with a bad body", act("ack", jsonType, `by=ana`, false), 400, "body:")
		wantError(t, "ack as text", act("ack", "text/plain", `ana`, false), 415, "Content-Type")
		wantError(t, "ack with a newline in by", act("ack", jsonType, `{"by": "ana\nbob"}`, false), 400, "by:")
		wantError(t, "ack with a long by", act("ack", jsonType, `{"by": "`+strings.Repeat("a", 101)+`"}`, false), 400, "by: longer than 100")
		wantError(t, "ack with a huge body", act("ack", jsonType, `{"by": "`+strings.Repeat("a", 70<<10)+`"}`, false), 413, "body:")

		r = act("ack", jsonType, `{"by": "ana", "note": "looking at the payment provider"}`, false)
		if got := decodeAs[apiIncident](t, r); r.code != 200 || got.State != "acknowledged" || got.AcknowledgedBy != "ana" || !got.AcknowledgedAt.Equal(fx.now) {
			t.Errorf("ack: %d %s", r.code, r.body)
		}
		wantError(t, "ack twice", act("ack", jsonType, `{"by": "ana"}`, false), 409, "acknowledged already")
		wantError(t, "a note without text", act("note", formType, "by=bob", true), 400, "note: required")
		r = act("note", formType, url.Values{"by": {"bob"}, "note": {"provider says fixed " + hostileImg}}.Encode(), true)
		if r.code != 200 || r.header.Get("HX-Refresh") != "true" {
			t.Errorf("note from htmx: %d %s, HX-Refresh %q", r.code, r.body, r.header.Get("HX-Refresh"))
		}
		r = act("resolve", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"by\"\r\n\r\nana\r\n--xyz\r\n"+
			"Content-Disposition: form-data; name=\"reason\"\r\n\r\nfixed upstream\r\n--xyz--\r\n", true)
		if got := decodeAs[apiIncident](t, r); r.code != 200 || got.State != "resolved" || got.ResolvedBy != "ana" {
			t.Errorf("resolve: %d %s", r.code, r.body)
		}
		wantError(t, "resolve twice", act("resolve", jsonType, `{"by": "ana"}`, false), 409, "resolved already")
		wantError(t, "ack a resolved one", act("ack", jsonType, `{"by": "ana"}`, false), 409, "already")
		wantError(t, "ack an unknown one", send(t, "POST", base+"/api/v1/incidents/WM-999/ack", jsonType, `{"by": "ana"}`, nil), 404, "WM-999")

		r = do(t, "GET", base+"/api/v1/incidents/"+open, nil)
		var got []string
		for _, e := range decodeAs[apiIncident](t, r).Timeline {
			if e.By != "" {
				got = append(got, e.Kind+" by "+e.By+": "+e.Detail)
			}
		}
		want := []string{"acknowledged by ana: looking at the payment provider", "note by bob: provider says fixed " + hostileImg, "resolved by ana: fixed upstream"}
		if !slices.Equal(got, want) {
			t.Errorf("people's entries %q, want %q", got, want)
		}

		// Without Incidents (not served by `waymark serve`): 501.
		d := testDashboard(fx, &runNowLog{})
		d.Incidents = nil
		bare := serve(t, Options{Dashboard: d})
		wantError(t, "ack without Incidents", send(t, "POST", bare+"/api/v1/incidents/"+open+"/ack", jsonType, `{"by": "ana"}`, nil), 501, "not available")
	})
}

// TestAPIMaintenance lists the config's window, starts one on the spot,
// lists both, and ends it.
func TestAPIMaintenance(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		base := serve(t, Options{Dashboard: testDashboard(fx, &runNowLog{})})
		list := func() []apiWindow {
			t.Helper()
			r := do(t, "GET", base+"/api/v1/maintenance", nil)
			if r.code != 200 {
				t.Fatalf("list: %d %s", r.code, r.body)
			}
			return decodeAs[apiList[apiWindow]](t, r).Items
		}
		ws := list()
		if len(ws) != 1 {
			t.Fatalf("windows %+v, want the config's", ws)
		}
		if w := ws[0]; w.Source != "config" || w.ID != 0 || w.Name != "weekly patching" || w.Match.Tag != "shop" || w.Cron != "0 2 * * SUN" ||
			w.DurationMS != (2*time.Hour).Milliseconds() || w.NextStart.IsZero() || w.NextStart.Weekday() != time.Sunday {
			t.Errorf("config window %+v", w)
		}

		for _, tc := range []struct{ body, want string }{
			{`{"for": "30m"}`, "journey, tag or customer: want at least one"},
			{`{"tag": "shop"}`, "for: required"},
			{`{"tag": "shop", "for": "soon"}`, "for: \"soon\""},
			{`{"tag": "shop", "for": "-5m"}`, "for:"},
			{`{"tag": "shop", "for": "0s"}`, "for:"},
			{`{"tag": "shop", "for": "30m", "until": "x"}`, "until: unknown field"},
		} {
			wantError(t, "start "+tc.body, send(t, "POST", base+"/api/v1/maintenance", jsonType, tc.body, nil), 400, tc.want)
		}
		r := send(t, "POST", base+"/api/v1/maintenance", jsonType, `{"tag": "shop", "for": "30m", "reason": "release 4.2", "by": "ci"}`, nil)
		if r.code != 201 {
			t.Fatalf("start: %d %s", r.code, r.body)
		}
		w := decodeAs[apiWindow](t, r)
		if w.ID == 0 || w.Source != "store" || w.Match.Tag != "shop" || w.Reason != "release 4.2" || w.CreatedBy != "ci" ||
			!w.Active || !w.ActiveUntil.Equal(fx.now.Add(30*time.Minute)) || !w.From.Equal(fx.now) || !w.To.Equal(fx.now.Add(30*time.Minute)) {
			t.Errorf("started %+v", w)
		}
		r = send(t, "POST", base+"/api/v1/maintenance", formType, "journey=hostile-page&for=1d&name=pentest", map[string]string{"HX-Request": "true"})
		if r.code != 201 || r.header.Get("HX-Refresh") != "true" {
			t.Errorf("start from a form: %d %s", r.code, r.body)
		} else if w2 := decodeAs[apiWindow](t, r); w2.Match.Journey != "hostile-page" || w2.Name != "pentest" || !w2.To.Equal(fx.now.Add(24*time.Hour)) {
			t.Errorf("started from a form: %+v", w2)
		}
		ws = list()
		i := slices.IndexFunc(ws, func(x apiWindow) bool { return x.ID == w.ID })
		if len(ws) != 3 || ws[0].Source != "config" || i < 0 || !ws[i].Active {
			t.Errorf("windows after start: %+v", ws)
		}

		r = send(t, "POST", fmt.Sprintf("%s/api/v1/maintenance/%d/end", base, w.ID), "", "", nil)
		if ended := decodeAs[apiWindow](t, r); r.code != 200 || ended.ID != w.ID || ended.Active || !ended.EndedAt.Equal(fx.now) {
			t.Errorf("end: %d %s", r.code, r.body)
		}
		wantError(t, "end twice", send(t, "POST", fmt.Sprintf("%s/api/v1/maintenance/%d/end", base, w.ID), "", "", nil), 409, "over already")
		wantError(t, "end an unknown one", send(t, "POST", base+"/api/v1/maintenance/999/end", "", "", nil), 404, "no maintenance window 999")
		wantError(t, "end a bad id", send(t, "POST", base+"/api/v1/maintenance/abc/end", "", "", nil), 400, "id:")
		wantError(t, "list since garbage", do(t, "GET", base+"/api/v1/maintenance?since=x", nil), 400, "since:")
	})
}

// TestAPIErrors: unknown routes and methods answer in JSON, and a store
// that fails answers 500 without saying why (the log does).
func TestAPIErrors(t *testing.T) {
	st := openTestStore(t, filepath.Join(t.TempDir(), "waymark.db"))
	fx := fillStore(t, st)
	var logged bytes.Buffer
	var mu sync.Mutex
	d := testDashboard(fx, &runNowLog{})
	d.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), nil))
	base := serve(t, Options{Dashboard: d})

	wantError(t, "an unknown route", do(t, "GET", base+"/api/v1/nope", nil), 404, "no such API route: GET /api/v1/nope")
	wantError(t, "an unknown version", do(t, "GET", base+"/api/v1/journeys/a/b/c", nil), 404, "no such API route")
	r := send(t, "DELETE", base+"/api/v1/journeys", "", "", nil)
	wantError(t, "DELETE journeys", r, 405, "DELETE is not allowed")
	if allow := r.header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow %q", allow)
	}
	r = send(t, "GET", base+"/api/v1/incidents/WM-1/ack", "", "", nil)
	wantError(t, "GET ack", r, 405, "allowed: POST")

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/journeys", "/api/v1/runs", "/api/v1/incidents", "/api/v1/maintenance"} {
		r := do(t, "GET", base+path, nil)
		wantError(t, path+" on a closed store", r, 500, "internal error")
		if strings.Contains(r.body, "sql") || strings.Contains(r.body, "closed") {
			t.Errorf("%s: the answer says too much: %s", path, r.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "API request failed") || !strings.Contains(logged.String(), "closed") {
		t.Errorf("the log does not say why:\n%s", logged.String())
	}
}

// TestParseDuration reads durations as the CLI does.
func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"30m", 30 * time.Minute}, {"1h30m", 90 * time.Minute}, {"7d", 7 * 24 * time.Hour}, {"1d12h", 36 * time.Hour}, {"90s", 90 * time.Second},
	} {
		if got, err := reports.ParseSince(tc.in); err != nil || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "0", "0s", "-5m", "d", "5", "soon", "99999999999999d", "1dd", "1.5d", "d5h"} {
		if got, err := reports.ParseSince(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}
