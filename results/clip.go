package results

import (
	"fmt"
	"unicode/utf8"
)

// Size limits of what a run keeps. Pages and servers choose what they
// say; a 5 MB eval result or a 100 KB page text must not become a 5 MB
// database row, JSON field or terminal line.
const (
	MaxError      = 4 << 10 // a step's or run's error message
	MaxValue      = 2 << 10 // an expected or actual value
	MaxURL        = 4 << 10 // a step's URL
	MaxConsole    = 1 << 10 // one console entry's text or source
	MaxConsoleLog = 100     // console entries per step; the rest are counted
)

// Clip shortens s to at most about max bytes, cutting at a character
// boundary and saying how much was cut: "…… (98 KB more)". s is returned
// as is when it fits.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + size(len(s)-cut) + " more)"
}

// size writes a byte count the way people read it.
func size(n int) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 10<<20:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// Clean makes the step fit to leave the runner: every text it carries
// goes through mask (which hides secrets), then is clipped to its limit.
// Masking comes first, so a clip can never cut a secret in half and leave
// a recognisable part of it.
func (s *Step) Clean(mask func(string) string) {
	s.Name = mask(s.Name)
	s.Error = Clip(mask(s.Error), MaxError)
	s.Expected = Clip(mask(s.Expected), MaxValue)
	s.Actual = Clip(mask(s.Actual), MaxValue)
	s.URL = Clip(mask(s.URL), MaxURL)
	for i := range s.Notes {
		s.Notes[i] = Clip(mask(s.Notes[i]), MaxError)
	}
	if n := len(s.Console); n > MaxConsoleLog {
		s.Console = append(s.Console[:MaxConsoleLog-1], ConsoleEntry{Kind: ConsoleWarning,
			Text: fmt.Sprintf("… %d more console entries not kept", n-MaxConsoleLog+1), At: s.Console[n-1].At})
	}
	for i := range s.Console {
		c := &s.Console[i]
		c.Text = Clip(mask(c.Text), MaxConsole)
		c.Source = Clip(mask(c.Source), MaxConsole)
	}
}

// Clean masks and clips the run's own texts, as Step.Clean does for a
// step's; the runner cleans each step as it finishes.
func (r *Run) Clean(mask func(string) string) {
	r.Error = Clip(mask(r.Error), MaxError)
}
