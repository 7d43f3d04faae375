package journeys

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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
