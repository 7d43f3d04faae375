package journeys

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/journeys/yamlnode"
	"go.yaml.in/yaml/v3"
)

var (
	actionNames = []string{"goto", "click", "dblclick", "hover", "fill", "select", "check", "uncheck",
		"press", "upload", "scroll_to", "wait_for", "wait", "assert", "extract", "eval", "screenshot",
		"set_cookie", "request", "use"}
	commonKeys      = []string{"name", "timeout", "threshold", "optional", "always", "screenshot"}
	matcherKeys     = []string{"equals", "contains", "matches"}
	waitForSubjects = []string{"visible", "hidden", "present", "gone", "url", "text"}
	assertSubjects  = []string{"text", "visible", "hidden", "count", "attribute", "value", "url", "title", "js"}
	extractSubjects = []string{"text", "value", "attribute", "url", "title", "js"}
	httpMethods     = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	keyModifiers    = []string{"Control", "Shift", "Alt", "Meta"}
	namedKeys       = []string{"Enter", "Tab", "Escape", "Backspace", "Delete", "Insert", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", "Space", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12"}
	locatorPrefixRE = regexp.MustCompile(`^[A-Za-z_-]+~?=`)
)

// maxDerivedLength caps a derived step name, so a long script or URL does
// not flood reports.
const maxDerivedLength = 60

// parseStep reads one step: exactly one action plus common keys.
func (p *parser) parseStep(n *yaml.Node, idx int) Step {
	s := Step{Index: idx, Pos: pos(n), Timeout: DefaultStepTimeout}
	p.step, p.stepName = idx, ""
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "want a map with one action like {click: \"#buy\"}, got %s", yamlnode.Describe(n))
		return s
	}
	var acts []kv
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlnode.Deref(n.Content[i+1])
		if k.Value == "name" && v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null" {
			s.Name = v.Value
		}
		if slices.Contains(actionNames, k.Value) && !slices.ContainsFunc(acts, func(a kv) bool { return a.k.Value == k.Value }) {
			acts = append(acts, kv{k, v})
		}
	}
	if len(acts) > 1 { // screenshot next to another action is the common key
		acts = slices.DeleteFunc(acts, func(a kv) bool { return a.k.Value == "screenshot" })
	}
	if s.Name == "" && len(acts) > 0 {
		s.Name = deriveName(acts[0])
	}
	p.stepName = s.Name

	allowed := append(slices.Clone(commonKeys), "expect")
	if len(acts) == 0 {
		allowed = append(allowed, actionNames...)
	}
	for _, a := range acts {
		allowed = append(allowed, a.k.Value)
	}
	o, ok := p.obj(n, "", allowed)
	switch {
	case len(acts) == 0 && ok:
		p.errorf(n, "no action: want one of %s", strings.Join(actionNames, ", "))
	case len(acts) > 1:
		names := make([]string, len(acts))
		for i, a := range acts {
			names[i] = fmt.Sprintf("%q", a.k.Value)
		}
		p.errorf(acts[1].k, "actions %s in one step: want exactly one (split it into separate steps)", strings.Join(names, " and "))
	}

	if v := o.get("name"); v != nil {
		p.nonEmpty(v, "name")
	}
	timeoutSet := false
	if v := o.get("timeout"); v != nil {
		s.Timeout, timeoutSet = p.duration(v, "timeout")
		if !timeoutSet {
			s.Timeout = DefaultStepTimeout
		}
	}
	if v := o.get("threshold"); v != nil {
		s.Threshold = p.thresholds(v, "threshold")
	}
	if v := o.get("optional"); v != nil {
		s.Optional = p.boolean(v, "optional")
	}
	if v := o.get("always"); v != nil {
		s.Always = p.boolean(v, "always")
	}
	if len(acts) != 1 {
		return s
	}
	act := acts[0]
	s.Action = Action(act.k.Value)
	if s.Action != ActGoto && o.has("expect") {
		p.errorf(o.m["expect"].k, "expect goes only with goto, where it lists the HTTP statuses the page may answer")
	}
	if v := o.get("screenshot"); v != nil && s.Action != ActScreenshot {
		if str, ok := p.str(v, "screenshot"); ok {
			if str != "always" && str != "never" {
				p.errorf(v, "screenshot: want always or never next to another action (as an action, screenshot takes a label and stands alone), got %q", str)
			}
			s.Screenshot = str
		}
	}
	p.action(&s, act, o, timeoutSet)
	return s
}

