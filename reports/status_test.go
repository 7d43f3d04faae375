package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// statusNow is when the fixture database is read.
var statusNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fixtureStatus is a database two locations' agents share, with
// something to say in every section: a stale agent, a queue no live
// agent works, missed slots, a journey whose file broke, a disabled one,
// journeys without a schedule, a location nobody serves, and text from
// the database that a terminal would act on.
func fixtureStatus() StatusView {
	at := func(d time.Duration) time.Time { return statusNow.Add(-d) }
	return StatusView{
		Database: "postgres://waymark@db.internal:5432/waymark?sslmode=require",
		Now:      statusNow,
		Agents: []StatusAgent{
			{ID: "box1-0a1b2c3d", Location: "eu-west", Version: "v1.4.0", Host: "box1", StartedAt: at(3 * time.Hour), LastSeen: at(4 * time.Second), Running: 2},
			{ID: "box2-4e5f6a7b", Location: "eu-west", Version: "v1.4.0", Host: "box2\x1b]0;owned\a", StartedAt: at(26 * time.Hour), LastSeen: at(9*time.Second + 900*time.Millisecond)},
			{ID: "box3-8c9d0e1f", Location: "us-east", Version: "v1.3.9", Host: "box3.us", StartedAt: at(50 * time.Hour), LastSeen: at(2*time.Hour + 10*time.Minute + 5*time.Second), Stale: true},
		},
		Leader: StatusLeader{ID: "box1-0a1b2c3d", Location: "eu-west", ElectedAt: at(2*time.Hour + 59*time.Minute + 58*time.Second),
			ExpiresAt: statusNow.Add(12 * time.Second), Live: true},
		Queues: []StatusQueue{
			{Name: "control", Ahead: 1, Running: 1},
			{Name: "loc_eu-west", Location: "eu-west", Ahead: 3, Running: 2},
			{Name: "loc_us-east", Location: "us-east", Waiting: 14, Ahead: 2, Running: 1, NoAgent: true},
		},
		MissWindow: "24h",
		Misses: []StatusMisses{
			{Journey: "checkout", Location: "eu-west", Skipped: 2},
			{Journey: "checkout", Location: "us-east", Dropped: 117},
			{Journey: "search", Location: "eu-west", Skipped: 1, Dropped: 3},
		},
		Journeys: []StatusJourney{
			{Name: "account", File: "journeys/account.yaml", Enabled: true},
			{Name: "checkout", File: "journeys/checkout.yaml", Schedule: "@every 5m", Locations: []string{"eu-west", "us-east"}, Enabled: true},
			{Name: "login", File: "journeys/login.yaml", Schedule: "CRON_TZ=Europe/London 0 9 * * 1-5", Enabled: true,
				LoadError: "journeys/login.yaml:3:7: steps: unknown key \"clik\" (did you mean \"click\"?)\njourneys/login.yaml:9:5: goto: want a path or URL\n"},
			{Name: "nightly-export", File: "journeys/nightly.yaml", Enabled: true, LoadError: "journeys/nightly.yaml:1:1: \x1b[2Jnot YAML"},
			{Name: "old-flow", File: "journeys/old-flow.yaml", Schedule: "@every 1m"},
			{Name: "renamed", File: "journeys/renamed.yaml", Schedule: "@every 1m", LoadError: "journeys/renamed.yaml:2:1: bad"},
			{Name: "search", File: "journeys/search.yaml", Schedule: "*/5 * * * *", Enabled: true},
			{Name: "smoke", Enabled: true},
		},
		Unserved: []StatusUnserved{
			{Location: "ap-south", Journeys: []string{"checkout\u202e"}},
			{Location: "us-east", Journeys: []string{"checkout", "search"}},
		},
	}
}

func TestStatusGolden(t *testing.T) {
	lapsed := fixtureStatus()
	for i := range lapsed.Agents {
		lapsed.Agents[i].Stale = true
		lapsed.Agents[i].LastSeen = lapsed.Agents[i].LastSeen.Add(-10 * time.Minute)
	}
	lapsed.Leader.Live = false
	lapsed.Leader.ExpiresAt = statusNow.Add(-5*time.Minute - 3*time.Second)
	lapsed.Queues = nil
	lapsed.Misses = nil
	lapsed.MissWindow = "7d"

	for _, tc := range []struct {
		name  string
		color bool
		view  StatusView
	}{
		{"status.golden", false, fixtureStatus()},
		{"status_color.golden", true, fixtureStatus()},
		{"status_lapsed.golden", false, lapsed},
		{"status_empty.golden", false, StatusView{Database: "./waymark.db", Now: statusNow, MissWindow: "24h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Status(&buf, tc.view, StatusOptions{Color: tc.color, Zone: cet}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
			if !tc.color && strings.Contains(buf.String(), "\x1b") {
				t.Errorf("an escape sequence without color: text from the database reached the terminal:\n%q", buf.String())
			}
		})
	}
}

func TestAgo(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s ago"},
		{999 * time.Millisecond, "0s ago"},
		{12*time.Second + 700*time.Millisecond, "12s ago"},
		{59 * time.Second, "59s ago"},
		{time.Minute, "1m00s ago"},
		{3*time.Minute + 5*time.Second, "3m05s ago"},
		{time.Hour, "1h00m ago"},
		{23*time.Hour + 59*time.Minute + 59*time.Second, "23h59m ago"},
		{24 * time.Hour, "1d00h ago"},
		{100*24*time.Hour + 5*time.Hour, "100d05h ago"},
		{-3 * time.Second, "0s ago"}, // an agent whose clock is ahead
	} {
		if got := ago(statusNow, statusNow.Add(-tc.d)); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := ago(statusNow, time.Time{}); got != "-" {
		t.Errorf("ago(zero time) = %q, want -", got)
	}
}
