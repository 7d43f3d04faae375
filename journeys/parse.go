package journeys

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/waymarkhq/waymark/journeys/yamlnode"
	"go.yaml.in/yaml/v3"
)

// Parse parses and validates one journey file's bytes. file names the file
// in errors and is where relative `use` and `upload` paths start; snippet
// files are read from the operating system, as Load reads them. The error,
// if any, is an ErrorList holding every problem of the file (and of the
// snippets it uses); the journey is then nil.
func Parse(file string, data []byte) (*Journey, error) {
	j, _, errs := parseFile(files{}, file, data)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return j, nil
}

// parseFile parses the journey file name of src, returning where its name
// is written so Load can point at a duplicate.
func parseFile(src files, name string, data []byte) (*Journey, Pos, ErrorList) {
	p := &parser{state: &state{src: src, snippets: map[string]*snippet{}}, file: src.display(name), dir: src.dir(name)}
	j, namePos := p.journey(data)
	j.Warnings = p.warns
	j.refs = p.refs
	j.Hash = definitionHash(data, p.snippetData)
	return j, namePos, p.errs
}

// definitionHash is the hex sha256 of a journey's file and of the snippet
// files it uses, so a changed snippet is a changed journey. A journey that
// uses no snippet hashes to the sha256 of its file alone.
func definitionHash(data []byte, snippets map[string][]byte) string {
	h := sha256.New()
	h.Write(data)
	for _, name := range slices.Sorted(maps.Keys(snippets)) {
		// Length-prefixed, so no file's bytes can pass for a name.
		fmt.Fprintf(h, "\x00%d:%s%d:", len(name), name, len(snippets[name]))
		h.Write(snippets[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

var topKeys = []string{"name", "title", "site", "schedule", "locations", "timeout", "owner", "customer", "tags",
	"device", "screenshots", "thresholds", "alert", "block", "headers", "vars", "steps"}

var (
	slugRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	locationRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	headerRE   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

// document decodes data into its single YAML document's root node, or nil
// after reporting why it cannot.
func (p *parser) document(data []byte) *yaml.Node {
	doc, problem := yamlnode.Decode(data)
	if problem != nil {
		p.errorf(nil, "%s", problem.Msg).Pos = Pos{Line: problem.Line, Col: problem.Col}
	}
	if doc == nil {
		if problem == nil {
			p.errorf(nil, "empty file: want a map with name and steps")
		}
		return nil
	}
	if large, byAliases := yamlnode.TooLarge(doc); large {
		if byAliases {
			p.errorf(doc, "the document is too large once its aliases are expanded: want at most %d values", yamlnode.MaxNodes)
		} else {
			p.errorf(doc, "the document has too many values: want at most %d", yamlnode.MaxNodes)
		}
		return nil
	}
	return yamlnode.Deref(doc.Content[0])
}

// scheduleProblem says what is wrong with a schedule, or "" when the
// scheduler can use it. Beyond robfig/cron's parser, it rejects @every
// intervals that the scheduler would silently change (below 1s it runs
// every second; it drops fractions of a second), and checks a CRON_TZ= or
// TZ= time zone itself, with a clear message (the parser panics on a
// time zone with nothing after it).
func scheduleProblem(spec string) string {
	const want = "want 5 fields (minute hour day month weekday) or @every 5m, @hourly, @daily"
	rest := spec
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// Split as the parser does: the zone ends at the first space.
		prefix, zone, _ := strings.Cut(spec, "=")
		zone, rest, _ = strings.Cut(zone, " ")
		if zone == "" {
			return fmt.Sprintf("%q: missing time zone after %s=: want a name like %s=Europe/London", spec, prefix, prefix)
		}
		if _, err := time.LoadLocation(zone); err != nil {
			return fmt.Sprintf("unknown time zone %q: want a name from the IANA time zone database like Europe/London, America/New_York or UTC", zone)
		}
		if rest = strings.TrimSpace(rest); rest == "" {
			return fmt.Sprintf("%q: missing schedule after the time zone: want one like %s=%s 0 9 * * 1-5", spec, prefix, zone)
		}
	}
	if _, err := cronParser.Parse(spec); err != nil {
		return fmt.Sprintf("bad cron %q: %v; %s", spec, err, want)
	}
	if interval, ok := strings.CutPrefix(rest, "@every "); ok {
		// The parser has accepted it: it is a Go duration.
		switch d, _ := time.ParseDuration(interval); {
		case d < time.Second:
			return fmt.Sprintf("%q: want an interval of at least 1s, like @every 5m", rest)
		case d%time.Second != 0:
			return fmt.Sprintf("%q: want a whole number of seconds, like @every 90s: the scheduler drops fractions of a second", rest)
		}
	}
	return ""
}

// journey reads a journey file's top level.
func (p *parser) journey(data []byte) (*Journey, Pos) {
	j := &Journey{File: p.file, Timeout: DefaultRunTimeout, Screenshots: ScreenshotsOnFailure, Device: desktop}
	var namePos Pos
	root := p.document(data)
	if root == nil {
		return j, namePos
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "want a map with name and steps, got %s", yamlnode.Describe(root))
		return j, namePos
	}
	o, _ := p.obj(root, "", topKeys)

	if n := o.get("name"); n == nil {
		p.errorf(root, "missing name: want a lowercase slug like guest-checkout")
	} else if s, ok := p.str(n, "name"); ok {
		namePos = pos(n)
		if !slugRE.MatchString(s) {
			p.errorf(n, "name: bad name %q: want a lowercase slug of a-z, 0-9 and - like guest-checkout", s)
		}
		j.Name = s
	}
	if n := o.get("title"); n != nil {
		j.Title, _ = p.str(n, "title")
	}
	p.known = knownSet()
	delete(p.known, "site")
	if n := o.get("site"); n != nil {
		if s, ok := p.nonEmpty(n, "site"); ok {
			j.Site = p.tmpl(n, "site", s)
			if !strings.HasPrefix(s, "${") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
				p.errorf(n, "site: want an absolute http:// or https:// URL, got %q", s)
			}
		}
	}
	p.known = knownSet()
	if n := o.get("vars"); n != nil {
		j.Vars = p.vars(n)
	}
	if n := o.get("schedule"); n != nil {
		if s, ok := p.nonEmpty(n, "schedule"); ok {
			if msg := scheduleProblem(s); msg != "" {
				p.errorf(n, "schedule: %s", msg)
			}
			j.Schedule = s
		}
	}
	if n := o.get("timeout"); n != nil {
		if d, ok := p.duration(n, "timeout"); ok {
			j.Timeout = d
		}
	}
	if n := o.get("owner"); n != nil {
		j.Owner, _ = p.nonEmpty(n, "owner")
	}
	if n := o.get("customer"); n != nil {
		j.Customer, _ = p.nonEmpty(n, "customer")
	}
	if n := o.get("locations"); n != nil {
		j.Locations = p.locations(n)
	}
	if n := o.get("tags"); n != nil {
		j.Tags = p.strList(n, "tags")
	}
	if n := o.get("device"); n != nil {
		j.Device = p.device(n)
	}
	if n := o.get("screenshots"); n != nil {
		if s, ok := p.str(n, "screenshots"); ok {
			switch sp := ScreenshotPolicy(s); sp {
			case ScreenshotsOnFailure, ScreenshotsEveryStep, ScreenshotsNever:
				j.Screenshots = sp
			default:
				p.errorf(n, "screenshots: want on_failure, every_step or never, got %q", s)
			}
		}
	}
	if n := o.get("thresholds"); n != nil {
		j.Thresholds = p.thresholds(n, "thresholds")
	}
	if n := o.get("alert"); n != nil {
		j.Alert = p.alert(n)
	}
	if n := o.get("block"); n != nil {
		j.Block = p.strList(n, "block")
	}
	if n := o.get("headers"); n != nil {
		j.Headers = p.headers(n, "headers")
	}
	if n := o.get("steps"); n == nil {
		p.errorf(root, "missing steps: want a list of steps")
	} else {
		j.Steps = p.steps(n)
	}
	return j, namePos
}

// vars reads `vars:`; each value may use the variables above it.
func (p *parser) vars(n *yaml.Node) []Var {
	o, _ := p.obj(n, "vars", nil)
	p.varNames = map[string]bool{}
	for _, kv := range o.pairs {
		p.varNames[kv.k.Value] = true
	}
	var vars []Var
	for _, kv := range o.pairs {
		name := kv.k.Value
		s, ok := p.str(kv.v, "vars."+name)
		if !p.ident(kv.k, "vars", name) || !ok {
			continue
		}
		vars = append(vars, Var{Name: name, Value: p.tmpl(kv.v, "vars."+name, s), Pos: pos(kv.k)})
		p.known[name] = true
	}
	return vars
}

// steps reads a non-empty list of steps.
func (p *parser) steps(n *yaml.Node) []Step {
	items, ok := p.list(n, "steps")
	if ok && len(items) == 0 {
		p.errorf(n, "steps: want at least one step")
	}
	p.extractedAt = map[string]int{}
	steps := make([]Step, 0, len(items))
	for i, it := range items {
		steps = append(steps, p.parseStep(it, i+1))
	}
	p.step, p.stepName = 0, ""
	p.explainPending()
	return steps
}

// headers reads a map of HTTP header names to value templates.
func (p *parser) headers(n *yaml.Node, what string) map[string]string {
	o, _ := p.obj(n, what, nil)
	h := map[string]string{}
	for _, kv := range o.pairs {
		if !headerRE.MatchString(kv.k.Value) {
			p.errorf(kv.k, "%sbad header name %q", prefix(what), kv.k.Value)
		}
		if s, ok := p.str(kv.v, what+"."+kv.k.Value); ok {
			h[kv.k.Value] = p.tmpl(kv.v, what+"."+kv.k.Value, s)
		}
	}
	return h
}

var (
	desktop = Device{Name: "desktop", Width: 1366, Height: 768}
	mobile  = Device{Name: "mobile", Width: 390, Height: 844, Mobile: true,
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"}
)

// device reads desktop, mobile or {width, height, mobile, user_agent}.
func (p *parser) device(n *yaml.Node) Device {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "desktop":
			return desktop
		case "mobile":
			return mobile
		}
		p.errorf(n, "device: want desktop, mobile or {width, height, mobile, user_agent}, got %s", yamlnode.Describe(n))
		return desktop
	}
	o, _ := p.obj(n, "device", []string{"width", "height", "mobile", "user_agent"})
	var d Device
	for _, k := range []string{"width", "height"} {
		if v := o.get(k); v == nil {
			p.errorf(n, "device: missing %s: want a number of CSS pixels", k)
		} else if i, ok := p.integer(v, "device."+k, 1); ok && k == "width" {
			d.Width = i
		} else if ok {
			d.Height = i
		}
	}
	if v := o.get("mobile"); v != nil {
		d.Mobile = p.boolean(v, "device.mobile")
	}
	if v := o.get("user_agent"); v != nil {
		d.UserAgent, _ = p.nonEmpty(v, "device.user_agent")
	}
	return d
}

// alert reads {after, resolve_after, degraded_after, severity, remind_every,
// recheck, locations, per_location} or {failures, within}.
func (p *parser) alert(n *yaml.Node) Alert {
	o, _ := p.obj(n, "alert", []string{"after", "resolve_after", "degraded_after", "severity", "remind_every", "failures",
		"within", "recheck", "locations", "per_location"})
	var a Alert
	for k, dst := range map[string]*int{"after": &a.After, "resolve_after": &a.ResolveAfter,
		"degraded_after": &a.DegradedAfter, "failures": &a.Failures, "within": &a.Within, "locations": &a.Locations} {
		if v := o.get(k); v != nil {
			*dst, _ = p.integer(v, "alert."+k, 1)
		}
	}
	if v := o.get("severity"); v != nil {
		if s, ok := p.str(v, "alert.severity"); ok {
			if s != "warning" && s != "critical" {
				p.errorf(v, "alert.severity: want warning or critical, got %q", s)
			}
			a.Severity = s
		}
	}
	if v := o.get("remind_every"); v != nil {
		a.RemindEvery, _ = p.duration(v, "alert.remind_every")
	}
	if v := o.get("recheck"); v != nil {
		a.Recheck, _ = p.duration(v, "alert.recheck")
	}
	if v := o.get("per_location"); v != nil {
		b := p.boolean(v, "alert.per_location")
		a.PerLocation = &b
	}
	switch {
	case o.has("failures") != o.has("within"):
		p.errorf(n, "alert: failures and within go together, like {failures: 3, within: 5}")
	case a.Failures > a.Within:
		p.errorf(n, "alert: failures %d cannot exceed within %d", a.Failures, a.Within)
	case o.has("after") && o.has("failures"):
		p.errorf(n, "alert: give after or {failures, within}, not both")
	case a.Locations > 1 && a.PerLocation != nil && *a.PerLocation:
		p.errorf(n, "alert: per_location gives each location its own incident, while locations: %d asks %[1]d to fail together; give one or the other", a.Locations)
	}
	return a
}

// locations reads `locations:`, the agents' location labels the journey
// runs in, each a lowercase label like eu-west.
func (p *parser) locations(n *yaml.Node) []string {
	list := p.strList(n, "locations")
	items, _ := p.list(n, "locations")
	seen := map[string]bool{}
	for i, l := range list {
		at := n
		if i < len(items) {
			at = items[i]
		}
		switch {
		case !locationRE.MatchString(l):
			p.errorf(at, "locations: bad location %q: want a lowercase label of a-z, 0-9, - and _ like eu-west", l)
		case seen[l]:
			p.errorf(at, "locations: %q is listed twice", l)
		}
		seen[l] = true
	}
	return list
}
