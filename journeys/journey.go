// Package journeys holds the journey model: the YAML format v1 parsed with
// positions, its validation, variables and secrets.
//
// It imports none of Waymark's other packages: the runner, the store and the
// reports all depend on it, never the reverse.
package journeys

import "time"

// Pos is a place in a journey file, 1-based, as editors show it.
type Pos struct {
	Line, Col int
}

// Journey is one parsed and validated journey file. String fields that may
// hold `${…}` references keep them unexpanded: they are expanded at run time
// by a Scope, so extracted values and run built-ins are known.
type Journey struct {
	Name     string // lowercase slug, unique across loaded journeys
	Title    string // optional, shown in reports
	File     string // path of the file as given to Load
	Site     string // base URL template; --base-url overrides it
	Schedule string // cron spec, "" = on demand only
	// Locations are the agents' locations the journey runs in, each slot
	// once in each; empty means every location that has an agent.
	Locations   []string
	Timeout     time.Duration
	Owner       string
	Customer    string
	Tags        []string
	Device      Device
	Screenshots ScreenshotPolicy
	Thresholds  Thresholds // whole-run duration thresholds
	Alert       Alert
	Block       []string          // URL patterns never requested
	Headers     map[string]string // extra headers on every browser request
	Vars        []Var             // in file order; a var may use earlier ones
	Steps       []Step
	Hash        string // the definition hash: sha256 of the file and the snippets it uses

	// Warnings are problems that do not stop the journey from running,
	// such as a `wait` step (a fixed pause); `waymark validate` prints them.
	Warnings []*Error

	// refs are the ${env:…} and ${secret:…} references of the whole journey
	// (snippets included) with their places, so NewScope can report every
	// missing environment variable before a run starts and knows every
	// secret value to mask.
	refs []envRef
}

// DefaultRunTimeout is the whole-run budget when a journey sets no timeout.
const DefaultRunTimeout = 60 * time.Second

// DefaultStepTimeout is a step's budget when it sets no timeout.
const DefaultStepTimeout = 10 * time.Second

// Var is a journey variable declared under `vars:`.
type Var struct {
	Name  string
	Value string // template
	Pos   Pos
}

// ScreenshotPolicy says when the runner captures the page.
type ScreenshotPolicy string

// Screenshot policies of the `screenshots:` key.
const (
	ScreenshotsOnFailure ScreenshotPolicy = "on_failure"
	ScreenshotsEveryStep ScreenshotPolicy = "every_step"
	ScreenshotsNever     ScreenshotPolicy = "never"
)

// Thresholds are warn and fail limits on a duration; zero means no limit.
type Thresholds struct {
	Warn, Fail time.Duration
}

// Device is the emulated viewport. The zero value is the desktop default.
type Device struct {
	Name      string // "desktop", "mobile" or "" for a custom map
	Width     int
	Height    int
	Mobile    bool
	UserAgent string
}

// Alert is the journey's incident policy; zero fields take config defaults.
type Alert struct {
	After         int
	ResolveAfter  int
	DegradedAfter int
	Failures      int // {failures: 3, within: 5}
	Within        int
	Severity      string
	RemindEvery   time.Duration
	// Recheck is how soon a failing journey runs again, before its next
	// slot, so an hourly journey's incident opens and resolves in minutes.
	Recheck time.Duration
	// Locations is how many locations must fail at once to open an
	// incident.
	Locations int
	// PerLocation, when set, overrides the config's alert.per_location:
	// each location has its own incident, opened and resolved by its own
	// runs, and routes may match it by location.
	PerLocation *bool
}

// Action names the one thing a step does.
type Action string

// The actions of format v1.
const (
	ActGoto       Action = "goto"
	ActClick      Action = "click"
	ActDblclick   Action = "dblclick"
	ActHover      Action = "hover"
	ActFill       Action = "fill"
	ActSelect     Action = "select"
	ActCheck      Action = "check"
	ActUncheck    Action = "uncheck"
	ActPress      Action = "press"
	ActUpload     Action = "upload"
	ActScrollTo   Action = "scroll_to"
	ActWaitFor    Action = "wait_for"
	ActWait       Action = "wait"
	ActAssert     Action = "assert"
	ActExtract    Action = "extract"
	ActEval       Action = "eval"
	ActScreenshot Action = "screenshot"
	ActSetCookie  Action = "set_cookie"
	ActRequest    Action = "request"
	ActUse        Action = "use"
)

