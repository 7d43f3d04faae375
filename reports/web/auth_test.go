package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testToken is the fixture dashboard's token when it has one.
const testToken = "s3cret-token-0123456789abcdef"

// tokenDashboard serves the fixture's dashboard with a token.
func tokenDashboard(t *testing.T, fx fixture, token string, secure bool) string {
	t.Helper()
	d := testDashboard(fx, &runNowLog{})
	d.Token, d.SecureCookie = token, secure
	return serve(t, Options{Dashboard: d})
}

// sessionCookieOf is the session cookie a reply sets, or nil.
func sessionCookieOf(r reply) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// signIn posts the login form from the dashboard's own page and returns
// the reply.
func signIn(t *testing.T, base, token, next string) reply {
	t.Helper()
	return send(t, "POST", base+"/login", formType, url.Values{"token": {token}, "next": {next}}.Encode(),
		map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base})
}

// TestAccessOpen: with no token (a loopback bind) everything is open, but
// a state-changing request from another site's page is refused.
func TestAccessOpen(t *testing.T) {
	fx := fillStore(t, openTestStore(t, filepath.Join(t.TempDir(), "waymark.db")))
	base := serve(t, Options{Dashboard: testDashboard(fx, &runNowLog{})})
	for _, path := range []string{"/api/v1/journeys", "/healthz", "/metrics", "/static/app.css", "/api/v1/runs/" + fx.failed.ID} {
		if r := do(t, "GET", base+path, nil); r.code != 200 {
			t.Errorf("GET %s open: %d", path, r.code)
		}
	}
	if r := do(t, "GET", base+"/login", nil); r.code != 303 && r.code != 200 {
		t.Errorf("GET /login open: %d", r.code)
	}
	run := base + "/api/v1/journeys/guest-checkout/run"
	for _, tc := range []struct {
		name   string
		header map[string]string
		code   int
	}{
		{"a script (no browser headers)", nil, 202},
		{"the dashboard's own page", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base}, 202},
		{"the user typing", map[string]string{"Sec-Fetch-Site": "none"}, 202},
		{"another site's page", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"a sibling site's page", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other.localhost"}, 403},
		{"an old browser on another site", map[string]string{"Origin": "https://evil.example"}, 403},
		{"another site with a made-up bearer", map[string]string{"Sec-Fetch-Site": "cross-site", "Authorization": "Bearer x"}, 403},
	} {
		r := send(t, "POST", run, "", "", tc.header)
		if r.code != tc.code {
			t.Errorf("%s: POST %d, want %d\n%s", tc.name, r.code, tc.code, r.body)
		}
		if tc.code == 403 {
			wantError(t, tc.name, r, 403, "cross-origin request refused")
		}
	}
	// Every POST route, and the login form itself.
	for _, path := range []string{"/api/v1/incidents/" + fx.open.Ref() + "/ack", "/api/v1/maintenance", "/api/v1/maintenance/1/end", "/login", "/logout"} {
		if r := send(t, "POST", base+path, jsonType, `{"by": "x"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.code != 403 {
			t.Errorf("cross-site POST %s: %d, want 403", path, r.code)
		}
	}
	// A cross-site GET changes nothing and is served.
	if r := do(t, "GET", base+"/api/v1/journeys", map[string]string{"Sec-Fetch-Site": "cross-site"}); r.code != 200 {
		t.Errorf("cross-site GET: %d", r.code)
	}
}

// TestAccessToken: with a token, the API needs the bearer token or the
// login cookie, pages send people to the login form, and the probes, the
// scrape and the static files stay open.
func TestAccessToken(t *testing.T) {
	fx := fillStore(t, openTestStore(t, filepath.Join(t.TempDir(), "waymark.db")))
	base := tokenDashboard(t, fx, testToken, false)
	bearer := map[string]string{"Authorization": "Bearer " + testToken}

	for _, path := range []string{"/healthz", "/metrics", "/static/app.css", "/login"} {
		if r := send(t, "GET", base+path, "", "", nil); r.code != 200 {
			t.Errorf("GET %s without a token: %d, want 200", path, r.code)
		}
	}
	for _, path := range []string{"/api/v1/journeys", "/api/v1/runs/" + fx.failed.ID, "/api/v1/incidents", "/api/v1/nope", "/events"} {
		r := send(t, "GET", base+path, "", "", nil)
		if path != "/events" {
			wantError(t, "GET "+path+" without a token", r, 401, "authentication required")
		} else if r.code != 401 {
			t.Errorf("GET /events without a token: %d", r.code)
		}
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="waymark"` {
			t.Errorf("GET %s: WWW-Authenticate %q", path, got)
		}
	}
	wantError(t, "a wrong token", send(t, "GET", base+"/api/v1/journeys", "", "", map[string]string{"Authorization": "Bearer " + testToken + "x"}), 401, "not this dashboard's token")
	wantError(t, "a token as Basic", send(t, "GET", base+"/api/v1/journeys", "", "", map[string]string{"Authorization": "Basic " + testToken}), 401, "")
	wantError(t, "POST without a token", send(t, "POST", base+"/api/v1/journeys/guest-checkout/run", "", "", nil), 401, "authentication required")
	// A path that only looks open is not.
	for _, path := range []string{"/static/../api/v1/journeys", "/static/%2e%2e/api/v1/journeys", "/healthz/../api/v1/journeys", "/login/../api/v1/incidents"} {
		r := send(t, "GET", base+path, "", "", nil)
		if r.code == 200 {
			t.Errorf("GET %s without a token: 200\n%s", path, r.body)
		}
	}

	// Pages go to the login form, keeping where they were going.
	for _, tc := range []struct{ path, next string }{
		{"/", "/"},
		{"/runs/" + fx.failed.ID + "?x=1", "/runs/" + fx.failed.ID + "?x=1"},
		{"/incidents/" + fx.open.Ref(), "/incidents/" + fx.open.Ref()},
		{"/artifacts/" + fx.shot, "/artifacts/" + fx.shot},
	} {
		r := send(t, "GET", base+tc.path, "", "", nil)
		want := "/login?next=" + url.QueryEscape(tc.next)
		if r.code != 303 || r.header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", tc.path, r.code, r.header.Get("Location"), want)
		}
	}

	// The bearer token opens everything, and passes the origin check (no
	// page can make a browser send it).
	for _, path := range []string{"/api/v1/journeys", "/api/v1/runs/" + fx.failed.ID, "/runs/" + fx.failed.ID + "/steps/14/screenshot", "/artifacts/" + fx.shot} {
		if r := send(t, "GET", base+path, "", "", bearer); r.code != 200 {
			t.Errorf("GET %s with the token: %d", path, r.code)
		}
	}
	withOrigin := map[string]string{"Authorization": "Bearer " + testToken, "Sec-Fetch-Site": "cross-site", "Origin": "https://ci.example"}
	if r := send(t, "POST", base+"/api/v1/journeys/guest-checkout/run", "", "", withOrigin); r.code != 202 {
		t.Errorf("POST with the token from elsewhere: %d %s", r.code, r.body)
	}
}

