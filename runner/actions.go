package runner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

func sleepCtx(ctx context.Context, ms int) error {
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do runs the step's action.
func (x *execution) do(ctx context.Context, st *journeys.Step, res *results.Step) error {
	switch st.Action {
	case journeys.ActGoto:
		return x.gotoURL(ctx, st, res)
	case journeys.ActClick:
		return x.settled(ctx, st.Locator.Raw, func() error { return x.click(ctx, st.Locator, 1) })
	case journeys.ActDblclick:
		return x.settled(ctx, st.Locator.Raw, func() error { return x.click(ctx, st.Locator, 2) })
	case journeys.ActHover:
		f, err := x.await(ctx, st.Locator, "actionable", lookup{})
		if err != nil {
			return err
		}
		return chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, f.X, f.Y))
	case journeys.ActFill:
		for _, fl := range st.Fields {
			if err := x.fill(ctx, fl); err != nil {
				return err
			}
		}
		return nil
	case journeys.ActSelect:
		for _, fl := range st.Fields {
			if _, err := x.await(ctx, fl.Locator, "actionable", lookup{Op: "select", Value: fl.Value}); err != nil {
				return err
			}
		}
		return nil
	case journeys.ActCheck, journeys.ActUncheck:
		return x.check(ctx, st.Locator, st.Action == journeys.ActCheck)
	case journeys.ActPress:
		return x.settled(ctx, st.Target, func() error { return x.press(ctx, st.Target) })
	case journeys.ActScrollTo:
		_, err := x.await(ctx, st.Locator, "present", lookup{Op: "scroll"})
		return err
	case journeys.ActWait:
		return sleepCtx(ctx, int(st.Wait.Milliseconds()))
	case journeys.ActWaitFor:
		return x.waitFor(ctx, st.WaitFor)
	case journeys.ActAssert:
		return x.assert(ctx, st.Assert)
	case journeys.ActExtract:
		for _, e := range st.Extract {
			v, err := x.read(ctx, e.Kind, e.Locator, e.Attribute, e.JS)
			if err != nil {
				return err
			}
			x.scope.Set(e.Name, v)
		}
		return nil
	case journeys.ActEval:
		return x.eval(ctx, st.Target)
	case journeys.ActScreenshot:
		data, err := x.page.screenshot(ctx)
		if err != nil {
			return err
		}
		res.Artifacts = append(res.Artifacts, results.Artifact{Kind: results.ArtifactScreenshot, Label: st.Target, Data: data})
		return nil
	case journeys.ActSetCookie:
		return x.setCookie(ctx, st.Cookie)
	case journeys.ActRequest:
		return x.request(ctx, st.Request)
	case journeys.ActUpload:
		return x.upload(ctx, st.Fields)
	}
	return fail(results.CauseMonitor, "the %s action is not supported by this runner", st.Action)
}

// settled runs an action that may start a page load (a link, a form
// submit) and waits for that load, failing the step when it answers an
// error or never finishes.
func (x *execution) settled(ctx context.Context, what string, act func() error) error {
	loads, docs := x.page.loadMark()
	if err := act(); err != nil {
		return err
	}
	failed, err := x.page.settle(ctx, loads, docs)
	if err != nil {
		_, u := x.page.navigating()
		return fail(results.CauseTimeout, "timed out waiting for %s to load after %s", u, what)
	}
	if failed != "" {
		return fail(results.CauseHTTP, "%s loaded a page that answered an error: %s", what, failed)
	}
	return nil
}

// resolve makes a goto target absolute against the site.
func (x *execution) resolve(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fail(results.CauseMonitor, "bad URL %q: %v", target, err)
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	if x.site == nil {
		return "", fail(results.CauseMonitor, "relative URL %q but the journey has no site (set site: or --base-url)", target)
	}
	return x.site.ResolveReference(u).String(), nil
}

