package runner_test

// Tests of the journey-wide browser settings: headers, blocked URLs, the
// device and the screenshot policy, in real Chromium.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/waymarkhq/waymark/results"
)

func TestJourneySettings(t *testing.T) {
	var mu sync.Mutex
	var seen []string // "path header"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("X-Synthetic-Monitor"))
		mu.Unlock()
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<meta name=viewport content="width=device-width"><title>t</title><p id=w></p><p id=ua></p>
<script src="/tracker.js"></script><script src="/app.js"></script>
<script>document.getElementById("w").textContent = innerWidth;
document.getElementById("ua").textContent = navigator.userAgent;</script>`)
		default:
			fmt.Fprint(w, `window.loaded = (window.loaded || 0) + 1;`)
		}
	}))
	defer srv.Close()
	j := parse(t, `
name: settings
headers: {X-Synthetic-Monitor: waymark}
block: ["*/tracker.js"]
device: {width: 390, height: 844, mobile: true, user_agent: "WaymarkPhone/1.0"}
screenshots: every_step
steps:
  - goto: /
  - assert: {text: "#w", equals: "390"}
  - assert: {text: "#ua", equals: "WaymarkPhone/1.0"}
  - assert: {js: "window.loaded === 1"}
    screenshot: never
`)
	run, err := newRunner(srv.URL, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != results.Passed {
		t.Fatalf("outcome %s: %s", run.Outcome, run.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"/ waymark": true, "/app.js waymark": true}
	for _, s := range seen {
		if s == "/tracker.js waymark" || s == "/tracker.js " {
			t.Errorf("blocked URL was requested: %q", s)
		}
		delete(want, s)
	}
	if len(want) > 0 {
		t.Errorf("requests missing or without the header: %v (seen %v)", want, seen)
	}
	for i, s := range run.Steps {
		n := len(s.Artifacts)
		if (i < 3 && n != 1) || (i == 3 && n != 0) {
			t.Errorf("step %d has %d screenshots; every_step wants one, screenshot: never none", s.Index, n)
		}
	}
}
