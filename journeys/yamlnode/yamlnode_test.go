package yamlnode

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		root    string // Describe of the root; "" for no document
		problem string // Error(); "" for none
		line    int    // the problem's line
		col     int    // the problem's column
	}{
		{"empty", "", "", "", 0, 0},
		{"only comments", "# nothing\n", "", "", 0, 0},
		{"null", "~\n", "nothing", "", 0, 0},
		{"map", "a: 1\n", "a map", "", 0, 0},
		{"alias to the root's value", "a: &x [1]\nb: *x\n", "a map", "", 0, 0},
		{"second document", "a: 1\n---\nb: 2\n", "a map",
			"line 2: a second YAML document: want one document per file", 2, 1},
		{"bad syntax", "a: 1\n b: 2\n", "",
			"line 2: bad YAML: mapping values are not allowed in this context", 2, 0},
		{"bad syntax in the second document", "a: 1\n---\nb: [\n", "a map",
			"line 3: bad YAML: did not find expected node content", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, problem := Decode([]byte(tt.src))
			switch {
			case tt.root == "" && doc != nil:
				t.Errorf("Decode returned a document, want none")
			case tt.root != "" && doc == nil:
				t.Errorf("Decode returned no document, want one")
			case doc != nil && (doc.Kind != yaml.DocumentNode || len(doc.Content) != 1):
				t.Errorf("Decode returned kind %v with %d children, want a document node with one", doc.Kind, len(doc.Content))
			case doc != nil:
				if got := Describe(Deref(doc.Content[0])); got != tt.root {
					t.Errorf("root is %s, want %s", got, tt.root)
				}
			}
			if tt.problem == "" {
				if problem != nil {
					t.Errorf("Decode problem = %v, want none", problem)
				}
				return
			}
			if problem == nil {
				t.Fatalf("Decode found no problem, want %s", tt.problem)
			}
			if problem.Error() != tt.problem || problem.Line != tt.line || problem.Col != tt.col {
				t.Errorf("Decode problem = %q at %d:%d, want %q at %d:%d", problem, problem.Line, problem.Col, tt.problem, tt.line, tt.col)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	values := func(n int) string { return "[" + strings.Repeat("1,", n-1) + "1]" }
	bomb := "a: &a1 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 2; i <= 6; i++ {
		bomb += strings.NewReplacer("N", string(rune('0'+i)), "M", string(rune('0'+i-1))).
			Replace("N: &aN [*aM, *aM, *aM, *aM, *aM, *aM, *aM, *aM, *aM, *aM]\n")
	}
	tests := []struct {
		name             string
		src              string
		large, byAliases bool
	}{
		{"small", "a: 1\n", false, false},
		{"many values, under the limit", values(90_000), false, false},
		{"too many values as written", values(150_000), true, false},
		{"under the limit as written, over it with aliases", "a: &a " + values(90_000) + "\nb: *a\n", true, true},
		{"nested aliases", bomb, true, true},
		{"an alias inside its own anchor", "a: &a [*a]\n", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, problem := Decode([]byte(tt.src))
			if doc == nil || problem != nil {
				t.Fatalf("Decode: %v", problem)
			}
			if large, byAliases := TooLarge(doc); large != tt.large || byAliases != tt.byAliases {
				t.Errorf("TooLarge = %t, %t; want %t, %t", large, byAliases, tt.large, tt.byAliases)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct{ src, want string }{
		{"{a: 1}", "a map"},
		{"[1]", "a list"},
		{"~", "nothing"},
		{"", "nothing"},
		{"42", `"42"`},
		{`"say \"hi\""`, `"say \"hi\""`},
	}
	for _, tt := range tests {
		doc, problem := Decode([]byte("v: " + tt.src))
		if problem != nil {
			t.Fatalf("Decode(%q): %v", tt.src, problem)
		}
		if got := Describe(doc.Content[0].Content[1]); got != tt.want {
			t.Errorf("Describe(%s) = %s, want %s", tt.src, got, tt.want)
		}
	}
	if got := Describe(&yaml.Node{Kind: yaml.AliasNode}); got != "something else" {
		t.Errorf("Describe(an alias) = %s, want something else", got)
	}
}

func TestDeref(t *testing.T) {
	doc, problem := Decode([]byte("a: &x {k: v}\nb: *x\nc: *x\n"))
	if problem != nil {
		t.Fatal(problem)
	}
	m := doc.Content[0]
	anchor := m.Content[1]
	for _, i := range []int{1, 3, 5} {
		if got := Deref(m.Content[i]); got != anchor {
			t.Errorf("Deref(value %d) = %p, want the anchored node %p", i/2, got, anchor)
		}
	}
	if Deref(nil) != nil {
		t.Error("Deref(nil) is not nil")
	}
}

func TestHint(t *testing.T) {
	allowed := []string{"name", "steps", "schedule", "timeout"}
	tests := []struct {
		got     string
		allowed []string
		want    string
	}{
		{"nmae", allowed, ` (did you mean "name"?)`},
		{"step", allowed, ` (did you mean "steps"?)`},
		{"timout", allowed, ` (did you mean "timeout"?)`},
		{"colour", allowed, "; want one of name, steps, schedule, timeout"},
		{"xy", []string{"ab"}, "; want one of ab"}, // two edits are too many for a two-letter word
		{"anything", nil, ""},
	}
	for _, tt := range tests {
		if got := Hint(tt.got, tt.allowed); got != tt.want {
			t.Errorf("Hint(%q, %q) = %q, want %q", tt.got, tt.allowed, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"same", "same", 0},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
