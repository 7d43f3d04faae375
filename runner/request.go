package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-resty/resty/v2"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// newHTTPClient returns the client of `request` steps (resty: the
// project's HTTP-out library). It has no cookie jar, so runs stay isolated
// from each other, and no retries: a step checks the site once. The step's
// context bounds each call.
func newHTTPClient() *resty.Client {
	return resty.NewWithClient(&http.Client{}).
		SetRetryCount(0).
		SetResponseBodyLimit(maxResponse)
}

// maxResponse bounds how much of a response a request step reads.
const maxResponse = 10 << 20

// request makes a `request` step's HTTP call from the runner itself, then
// checks its status and JSON and extracts values from it.
func (x *execution) request(ctx context.Context, rq *journeys.Request) error {
	u, err := x.resolve(rq.URL)
	if err != nil {
		return err
	}
	req := x.r.http.R().SetContext(ctx)
	switch {
	case rq.JSON != nil:
		b, err := json.Marshal(rq.JSON)
		if err != nil {
			return fail(results.CauseMonitor, "request json: %v", err)
		}
		req.SetBody(b).SetHeader("Content-Type", "application/json")
	case rq.Body != "":
		req.SetBody(rq.Body)
	}
	for k, v := range rq.Headers {
		req.SetHeader(k, v)
	}
	what := rq.Method + " " + u
	resp, err := req.Execute(rq.Method, u)
	if err == nil {
		return x.checkResponse(rq, what, resp.RawResponse, resp.Body())
	}
	if ctx.Err() != nil {
		return fail(results.CauseTimeout, "timed out waiting for %s", what)
	}
	// A url.Error repeats method and URL; keep only why it failed.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &stepError{cause: results.CauseNetwork, msg: fmt.Sprintf("%s: %v", what, err), err: err}
}

// checkResponse checks a request step's response status and JSON and
// extracts values from it.
func (x *execution) checkResponse(rq *journeys.Request, what string, resp *http.Response, data []byte) error {
	status := strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode))
	ok := resp.StatusCode < 400
	if len(rq.Expect.Status) > 0 {
		ok = slices.Contains(rq.Expect.Status, resp.StatusCode)
	}
	if !ok {
		e := &stepError{cause: results.CauseHTTP, msg: fmt.Sprintf("%s answered %s", what, status),
			expected: "status < 400", actual: strconv.Itoa(resp.StatusCode)}
		if len(rq.Expect.Status) > 0 {
			e.expected = fmt.Sprintf("status %v", rq.Expect.Status)
		}
		return e
	}
	if len(rq.Expect.JSON) == 0 && len(rq.Extract) == 0 {
		return nil
	}
	// Numbers stay json.Number: a large ID must not turn into 1.2e+19.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fail(results.CauseAssertion, "%s answered %s, which is not JSON: %v", what, status, err)
	}
	if err := x.checkJSON(rq.Expect.JSON, doc, what); err != nil {
		return err
	}
	// Sorted, so that the same journey always reports the same first problem.
	for _, name := range slices.Sorted(maps.Keys(rq.Extract)) {
		path := rq.Extract[name]
		v, found := jsonAt(doc, path)
		if !found {
			return fail(results.CauseAssertion, "extract %s: %s answered JSON without %s", name, what, path)
		}
		x.scope.Set(name, jsonText(v))
	}
	return nil
}

// checkJSON compares every expected path of doc, in path order, and
// reports the first that differs.
func (x *execution) checkJSON(expect map[string]any, doc any, what string) error {
	for _, path := range slices.Sorted(maps.Keys(expect)) {
		want := expect[path]
		exp, _ := json.Marshal(want)
		got, found := jsonAt(doc, path)
		if !found {
			return &stepError{cause: results.CauseAssertion, expected: string(exp), actual: "missing",
				msg: fmt.Sprintf("json %s of %s: expected %s, but it is missing", path, what, exp)}
		}
		if !jsonEqual(want, got) {
			act, _ := json.Marshal(got)
			return &stepError{cause: results.CauseAssertion, expected: string(exp), actual: string(act),
				msg: fmt.Sprintf("json %s of %s: expected %s, got %s", path, what, exp, act)}
		}
	}
	return nil
}

// jsonAt follows a path of dot-separated keys and array indexes, like
// data.items.0.id (the syntax journeys.Request documents), into doc.
func jsonAt(doc any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		switch d := doc.(type) {
		case map[string]any:
			v, ok := d[part]
			if !ok {
				return nil, false
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(d) {
				return nil, false
			}
			doc = d[i]
		default:
			return nil, false
		}
	}
	return doc, true
}

// jsonEqual compares an expected value from the journey with one decoded
// (numbers as json.Number) from a response. Numbers compare by value
// (YAML's 201 equals JSON's 201.0), and a string expectation also matches
// a number or boolean written the same way, since a template such as
// "${order_id}" always expands to a string.
func jsonEqual(want, got any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		switch got.(type) {
		case string, json.Number, bool:
			return w == jsonText(got)
		}
		return false
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !jsonEqual(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		return ok && slices.EqualFunc(w, g, jsonEqual)
	}
	n, ok := got.(json.Number)
	if !ok {
		return false
	}
	if wi, ok := want.(int); ok {
		if gi, err := n.Int64(); err == nil {
			return gi == int64(wi)
		}
	}
	wf, err1 := strconv.ParseFloat(jsonText(want), 64)
	gf, err2 := n.Float64()
	return err1 == nil && err2 == nil && wf == gf
}

// jsonText is how a JSON value reads as a variable: strings as they are,
// null as "", anything else as its JSON.
func jsonText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
