package runner_test

// Tests of the request, upload and use actions, in real Chromium against
// real servers on 127.0.0.1.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/results"
)

// api starts a small JSON API: orders are created and deleted, /boom
// always fails and /hang answers only when the client gives up.
func api(t *testing.T) string {
	t.Helper()
	m := http.NewServeMux()
	m.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		}
		if r.Header.Get("X-Token") != "t0k" || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&in) != nil || in.SKU != "tent" || in.Qty != 2 {
			http.Error(w, "bad order", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"order":{"id":"A1","total":42.0,"paid":false,"ref":12345678901234567891,"items":[{"sku":"tent"}]}}`)
	})
	m.HandleFunc("DELETE /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("id"); id != "A1" && id != "12345678901234567891" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	m.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

// order is a request step that creates the order the API accepts.
const order = `
  - request:
      method: POST
      url: /api/orders
      headers: {X-Token: "${token}"}
      json: {sku: "${sku}", qty: 2}
      expect:
        status: [201]
        json: {%s}
      extract: {order_id: order.id, ref: order.ref}
    name: Create an order
`

func TestRequest(t *testing.T) {
	base := api(t)
	j := parse(t, `
name: api-order
vars: {sku: tent, token: t0k}
steps:`+fmt.Sprintf(order, `order.id: A1, order.total: 42, order.paid: false, order.items.0.sku: "${sku}", order.ref: "12345678901234567891"`)+`
  - request: {method: DELETE, url: "/api/orders/${order_id}", expect: {status: 204}}
  - request: {method: DELETE, url: "/api/orders/${ref}", expect: {status: 204}}
`)
	run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != results.Passed {
		t.Fatalf("outcome %s: %s", run.Outcome, run.Error)
	}
	if len(run.Steps) != 3 || run.Steps[1].Name != "request DELETE /api/orders/${order_id}" {
		t.Errorf("steps %+v", run.Steps)
	}
}

func TestRequestFailures(t *testing.T) {
	base := api(t)
	// A port that refuses connections: listen, then close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, step       string
		cause            results.Cause
		msg              string
		expected, actual string
	}{
		{"server error", `
  - request: {url: /boom}`, results.CauseHTTP, "GET " + base + "/boom answered 500 Internal Server Error", "status < 400", "500"},
		{"unexpected status", `
  - request: {method: DELETE, url: /api/orders/Z9, expect: {status: 204}}`, results.CauseHTTP, "answered 404 Not Found", "status [204]", "404"},
		{"json mismatch", fmt.Sprintf(order, `order.id: B2, order.total: 42`), results.CauseAssertion,
			`json order.id of POST ` + base + `/api/orders: expected "B2", got "A1"`, `"B2"`, `"A1"`},
		{"json number mismatch", fmt.Sprintf(order, `order.total: 41.5`), results.CauseAssertion, "expected 41.5, got 42.0", "41.5", "42.0"},
		{"json path missing", fmt.Sprintf(order, `order.items.1.sku: tent`), results.CauseAssertion, "order.items.1.sku", `"tent"`, "missing"},
		{"not json", `
  - request: {method: DELETE, url: /api/orders/A1, expect: {json: {ok: true}}}`, results.CauseAssertion, "answered 204 No Content, which is not JSON", "", ""},
		{"connection refused", `
  - request: {url: "` + closed + `/x"}`, results.CauseNetwork, "connection refused", "", ""},
		{"timeout", `
  - request: {url: /hang}
    timeout: 1s`, results.CauseTimeout, "timed out waiting for GET " + base + "/hang", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := parse(t, "name: api-failure\nvars: {sku: tent, token: t0k}\nsteps:"+tc.step+"\n  - request: {url: /boom}\n    name: after\n")
			run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
			if err != nil {
				t.Fatal(err)
			}
			if run.Outcome != results.Failed || run.FailingStep != 1 {
				t.Fatalf("outcome %s at step %d (%s), want failed at 1", run.Outcome, run.FailingStep, run.Error)
			}
			s := run.Steps[0]
			if s.Status != results.StepFailed || s.Cause != tc.cause || !strings.Contains(s.Error, tc.msg) {
				t.Errorf("step: %s (%s) %q\nwant failed (%s) saying %q", s.Status, s.Cause, s.Error, tc.cause, tc.msg)
			}
			if s.Expected != tc.expected || s.Actual != tc.actual {
				t.Errorf("expected %q actual %q, want %q and %q", s.Expected, s.Actual, tc.expected, tc.actual)
			}
			if strings.Contains(s.Error, "t0k") || strings.Contains(s.Error, `"qty"`) {
				t.Errorf("request headers or body leaked into the error: %s", s.Error)
			}
			if run.Steps[1].Status != results.StepSkipped {
				t.Errorf("step after the failure: %s", run.Steps[1].Status)
			}
		})
	}
}

// uploadPage is a form with a file input that shows the chosen file.
const uploadPage = `<!doctype html><title>upload</title>
<input type=file id=f><input id=name><p id=out>none</p>
<script>
f.addEventListener("change", async () => {
  const file = f.files[0];
  out.textContent = file.name + ": " + (await file.text()).trim();
});
</script>`

func TestUpload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, uploadPage)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, field string
		status      results.Status
		cause       results.Cause
		msg         string
	}{
		{"file input", "#f", results.StepPassed, "", ""},
		{"not a file input", "#name", results.StepFailed, results.CauseSelector, "#name is not an <input type=file>"},
		{"no element", "#nope", results.StepFailed, results.CauseSelector, "#nope: no element matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := parse(t, fmt.Sprintf(`
name: upload
steps:
  - goto: /
  - upload: {%q: testdata/upload/hello.txt}
    timeout: 1s
  - assert: {text: "#out", equals: "hello.txt: hello, waymark"}
    timeout: 2s
`, tc.field))
			run, err := newRunner(srv.URL, nil, nil, nil).Run(t.Context(), j)
			if err != nil {
				t.Fatal(err)
			}
			s := run.Steps[1]
			if s.Status != tc.status || s.Cause != tc.cause || !strings.Contains(s.Error, tc.msg) {
				t.Errorf("upload step: %s (%s) %q, want %s (%s) saying %q", s.Status, s.Cause, s.Error, tc.status, tc.cause, tc.msg)
			}
			if tc.status == results.StepPassed && run.Outcome != results.Passed {
				t.Errorf("outcome %s: %s", run.Outcome, run.Error)
			}
		})
	}
}

func TestUseSnippet(t *testing.T) {
	const snippet = "testdata/snippets/login.yaml"
	for _, tc := range []struct {
		name, password string
		want           []results.Status
	}{
		{"signs in", "lovelace", []results.Status{"passed", "passed", "passed", "passed", "passed", "passed", "passed"}},
		{"wrong password", "babbage", []results.Status{"passed", "passed", "passed", "failed", "skipped", "skipped", "skipped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, base := shop(t, "")
			// The journey's own `user` must survive the snippet's param of
			// the same name; what the snippet extracts stays for later.
			j := parse(t, `
name: use-login
vars: {user: journey@example.com, pw: `+tc.password+`}
steps:
  - use: {file: `+snippet+`, with: {user: ada@example.com, password: "${pw}"}}
  - assert: {text: "[data-test=user-name]", equals: "${signed_in_as}"}
    name: The header names the user
  - eval: "return '${user}' === 'journey@example.com'"
    name: The journey's user is back
`)
			run, err := newRunner(base, nil, nil, nil).Run(t.Context(), j)
			if err != nil {
				t.Fatal(err)
			}
			names := []string{
				snippet + " › Sign-in page", snippet + " › Enter the account", snippet + " › Sign in",
				snippet + " › Signed in", snippet + " › extract signed_in_as",
				"The header names the user", "The journey's user is back",
			}
			lines := []int{4, 6, 8, 10, 13, 6, 8} // snippet lines, then the journey's
			if len(run.Steps) != len(names) {
				t.Fatalf("%d steps, want %d: %+v", len(run.Steps), len(names), run.Steps)
			}
			for i, s := range run.Steps {
				if s.Index != i+1 || s.Name != names[i] || s.Line != lines[i] || s.Status != tc.want[i] {
					t.Errorf("step %d %q line %d: %s (%s), want step %d %q line %d: %s",
						s.Index, s.Name, s.Line, s.Status, s.Error, i+1, names[i], lines[i], tc.want[i])
				}
			}
			if tc.want[3] == results.StepFailed && (run.FailingStep != 4 || !strings.Contains(run.Error, "› Signed in")) {
				t.Errorf("run failing step %d: %s", run.FailingStep, run.Error)
			}
		})
	}
}
