package config

import (
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/journeys/yamlnode"
	"github.com/waymarkhq/waymark/results"
)

// MaxChannelTimeout is the longest channel timeout the file may set: the
// deliveries cut an attempt a little after alert.MaxChannelTimeout
// (cmd/waymark checks that this is not longer).
const MaxChannelTimeout = 25 * time.Second

// channelTypes are the values of Channel.Type, in the order messages list them.
func channelTypes() []string {
	return []string{ChannelWebhook, ChannelSlack, ChannelEmail, ChannelPagerDuty, ChannelAction}
}

// channelKeys are the keys a channel type takes besides type; required ones
// are marked with a *. ok is false for an unknown type.
func channelKeys(typ string) (keys []string, ok bool) {
	switch typ {
	case ChannelWebhook:
		return []string{"url*", "secret", "headers", "timeout"}, true
	case ChannelAction:
		return []string{"url*", "secret", "headers", "timeout", "method", "body", "after", "max_calls"}, true
	case ChannelSlack:
		return []string{"url*", "timeout"}, true
	case ChannelEmail:
		return []string{"smtp*", "from*", "to*", "tls", "auth", "username", "password", "ca_file", "timeout"}, true
	case ChannelPagerDuty:
		return []string{"routing_key*", "url", "timeout"}, true
	}
	return nil, false
}

// validate holds every rule a setting's value must meet beyond its type
// (which the schema checks as the file and the environment are read): the
// formats of addresses and URLs, the allowed words, and how sections refer
// to each other. Values with ${env:NAME} references are not judged by
// format, since they are expanded later.
// locationRE is a location label: it names the agent's River queue
// (loc_<label>), as in a journey's `locations:`.
var locationRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func validate(c *Config, l *locator) ErrorList {
	v := &validator{l: l}

	if msg := checkDatabase(c.Database); msg != "" {
		v.report("database", "%s", msg)
	}
	if len(c.Journeys) == 0 {
		v.report("journeys", "want at least one journey file or folder")
	}
	for i, p := range c.Journeys {
		if strings.TrimSpace(p) == "" {
			v.report(fmt.Sprintf("journeys[%d]", i), "want a journey file or folder, got %q", p)
		}
	}
	if !locationRE.MatchString(c.Location) {
		v.report("location", "want a lowercase label of a-z, 0-9, - and _ like eu-west, got %q", c.Location)
	}
	v.browser(c.Browser)
	if s := c.Server.Listen; !checkHostPort(s) {
		v.report("server.listen", "want host:port like 127.0.0.1:8080, got %q", s)
	}
	if s := c.Server.PublicURL; s != "" && !checkURL(s, "http", "https") {
		v.report("server.public_url", "want an absolute http(s) URL like https://waymark.example.com, got %q", s)
	}

	names := slices.Sorted(maps.Keys(c.Channels))
	for _, name := range names {
		v.channel("channels."+name, c.Channels[name])
	}
	for i, r := range c.Routes {
		v.route(fmt.Sprintf("routes[%d]", i), r, c.Channels, names)
	}
	if c.Alert.PerLocation && c.Alert.Locations > 1 {
		v.report("alert.per_location", "gives each location its own incident, while alert.locations: %d asks %[1]d to fail together; set one or the other", c.Alert.Locations)
	}
	for i, w := range c.Maintenance {
		v.window(fmt.Sprintf("maintenance[%d]", i), w)
	}
	if min := time.Duration(results.DefaultForecastMinDays) * results.Day; c.Forecast.Window < min {
		v.report("forecast.window", "want at least %dd: a trend needs %[1]d days of runs, got %s", results.DefaultForecastMinDays, Period(c.Forecast.Window))
	}
	return v.errs
}

// validator collects the problems validate finds.
type validator struct {
	l    *locator
	errs ErrorList
}

// report records a problem with the value at path, unless it is only the
// echo of a value the schema already rejected there.
func (v *validator) report(path, format string, args ...any) {
	e := v.l.at(path, fmt.Sprintf(format, args...))
	if e.Env == "" && v.l.near(path) {
		return
	}
	v.errs = append(v.errs, e)
}

