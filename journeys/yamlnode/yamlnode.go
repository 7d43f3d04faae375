// Package yamlnode is strict reading of YAML documents as nodes with
// positions: one document, no alias bombs, node descriptions for error
// messages, and nearest-word suggestions.
//
// Journey files and the config file are both read this way, so that both
// point at the line and column of a mistake and word it alike.
package yamlnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem with a document as a whole: bad YAML syntax, or a
// second document. Line and Col are where it is, 0 when unknown (the YAML
// parser gives a syntax error's line only).
type Error struct {
	Line, Col int
	Msg       string
}

// Error formats as `line 3: msg`, or as msg alone when the line is unknown.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

var syntaxErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Decode reads data as a single YAML document and returns its document node,
// whose one child is the root, or nil when data holds no document (it is
// empty or only comments) or is not YAML. The problem, nil when there is
// none, is bad syntax at its line or a second document at its start; after
// a second document, or bad syntax in it, the first is still returned so
// that it can be checked too.
func Decode(data []byte) (doc *yaml.Node, problem *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = &yaml.Node{}
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		problem = &Error{Line: extra.Line, Col: extra.Column, Msg: "a second YAML document: want one document per file"}
	} else if !errors.Is(err, io.EOF) {
		problem = syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil, problem
	}
	return doc, problem
}

// syntaxError turns the YAML parser's error into an Error at its line.
func syntaxError(err error) *Error {
	e := &Error{Msg: "bad YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := syntaxErrRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "bad YAML: " + m[2]
	}
	return e
}

// MaxNodes bounds a document's size with aliases expanded, so that a few
// nested aliases (an alias bomb) cannot make walking it take forever. A
// journey of a few hundred steps has a few thousand.
const MaxNodes = 100_000

// TooLarge reports whether n has more than MaxNodes nodes once every alias
// is expanded into a copy of its anchor, and if so whether the aliases are
// to blame: as written, n has at most MaxNodes. The count stops soon after
// MaxNodes, so it is quick however big the expansion.
func TooLarge(n *yaml.Node) (large, byAliases bool) {
	if expandedSize(n, map[*yaml.Node]int{}) <= MaxNodes {
		return false, false
	}
	return true, writtenSize(n) <= MaxNodes
}

// expandedSize counts n's nodes as if every alias were a copy of its anchor;
// memo keeps the count itself linear.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n = Deref(n); n == nil {
		return 0
	}
	if size, ok := memo[n]; ok {
		return size
	}
	memo[n] = MaxNodes + 1 // a node reached again while counting it is a cycle
	size := 1
	for _, c := range n.Content {
		size += expandedSize(c, memo)
		if size > MaxNodes {
			break
		}
	}
	memo[n] = size
	return size
}

// writtenSize counts n's nodes as written: an alias is one node.
func writtenSize(n *yaml.Node) int {
	count := 1
	for _, c := range n.Content {
		count += writtenSize(c)
	}
	return count
}

// Deref follows an alias to its anchored node, so that readers see the
// value an alias stands for; other nodes, and nil, are returned as they are.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// Describe names a node's kind, or a scalar's value, for "want X, got Y"
// messages: a map, a list, nothing (null), "the value" or something else.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}
