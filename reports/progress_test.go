package reports

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// TestProgressConcurrent runs several journeys in parallel goroutines on
// one Progress and checks every line arrives whole and attributable.
func TestProgressConcurrent(t *testing.T) {
	const runs, steps = 8, 25
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{Color: true})
	var started, done sync.WaitGroup
	started.Add(runs)
	done.Add(runs)
	for i := range runs {
		r := &results.Run{ID: fmt.Sprintf("run-%d", i), Journey: fmt.Sprintf("journey-%d", i), File: "j.yaml", StartedAt: t0}
		go func() {
			defer done.Done()
			p.RunStarted(r)
			started.Done()
			started.Wait() // every run in flight before any step ends
			for n := 1; n <= steps; n++ {
				s := results.Step{Index: n, Name: fmt.Sprintf("step of %s", r.Journey), Duration: time.Duration(n) * time.Millisecond, Status: results.StepPassed}
				if n == steps {
					s.Status, s.Cause, s.Error = results.StepFailed, results.CauseTimeout, "waited 10s for "+r.Journey
				}
				r.Steps = append(r.Steps, s)
				p.StepFinished(r, &r.Steps[len(r.Steps)-1])
			}
			r.Outcome, r.FailingStep = results.Failed, steps
			p.RunFinished(r)
		}()
	}
	done.Wait()

	ansi := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	journey := regexp.MustCompile(`journey-\d+`)
	stepLines, resultLines := map[string]int{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		line = ansi.ReplaceAllString(line, "")
		names := journey.FindAllString(line, -1)
		if len(names) == 0 || len(names) > 2 || names[0] != names[len(names)-1] {
			t.Errorf("line mixes runs or names none: %q", line)
			continue
		}
		switch name := names[0]; {
		case strings.HasPrefix(line, "▶ "+name+"  "):
		case strings.HasPrefix(line, "✗ "+name+" failed in "):
			resultLines[name]++
		case strings.HasPrefix(line, "  "+name+"  ✓ "), strings.HasPrefix(line, "  "+name+"  ✗ "):
			stepLines[name]++
		case strings.HasPrefix(line, "  "+name+"       waited 10s for "+name):
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	for i := range runs {
		if n := stepLines[fmt.Sprintf("journey-%d", i)]; n != steps {
			t.Errorf("journey-%d: %d step lines, want %d", i, n, steps)
		}
		if n := resultLines[fmt.Sprintf("journey-%d", i)]; n != 1 {
			t.Errorf("journey-%d: %d result lines, want 1", i, n)
		}
	}
}