// channel checks one notification channel.
func (v *validator) channel(path string, ch Channel) {
	if ch.Type == "" {
		v.report(path, "missing type: want one of %s", strings.Join(channelTypes(), ", "))
		return
	}
	keys, ok := channelKeys(ch.Type)
	if !ok {
		v.report(path+".type", "unknown channel type %q%s", ch.Type, yamlnode.Hint(ch.Type, channelTypes()))
		return
	}
	given := map[string]bool{
		"url": ch.URL != "", "secret": ch.Secret != "", "routing_key": ch.RoutingKey != "",
		"smtp": ch.SMTP != "", "from": ch.From != "", "to": len(ch.To) > 0,
		"headers": len(ch.Headers) > 0, "timeout": ch.Timeout != 0, "method": ch.Method != "", "body": ch.Body != "",
		"tls": ch.TLS != "", "auth": ch.Auth != "", "username": ch.Username != "", "password": ch.Password != "",
		"ca_file": ch.CAFile != "", "after": ch.After != 0, "max_calls": ch.MaxCalls != 0,
	}
	takes := map[string]bool{}
	var names []string
	for _, k := range keys {
		name, required := strings.CutSuffix(k, "*")
		takes[name] = true
		names = append(names, name)
		if required && !given[name] {
			v.report(path, "a %s channel needs %s", ch.Type, name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if given[k] && !takes[k] {
			v.report(path+"."+k, "not used by a %s channel, which takes %s", ch.Type, strings.Join(names, ", "))
		}
	}
	if takes["url"] && ch.URL != "" && !checkURL(ch.URL, "http", "https") {
		v.report(path+".url", "want an absolute http(s) URL, got %q", ch.URL)
	}
	if takes["smtp"] && ch.SMTP != "" && !checkHostPort(ch.SMTP) {
		v.report(path+".smtp", "want the SMTP server as host:port like smtp.example.com:587, got %q", ch.SMTP)
	}
	if takes["from"] && ch.From != "" && !checkAddress(ch.From) {
		v.report(path+".from", "want an email address like waymark@example.com, got %q", ch.From)
	}
	for i, a := range ch.To {
		if takes["to"] && !checkAddress(a) {
			v.report(fmt.Sprintf("%s.to[%d]", path, i), "want an email address like ops@example.com, got %q", a)
		}
	}
	if ch.Timeout > MaxChannelTimeout {
		v.report(path+".timeout", "want at most %s: an endpoint slower than that is better retried later, got %s", MaxChannelTimeout, ch.Timeout)
	}
	v.oneOf(path+".tls", "tls", ch.TLS, "starttls", "tls", "none")
	v.oneOf(path+".auth", "auth", ch.Auth, "plain", "login")
	if ch.Method != "" && !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, ch.Method) {
		v.report(path+".method", "want GET, POST, PUT, PATCH or DELETE, got %q", ch.Method)
	}
}

// handshakeHeaders are set by the websocket handshake itself; a value in
// browser.headers would break it.
func handshakeHeaders() []string {
	return []string{"connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"}
}

// browser checks the browser section: a local browser (path) or remote
// ones (url, or urls with slots each), not both, and headers only for
// remote ones.
func (v *validator) browser(b Browser) {
	if b.URL != "" {
		if msg := checkBrowserURL(b.URL); msg != "" {
			v.report("browser.url", "%s", msg)
		}
	}
	for i, r := range b.URLs {
		p := fmt.Sprintf("browser.urls[%d]", i)
		if r.URL == "" {
			v.report(p, "a remote browser needs url: its DevTools address, like ws://10.0.0.5:9222/devtools/browser/… or http://10.0.0.5:9222")
		} else if msg := checkBrowserURL(r.URL); msg != "" {
			v.report(p+".url", "%s", msg)
		}
		if r.Slots == 0 {
			v.report(p, "a remote browser needs slots: how many runs it takes at once, like slots: 4")
		}
	}
	remote := b.URL != "" || len(b.URLs) > 0
	if b.URL != "" && len(b.URLs) > 0 {
		v.report("browser.urls", "set browser.url for one remote browser or browser.urls for several, not both")
	}
	if b.Path != "" && remote {
		v.report("browser.path", "a local browser, not used with a remote one (browser.url or browser.urls): set one of them, not both")
	}
	if len(b.Headers) > 0 && !remote {
		v.report("browser.headers", "sent only to remote browsers: set browser.url or browser.urls, or remove it")
	}
	for _, name := range slices.Sorted(maps.Keys(b.Headers)) {
		p := "browser.headers." + name
		switch {
		case slices.Contains(handshakeHeaders(), name):
			v.report(p, "set by the websocket handshake itself: remove it")
		case strings.ContainsAny(b.Headers[name], "\r\n\x00"):
			v.report(p, "want a value on one line")
		}
	}
}

// checkBrowserURL says what is wrong with a remote browser's address: it
// must be ws, wss, http or https with a host, and a port in 1-65535 if
// any, unless it holds an ${env:…} reference. The query, where fleets put
// tokens, is not shown.
func checkBrowserURL(s string) string {
	if hasEnvRef(s) {
		return ""
	}
	shown := s
	if i := strings.IndexByte(s, '?'); i >= 0 {
		shown = s[:i] + "?…"
	}
	u, err := url.Parse(s)
	if err != nil || !slices.Contains([]string{"ws", "wss", "http", "https"}, u.Scheme) || u.Hostname() == "" {
		return fmt.Sprintf("want a DevTools URL like ws://127.0.0.1:9222/devtools/browser/… or http://127.0.0.1:9222, got %q", shown)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("want a port in 1-65535, got %q", shown)
		}
	}
	return ""
}

