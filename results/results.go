// Package results is the result model of Waymark: a run of a journey, its
// steps, their outcomes and failure causes. It is pure data and pure code;
// storage lives in results/store.
package results

import (
	"time"
)

// Outcome is the verdict on a whole run.
type Outcome string

// Run outcomes, as journey-format.md defines them.
const (
	// Passed: every step passed within its warn thresholds.
	Passed Outcome = "passed"
	// Degraded: a warn threshold was crossed or an optional step failed.
	Degraded Outcome = "degraded"
	// Failed: the site failed a step, an assertion or a fail threshold.
	Failed Outcome = "failed"
	// Error: the monitor itself failed; says nothing about the site.
	Error Outcome = "error"
)

// Worse returns the more severe of two outcomes.
func Worse(a, b Outcome) Outcome {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func rank(o Outcome) int {
	switch o {
	case Degraded:
		return 1
	case Failed:
		return 2
	case Error:
		return 3
	}
	return 0
}

// Status is the verdict on one step.
type Status string

// Step statuses.
const (
	StepPassed   Status = "passed"
	StepDegraded Status = "degraded" // passed, but over its warn threshold
	StepFailed   Status = "failed"
	StepSkipped  Status = "skipped" // not run after an earlier failure
	StepError    Status = "error"   // the monitor failed during the step
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
	ID             string
	Journey        string // journey name
	Title          string
	File           string
	Trigger        Trigger
	Location       string
	StartedAt      time.Time
	FinishedAt     time.Time
	Duration       time.Duration
	Outcome        Outcome
	FailingStep    int // 1-based index of the first failed step, 0 if none
	Cause          Cause
	Error          string // secrets masked
	BrowserVersion string
	DefinitionHash string
	Attempt        int // 1, or 2 when an error run was retried
	Steps          []Step
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
	Artifacts  []Artifact
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

// FailedStep returns the first failed or errored step, or nil.
func (r *Run) FailedStep() *Step {
	for i := range r.Steps {
		s := &r.Steps[i]
		if (s.Status == StepFailed || s.Status == StepError) && !s.Optional {
			return s
		}
	}
	return nil
}
