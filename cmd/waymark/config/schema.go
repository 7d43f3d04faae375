package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/journeys/yamlnode"
	"go.yaml.in/yaml/v3"
)

// The schema is the Config structs: a key is a field's mapstructure tag and
// a value's kind is the field's type. These are the value types it uses,
// and what each one accepts, for the file and the environment alike:
//
//	string          any scalar, as written (numbers too; ${env:NAME} kept)
//	int             a whole number ≥ 1 (every count in the file is one)
//	time.Duration   a Go duration or days (90s, 1h30m, 30d, 1d12h), > 0
//	Period          the same, or 0 (keep forever); retention periods
//	Delay           a duration ≥ 0 (0s, 15m); an escalation level's after
//	bool            true or false
//	time.Time       an RFC 3339 time (2026-12-01T22:00:00Z)
//	[]string        a list of scalars, or one scalar as a list of one
//	struct          a map of its fields' keys
//	map[string]T    a map of names (lowercase: viper folds keys' case)
//	[]struct        a list of maps

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
	stringsType  = reflect.TypeFor[[]string]()
	delayType    = reflect.TypeFor[Delay]()

	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	daysRE = regexp.MustCompile(`^([0-9]+)d(.*)$`)
)

// position is where a value starts in the file.
type position struct{ line, col int }

// document is a YAML document checked against the schema.
type document struct {
	// values holds the settings that passed, in the shape viper takes:
	// maps of keys to values of the schema's Go types.
	values map[string]any
	// pos is where each value starts, by path (`routes[1].to[0]`).
	pos map[string]position
	// dropped are the paths of values left out or replaced as wrong; the
	// rules do not judge what was built around them, so one mistake is
	// reported once.
	dropped []string
}

// walker checks one YAML document against the schema.
type walker struct {
	file string
	errs *ErrorList
	doc  *document
}

// walkDocument parses data and checks it against Config, adding what is
// wrong to errs. An empty document has no settings.
func walkDocument(file string, data []byte, errs *ErrorList) *document {
	w := &walker{file: file, errs: errs, doc: &document{values: map[string]any{}, pos: map[string]position{}}}
	root, problem := yamlnode.Decode(data)
	if problem != nil {
		*errs = append(*errs, &Error{File: file, Line: problem.Line, Col: problem.Col, Msg: problem.Msg})
	}
	if root == nil {
		return w.doc
	}
	if large, _ := yamlnode.TooLarge(root); large {
		w.errorf(root, "", "the document is too large once its aliases are expanded: want at most %d values", yamlnode.MaxNodes)
		return w.doc
	}
	n := yamlnode.Deref(root.Content[0])
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return w.doc // only comments
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, "", "want a map of settings, got %s", yamlnode.Describe(n))
		return w.doc
	}
	if m, ok := w.value(n, reflect.TypeFor[Config](), ""); ok {
		w.doc.values = m.(map[string]any)
	}
	return w.doc
}

// errorf records a problem with the value at n; key is the setting's path.
func (w *walker) errorf(n *yaml.Node, key, format string, args ...any) {
	*w.errs = append(*w.errs, &Error{File: w.file, Line: n.Line, Col: n.Column, Key: display(key), Msg: fmt.Sprintf(format, args...)})
}

// drop records that the value at path was left out or replaced.
func (w *walker) drop(path string) { w.doc.dropped = append(w.doc.dropped, path) }

// value checks n against t and returns it in the shape viper takes. When
// ok is false the value is wrong and was reported.
func (w *walker) value(n *yaml.Node, t reflect.Type, path string) (v any, ok bool) {
	n = yamlnode.Deref(n)
	w.doc.pos[path] = position{n.Line, n.Column}
	defer func() {
		if !ok {
			w.drop(path)
		}
	}()
	switch {
	case t.Kind() == reflect.Struct && t != timeType:
		return w.object(n, t, path)
	case t.Kind() == reflect.Map:
		return w.names(n, t, path)
	case t == stringsType:
		return w.stringList(n, path)
	case t.Kind() == reflect.Slice:
		return w.list(n, t, path)
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		w.errorf(n, path, "want %s, got %s", want(t), yamlnode.Describe(n))
		return nil, false
	}
	v, msg := parseScalar(t, n.Value)
	if msg != "" {
		w.errorf(n, path, "%s", msg)
		return nil, false
	}
	return v, true
}