func (x *execution) gotoURL(ctx context.Context, st *journeys.Step, res *results.Step) error {
	u, err := x.resolve(st.Target)
	if err != nil {
		return err
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		var le *chromedp.LoadError
		switch {
		case errors.As(err, &le):
			return &stepError{cause: results.CauseNetwork, msg: fmt.Sprintf("could not load %s: %s", u, le.ErrorText), err: err}
		case ctx.Err() != nil:
			return &stepError{cause: results.CauseTimeout, msg: fmt.Sprintf("timed out waiting for %s to load (%s)", u, st.Timeout), err: err}
		}
		return err
	}
	if resp == nil {
		return fail(results.CauseNetwork, "no response for %s", u)
	}
	res.HTTPStatus = int(resp.Status)
	res.Timings = x.page.timings(ctx)
	ok := resp.Status < 400
	if st.Expect != nil && len(st.Expect.Status) > 0 {
		ok = false
		for _, s := range st.Expect.Status {
			ok = ok || int64(s) == resp.Status
		}
	}
	if !ok {
		e := &stepError{cause: results.CauseHTTP, msg: fmt.Sprintf("GET %s answered %d %s", u, resp.Status, strings.TrimSpace(resp.StatusText)),
			actual: strconv.Itoa(int(resp.Status))}
		e.expected = "status < 400"
		if st.Expect != nil && len(st.Expect.Status) > 0 {
			e.expected = fmt.Sprintf("status %v", st.Expect.Status)
		}
		return e
	}
	return nil
}

// await waits until loc is in state, then runs req's op in the page. It
// turns "never got there" into a selector or timeout failure that says
// what was found instead.
func (x *execution) await(ctx context.Context, loc journeys.Locator, state string, req lookup) (*found, error) {
	req.Loc = jsLocator{Kind: string(loc.Kind), Value: loc.Value}
	req.State = state
	shown := loc.Raw
	f, err := x.page.helper(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, x.timeoutErr(shown, state, nil)
		}
		return nil, err
	}
	if f.Invalid != "" {
		return nil, fail(results.CauseSelector, "invalid locator %s: %s", shown, f.Invalid)
	}
	if f.Refused != "" {
		// The element was usable, but the operation on it failed.
		return nil, fail(results.CauseSelector, "%s: %s", shown, f.Refused)
	}
	if !f.OK {
		return nil, x.timeoutErr(shown, state, f)
	}
	return f, nil
}

// timeoutErr explains a wait that ran out of time.
func (x *execution) timeoutErr(shown, state string, f *found) error {
	if loading, u := x.page.navigating(); loading && u != "" {
		return fail(results.CauseTimeout, "timed out waiting for %s to load (while looking for %s)", u, shown)
	}
	if f == nil || f.Count == 0 {
		if state == "gone" || state == "hidden" {
			return fail(results.CauseTimeout, "timed out waiting for %s to be %s", shown, state)
		}
		return &stepError{cause: results.CauseSelector, noMatch: true, msg: fmt.Sprintf("timed out waiting for %s: no element matches", shown)}
	}
	switch state {
	case "gone":
		return fail(results.CauseTimeout, "timed out waiting for %s to be gone: %d element(s) still match", shown, f.Count)
	case "hidden":
		return fail(results.CauseTimeout, "timed out waiting for %s to be hidden: %s is still visible", shown, f.El)
	}
	why := f.Why
	if why == "" || why == "missing" {
		why = "hidden"
	}
	return fail(results.CauseTimeout, "timed out waiting for %s to be %s: %d element(s) match, %s is %s", shown, want(state), f.Count, f.El, why)
}

func want(state string) string {
	switch state {
	case "actionable":
		return "visible, enabled and unobscured"
	case "editable":
		return "visible, enabled and editable"
	}
	return state
}

func (x *execution) click(ctx context.Context, loc journeys.Locator, count int) error {
	f, err := x.await(ctx, loc, "actionable", lookup{})
	if err != nil {
		return err
	}
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return mouseClick(ctx, t, f.X, f.Y, count)
	}))
}

// mouseClick sends real (trusted) mouse events, as a person's click.
func mouseClick(ctx context.Context, t *chromedp.Target, x, y float64, count int) error {
	send := func(typ input.DispatchMouseEventType, n int64) error {
		_, err := cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{
			Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: n,
		})
		return err
	}
	if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: chromedp.MouseMoved, X: x, Y: y}); err != nil {
		return err
	}
	for n := int64(1); n <= int64(count); n++ {
		if err := send(chromedp.MousePressed, n); err != nil {
			return err
		}
		if err := send(chromedp.MouseReleased, n); err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) fill(ctx context.Context, fl journeys.Field) error {
	v := fl.Value
	if _, err := x.await(ctx, fl.Locator, "editable", lookup{Op: "focus", Clear: true, Empty: v == ""}); err != nil {
		return err
	}
	if v == "" {
		return nil
	}
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: v})
		return err
	}))
}

