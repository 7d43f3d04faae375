package config

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// env is a getenv over a fixed map: the process environment stays out.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// defaults is what Load gives with no file and no variables.
func defaults() Config {
	return Config{
		Database:        "./waymark.db",
		Journeys:        []string{"./journeys"},
		Location:        "local",
		ShutdownTimeout: 30 * time.Second,
		Browser:         Browser{},
		Server:          Server{Listen: "127.0.0.1:8080"},
		Alert:           Alert{After: 2, ResolveAfter: 1, DegradedAfter: 3, RemindEvery: time.Hour, Recheck: time.Minute},
		Retention:       Retention{Runs: Period(30 * 24 * time.Hour), Failures: Period(90 * 24 * time.Hour), Aggregates: Period(400 * 24 * time.Hour)},
		Forecast:        Forecast{Enabled: true, Horizon: 7 * 24 * time.Hour, Window: 14 * 24 * time.Hour},
	}
}

// TestInvalidGolden loads every testdata/invalid-*.yaml and compares all of
// its errors with testdata/invalid-*.golden.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f, env(nil))
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want errors", f)
			}
			if c != nil {
				t.Errorf("Load(%s) returned settings with its errors", f)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load(%s) error is %T (%v), want ErrorList", f, err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors of %s differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", f, golden, got, want)
			}
		})
	}
}

// TestLoadValidFull loads the design's example file.
func TestLoadValidFull(t *testing.T) {
	c, err := Load("testdata/valid-full.yaml", env(nil))
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	const day = 24 * time.Hour
	want := &Config{
		Database:        "./waymark.db",
		Journeys:        []string{"./journeys"},
		Location:        "local",
		ShutdownTimeout: 30 * time.Second,
		Browser:         Browser{MaxConcurrent: 2},
		Server:          Server{Listen: "127.0.0.1:8080", Token: "${env:WAYMARK_TOKEN}"},
		Alert:           Alert{After: 2, ResolveAfter: 1, DegradedAfter: 3, RemindEvery: time.Hour, Recheck: time.Minute},
		Channels: map[string]Channel{
			"desk":  {Type: ChannelWebhook, URL: "https://desk.example.com/hooks/waymark", Secret: "${env:HOOK_SECRET}"},
			"ops":   {Type: ChannelSlack, URL: "${env:SLACK_WEBHOOK}"},
			"pager": {Type: ChannelPagerDuty, RoutingKey: "${env:PD_KEY}"},
			"mail":  {Type: ChannelEmail, SMTP: "smtp.example.com:587", From: "waymark@example.com", To: []string{"ops@example.com"}},
		},
		Routes: []Route{
			{Match: Match{Owner: "web-team", Severity: "critical"}, To: []string{"pager", "ops"}},
			{Match: Match{Customer: "acme"}, To: []string{"desk"}},
			{To: []string{"ops"}},
		},
		Maintenance: []Window{
			{Name: "weekly patching", Match: WindowMatch{Tag: "shop"}, Cron: "0 2 * * SUN", Duration: 2 * time.Hour},
			{Match: WindowMatch{Journey: "guest-checkout"}, From: at("2026-12-01T22:00:00Z"), To: at("2026-12-02T02:00:00Z")},
		},
		Retention: Retention{Runs: Period(30 * day), Failures: Period(90 * day), Aggregates: Period(400 * day)},
		Forecast:  Forecast{Enabled: true, Horizon: 7 * day, Window: 14 * day},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load gave\n%+v\nwant\n%+v", c, want)
	}
}

// TestLoadNoFile reads the defaults, or the file found in the working
// directory when none is given.
func TestLoadNoFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // written in the working directory
		want  func(*Config)
	}{
		{"defaults", nil, func(*Config) {}},
		{"waymark.yaml", map[string]string{"waymark.yaml": "location: eu-west\n"}, func(c *Config) { c.Location = "eu-west" }},
		{"waymark.yml", map[string]string{"waymark.yml": "location: us-east\n"}, func(c *Config) { c.Location = "us-east" }},
		{"yaml before yml", map[string]string{"waymark.yaml": "location: a\n", "waymark.yml": "location: b\n"}, func(c *Config) { c.Location = "a" }},
		{"binary named waymark is not read", map[string]string{"waymark": "\x7fELF\x00"}, func(*Config) {}},
		{"comments only", map[string]string{"waymark.yaml": "# nothing yet\n"}, func(*Config) {}},
		{"partial section keeps other defaults", map[string]string{"waymark.yaml": "browser: {path: /opt/chrome}\nalert: {after: 5}\n"},
			func(c *Config) { c.Browser.Path = "/opt/chrome"; c.Alert.After = 5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			c, err := Load("", env(nil))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaults()
			tc.want(&want)
			if !reflect.DeepEqual(*c, want) {
				t.Errorf("Load gave\n%+v\nwant\n%+v", *c, want)
			}
		})
	}
}