// route checks one route: what it matches and that its channels exist.
func (v *validator) route(path string, r Route, channels map[string]Channel, names []string) {
	v.oneOf(path+".match.severity", "severity", r.Match.Severity, "info", "warning", "critical")
	v.oneOf(path+".match.kind", "kind", r.Match.Kind, "site", "monitor")
	switch {
	case len(r.To) == 0 && len(r.Escalate) == 0:
		v.report(path, "a route needs to: with at least one channel, or escalate: levels")
	case len(r.To) > 0 && len(r.Escalate) > 0:
		v.report(path, "give to: or escalate:, not both (escalate's first level is to:)")
	}
	v.channelNames(path+".to", r.To, channels, names)
	var last Delay
	for i, l := range r.Escalate {
		p := fmt.Sprintf("%s.escalate[%d]", path, i)
		if len(l.To) == 0 {
			v.report(p, "an escalation level needs to: with at least one channel")
		}
		if i > 0 && l.After <= last {
			v.report(p+".after", "want a delay longer than the level before's (%s), got %s", time.Duration(last), time.Duration(l.After))
		}
		last = l.After
		v.channelNames(p+".to", l.To, channels, names)
	}
}

// channelNames checks that the named channels exist.
func (v *validator) channelNames(path string, to []string, channels map[string]Channel, names []string) {
	for i, name := range to {
		p := fmt.Sprintf("%s[%d]", path, i)
		_, defined := channels[name]
		switch {
		case defined || v.l.damaged("channels."+name):
		case len(names) == 0:
			v.report(p, "undefined channel %q: no channels are defined", name)
		default:
			v.report(p, "undefined channel %q%s", name, yamlnode.Hint(name, names))
		}
	}
}

// oneOf checks that a set value is one of the allowed words.
func (v *validator) oneOf(path, what, got string, allowed ...string) {
	if got != "" && !slices.Contains(allowed, got) {
		v.report(path, "unknown %s %q%s", what, got, yamlnode.Hint(got, allowed))
	}
}

// window checks one maintenance window: what it covers, and either a
// repeating (cron and duration, in a time zone) or a single (from and to)
// time.
func (v *validator) window(path string, w Window) {
	// A match whose keys were wrong was reported as such.
	if w.Match == (WindowMatch{}) && !v.l.near(path+".match") {
		v.report(path, "a window needs match: with a journey, a tag or a customer")
	}
	repeating := w.Cron != "" || w.Duration != 0
	single := !w.From.IsZero() || !w.To.IsZero()
	switch {
	case w.TimeZone != "" && single && !repeating:
		v.report(path+".time_zone", "the time zone of cron, not used by from and to, which carry their own offset (2026-12-01T22:00:00+01:00): remove it")
	case repeating && single:
		v.report(path, "want either cron and duration, or from and to, not both")
	case repeating:
		if w.Cron == "" {
			v.report(path, "a repeating window needs cron as well as duration")
		} else {
			v.windowCron(path, w)
		}
		if w.Duration == 0 {
			v.report(path, "a repeating window needs duration as well as cron")
		}
	case single:
		switch {
		case w.From.IsZero():
			v.report(path, "a single window needs from as well as to")
		case w.To.IsZero():
			v.report(path, "a single window needs to as well as from")
		case !w.To.After(w.From):
			v.report(path+".to", "want a time after from (%s), got %s", w.From.Format(timeLayout), w.To.Format(timeLayout))
		}
	case w.TimeZone != "":
		v.report(path, "a window with time_zone needs cron and duration: when it starts in that zone, and for how long")
	default:
		v.report(path, "a window needs cron and duration, or from and to")
	}
}