// action reads the argument of the step's action.
func (p *parser) action(s *Step, act kv, o *obj, timeoutSet bool) {
	v, what := act.v, act.k.Value
	switch s.Action {
	case ActGoto:
		p.gotoStep(s, v, o.get("expect"))
	case ActClick, ActDblclick, ActHover, ActCheck, ActUncheck, ActScrollTo:
		s.Locator = p.locator(v, what)
		s.Target = s.Locator.Raw
	case ActPress:
		if str, ok := p.nonEmpty(v, what); ok {
			if msg := keyProblem(str); msg != "" {
				p.errorf(v, "press: bad key %q: %s", str, msg)
			}
			s.Target = str
		}
	case ActFill, ActSelect, ActUpload:
		s.Fields = p.fields(v, what, s.Action == ActUpload)
	case ActWait:
		d, ok := p.duration(v, what)
		if !ok {
			return
		}
		s.Wait = d
		p.warns = append(p.warns, p.at(act.k, "fixed pause; prefer wait_for"))
		switch {
		case !timeoutSet:
			s.Timeout = DefaultStepTimeout + d
		case s.Timeout <= d:
			p.errorf(o.get("timeout"), "timeout %s must be longer than the wait %s", s.Timeout, d)
		}
	case ActWaitFor:
		s.WaitFor = p.waitFor(s, v, timeoutSet)
	case ActAssert:
		s.Assert = p.assert(v)
	case ActExtract:
		s.Extract = p.extract(v)
	case ActEval:
		if str, ok := p.nonEmpty(v, what); ok {
			s.Target = p.tmpl(v, what, str)
		}
	case ActScreenshot:
		s.Target, _ = p.nonEmpty(v, what)
	case ActSetCookie:
		s.Cookie = p.cookie(v)
	case ActRequest:
		s.Request = p.request(v)
	case ActUse:
		s.Use = p.use(v)
	}
}

// gotoStep reads `goto: url` or `goto: {url, expect}`; expect may also sit
// next to goto in the step.
func (p *parser) gotoStep(s *Step, v, expect *yaml.Node) {
	if v.Kind == yaml.MappingNode {
		g, _ := p.obj(v, "goto", []string{"url", "expect"})
		if u := g.get("url"); u == nil {
			p.errorf(v, "goto: missing url: want a URL or a path like /cart")
		} else if str, ok := p.nonEmpty(u, "goto.url"); ok {
			s.Target = p.tmpl(u, "goto.url", str)
		}
		if e := g.get("expect"); e != nil {
			if expect != nil {
				p.errorf(e, "goto: expect is given twice")
			}
			expect = e
		}
	} else if str, ok := p.nonEmpty(v, "goto"); ok {
		s.Target = p.tmpl(v, "goto", str)
	}
	if expect == nil {
		return
	}
	e, ok := p.obj(expect, "expect", []string{"status"})
	if st := e.get("status"); st != nil {
		s.Expect = &GotoExpect{Status: p.statuses(st, "expect.status")}
	} else if ok {
		p.errorf(expect, "expect: missing status: want a status like 404 or a list like [200, 404]")
	}
}

// locator reads a locator string at n.
func (p *parser) locator(n *yaml.Node, what string) Locator {
	s, ok := p.str(n, what)
	if !ok {
		return Locator{}
	}
	return p.parseLocator(n, what, s)
}

