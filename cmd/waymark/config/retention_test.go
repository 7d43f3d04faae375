package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRetention reads retention periods from the file and the environment:
// durations with days, 0 for forever, the defaults for what is not said,
// and an error at the value's line and column (or naming the variable)
// for a negative or unreadable one.
func TestRetention(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name string
		yaml string // the whole waymark.yaml
		env  map[string]string
		want Retention // when err is ""
		err  string    // the whole error, with the file's name as FILE
	}{
		{"defaults", "location: eu-west\n", nil,
			Retention{Runs: Period(30 * day), Failures: Period(90 * day), Aggregates: Period(400 * day)}, ""},
		{"days and hours", "retention:\n  runs: 7d\n  failures: 1d12h\n  aggregates: 36h\n", nil,
			Retention{Runs: Period(7 * day), Failures: Period(36 * time.Hour), Aggregates: Period(36 * time.Hour)}, ""},
		{"zero keeps forever", "retention: {runs: 0, failures: 0d, aggregates: 0s}\n", nil, Retention{}, ""},
		{"one key, defaults for the others", "retention: {runs: 0}\n", nil,
			Retention{Failures: Period(90 * day), Aggregates: Period(400 * day)}, ""},
		{"from the environment", "", map[string]string{"WAYMARK_RETENTION_FAILURES": "0", "WAYMARK_RETENTION_RUNS": "14d"},
			Retention{Runs: Period(14 * day), Aggregates: Period(400 * day)}, ""},
		{"negative days", "location: eu-west\nretention:\n  runs: -30d\n", nil, Retention{},
			`FILE:3:9: retention.runs: want a duration ≥ 0 like 30d (0 keeps forever), got "-30d"`},
		{"negative hours", "retention: {aggregates: -1h}\n", nil, Retention{},
			`FILE:1:25: retention.aggregates: want a duration ≥ 0 like 30d (0 keeps forever), got "-1h"`},
		{"a number without unit", "retention:\n  failures: 90\n", nil, Retention{},
			`FILE:2:13: retention.failures: bad duration "90": want a duration like 30d, 12h or 90m, or 0 to keep forever`},
		{"a word", "retention:\n  runs: forever\n", nil, Retention{},
			`FILE:2:9: retention.runs: bad duration "forever": want a duration like 30d, 12h or 90m, or 0 to keep forever`},
		{"empty", "retention:\n  runs:\n", nil, Retention{},
			`FILE:2:8: retention.runs: want a duration like 30d, 12h or 90m, or 0 to keep forever, got nothing`},
		{"negative in the environment", "", map[string]string{"WAYMARK_RETENTION_RUNS": "-5d"}, Retention{},
			`WAYMARK_RETENTION_RUNS: want a duration ≥ 0 like 30d (0 keeps forever), got "-5d"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "waymark.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(file, env(tc.env))
			if tc.err != "" {
				want := tc.err
				if rest, ok := strings.CutPrefix(want, "FILE"); ok {
					want = file + rest
				}
				if err == nil || err.Error() != want {
					t.Fatalf("Load error\n%v\nwant\n%s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Retention != tc.want {
				t.Errorf("retention %+v, want %+v", c.Retention, tc.want)
			}
		})
	}
}

func TestPeriodString(t *testing.T) {
	for _, tc := range []struct {
		p    Period
		want string
	}{
		{0, "forever"},
		{Period(30 * 24 * time.Hour), "30d"},
		{Period(36 * time.Hour), "36h0m0s"},
		{Period(90 * time.Minute), "1h30m0s"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("Period(%d).String() = %q, want %q", int64(tc.p), got, tc.want)
		}
	}
}
