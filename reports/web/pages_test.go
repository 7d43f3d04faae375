package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/net/html"

	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results/store"
)

// pageServer serves the dashboard of the fixture's store.
func pageServer(t *testing.T, fx fixture) *httptest.Server {
	t.Helper()
	d := testDashboard(fx, &runNowLog{})
	d.Status = func(ctx context.Context) (reports.StatusView, error) {
		return reports.StatusView{Now: fx.now, Database: "test.db", MissWindow: "24h",
			Agents: []reports.StatusAgent{{ID: "agent-1", Location: fixtureLocation, Host: "probe-1", LastSeen: fx.now}}}, nil
	}
	srv := httptest.NewServer(New(Options{Dashboard: d}))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches path and returns its status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	r := send(t, http.MethodGet, srv.URL+path, "", "", nil)
	return r.code, r.body
}

// TestPages renders every page from a store filled by real runs of the
// demo shop: each says what it must, on SQLite and PostgreSQL, and what
// is not there is a 404.
func TestPages(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		srv := pageServer(t, fx)
		failing := fx.failed.DecidingStep()
		for _, tc := range []struct {
			path string
			want []string
		}{
			{"/", []string{"guest-checkout", "search-and-add", "hostile-page", "failing", "passing", fx.open.Ref(), `class="spark"`}},
			{"/?customer=nobody", []string{"No journeys match the filter"}},
			{"/journeys/guest-checkout", []string{"Run now", "Availability, last 30 days", fx.resolved.Ref(), "payment answered 500", `id="chart-steps"`, "steps:"}},
			{"/journeys/guest-checkout?outcome=failed", []string{fx.failed.ID}},
			{"/runs/" + fx.failed.ID, []string{`class="waterfall"`, failing.Name, "500", "/artifacts/" + fx.shot, `<mark>`}},
			{"/incidents", []string{"Open", "Resolved", fx.open.Ref(), fx.resolved.Ref()}},
			{"/incidents/" + fx.open.Ref(), []string{"Acknowledge", "Timeline", "opened", "/api/v1/incidents/" + fx.open.Ref() + "/ack"}},
			{"/incidents/" + fx.resolved.Ref(), []string{"resolved", "delivered"}},
			{"/status", []string{"agent-1", "probe-1"}},
		} {
			code, body := get(t, srv, tc.path)
			if code != http.StatusOK {
				t.Errorf("GET %s: %d", tc.path, code)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tc.path, w)
				}
			}
		}
		for _, path := range []string{"/runs/no-such-run", "/incidents/WM-999", "/incidents/nonsense", "/journeys/nobody",
			"/runs/" + fx.failed.ID + "/steps/99/screenshot", "/nowhere"} {
			if code, _ := get(t, srv, path); code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, code)
			}
		}
		code, body := get(t, srv, fmt.Sprintf("/runs/%s/steps/%d/screenshot", fx.failed.ID, failing.Index))
		if code != http.StatusOK || http.DetectContentType([]byte(body)) != "image/jpeg" {
			t.Errorf("the failing step's screenshot: %d %s", code, http.DetectContentType([]byte(body)))
		}
	})
}

// TestPagesEscape: the hostile page's title and texts, which its runs
// carry into errors and console, show as text on every page, and the page
// holds no script or handler of theirs.
func TestPagesEscape(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		srv := pageServer(t, fx)
		for _, path := range []string{"/", "/journeys/hostile-page", "/runs/" + fx.hostile.ID, "/incidents", "/incidents/" + fx.open.Ref()} {
			code, body := get(t, srv, path)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, code)
			}
			if strings.Contains(body, hostileScript) || strings.Contains(body, "<img src=x") {
				t.Errorf("GET %s holds the hostile markup unescaped", path)
			}
			if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("GET %s does not show the hostile text as text", path)
			}
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for n := range doc.Descendants() {
				if n.Type != html.ElementNode {
					continue
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("GET %s: <%s %s=%q>", path, n.Data, a.Key, a.Val)
					}
				}
				if n.Data == "script" && !strings.Contains(fmt.Sprint(n.Attr), "/static/") && !strings.Contains(fmt.Sprint(n.Attr), "application/json") {
					t.Errorf("GET %s: a script of no file of ours: %v", path, n.Attr)
				}
			}
		}
	})
}

// TestEvents: an open page's stream says "change" once a run is kept.
func TestEvents(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		srv := pageServer(t, fx)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type %q", ct)
		}
		lines := bufio.NewScanner(resp.Body)
		if !lines.Scan() || !strings.HasPrefix(lines.Text(), "retry:") {
			t.Fatalf("the stream starts with %q", lines.Text())
		}
		run := *fx.passed
		run.ID, run.StartedAt = "kept-after-the-page-opened", time.Now()
		run.Steps = nil
		if err := fx.st.SaveRun(t.Context(), fx.journeys[run.Journey], &run); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			for lines.Scan() {
				if strings.HasPrefix(lines.Text(), "event: ") {
					got <- lines.Text()
					return
				}
			}
		}()
		select {
		case e := <-got:
			if e != "event: change" {
				t.Errorf("event %q, want change", e)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no change event after a run was kept")
		}
	})
}

// TestPagesForecast: a step forecast to cross its warn threshold shows on
// the overview and on its journey's page; one that does not, nowhere.
func TestPagesForecast(t *testing.T) {
	forDialects(t, func(t *testing.T, fx fixture) {
		err := fx.st.Tx(t.Context(), func(tx *sqlx.Tx) error {
			_, err := fx.st.SetForecastsTx(t.Context(), tx, "guest-checkout", []store.StepForecast{
				{Journey: "guest-checkout", Index: 14, Name: "Pay", ComputedAt: fx.now, P95: 1900 * time.Millisecond,
					Slope: 60 * time.Millisecond, Warn: 2 * time.Second, CrossesAt: fx.now.Add(2*24*time.Hour + time.Hour)},
				{Journey: "guest-checkout", Index: 1, Name: "Home page", ComputedAt: fx.now, P95: 300 * time.Millisecond,
					Slope: time.Millisecond, Warn: time.Second},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := pageServer(t, fx)
		for path, want := range map[string]string{
			"/":                        "⚠ Pay crosses 2.0s in 2 days",
			"/journeys/guest-checkout": "Pay: p95 1.9s, +60ms a day; crosses its 2.0s warn threshold in about 2 days",
		} {
			code, body := get(t, srv, path)
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d, lacks %q", path, code, want)
			}
			if strings.Contains(body, "Home page crosses") || strings.Contains(body, "Home page: p95") {
				t.Errorf("GET %s warns of a step that crosses nothing", path)
			}
		}
	})
}
