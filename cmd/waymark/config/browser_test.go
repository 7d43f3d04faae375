package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestLoadBrowserRemote reads the shapes of a remote browser: one url of
// each scheme, with headers, and a fleet with slots.
func TestLoadBrowserRemote(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want Browser
	}{
		{"websocket", "browser: {url: ws://127.0.0.1:9222/devtools/browser/abc}\n", nil,
			Browser{URL: "ws://127.0.0.1:9222/devtools/browser/abc"}},
		{"http with a token header", "browser:\n  url: http://chrome:9222\n  headers: {authorization: \"Bearer ${env:FLEET_TOKEN}\", x-fleet: eu}\n", nil,
			Browser{URL: "http://chrome:9222", Headers: map[string]string{"authorization": "Bearer ${env:FLEET_TOKEN}", "x-fleet": "eu"}}},
		{"a fleet", "browser:\n  max_concurrent: 6\n  urls:\n    - {url: \"wss://fleet.example.com?token=${env:T}\", slots: 4}\n    - {url: http://10.0.0.5:9222, slots: 2}\n", nil,
			Browser{URLs: []RemoteBrowser{{URL: "wss://fleet.example.com?token=${env:T}", Slots: 4}, {URL: "http://10.0.0.5:9222", Slots: 2}}, MaxConcurrent: 6}},
		{"url from the environment", "", map[string]string{"WAYMARK_BROWSER_URL": "http://127.0.0.1:9222"},
			Browser{URL: "http://127.0.0.1:9222"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "waymark.yaml")
				if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path, env(tc.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(c.Browser, tc.want) {
				t.Errorf("browser\n%+v\nwant\n%+v", c.Browser, tc.want)
			}
		})
	}
}

// TestLoadBrowserEnvInvalid names the variable of a bad remote browser
// setting, alone or against the file.
func TestLoadBrowserEnvInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"not a DevTools URL", "", map[string]string{"WAYMARK_BROWSER_URL": "chrome:9222"},
			`WAYMARK_BROWSER_URL: want a DevTools URL like ws://127.0.0.1:9222/devtools/browser/… or http://127.0.0.1:9222, got "chrome:9222"`},
		{"no host, token not shown", "", map[string]string{"WAYMARK_BROWSER_URL": "wss://:443/?token=s3cret"},
			`WAYMARK_BROWSER_URL: want a DevTools URL like ws://127.0.0.1:9222/devtools/browser/… or http://127.0.0.1:9222, got "wss://:443/?…"`},
		{"with a path in the file", "browser: {path: /usr/bin/chromium}\n", map[string]string{"WAYMARK_BROWSER_URL": "http://127.0.0.1:9222"},
			"FILE:2:17: browser.path: a local browser, not used with a remote one (browser.url or browser.urls): set one of them, not both"},
		{"a path over a file's url", "browser: {url: http://127.0.0.1:9222}\n", map[string]string{"WAYMARK_BROWSER_PATH": "/usr/bin/chromium"},
			"WAYMARK_BROWSER_PATH: a local browser, not used with a remote one (browser.url or browser.urls): set one of them, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "waymark.yaml")
				if err := os.WriteFile(path, []byte("# remote\n"+tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path, env(tc.env))
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load = %+v, %v; want an ErrorList", c, err)
			}
			if want := strings.ReplaceAll(tc.want, "FILE", path); err.Error() != want {
				t.Errorf("error\n%v\nwant\n%s", err, want)
			}
		})
	}
}

// TestBrowserExpanded replaces ${env:…} in the remote settings, and names
// the setting of a variable that is not set.
func TestBrowserExpanded(t *testing.T) {
	vars := env(map[string]string{"FLEET_TOKEN": "t0k", "FLEET_HOST": "10.0.0.5", "EMPTY": ""})
	for _, tc := range []struct {
		name string
		in   Browser
		want Browser
		err  string
	}{
		{"nothing to expand", Browser{URL: "ws://127.0.0.1:9222"}, Browser{URL: "ws://127.0.0.1:9222"}, ""},
		{"url, fleet and headers",
			Browser{
				URL:     "ws://${env:FLEET_HOST}:9222/?token=${env:FLEET_TOKEN}",
				URLs:    []RemoteBrowser{{URL: "http://${env:FLEET_HOST}:${env:PORT:-9222}", Slots: 2}},
				Headers: map[string]string{"authorization": "Bearer ${env:FLEET_TOKEN}", "x-region": "${env:EMPTY:-eu}"},
			},
			Browser{
				URL:     "ws://10.0.0.5:9222/?token=t0k",
				URLs:    []RemoteBrowser{{URL: "http://10.0.0.5:9222", Slots: 2}},
				Headers: map[string]string{"authorization": "Bearer t0k", "x-region": "eu"},
			}, ""},
		{"not set", Browser{Headers: map[string]string{"authorization": "Bearer ${env:NOPE}"}}, Browser{},
			"browser.headers.authorization: environment variable NOPE is not set: set it or give a default like ${env:NOPE:-value}"},
		{"empty is not set", Browser{URL: "ws://${env:EMPTY}:9222"}, Browser{},
			"browser.url: environment variable EMPTY is not set: set it or give a default like ${env:EMPTY:-value}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.in.Headers["authorization"]
			got, err := tc.in.Expanded(vars)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Expanded error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Expanded\n%+v\nwant\n%+v", got, tc.want)
			}
			if tc.in.Headers["authorization"] != orig {
				t.Error("Expanded changed the settings it was called on")
			}
		})
	}
}

func TestConcurrency(t *testing.T) {
	perTwoCores := max(1, runtime.NumCPU()/2)
	for _, tc := range []struct {
		name string
		b    Browser
		want int
	}{
		{"set", Browser{MaxConcurrent: 3}, 3},
		{"set over a fleet", Browser{MaxConcurrent: 1, URLs: []RemoteBrowser{{URL: "ws://a", Slots: 4}}}, 1},
		{"a fleet's slots", Browser{URLs: []RemoteBrowser{{URL: "ws://a", Slots: 4}, {URL: "ws://b", Slots: 2}}}, 6},
		{"one remote browser", Browser{URL: "ws://a"}, perTwoCores},
		{"local", Browser{}, perTwoCores},
	} {
		if got := tc.b.Concurrency(); got != tc.want {
			t.Errorf("%s: Concurrency() = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestChannelExpanded(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	ch := Channel{Type: ChannelEmail, SMTP: "${env:SMTP_HOST:-localhost}:25", From: "w@example.com", To: []string{"${env:ONCALL}"},
		Password: "${env:SMTP_PASSWORD}", Headers: map[string]string{"authorization": "Bearer ${env:TOKEN}"}}
	got, err := ch.Expanded("mail", env(map[string]string{"ONCALL": "ops@example.com", "SMTP_PASSWORD": "pw", "TOKEN": "t0k"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.SMTP != "localhost:25" || got.To[0] != "ops@example.com" || got.Password != "pw" || got.Headers["authorization"] != "Bearer t0k" ||
		ch.To[0] != "${env:ONCALL}" || ch.Headers["authorization"] != "Bearer ${env:TOKEN}" {
		t.Errorf("expanded %+v from %+v", got, ch)
	}
	_, err = ch.Expanded("mail", env(nil))
	want := "channels.mail.password: environment variable SMTP_PASSWORD is not set: set it or give a default like ${env:SMTP_PASSWORD:-value}"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "channels.mail.to: environment variable ONCALL") {
		t.Errorf("Expanded without the variables = %v, want errors naming each setting", err)
	}
}
