package reports

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/waymarkhq/waymark/results"
)

// Column widths of a progress step line.
const (
	stepNameWidth = 36
	stepTimeWidth = 7
)

// ProgressOptions configures Progress and Summary.
type ProgressOptions struct {
	// Color turns on ANSI colors. The CLI sets it when stdout is a TTY and
	// NO_COLOR is unset.
	Color bool
}

// Progress prints live progress of runs to a writer: a header line when a
// run starts, one line per step as it finishes, and a result line when the
// run ends. It is safe for concurrent use by runs in parallel: each call
// writes whole lines at once, and while more than one run is in flight the
// step lines of every run involved carry its journey name, so interleaved
// lines stay attributable. Runs are told apart by Run.ID, so every run in
// flight needs its own. Write errors are ignored: progress is advisory
// and a closed terminal must not stop the runs.
type Progress struct {
	w     io.Writer
	paint painter

	mu       sync.Mutex
	inFlight map[string]*flight // by run ID
	nameW    int                // widest journey name seen, for the prefix column
}

// flight is the state of one run in flight.
type flight struct {
	tagged bool // has run alongside another run: prefix its lines
}

// NewProgress returns a Progress that writes to w.
func NewProgress(w io.Writer, opts ProgressOptions) *Progress {
	return &Progress{w: w, paint: painter(opts.Color), inFlight: map[string]*flight{}}
}

// RunStarted prints the run's header line: journey, title and file.
func (p *Progress) RunStarted(r *results.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &flight{}
	p.inFlight[r.ID] = f
	if len(p.inFlight) > 1 {
		for _, o := range p.inFlight {
			o.tagged = true
		}
	}
	p.nameW = max(p.nameW, width(r.Journey))

	line := p.paint.paint(ansiBold, "▶ "+r.Journey)
	if r.Title != "" {
		line += "  " + r.Title
	}
	if r.File != "" {
		line += "  " + p.paint.paint(ansiDim, "("+r.File+")")
	}
	if r.Attempt > 1 {
		line += fmt.Sprintf("  attempt %d", r.Attempt)
	}
	p.write(line + "\n")
}

// StepFinished prints one line for a finished step: symbol, index, name and
// duration, plus the cause for a step that did not pass; its error, if
// any, follows on an indented line.
func (p *Progress) StepFinished(r *results.Run, s *results.Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	indent := "  "
	if f := p.inFlight[r.ID]; f != nil && f.tagged {
		indent += padRight(r.Journey, p.nameW) + "  "
	}
	symbol, style := stepLook(s)
	took := human(s.Duration)
	if s.Status == results.StepSkipped {
		took = "skipped"
	}
	rest := fmt.Sprintf(" %2d %s %s", s.Index, padRight(truncate(s.Name, stepNameWidth), stepNameWidth), padLeft(took, stepTimeWidth))
	line := indent + p.paint.paint(style, symbol) + rest
	if s.Status == results.StepSkipped {
		line = indent + p.paint.paint(style, symbol+rest)
	}
	if w := why(s); w != "" {
		line += "  " + p.paint.paint(style, w)
	}
	out := line + "\n"
	if msg := stepMessage(s); msg != "" && s.Status != results.StepPassed && s.Status != results.StepSkipped {
		for _, l := range strings.Split(msg, "\n") {
			out += indent + "     " + p.paint.paint(style, l) + "\n"
		}
	}
	p.write(out)
}

// RunFinished prints the run's result line: outcome, duration and, unless
// it passed, which step and cause decided it.
func (p *Progress) RunFinished(r *results.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inFlight, r.ID)
	symbol, style := outcomeLook(r.Outcome)
	line := fmt.Sprintf("%s %s %s in %s", p.paint.paint(style, symbol), p.paint.paint(ansiBold, r.Journey), p.paint.paint(style, string(r.Outcome)), human(r.Duration))
	if v := verdict(r, true); v != "" {
		line += " (" + v + ")"
	}
	p.write(line + "\n")
}

func (p *Progress) write(s string) {
	_, _ = io.WriteString(p.w, s)
}

// stepMessage is what a step says went wrong: its error, or expected vs
// actual when the runner left the error empty.
func stepMessage(s *results.Step) string {
	if s.Error != "" {
		return s.Error
	}
	if s.Expected != "" || s.Actual != "" {
		return fmt.Sprintf("expected %s, got %s", s.Expected, s.Actual)
	}
	return ""
}
