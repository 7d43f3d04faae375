// Package config reads and validates waymark.yaml and WAYMARK_* into typed
// settings.
//
// Viper layers the embedded defaults (defaults.yaml), the file and the
// environment. The variables are looked up through the getenv given to Load
// and set over the file in viper (its AutomaticEnv reads only the process
// environment, which tests cannot replace). Before viper sees anything, the
// file is read with the YAML node API and checked key by key against the
// Config structs (their mapstructure tags are the schema, written once), so
// every problem is reported as file:line:col with the nearest valid key; a
// bad value from the environment names its variable. Values are kept as written: `${env:NAME}`
// references are left for the features that use them to expand.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/waymarkhq/waymark/results"
)

// maxFileSize bounds waymark.yaml: a config file is a few hundred lines, and
// anything larger is a mistake that should not be read into memory.
const maxFileSize = 1 << 20

// defaultsYAML are the settings used where the file and the environment say
// nothing; they are read and checked like a config file.
//
//go:embed defaults.yaml
var defaultsYAML string

// Config is waymark.yaml with the environment applied over it and the
// embedded defaults under it. Every key can also be set as WAYMARK_<KEY>
// with dots as underscores (WAYMARK_BROWSER_MAX_CONCURRENT), except those
// under channels, routes and maintenance, which exist only in the file.
type Config struct {
	// Database is a SQLite file path, or a postgres:// URL for several agents.
	Database string `mapstructure:"database"`
	// Journeys are the journey files and folders run when none are given.
	Journeys []string `mapstructure:"journeys"`
	// Location labels this agent; it works only this location's queue.
	Location string `mapstructure:"location"`
	// ShutdownTimeout is how long `waymark serve` lets running journeys
	// finish on SIGINT/SIGTERM before it cuts them (recorded aborted).
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// Browser says which Chromium runs the journeys.
	Browser Browser `mapstructure:"browser"`
	// Server is the dashboard and API of `waymark serve`.
	Server Server `mapstructure:"server"`
	// Alert holds the incident policy's defaults for journeys.
	Alert Alert `mapstructure:"alert"`
	// Channels are the notification channels, by name.
	Channels map[string]Channel `mapstructure:"channels"`
	// Routes send incidents to channels; the first match wins.
	Routes []Route `mapstructure:"routes"`
	// Maintenance windows: runs inside one are recorded but open nothing.
	Maintenance []Window `mapstructure:"maintenance"`
	// Retention says how long stored results are kept; zero keeps forever.
	Retention Retention `mapstructure:"retention"`
	// Forecast warns before a step's p95 crosses its warn threshold.
	Forecast Forecast `mapstructure:"forecast"`
}

// Browser is the `browser` section: the local Chromium runs use (path),
// or remote browsers driven over DevTools instead (url, or urls for a
// fleet).
type Browser struct {
	// Path is the Chromium binary; empty searches PATH.
	Path string `mapstructure:"path"`
	// URL is one remote browser, driven instead of a local one: its
	// DevTools websocket (ws://host:9222/devtools/browser/…, or wss://),
	// or its http://host:9222 address, resolved through /json/version at
	// every connection because the websocket changes when it restarts.
	URL string `mapstructure:"url"`
	// URLs are several remote browsers (a fleet), each with how many runs
	// it takes at once; a run goes to the least-loaded one that answers.
	URLs []RemoteBrowser `mapstructure:"urls"`
	// Headers go to every remote browser, with the websocket handshake and
	// the /json/version lookup: a fleet's auth token, usually
	// "Bearer ${env:NAME}". Names are lowercase (HTTP ignores case).
	Headers map[string]string `mapstructure:"headers"`
	// MaxConcurrent is how many journeys run at once (at least 1); unset
	// (0) is Concurrency's default.
	MaxConcurrent int `mapstructure:"max_concurrent"`
}

// Concurrency is how many journeys run at once: max_concurrent when set;
// else, for a fleet, the total of its slots; else one journey per two
// cores of this machine (at least one). Measured on the demo shop
// (docs/performance.md, BenchmarkThroughput), one checkout journey keeps
// two cores busy: a second one at once on two cores finishes no more
// journeys a minute and nearly doubles every step's time, which would
// turn load on the monitor into false alarms about the site.
func (b Browser) Concurrency() int {
	if b.MaxConcurrent > 0 {
		return b.MaxConcurrent
	}
	if len(b.URLs) > 0 {
		n := 0
		for _, u := range b.URLs {
			n += max(u.Slots, 1)
		}
		return n
	}
	return max(1, runtime.NumCPU()/2)
}

