package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Access to the dashboard (see guard):
//
//   - /healthz, /metrics, /static/ and the login and logout forms are
//     always open: probes, scrapers and the login page need no token.
//   - With no Token (a loopback bind, or `serve --insecure`) everything
//     is open.
//   - With a Token, every other request needs `Authorization: Bearer
//     TOKEN` (scripts, the API) or the session cookie the login form sets
//     (people). A page asked for without either is redirected to the login
//     form; anything else answers 401.
//   - In every mode, a state-changing request (POST, PUT, PATCH, DELETE)
//     from a browser must come from the dashboard's own origin (Go's
//     CrossOriginProtection: Sec-Fetch-Site, else Origin against Host), so
//     another site's page cannot drive a dashboard the browser can reach,
//     open or signed in. A request with the right bearer token is not a
//     browser's doing (no page can make a browser send it) and passes.
//
// The session cookie holds its expiry and an HMAC-SHA256 of it keyed by
// the token: nothing is kept on the server, it cannot be forged without
// the token, and changing the token signs everybody out.

const (
	// sessionCookie is the login cookie's name.
	sessionCookie = "waymark_session"
	// sessionMaxAge is how long a login lasts: the cookie's Max-Age and
	// the expiry signed into it.
	sessionMaxAge = 30 * 24 * time.Hour
	// sessionVersion leads the cookie's value, so the format can change
	// without old cookies being misread.
	sessionVersion = "v1"
	// loginBodyLimit bounds the login form's body.
	loginBodyLimit = 8 << 10
)

// loginHTML is the login form's template: a page of its own (the
// dashboard's layout shows what a signed-out visitor must not see),
// escaped by html/template, styled by the dashboard's stylesheet.
const loginHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in · Waymark</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header class="top"><a class="brand" href="/">◆ Waymark</a></header>
<main id="main">
<section class="card" style="max-width: 26rem; margin: 3rem auto;">
<h1>Sign in</h1>
<p class="muted">This dashboard asks for its access token: the value of <code>server.token</code>.</p>
{{if .Error}}<p class="error-text" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<p><label>Token<br><input type="password" name="token" autocomplete="current-password" required autofocus style="width: 100%;"></label></p>
<p><button class="primary" type="submit">Sign in</button></p>
</form>
</section>
</main>
</body>
</html>
`

// loginView is what the login page shows.
type loginView struct {
	Next  string // where to go once signed in: a same-site path
	Error string
}

// loginForms serves the login and logout forms.
type loginForms struct {
	d    *dash
	page *template.Template
}

// registerLogin adds the login form (GET and POST /login) and the logout
// (POST /logout).
func (d *dash) registerLogin(mux *http.ServeMux) {
	l := &loginForms{d: d, page: template.Must(template.New("login").Parse(loginHTML))}
	mux.HandleFunc("GET /login", l.form)
	mux.HandleFunc("POST /login", l.login)
	mux.HandleFunc("POST /logout", l.logout)
}

// form shows the login form; an open dashboard, or a visitor already
// signed in, goes straight on.
func (l *loginForms) form(w http.ResponseWriter, r *http.Request) {
	d := l.d
	next := safeNext(r.URL.Query().Get("next"))
	if d.Token == "" || d.sessionOK(r) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	l.render(w, http.StatusOK, loginView{Next: next})
}

// login checks the token posted as the form's password and, when it is
// the right one, sets the session cookie and goes on to next.
func (l *loginForms) login(w http.ResponseWriter, r *http.Request) {
	d := l.d
	r.Body = http.MaxBytesReader(w, r.Body, loginBodyLimit)
	if err := r.ParseForm(); err != nil {
		l.render(w, http.StatusBadRequest, loginView{Next: "/", Error: "The form could not be read; try again."})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if d.Token == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if !sameToken(r.PostForm.Get("token"), d.Token) {
		d.log.Warn("dashboard login refused: wrong token", "remote", r.RemoteAddr)
		l.render(w, http.StatusUnauthorized, loginView{Next: next, Error: "That is not this dashboard's token."})
		return
	}
	expires := d.Now().Add(sessionMaxAge)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: d.sessionValue(expires.Unix()), Path: "/",
		MaxAge: int(sessionMaxAge / time.Second), HttpOnly: true, Secure: d.SecureCookie, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout clears the session cookie. The cookie holds no state on the
// server, so a copy kept elsewhere stays valid until it expires or the
// token changes.
func (l *loginForms) logout(w http.ResponseWriter, r *http.Request) {
	d := l.d
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: d.SecureCookie, SameSite: http.SameSiteLaxMode,
	})
	to := "/login"
	if d.Token == "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// render writes the login page with status.
func (l *loginForms) render(w http.ResponseWriter, status int, v loginView) {
	for k, val := range securityHeaders {
		w.Header().Set(k, val)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := l.page.Execute(w, v); err != nil {
		l.d.log.Error("render the login page", "error", err)
	}
}

// guard wraps the whole listener with the access rules described at the
// top of this file.
func (d *dash) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer := d.Token != "" && sameToken(bearerToken(r), d.Token)
		if !bearer {
			if err := cop.Check(r); err != nil {
				d.log.Info("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
					"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
				d.refuse(w, r, http.StatusForbidden,
					"cross-origin request refused: a state-changing request must come from the dashboard's own pages, or carry the bearer token")
				return
			}
		}
		if d.Token == "" || bearer || openPath(r.URL.Path) || d.sessionOK(r) {
			next.ServeHTTP(w, r)
			return
		}
		if isPageRequest(r) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="waymark"`)
		msg := "authentication required: send Authorization: Bearer <server.token>, or sign in at /login"
		if _, given := r.Header["Authorization"]; given {
			msg = "the bearer token is not this dashboard's token"
		}
		d.refuse(w, r, http.StatusUnauthorized, msg)
	})
}