// check sets a checkbox, radio or ARIA toggle to on, as a person would:
// one already in that state is left alone, hidden or not; a hidden one
// (a styled control) is clicked through its visible label; and the step
// waits for the state to change after the click.
func (x *execution) check(ctx context.Context, loc journeys.Locator, on bool) error {
	f, err := x.await(ctx, loc, "toggle", lookup{Want: on})
	if err != nil {
		return err
	}
	if f.Already {
		return nil
	}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return mouseClick(ctx, t, f.X, f.Y, 1)
	})); err != nil {
		return err
	}
	if _, err := x.await(ctx, loc, "checked", lookup{Want: on}); err != nil {
		var se *stepError
		if errors.As(err, &se) {
			what := map[bool]string{true: "checked", false: "unchecked"}[on]
			via := ""
			if f.Via != "" {
				via = " on its label " + f.Via
			}
			return &stepError{cause: results.CauseAssertion, expected: what, actual: "not " + what,
				msg: fmt.Sprintf("%s did not become %s after a click%s", loc.Raw, what, via)}
		}
		return err
	}
	return nil
}

// keyRune maps a key name of `press` (a character, Space, or a DOM key
// name such as Enter or ArrowUp) to chromedp's key rune.
func keyRune(name string) (rune, bool) {
	if name == "Space" {
		return ' ', true
	}
	if r := []rune(name); len(r) == 1 {
		return r[0], true
	}
	for r, k := range kb.Keys {
		if k.Key == name {
			return r, true
		}
	}
	return 0, false
}

func (x *execution) press(ctx context.Context, chord string) error {
	parts := strings.Split(chord, "+")
	var mods []chromedp.Modifier
	for _, m := range parts[:len(parts)-1] {
		switch m {
		case "Control", "Ctrl":
			mods = append(mods, chromedp.ModifierCtrl)
		case "Shift":
			mods = append(mods, chromedp.ModifierShift)
		case "Alt":
			mods = append(mods, chromedp.ModifierAlt)
		case "Meta":
			mods = append(mods, chromedp.ModifierMeta)
		default:
			return fail(results.CauseMonitor, "unknown modifier %q in %q", m, chord)
		}
	}
	key := parts[len(parts)-1]
	r, ok := keyRune(key)
	if !ok {
		return fail(results.CauseMonitor, "unknown key %q", key)
	}
	if len(mods) > 0 && r >= 'A' && r <= 'Z' {
		r += 'a' - 'A'
	}
	return chromedp.Do(ctx, chromedp.KeyEvent(string(r), chromedp.KeyModifiers(mods...)))
}

func (x *execution) waitFor(ctx context.Context, w *journeys.WaitFor) error {
	switch w.Kind {
	case "visible", "hidden", "present", "gone":
		_, err := x.await(ctx, w.Locator, w.Kind, lookup{})
		return err
	case "url":
		return x.pollMatch(ctx, x.reader("url", w.Locator, "", ""), w.Match, "url")
	case "text":
		return x.pollMatch(ctx, x.reader("text", w.Locator, "", ""), w.Match, "text of "+w.Locator.Raw)
	}
	return fail(results.CauseMonitor, "unknown wait_for %q", w.Kind)
}

// pollMatch polls read until it satisfies the matcher m.
func (x *execution) pollMatch(ctx context.Context, read func(context.Context) (string, error), m journeys.Matcher, subject string) error {
	exp, match, err := x.matcher(m)
	if err != nil {
		return err
	}
	return x.poll(ctx, read, subject, exp, match)
}

// reader binds x.read to one subject.
func (x *execution) reader(kind string, loc journeys.Locator, attr, js string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return x.read(ctx, kind, loc, attr, js) }
}