// RemoteBrowser is one entry of browser.urls.
type RemoteBrowser struct {
	// URL is the browser's address, as for browser.url.
	URL string `mapstructure:"url"`
	// Slots is the most runs this browser has at once (at least 1).
	Slots int `mapstructure:"slots"`
}

// envRefRE is an ${env:NAME} reference, or ${env:NAME:-default}.
var envRefRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expander replaces the ${env:NAME} references in a setting's value (key
// names it) by the variables getenv finds, adding to errs one error for
// each variable that is not set and has no default.
func expander(getenv func(string) (string, bool), errs *[]error) func(key, s string) string {
	return func(key, s string) string {
		return envRefRE.ReplaceAllStringFunc(s, func(ref string) string {
			m := envRefRE.FindStringSubmatch(ref)
			if v, ok := getenv(m[1]); ok && v != "" {
				return v
			}
			if strings.Contains(ref, ":-") {
				return m[2]
			}
			*errs = append(*errs, fmt.Errorf("%s: environment variable %s is not set: set it or give a default like ${env:%s:-value}", key, m[1], m[1]))
			return ""
		})
	}
}

// Expanded returns b with the ${env:NAME} references (${env:NAME:-default}
// for a default) in its url, urls and headers replaced by the variables
// getenv finds: these hold tokens, which belong in the environment, not in
// the file. A variable that is not set (or empty) and has no default is an
// error naming the setting and the variable.
func (b Browser) Expanded(getenv func(string) (string, bool)) (Browser, error) {
	var errs []error
	expand := expander(getenv, &errs)
	out := b
	out.URL = expand("browser.url", b.URL)
	out.URLs = slices.Clone(b.URLs)
	for i := range out.URLs {
		out.URLs[i].URL = expand("browser.urls.url", b.URLs[i].URL)
	}
	out.Headers = maps.Clone(b.Headers)
	for _, name := range slices.Sorted(maps.Keys(b.Headers)) {
		out.Headers[name] = expand("browser.headers."+name, b.Headers[name])
	}
	if err := errors.Join(errs...); err != nil {
		return Browser{}, err
	}
	return out, nil
}

// Server is the `server` section.
type Server struct {
	// Listen is the dashboard's host:port.
	Listen string `mapstructure:"listen"`
	// PublicURL is where people reach the dashboard, for links in
	// notifications; empty when it is Listen.
	PublicURL string `mapstructure:"public_url"`
	// Token guards the API; usually "${env:WAYMARK_TOKEN}", kept as written.
	Token string `mapstructure:"token"`
}

// Alert is the `alert` section: when incidents open, resolve and remind.
type Alert struct {
	// After is how many failed runs in a row open an incident.
	After int `mapstructure:"after"`
	// ResolveAfter is how many passed runs in a row resolve it.
	ResolveAfter int `mapstructure:"resolve_after"`
	// DegradedAfter is how many degraded runs in a row open a warning.
	DegradedAfter int `mapstructure:"degraded_after"`
	// RemindEvery is how often an unacknowledged incident is notified again.
	RemindEvery time.Duration `mapstructure:"remind_every"`
	// Locations is how many locations must fail at once to open an
	// incident (one probe's network is not an outage); unset is 1.
	Locations int `mapstructure:"locations"`
	// PerLocation gives each location its own incident, opened and
	// resolved by its own runs, which routes can match by location;
	// unset, a journey has one incident for all its locations.
	PerLocation bool `mapstructure:"per_location"`
	// Recheck is how soon a failing journey runs again when its next slot
	// is further away.
	Recheck time.Duration `mapstructure:"recheck"`
}

// Channel types, the values of Channel.Type.
const (
	ChannelWebhook   = "webhook"
	ChannelSlack     = "slack"
	ChannelEmail     = "email"
	ChannelPagerDuty = "pagerduty"
	ChannelAction    = "action"
)