// TestLoadEnv applies WAYMARK_* variables over the file and the defaults.
func TestLoadEnv(t *testing.T) {
	const file = "testdata/valid-full.yaml"
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		got  func(*Config) any
		want any
	}{
		{"browser path", "", map[string]string{"WAYMARK_BROWSER_PATH": "/opt/chrome"}, func(c *Config) any { return c.Browser.Path }, "/opt/chrome"},
		{"over the file", file, map[string]string{"WAYMARK_BROWSER_MAX_CONCURRENT": "4"}, func(c *Config) any { return c.Browser.MaxConcurrent }, 4},
		{"file kept beside", file, map[string]string{"WAYMARK_BROWSER_MAX_CONCURRENT": "4"}, func(c *Config) any { return c.Server.Token }, "${env:WAYMARK_TOKEN}"},
		{"list", "", map[string]string{"WAYMARK_JOURNEYS": "./a, ./b"}, func(c *Config) any { return c.Journeys }, []string{"./a", "./b"}},
		{"days", file, map[string]string{"WAYMARK_RETENTION_RUNS": "7d"}, func(c *Config) any { return c.Retention.Runs }, Period(7 * 24 * time.Hour)},
		{"duration", "", map[string]string{"WAYMARK_ALERT_REMIND_EVERY": "30m"}, func(c *Config) any { return c.Alert.RemindEvery }, 30 * time.Minute},
		{"postgres", "", map[string]string{"WAYMARK_DATABASE": "postgres://waymark@db/waymark"}, func(c *Config) any { return c.Database }, "postgres://waymark@db/waymark"},
		{"empty is unset", file, map[string]string{"WAYMARK_LOCATION": ""}, func(c *Config) any { return c.Location }, "local"},
		{"kept as written", "", map[string]string{"WAYMARK_SERVER_TOKEN": "${env:TOKEN}"}, func(c *Config) any { return c.Server.Token }, "${env:TOKEN}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.file, env(tc.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tc.got(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLoadEnvInvalid names the variable a bad value came from.
func TestLoadEnvInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"not a number", "", map[string]string{"WAYMARK_BROWSER_MAX_CONCURRENT": "abc"},
			`WAYMARK_BROWSER_MAX_CONCURRENT: want a whole number ≥ 1, got "abc"`},
		{"zero over a good file", "testdata/valid-full.yaml", map[string]string{"WAYMARK_BROWSER_MAX_CONCURRENT": "0"},
			`WAYMARK_BROWSER_MAX_CONCURRENT: want a whole number ≥ 1, got "0"`},
		{"bad duration", "", map[string]string{"WAYMARK_ALERT_REMIND_EVERY": "5 parsecs"},
			`WAYMARK_ALERT_REMIND_EVERY: bad duration "5 parsecs": want a duration like 90s, 15m, 1h or 30d`},
		{"rule", "", map[string]string{"WAYMARK_DATABASE": "mysql://db/waymark"},
			`WAYMARK_DATABASE: want a file path or a postgres:// URL, got "mysql://db/waymark"`},
		{"list item", "", map[string]string{"WAYMARK_JOURNEYS": "./a,"},
			`WAYMARK_JOURNEYS: want a journey file or folder, got ""`},
		{"file first, then variables by name", "testdata/invalid-max-concurrent.yaml",
			map[string]string{"WAYMARK_SERVER_LISTEN": "nowhere", "WAYMARK_ALERT_AFTER": "-1"},
			"testdata/invalid-max-concurrent.yaml:1:27: browser.max_concurrent: want a whole number ≥ 1, got \"0\"\n" +
				"WAYMARK_ALERT_AFTER: want a whole number ≥ 1, got \"-1\"\n" +
				`WAYMARK_SERVER_LISTEN: want host:port like 127.0.0.1:8080, got "nowhere"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.file, env(tc.env))
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want an error", c)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

// TestLoadFile refuses files that are missing, not regular or too large.
func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", maxFileSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string
		is         error
	}{
		{"missing", filepath.Join(dir, "nope.yaml"), "read config " + filepath.Join(dir, "nope.yaml") + ": ", fs.ErrNotExist},
		{"folder", dir, "read config " + dir + ": not a regular file", nil},
		{"too large", big, "read config " + big + ": larger than 1048576 bytes", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path, env(nil))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to start %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestLoadImplicitNotRegular refuses a ./waymark.yaml that is a folder
// rather than silently running on defaults.
func TestLoadImplicitNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "waymark.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	_, err := Load("", env(nil))
	if want := "read config waymark.yaml: not a regular file"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"30d", 30 * day, true},
		{"1d12h", 36 * time.Hour, true},
		{"0d", 0, true},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"-1d", 0, false},
		{"1d-1h", 0, false},
		{"1dx", 0, false},
		{"30", 0, false},
		{"5 parsecs", 0, false},
		{"106752d", 0, false},          // past time.Duration's 292 years
		{"106751d23h59m59s", 0, false}, // the days fit, the rest overflows
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
