package journeys

import (
	"fmt"
	"maps"
)

// Resolve returns a copy of st with every template it holds expanded now,
// in the scope as it is when the step starts: the runner resolves each
// step once, before it acts, and its actions then work on plain values.
// Every secret a value is built from is recorded by the scope as it is
// expanded, so Mask knows it before the step can report anything.
//
// A locator's Raw becomes the expanded locator as it would be written
// (`text=Ada`), since that is what messages should quote. Regexps
// (`matches`) and upload paths are not templates and stay as they are.
// The error names the part of the step that could not be expanded; like
// every Scope error it names variables, never values.
func (s *Scope) Resolve(st *Step) (*Step, error) {
	r := &resolver{s: s}
	out := *st
	out.Target = r.text(string(st.Action), st.Target, st.Action == ActGoto || st.Action == ActEval)
	out.Locator = r.locator(st.Action, st.Locator)
	if st.Locator.Value != "" {
		out.Target = out.Locator.Raw
	}
	if st.Fields != nil {
		out.Fields = make([]Field, len(st.Fields))
		for i, f := range st.Fields {
			f.Locator = r.locator(st.Action, f.Locator)
			f.Value = r.text(string(st.Action), f.Value, st.Action != ActUpload)
			out.Fields[i] = f
		}
	}
	if w := st.WaitFor; w != nil {
		c := *w
		c.Locator = r.locator("wait_for", w.Locator)
		c.Match = r.matcher("wait_for", w.Match)
		out.WaitFor = &c
	}
	if a := st.Assert; a != nil {
		c := *a
		c.Locator = r.locator("assert", a.Locator)
		c.Match = r.matcher("assert", a.Match)
		c.JS = r.text("assert.js", a.JS, true)
		out.Assert = &c
	}
	if st.Extract != nil {
		out.Extract = make([]Extraction, len(st.Extract))
		for i, e := range st.Extract {
			e.Locator = r.locator("extract", e.Locator)
			e.JS = r.text("extract.js", e.JS, true)
			out.Extract[i] = e
		}
	}
	if c := st.Cookie; c != nil {
		out.Cookie = &Cookie{
			Name: r.text("set_cookie.name", c.Name, true), Value: r.text("set_cookie.value", c.Value, true),
			Domain: r.text("set_cookie.domain", c.Domain, true), Path: r.text("set_cookie.path", c.Path, true),
			URL: r.text("set_cookie.url", c.URL, true),
		}
	}
	if q := st.Request; q != nil {
		c := *q
		c.URL = r.text("request.url", q.URL, true)
		c.Body = r.text("request.body", q.Body, true)
		c.Headers = r.strings("request.headers", q.Headers)
		c.JSON = r.json("request.json", q.JSON)
		c.Expect.JSON = nil
		if q.Expect.JSON != nil {
			c.Expect.JSON = make(map[string]any, len(q.Expect.JSON))
			for k, v := range q.Expect.JSON {
				c.Expect.JSON[k] = r.json("request.expect.json."+k, v)
			}
		}
		c.Extract = maps.Clone(q.Extract)
		out.Request = &c
	}
	if r.err != nil {
		return nil, r.err
	}
	return &out, nil
}

// ResolveMap expands every value of a map of templates, such as the
// journey's browser headers.
func (s *Scope) ResolveMap(what string, m map[string]string) (map[string]string, error) {
	r := &resolver{s: s}
	out := r.strings(what, m)
	return out, r.err
}

// resolver expands the templates of one step, keeping the first error.
type resolver struct {
	s   *Scope
	err error
}

// text expands tmpl when it is a template; what names it in an error.
func (r *resolver) text(what, tmpl string, isTemplate bool) string {
	if !isTemplate || tmpl == "" || r.err != nil {
		return tmpl
	}
	v, err := r.s.Expand(tmpl)
	if err != nil {
		r.err = fmt.Errorf("%s%w", prefix(what), err)
		return tmpl
	}
	return v
}

// locator expands a locator's value and rewrites Raw to match it.
func (r *resolver) locator(what Action, l Locator) Locator {
	if l.Value == "" {
		return l
	}
	v := r.text(string(what), l.Value, true)
	if v == l.Value {
		return l
	}
	l.Value = v
	l.Raw = v
	if l.Kind != LocCSS {
		l.Raw = string(l.Kind) + "=" + v
	}
	return l
}

func (r *resolver) matcher(what string, m Matcher) Matcher {
	if m.Equals != nil {
		v := r.text(what+".equals", *m.Equals, true)
		m.Equals = &v
	}
	if m.Contains != nil {
		v := r.text(what+".contains", *m.Contains, true)
		m.Contains = &v
	}
	return m
}

func (r *resolver) strings(what string, m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = r.text(what+"."+k, v, true)
	}
	return out
}

// json expands the templates in the string leaves of a JSON value.
func (r *resolver) json(what string, v any) any {
	switch v := v.(type) {
	case string:
		return r.text(what, v, true)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = r.json(what+"."+k, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.json(fmt.Sprintf("%s[%d]", what, i), e)
		}
		return out
	}
	return v
}
