package journeys

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

const scopeJourney = `name: scope
site: ${env:SHOP_URL:-http://127.0.0.1:8085}
vars:
  user: ada
  email: synthetic+${run.id}@example.com
  password: ${secret:SHOP_PASSWORD}
  greeting: "hi ${user}"
  region: ${env:REGION:-eu}
  literal: "$${user} stays"
steps:
  - goto: /login?next=${site}
  - fill: {"#user": "${user}", "#token": "${secret:API_TOKEN}"}
`

// newTestScope parses src and opens a scope with a fixed run and env.
func newTestScope(t *testing.T, src string, run RunInfo, env map[string]string) (*Scope, error) {
	t.Helper()
	j, err := Parse("scope.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if run.Rand == nil {
		run.Rand = rand.New(rand.NewPCG(1, 2))
	}
	return NewScope(j, run, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

var testRun = RunInfo{ID: "r42", Time: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)}

func TestScopeExpand(t *testing.T) {
	s, err := newTestScope(t, scopeJourney, testRun, map[string]string{
		"SHOP_PASSWORD": "hunter2", "API_TOKEN": "tok/en 1", "REGION": "", "HOME": "/home/ada",
	})
	if err != nil {
		t.Fatalf("NewScope: %v", err)
	}
	s.Set("order_id", "A-17")
	tests := []struct{ tmpl, want string }{
		{"plain text", "plain text"},
		{"${user}", "ada"},
		{"${email}", "synthetic+r42@example.com"},
		{"${greeting}!", "hi ada!"},
		{"${password}", "hunter2"},
		{"${secret:API_TOKEN}", "tok/en 1"},
		{"${env:HOME}", "/home/ada"},
		{"${env:MISSING:-fallback}", "fallback"},
		{"${region}", "eu"}, // set but empty takes the default, as in the shell
		{"${site}/cart", "http://127.0.0.1:8085/cart"},
		{"${run.id}@${run.time}", "r42@2026-03-01T12:30:00Z"},
		{"$${user} is ${user}", "${user} is ada"},
		{"${literal}", "${user} stays"},
		{"cost $5 {x}", "cost $5 {x}"},
		{"/orders/${order_id}", "/orders/A-17"},
	}
	for _, tt := range tests {
		got, err := s.Expand(tt.tmpl)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
}

func TestScopeRandom(t *testing.T) {
	s, err := newTestScope(t, "name: r\nsteps:\n  - goto: /\n", testRun, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tmpl string
		re   *regexp.Regexp
	}{
		{"${random.int}", regexp.MustCompile(`^[0-9]{1,9}$`)},
		{"${random.hex}", regexp.MustCompile(`^[0-9a-f]{16}$`)},
		{"${random.email}", regexp.MustCompile(`^waymark\+[0-9a-f]{16}@example\.com$`)},
	}
	for _, tt := range tests {
		a, err1 := s.Expand(tt.tmpl)
		b, err2 := s.Expand(tt.tmpl)
		if err1 != nil || err2 != nil || !tt.re.MatchString(a) || !tt.re.MatchString(b) {
			t.Errorf("Expand(%q) = %q, %q (%v, %v); want to match %s", tt.tmpl, a, b, err1, err2, tt.re)
		}
		if a == b {
			t.Errorf("Expand(%q) gave %q twice; want a fresh value each time", tt.tmpl, a)
		}
	}
}

func TestScopeSiteOverride(t *testing.T) {
	run := testRun
	run.Site = "https://staging.example.com"
	s, err := newTestScope(t, scopeJourney, run, map[string]string{"SHOP_PASSWORD": "x", "API_TOKEN": "y", "SHOP_URL": "http://ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Expand("${site}"); got != run.Site {
		t.Errorf("${site} = %q, want the RunInfo.Site %q", got, run.Site)
	}
	run.Site = ""
	s, err = newTestScope(t, scopeJourney, run, map[string]string{"SHOP_PASSWORD": "x", "API_TOKEN": "y", "SHOP_URL": "http://shop.test"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Expand("${site}"); got != "http://shop.test" {
		t.Errorf("${site} = %q, want the journey's site from SHOP_URL", got)
	}
}

func TestNewScopeMissingVariables(t *testing.T) {
	const src = `name: missing
vars:
  password: ${secret:SHOP_PASSWORD}
  key: ${env:API_KEY}
  ok: ${env:OPTIONAL:-x}
steps:
  - fill: {"#token": "${secret:API_TOKEN}"}
`
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"all missing", nil, `scope.yaml:3:13: secret SHOP_PASSWORD is not set: set the environment variable SHOP_PASSWORD
scope.yaml:4:8: environment variable API_KEY is not set: set it or give a default like ${env:API_KEY:-value}
scope.yaml:7:22: step 1 "fill #token": secret API_TOKEN is not set: set the environment variable API_TOKEN`},
		{"empty secret", map[string]string{"SHOP_PASSWORD": "", "API_KEY": "", "API_TOKEN": "t"},
			`scope.yaml:3:13: secret SHOP_PASSWORD is not set: set the environment variable SHOP_PASSWORD`},
		{"all set", map[string]string{"SHOP_PASSWORD": "p", "API_KEY": "k", "API_TOKEN": "t"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newTestScope(t, src, testRun, tt.env)
			if tt.want == "" {
				if err != nil || s == nil {
					t.Fatalf("NewScope = %v, %v; want a scope", s, err)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) || err.Error() != tt.want {
				t.Fatalf("NewScope error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestScopeExpandErrors(t *testing.T) {
	s, err := NewScope(&Journey{Name: "hand-made"}, testRun, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ tmpl, want string }{
		{"${nope}", `unknown variable "nope"`},
		{"${env:NOPE}", "environment variable NOPE is not set"},
		{"${secret:NOPE}", "secret NOPE is not set"},
		{"${open", `unclosed "${" in "${open"; write $${ for a literal ${`},
	}
	for _, tt := range tests {
		if got, err := s.Expand(tt.tmpl); err == nil || err.Error() != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want error %q", tt.tmpl, got, err, tt.want)
		}
	}
}

func TestScopeMask(t *testing.T) {
	s, err := newTestScope(t, scopeJourney, testRun, map[string]string{"SHOP_PASSWORD": "hunter2", "API_TOKEN": "tok/en 1&2"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"login as ada with hunter2", "login as ada with •••"},
		{"hunter2hunter2 and hunter2", "•••••• and •••"},
		{"GET https://x.test/api?token=tok%2Fen+1%262&p=hunter2", "GET https://x.test/api?token=•••&p=•••"},
		{"GET https://x.test/t/tok%2Fen%201&2", "GET https://x.test/t/•••"},
		{"header: tok/en 1&2", "header: •••"},
		{"nothing secret here", "nothing secret here"},
	}
	for _, tt := range tests {
		if got := s.Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for v, want := range map[string]bool{"hunter2": true, "pw=hunter2": true, "ada": false, "": false} {
		if got := s.Secret(v); got != want {
			t.Errorf("Secret(%q) = %v, want %v", v, got, want)
		}
	}
	// An extracted value is not a secret, even when masked text contains it.
	s.Set("order_id", "A-17")
	if s.Secret("A-17") {
		t.Error("extracted value reported as secret")
	}
}

// Secrets made of the characters that encoders treat differently: form
// and URL delimiters, a percent sign, quotes, a space, non-ASCII letters
// and a character beyond U+FFFF (a UTF-16 surrogate pair in JSON).
const (
	awkwardSecret = "Zq7~k*p!x y"
	symbolSecret  = `a+b%c&d=e/fé"g'h🔑`
)

// formEncode is what a browser sends for a form field (the WHATWG
// application/x-www-form-urlencoded serializer): ASCII alphanumerics and
// *-._ as they are, a space as +, every other byte as %HH.
func formEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c == ' ':
			b.WriteByte('+')
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("*-._", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// encodeURIComponent is JavaScript's: A-Z a-z 0-9 and -_.!~*'() as they
// are, every other byte as %HH.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// jsonString is s as a JSON string literal written by Go (which escapes
// quotes, and <, > and & as \u00XX).
func jsonString(s string) string {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// jsonASCII is s as a JSON string literal with every character outside
// printable ASCII as \uXXXX (lower-case hex, surrogate pairs beyond
// U+FFFF), as Python's json.dumps writes it, and / as \/ as PHP's
// json_encode does.
func jsonASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '/':
			b.WriteString(`\/`)
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// jsonEveryChar escapes every character as \uXXXX in upper-case hex.
func jsonEveryChar(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, `\u%04X`, u)
	}
	return b.String()
}

// lowerHex rewrites the %HH escapes of s in lower case.
func lowerHex(s string) string {
	return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(s, strings.ToLower)
}

func TestScopeMaskEncodings(t *testing.T) {
	s := &Scope{vals: map[string]string{}}
	s.addSecret(awkwardSecret)
	s.addSecret(symbolSecret)
	encodings := []struct {
		name   string
		encode func(string) string
	}{
		{"raw", func(v string) string { return v }},
		{"Go QueryEscape", url.QueryEscape},
		{"Go PathEscape", url.PathEscape},
		{"browser form", formEncode},
		{"JS encodeURIComponent", encodeURIComponent},
		{"lower-case hex", func(v string) string { return lowerHex(url.QueryEscape(v)) }},
		{"every byte percent-encoded", func(v string) string {
			var b strings.Builder
			for _, c := range []byte(v) {
				fmt.Fprintf(&b, "%%%02x", c)
			}
			return b.String()
		}},
		{"double QueryEscape", func(v string) string { return url.QueryEscape(url.QueryEscape(v)) }},
		{"double form", func(v string) string { return formEncode(formEncode(v)) }},
		{"double encodeURIComponent, lower hex", func(v string) string { return lowerHex(encodeURIComponent(encodeURIComponent(v))) }},
		{"Go JSON", func(v string) string { return strings.Trim(jsonString(v), `"`) }},
		{"ASCII JSON", jsonASCII},
		{"every char \\u-escaped", jsonEveryChar},
		{"HTML", html.EscapeString},
		{"JSON inside a query", func(v string) string { return url.QueryEscape(strings.Trim(jsonString(v), `"`)) }},
	}
	for _, secret := range []string{awkwardSecret, symbolSecret} {
		for _, enc := range encodings {
			encoded := enc.encode(secret)
			t.Run(enc.name+" "+secret, func(t *testing.T) {
				in, want := "before="+encoded+";after", "before="+Masked+";after"
				if got := s.Mask(in); got != want {
					t.Errorf("Mask(%q) = %q, want %q", in, got, want)
				}
				if !s.Secret(encoded) {
					t.Errorf("Secret(%q) = false, want true", encoded)
				}
			})
		}
	}
	// Text that shares a prefix with a secret, or differs from it in one
	// character, is not a secret.
	for _, in := range []string{
		"Zq7~k*p!x",              // the secret without its last character
		"Zq7~k*p!x_y",            // _ is not a space
		"zq7~k*p!x y",            // letters keep their case
		"Zq7%7Ek*p%21x",          // encoded, without its last characters
		"Zq7%7Ek*p%21x%2",        // a cut escape
		"Zq7\\u007ek*p!x\\u0020", // cut after the space
		`a+b%c&d=e/fé"g'h`,       // without the last character
		"a b%c&d=e/fé\"g'h🔑",     // a space is not a +
		"a+b%c&amp;d=e/fe\"g'h🔑", // e is not é
		"Zq7~k*p!x y"[1:],        // without its first character
	} {
		if got := s.Mask(in); got != in {
			t.Errorf("Mask(%q) = %q, want it unchanged", in, got)
		}
		if s.Secret(in) {
			t.Errorf("Secret(%q) = true, want false", in)
		}
	}
}

// TestScopeMaskLongest checks that of the encodings of a secret that start
// at the same place, the longest is masked, so no piece of one is left.
func TestScopeMaskLongest(t *testing.T) {
	s := &Scope{vals: map[string]string{}}
	s.addSecret("a%")
	tests := []struct{ in, want string }{
		{"a%", Masked},
		{"a%25", Masked},          // not "•••25"
		{"a%2525", Masked},        // not "•••2525" or "•••25"
		{"a%2526", Masked + "26"}, // a, then % encoded once, then 26
		{"a%ZZ", Masked + "ZZ"},
	}
	for _, tt := range tests {
		if got := s.Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScopeMaskNotUTF8(t *testing.T) {
	s := &Scope{vals: map[string]string{}}
	s.addSecret("\xffab")
	tests := []struct{ in, want string }{
		{"x\xffab", "x" + Masked},
		{"x%FFab", "x" + Masked},
		{"x%25ffab", "x" + Masked},
		{"xab", "xab"},
		{"x\xfeab", "x\xfeab"}, // another byte that is not UTF-8
	}
	for _, tt := range tests {
		if got := s.Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// formsRE spells out, as a regexp, the language Mask searches for a
// secret: for each character in turn, one of its forms; leftmost-longest,
// as Mask picks among matches. It is the reference FuzzMask holds Mask to.
// It only works for UTF-8 secrets without U+FFFD (regexp reads any byte
// that is not UTF-8 as U+FFFD).
func formsRE(v string) *regexp.Regexp {
	hex := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			if lower := c | 0x20; lower >= 'a' && lower <= 'f' {
				b.WriteString("[" + string(c&^0x20) + string(lower) + "]")
			} else {
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	var re strings.Builder
	for _, r := range v {
		var alts []string
		for _, f := range charForms(r, string(r)) {
			var b strings.Builder
			for _, p := range f {
				switch p.kind {
				case asIs:
					b.WriteString(regexp.QuoteMeta(p.text))
				case hexDigits:
					b.WriteString(hex(p.text))
				case percentEncoded:
					for _, c := range []byte(p.text) {
						b.WriteString(`%(?:25)?` + hex(fmt.Sprintf("%02X", c)))
					}
				case maybeEncoded:
					for _, c := range []byte(p.text) {
						b.WriteString(`(?:` + regexp.QuoteMeta(string(c)) + `|%(?:25)?` + hex(fmt.Sprintf("%02X", c)) + `)`)
					}
				}
			}
			alts = append(alts, b.String())
		}
		re.WriteString("(?:" + strings.Join(alts, "|") + ")")
	}
	compiled := regexp.MustCompile(re.String())
	compiled.Longest()
	return compiled
}

// FuzzMask checks that Mask finds exactly what the regexp of the secret's
// forms finds.
func FuzzMask(f *testing.F) {
	for _, v := range []string{awkwardSecret, symbolSecret, "hunter2", "%", "%%25", " ", "\\u", "&amp;", "é\n"} {
		f.Add(v, "x"+v+"y"+url.QueryEscape(v)+formEncode(v)+jsonASCII(v)+"%25"+html.EscapeString(v)+url.QueryEscape(jsonString(v)))
	}
	f.Fuzz(func(t *testing.T, secret, text string) {
		if secret == "" || len(secret) > 64 || !utf8.ValidString(secret) || strings.ContainsRune(secret, utf8.RuneError) {
			t.Skip("formsRE needs a short UTF-8 secret without U+FFFD")
		}
		s := &Scope{vals: map[string]string{}}
		s.addSecret(secret)
		if got, want := s.Mask(text), formsRE(secret).ReplaceAllLiteralString(text, Masked); got != want {
			t.Errorf("secret %q: Mask(%q) = %q, the regexp gives %q", secret, text, got, want)
		}
	})
}

func TestScopeConcurrentUse(t *testing.T) {
	s, err := newTestScope(t, scopeJourney, testRun, map[string]string{"SHOP_PASSWORD": "hunter2", "API_TOKEN": "t"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 50 {
				s.Set("v", strings.Repeat("x", i))
				if _, err := s.Expand("${v} ${random.hex} ${password}"); err != nil {
					t.Error(err)
				}
				_ = s.Mask("hunter2")
			}
		})
	}
	wg.Wait()
}

// maskBenchText repeats parts to 4 KB.
func maskBenchText(parts ...string) string {
	var b strings.Builder
	for i := 0; b.Len() < 4096; i++ {
		b.WriteString(parts[i%len(parts)])
	}
	return b.String()[:4096]
}

// BenchmarkMask masks three secrets in 4 KB of what a run records: URLs,
// JSON and log text with the secrets in them in several encodings, and
// messages with neither secrets nor any of the bytes that encodings use
// (the common case: step names, errors, expected and actual texts).
func BenchmarkMask(b *testing.B) {
	s := &Scope{vals: map[string]string{}}
	for _, v := range []string{"hunter2", awkwardSecret, symbolSecret} {
		s.addSecret(v)
	}
	inputs := []struct{ name, text string }{
		{"urls-and-json", maskBenchText(
			"GET https://shop.example.com/search?q=Zq7%7Ek*p%21x+y&page=2&sort=price ",
			`{"user":"ada@example.com","password":"hunter2","items":[{"sku":"bike-light","qty":2}]} `,
			"step 4 \"fill #password\": typed into [data-test=password] after 120ms; the page said: Welcome back, Ada. ",
			"POST https://api.example.com/v1/orders?note=a%2Bb%25c%26d%3De%2Ff%C3%A9%22g%27h%F0%9F%94%91 answered 201 Created in 87ms ",
			"console: [info] analytics loaded from https://cdn.example.com/a.js?v=1.2.3&id=UA-12345 ",
		)},
		{"messages", maskBenchText(
			"step 7 \"assert text [data-test=cart-badge]\": expected \"2\", last seen \"1\" after 10s; ",
			"the page at https://shop.example.com/cart answered 200 in 143ms. ",
			"console: [warning] Deprecated API used by the theme; see the docs. ",
		)},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for b.Loop() {
				s.Mask(in.text)
			}
		})
	}
}
