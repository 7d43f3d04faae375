package journeys

import (
	"fmt"
	"slices"
	"strings"
)

// Error is one problem at a place in a journey or snippet file. It says
// where (file, line, column and, inside a step, the step's number and name)
// and what is wrong and expected, so a user can fix the file without guessing.
type Error struct {
	File     string
	Pos      Pos    // zero when the problem is the whole file
	Step     int    // 1-based step number; 0 outside steps
	StepName string // the step's given or derived name
	Msg      string
}

// Error formats as `file:line:col: step 3 "Checkout": msg`, leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Col)
		}
	}
	b.WriteString(": ")
	switch {
	case e.Step > 0 && e.StepName != "":
		fmt.Fprintf(&b, "step %d %q: ", e.Step, e.StepName)
	case e.Step > 0:
		fmt.Fprintf(&b, "step %d: ", e.Step)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found at once, so one `waymark validate` shows
// them all instead of one per attempt.
type ErrorList []*Error

// Error joins the errors' texts with newlines.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// err returns the list sorted by file, line and column with exact duplicates
// removed (a snippet used twice reports its problems once), or nil when it is
// empty, so callers can return it as an error.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l = slices.Clone(l)
	slices.SortStableFunc(l, func(a, b *Error) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}
