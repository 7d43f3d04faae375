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

// fixtureRuns builds one run of each kind, as `waymark run` passes them:
// passed, degraded (slow step and an optional failure), failed on an
// assertion with a screenshot, console entries, notes and skipped steps,
// error in a step on both attempts (the first retried), error before any
// step, an error retried into a pass (flaky), and aborted by an interrupt.
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
			Console: []results.ConsoleEntry{
				{Kind: results.ConsoleWarning, Text: "cart.js is deprecated", Source: "http://127.0.0.1:8080/static/cart.js:3", At: 460 * ms},
				{Kind: results.ConsoleException, Text: "TypeError: cart.items is undefined\n    at updateBadge (cart.js:41:9)", Source: "http://127.0.0.1:8080/static/cart.js:41", At: 470 * ms},
				{Kind: results.ConsoleDialog, Text: `alert "Session expired" (accepted)`, At: 900 * ms},
				{Kind: results.ConsoleError, Text: "Failed to load resource: 500", Source: "http://127.0.0.1:8080/api/cart:0", At: 950 * ms},
				{Kind: results.ConsoleException, Text: "TypeError: badge is null", Source: "http://127.0.0.1:8080/static/cart.js:52", At: 990 * ms},
				{Kind: results.ConsoleException, Text: "Unhandled rejection: timeout", At: 2 * time.Second},
			},
			Notes: []string{"the cart badge was last updated 9.2s before the timeout"},
			Artifacts: []results.Artifact{{Kind: results.ArtifactScreenshot, Label: "failure", Data: []byte("\xff\xd8jpeg"), Hash: "5b1e0c",
				Path: "artifacts/guest-checkout/01jpd4z8/03-assert-text-data-test-cart-badge-failure.jpg"}}},
		results.Step{Index: 4, Name: "click text=Checkout", Action: "click", Line: 13, Status: results.StepSkipped},
		results.Step{Index: 5, Name: "Empty the cart", Action: "request", Line: 15, Start: 10450 * ms, Duration: 150 * ms, Status: results.StepPassed},
	)
	checkout.FailingStep, checkout.Cause, checkout.Error = 3, results.CauseAssertion, `step 3: expected "2", got "1"`
	checkout.Setup = 180 * ms
	login := func(id string, start time.Duration, attempt int) *results.Run {
		r := run(id, "login", "Customer signs in", start, 120*ms, results.Error,
			results.Step{Index: 1, Name: "Login page", Action: "goto", Line: 5, Duration: 120 * ms, Status: results.StepError,
				Cause: results.CauseMonitor, Error: "browser crashed: websocket closed", Notes: []string{"no screenshot: the page was gone"}},
			results.Step{Index: 2, Name: "fill login form", Action: "fill", Line: 6, Status: results.StepSkipped},
		)
		r.FailingStep, r.Cause, r.Error, r.Attempt = 1, results.CauseMonitor, `step 1 "Login page": browser crashed: websocket closed`, attempt
		return r
	}
	login1, login2 := login("01JPD4Z8AZ1111111111111111", 1800*ms, 1), login("01JPD4Z8AZ5555555555555555", 2*time.Second, 2)
	login1.Retried = true
	export := run("01JPD4Z8B04444444444444444", "nightly-export", "", 2*time.Second, 0, results.Error)
	export.Cause, export.Error = results.CauseMonitor, "chromium not found in PATH (tried chromium, chromium-browser, google-chrome); set browser.path"
	account1 := run("01JPD4Z8B16666666666666666", "account", "Customer edits the address", 2100*ms, 300*ms, results.Error,
		results.Step{Index: 1, Name: "Account page", Action: "goto", Line: 5, Duration: 250 * ms, Status: results.StepPassed, HTTPStatus: 200},
		results.Step{Index: 2, Name: "click text=Edit", Action: "click", Line: 6, Start: 250 * ms, Duration: 50 * ms, Status: results.StepError,
			Cause: results.CauseMonitor, Error: "target closed"},
	)
	account1.FailingStep, account1.Cause, account1.Error, account1.Retried = 2, results.CauseMonitor, `step 2 "click text=Edit": target closed`, true
	account2 := run("01JPD4Z8B27777777777777777", "account", "Customer edits the address", 2500*ms, 640*ms, results.Passed,
		results.Step{Index: 1, Name: "Account page", Action: "goto", Line: 5, Duration: 240 * ms, Status: results.StepPassed, HTTPStatus: 200},
		results.Step{Index: 2, Name: "click text=Edit", Action: "click", Line: 6, Start: 240 * ms, Duration: 400 * ms, Status: results.StepPassed},
	)
	account2.Attempt, account2.Setup = 2, 95*ms
	card := run("01JPD4Z8B38888888888888888", "card-payment", "Pays by card", 2600*ms, 1500*ms, results.Aborted,
		results.Step{Index: 1, Name: "Checkout", Action: "goto", Line: 5, Duration: 300 * ms, Status: results.StepPassed, HTTPStatus: 200},
		results.Step{Index: 2, Name: "click [data-test=pay]", Action: "click", Line: 6, Start: 300 * ms, Duration: 1200 * ms, Status: results.StepAborted,
			Error: "context canceled while waiting for the page to load", Notes: []string{"no screenshot: the run was interrupted"}},
		results.Step{Index: 3, Name: "wait_for [data-test=order-complete]", Action: "wait_for", Line: 7, Status: results.StepSkipped},
	)
	card.FailingStep, card.Error = 2, `step 2 "click [data-test=pay]": context canceled while waiting for the page to load`
	return []*results.Run{home, search, checkout, login1, login2, export, account1, account2, card}
}
