package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// request is what a receiver got.
type request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP server that records every request and answers
// with answer (200 "ok" when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	answer http.HandlerFunc
}

// newReceiver starts a receiver, closed when the test ends.
func newReceiver(t *testing.T, answer http.HandlerFunc) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		if rc.answer == nil {
			io.WriteString(w, "ok")
			return
		}
		rc.answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// requests are the requests received so far.
func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

// only is the one request received; the test fails unless there is
// exactly one.
func (rc *receiver) only(t *testing.T) request {
	t.Helper()
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	return got[0]
}

// httpChannels make each HTTP channel for a URL with a short timeout, so
// the same receivers test all of them.
func httpChannels() map[string]func(url string, timeout time.Duration) (Channel, error) {
	return map[string]func(string, time.Duration) (Channel, error){
		"webhook": func(u string, d time.Duration) (Channel, error) {
			return NewWebhook(WebhookSettings{URL: u, Secret: "s3cret", Timeout: d})
		},
		"slack": func(u string, d time.Duration) (Channel, error) { return NewSlack(SlackSettings{URL: u, Timeout: d}) },
		"pagerduty": func(u string, d time.Duration) (Channel, error) {
			return NewPagerDuty(PagerDutySettings{RoutingKey: "R0UTINGKEY", URL: u, Timeout: d})
		},
		"action": func(u string, d time.Duration) (Channel, error) {
			return NewAction(ActionSettings{URL: u, Body: `{"ref": {{json .Incident.Ref}}}`, Timeout: d})
		},
	}
}

// secretPath is in every channel URL of these tests: no error may show it.
const secretPath = "/services/T000/B000/XXXXSECRETXXXX"

// TestHTTPChannelFailures runs every HTTP channel against real servers
// that fail in every way a receiver does, and checks the error says
// whether to retry, when, and what the server answered.
func TestHTTPChannelFailures(t *testing.T) {
	const timeout = 300 * time.Millisecond
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	type want struct {
		ok                   bool // delivered
		temporary            bool
		status               int
		body                 string // Body of the receipt or the error
		retryMin, retryMax   time.Duration
		errContains          string
		maxElapsed           time.Duration
		pagerDutyGarbageFail bool // pagerduty refuses what the others accept
	}
	cases := []struct {
		name   string
		answer http.HandlerFunc
		url    func(t *testing.T) string // a URL without a server, instead of answer
		want   want
	}{
		{name: "500 with a body", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream down", http.StatusInternalServerError)
		}, want: want{temporary: true, status: 500, body: "upstream down\n", errContains: "answered 500 Internal Server Error"}},
		{name: "429 with Retry-After in seconds", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, "rate_limited")
		}, want: want{temporary: true, status: 429, body: "rate_limited", retryMin: 7 * time.Second, retryMax: 7 * time.Second}},
		{name: "503 with Retry-After as a date", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", date)
			w.WriteHeader(http.StatusServiceUnavailable)
		}, want: want{temporary: true, status: 503, retryMin: 80 * time.Second, retryMax: 90 * time.Second}},
		{name: "502 ignores Retry-After", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusBadGateway)
		}, want: want{temporary: true, status: 502}},
		{name: "404 is final", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no_service", http.StatusNotFound)
		}, want: want{status: 404, body: "no_service\n", errContains: "answered 404 Not Found"}},
		{name: "408 is temporary", answer: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestTimeout)
		}, want: want{temporary: true, status: 408}},
		{name: "a redirect is final and not followed", answer: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved" {
				t.Errorf("the redirect was followed")
			}
			http.Redirect(w, r, "http://"+r.Host+"/moved", http.StatusMovedPermanently)
		}, want: want{status: 301, errContains: "a redirect to http://127.0.0.1"}},
		{name: "a garbage error answer is kept, escaped", answer: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("<html>\xff\x00oops" + strings.Repeat("x", 3000)))
		}, want: want{status: 400, body: "<html>\\xff\\x00oops" + strings.Repeat("x", MaxAnswer-len("<html>\xff\x00oops"))}},
		{name: "a 2xx with a garbage body", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>captive portal</html>")
		}, want: want{ok: true, status: 200, body: "<html>captive portal</html>", pagerDutyGarbageFail: true}},
		{name: "a hanging server is cut at the timeout", answer: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, want: want{temporary: true, errContains: "no answer within 300ms", maxElapsed: 3 * time.Second}},
		{name: "a server that hangs in the body is cut at the timeout", answer: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, want: want{temporary: true, status: 200, body: "partial", errContains: "no answer within 300ms", maxElapsed: 3 * time.Second}},
		{name: "a reset connection", answer: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}, want: want{temporary: true}},
		{name: "a refused connection", url: func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			return "http://" + addr + secretPath
		}, want: want{temporary: true, errContains: "refused"}},
	}
	for name, mk := range httpChannels() {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				var u string
				var rc *receiver
				if tc.url != nil {
					u = tc.url(t)
				} else {
					rc = newReceiver(t, tc.answer)
					u = rc.URL + secretPath
				}
				ch, err := mk(u, timeout)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				rcpt, err := ch.Deliver(context.Background(), openedEvent())
				elapsed := time.Since(start)
				w := tc.want
				if name == "pagerduty" && w.pagerDutyGarbageFail {
					w = want{temporary: true, status: 200, body: w.body, errContains: "not as the Events API does"}
				}
				if w.maxElapsed > 0 && elapsed > w.maxElapsed {
					t.Errorf("Deliver took %s, want at most %s", elapsed, w.maxElapsed)
				}
				if w.ok {
					if err != nil {
						t.Fatalf("Deliver: %v, want success", err)
					}
					if rcpt.Status != w.status || rcpt.Body != w.body {
						t.Errorf("receipt = %+v, want status %d, body %q", rcpt, w.status, w.body)
					}
					return
				}
				var de *DeliveryError
				if !errors.As(err, &de) {
					t.Fatalf("Deliver: %v (%T), want a *DeliveryError", err, err)
				}
				if de.Temporary != w.temporary {
					t.Errorf("Temporary = %v, want %v (%v)", de.Temporary, w.temporary, err)
				}
				if de.Status != w.status {
					t.Errorf("Status = %d, want %d (%v)", de.Status, w.status, err)
				}
				if de.Body != w.body {
					t.Errorf("Body = %q, want %q", de.Body, w.body)
				}
				if de.RetryAfter < w.retryMin || de.RetryAfter > w.retryMax {
					t.Errorf("RetryAfter = %s, want %s to %s", de.RetryAfter, w.retryMin, w.retryMax)
				}
				if !strings.Contains(err.Error(), w.errContains) {
					t.Errorf("error %q does not say %q", err, w.errContains)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error %q shows the channel URL's path", err)
				}
				if rc != nil && tc.url == nil && len(rc.requests()) == 0 {
					t.Errorf("the receiver got no request")
				}
			})
		}
	}
}