// windowCron checks a repeating window's cron and time zone as the results
// model reads them: a known IANA zone, a cron spec that starts, and the
// zone said once (time_zone or CRON_TZ=).
func (v *validator) windowCron(path string, w Window) {
	zone := w.TimeZone
	if zone != "" {
		if _, err := results.LoadZone(zone); err != nil {
			v.report(path+".time_zone", "%v", err)
			zone = ""
		}
	}
	if _, _, err := results.ParseMaintenanceCron(w.Cron, zone); err != nil {
		v.report(path+".cron", "%v", err)
	}
}

// timeLayout shows times in messages as the file writes them.
const timeLayout = "2006-01-02T15:04:05Z07:00"

// hasEnvRef reports whether s holds a ${env:NAME} reference, which is
// expanded only later, so its format cannot be judged now.
func hasEnvRef(s string) bool { return strings.Contains(s, "${env:") }

// checkDatabase says what is wrong with a database setting: a file path or
// a postgres:// URL.
func checkDatabase(s string) string {
	const w = "want a file path or a postgres:// URL"
	if strings.TrimSpace(s) == "" {
		return fmt.Sprintf("%s, got %q", w, s)
	}
	scheme, _, isURL := strings.Cut(s, "://")
	if !isURL {
		return ""
	}
	if scheme != "postgres" && scheme != "postgresql" {
		return fmt.Sprintf("%s, got %q", w, s)
	}
	if !hasEnvRef(s) {
		if _, err := url.Parse(s); err != nil {
			return fmt.Sprintf("bad URL %q: %v", s, err)
		}
	}
	return ""
}

// checkURL reports whether s is an absolute URL with a host and one of the
// schemes, or holds an ${env:…} reference.
func checkURL(s string, schemes ...string) bool {
	if hasEnvRef(s) {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && slices.Contains(schemes, u.Scheme) && u.Host != ""
}

// checkHostPort reports whether s is host:port with a numeric port (the
// host may be empty: all interfaces), or holds an ${env:…} reference.
func checkHostPort(s string) bool {
	if hasEnvRef(s) {
		return true
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// checkAddress reports whether s is one email address, or holds an
// ${env:…} reference.
func checkAddress(s string) bool {
	if hasEnvRef(s) {
		return true
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address != ""
}

// locator says where the value at a path came from, for errors.
type locator struct {
	file string
	doc  *document
	env  map[string]string // key → variable
}

// at makes an error about the value at path: at its variable when the
// environment set it (or a section holding it), else at its place in the
// file (or the nearest enclosing one written there).
func (l *locator) at(path, msg string) *Error {
	e := &Error{Key: display(path), Msg: msg}
	for p := path; p != ""; p = parent(p) {
		if name, ok := l.env[p]; ok {
			e.Env = name
			return e
		}
	}
	for p := path; p != ""; p = parent(p) {
		if pos, ok := l.doc.pos[p]; ok {
			e.File, e.Line, e.Col = l.file, pos.line, pos.col
			return e
		}
	}
	return e // a default value
}

// damaged reports whether the schema rejected the value at path or one
// enclosing it.
func (l *locator) damaged(path string) bool {
	for _, d := range l.doc.dropped {
		if d == path || within(path, d) {
			return true
		}
	}
	return false
}

// near reports whether the schema rejected the value at path, one
// enclosing it, or one of its own keys or items: a rule about that value
// would then judge what is left of it after the mistake already reported
// (a channel's "needs url" after its misspelt `urll`).
func (l *locator) near(path string) bool {
	for _, d := range l.doc.dropped {
		if d == path || within(path, d) || parent(d) == path {
			return true
		}
	}
	return false
}

// within reports whether path lies inside the value at outer.
func within(path, outer string) bool {
	rest, ok := strings.CutPrefix(path, outer)
	return ok && outer != "" && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "["))
}

// parent is the path of the value enclosing path's.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
