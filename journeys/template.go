package journeys

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/waymarkhq/waymark/journeys/yamlnode"
	"go.yaml.in/yaml/v3"
)

// Built-in variable names, always known.
var builtins = []string{"site", "run.id", "run.time", "random.int", "random.hex", "random.email"}

// refKind says what a ${…} reference reads.
type refKind int

const (
	refName   refKind = iota // ${name}: var, extracted value, param or built-in
	refEnv                   // ${env:NAME} or ${env:NAME:-default}
	refSecret                // ${secret:NAME}
)

// ref is one parsed ${…} reference.
type ref struct {
	kind   refKind
	name   string
	def    string // default of ${env:NAME:-default}
	hasDef bool
}

// piece is a literal run of text or one reference of a template.
type piece struct {
	lit string
	ref *ref
}

var (
	refNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// parseTemplate splits s into literals and references. `$${` is a literal
// `${`; a default of ${env:NAME:-default} ends at the first `}`.
func parseTemplate(s string) ([]piece, error) {
	var out []piece
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed \"${\" in %q; write $${ for a literal ${", s)
			}
			r, err := parseRef(s[i+2 : i+2+end])
			if err != nil {
				return nil, err
			}
			if lit.Len() > 0 {
				out = append(out, piece{lit: lit.String()})
				lit.Reset()
			}
			out = append(out, piece{ref: r})
			i += end + 3
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		out = append(out, piece{lit: lit.String()})
	}
	return out, nil
}

// parseRef parses the inside of ${…}.
func parseRef(body string) (*ref, error) {
	bad := func() error {
		return fmt.Errorf("bad reference \"${%s}\": want ${name}, ${env:NAME}, ${env:NAME:-default} or ${secret:NAME} (write $${ for a literal ${)", body)
	}
	if rest, ok := strings.CutPrefix(body, "env:"); ok {
		name, def, hasDef := strings.Cut(rest, ":-")
		if !envNameRE.MatchString(name) {
			return nil, bad()
		}
		return &ref{kind: refEnv, name: name, def: def, hasDef: hasDef}, nil
	}
	if name, ok := strings.CutPrefix(body, "secret:"); ok {
		if !envNameRE.MatchString(name) {
			return nil, bad()
		}
		return &ref{kind: refSecret, name: name}, nil
	}
	if !refNameRE.MatchString(body) {
		return nil, bad()
	}
	return &ref{kind: refName, name: body}, nil
}

// envRef is an ${env:…} or ${secret:…} reference and where it was written,
// so NewScope can report every missing variable before a run starts.
type envRef struct {
	at  Error // Msg is filled in when the variable is missing
	ref ref
}

// tmpl checks the template s written at n: its syntax, and that every name
// it reads is known at this point. It returns s unchanged: expansion happens
// at run time.
func (p *parser) tmpl(n *yaml.Node, what, s string) string {
	pieces, err := parseTemplate(s)
	if err != nil {
		p.errorf(n, "%s%v", prefix(what), err)
		return s
	}
	for _, pc := range pieces {
		switch r := pc.ref; {
		case r == nil:
		case r.kind != refName:
			p.refs = append(p.refs, envRef{at: *p.at(n, ""), ref: *r})
		case !p.known[r.name]:
			js := ""
			if what == "eval" || strings.HasSuffix(what, "js") {
				js = " (in JavaScript, write $${ for a literal ${)"
			}
			e := p.errorf(n, "%sunknown variable %q%s%s", prefix(what), r.name, p.knownHint(r.name), js)
			p.pending = append(p.pending, &pendingRef{err: e, name: r.name, what: what})
		}
	}
	return s
}

// knownHint suggests a close known name, or lists the known names.
func (p *parser) knownHint(name string) string {
	var names []string
	for k := range p.known {
		names = append(names, k)
	}
	slices.Sort(names)
	h := yamlnode.Hint(name, names)
	if strings.HasPrefix(h, " (") {
		return h
	}
	return "; known here: " + strings.Join(names, ", ")
}

// explainPending rewrites unknown-variable errors for names that a later step
// extracts, since the fix is to move the step, not to rename.
func (p *parser) explainPending() {
	for _, pr := range p.pending {
		if at, ok := p.extractedAt[pr.name]; ok && at >= pr.err.Step {
			pr.err.Msg = fmt.Sprintf("%svariable %q is used before step %d extracts it", prefix(pr.what), pr.name, at)
		} else if pr.err.Step == 0 && p.varNames[pr.name] {
			pr.err.Msg = fmt.Sprintf("%svariable %q is declared below: a var can only use the vars above it", prefix(pr.what), pr.name)
		}
	}
}

// knownSet returns a fresh set of the built-ins plus names.
func knownSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range append(slices.Clone(builtins), names...) {
		m[n] = true
	}
	return m
}
