package journeys

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/journeys/yamlnode"
	"go.yaml.in/yaml/v3"
)

// parser holds what is needed while one journey file (or one of its
// snippets) is read: where errors go and what names are known so far.
type parser struct {
	*state
	file string // as given, for errors
	dir  string // where relative paths (upload, use) start, in src

	snippetFile bool // reading a snippet: `use` is not allowed

	step     int    // current step number, 0 outside steps
	stepName string // current step's name

	known       map[string]bool // variable names usable now
	extractedAt map[string]int  // name -> first step that extracts it
	pending     []*pendingRef   // unknown names, explained once all steps are read
	varNames    map[string]bool // every name under vars:, to explain forward references
}

// state is shared by a journey's parser and its snippets' parsers.
type state struct {
	src      files // where the journey and its snippets are read from
	errs     ErrorList
	warns    []*Error
	refs     []envRef
	snippets map[string]*snippet // by resolved path
	// snippetData are the bytes of every snippet file read, by resolved
	// path: a changed snippet is a changed journey (Journey.Hash).
	snippetData map[string][]byte
}

// pendingRef is an unknown variable that a later step may extract.
type pendingRef struct {
	err  *Error
	name string
	what string // the message's prefix
}

// at describes an error at n in the current step.
func (p *parser) at(n *yaml.Node, msg string) *Error {
	e := &Error{File: p.file, Step: p.step, StepName: p.stepName, Msg: msg}
	if n != nil {
		e.Pos = Pos{Line: n.Line, Col: n.Column}
	}
	return e
}

// errorf records a problem at n and returns it.
func (p *parser) errorf(n *yaml.Node, format string, args ...any) *Error {
	e := p.at(n, fmt.Sprintf(format, args...))
	p.errs = append(p.errs, e)
	return e
}

// pos is where n starts.
func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// prefix puts the name of the thing being read before a message.
func prefix(what string) string {
	if what == "" {
		return ""
	}
	return what + ": "
}

// kv is one key and value of a YAML map.
type kv struct{ k, v *yaml.Node }

// obj is a YAML map whose keys were checked against an allowed set.
type obj struct {
	n     *yaml.Node
	pairs []kv
	m     map[string]kv
}

// get returns the value under key, or nil.
func (o *obj) get(key string) *yaml.Node { return o.m[key].v }

// has reports whether key is present.
func (o *obj) has(key string) bool { return o.m[key].v != nil }

// obj reads n as a map, reporting duplicate keys and keys not in allowed (nil
// allows any). ok is false when n is not a map or has an unknown key.
func (p *parser) obj(n *yaml.Node, what string, allowed []string) (o *obj, ok bool) {
	n = yamlnode.Deref(n)
	o = &obj{n: n, m: map[string]kv{}}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%swant a map, got %s", prefix(what), yamlnode.Describe(n))
		return o, false
	}
	ok = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Deref(n.Content[i]), yamlnode.Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%swant a plain key, got %s", prefix(what), yamlnode.Describe(k))
			ok = false
			continue
		}
		if first, dup := o.m[k.Value]; dup {
			p.errorf(k, "%sduplicate key %q (first at line %d)", prefix(what), k.Value, first.k.Line)
			ok = false
			continue
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			p.errorf(k, "%sunknown key %q%s", prefix(what), k.Value, yamlnode.Hint(k.Value, allowed))
			ok = false
			continue
		}
		o.m[k.Value] = kv{k, v}
		o.pairs = append(o.pairs, kv{k, v})
	}
	return o, ok
}

// str reads a scalar as a string; numbers and booleans are taken as written.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, "%swant a string, got %s", prefix(what), yamlnode.Describe(n))
		return "", false
	}
	return n.Value, true
}

// nonEmpty reads a string that must not be blank.
func (p *parser) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		p.errorf(n, "%swant a non-empty string", prefix(what))
		return "", false
	}
	return s, ok
}

// integer reads a whole number not below low.
func (p *parser) integer(n *yaml.Node, what string, low int) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if i, err := strconv.Atoi(n.Value); err == nil && i >= low {
			return i, true
		}
	}
	p.errorf(n, "%swant a whole number >= %d, got %s", prefix(what), low, yamlnode.Describe(n))
	return 0, false
}

// boolean reads true or false.
func (p *parser) boolean(n *yaml.Node, what string) bool {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		return b
	}
	p.errorf(n, "%swant true or false, got %s", prefix(what), yamlnode.Describe(n))
	return false
}

// duration reads a positive Go duration.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(n, "%sbad duration %q: want a Go duration like 500ms, 10s, 2m", prefix(what), s)
		return 0, false
	}
	if d <= 0 {
		p.errorf(n, "%swant a duration > 0, got %s", prefix(what), s)
		return 0, false
	}
	return d, true
}

// list reads a YAML list, returning its items.
func (p *parser) list(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%swant a list, got %s", prefix(what), yamlnode.Describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = yamlnode.Deref(c)
	}
	return items, true
}

// strList reads a list of non-empty strings.
func (p *parser) strList(n *yaml.Node, what string) []string {
	items, _ := p.list(n, what)
	var out []string
	for _, it := range items {
		if s, ok := p.nonEmpty(it, what); ok {
			out = append(out, s)
		}
	}
	return out
}

// statuses reads one HTTP status or a list of them.
func (p *parser) statuses(n *yaml.Node, what string) []int {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items, _ = p.list(n, what)
	}
	var out []int
	for _, it := range items {
		if i, ok := p.integer(it, what, 100); ok {
			if i > 599 {
				p.errorf(it, "%swant an HTTP status 100-599, got %d", prefix(what), i)
				continue
			}
			out = append(out, i)
		}
	}
	return out
}

// thresholds reads {warn, fail}; warn must stay below fail.
func (p *parser) thresholds(n *yaml.Node, what string) Thresholds {
	var t Thresholds
	o, _ := p.obj(n, what, []string{"warn", "fail"})
	if v := o.get("warn"); v != nil {
		t.Warn, _ = p.duration(v, what+".warn")
	}
	if v := o.get("fail"); v != nil {
		t.Fail, _ = p.duration(v, what+".fail")
	}
	if t.Warn > 0 && t.Fail > 0 && t.Warn >= t.Fail {
		p.errorf(n, "%swarn %s must be less than fail %s", prefix(what), t.Warn, t.Fail)
	}
	return t
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ident checks a variable name given at n.
func (p *parser) ident(n *yaml.Node, what, name string) bool {
	if !identRE.MatchString(name) {
		p.errorf(n, "%sbad name %q: want letters, digits and _, not starting with a digit", prefix(what), name)
		return false
	}
	if name == "site" {
		p.errorf(n, "%sname %q is taken by the built-in ${site}", prefix(what), name)
		return false
	}
	return true
}
