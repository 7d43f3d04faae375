package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve serves New(opts) on loopback until the test ends.
func serve(t *testing.T, opts Options) string {
	t.Helper()
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

// reply is what one request got back.
type reply struct {
	code   int
	header http.Header
	body   string
}

// do sends one request and reads the whole answer.
func do(t *testing.T, method, url string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
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

func pass(context.Context) error { return nil }

func fail(msg string) func(context.Context) error {
	return func(context.Context) error { return errors.New(msg) }
}

// waitCtx is a check that answers only when its context ends, as a driver
// stuck on a locked database does.
func waitCtx(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestHealthz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		checks []Check
		code   int
		body   string
	}{
		{"no checks", nil, 200, "ok\n"},
		{"all pass", []Check{{"store", pass}, {"browser", pass}}, 200, "ok\n"},
		{"one fails", []Check{{"store", pass}, {"browser", fail("no tab: websocket closed")}}, 503,
			"browser: no tab: websocket closed\n"},
		{"both fail, in order, one line each", []Check{{"store", fail("database is locked\n(retried 3 times)")}, {"browser", fail("not started")}}, 503,
			"store: database is locked (retried 3 times)\nbrowser: not started\n"},
		{"empty error", []Check{{"store", fail("")}}, 503, "store: failed\n"},
		{"deadline", []Check{{"store", waitCtx}, {"browser", pass}}, 503,
			"store: no answer within 100ms\n"},
		{"panic", []Check{{"browser", func(context.Context) error { panic("nil pool") }}}, 503, "browser: panic: nil pool\n"},
		{"no function", []Check{{"store", nil}}, 503, "store: no check function\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, Options{Checks: tc.checks, CheckTimeout: 100 * time.Millisecond})
			r := do(t, "GET", url+"/healthz", nil)
			if r.code != tc.code || r.body != tc.body {
				t.Errorf("GET /healthz = %d %q, want %d %q", r.code, r.body, tc.code, tc.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			head := do(t, "HEAD", url+"/healthz", nil)
			if head.code != tc.code || head.body != "" {
				t.Errorf("HEAD /healthz = %d %q, want %d and no body", head.code, head.body, tc.code)
			}
		})
	}
}

func TestHealthzJSON(t *testing.T) {
	url := serve(t, Options{Checks: []Check{{"store", pass}, {"browser", fail("not started")}}})
	for _, tc := range []struct {
		accept string
		json   bool
	}{
		{"application/json", true},
		{"text/html, application/json;q=0.9", true},
		{"application/json; q=0", false},
		{"*/*", false},
		{"", false},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			r := do(t, "GET", url+"/healthz", map[string]string{"Accept": tc.accept})
			if r.code != 503 {
				t.Errorf("code = %d, want 503", r.code)
			}
			if !tc.json {
				if r.body != "browser: not started\n" {
					t.Errorf("body = %q, want the plain-text answer", r.body)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got report
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatalf("decode %q: %v", r.body, err)
			}
			if got.Status != "failing" || len(got.Checks) != 2 ||
				got.Checks[0].Name != "store" || !got.Checks[0].OK || got.Checks[0].Error != "" ||
				got.Checks[1].Name != "browser" || got.Checks[1].OK || got.Checks[1].Error != "not started" {
				t.Errorf("JSON = %s", r.body)
			}
		})
	}
	ok := serve(t, Options{Checks: []Check{{"store", pass}}})
	r := do(t, "GET", ok+"/healthz", map[string]string{"Accept": "application/json"})
	if r.code != 200 || !strings.HasPrefix(r.body, `{"status":"ok","checks":[{"name":"store","ok":true,`) {
		t.Errorf("passing JSON = %d %s", r.code, r.body)
	}
}

// TestHealthzHung checks that a check which ignores its context gives 503
// within the timeout, that probes meanwhile join the hung call instead of
// starting another, and that a check that answers again is asked again.
func TestHealthzHung(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	hung := func(context.Context) error {
		calls.Add(1)
		<-release // deaf to its context, as a stuck syscall is
		return nil
	}
	const timeout = 150 * time.Millisecond
	url := serve(t, Options{Checks: []Check{{"store", hung}, {"browser", pass}}, CheckTimeout: timeout})

	for i := range 3 {
		start := time.Now()
		r := do(t, "GET", url+"/healthz", nil)
		took := time.Since(start)
		if r.code != 503 || r.body != "store: no answer within 150ms\n" {
			t.Errorf("probe %d = %d %q, want 503 and the store's line", i, r.code, r.body)
		}
		if took < timeout || took > timeout+2*time.Second {
			t.Errorf("probe %d took %s, want about %s", i, took, timeout)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the hung check was called %d times, want once (later probes join it)", n)
	}

	close(release)
	// The hung call ends in the background; the probe after it starts a
	// new call, which now answers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := do(t, "GET", url+"/healthz", nil)
		if r.code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d %q after the check answers again", r.code, r.body)
		}
	}
	if n := calls.Load(); n < 2 {
		t.Errorf("calls = %d, want a new call once the hung one ended", n)
	}
}

func TestRoutes(t *testing.T) {
	url := serve(t, Options{})
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/healthz", 200},
		{"HEAD", "/healthz", 200},
		{"GET", "/metrics", 200},
		{"HEAD", "/metrics", 200},
		{"POST", "/healthz", 405},
		{"PUT", "/metrics", 405},
		{"DELETE", "/healthz", 405},
		{"GET", "/", 404},
		{"GET", "/nope", 404},
		{"GET", "/healthz/extra", 404},
		{"POST", "/nope", 404},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := do(t, tc.method, url+tc.path, nil)
			if r.code != tc.code {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, r.code, tc.code)
			}
			if tc.code == 405 {
				if allow := r.header.Get("Allow"); allow != "GET, HEAD" {
					t.Errorf("Allow = %q, want GET, HEAD", allow)
				}
			}
		})
	}
}
