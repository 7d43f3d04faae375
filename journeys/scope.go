package journeys

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RunInfo is what a Scope knows about the run it expands templates for.
type RunInfo struct {
	ID   string
	Time time.Time
	// Site is the effective base URL (e.g. from --base-url). Empty means
	// the journey's own `site:`, which NewScope expands.
	Site string
	// Rand is the source of ${random.*}; nil means one seeded from
	// crypto/rand. Tests inject a seeded one for repeatable values.
	Rand *rand.Rand
}

// Masked is what Scope.Mask puts in place of a secret value.
const Masked = "•••"

// Scope resolves ${…} references for one run: journey vars, values
// extracted by earlier steps, built-ins, the environment and secrets. It
// remembers every secret value so that Mask can hide them in anything the
// run records. It is safe for concurrent use.
type Scope struct {
	mu      sync.Mutex
	run     RunInfo
	env     func(string) (string, bool)
	vals    map[string]string
	secrets []string // longest first, so a secret containing another is masked whole
	rnd     *rand.Rand
}

// NewScope prepares the variables of one run of j. env reads the
// environment (the CLI passes os.LookupEnv; nil means an empty one). Every
// ${env:X} without default and every ${secret:X} in the journey and its
// snippets must be set, or the error — an ErrorList — names each place and
// variable. Journey vars are then resolved in file order, once per run.
func NewScope(j *Journey, run RunInfo, env func(string) (string, bool)) (*Scope, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	s := &Scope{run: run, env: env, vals: map[string]string{}, rnd: run.Rand}
	if s.rnd == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails on supported platforms
		s.rnd = rand.New(rand.NewChaCha8(seed))
	}
	var errs ErrorList
	for _, r := range j.refs {
		v, ok := env(r.ref.name)
		var msg string
		switch {
		case r.ref.kind == refSecret && v == "":
			msg = fmt.Sprintf("secret %s is not set: set the environment variable %s", r.ref.name, r.ref.name)
		case r.ref.kind == refSecret:
			s.addSecret(v)
		case !ok && !r.ref.hasDef:
			msg = fmt.Sprintf("environment variable %s is not set: set it or give a default like ${env:%s:-value}", r.ref.name, r.ref.name)
		}
		if msg != "" {
			e := r.at
			e.Msg = msg
			errs = append(errs, &e)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if s.run.Site == "" {
		site, err := s.Expand(j.Site)
		if err != nil {
			return nil, fmt.Errorf("%s: site: %w", j.File, err)
		}
		s.run.Site = site
	}
	for _, v := range j.Vars {
		val, err := s.Expand(v.Value)
		if err != nil {
			return nil, &Error{File: j.File, Pos: v.Pos, Msg: fmt.Sprintf("vars.%s: %v", v.Name, err)}
		}
		s.Set(v.Name, val)
	}
	return s, nil
}

// Expand replaces every ${…} of tmpl with its value now. `$${` gives a
// literal `${`. Each ${random.*} gives a fresh value; put one in a var to
// reuse it. Errors name the variable, never a value.
func (s *Scope) Expand(tmpl string) (string, error) {
	pieces, err := parseTemplate(tmpl)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, pc := range pieces {
		if pc.ref == nil {
			b.WriteString(pc.lit)
			continue
		}
		v, err := s.value(pc.ref)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// value resolves one reference; s.mu is held.
func (s *Scope) value(r *ref) (string, error) {
	switch r.kind {
	case refEnv:
		v, ok := s.env(r.name)
		if r.hasDef && v == "" {
			return r.def, nil
		}
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", r.name)
		}
		return v, nil
	case refSecret:
		v, _ := s.env(r.name)
		if v == "" {
			return "", fmt.Errorf("secret %s is not set", r.name)
		}
		s.addSecret(v)
		return v, nil
	}
	switch r.name {
	case "site":
		return s.run.Site, nil
	case "run.id":
		return s.run.ID, nil
	case "run.time":
		return s.run.Time.Format(time.RFC3339), nil
	case "random.int":
		return strconv.Itoa(s.rnd.IntN(1_000_000_000)), nil
	case "random.hex":
		return s.hex(), nil
	case "random.email":
		return "waymark+" + s.hex() + "@example.com", nil
	}
	if v, ok := s.vals[r.name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("unknown variable %q", r.name)
}

// hex returns 16 random hex digits; s.mu is held.
func (s *Scope) hex() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.rnd.Uint64())
	return fmt.Sprintf("%x", b)
}

// Set records a value extracted by a step (or a snippet param) under name,
// for the templates of later steps.
func (s *Scope) Set(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals[name] = value
}

// addSecret remembers a secret value; s.mu is held or s is not shared yet.
func (s *Scope) addSecret(v string) {
	if v == "" || slices.Contains(s.secrets, v) {
		return
	}
	s.secrets = append(s.secrets, v)
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Mask returns text with every secret value replaced by "•••", also where a
// value appears URL-encoded (in a query or a path), so secrets stay out of
// the database, logs, reports and notifications.
func (s *Scope) Mask(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.secrets {
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			text = strings.ReplaceAll(text, form, Masked)
		}
	}
	return text
}

// Secret reports whether an expanded value holds a secret, so the runner
// can keep it out of logs (e.g. the text it types into a field).
func (s *Scope) Secret(value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.secrets, func(v string) bool { return strings.Contains(value, v) })
}
