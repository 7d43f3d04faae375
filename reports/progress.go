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
	v := termRun(r)
	p.nameW = max(p.nameW, width(v.Journey))

	line := p.paint.paint(ansiBold, "▶ "+v.Journey)
	if v.Title != "" {
		line += "  " + v.Title
	}
	if v.File != "" {
		line += "  " + p.paint.paint(ansiDim, "("+v.File+")")
	}
	if a := attemptNote(v); a != "" {
		line += "  " + a
	}
	p.write(line + "\n")
}

// StepFinished prints one line for a finished step: symbol, index, name and
// duration, plus the cause for a step that did not pass; for such a step
// its error and its notes follow on indented lines.
func (p *Progress) StepFinished(r *results.Run, s *results.Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	indent := p.indent(r)
	st := termStep(s)
	symbol, style := stepLook(&st)
	took := human(st.Duration)
	if st.Status == results.StepSkipped {
		took = "skipped"
	}
	rest := fmt.Sprintf(" %2d %s %s", st.Index, padRight(truncate(st.Name, stepNameWidth), stepNameWidth), padLeft(took, stepTimeWidth))
	line := indent + p.paint.paint(style, symbol) + rest
	if st.Status == results.StepSkipped {
		line = indent + p.paint.paint(style, symbol+rest)
	}
	if w := why(&st); w != "" {
		line += "  " + p.paint.paint(style, w)
	}
	out := line + "\n"
	if st.Status != results.StepPassed {
		out += p.lines(indent, style, stepMessage(&st))
		for _, n := range st.Notes {
			out += p.lines(indent, ansiDim, n)
		}
	}
	p.write(out)
}

// RunFinished prints the run's result line: outcome, duration and, unless
// it passed, which step and cause decided it; a run's own error (one no
// step carries: a run threshold, a browser that would not start) follows
// on indented lines.
func (p *Progress) RunFinished(r *results.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	indent := p.indent(r)
	delete(p.inFlight, r.ID)
	v := termRun(r)
	symbol, style := outcomeLook(v.Outcome)
	line := fmt.Sprintf("%s %s %s in %s", p.paint.paint(style, symbol), p.paint.paint(ansiBold, v.Journey), p.paint.paint(style, outcomeText(v)), human(v.Duration))
	if vd := verdict(v); vd != "" {
		line += " (" + vd + ")"
	}
	out := line + "\n"
	if v.Outcome != results.Passed && v.DecidingStep() == nil {
		out += p.lines(indent, style, v.Error)
	}
	p.write(out)
}

// indent is the start of a run's step lines: the journey name in a
// column while the run shares the terminal with another in flight.
func (p *Progress) indent(r *results.Run) string {
	if f := p.inFlight[r.ID]; f != nil && f.tagged {
		return "  " + padRight(termLine(r.Journey), p.nameW) + "  "
	}
	return "  "
}

// lines prints a message from a terminal view under a step, line by line.
func (p *Progress) lines(indent, style, msg string) string {
	if msg == "" {
		return ""
	}
	var out string
	for _, l := range strings.Split(msg, "\n") {
		out += indent + "     " + p.paint.paint(style, l) + "\n"
	}
	return out
}

// write writes whole lines at once, each cut to maxLine by fit.
func (p *Progress) write(s string) {
	_, _ = io.WriteString(p.w, fit(s))
}

// stepMessage is what a step says went wrong: its error, or expected vs
// actual when the runner left the error empty. For a terminal view it is
// lines separated by "\n".
func stepMessage(s *results.Step) string {
	if s.Error != "" {
		return s.Error
	}
	if s.Expected != "" || s.Actual != "" {
		return fmt.Sprintf("expected %s, got %s", s.Expected, s.Actual)
	}
	return ""
}