// Channel is one entry of `channels`. Which fields apply depends on Type;
// values may be `${env:NAME}` references, kept as written.
type Channel struct {
	// Type is webhook, slack, email, pagerduty or action.
	Type string `mapstructure:"type"`
	// URL is where webhook, slack and action channels post.
	URL string `mapstructure:"url"`
	// Secret signs webhook and action requests (HMAC-SHA256).
	Secret string `mapstructure:"secret"`
	// RoutingKey is a pagerduty channel's Events API v2 key.
	RoutingKey string `mapstructure:"routing_key"`
	// SMTP is an email channel's server as host:port.
	SMTP string `mapstructure:"smtp"`
	// From is an email channel's sender address.
	From string `mapstructure:"from"`
	// To are an email channel's recipients.
	To []string `mapstructure:"to"`
	// Headers go with every request of a webhook or action channel (a
	// desk's Authorization); values may be ${env:NAME} references.
	Headers map[string]string `mapstructure:"headers"`
	// Timeout cuts each delivery attempt (default 10s).
	Timeout time.Duration `mapstructure:"timeout"`
	// Method and Body are an action's HTTP call: the method (default
	// POST) and a Go template of the body (default: the JSON payload).
	Method string `mapstructure:"method"`
	Body   string `mapstructure:"body"`
	// TLS (starttls, tls or none), Auth (plain or login), Username,
	// Password and CAFile are an email channel's connection.
	TLS      string `mapstructure:"tls"`
	Auth     string `mapstructure:"auth"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	CAFile   string `mapstructure:"ca_file"`
	// After and MaxCalls pace an action: it is called once the incident
	// has counted After failed runs (unset: when it opens), and at most
	// MaxCalls times an incident (unset: once), once per further failed
	// run.
	After    int `mapstructure:"after"`
	MaxCalls int `mapstructure:"max_calls"`
}

// Route is one entry of `routes`: incidents that match go to its channels.
// A route without a match takes every incident.
type Route struct {
	Match Match    `mapstructure:"match"`
	To    []string `mapstructure:"to"` // channel names
	// Escalate replaces To with levels, each told when the incident is
	// still unacknowledged after its delay.
	Escalate []Level `mapstructure:"escalate"`
	// Continue lets later routes match the incident too.
	Continue bool `mapstructure:"continue"`
	// RemindEvery repeats the latest message to the levels reached until
	// someone acknowledges; unset takes alert.remind_every.
	RemindEvery time.Duration `mapstructure:"remind_every"`
}

// Level is one entry of a route's `escalate`.
type Level struct {
	// After is how long after the incident opened the level is told.
	After Delay    `mapstructure:"after"`
	To    []string `mapstructure:"to"` // channel names
}

// Delay is a duration that may be 0 (at once): an escalation level's
// after.
type Delay time.Duration

// Match selects incidents by what their journey and run say; an empty field
// matches anything, and all set fields must match.
type Match struct {
	Owner    string `mapstructure:"owner"`
	Customer string `mapstructure:"customer"`
	Tag      string `mapstructure:"tag"`
	Severity string `mapstructure:"severity"` // info (forecasts), warning or critical
	Location string `mapstructure:"location"`
	Kind     string `mapstructure:"kind"` // site or monitor
	Journey  string `mapstructure:"journey"`
}

// Window is one entry of `maintenance`: either a repeating window (Cron,
// Duration and TimeZone) or a single one (From and To), for a journey, a
// tag or a customer. Runs inside one are recorded, marked as in
// maintenance, and open and notify nothing.
type Window struct {
	// Name says what the window is for.
	Name string `mapstructure:"name"`
	// Reason says why, shown with the window and its runs.
	Reason string `mapstructure:"reason"`
	// Match names the journey, tag or customer the window covers.
	Match WindowMatch `mapstructure:"match"`
	// Cron is when a repeating window starts (5 fields or a descriptor,
	// optionally led by CRON_TZ=Zone).
	Cron string `mapstructure:"cron"`
	// Duration is how long a repeating window lasts.
	Duration time.Duration `mapstructure:"duration"`
	// TimeZone is the IANA zone Cron is read in (Europe/London); empty is
	// UTC, so every agent agrees on when a window starts.
	TimeZone string `mapstructure:"time_zone"`
	// From and To bound a single window.
	From time.Time `mapstructure:"from"`
	To   time.Time `mapstructure:"to"`
}

// WindowMatch selects the journeys a maintenance window covers: by name,
// by tag, by customer; every field set must match.
type WindowMatch struct {
	Journey  string `mapstructure:"journey"`
	Tag      string `mapstructure:"tag"`
	Customer string `mapstructure:"customer"`
}

// Maintenance is the window as the results model has it.
func (w Window) Maintenance() results.Maintenance {
	return results.Maintenance{
		Name: w.Name, Reason: w.Reason,
		Match: results.MaintenanceMatch{Journey: w.Match.Journey, Tag: w.Match.Tag, Customer: w.Match.Customer},
		Cron:  w.Cron, Duration: w.Duration, TimeZone: w.TimeZone, From: w.From, To: w.To,
	}
}

// MaintenanceWindows returns the `maintenance` section as the results
// model has it, in the file's order, for `waymark serve` to mark runs and
// `waymark maintenance` to list them. Load has validated every window.
func (c *Config) MaintenanceWindows() []results.Maintenance {
	out := make([]results.Maintenance, len(c.Maintenance))
	for i, w := range c.Maintenance {
		out[i] = w.Maintenance()
	}
	return out
}

// Retention is the `retention` section: how long results are kept, applied
// every hour by `waymark serve` and at once by `waymark prune`. Values are
// durations that also take days (30d), or 0 to keep forever; the defaults
// are 30d, 90d and 400d. Incidents are always kept.
type Retention struct {
	// Runs is how long runs are kept with their steps and screenshots,
	// but for the failed and error ones (see Failures).
	Runs Period `mapstructure:"runs"`
	// Failures is how long failed and error runs and their artifacts are
	// kept: the failure evidence. Never shorter than Runs.
	Failures Period `mapstructure:"failures"`
	// Aggregates is how long the hourly summaries of runs and steps
	// (counts, p50, p95, max duration) are kept.
	Aggregates Period `mapstructure:"aggregates"`
}

// Forecast is the `forecast` section: once a day the leader of `waymark
// serve` fits the trend of the p95 of each step that has a warn threshold
// over the last Window of hourly aggregates, and when the trend crosses
// the threshold within Horizon it sends an info message through the
// journey's routes, at most once a week per step. Durations take days
// (7d).
type Forecast struct {
	// Enabled runs the daily forecast (default true).
	Enabled bool `mapstructure:"enabled"`
	// Horizon is how far ahead a crossing is told (default 7d).
	Horizon time.Duration `mapstructure:"horizon"`
	// Window is how far back the trend is fitted (default 14d); at least
	// 7d, as a trend needs 7 days of runs.
	Window time.Duration `mapstructure:"window"`
}

// Load reads the config file at path over the embedded defaults, applies
// the WAYMARK_* variables that getenv finds, and validates the result. An
// empty path reads ./waymark.yaml (or .yml) when there is one; an explicit
// path must exist. Problems with the settings come back together as an
// ErrorList, the file's sorted by line.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	file, data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var errs ErrorList
	defaults := walkDocument("defaults.yaml", []byte(defaultsYAML), &errs)
	if len(errs) > 0 {
		return nil, fmt.Errorf("embedded defaults are invalid (a bug): %w", errs.err())
	}
	doc := &document{pos: map[string]position{}}
	if file != "" {
		doc = walkDocument(file, data, &errs)
	}
	env := fromEnv(getenv, &errs)

	v := viper.New()
	for k, val := range defaults.values {
		v.SetDefault(k, val)
	}
	if err := v.MergeConfigMap(doc.values); err != nil {
		return nil, fmt.Errorf("config %s: merge over defaults: %w", file, err)
	}
	for k, val := range env.values {
		v.Set(k, val)
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		// Every value was checked against these types already.
		return nil, fmt.Errorf("config %s: decode checked settings (a bug): %w", file, err)
	}
	loc := &locator{file: file, doc: doc, env: env.vars}
	errs = append(errs, validate(&c, loc)...)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// readFile reads the config file: path when given, else waymark.yaml or
// waymark.yml in the working directory when present. It returns an empty
// name when there is none. Only these exact names are looked for: viper's
// own search would also try a file called "waymark", the binary itself.
func readFile(path string) (string, []byte, error) {
	if path == "" {
		for _, p := range [...]string{"waymark.yaml", "waymark.yml"} {
			_, err := os.Stat(p)
			if err == nil {
				path = p
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("look for config %s: %w", p, err)
			}
		}
		if path == "" {
			return "", nil, nil
		}
	}
	// Stat before opening, so that a FIFO or a device is never opened.
	fi, err := os.Stat(path)
	if err != nil {
		return "", nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", nil, fmt.Errorf("read config %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("read config %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return "", nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return "", nil, fmt.Errorf("read config %s: larger than %d bytes: want a small YAML file", path, maxFileSize)
	}
	return path, data, nil
}
