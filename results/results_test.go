package results

import "testing"

func TestWorse(t *testing.T) {
	for _, tc := range []struct{ a, b, want Outcome }{
		{Passed, Passed, Passed},
		{Passed, Degraded, Degraded},
		{Failed, Degraded, Failed},
		{Degraded, Failed, Failed},
		{Failed, Error, Error},
		{Error, Passed, Error},
	} {
		if got := Worse(tc.a, tc.b); got != tc.want {
			t.Errorf("Worse(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFailedStep(t *testing.T) {
	r := &Run{Steps: []Step{
		{Index: 1, Status: StepPassed},
		{Index: 2, Status: StepFailed, Optional: true},
		{Index: 3, Status: StepFailed},
		{Index: 4, Status: StepError},
	}}
	if s := r.FailedStep(); s == nil || s.Index != 3 {
		t.Errorf("FailedStep = %+v, want step 3 (optional failures do not count)", s)
	}
	if s := (&Run{Steps: []Step{{Status: StepPassed}, {Status: StepSkipped}}}).FailedStep(); s != nil {
		t.Errorf("FailedStep of a passed run = %+v", s)
	}
}
