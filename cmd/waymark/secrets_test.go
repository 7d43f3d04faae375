package main

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/reports"
)

// canary is a secret made of the characters that encode differently in a
// query, a form and a path. Its core, canaryCore, is letters only, so any
// encoding of the secret that leaks carries the core as it is.
const (
	canary     = "wm-canaryQZX~k*p!x y"
	canaryCore = "canaryQZX"
)

// TestCanarySecretNeverLeaks uses one secret in a fill, a goto query, a
// request header, an eval and a failing assertion, against a page that
// echoes it back in its text, its URL (form-encoded by the browser) and an
// exception. The secret must not be found in anything Waymark writes:
// stdout, stderr with -v, JUnit, JSON, artifacts, and the database with
// its WAL.
func TestCanarySecretNeverLeaks(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, `<title>shop</title><form action=/results><input id=q name=q><button id=go>Search</button></form>`)
		case "/results":
			fmt.Fprint(w, `<title>results</title><h1 id=h></h1><script>
const q = new URLSearchParams(location.search).get("q");
document.getElementById("h").textContent = "Results for “" + q + "”";
console.error("searched for " + q);</script>`)
		case "/api/ping":
			if r.Header.Get("X-Token") != canary {
				http.Error(w, "bad token", http.StatusForbidden)
				return
			}
			fmt.Fprint(w, `{"ok": true}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	journey := filepath.Join(dir, "canary.yaml")
	if err := os.WriteFile(journey, []byte(`name: canary
vars: {token: "${secret:WM_CANARY}"}
screenshots: every_step
steps:
  - goto: "/?q=${token}"
  - fill: {"#q": "${token}"}
  - click: "#go"
  - request: {method: GET, url: /api/ping, headers: {X-Token: "${token}"}, expect: {status: 200}}
  - eval: "window.t = '${token}'; true"
  - assert: {text: "#h", equals: "${token}"}
    timeout: 1s
  - eval: "throw new Error('gave up on ' + window.t)"
    always: true
  - goto: "/missing/${token}"
    always: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil { // the database's folder must exist
		t.Fatal(err)
	}
	db := filepath.Join(out, "w.db")
	r := cli(t, map[string]string{"WM_CANARY": canary}, "-v", "run", journey, "--base-url", srv.URL,
		"--junit", filepath.Join(out, "junit.xml"), "--json", filepath.Join(out, "run.json"),
		"--artifacts", filepath.Join(out, "art"), "--record", "--database", db)
	if r.code != reports.ExitFailed {
		t.Fatalf("exit %d, want 1 (the assertion fails)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "•••") {
		t.Errorf("stdout shows no masked value; did the secret reach the page?\n%s", r.stdout)
	}
	check := func(where, text string) {
		if strings.Contains(text, canaryCore) {
			i := strings.Index(text, canaryCore)
			t.Errorf("the secret leaked into %s: …%s…", where, text[max(0, i-60):min(len(text), i+40)])
		}
	}
	check("stdout", r.stdout)
	check("stderr", r.stderr)
	var files int
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		check(path, string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The database's WAL is checked when the store left one; on a clean
	// close SQLite folds it into the database file, which is checked.
	for _, want := range []string{"junit.xml", "run.json", "w.db"} {
		if _, err := os.Stat(filepath.Join(out, want)); err != nil {
			t.Errorf("%s was not written: %v", want, err)
		}
	}
	if files < 6 {
		t.Errorf("only %d files under %s: want reports, database and screenshots", files, out)
	}
}
