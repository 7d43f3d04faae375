package config

import (
	"fmt"
	"slices"
	"strings"
)

// Error is one problem with a setting. It names where the bad value came
// from — the file with line and column, or the environment variable — so a
// user can fix it without guessing.
type Error struct {
	File      string // the config file; empty for a value from the environment
	Line, Col int    // 0 when unknown
	Env       string // the WAYMARK_* variable the value came from, if any
	Key       string // the setting, as `browser.max_concurrent`; empty for the whole file
	Msg       string
}

// Error formats as `file:line:col: key: msg`, or `WAYMARK_KEY: msg` for a
// value from the environment, leaving out the parts that are unknown.
func (e *Error) Error() string {
	if e.Env != "" {
		return e.Env + ": " + e.Msg
	}
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found at once, so one attempt shows them all.
type ErrorList []*Error

// Error joins the errors' texts with newlines.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// err returns the list sorted (the file's problems by line and column, then
// the environment's by variable) with exact duplicates removed, or nil when
// it is empty, so callers can return it as an error.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l = slices.Clone(l)
	slices.SortStableFunc(l, func(a, b *Error) int {
		if (a.Env == "") != (b.Env == "") {
			if a.Env == "" {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Env, b.Env); c != 0 {
			return c
		}
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}
