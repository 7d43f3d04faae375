package reports

import "github.com/waymarkhq/waymark/results"

// Exit codes of `waymark run`, as the design defines them.
const (
	// ExitOK: every journey passed or degraded.
	ExitOK = 0
	// ExitFailed: a journey failed: the site is broken.
	ExitFailed = 1
	// ExitBadInput: bad input or config, or the monitor could not check.
	ExitBadInput = 2
	// ExitInterrupted: the command was interrupted (Ctrl-C, SIGTERM) and
	// no journey failed: what ran says nothing about the site. 128 + 2
	// (SIGINT), as shells report it.
	ExitInterrupted = 130
)

// ExitCode is the process exit code for a set of finished runs, each
// journey counted once by its final attempt (a retried attempt that a
// later one in runs supersedes does not count):
//
//   - 1 when any journey failed, because the site is broken; this wins
//     over everything else, as the site is known broken;
//   - 130 when none failed but one was aborted (interrupted before
//     anything decided it): nothing is known of the site, and the
//     interrupt is what the caller should hear about;
//   - 2 when one ended in `error`: the monitor could not check (Chromium
//     missing, browser crash), which must never read as "the site
//     failed", so it shares the code of bad input or config; a run
//     without a known outcome counts as an error;
//   - 0 when every journey passed or degraded.
//
// An empty slice gives 0: whether "nothing to run" is bad input is the
// caller's call.
func ExitCode(runs []*results.Run) int {
	code := ExitOK
	gone := superseded(runs)
	for i, r := range runs {
		if gone[i] {
			continue
		}
		switch r.Outcome {
		case results.Passed, results.Degraded:
		case results.Failed:
			return ExitFailed
		case results.Aborted:
			code = ExitInterrupted
		default: // error, or an outcome nobody set: not a verdict on the site
			if code == ExitOK {
				code = ExitBadInput
			}
		}
	}
	return code
}