// poll reads a value until match accepts it or ctx ends. Web pages change
// asynchronously (a badge updates after a fetch), so assertions wait for
// the expected state within the step timeout, as a person would. exp
// describes what match wants, for the failure message.
func (x *execution) poll(ctx context.Context, read func(context.Context) (string, error), subject, exp string, match func(string) bool) error {
	var last string
	for {
		v, err := read(ctx)
		if err != nil {
			var se *stepError
			if errors.As(err, &se) && ctx.Err() == nil {
				return err
			}
			if ctx.Err() != nil && last == "" {
				return err
			}
		} else {
			last = v
			if match(v) {
				return nil
			}
		}
		if err := sleepCtx(ctx, 25); err != nil {
			return &stepError{cause: results.CauseAssertion, expected: exp, actual: strconv.Quote(last),
				msg: fmt.Sprintf("%s: expected %s, got %q", subject, exp, last)}
		}
	}
}

// matcher compiles a matcher into a description and a test. Its values
// are resolved already.
func (x *execution) matcher(m journeys.Matcher) (string, func(string) bool, error) {
	switch {
	case m.Equals != nil:
		v := *m.Equals
		return strconv.Quote(v), func(s string) bool { return strings.TrimSpace(s) == strings.TrimSpace(v) }, nil
	case m.Contains != nil:
		v := *m.Contains
		return "to contain " + strconv.Quote(v), func(s string) bool { return strings.Contains(s, v) }, nil
	case m.Matches != nil:
		re, err := regexp.Compile(*m.Matches)
		if err != nil {
			return "", nil, fail(results.CauseMonitor, "bad regexp %q: %v", *m.Matches, err)
		}
		return "to match /" + *m.Matches + "/", re.MatchString, nil
	}
	return "anything", func(string) bool { return true }, nil
}

// read returns a value from the page for assert, extract and wait_for.
func (x *execution) read(ctx context.Context, kind string, loc journeys.Locator, attr, js string) (string, error) {
	switch kind {
	case "url":
		return x.page.url(), nil
	case "title":
		return chromedp.Run(ctx, chromedp.Title())
	case "js":
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js, chromedp.EvalAwaitPromise))
		if err != nil {
			var exc *chromedp.ExceptionError
			if errors.As(err, &exc) {
				return "", &stepError{cause: results.CauseScript, msg: fmt.Sprintf("JavaScript threw: %v", err), err: err}
			}
			return "", err
		}
		if v == nil {
			return "", nil
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
		return fmt.Sprint(v), nil
	}
	f, err := x.await(ctx, loc, "present", lookup{Op: "read", What: kind, Name: attr})
	if err != nil {
		return "", err
	}
	if f.Value == nil {
		return "", nil
	}
	return *f.Value, nil
}

// assert checks one assertion; classify puts a failure's expected and
// actual values on the step.
func (x *execution) assert(ctx context.Context, a *journeys.Assertion) error {
	switch a.Kind {
	case "visible", "hidden":
		_, err := x.await(ctx, a.Locator, a.Kind, lookup{})
		var se *stepError
		if errors.As(err, &se) && (se.cause == results.CauseTimeout || se.cause == results.CauseSelector) {
			se.cause = results.CauseAssertion
			se.expected, se.actual = a.Kind, map[string]string{"visible": "not visible", "hidden": "visible"}[a.Kind]
			if se.noMatch {
				se.cause = results.CauseSelector
				se.actual = "no element"
			}
		}
		return err
	case "count":
		return x.assertCount(ctx, a)
	case "text", "value":
		return x.pollMatch(ctx, x.reader(a.Kind, a.Locator, "", ""), a.Match, a.Kind+" of "+a.Locator.Raw)
	case "attribute":
		return x.pollMatch(ctx, x.reader(a.Kind, a.Locator, a.Attribute, ""), a.Match, "attribute "+a.Attribute+" of "+a.Locator.Raw)
	case "url", "title":
		return x.pollMatch(ctx, x.reader(a.Kind, a.Locator, "", ""), a.Match, a.Kind)
	case "js":
		truthy := func(v string) bool { return v != "" && v != "false" && v != "0" }
		return x.poll(ctx, x.reader("js", journeys.Locator{}, "", a.JS), "js "+a.JS, "a truthy value", truthy)
	}
	return fail(results.CauseMonitor, "unknown assertion %q", a.Kind)
}

