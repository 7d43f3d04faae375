package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/reports"
)

// accessJourney is an on-demand journey: serve loads it and runs nothing.
const accessJourney = `name: home
site: ${env:SHOP_URL:-http://127.0.0.1:9}
steps:
  - goto: /
`

// accessConfig writes a waymark.yaml serving one on-demand journey on
// listen, with server.token token ("" none), and returns its path and the
// database's.
func accessConfig(t *testing.T, listen, token string) (cfg, db string) {
	t.Helper()
	dir := t.TempDir()
	jdir := journeyDir(t, map[string]string{"home.yaml": accessJourney})
	db = filepath.Join(dir, "w.db")
	server := fmt.Sprintf("server: {listen: %q}\n", listen)
	if token != "" {
		server = fmt.Sprintf("server: {listen: %q, token: %q}\n", listen, token)
	}
	cfg = filepath.Join(dir, "waymark.yaml")
	writeFile(t, cfg, fmt.Sprintf("database: %q\njourneys: [%q]\nshutdown_timeout: 5s\n", db, jdir)+server)
	return cfg, db
}

// TestServeRefusesOpenPublicBind: beyond loopback, serve starts only with
// a good server.token or --insecure, and a refusal is exit 2 naming what
// to set, before anything is created.
func TestServeRefusesOpenPublicBind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		listen, token string
		env           map[string]string
		args          []string
		want          []string
	}{
		{"no token on 0.0.0.0", "0.0.0.0:0", "", nil, nil,
			[]string{"0.0.0.0:0", "server.listen", "--listen", "server.token", "--insecure"}},
		{"no token on a --listen beyond loopback", "127.0.0.1:0", "", nil, []string{"--listen", ":0"},
			[]string{"would listen on :0", "server.listen", "--listen", "server.token", "--insecure"}},
		{"the token's variable unset", "0.0.0.0:0", "${env:WAYMARK_TOKEN}", nil, nil,
			[]string{"server.token", "WAYMARK_TOKEN", "not set"}},
		{"the token's variable unset on loopback", "127.0.0.1:0", "${env:WAYMARK_TOKEN}", nil, nil,
			[]string{"server.token", "WAYMARK_TOKEN", "not set"}},
		{"a short token", "0.0.0.0:0", "${env:WAYMARK_TOKEN}", map[string]string{"WAYMARK_TOKEN": "hunter2"}, nil,
			[]string{"server.token", "7 characters is too short", "at least 16"}},
		{"a short token with --insecure", "0.0.0.0:0", "short", nil, []string{"--insecure"},
			[]string{"server.token", "too short"}},
		{"a token with a space", "127.0.0.1:0", "a token with spaces in it", nil, nil,
			[]string{"server.token", "spaces"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, db := accessConfig(t, tc.listen, tc.token)
			r := cli(t, tc.env, append([]string{"--config", cfg, "serve"}, tc.args...)...)
			if r.code != reports.ExitBadInput {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr shows the token:\n%s", r.stderr)
			}
			if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the database was created by a refused start (%v)", err)
			}
		})
	}
}