// object checks a map against struct t's fields, leaving out unknown keys.
func (w *walker) object(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "want a map, got %s", yamlnode.Describe(n))
		return nil, false
	}
	fields := map[string]reflect.Type{}
	var keys []string
	for f := range t.Fields() {
		k := key(f)
		fields[k] = f.Type
		keys = append(keys, k)
	}
	out := map[string]any{}
	seen := map[string]int{}
	for k, v := range pairs(n) {
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, path, "want a plain key, got %s", yamlnode.Describe(k))
			w.drop(join(path, "?"))
			continue
		}
		p := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			w.errorf(k, path, "duplicate key %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		ft, known := fields[k.Value]
		if !known {
			w.errorf(k, path, "unknown key %q%s", k.Value, yamlnode.Hint(k.Value, keys))
			w.drop(p)
			continue
		}
		if val, ok := w.value(v, ft, p); ok {
			out[k.Value] = val
		}
	}
	return out, true
}

// names checks a map of names to values of t's element type. A wrong value
// is replaced by its type's zero, so the name stays defined.
func (w *walker) names(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "want a map of names, got %s", yamlnode.Describe(n))
		return nil, false
	}
	out := map[string]any{}
	seen := map[string]int{}
	for k, v := range pairs(n) {
		p := join(path, k.Value)
		if line, dup := seen[k.Value]; dup && k.Kind == yaml.ScalarNode {
			w.errorf(k, path, "duplicate name %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		if k.Kind != yaml.ScalarNode || !nameRE.MatchString(k.Value) {
			w.errorf(k, path, "bad name %s: want lowercase letters, digits, - and _, like ops-team", yamlnode.Describe(k))
			w.drop(p)
			continue
		}
		val, ok := w.value(v, t.Elem(), p)
		if !ok {
			val = zero(t.Elem())
		}
		out[k.Value] = val
	}
	return out, true
}

// list checks a list of t's elements. A wrong item is replaced by its
// type's zero, so the items keep their places.
func (w *walker) list(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "want a list, got %s", yamlnode.Describe(n))
		return nil, false
	}
	out := make([]any, len(n.Content))
	for i, c := range n.Content {
		val, ok := w.value(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			val = zero(t.Elem())
		}
		out[i] = val
	}
	return out, true
}

// stringList checks a list of scalars, or one scalar taken as a list of one.
func (w *walker) stringList(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		w.doc.pos[path+"[0]"] = position{n.Line, n.Column}
		return []string{n.Value}, true
	}
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "want a list of strings, got %s", yamlnode.Describe(n))
		return nil, false
	}
	out := make([]string, len(n.Content))
	for i, c := range n.Content {
		if val, ok := w.value(c, reflect.TypeFor[string](), fmt.Sprintf("%s[%d]", path, i)); ok {
			out[i] = val.(string)
		}
	}
	return out, true
}

// pairs yields a map node's keys and values, aliases followed.
func pairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(yamlnode.Deref(n.Content[i]), yamlnode.Deref(n.Content[i+1])) {
				return
			}
		}
	}
}

// zero is the placeholder for a wrong item of type t, in viper's shape.
func zero(t reflect.Type) any {
	switch {
	case t.Kind() == reflect.Struct && t != timeType, t.Kind() == reflect.Map:
		return map[string]any{}
	case t == stringsType:
		return []string{}
	case t.Kind() == reflect.Slice:
		return []any{}
	}
	return reflect.Zero(t).Interface()
}

// key is a struct field's key in the file.
func key(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	return k
}