// parseLocator splits raw into its kind and value and checks it.
func (p *parser) parseLocator(n *yaml.Node, what, raw string) Locator {
	l := Locator{Kind: LocCSS, Value: raw, Raw: raw}
	for _, k := range []struct {
		prefix string
		kind   LocatorKind
	}{{"text~=", LocTextContains}, {"text=", LocText}, {"xpath=", LocXPath}} {
		if v, ok := strings.CutPrefix(raw, k.prefix); ok {
			l.Kind, l.Value = k.kind, v
			break
		}
	}
	l.Value = strings.TrimSpace(l.Value)
	if l.Value == "" {
		p.errorf(n, "%sempty locator: want a CSS selector, text=…, text~=… or xpath=…", prefix(what))
		return l
	}
	if l.Kind == LocCSS {
		if msg := cssProblem(l.Value); msg != "" {
			p.errorf(n, "%sbad locator %q: %s", prefix(what), raw, msg)
			return l
		}
	}
	l.Value = p.tmpl(n, what, l.Value)
	return l
}

// cssProblem finds the mistakes in a CSS selector that are easy to make and
// to spot: an unknown `kind=` prefix and unbalanced brackets or quotes.
func cssProblem(sel string) string {
	if m := locatorPrefixRE.FindString(sel); m != "" {
		return fmt.Sprintf("unknown prefix %q: want text=, text~=, xpath= or a CSS selector", m)
	}
	var stack []rune
	var quote rune
	for _, c := range sel {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '(':
			stack = append(stack, c)
		case c == ']' || c == ')':
			open := map[rune]rune{']': '[', ')': '('}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Sprintf("unbalanced %q", c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	switch {
	case quote != 0:
		return fmt.Sprintf("unclosed quote %q", quote)
	case len(stack) > 0:
		return fmt.Sprintf("unclosed %q", stack[len(stack)-1])
	}
	return ""
}

// keyProblem checks a key chord like Enter or Control+A.
func keyProblem(chord string) string {
	parts := strings.Split(chord, "+")
	key, mods := parts[len(parts)-1], parts[:len(parts)-1]
	for i, m := range mods {
		if !slices.Contains(keyModifiers, m) {
			return fmt.Sprintf("unknown modifier %q%s", m, yamlnode.Hint(m, keyModifiers))
		}
		if slices.Contains(mods[:i], m) {
			return fmt.Sprintf("modifier %q given twice", m)
		}
	}
	if slices.Contains(namedKeys, key) || (len(key) == 1 && key[0] > ' ' && key[0] < 0x7f) {
		return ""
	}
	h := yamlnode.Hint(key, namedKeys)
	if !strings.HasPrefix(h, " (") {
		h = "; want a letter, a digit or one of " + strings.Join(namedKeys, ", ")
	}
	return fmt.Sprintf("unknown key %q%s", key, h)
}

// fields reads the locator → value map of fill, select and upload. Upload
// values are paths, not templates: they must exist when the journey loads,
// and are resolved against the journey file's folder.
func (p *parser) fields(n *yaml.Node, what string, upload bool) []Field {
	o, ok := p.obj(n, what, nil)
	if ok && len(o.pairs) == 0 {
		p.errorf(n, "%s: want at least one locator: value pair", what)
	}
	var out []Field
	for _, kv := range o.pairs {
		f := Field{Locator: p.parseLocator(kv.k, what, kv.k.Value), Pos: pos(kv.k)}
		val, ok := p.str(kv.v, fmt.Sprintf("%s %q", what, kv.k.Value))
		switch {
		case !ok:
		case upload:
			name, ok := p.src.resolve(p.dir, val)
			f.Value = p.src.display(name)
			if _, err := p.src.stat(name); !ok || err != nil {
				p.errorf(kv.v, "upload: file %q not found (paths are relative to the journey file)", val)
			}
		default:
			f.Value = p.tmpl(kv.v, what, val)
		}
		out = append(out, f)
	}
	return out
}

// subject finds the one key of o that says what a wait_for, assert or
// extraction is about.
func (p *parser) subject(o *obj, what string, subjects []string) (string, *yaml.Node) {
	var found []kv
	for _, kv := range o.pairs {
		if slices.Contains(subjects, kv.k.Value) {
			found = append(found, kv)
		}
	}
	switch {
	case len(found) == 1:
		return found[0].k.Value, found[0].v
	case len(found) > 1:
		p.errorf(found[1].k, "%s: %q and %q: want exactly one of %s", what, found[0].k.Value, found[1].k.Value, strings.Join(subjects, ", "))
	case o.n.Kind == yaml.MappingNode:
		p.errorf(o.n, "%s: want one of %s", what, strings.Join(subjects, ", "))
	}
	return "", nil
}

// onlyKeys reports keys of o that do not go with its subject.
func (p *parser) onlyKeys(o *obj, what, subject string, allowed ...string) {
	for _, kv := range o.pairs {
		if k := kv.k.Value; k != subject && !slices.Contains(allowed, k) {
			with := "nothing else"
			if len(allowed) > 0 {
				with = strings.Join(allowed, ", ")
			}
			p.errorf(kv.k, "%s: %q does not go with %s (allowed with it: %s)", what, k, subject, with)
		}
	}
}

// matcher reads the one of equals, contains, matches in o.
func (p *parser) matcher(o *obj, what string) Matcher {
	var m Matcher
	var found []kv
	for _, k := range matcherKeys {
		if v := o.get(k); v != nil {
			found = append(found, kv{o.m[k].k, v})
		}
	}
	switch {
	case len(found) == 0:
		if o.n.Kind == yaml.MappingNode {
			p.errorf(o.n, "%s: want one of equals, contains or matches", what)
		}
		return m
	case len(found) > 1:
		p.errorf(found[1].k, "%s: %q and %q: want exactly one of equals, contains, matches", what, found[0].k.Value, found[1].k.Value)
		return m
	}
	k, v := found[0].k.Value, found[0].v
	s, ok := p.str(v, what+"."+k)
	if !ok {
		return m
	}
	switch k {
	case "equals":
		s = p.tmpl(v, what+"."+k, s)
		m.Equals = &s
	case "contains":
		s = p.tmpl(v, what+"."+k, s)
		m.Contains = &s
	case "matches":
		if _, err := regexp.Compile(s); err != nil {
			p.errorf(v, "%s: matches: bad regexp %q: %v", what, s, err)
		}
		m.Matches = &s
	}
	return m
}

// matchValue reads a url or title expectation: a string (meaning contains
// for url, equals for title) or a matcher map.
func (p *parser) matchValue(n *yaml.Node, what string, stringContains bool) Matcher {
	if n.Kind == yaml.MappingNode {
		o, _ := p.obj(n, what, matcherKeys)
		return p.matcher(o, what)
	}
	s, ok := p.str(n, what)
	if !ok {
		return Matcher{}
	}
	s = p.tmpl(n, what, s)
	if stringContains {
		return Matcher{Contains: &s}
	}
	return Matcher{Equals: &s}
}

// waitFor reads wait_for: one subject, its matcher, and an optional timeout
// that becomes the step's.
func (p *parser) waitFor(s *Step, n *yaml.Node, timeoutSet bool) *WaitFor {
	o, _ := p.obj(n, "wait_for", append(slices.Clone(waitForSubjects), "equals", "contains", "matches", "timeout"))
	kind, sv := p.subject(o, "wait_for", waitForSubjects)
	w := &WaitFor{Kind: kind}
	what := "wait_for " + kind
	switch kind {
	case "visible", "hidden", "present", "gone":
		w.Locator = p.locator(sv, "wait_for."+kind)
		p.onlyKeys(o, what, kind, "timeout")
	case "url":
		w.Match = p.matchValue(sv, "wait_for.url", true)
		p.onlyKeys(o, what, kind, "timeout")
	case "text":
		w.Locator = p.locator(sv, "wait_for.text")
		p.onlyKeys(o, what, kind, "equals", "contains", "matches", "timeout")
		w.Match = p.matcher(o, what)
	}
	if t := o.get("timeout"); t != nil {
		if timeoutSet {
			p.errorf(t, "wait_for.timeout: the step already has a timeout: give one")
		} else if d, ok := p.duration(t, "wait_for.timeout"); ok {
			s.Timeout = d
		}
	}
	return w
}

// assert reads an assert step's subject and expectation.
func (p *parser) assert(n *yaml.Node) *Assertion {
	o, _ := p.obj(n, "assert", append(slices.Clone(assertSubjects), "equals", "contains", "matches", "min", "max", "name"))
	kind, sv := p.subject(o, "assert", assertSubjects)
	a := &Assertion{Kind: kind}
	what := "assert " + kind
	switch kind {
	case "text", "value":
		a.Locator = p.locator(sv, "assert."+kind)
		p.onlyKeys(o, what, kind, matcherKeys...)
		a.Match = p.matcher(o, what)
	case "visible", "hidden":
		a.Locator = p.locator(sv, "assert."+kind)
		p.onlyKeys(o, what, kind)
	case "count":
		a.Locator = p.locator(sv, "assert.count")
		p.onlyKeys(o, what, kind, "equals", "min", "max")
		a.Count = p.count(o)
	case "attribute":
		a.Locator = p.locator(sv, "assert.attribute")
		p.onlyKeys(o, what, kind, "name", "equals", "contains", "matches")
		if v := o.get("name"); v == nil {
			p.errorf(n, "assert attribute: missing name: want the attribute's name like href")
		} else {
			a.Attribute, _ = p.nonEmpty(v, "assert.name")
		}
		a.Match = p.matcher(o, what)
	case "url", "title":
		p.onlyKeys(o, what, kind)
		a.Match = p.matchValue(sv, "assert."+kind, kind == "url")
	case "js":
		p.onlyKeys(o, what, kind)
		if s, ok := p.nonEmpty(sv, "assert.js"); ok {
			a.JS = p.tmpl(sv, "assert.js", s)
		}
	}
	return a
}

// count reads equals or min/max of a count assertion.
func (p *parser) count(o *obj) *CountMatch {
	c := &CountMatch{}
	for k, dst := range map[string]**int{"equals": &c.Equals, "min": &c.Min, "max": &c.Max} {
		if v := o.get(k); v != nil {
			if i, ok := p.integer(v, "assert count."+k, 0); ok {
				*dst = &i
			}
		}
	}
	switch {
	case !o.has("equals") && !o.has("min") && !o.has("max"):
		p.errorf(o.n, "assert count: want equals, min or max")
	case o.has("equals") && (o.has("min") || o.has("max")):
		p.errorf(o.n, "assert count: give equals or min/max, not both")
	case c.Min != nil && c.Max != nil && *c.Min > *c.Max:
		p.errorf(o.n, "assert count: min %d is above max %d", *c.Min, *c.Max)
	}
	return c
}

// extract reads name → {text|value|attribute|url|title|js} pairs; the names
// become known to the steps after this one.
func (p *parser) extract(n *yaml.Node) []Extraction {
	o, ok := p.obj(n, "extract", nil)
	if ok && len(o.pairs) == 0 {
		p.errorf(n, "extract: want at least one name: {text: locator}")
	}
	var out []Extraction
	for _, kv := range o.pairs {
		name := kv.k.Value
		p.ident(kv.k, "extract", name)
		what := "extract." + name
		e := Extraction{Name: name, Pos: pos(kv.k)}
		eo, _ := p.obj(kv.v, what, append(slices.Clone(extractSubjects), "name"))
		kind, sv := p.subject(eo, what, extractSubjects)
		e.Kind = kind
		switch kind {
		case "text", "value":
			e.Locator = p.locator(sv, what+"."+kind)
			p.onlyKeys(eo, what, kind)
		case "attribute":
			e.Locator = p.locator(sv, what+".attribute")
			p.onlyKeys(eo, what, kind, "name")
			if v := eo.get("name"); v == nil {
				p.errorf(kv.v, "%s: missing name: want the attribute's name like href", what)
			} else {
				e.Attribute, _ = p.nonEmpty(v, what+".name")
			}
		case "url", "title":
			p.onlyKeys(eo, what, kind)
			if !p.boolean(sv, what+"."+kind) {
				p.errorf(sv, "%s.%s: want true", what, kind)
			}
		case "js":
			p.onlyKeys(eo, what, kind)
			if s, ok := p.nonEmpty(sv, what+".js"); ok {
				e.JS = p.tmpl(sv, what+".js", s)
			}
		}
		out = append(out, e)
	}
	for _, e := range out {
		p.extracted(e.Name)
	}
	return out
}

// extracted makes name known to the following steps.
func (p *parser) extracted(name string) {
	p.known[name] = true
	if _, ok := p.extractedAt[name]; !ok {
		p.extractedAt[name] = p.step
	}
}

// cookie reads set_cookie's {name, value, domain, path, url}.
func (p *parser) cookie(n *yaml.Node) *Cookie {
	o, _ := p.obj(n, "set_cookie", []string{"name", "value", "domain", "path", "url"})
	c := &Cookie{}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &c.Name}, {"value", &c.Value}, {"domain", &c.Domain}, {"path", &c.Path}, {"url", &c.URL}} {
		v := o.get(f.key)
		if v == nil {
			if (f.key == "name" || f.key == "value") && n.Kind == yaml.MappingNode {
				p.errorf(n, "set_cookie: missing %s", f.key)
			}
			continue
		}
		if s, ok := p.str(v, "set_cookie."+f.key); ok {
			*f.dst = p.tmpl(v, "set_cookie."+f.key, s)
		}
	}
	return c
}

