package results

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// outcomes reads a run history written one letter a run: P passed, D
// degraded, F failed, E error, A aborted, and M before a letter for a run
// in a maintenance window.
func outcomes(t *testing.T, s string) (runs []Outcome, maint []bool) {
	t.Helper()
	m := false
	for _, c := range s {
		switch c {
		case 'M':
			m = true
			continue
		case 'P':
			runs = append(runs, Passed)
		case 'D':
			runs = append(runs, Degraded)
		case 'F':
			runs = append(runs, Failed)
		case 'E':
			runs = append(runs, Error)
		case 'A':
			runs = append(runs, Aborted)
		case ' ':
			continue
		default:
			t.Fatalf("bad outcome letter %q", c)
		}
		maint = append(maint, m)
		m = false
	}
	return runs, maint
}

func TestTracker(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy AlertPolicy
		runs   string
		// want lists the changes of each run that changed something, as
		// "run#:change[,change]" with runs counted from 1.
		want string
		end  Severity
	}{
		{"a blip opens nothing", AlertPolicy{}, "PFPPFP", "", SeverityNone},
		{"two failures in a row open, one pass resolves", AlertPolicy{}, "PFFFP", "3:opened 4:failed_again 5:resolved", SeverityNone},
		{"after 3", AlertPolicy{After: 3}, "FFPFFF", "6:opened", SeverityCritical},
		{"resolve after 2", AlertPolicy{ResolveAfter: 2}, "FFPFPP", "2:opened 4:failed_again 6:resolved", SeverityNone},
		{"3 of 5 behind a load balancer", AlertPolicy{Failures: 3, Within: 5}, "FPFPF", "5:opened", SeverityCritical},
		{"2 of 5 is not enough", AlertPolicy{Failures: 3, Within: 5}, "FPPFPPFP", "", SeverityNone},
		{"degraded three in a row warn", AlertPolicy{}, "DDPDDD", "6:opened", SeverityWarning},
		{"a warning that fails escalates", AlertPolicy{}, "DDDFF", "3:opened 4:failed_again 5:escalated", SeverityCritical},
		{"a warning resolves on a pass", AlertPolicy{}, "DDDP", "3:opened 4:resolved", SeverityNone},
		{"a degraded run resolves a critical incident", AlertPolicy{}, "FFD", "2:opened 3:resolved", SeverityNone},
		{"a fresh warning needs fresh slow runs", AlertPolicy{}, "FFDDD", "2:opened 3:resolved", SeverityNone},
		{"a journey that only warns", AlertPolicy{Severity: SeverityWarning}, "FFFF", "2:opened 3:failed_again 4:failed_again", SeverityWarning},
		{"errors never count for the site", AlertPolicy{}, "FEFEE", "3:opened", SeverityCritical},
		{"errors in a row raise a monitor alert", AlertPolicy{}, "EEEEP", "3:monitor_down 5:monitor_up", SeverityNone},
		{"error after 5", AlertPolicy{ErrorAfter: 5}, "EEEEPEEEEE", "10:monitor_down", SeverityNone},
		{"an open incident survives errors", AlertPolicy{}, "FFEEEF", "2:opened 5:monitor_down 6:monitor_up,failed_again", SeverityCritical},
		{"aborted runs count for nothing", AlertPolicy{}, "FAFA", "3:opened", SeverityCritical},
		{"maintenance opens nothing", AlertPolicy{}, "MFMFMF", "", SeverityNone},
		{"maintenance resolves nothing", AlertPolicy{}, "FFMPMPF", "2:opened 5:failed_again", SeverityCritical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, maint := outcomes(t, tc.runs)
			tr := NewTracker(tc.policy)
			var got []string
			for i, o := range runs {
				if ch := tr.Observe(o, maint[i]); len(ch) > 0 {
					parts := make([]string, len(ch))
					for k, c := range ch {
						parts[k] = string(c)
					}
					got = append(got, fmt.Sprintf("%d:%s", i+1, strings.Join(parts, ",")))
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("%s: changes %q, want %q", tc.runs, g, tc.want)
			}
			if s := tr.State().Site; s != tc.end {
				t.Errorf("%s: ends %q, want %q", tc.runs, s, tc.end)
			}
		})
	}
}

func TestQuorum(t *testing.T) {
	failing, slow, fine := AlertState{Failing: true, Slow: true}, AlertState{Slow: true}, AlertState{}
	for _, tc := range []struct {
		states []AlertState
		need   int
		want   Severity
	}{
		{[]AlertState{failing, fine, fine}, 2, SeverityNone},
		{[]AlertState{failing, failing, fine}, 2, SeverityCritical},
		{[]AlertState{failing, slow, fine}, 2, SeverityWarning},
		{[]AlertState{failing}, 0, SeverityCritical},
		{[]AlertState{slow, fine}, 1, SeverityWarning},
		{nil, 1, SeverityNone},
	} {
		if got := Quorum(tc.states, tc.need); got != tc.want {
			t.Errorf("Quorum(%+v, %d) = %q, want %q", tc.states, tc.need, got, tc.want)
		}
	}
}

// BenchmarkTracker is the policy over a million runs: the cost per run of
// deciding incidents, allocations included.
func BenchmarkTracker(b *testing.B) {
	seq := []Outcome{Passed, Passed, Failed, Passed, Degraded, Failed, Failed, Passed, Error, Passed}
	b.ReportAllocs()
	const runs = 1_000_000
	for b.Loop() {
		tr := NewTracker(AlertPolicy{Failures: 3, Within: 5})
		for i := range runs {
			tr.Observe(seq[i%len(seq)], false)
		}
	}
	perRun := float64(b.Elapsed()) / float64(b.N) / runs
	b.ReportMetric(perRun, "ns/run")
	b.ReportMetric(1e9/perRun, "runs/s")
}

// TestResumeTracker stops a tracker after every run of a history, keeps
// its snapshot as the store does (JSON), resumes it and feeds it the rest:
// it must report exactly what the tracker that never stopped reports.
func TestResumeTracker(t *testing.T) {
	history := []Outcome{Passed, Failed, Error, Failed, Failed, Degraded, Error, Error, Error, Passed,
		Degraded, Degraded, Degraded, Failed, Failed, Passed, Passed}
	for _, p := range []AlertPolicy{{}, {Failures: 2, Within: 4, ResolveAfter: 2}} {
		whole := NewTracker(p)
		var want [][]Change
		for _, o := range history {
			want = append(want, whole.Observe(o, false))
		}
		for stop := range history {
			first := NewTracker(p)
			for _, o := range history[:stop] {
				first.Observe(o, false)
			}
			b, err := json.Marshal(first.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			var s TrackerState
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			resumed := ResumeTracker(p, s)
			for i, o := range history[stop:] {
				if got := resumed.Observe(o, false); !slices.Equal(got, want[stop+i]) {
					t.Fatalf("policy %+v, resumed after run %d: run %d gave %v, want %v", p, stop, stop+i+1, got, want[stop+i])
				}
			}
		}
	}
}
