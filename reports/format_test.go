package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ms"},
		{300 * time.Microsecond, "<1ms"},
		{412 * time.Millisecond, "412ms"},
		{999*time.Millisecond + 400*time.Microsecond, "999ms"},
		{999600 * time.Microsecond, "1.0s"},
		{1400 * time.Millisecond, "1.4s"},
		{10 * time.Second, "10.0s"},
		{59940 * time.Millisecond, "59.9s"},
		{59960 * time.Millisecond, "1m00s"},
		{125 * time.Second, "2m05s"},
		{62*time.Minute + 10*time.Second, "1h02m"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestProgressLongName checks a long step name is cut so the duration
// column stays where it is.
func TestProgressLongName(t *testing.T) {
	r := &results.Run{ID: "r1", Journey: "j"}
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{})
	p.RunStarted(r)
	p.StepFinished(r, &results.Step{Index: 1, Name: "short", Duration: time.Second, Status: results.StepPassed})
	p.StepFinished(r, &results.Step{Index: 2, Name: strings.Repeat("fill #very-long-selector ", 4), Duration: time.Second, Status: results.StepPassed})
	lines := strings.Split(buf.String(), "\n")
	if width(lines[1]) != width(lines[2]) || !strings.Contains(lines[2], "…") {
		t.Errorf("step lines not aligned or not cut:\n%s\n%s", lines[1], lines[2])
	}
}
