package reports

import "github.com/waymarkhq/waymark/results"

// Exit codes of `waymark run`, as the design defines them.
const (
	// ExitOK: every run passed or degraded.
	ExitOK = 0
	// ExitFailed: a journey failed: the site is broken.
	ExitFailed = 1
	// ExitBadInput: bad input or config, or the monitor could not check.
	ExitBadInput = 2
)

// ExitCode is the process exit code for a set of finished runs: 0 when
// every run passed or degraded; 1 when any journey failed, because the
// site is broken; 2 when no run failed but one ended in `error`: the
// monitor could not check (Chromium missing, browser crash), which must
// never read as "the site failed", so it shares the code of bad input or
// config. A failure wins over an error: the site is known broken. A run
// without a known outcome counts as an error. An empty slice gives 0:
// whether "nothing to run" is bad input is the caller's call.
func ExitCode(runs []*results.Run) int {
	code := ExitOK
	for _, r := range runs {
		switch r.Outcome {
		case results.Passed, results.Degraded:
		case results.Failed:
			return ExitFailed
		default: // error, or an outcome nobody set: not a verdict on the site
			code = ExitBadInput
		}
	}
	return code
}