// request reads an HTTP call made by the runner.
func (p *parser) request(n *yaml.Node) *Request {
	o, _ := p.obj(n, "request", []string{"method", "url", "headers", "body", "json", "expect", "extract"})
	r := &Request{Method: "GET"}
	if v := o.get("method"); v != nil {
		if s, ok := p.str(v, "request.method"); ok {
			r.Method = strings.ToUpper(s)
			if !slices.Contains(httpMethods, r.Method) {
				p.errorf(v, "request.method: want one of %s, got %q", strings.Join(httpMethods, ", "), s)
			}
		}
	}
	if v := o.get("url"); v == nil {
		if n.Kind == yaml.MappingNode {
			p.errorf(n, "request: missing url")
		}
	} else if s, ok := p.nonEmpty(v, "request.url"); ok {
		r.URL = p.tmpl(v, "request.url", s)
	}
	if v := o.get("headers"); v != nil {
		r.Headers = p.headers(v, "request.headers")
	}
	if v := o.get("body"); v != nil {
		if s, ok := p.str(v, "request.body"); ok {
			r.Body = p.tmpl(v, "request.body", s)
		}
	}
	if v := o.get("json"); v != nil {
		if o.has("body") {
			p.errorf(o.m["json"].k, "request: give body or json, not both")
		}
		r.JSON = p.jsonValue(v, "request.json")
	}
	if v := o.get("expect"); v != nil {
		e, _ := p.obj(v, "request.expect", []string{"status", "json"})
		if st := e.get("status"); st != nil {
			r.Expect.Status = p.statuses(st, "request.expect.status")
		}
		if j := e.get("json"); j != nil {
			jo, _ := p.obj(j, "request.expect.json", nil)
			r.Expect.JSON = map[string]any{}
			for _, kv := range jo.pairs {
				p.jsonPath(kv.k, "request.expect.json", kv.k.Value)
				r.Expect.JSON[kv.k.Value] = p.jsonValue(kv.v, "request.expect.json."+kv.k.Value)
			}
		}
	}
	if v := o.get("extract"); v != nil {
		eo, _ := p.obj(v, "request.extract", nil)
		r.Extract = map[string]string{}
		for _, kv := range eo.pairs {
			if s, ok := p.str(kv.v, "request.extract."+kv.k.Value); ok && p.ident(kv.k, "request.extract", kv.k.Value) {
				p.jsonPath(kv.v, "request.extract."+kv.k.Value, s)
				r.Extract[kv.k.Value] = s
			}
		}
		for name := range r.Extract {
			p.extracted(name)
		}
	}
	return r
}