// Step is one step of a journey: exactly one action plus common keys.
type Step struct {
	Index      int    // 1-based position in Journey.Steps
	Name       string // given or derived from the action
	Action     Action
	Pos        Pos           // where the step's map starts
	Timeout    time.Duration // DefaultStepTimeout when unset
	Threshold  Thresholds
	Optional   bool
	Always     bool
	Screenshot string // "", "always" or "never"

	// Exactly the fields of the step's action are set.

	// Target is the single-string argument of goto (URL or path), click,
	// dblclick, hover, check, uncheck, scroll_to (locator), press (key
	// chord), eval (script) and screenshot (label).
	Target  string
	Locator Locator // parsed Target for locator actions

	Fields  []Field       // fill, select, upload: in file order
	Expect  *GotoExpect   // goto: expected status codes
	Wait    time.Duration // wait
	WaitFor *WaitFor      // wait_for
	Assert  *Assertion    // assert
	Extract []Extraction  // extract, in file order
	Request *Request      // request
	Use     *Use          // use
	Cookie  *Cookie       // set_cookie
}

// LocatorKind is how a locator finds its element.
type LocatorKind string

// Locator kinds: a plain string is CSS; `text=` exact text, `text~=`
// contained text, `xpath=` XPath.
const (
	LocCSS          LocatorKind = "css"
	LocText         LocatorKind = "text"
	LocTextContains LocatorKind = "text~"
	LocXPath        LocatorKind = "xpath"
)

// Locator finds elements on the page. Value is a template.
type Locator struct {
	Kind  LocatorKind
	Value string
	Raw   string // as written, for names and messages
}

// Field is one locator → value pair of fill, select or upload.
type Field struct {
	Locator Locator
	// Value is a template for fill and select. For upload it is a path,
	// not a template, already resolved against the journey file's folder
	// and checked to exist when the journey loaded.
	Value string
	Pos   Pos
}

// GotoExpect lists the HTTP statuses a goto accepts instead of < 400.
type GotoExpect struct {
	Status []int
}

// Matcher compares a string; exactly one of its fields is set.
// Equals compares trimmed text; Matches is a compiled-checked regexp.
type Matcher struct {
	Equals   *string
	Contains *string
	Matches  *string
}

// WaitFor is the condition of a wait_for step. For url, a plain string
// means Contains.
type WaitFor struct {
	Kind    string  // visible, hidden, present, gone, url, text
	Locator Locator // visible, hidden, present, gone, text
	Match   Matcher // url, text
}

// Assertion is the subject and expectation of an assert step. For url, a
// plain string means Contains (paths and query strings vary by
// environment); for title it means Equals.
type Assertion struct {
	Kind      string  // text, visible, hidden, count, attribute, value, url, title, js
	Locator   Locator // text, visible, hidden, count, attribute, value
	Attribute string  // attribute: its name
	Match     Matcher // text, attribute, value, url, title
	Count     *CountMatch
	JS        string // js expression (template)
}

// CountMatch bounds the number of elements a count assertion finds.
type CountMatch struct {
	Equals, Min, Max *int
}

// Extraction saves one value from the page under a variable name.
type Extraction struct {
	Name      string
	Kind      string // text, value, attribute, url, title, js
	Locator   Locator
	Attribute string
	JS        string
	Pos       Pos
}

// Request is an HTTP call made by the runner itself, not by the page.
type Request struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    string
	JSON    any
	Expect  RequestExpect
	// Extract maps a variable to a JSON path of the response: keys and
	// array indexes separated by dots, like data.items.0.id.
	Extract map[string]string
}

// RequestExpect is what a request step checks in the response.
type RequestExpect struct {
	Status []int
	JSON   map[string]any // JSON path (as in Request.Extract) → expected value; strings are templates
}

// Use includes a snippet file's steps with parameters.
type Use struct {
	File string // as written, relative to the journey file
	Path string // resolved path
	With map[string]string
	// Steps are the snippet's parsed and validated steps; their templates
	// may read the snippet's params, which With gives (as templates of the
	// using journey). Shared between the journeys' uses: read-only.
	Steps []Step
}

// Cookie is set in the run's browser context before later steps.
type Cookie struct {
	Name, Value, Domain, Path, URL string
}