func (x *execution) assertCount(ctx context.Context, a *journeys.Assertion) error {
	c := a.Count
	ok := func(n int) bool {
		return (c.Equals == nil || n == *c.Equals) && (c.Min == nil || n >= *c.Min) && (c.Max == nil || n <= *c.Max)
	}
	var parts []string
	if c.Equals != nil {
		parts = append(parts, fmt.Sprintf("exactly %d", *c.Equals))
	}
	if c.Min != nil {
		parts = append(parts, fmt.Sprintf("at least %d", *c.Min))
	}
	if c.Max != nil {
		parts = append(parts, fmt.Sprintf("at most %d", *c.Max))
	}
	exp := strings.Join(parts, " and ")
	last := -1
	for {
		f, err := x.await(ctx, a.Locator, "count", lookup{})
		if err == nil {
			last = f.Count
			if ok(f.Count) {
				return nil
			}
		}
		if err := sleepCtx(ctx, 25); err != nil {
			return &stepError{cause: results.CauseAssertion, expected: exp, actual: strconv.Itoa(last),
				msg: fmt.Sprintf("count of %s: expected %s, got %d", a.Locator.Raw, exp, last)}
		}
	}
}

func (x *execution) eval(ctx context.Context, src string) error {
	// A script with `return` is a function body; otherwise it is an
	// expression (or statements) whose last value counts.
	expr := "(async () => { return (0, eval)(" + strconv.Quote(src) + ") })()"
	if returnRE.MatchString(src) {
		expr = "(async () => {\n" + src + "\n})()"
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		var exc *chromedp.ExceptionError
		if errors.As(err, &exc) {
			return &stepError{cause: results.CauseScript, msg: fmt.Sprintf("eval threw: %v", err), err: err}
		}
		if ctx.Err() != nil {
			return fail(results.CauseTimeout, "timed out waiting for eval to finish")
		}
		return err
	}
	if b, ok := v.(bool); ok && !b {
		return &stepError{cause: results.CauseAssertion, expected: "not false", actual: "false", msg: "eval returned false"}
	}
	return nil
}

func (x *execution) setCookie(ctx context.Context, c *journeys.Cookie) error {
	p := network.SetCookieParams{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path, URL: c.URL}
	if p.URL == "" && p.Domain == "" {
		if x.site == nil {
			return fail(results.CauseMonitor, "set_cookie %s needs a url or domain (the journey has no site)", c.Name)
		}
		p.URL = x.site.String()
	}
	_, err := chromedp.Call(ctx, network.SetCookie, p)
	return err
}

// timings reads the page's navigation timings; missing values stay zero.
func (p *page) timings(ctx context.Context) *results.PageTimings {
	type t struct {
		TTFB, DCL, Load, LCP, CLS float64
		Requests                  int
		Bytes                     int64
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[t](timingJS))
	if err != nil {
		return nil
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	return &results.PageTimings{TTFB: ms(v.TTFB), DOMContentLoaded: ms(v.DCL), Load: ms(v.Load), LCP: ms(v.LCP), CLS: v.CLS, Requests: v.Requests, Bytes: v.Bytes}
}

// timingJS reads Navigation Timing, resource entries and the buffered LCP
// and layout-shift entries, all synchronously.
const timingJS = `(() => {
  const n = performance.getEntriesByType("navigation")[0] || {};
  const res = performance.getEntriesByType("resource");
  const take = (type) => { try { const po = new PerformanceObserver(() => {}); po.observe({type, buffered: true}); const r = po.takeRecords(); po.disconnect(); return r; } catch (e) { return []; } };
  const lcp = take("largest-contentful-paint");
  const cls = take("layout-shift").filter(e => !e.hadRecentInput).reduce((a, e) => a + e.value, 0);
  return {
    TTFB: n.responseStart || 0, DCL: n.domContentLoadedEventEnd || 0, Load: n.loadEventEnd || n.loadEventStart || 0,
    LCP: lcp.length ? lcp[lcp.length - 1].startTime : 0, CLS: cls,
    Requests: 1 + res.length, Bytes: (n.transferSize || 0) + res.reduce((a, r) => a + (r.transferSize || 0), 0),
  };
})()`

// returnRE spots a function body among eval scripts.
var returnRE = regexp.MustCompile(`\breturn\b`)
