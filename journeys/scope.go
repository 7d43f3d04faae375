package journeys

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
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
	secrets []secret // longest first, so a secret containing another is masked whole
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

// addSecret remembers a secret value and prepares what finds it; s.mu is
// held or s is not shared yet. The slice is replaced, never changed in
// place, so Mask can go on with the one it read without holding the lock.
func (s *Scope) addSecret(v string) {
	if v == "" || slices.ContainsFunc(s.secrets, func(x secret) bool { return x.value == v }) {
		return
	}
	secrets := append(slices.Clone(s.secrets), newSecret(v))
	slices.SortStableFunc(secrets, func(a, b secret) int { return len(b.value) - len(a.value) })
	s.secrets = secrets
}

// Mask returns text with every secret value replaced by "•••", in any
// encoding a URL, a form, a JSON body or HTML may give it (see charForms),
// so secrets stay out of the database, logs, reports and notifications.
// Longer secrets are masked first, so a secret that contains another is
// masked whole.
func (s *Scope) Mask(text string) string {
	plain := isPlain(text) // and stays so: ••• has none of those bytes
	var room sets
	for _, sec := range s.secretList() {
		var b strings.Builder
		for {
			start, end := sec.index(text, plain, &room)
			if start < 0 {
				break
			}
			if b.Len() == 0 {
				b.Grow(len(text))
			}
			b.WriteString(text[:start])
			b.WriteString(Masked)
			text = text[end:]
		}
		if b.Len() > 0 {
			b.WriteString(text)
			text = b.String()
		}
	}
	return text
}

// Secret reports whether an expanded value holds a secret, in any of the
// encodings Mask hides, so the runner can keep it out of logs (e.g. the
// text it types into a field).
func (s *Scope) Secret(value string) bool {
	plain := isPlain(value)
	var room sets
	return slices.ContainsFunc(s.secretList(), func(sec secret) bool {
		start, _ := sec.index(value, plain, &room)
		return start >= 0
	})
}

// isPlain reports whether text has none of the bytes that every form of a
// character but the character itself has (see charForms): then a secret
// can only be in it as it is.
func isPlain(text string) bool {
	return !strings.ContainsAny(text, `%\&+`)
}

// secretList returns the secrets known now. The slice is never changed in
// place, so it can be read after the lock is released.
func (s *Scope) secretList() []secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secrets
}

// secret is one secret value and what finds it in any encoding.
type secret struct {
	value string
	// chars holds the forms of each character of value (see charForms).
	chars [][]form
	// The first character's forms start with a byte in starts, or with
	// % and two hex digits giving a byte in encStarts: index tries only
	// such places.
	starts, encStarts [256]bool
}

// newSecret prepares the search of a secret value: each character's forms,
// read once here so that Mask only compares bytes.
func newSecret(v string) secret {
	sec := secret{value: v}
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		sec.chars = append(sec.chars, charForms(r, v[i:i+size]))
		i += size
	}
	for _, f := range sec.chars[0] {
		switch p := f[0]; p.kind {
		case asIs:
			sec.starts[p.text[0]] = true
		case percentEncoded:
			sec.encStarts[p.text[0]] = true
		case maybeEncoded:
			sec.starts[p.text[0]], sec.encStarts[p.text[0]] = true, true
		}
	}
	return sec
}

// index returns where the first occurrence of the secret, in any encoding,
// starts and ends in text, or -1, -1. Of the occurrences that start at the
// same place, the longest counts. plain is isPlain(text); room is reused
// from call to call.
func (sec *secret) index(text string, plain bool, room *sets) (start, end int) {
	if plain {
		if i := strings.Index(text, sec.value); i >= 0 {
			return i, i + len(sec.value)
		}
		return -1, -1
	}
	for i := range len(text) {
		if sec.mayStart(text, i) {
			if end := sec.at(text, i, room); end >= 0 {
				return i, end
			}
		}
	}
	return -1, -1
}

// mayStart tells at a glance whether the secret may start at text[i:]: by
// its first byte, or the byte that a %HH or %25HH there encodes.
func (sec *secret) mayStart(text string, i int) bool {
	if sec.starts[text[i]] {
		return true
	}
	if text[i] != '%' {
		return false
	}
	b := hexByte(text, i+1)
	if b == '%' { // maybe %25HH
		if b2 := hexByte(text, i+3); b2 >= 0 && sec.encStarts[b2] {
			return true
		}
	}
	return b >= 0 && sec.encStarts[b]
}

// at returns where the longest occurrence of the secret that starts at
// text[i:] ends, or -1. It follows every way of reading the characters at
// once, keeping the set of places where the characters read so far can end,
// so that no text can make it backtrack: its work grows with the length of
// the secret, never exponentially.
func (sec *secret) at(text string, i int, room *sets) int {
	ends, next := append(room[0][:0], i), room[1][:0]
	defer func() { room[0], room[1] = ends, next }() // keep what grew
	for _, forms := range sec.chars {
		next = next[:0]
		for _, e := range ends {
			next = charEnds(next, text, e, forms)
		}
		if len(next) == 0 {
			return -1
		}
		slices.Sort(next)
		ends, next = slices.Compact(next), ends
	}
	return ends[len(ends)-1]
}

// sets is room for the two sets of places secret.at keeps, reused across
// calls so that masking does not allocate for every candidate place.
type sets [2][]int

// A form is one way of writing a character: a sequence of parts.
type form []part

