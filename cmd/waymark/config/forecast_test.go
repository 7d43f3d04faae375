package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestForecast reads the forecast section from the file and the
// environment: durations in days, the defaults for what is not said, off
// by a variable, a window too short for a trend refused where it is
// written; and routes may match the forecasts' severity, info.
func TestForecast(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name string
		yaml string // the whole waymark.yaml
		env  map[string]string
		want Forecast // when err is ""
		err  string   // the whole error, with the file's name as FILE
	}{
		{"defaults", "location: eu-west\n", nil, Forecast{Enabled: true, Horizon: 7 * day, Window: 14 * day}, ""},
		{"a month ahead, three weeks back", "forecast:\n  horizon: 30d\n  window: 21d\n", nil,
			Forecast{Enabled: true, Horizon: 30 * day, Window: 21 * day}, ""},
		{"off in the file", "forecast: {enabled: false}\n", nil, Forecast{Horizon: 7 * day, Window: 14 * day}, ""},
		{"off from the environment", "", map[string]string{"WAYMARK_FORECAST_ENABLED": "false", "WAYMARK_FORECAST_HORIZON": "3d"},
			Forecast{Horizon: 3 * day, Window: 14 * day}, ""},
		{"routes take info", "routes:\n  - {match: {severity: info}, to: [ops]}\nchannels:\n  ops: {type: slack, url: \"https://hooks.slack.com/x\"}\n", nil,
			Forecast{Enabled: true, Horizon: 7 * day, Window: 14 * day}, ""},
		{"a window shorter than a week", "location: eu-west\nforecast:\n  window: 5d\n", nil, Forecast{},
			`FILE:3:11: forecast.window: want at least 7d: a trend needs 7 days of runs, got 5d`},
		{"a horizon of nothing", "forecast: {horizon: 0s}\n", nil, Forecast{},
			`FILE:1:21: forecast.horizon: want a duration > 0, got "0s"`},
		{"not a bool", "forecast:\n  enabled: sometimes\n", nil, Forecast{},
			`FILE:2:12: forecast.enabled: want true or false, got "sometimes"`},
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
			if c.Forecast != tc.want {
				t.Errorf("forecast %+v, want %+v", c.Forecast, tc.want)
			}
		})
	}
}