// TestHTTPChannelCancelled checks that a caller's cancellation (serve
// shutting down) ends an attempt at once, as a temporary failure.
func TestHTTPChannelCancelled(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	for name, mk := range httpChannels() {
		t.Run(name, func(t *testing.T) {
			ch, err := mk(rc.URL, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = ch.Deliver(ctx, openedEvent())
			var de *DeliveryError
			if !errors.As(err, &de) || !de.Temporary || !errors.Is(err, context.DeadlineExceeded) ||
				!strings.Contains(err.Error(), "stopped by the caller") {
				t.Fatalf("Deliver: %v, want a temporary *DeliveryError saying the caller stopped it", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Deliver took %s after the caller's context ended", d)
			}
		})
	}
}

// TestRefusedEvents checks that every channel refuses an event that is
// never sent (failed_again) or has no reference, as a final error,
// without calling anyone.
func TestRefusedEvents(t *testing.T) {
	rc := newReceiver(t, nil)
	channels := map[string]Channel{"terminal": NewTerminal(io.Discard)}
	for name, mk := range httpChannels() {
		ch, err := mk(rc.URL, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		channels[name] = ch
	}
	email, err := NewEmail(EmailSettings{Server: "127.0.0.1:1", From: "w@example.com", To: []string{"o@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	channels["email"] = email
	failedAgain := openedEvent()
	failedAgain.Kind = "failed_again"
	noRef := openedEvent()
	noRef.Incident.Ref = ""
	for name, ch := range channels {
		for _, e := range []Event{failedAgain, noRef} {
			_, err := ch.Deliver(context.Background(), e)
			var de *DeliveryError
			if !errors.As(err, &de) || de.Temporary {
				t.Errorf("%s: Deliver(%s, ref %q) = %v, want a final *DeliveryError", name, e.Kind, e.Incident.Ref, err)
			}
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("the receiver got %d requests for events never sent", n)
	}
}
