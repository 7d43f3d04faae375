package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// t0 is the fixed start of the fixture runs.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fixtureRuns builds one run of each kind: passed, degraded (slow step and
// an optional failure), failed on an assertion with a screenshot and
// skipped steps, error in a step, and error before any step.
func fixtureRuns() []*results.Run {
	ms := time.Millisecond
	run := func(id, journey, title string, start, dur time.Duration, o results.Outcome, steps ...results.Step) *results.Run {
		return &results.Run{
			ID: id, Journey: journey, Title: title, File: "examples/journeys/" + journey + ".yaml",
			Trigger: results.TriggerCI, Location: "local",
			StartedAt: t0.Add(start), FinishedAt: t0.Add(start + dur), Duration: dur,
			Outcome: o, BrowserVersion: "HeadlessChrome/136.0.7103.92", DefinitionHash: "9f2c" + journey,
			Attempt: 1, Steps: steps,
		}
	}
	home := run("01JPD4Z8AW6Q1M2N3P4R5S6T7V", "home", "Home page loads", 0, 1210*ms, results.Passed,
		results.Step{Index: 1, Name: "Home page", Action: "goto", Line: 6, Duration: 412 * ms, Status: results.StepPassed,
			URL: "http://127.0.0.1:8080/", HTTPStatus: 200,
			Timings: &results.PageTimings{TTFB: 35 * ms, DOMContentLoaded: 210 * ms, Load: 398 * ms, LCP: 301 * ms, CLS: 0.02, Requests: 14, Bytes: 183220}},
		results.Step{Index: 2, Name: "assert visible [data-test=hero]", Action: "assert", Line: 7, Start: 412 * ms, Duration: 38 * ms, Status: results.StepPassed},
		results.Step{Index: 3, Name: "click text=Sign in", Action: "click", Line: 8, Start: 450 * ms, Duration: 760 * ms, Status: results.StepPassed},
	)
	search := run("01JPD4Z8AX0000000000000001", "search", "", 300*ms, 3400*ms, results.Degraded,
		results.Step{Index: 1, Name: "goto /search?q=backpack", Action: "goto", Line: 5, Duration: 2400 * ms, Status: results.StepDegraded,
			Error: "took 2.4s, over the 2s warn threshold", URL: "http://127.0.0.1:8080/search?q=backpack", HTTPStatus: 200},
		results.Step{Index: 2, Name: "click [data-test=newsletter-close]", Action: "click", Line: 8, Start: 2400 * ms, Duration: 1000 * ms,
			Status: results.StepFailed, Optional: true, Cause: results.CauseSelector, Error: "no element matches [data-test=newsletter-close] after 1s"},
	)
	checkout := run("01JPD4Z8AY7K3M9Q2W5E8R1T4Y", "guest-checkout", "Guest buys two items", 1*time.Second, 10600*ms, results.Failed,
		results.Step{Index: 1, Name: "Home page", Action: "goto", Line: 9, Duration: 412 * ms, Status: results.StepPassed, URL: "http://127.0.0.1:8080/", HTTPStatus: 200},
		results.Step{Index: 2, Name: "click [data-test=add-backpack]", Action: "click", Line: 10, Start: 412 * ms, Duration: 38 * ms, Status: results.StepPassed},
		results.Step{Index: 3, Name: "assert text [data-test=cart-badge]", Action: "assert", Line: 12, Start: 450 * ms, Duration: 10 * time.Second,
			Status: results.StepFailed, Cause: results.CauseAssertion, Error: `expected "2", got "1"`, Expected: `"2"`, Actual: `"1"`,
			URL: "http://127.0.0.1:8080/cart",
			Artifacts: []results.Artifact{{Kind: results.ArtifactScreenshot, Label: "failure", Data: []byte("\xff\xd8jpeg"), Hash: "5b1e0c",
				Path: "artifacts/guest-checkout/01jpd4z8/03-assert-text-data-test-cart-badge-failure.jpg"}}},
		results.Step{Index: 4, Name: "click text=Checkout", Action: "click", Line: 13, Status: results.StepSkipped},
		results.Step{Index: 5, Name: "Empty the cart", Action: "request", Line: 15, Start: 10450 * ms, Duration: 150 * ms, Status: results.StepPassed},
	)
	checkout.FailingStep, checkout.Cause, checkout.Error = 3, results.CauseAssertion, `step 3: expected "2", got "1"`
	login := run("01JPD4Z8AZ5555555555555555", "login", "Customer signs in", 2*time.Second, 120*ms, results.Error,
		results.Step{Index: 1, Name: "Login page", Action: "goto", Line: 5, Duration: 120 * ms, Status: results.StepError,
			Cause: results.CauseMonitor, Error: "browser crashed: websocket closed"},
		results.Step{Index: 2, Name: "fill login form", Action: "fill", Line: 6, Status: results.StepSkipped},
	)
	login.FailingStep, login.Cause, login.Error, login.Attempt = 1, results.CauseMonitor, "browser crashed: websocket closed", 2
	export := run("01JPD4Z8B04444444444444444", "nightly-export", "", 2*time.Second, 0, results.Error)
	export.Cause, export.Error = results.CauseMonitor, "chromium not found in PATH (tried chromium, chromium-browser, google-chrome); set browser.path"
	return []*results.Run{home, search, checkout, login, export}
}