// join extends a path by a key.
func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// display is a path as messages show it: without list indexes, which the
// line and column already pin down (`routes.to`, not `routes[1].to[0]`).
func display(path string) string {
	var b strings.Builder
	in := false
	for _, r := range path {
		switch {
		case r == '[':
			in = true
		case r == ']':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// want says what a scalar of type t should be.
func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration like 90s, 15m, 1h or 30d"
	case t == periodType:
		return "a duration like 30d, 12h or 90m, or 0 to keep forever"
	case t == timeType:
		return "an RFC 3339 time like 2026-12-01T22:00:00Z"
	case t.Kind() == reflect.Int:
		return "a whole number ≥ 1"
	case t == delayType:
		return "a duration like 0s, 15m or 1h"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return "a string"
}

// parseScalar reads s as a value of scalar type t, or says what is wrong.
func parseScalar(t reflect.Type, s string) (any, string) {
	switch {
	case t == durationType:
		d, err := parseDuration(s)
		if err != nil {
			return nil, fmt.Sprintf("bad duration %q: want %s", s, want(t))
		}
		if d <= 0 {
			return nil, fmt.Sprintf("want a duration > 0, got %q", s)
		}
		return d, ""
	case t == timeType:
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fmt.Sprintf("bad time %q: want %s", s, want(t))
		}
		return tm, ""
	case t.Kind() == reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil || i < 1 {
			return nil, fmt.Sprintf("want %s, got %q", want(t), s)
		}
		return i, ""
	case t == periodType:
		return parsePeriod(s)
	case t == delayType:
		d, err := parseDuration(s)
		if err != nil || d < 0 {
			return nil, fmt.Sprintf("bad duration %q: want %s", s, want(t))
		}
		return Delay(d), ""
	case t.Kind() == reflect.Bool:
		switch s {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, fmt.Sprintf("want %s, got %q", want(t), s)
	case t.Kind() == reflect.String:
		return s, ""
	}
	panic(fmt.Sprintf("config: no scalar reader for %s (a bug in the schema)", t))
}

// parseDuration reads a Go duration, optionally led by whole days: 30d,
// 1d12h. Retention periods are naturally said in days.
func parseDuration(s string) (time.Duration, error) {
	m := daysRE.FindStringSubmatch(s)
	if m == nil {
		return time.ParseDuration(s)
	}
	const day = 24 * time.Hour
	days, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || days > int64((1<<63-1)/day) {
		return 0, fmt.Errorf("days out of range in %q", s)
	}
	d := time.Duration(days) * day
	if m[2] != "" {
		rest, err := time.ParseDuration(m[2])
		if err != nil || rest < 0 || d+rest < d {
			return 0, fmt.Errorf("bad duration %q after days", m[2])
		}
		d += rest
	}
	return d, nil
}

// environment is what the WAYMARK_* variables set.
type environment struct {
	values map[string]any    // by key (`browser.max_concurrent`), in the schema's types
	vars   map[string]string // key → the variable that set it
}

// fromEnv looks up WAYMARK_<KEY> for every key reachable through sections
// alone (not inside channels, routes or maintenance), as viper's
// AutomaticEnv would. An empty variable counts as unset, as in viper.
func fromEnv(getenv func(string) (string, bool), errs *ErrorList) environment {
	env := environment{values: map[string]any{}, vars: map[string]string{}}
	if getenv == nil {
		return env
	}
	for k, t := range envKeys(reflect.TypeFor[Config](), "") {
		name := "WAYMARK_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		s, ok := getenv(name)
		if !ok || s == "" {
			continue
		}
		var v any
		if t == stringsType {
			parts := strings.Split(s, ",")
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			v = parts
		} else {
			var msg string
			if v, msg = parseScalar(t, s); msg != "" {
				*errs = append(*errs, &Error{Env: name, Key: k, Msg: msg})
				continue
			}
		}
		env.values[k] = v
		env.vars[k] = name
	}
	return env
}

// envKeys yields the keys under t that a variable can set, with their types.
func envKeys(t reflect.Type, path string) func(yield func(string, reflect.Type) bool) {
	return func(yield func(string, reflect.Type) bool) {
		for f := range t.Fields() {
			p := join(path, key(f))
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != timeType:
				for k, ft := range envKeys(f.Type, p) {
					if !yield(k, ft) {
						return
					}
				}
			case f.Type.Kind() == reflect.Map, f.Type.Kind() == reflect.Slice && f.Type != stringsType:
				// Named or listed entries exist only in the file.
			default:
				if !yield(p, f.Type) {
					return
				}
			}
		}
	}
}
