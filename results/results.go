// Package results is the result model of Waymark: a run of a journey, its
// steps, their outcomes and failure causes, and the one rule that decides a
// run's outcome from its steps. It is pure data and pure code; storage lives
// in results/store.
package results

import (
	"time"
)

// Outcome is the verdict on a whole run.
type Outcome string

// Run outcomes, as journey-format.md defines them, plus aborted.
const (
	// Passed: every step passed within its warn thresholds.
	Passed Outcome = "passed"
	// Degraded: a warn threshold was crossed or an optional step failed.
	Degraded Outcome = "degraded"
	// Failed: the site failed a step, an assertion or a fail threshold.
	Failed Outcome = "failed"
	// Error: the monitor itself failed; says nothing about the site.
	Error Outcome = "error"
	// Aborted: the run was cut short from outside (Ctrl-C, a shutdown)
	// before anything decided it. It says nothing about the site nor about
	// the monitor, so it never counts toward an incident or a
	// monitor-health alert.
	Aborted Outcome = "aborted"
)

// Status is the verdict on one step.
type Status string

// Step statuses.
const (
	StepPassed   Status = "passed"
	StepDegraded Status = "degraded" // passed, but over its warn threshold
	StepFailed   Status = "failed"
	StepSkipped  Status = "skipped" // not run after an earlier failure
	StepError    Status = "error"   // the monitor failed during the step
	StepAborted  Status = "aborted" // cut short by an interrupt or shutdown
)

// Cause says why a step failed; it is used in reports and alert policy.
type Cause string

// Failure causes, as journey-format.md defines them.
const (
	CauseNone      Cause = ""
	CauseNetwork   Cause = "network"   // DNS, TLS, refused or reset connection
	CauseHTTP      Cause = "http"      // a navigation answered >= 400
	CauseSelector  Cause = "selector"  // nothing matched the locator
	CauseAssertion Cause = "assertion" // matched, but the value was wrong
	CauseTimeout   Cause = "timeout"   // waited the whole step timeout
	CauseScript    Cause = "script"    // page or eval JavaScript threw
	CauseChallenge Cause = "challenge" // a bot-protection page stood in the way
	CauseMonitor   Cause = "monitor"   // the runner or browser failed
)

// Trigger says what started a run.
type Trigger string

// Run triggers.
const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
	TriggerCI       Trigger = "ci"
)

// Run is one execution of a journey, complete once the runner hands it on.
type Run struct {
	ID       string
	Journey  string // journey name
	Title    string
	File     string
	Trigger  Trigger
	Location string
	// Slot is the due time of the schedule slot this run is for; zero for
	// a run nobody scheduled (CI, by hand).
	Slot time.Time
	// StartedAt is when the first step started and FinishedAt when the
	// last one ended, so Duration measures the site, not the monitor.
	// When no step ran (the monitor failed first) both are the moment the
	// attempt gave up.
	StartedAt  time.Time
	FinishedAt time.Time
	Duration   time.Duration
	// Setup is the monitor's own time around the steps (browser context,
	// tab and page set-up, tear-down): not the site's, so it counts in no
	// threshold, but it tells how loaded the monitor is.
	Setup          time.Duration
	Outcome        Outcome
	FailingStep    int // 1-based index of the step that decided a failed, error or aborted run; 0 if none
	Cause          Cause
	Error          string // secrets masked
	BrowserVersion string
	DefinitionHash string
	Attempt        int // 1, or 2 when an error run was retried
	// Retried marks an attempt that ended in error and was retried at
	// once: the next attempt supersedes its outcome. It is kept, and shown,
	// so no output hides that the monitor stumbled.
	Retried bool
	// Maintenance names the maintenance window the run ran in (its name,
	// or its reason); empty when none. Such a run is kept and shown but
	// opens, escalates and resolves no incident.
	Maintenance string
	Steps       []Step
}

// Step is the result of one journey step.
type Step struct {
	Index    int // 1-based
	Name     string
	Action   string
	Line     int           // source line in the journey file
	Start    time.Duration // offset from the run start
	Duration time.Duration
	Status   Status
	Optional bool
	Cause    Cause
	Error    string // secrets masked
	// Expected and Actual say, for a failed check, what was expected and
	// what was found, written for people and shown as they are: quoted
	// text ("2"), a phrase (to contain "light", at least 8), a status (500).
	Expected string
	Actual   string
	URL      string // page URL after the step
	// HTTPStatus is the main document's status for goto, 0 otherwise.
	HTTPStatus int
	Timings    *PageTimings // goto only
	// Console is what the page said during the step: uncaught exceptions,
	// console errors and warnings, and the dialogs it opened, in order.
	Console []ConsoleEntry
	// Notes are what the monitor has to say about the step besides its
	// verdict, e.g. why a failure has no screenshot.
	Notes     []string
	Artifacts []Artifact
}

// ConsoleKind is what sort of page message a ConsoleEntry is.
type ConsoleKind string

// Console entry kinds.
const (
	ConsoleException ConsoleKind = "exception" // an uncaught exception or unhandled rejection
	ConsoleError     ConsoleKind = "error"     // console.error
	ConsoleWarning   ConsoleKind = "warning"   // console.warn
	ConsoleDialog    ConsoleKind = "dialog"    // alert(), confirm(), prompt() or beforeunload, answered by the runner
)

// ConsoleEntry is one message of the page during a step.
type ConsoleEntry struct {
	Kind ConsoleKind
	// Text is the message; for a dialog, its type and text, and how the
	// runner answered it: `alert "Session expired" (accepted)`.
	Text   string
	Source string        // "url:line" where the page said it, when known
	At     time.Duration // offset from the run start
}

// PageTimings are the navigation timings of a goto, from the page itself.
type PageTimings struct {
	TTFB             time.Duration
	DOMContentLoaded time.Duration
	Load             time.Duration
	LCP              time.Duration
	CLS              float64
	Requests         int
	Bytes            int64
}

// ArtifactKind is what an artifact holds.
type ArtifactKind string

// Artifact kinds.
const (
	ArtifactScreenshot ArtifactKind = "screenshot" // JPEG
	ArtifactDOM        ArtifactKind = "dom"
	ArtifactConsole    ArtifactKind = "console"
	ArtifactNetwork    ArtifactKind = "network"
)

// Artifact is a file a step produced. Data is the content; Hash (hex
// sha256 of Data) is filled by whoever stores it; Path by whoever writes
// it to disk.
type Artifact struct {
	Kind  ArtifactKind
	Label string // e.g. "failure", "step", or a screenshot step's label
	Data  []byte
	Hash  string
	Path  string
}
