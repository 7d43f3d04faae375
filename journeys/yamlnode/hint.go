package yamlnode

import (
	"fmt"
	"strings"
)

// Hint ends a message about a misspelt word: ` (did you mean "x"?)` with the
// allowed word closest to got, when one is close, or else `; want one of`
// and all of them, so that the user need not look them up. It is "" when
// nothing is allowed.
func Hint(got string, allowed []string) string {
	if len(allowed) == 0 {
		return ""
	}
	best, bestD := "", 3
	for _, a := range allowed {
		if d := distance(got, a); d < bestD {
			best, bestD = a, d
		}
	}
	if best != "" && bestD <= len(best)/2 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return "; want one of " + strings.Join(allowed, ", ")
}

// distance is the Levenshtein edit distance of two strings, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
