package journeys

import (
	"strings"
	"testing"
)

const resolveJourney = `name: resolve
site: http://shop.test
vars:
  user: ada
  token: ${secret:API_TOKEN}
steps:
  - goto: /users/${user}?t=${token}
  - click: "text=Hello ${user}"
  - fill: {"#name-${user}": "${user} lovelace"}
  - upload: {"#cv-${user}": testdata/valid/files/avatar.txt}
  - assert: {text: "#greet", equals: "hi ${user}"}
  - assert: {url: {matches: "^/users/[a-z]+$"}}
  - assert: {js: "window.user === '${user}'"}
  - wait_for: {text: "#status", contains: "${user}"}
  - extract: {who: {js: "'${user}'"}}
  - eval: "localStorage.token = '${token}'"
  - set_cookie: {name: u, value: "${user}", domain: shop.test}
  - request:
      method: POST
      url: /api/${user}
      headers: {Authorization: "Bearer ${token}"}
      json: {name: "${user}", n: 2, tags: ["${user}", true]}
      expect: {status: 201, json: {name: "${user}"}}
      extract: {id: data.id}
  - goto: /${who}/${id}
`

// TestResolve expands every template a step holds, once, and nothing that
// is not a template.
func TestResolve(t *testing.T) {
	s, err := newTestScope(t, resolveJourney, testRun, map[string]string{"API_TOKEN": "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := Parse("scope.yaml", []byte(resolveJourney))
	r := func(i int) *Step {
		t.Helper()
		st, err := s.Resolve(&j.Steps[i-1])
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		return st
	}
	for _, tc := range []struct {
		step      int
		got, want string
	}{
		{1, r(1).Target, "/users/ada?t=s3cr3t"},
		{2, r(2).Locator.Value, "Hello ada"},
		{2, r(2).Locator.Raw, "text=Hello ada"},
		{2, r(2).Target, "text=Hello ada"},
		{3, r(3).Fields[0].Locator.Raw, "#name-ada"},
		{3, r(3).Fields[0].Value, "ada lovelace"},
		{4, r(4).Fields[0].Locator.Value, "#cv-ada"},
		{5, *r(5).Assert.Match.Equals, "hi ada"},
		{6, *r(6).Assert.Match.Matches, "^/users/[a-z]+$"},
		{7, r(7).Assert.JS, "window.user === 'ada'"},
		{8, *r(8).WaitFor.Match.Contains, "ada"},
		{9, r(9).Extract[0].JS, "'ada'"},
		{10, r(10).Target, "localStorage.token = 's3cr3t'"},
		{11, r(11).Cookie.Value, "ada"},
		{12, r(12).Request.URL, "/api/ada"},
		{12, r(12).Request.Headers["Authorization"], "Bearer s3cr3t"},
		{12, r(12).Request.JSON.(map[string]any)["name"].(string), "ada"},
		{12, r(12).Request.JSON.(map[string]any)["tags"].([]any)[0].(string), "ada"},
		{12, r(12).Request.Expect.JSON["name"].(string), "ada"},
		{12, r(12).Request.Extract["id"], "data.id"},
	} {
		if tc.got != tc.want {
			t.Errorf("step %d: got %q, want %q", tc.step, tc.got, tc.want)
		}
	}
	if up := r(4).Fields[0].Value; !strings.HasSuffix(up, "avatar.txt") || strings.Contains(up, "${") {
		t.Errorf("upload path %q changed", up)
	}
	if n := r(12).Request.JSON.(map[string]any)["n"]; n != 2 {
		t.Errorf("a number in request json became %#v", n)
	}
	// The journey's own step is left as written.
	if j.Steps[0].Target != "/users/${user}?t=${token}" || *j.Steps[4].Assert.Match.Equals != "hi ${user}" ||
		j.Steps[11].Request.Headers["Authorization"] != "Bearer ${token}" {
		t.Errorf("Resolve changed the journey: %q %q", j.Steps[0].Target, *j.Steps[4].Assert.Match.Equals)
	}
	// What it expanded from a secret is masked.
	if got := s.Mask(r(1).Target); got != "/users/ada?t="+Masked {
		t.Errorf("masked target %q", got)
	}

	// A value a skipped step would have extracted is an error that names
	// the field and the variable, never a value.
	_, err = s.Resolve(&j.Steps[12])
	if err == nil || !strings.Contains(err.Error(), "goto") || !strings.Contains(err.Error(), `"who"`) {
		t.Errorf("resolving a step whose variable is unset: %v", err)
	}
	s.Set("who", "grace")
	s.Set("id", "7")
	if got := r(13).Target; got != "/grace/7" {
		t.Errorf("after extraction: %q", got)
	}
}

func TestResolveMap(t *testing.T) {
	s, err := newTestScope(t, resolveJourney, testRun, map[string]string{"API_TOKEN": "s3cr3t"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.ResolveMap("headers", map[string]string{"X-User": "${user}", "Authorization": "Bearer ${token}"})
	if err != nil || h["X-User"] != "ada" || h["Authorization"] != "Bearer s3cr3t" {
		t.Errorf("ResolveMap = %v, %v", h, err)
	}
	if _, err := s.ResolveMap("headers", map[string]string{"X": "${nope}"}); err == nil || !strings.Contains(err.Error(), "headers.X") {
		t.Errorf("unknown variable in a header: %v", err)
	}
}
