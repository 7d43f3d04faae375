package results

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	st := func(i int, s Status, opts ...string) Step {
		step := Step{Index: i, Name: "s" + string(rune('0'+i)), Status: s, Error: "e" + string(rune('0'+i))}
		for _, o := range opts {
			switch o {
			case "optional":
				step.Optional = true
			case "http", "monitor", "timeout":
				step.Cause = Cause(o)
			}
		}
		return step
	}
	for _, tc := range []struct {
		name  string
		steps []Step
		d     time.Duration
		lim   Limits
		want  Verdict
	}{
		{"all passed", []Step{st(1, StepPassed), st(2, StepPassed)}, time.Second, Limits{}, Verdict{Outcome: Passed}},
		{"no steps", nil, 0, Limits{}, Verdict{Outcome: Passed}},
		{"a site failure", []Step{st(1, StepPassed), st(2, StepFailed, "http"), st(3, StepSkipped)}, 0, Limits{},
			Verdict{Failed, 2, CauseHTTP, `step 2 "s2": e2`}},
		{"site failure then monitor error in clean-up stays failed",
			[]Step{st(1, StepFailed, "http"), st(2, StepSkipped), st(3, StepError, "monitor")}, 0, Limits{},
			Verdict{Failed, 1, CauseHTTP, `step 1 "s1": e1`}},
		{"monitor error then failing clean-up stays error",
			[]Step{st(1, StepError, "monitor"), st(2, StepFailed, "http")}, 0, Limits{},
			Verdict{Error, 1, CauseMonitor, `step 1 "s1": e1`}},
		{"an error without cause is the monitor's", []Step{st(1, StepError)}, 0, Limits{},
			Verdict{Error, 1, CauseMonitor, `step 1 "s1": e1`}},
		{"site failure then interrupt stays failed",
			[]Step{st(1, StepFailed, "timeout"), st(2, StepAborted)}, 0, Limits{},
			Verdict{Failed, 1, CauseTimeout, `step 1 "s1": e1`}},
		{"interrupt first is aborted", []Step{st(1, StepPassed), st(2, StepAborted), st(3, StepSkipped)}, 0, Limits{},
			Verdict{Outcome: Aborted, Step: 2, Error: `step 2 "s2": e2`}},
		{"optional failure degrades", []Step{st(1, StepFailed, "optional", "http"), st(2, StepPassed)}, 0, Limits{},
			Verdict{Outcome: Degraded, Step: 1, Error: `step 1 "s1": e1`}},
		{"optional monitor error does not count", []Step{st(1, StepError, "optional", "monitor"), st(2, StepPassed)}, 0, Limits{},
			Verdict{Outcome: Passed}},
		{"optional failure then a real one fails", []Step{st(1, StepFailed, "optional"), st(2, StepFailed, "http")}, 0, Limits{},
			Verdict{Failed, 2, CauseHTTP, `step 2 "s2": e2`}},
		{"slow step degrades", []Step{st(1, StepPassed), st(2, StepDegraded)}, 0, Limits{},
			Verdict{Outcome: Degraded, Step: 2, Error: `step 2 "s2": e2`}},
		{"run over its fail threshold", []Step{st(1, StepDegraded)}, 5 * time.Second, Limits{Warn: time.Second, Fail: 4 * time.Second},
			Verdict{Outcome: Failed, Cause: CauseTimeout, Error: "run took 5s, over the fail threshold of 4s"}},
		{"run over its warn threshold", []Step{st(1, StepPassed)}, 2 * time.Second, Limits{Warn: time.Second, Fail: 4 * time.Second},
			Verdict{Outcome: Degraded, Error: "run took 2s, over the warn threshold of 1s"}},
		{"a degraded step outranks the run's warn message", []Step{st(1, StepDegraded)}, 2 * time.Second, Limits{Warn: time.Second},
			Verdict{Outcome: Degraded, Step: 1, Error: `step 1 "s1": e1`}},
		{"a failed run ignores its thresholds", []Step{st(1, StepFailed, "http")}, time.Hour, Limits{Fail: time.Second},
			Verdict{Failed, 1, CauseHTTP, `step 1 "s1": e1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.steps, tc.d, tc.lim); got != tc.want {
				t.Errorf("Decide = %+v\nwant     %+v", got, tc.want)
			}
		})
	}
}

func TestDecidingStep(t *testing.T) {
	steps := []Step{
		{Index: 1, Status: StepPassed},
		{Index: 2, Status: StepFailed, Optional: true},
		{Index: 3, Status: StepFailed},
		{Index: 4, Status: StepError},
	}
	for _, tc := range []struct {
		run  Run
		want int
	}{
		{Run{Outcome: Failed, FailingStep: 3, Steps: steps}, 3},
		{Run{Outcome: Degraded, Steps: steps}, 2},
		{Run{Outcome: Passed, Steps: steps}, 0},
		{Run{Outcome: Failed, Steps: steps}, 0}, // decided by the run's threshold
		{Run{Outcome: Error}, 0},                // before any step
		{Run{Outcome: Error, FailingStep: 4, Steps: steps[2:]}, 4},
	} {
		got := 0
		if s := tc.run.DecidingStep(); s != nil {
			got = s.Index
		}
		if got != tc.want {
			t.Errorf("%s run with failing step %d: DecidingStep = %d, want %d", tc.run.Outcome, tc.run.FailingStep, got, tc.want)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{strings.Repeat("a", 100<<10), 2 << 10, strings.Repeat("a", 2<<10) + "… (98 KB more)"},
		{strings.Repeat("a", 20), 10, strings.Repeat("a", 10) + "… (10 bytes more)"},
		{"ééééé", 3, "é… (8 bytes more)"}, // never cuts a character in two
		{strings.Repeat("x", 21<<20), 1 << 10, strings.Repeat("x", 1<<10) + "… (20 MB more)"},
	} {
		if got := Clip(tc.in, tc.max); got != tc.want {
			t.Errorf("Clip(%d bytes, %d) = %.40q… (%d bytes), want %.40q… (%d bytes)", len(tc.in), tc.max, got, len(got), tc.want, len(tc.want))
		}
	}
}

func TestStepCleanMasksBeforeClipping(t *testing.T) {
	secret := "hunter2-secret"
	mask := func(s string) string { return strings.ReplaceAll(s, secret, "•••") }
	long := strings.Repeat("x", MaxError-5) + secret + strings.Repeat("y", 100)
	var console []ConsoleEntry
	for range MaxConsoleLog + 20 {
		console = append(console, ConsoleEntry{Kind: ConsoleError, Text: "boom " + secret})
	}
	s := Step{Name: "type " + secret, Error: long, Expected: secret, Actual: `"` + secret + `"`, URL: "/q?" + secret,
		Notes: []string{secret}, Console: console}
	s.Clean(mask)
	for _, v := range []string{s.Name, s.Error, s.Expected, s.Actual, s.URL, s.Notes[0], s.Console[0].Text} {
		if strings.Contains(v, "hunter") {
			t.Errorf("part of the secret survived: %q", v[max(0, len(v)-80):])
		}
	}
	if len(s.Console) != MaxConsoleLog || !strings.Contains(s.Console[MaxConsoleLog-1].Text, "21 more console entries") {
		t.Errorf("console: %d entries, last %q", len(s.Console), s.Console[len(s.Console)-1].Text)
	}
}
