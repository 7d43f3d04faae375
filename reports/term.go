package reports

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/results"
)

// Size limits of terminal output. Pages, servers and journey files choose
// what they say: a 100 KB page text must not become a 100 KB line on
// stdout, nor a 5,000-line stack trace scroll the summary away.
const (
	// maxLine is the most cells a line Progress or Summary prints takes;
	// fit cuts any line past it, with a marker saying how much was cut.
	maxLine = 300
	// maxText is the most cells one line of one text from a run takes
	// (a name, a URL, an error's line), leaving room within maxLine for
	// the columns and labels around it, so a long text is cut with the
	// size of what it had left ("… (98 KB more)") before fit has to cut
	// the whole line.
	maxText = 200
	// maxTextLines is how many lines of a multi-line message (an error,
	// a note, a console text) are shown; the rest are counted.
	maxTextLines = 10
)

// termRun is the view of r that Progress and Summary print, and the one
// place where the text of a run is made safe for a terminal. Every text
// in a run came from a page, a server, the browser or a journey file,
// and a terminal acts on control characters in it (clear the screen, set
// the window title, move the cursor, reorder text), so every string of
// the copy has passed through termLine, and the messages (errors, notes,
// console texts), which are printed line by line on purpose, through
// termLines: their "\n" separate lines already escaped and cut. Numbers,
// times and statuses are copied as they are.
func termRun(r *results.Run) *results.Run {
	v := *r
	v.ID, v.Journey, v.Title, v.File = termLine(r.ID), termLine(r.Journey), termLine(r.Title), termLine(r.File)
	v.Location, v.BrowserVersion, v.DefinitionHash = termLine(r.Location), termLine(r.BrowserVersion), termLine(r.DefinitionHash)
	v.Outcome, v.Cause = results.Outcome(termLine(string(r.Outcome))), results.Cause(termLine(string(r.Cause)))
	v.Error = termLines(r.Error)
	v.Steps = make([]results.Step, len(r.Steps))
	for i := range r.Steps {
		v.Steps[i] = termStep(&r.Steps[i])
	}
	return &v
}

// termStep is the terminal view of one step, as termRun makes it.
func termStep(s *results.Step) results.Step {
	v := *s
	v.Name, v.Action, v.Cause = termLine(s.Name), termLine(s.Action), results.Cause(termLine(string(s.Cause)))
	v.Error, v.Expected, v.Actual, v.URL = termLines(s.Error), termLine(s.Expected), termLine(s.Actual), termLine(s.URL)
	v.Notes = make([]string, len(s.Notes))
	for i, n := range s.Notes {
		v.Notes[i] = termLines(n)
	}
	v.Console = make([]results.ConsoleEntry, len(s.Console))
	for i, c := range s.Console {
		v.Console[i] = results.ConsoleEntry{Kind: results.ConsoleKind(termLine(string(c.Kind))), Text: termLines(c.Text), Source: termLine(c.Source), At: c.At}
	}
	v.Artifacts = make([]results.Artifact, len(s.Artifacts))
	for i, a := range s.Artifacts {
		v.Artifacts[i] = results.Artifact{Kind: results.ArtifactKind(termLine(string(a.Kind))), Label: termLine(a.Label), Hash: termLine(a.Hash), Path: termLine(a.Path)}
	}
	return v
}

// termLines is a multi-line message made safe to print line by line: at
// most maxTextLines lines, each through termLine, then a line counting
// the rest, e.g. "… (42 more lines)". A "\r" ending a line goes with its
// "\n"; trailing line breaks are dropped.
func termLines(s string) string {
	s = strings.TrimRight(s, "\r\n")
	var out []string
	for len(out) < maxTextLines {
		line, rest, more := strings.Cut(s, "\n")
		out = append(out, termLine(strings.TrimSuffix(line, "\r")))
		if !more {
			return strings.Join(out, "\n")
		}
		s = rest
	}
	return strings.Join(append(out, fmt.Sprintf("… (%d more lines)", strings.Count(s, "\n")+1)), "\n")
}