// refuse answers a request guard refuses: JSON for the API, text
// otherwise.
func (d *dash) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	if isAPIPath(r.URL.Path) {
		d.writeJSON(w, status, apiError{Error: msg})
		return
	}
	http.Error(w, msg, status)
}

// openPath says whether a path is open whatever the token: the probes,
// the scrape, the static files and the login form. The path is cleaned
// first, as the mux will: /static/../api is the API, not a static file.
func openPath(p string) bool {
	p = path.Clean("/" + p)
	switch p {
	case "/healthz", "/metrics", "/login", "/logout", "/static":
		return true
	}
	return strings.HasPrefix(p, "/static/")
}

// isAPIPath says whether a path is the JSON API's.
func isAPIPath(p string) bool {
	p = path.Clean("/" + p)
	return p == "/api" || strings.HasPrefix(p, "/api/")
}

// isPageRequest says whether a refused request is a person's browser
// asking for a page, which goes to the login form rather than being
// answered 401: a GET or HEAD outside the API and the event stream.
func isPageRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := path.Clean("/" + r.URL.Path)
	return !isAPIPath(p) && p != "/events"
}

// bearerToken is the token of an `Authorization: Bearer …` header, or "".
func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// sameToken compares a token given with the dashboard's in constant time,
// whatever their lengths (both are hashed first). An empty token given is
// never right.
func sameToken(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// sessionValue is the session cookie's value for a login that expires at
// the Unix time expires: "v1.EXPIRES.MAC".
func (d *dash) sessionValue(expires int64) string {
	return sessionVersion + "." + strconv.FormatInt(expires, 10) + "." + base64.RawURLEncoding.EncodeToString(d.sessionMAC(expires))
}

// sessionMAC signs a session's expiry with the token.
func (d *dash) sessionMAC(expires int64) []byte {
	mac := hmac.New(sha256.New, []byte(d.Token))
	mac.Write([]byte("waymark session " + sessionVersion + " " + strconv.FormatInt(expires, 10)))
	return mac.Sum(nil)
}

// sessionOK says whether the request carries a session cookie signed
// with the current token that has not expired.
func (d *dash) sessionOK(r *http.Request) bool {
	if d.Token == "" {
		return false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	rest, ok := strings.CutPrefix(c.Value, sessionVersion+".")
	if !ok {
		return false
	}
	exp, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false
	}
	now := d.Now().Unix()
	if expires <= now || expires > now+int64(sessionMaxAge/time.Second)+60 {
		return false
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	return hmac.Equal(mac, d.sessionMAC(expires))
}

// safeNext is where the login form may send a visitor afterwards: a path
// of this site ("/runs/…?x=y"), never another site ("//evil.example",
// "/\evil.example", "https://…"), nor the login form itself; "/" for
// anything else.
func safeNext(s string) string {
	if s == "" || len(s) > 2048 || s[0] != '/' || strings.HasPrefix(s, "//") {
		return "/"
	}
	for _, c := range s {
		// Browsers read a backslash as a slash and drop tabs and newlines
		// from URLs: "/\evil" and "/\t/evil" lead elsewhere.
		if c == '\\' || c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	if p := path.Clean(u.Path); p == "/login" || p == "/logout" {
		return "/"
	}
	return s
}