// TestServeAccess starts serve beyond loopback: open with --insecure;
// with a token from the environment, the API answers 401 without it and
// 200 with it.
func TestServeAccess(t *testing.T) {
	t.Parallel()
	const token = "a-long-random-token-0123456789"
	for _, tc := range []struct {
		name     string
		token    string
		env      map[string]string
		args     []string
		bare     int    // GET /api/v1/journeys without a token
		warning  string // in stderr
		withAuth bool
	}{
		{"--insecure", "", nil, []string{"--insecure"}, http.StatusOK, "--insecure", false},
		{"a token", "${env:WAYMARK_TOKEN}", map[string]string{"WAYMARK_TOKEN": token}, nil, http.StatusUnauthorized, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, port, err := net.SplitHostPort(freeAddr(t))
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := accessConfig(t, "0.0.0.0:"+port, tc.token)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done, up := startWatching(ctx, tc.env, "waymark serve:", append([]string{"--config", cfg, "serve"}, tc.args...)...)
			select {
			case <-up:
			case r := <-done:
				t.Fatalf("serve returned %d before serving\nstderr:\n%s", r.code, r.stderr)
			case <-time.After(60 * time.Second):
				t.Fatal("serve never said it serves")
			}
			get := func(path string, header map[string]string) int {
				t.Helper()
				req, err := http.NewRequestWithContext(t.Context(), "GET", "http://127.0.0.1:"+port+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if code := get("/api/v1/journeys", nil); code != tc.bare {
				t.Errorf("GET /api/v1/journeys without a token: %d, want %d", code, tc.bare)
			}
			// Open to probes whatever the token (200, or 503 while a check
			// fails on a loaded machine), never 401.
			if code := get("/healthz", nil); code != http.StatusOK && code != http.StatusServiceUnavailable {
				t.Errorf("GET /healthz: %d, want it open", code)
			}
			if tc.withAuth {
				if code := get("/api/v1/journeys", map[string]string{"Authorization": "Bearer " + token}); code != http.StatusOK {
					t.Errorf("GET /api/v1/journeys with the token: %d", code)
				}
				if code := get("/api/v1/journeys", map[string]string{"Authorization": "Bearer ${env:WAYMARK_TOKEN}"}); code != http.StatusUnauthorized {
					t.Errorf("GET /api/v1/journeys with the token as written in the config: %d, want 401", code)
				}
			}
			cancel()
			r := await(t, done, 60*time.Second)
			if r.code != reports.ExitOK {
				t.Errorf("exit %d after SIGINT\nstderr:\n%s", r.code, r.stderr)
			}
			if tc.warning != "" && !strings.Contains(r.stderr, tc.warning) {
				t.Errorf("stderr does not warn of %s:\n%s", tc.warning, r.stderr)
			}
			if strings.Contains(r.stderr, token) || strings.Contains(r.stdout, token) {
				t.Error("the output shows the token")
			}
		})
	}
}

// TestIsLoopbackListen tells the addresses that stay on the machine.
func TestIsLoopbackListen(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.1.2.3:80": true, "localhost:8080": true, "LocalHost:1": true,
		"[::1]:8080": true, "[::ffff:127.0.0.1]:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.5:8080": false,
		"waymark.internal:8080": false, "127.0.0.1": false, "": false, "localhost.evil.example:80": false,
	} {
		if got := isLoopbackListen(addr); got != want {
			t.Errorf("isLoopbackListen(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestCheckAccess expands server.token and judges it.
func TestCheckAccess(t *testing.T) {
	for _, tc := range []struct {
		name, listen, token string
		env                 map[string]string
		insecure            bool
		want                string // the token after, or the error
		fails               bool
	}{
		{"open on loopback", "127.0.0.1:8080", "", nil, false, "", false},
		{"a token from the environment", "0.0.0.0:8080", "${env:WAYMARK_TOKEN}", map[string]string{"WAYMARK_TOKEN": "0123456789abcdef"}, false, "0123456789abcdef", false},
		{"a token as written", "0.0.0.0:8080", "0123456789abcdefXYZ", nil, false, "0123456789abcdefXYZ", false},
		{"a default", "0.0.0.0:8080", "${env:WAYMARK_TOKEN:-fallback-token-0123}", nil, false, "fallback-token-0123", false},
		{"insecure", "0.0.0.0:8080", "", nil, true, "", false},
		{"open beyond loopback", "0.0.0.0:8080", "", nil, false, "--insecure", true},
		{"fifteen characters", "127.0.0.1:8080", "0123456789abcde", nil, false, "15 characters is too short", true},
		{"non-ASCII", "127.0.0.1:8080", "0123456789abcdéf", nil, false, "non-ASCII", true},
		{"unset", "127.0.0.1:8080", "${env:NOPE}", nil, false, "server.token: environment variable NOPE is not set", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{stdout: &syncBuffer{}, stderr: &syncBuffer{}, getenv: envFunc(tc.env)}
			cfg := &config.Config{Server: config.Server{Listen: tc.listen, Token: tc.token}}
			err := a.checkAccess(cfg, tc.insecure)
			switch {
			case tc.fails && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			case tc.fails:
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != reports.ExitBadInput {
					t.Errorf("error %v is not bad input", err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case cfg.Server.Token != tc.want:
				t.Errorf("token %q, want %q", cfg.Server.Token, tc.want)
			}
		})
	}
}
