package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/reports"
)

// TestConfigErrorExit: a bad config stops every command that reads it with
// exit 2 and one line on stderr saying where the problem is, before any
// journey is read or browser started.
func TestConfigErrorExit(t *testing.T) {
	const journey = "../../examples/journeys/guest-checkout.yaml"
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // stderr, exactly
	}{
		{"file:line:col", nil, []string{"run", "--config", "testdata/config-bad.yaml", journey},
			`waymark: testdata/config-bad.yaml:2:1: unknown key "databse" (did you mean "database"?)` + "\n"},
		{"validate reads it too", nil, []string{"validate", "--config", "testdata/config-bad.yaml"},
			`waymark: testdata/config-bad.yaml:2:1: unknown key "databse" (did you mean "database"?)` + "\n"},
		{"the command's environment", map[string]string{"WAYMARK_BROWSER_MAX_CONCURRENT": "abc"}, []string{"run", journey},
			`waymark: WAYMARK_BROWSER_MAX_CONCURRENT: want a whole number ≥ 1, got "abc"` + "\n"},
		{"explicit file missing", nil, []string{"run", "--config", "testdata/nope.yaml", journey},
			"waymark: read config testdata/nope.yaml: stat testdata/nope.yaml: no such file or directory\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr, env)
			if code != reports.ExitBadInput {
				t.Errorf("exit %d, want %d", code, reports.ExitBadInput)
			}
			if stderr.String() != tc.want {
				t.Errorf("stderr\n%q\nwant\n%q", stderr.String(), tc.want)
			}
			if strings.TrimSpace(stdout.String()) != "" {
				t.Errorf("stdout %q, want nothing: no journey may start", stdout.String())
			}
		})
	}
}