// part is a piece of a form.
type part struct {
	kind partKind
	text string
}

// partKind says how the text of a part may appear.
type partKind int

const (
	asIs           partKind = iota // the text itself
	hexDigits                      // hex digits in either case
	percentEncoded                 // each byte as %HH or, encoded twice, %25HH (hex in either case)
	maybeEncoded                   // each byte as itself, %HH or %25HH
)

// charForms lists the ways the character r, raw in UTF-8, can be written
// in what a page or the runner produces, so that Mask finds a secret in
// all of them:
//
//   - as it is;
//   - percent-encoded, each UTF-8 byte as %HH, or %25HH when encoded twice
//     (a URL inside another URL's query), hex in either case: this covers
//     Go's url.QueryEscape and url.PathEscape, JavaScript's
//     encodeURIComponent and a browser's form encoding;
//   - a space also as + (form encoding), or %2B once that is encoded again;
//   - as a JSON \uXXXX escape, hex in either case (a surrogate pair beyond
//     U+FFFF), its backslash maybe percent-encoded (JSON in a query);
//   - as a JSON short escape (\" \\ \/ \b \f \n \r \t) or an HTML character
//     reference (&amp; &lt; &gt; &quot; &#34; &#39; &apos;), each byte of
//     which may be percent-encoded.
func charForms(r rune, raw string) []form {
	if r == utf8.RuneError && len(raw) == 1 { // a byte that is not UTF-8
		return []form{{{asIs, raw}}, {{percentEncoded, raw}}}
	}
	forms := []form{{{asIs, raw}}, {{percentEncoded, raw}}}
	if r == ' ' {
		forms = append(forms, form{{asIs, "+"}}, form{{percentEncoded, "+"}})
	}
	var unicode form
	for _, u := range utf16.Encode([]rune{r}) {
		unicode = append(unicode, part{maybeEncoded, `\`}, part{asIs, "u"}, part{hexDigits, fmt.Sprintf("%04X", u)})
	}
	forms = append(forms, unicode)
	for _, e := range escapes(r) {
		forms = append(forms, form{{maybeEncoded, e}})
	}
	return forms
}

// escapes are the JSON short escapes and the HTML character references
// (those of Go's html.EscapeString and html/template, and the usual named
// ones) of r.
func escapes(r rune) []string {
	switch r {
	case '"':
		return []string{`\"`, "&quot;", "&#34;"}
	case '\\':
		return []string{`\\`}
	case '/':
		return []string{`\/`}
	case '\b':
		return []string{`\b`}
	case '\f':
		return []string{`\f`}
	case '\n':
		return []string{`\n`}
	case '\r':
		return []string{`\r`}
	case '\t':
		return []string{`\t`}
	case '&':
		return []string{"&amp;"}
	case '<':
		return []string{"&lt;"}
	case '>':
		return []string{"&gt;"}
	case '\'':
		return []string{"&#39;", "&apos;"}
	}
	return nil
}

// charEnds appends to ends every place where one of forms, starting at
// text[i:], ends. It does not allocate while ends has room.
func charEnds(ends []int, text string, i int, forms []form) []int {
	if i >= len(text) {
		return ends
	}
	for _, f := range forms {
		switch c, p := text[i], f[0]; { // a quick look at the first byte
		case p.kind == asIs && c != p.text[0],
			p.kind == percentEncoded && c != '%',
			p.kind == maybeEncoded && c != p.text[0] && c != '%':
			continue
		}
		ends = partsEnds(ends, text, i, f)
	}
	return ends
}

// partsEnds appends to ends every place where parts, starting at text[i:],
// end.
func partsEnds(ends []int, text string, i int, parts []part) []int {
	if len(parts) == 0 {
		return append(ends, i)
	}
	p, rest := parts[0], parts[1:]
	switch p.kind {
	case asIs:
		if strings.HasPrefix(text[i:], p.text) {
			ends = partsEnds(ends, text, i+len(p.text), rest)
		}
	case hexDigits:
		if n := len(p.text); i+n <= len(text) && strings.EqualFold(text[i:i+n], p.text) {
			ends = partsEnds(ends, text, i+n, rest)
		}
	case percentEncoded, maybeEncoded:
		ends = bytesEnds(ends, text, i, p.text, p.kind == maybeEncoded, rest)
	}
	return ends
}

// bytesEnds appends to ends every place where the bytes of s, each
// percent-encoded once or twice or, when asIs, as they are, and then rest,
// end when they start at text[i:].
func bytesEnds(ends []int, text string, i int, s string, asIs bool, rest []part) []int {
	if s == "" {
		return partsEnds(ends, text, i, rest)
	}
	c := s[0]
	if asIs && i < len(text) && text[i] == c {
		ends = bytesEnds(ends, text, i+1, s[1:], asIs, rest)
	}
	if strings.HasPrefix(text[i:], "%") && hexByte(text, i+1) == int(c) {
		ends = bytesEnds(ends, text, i+3, s[1:], asIs, rest)
	}
	if strings.HasPrefix(text[i:], "%25") && hexByte(text, i+3) == int(c) {
		ends = bytesEnds(ends, text, i+5, s[1:], asIs, rest)
	}
	return ends
}

// hexByte reads the two hex digits, of either case, at text[i:], or gives
// -1.
func hexByte(text string, i int) int {
	if i+2 > len(text) {
		return -1
	}
	n := 0
	for _, c := range []byte(text[i : i+2]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		n = n<<4 | int(c)
	}
	return n
}