// jsonPath checks a dot path like data.items.0.id.
func (p *parser) jsonPath(n *yaml.Node, what, path string) {
	if slices.Contains(strings.Split(path, "."), "") {
		p.errorf(n, "%s: bad JSON path %q: want dot-separated keys and indexes like data.items.0.id", what, path)
	}
}

// jsonValue turns a YAML value into JSON-ready Go values; strings are
// templates.
func (p *parser) jsonValue(n *yaml.Node, what string) any {
	n = yamlnode.Deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		o, _ := p.obj(n, what, nil)
		m := make(map[string]any, len(o.pairs))
		for _, kv := range o.pairs {
			m[kv.k.Value] = p.jsonValue(kv.v, what+"."+kv.k.Value)
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, c := range n.Content {
			a[i] = p.jsonValue(c, fmt.Sprintf("%s[%d]", what, i))
		}
		return a
	}
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool", "!!null":
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	}
	return p.tmpl(n, what, n.Value)
}

// snippet is a parsed snippet file: steps shared by journeys through `use`.
type snippet struct {
	params   []string
	steps    []Step
	extracts []string // names its steps extract, known after the use step
}

// use reads `use: {file, with}` and parses the snippet file it names.
func (p *parser) use(n *yaml.Node) *Use {
	o, _ := p.obj(n, "use", []string{"file", "with"})
	u := &Use{With: map[string]string{}}
	if p.snippetFile {
		p.errorf(n, "use: a snippet cannot use another snippet")
		return u
	}
	var withObj *obj
	if v := o.get("with"); v != nil {
		withObj, _ = p.obj(v, "use.with", nil)
		for _, kv := range withObj.pairs {
			if s, ok := p.str(kv.v, "use.with."+kv.k.Value); ok {
				u.With[kv.k.Value] = p.tmpl(kv.v, "use.with."+kv.k.Value, s)
			}
		}
	}
	fn := o.get("file")
	if fn == nil {
		if n.Kind == yaml.MappingNode {
			p.errorf(n, "use: missing file: want a snippet path like snippets/login.yaml")
		}
		return u
	}
	file, ok := p.nonEmpty(fn, "use.file")
	if !ok {
		return u
	}
	name, ok := p.src.resolve(p.dir, file)
	u.File, u.Path = file, p.src.display(name)
	if !ok {
		p.errorf(fn, "use: snippet file %q is outside the folder the journeys were loaded from: want a path inside it, relative to the journey file", file)
		return u
	}
	sn := p.snippet(fn, file, name)
	if sn == nil {
		return u
	}
	u.Steps = sn.steps
	if withObj != nil {
		for _, kv := range withObj.pairs {
			if !slices.Contains(sn.params, kv.k.Value) {
				h := "; it takes none"
				if len(sn.params) > 0 {
					h = yamlnode.Hint(kv.k.Value, sn.params)
				}
				p.errorf(kv.k, "use.with: snippet %q has no param %q%s", file, kv.k.Value, h)
			}
		}
	}
	for _, prm := range sn.params {
		if withObj == nil || !withObj.has(prm) {
			p.errorf(n, "use.with: missing param %q of snippet %q", prm, file)
		}
	}
	for _, name := range sn.extracts {
		p.extracted(name)
	}
	return u
}