// TestAccessLogin: the login form sets a signed, HTTP-only cookie that
// opens the dashboard to its own pages; a wrong token, a forged, expired
// or old cookie do not; logout clears it.
func TestAccessLogin(t *testing.T) {
	fx := fillStore(t, openTestStore(t, filepath.Join(t.TempDir(), "waymark.db")))
	base := tokenDashboard(t, fx, testToken, false)

	r := send(t, "GET", base+"/login?next="+url.QueryEscape(`/runs/x"><script>alert(1)</script>`), "", "", nil)
	if r.code != 200 || !strings.Contains(r.body, `name="token"`) || !strings.Contains(r.body, `type="password"`) {
		t.Fatalf("login page: %d\n%s", r.code, r.body)
	}
	if strings.Contains(r.body, "<script>alert(1)") || strings.Contains(r.body, `x">`) {
		t.Errorf("the login page carries next unescaped:\n%s", r.body)
	}
	if r.header.Get("Content-Security-Policy") == "" {
		t.Error("the login page has no Content-Security-Policy")
	}

	r = signIn(t, base, "not-the-token-at-all", "/incidents")
	if r.code != 401 || sessionCookieOf(r) != nil || !strings.Contains(r.body, "not this dashboard") {
		t.Errorf("a wrong token: %d, cookie %v", r.code, sessionCookieOf(r))
	}
	r = signIn(t, base, testToken, "/incidents")
	c := sessionCookieOf(r)
	if r.code != 303 || r.header.Get("Location") != "/incidents" || c == nil {
		t.Fatalf("login: %d to %q, cookie %v", r.code, r.header.Get("Location"), c)
	}
	if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 30*24*3600 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, 30 days, not Secure over http", c)
	}
	if strings.Contains(c.Value, testToken) {
		t.Error("the cookie holds the token")
	}
	// Another site cannot sign people in (login CSRF) nor send them
	// elsewhere afterwards.
	if r := send(t, "POST", base+"/login", formType, "token="+testToken, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.code != 403 {
		t.Errorf("cross-site login: %d", r.code)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`, "/\t/evil.example", "javascript:alert(1)", "/login?next=/x"} {
		if r := signIn(t, base, testToken, next); r.header.Get("Location") != "/" {
			t.Errorf("next %q: sent to %q, want /", next, r.header.Get("Location"))
		}
	}

	withCookie := func(value string, extra map[string]string) map[string]string {
		h := map[string]string{"Cookie": sessionCookie + "=" + value}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	if r := send(t, "GET", base+"/api/v1/journeys", "", "", withCookie(c.Value, nil)); r.code != 200 {
		t.Errorf("GET with the cookie: %d", r.code)
	}
	if r := send(t, "GET", base+"/login", "", "", withCookie(c.Value, nil)); r.code != 303 {
		t.Errorf("the login page when signed in: %d, want on to /", r.code)
	}
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base, "HX-Request": "true"}
	r = send(t, "POST", base+"/api/v1/incidents/"+fx.open.Ref()+"/ack", formType, "by=ana&note=mine", withCookie(c.Value, sameOrigin))
	if r.code != 200 || r.header.Get("HX-Refresh") != "true" {
		t.Errorf("same-origin POST with the cookie: %d %s", r.code, r.body)
	}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	if r := send(t, "POST", base+"/api/v1/incidents/"+fx.open.Ref()+"/note", formType, "by=evil&note=x", withCookie(c.Value, crossSite)); r.code != 403 {
		t.Errorf("cross-site POST with the cookie: %d", r.code)
	}

	// Cookies that must not open it.
	exp, _, _ := strings.Cut(strings.TrimPrefix(c.Value, sessionVersion+"."), ".")
	other := &dash{Dashboard: Dashboard{Token: "another-token-0123456789", Now: func() time.Time { return fx.now }}}
	mine := &dash{Dashboard: Dashboard{Token: testToken, Now: func() time.Time { return fx.now }}}
	n, _ := strconv.ParseInt(exp, 10, 64)
	for _, tc := range []struct{ name, value string }{
		{"empty", ""},
		{"garbage", "hello"},
		{"the token itself", testToken},
		{"another expiry, same MAC", sessionVersion + "." + strconv.FormatInt(n+3600, 10) + "." + strings.SplitN(c.Value, ".", 3)[2]},
		{"a MAC cut short", c.Value[:len(c.Value)-4]},
		{"a MAC changed", flipAt(c.Value, len(c.Value)-10)},
		{"signed with another token", other.sessionValue(n)},
		{"expired", mine.sessionValue(fx.now.Add(-time.Minute).Unix())},
		{"from far in the future", mine.sessionValue(fx.now.Add(365 * 24 * time.Hour).Unix())},
		{"another version", "v0." + exp + "." + strings.SplitN(c.Value, ".", 3)[2]},
		{"a MAC not base64", sessionVersion + "." + exp + ".!!!"},
		{"an empty MAC", sessionVersion + "." + exp + "." + base64.RawURLEncoding.EncodeToString(nil)},
	} {
		if r := send(t, "GET", base+"/api/v1/journeys", "", "", withCookie(tc.value, nil)); r.code != 401 {
			t.Errorf("cookie %s: %d, want 401", tc.name, r.code)
		}
	}

	// A new token signs everybody out.
	renewed := tokenDashboard(t, fx, "a-brand-new-token-0123456789", false)
	if r := send(t, "GET", renewed+"/api/v1/journeys", "", "", withCookie(c.Value, nil)); r.code != 401 {
		t.Errorf("an old token's cookie after the token changed: %d", r.code)
	}

	r = send(t, "POST", base+"/logout", "", "", withCookie(c.Value, sameOrigin))
	if gone := sessionCookieOf(r); r.code != 303 || gone == nil || gone.MaxAge >= 0 || gone.Value != "" {
		t.Errorf("logout: %d, cookie %+v", r.code, gone)
	}

	// Over HTTPS (server.public_url https://…) the cookie is Secure.
	secure := tokenDashboard(t, fx, testToken, true)
	if c := sessionCookieOf(signIn(t, secure, testToken, "/")); c == nil || !c.Secure {
		t.Errorf("cookie over https: %+v, want Secure", c)
	}
}

// TestArtifactsByID: artifacts are served by content hash and screenshots
// by run and step only: no path in a request reaches the filesystem, and
// anything unknown is 404.
func TestArtifactsByID(t *testing.T) {
	fx := fillStore(t, openTestStore(t, filepath.Join(t.TempDir(), "waymark.db")))
	base := serve(t, Options{Dashboard: testDashboard(fx, &runNowLog{})})
	shot := "/runs/" + url.PathEscape(fx.failed.ID) + "/steps/" + strconv.Itoa(fx.failed.FailingStep) + "/screenshot"
	for _, path := range []string{"/artifacts/" + fx.shot, shot} {
		if r := do(t, "GET", base+path, nil); r.code != 200 || r.header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("GET %s: %d %s", path, r.code, r.header.Get("Content-Type"))
		}
	}
	unknown := strings.Repeat("ab", 32)
	for _, path := range []string{
		"/artifacts/" + unknown,
		"/artifacts/" + strings.ToUpper(fx.shot),
		"/artifacts/" + fx.shot[:63],
		"/artifacts/" + fx.shot + "0",
		"/artifacts/../../etc/passwd",
		"/artifacts/..%2f..%2fetc%2fpasswd",
		"/artifacts/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/artifacts/%2e%2e/%2e%2e/etc/passwd",
		"/artifacts/..%252f..%252fetc%252fpasswd",
		"/artifacts/%2Fetc%2Fpasswd",
		"/artifacts/etc/passwd",
		"/artifacts/",
		"/runs/" + fx.failed.ID + "/steps/99/screenshot",
		"/runs/" + fx.failed.ID + "/steps/1/screenshot",
		"/runs/" + fx.failed.ID + "/steps/-1/screenshot",
		"/runs/" + fx.failed.ID + "/steps/..%2f..%2f..%2fetc%2fpasswd/screenshot",
		"/runs/..%2f..%2fetc%2fpasswd/steps/1/screenshot",
		"/runs/nope/steps/1/screenshot",
	} {
		// Followed to the end: a cleaned path redirects, and lands on
		// nothing either.
		r := do(t, "GET", base+path, nil)
		if r.code != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.code)
		}
		if strings.Contains(r.body, "root:") {
			t.Errorf("GET %s served /etc/passwd", path)
		}
	}
}

// flipAt changes the character of s at i to another base64 one.
func flipAt(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestSafeNext keeps the login form's next on this site.
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "/",
		"/":                             "/",
		"/runs/abc?x=1#top":             "/runs/abc?x=1#top",
		"/incidents/WM-3":               "/incidents/WM-3",
		"//evil.example":                "/",
		"///evil.example":               "/",
		`/\evil.example`:                "/",
		"/\t/evil.example":              "/",
		"/\n/evil.example":              "/",
		"https://evil.example/":         "/",
		"evil.example":                  "/",
		"javascript:alert(1)":           "/",
		"/login":                        "/",
		"/login?next=/x":                "/",
		"/logout":                       "/",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