// termLine is s made safe for a terminal on one line, the one function
// every text from a run goes through before Progress or Summary styles
// it. What a terminal could act on is shown as text instead, in the form
// of a Go string literal:
//
//   - \a \b \t \n \v \f \r for those C0 controls, \x1b (ESC) and \xHH for
//     the other C0 controls, DEL and each byte that is not UTF-8 (a raw
//     0x9b is a CSI to an 8-bit terminal);
//   - \u0085 for the C1 controls U+0080–U+009F, and \u202e for the
//     invisible format characters that reorder or hide text (bidi
//     overrides and isolates, zero-width spaces, tag characters: Unicode
//     class Cf) and the line and paragraph separators U+2028, U+2029;
//     \U000e0041 above U+FFFF. The zero-width joiners U+200C and U+200D
//     are kept, as emoji and several scripts need them.
//
// A backslash is kept as it is, so a Windows path stays readable; the
// form is for reading, not for decoding back. s is then cut to maxText
// cells, with results.Clip's marker saying how many bytes of s were cut.
func termLine(s string) string {
	var b strings.Builder
	cells := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		e := escape(r, n, s[i])
		w := 1
		if e != "" {
			w = len(e)
		}
		if cells+w > maxText {
			// Clip to nothing is the marker alone: "… (98 KB more)".
			b.WriteString(results.Clip(s[i:], 0))
			break
		}
		if e != "" {
			b.WriteString(e)
		} else {
			b.WriteString(s[i : i+n])
		}
		cells += w
		i += n
	}
	return b.String()
}

// escape is the escaped form of the rune r (n bytes of UTF-8 starting
// with the byte first) as termLine documents it, or "" when r is shown as
// it is.
func escape(r rune, n int, first byte) string {
	switch {
	case r == utf8.RuneError && n == 1:
		return fmt.Sprintf(`\x%02x`, first)
	case r < 0x20 || r == 0x7f:
		if i := strings.IndexRune("\a\b\t\n\v\f\r", r); i >= 0 {
			return `\` + "abtnvfr"[i:i+1]
		}
		return fmt.Sprintf(`\x%02x`, r)
	case r == '\u200c' || r == '\u200d':
		return ""
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029':
		if r > 0xffff {
			return fmt.Sprintf(`\U%08x`, r)
		}
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}

// fit caps every line of terminal output at maxLine cells, the last thing
// Progress and Summary do before writing: a line made of several long
// texts is cut, and ends with results.Clip's marker for the text cut.
// Our own styles (the only escape sequences left after termLine) take no
// cells and are kept; a cut line ends with a reset, so no color leaks.
func fit(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if len(l) > maxLine && width(unstyled(l)) > maxLine {
			lines[i] = cutLine(l)
		}
	}
	return strings.Join(lines, "\n")
}

// cutLine cuts a styled line that is too long, as fit says.
func cutLine(l string) string {
	const room = 20 // cells kept for the marker, "… (1023 MB more)"
	var b strings.Builder
	cells := 0
	for i := 0; i < len(l); {
		if l[i] == '\x1b' {
			end := strings.IndexByte(l[i:], 'm') + 1
			if end == 0 {
				end = len(l) - i
			}
			b.WriteString(l[i : i+end])
			i += end
			continue
		}
		if cells == maxLine-room {
			b.WriteString(results.Clip(unstyled(l[i:]), 0))
			if strings.IndexByte(l, '\x1b') >= 0 {
				b.WriteString(ansiReset)
			}
			break
		}
		_, n := utf8.DecodeRuneInString(l[i:])
		b.WriteString(l[i : i+n])
		cells++
		i += n
	}
	return b.String()
}

// unstyled is s without our ANSI styles: ESC, "[", parameters, "m".
func unstyled(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '\x1b')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return b.String()
		}
		s = s[i+j+1:]
	}
}