// snippet reads and validates the snippet file name of p.src (written as
// file in the journey) once per journey.
func (p *parser) snippet(n *yaml.Node, file, name string) *snippet {
	if sn, ok := p.snippets[name]; ok {
		return sn
	}
	data, err := p.src.read(name, "snippet")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			p.errorf(n, "use: snippet file %q not found (paths are relative to the journey file)", file)
		} else {
			p.errorf(n, "use: snippet file %q: %s", file, pathProblem(err))
		}
		return nil
	}
	sn := &snippet{}
	p.snippets[name] = sn
	if p.snippetData == nil {
		p.snippetData = map[string][]byte{}
	}
	p.snippetData[name] = data
	c := &parser{state: p.state, file: p.src.display(name), dir: p.src.dir(name), snippetFile: true}
	root := c.document(data)
	if root == nil {
		return sn
	}
	if root.Kind != yaml.MappingNode {
		c.errorf(root, "want a snippet: a map with steps and optional params, got %s", yamlnode.Describe(root))
		return sn
	}
	o, _ := c.obj(root, "", []string{"params", "steps"})
	if v := o.get("params"); v != nil {
		for _, it := range func() []*yaml.Node { l, _ := c.list(v, "params"); return l }() {
			if s, ok := c.str(it, "params"); ok && c.ident(it, "params", s) {
				sn.params = append(sn.params, s)
			}
		}
	}
	c.known = knownSet(sn.params...)
	if v := o.get("steps"); v == nil {
		c.errorf(root, "missing steps: want a list of steps")
	} else {
		sn.steps = c.steps(v)
	}
	for name := range c.extractedAt {
		sn.extracts = append(sn.extracts, name)
	}
	slices.Sort(sn.extracts)
	return sn
}

