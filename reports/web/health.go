package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Check is one part of the service that /healthz asks about.
type Check struct {
	// Name says what is checked, and starts the line of a failure:
	// "store", "browser".
	Name string
	// Func returns nil when the part answers. It gets a context that ends
	// after the check timeout and should return by then; one that does
	// not is reported failing all the same (see checker.run).
	Func func(ctx context.Context) error
}

// health serves /healthz.
type health struct {
	checks  []*checker
	timeout time.Duration
}

// checker runs one check with at most one call in flight. Probes arrive
// every few seconds from several sources (the orchestrator, a load
// balancer, a person with curl); while a call hangs, later probes wait
// for that same call, each at most the timeout, instead of stacking one
// more stuck goroutine per probe against a database that does not answer.
type checker struct {
	Check
	mu   sync.Mutex
	call *call // nil when no call is in flight
}

// call is one run of a check; err is set before done is closed.
type call struct {
	done chan struct{}
	err  error
}

func newHealth(checks []Check, timeout time.Duration) *health {
	h := &health{timeout: timeout}
	for _, c := range checks {
		h.checks = append(h.checks, &checker{Check: c})
	}
	return h
}

// result is the answer of one check, as /healthz reports it.
type result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// TookMS is how long the probe waited for the check, in milliseconds.
	TookMS int64 `json:"took_ms"`
}

// report is the JSON body of /healthz.
type report struct {
	Status string   `json:"status"` // "ok" or "failing"
	Checks []result `json:"checks"`
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answers := make([]result, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() {
			start := time.Now()
			err := c.run(r.Context(), h.timeout)
			answers[i] = result{Name: c.Name, OK: err == nil, TookMS: time.Since(start).Milliseconds()}
			if err != nil {
				answers[i].Error = oneLine(err.Error())
			}
		})
	}
	wg.Wait()

	rep := report{Status: "ok", Checks: answers}
	var failing []string
	for _, res := range answers {
		if !res.OK {
			rep.Status = "failing"
			failing = append(failing, res.Name+": "+res.Error)
		}
	}
	code := http.StatusOK
	if failing != nil {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	if acceptsJSON(r.Header.Values("Accept")) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(rep) // the client went away: nothing to do
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	body := "ok\n"
	if failing != nil {
		body = strings.Join(failing, "\n") + "\n"
	}
	_, _ = w.Write([]byte(body))
}

// run runs the check, or joins the call of it already in flight, and
// waits at most timeout for its answer. A check that does not return in
// time is reported as failing; it is left to finish in the background,
// and the probes after it join it rather than start another.
func (c *checker) run(ctx context.Context, timeout time.Duration) error {
	c.mu.Lock()
	cl := c.call
	if cl == nil {
		cl = &call{done: make(chan struct{})}
		c.call = cl
		// The call may outlive this request, which other probes then
		// wait on: its deadline is its own, not the request's.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		go func() {
			defer cancel()
			cl.err = c.invoke(cctx)
			c.mu.Lock()
			c.call = nil
			c.mu.Unlock()
			close(cl.done)
		}()
	}
	c.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-cl.done:
		if errors.Is(cl.err, context.DeadlineExceeded) {
			// Its deadline ended it: the same answer as the timer's below,
			// whichever of the two comes first.
			return fmt.Errorf("no answer within %s", timeout)
		}
		return cl.err
	case <-timer.C:
		return fmt.Errorf("no answer within %s", timeout)
	case <-ctx.Done():
		return fmt.Errorf("the probe went away: %w", ctx.Err())
	}
}

// invoke calls the check once; a panic in it is its failure, not the
// process's.
func (c *checker) invoke(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if c.Func == nil {
		return errors.New("no check function")
	}
	return c.Func(ctx)
}

// acceptsJSON says whether an Accept header asks for application/json by
// name (a wildcard such as */* keeps the plain-text answer, which is what
// curl and probes get).
func acceptsJSON(accept []string) bool {
	for _, v := range accept {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "application/json" {
				continue
			}
			if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
				continue // q=0: "not this"
			}
			return true
		}
	}
	return false
}

// oneLine keeps a check's error to one line of the plain-text answer.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", " ")), " ")
	if s == "" {
		return "failed"
	}
	return s
}