// deriveName names a step that has no name from its action and argument,
// like `click [data-test=add-backpack]`.
func deriveName(act kv) string {
	a, v := act.k.Value, act.v
	arg := ""
	switch v.Kind {
	case yaml.ScalarNode:
		arg = v.Value
	case yaml.MappingNode:
		switch a {
		case "goto":
			arg = mapValue(v, "url")
		case "request":
			m := mapValue(v, "method")
			if m == "" {
				m = "GET"
			}
			arg = strings.ToUpper(m) + " " + mapValue(v, "url")
		case "use":
			arg = mapValue(v, "file")
		case "set_cookie":
			arg = mapValue(v, "name")
		case "wait_for", "assert":
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, sv := v.Content[i].Value, yamlnode.Deref(v.Content[i+1])
				if slices.Contains(waitForSubjects, k) || slices.Contains(assertSubjects, k) {
					arg = k + " " + sv.Value
					if sv.Kind == yaml.MappingNode && len(sv.Content) >= 2 {
						arg = k + " " + sv.Content[0].Value + " " + sv.Content[1].Value
					}
					break
				}
			}
		default: // fill, select, upload, extract
			var keys []string
			for i := 0; i < len(v.Content); i += 2 {
				keys = append(keys, v.Content[i].Value)
			}
			arg = strings.Join(keys, ", ")
		}
	}
	name := strings.Join(strings.Fields(a+" "+arg), " ")
	if utf8.RuneCountInString(name) > maxDerivedLength {
		name = string([]rune(name)[:maxDerivedLength-1]) + "…"
	}
	return name
}

// mapValue returns the scalar under key in a YAML map, or "".
func mapValue(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return yamlnode.Deref(m.Content[i+1]).Value
		}
	}
	return ""
}
