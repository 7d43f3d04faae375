package config

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// loadMaintenance writes waymark.yaml, "maintenance:" then the entries
// given (indented by two spaces), in a new working directory and loads it.
func loadMaintenance(t *testing.T, entries string) (*Config, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	if err := os.WriteFile("waymark.yaml", []byte("maintenance:\n"+entries), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load("waymark.yaml", env(nil))
}

// TestMaintenanceInvalid checks every mistake in a maintenance window
// fails Load with its line and what is expected.
func TestMaintenanceInvalid(t *testing.T) {
	const zones = "want a name from the IANA time zone database like Europe/London, America/New_York or UTC"
	for _, tc := range []struct {
		name    string
		entries string
		want    string
	}{
		{"invalid cron", `
  - match: {tag: shop}
    cron: "0 2 * *"
    duration: 2h
`, `waymark.yaml:4:11: maintenance.cron: bad cron "0 2 * *": expected exactly 5 fields, found 4: [0 2 * *]; want 5 fields (minute hour day month weekday) or @daily, @weekly`},
		{"@every", `
  - match: {tag: shop}
    cron: "@every 1h"
    duration: 30m
`, `waymark.yaml:4:11: maintenance.cron: cron "@every 1h": @every has no fixed start: want 5 fields (minute hour day month weekday) or @daily, @weekly`},
		{"a cron that never starts", `
  - match: {tag: shop}
    cron: "0 0 30 2 *"
    duration: 30m
`, `waymark.yaml:4:11: maintenance.cron: cron "0 0 30 2 *" never starts: want a date that exists, like 0 2 * * SUN`},
		{"unknown time zone", `
  - match: {tag: shop}
    cron: "0 2 * * SUN"
    duration: 2h
    time_zone: Europe/Lndon
`, `waymark.yaml:6:16: maintenance.time_zone: unknown time zone "Europe/Lndon": ` + zones},
		{"the agent's own time zone", `
  - match: {tag: shop}
    cron: "0 2 * * SUN"
    duration: 2h
    time_zone: Local
`, `waymark.yaml:6:16: maintenance.time_zone: time zone "Local" differs from agent to agent: ` + zones},
		{"unknown CRON_TZ", `
  - match: {tag: shop}
    cron: "CRON_TZ=Mars/Olympus 0 2 * * SUN"
    duration: 2h
`, `waymark.yaml:4:11: maintenance.cron: unknown time zone "Mars/Olympus": ` + zones},
		{"two time zones", `
  - match: {tag: shop}
    cron: "CRON_TZ=Europe/London 0 2 * * SUN"
    duration: 2h
    time_zone: Europe/Paris
`, `waymark.yaml:4:11: maintenance.cron: cron "CRON_TZ=Europe/London 0 2 * * SUN" names time zone Europe/London and time_zone is Europe/Paris: set it once`},
		{"misspelt time_zone", `
  - match: {tag: shop}
    cron: "0 2 * * SUN"
    duration: 2h
    timezone: Europe/London
`, `waymark.yaml:6:5: maintenance: unknown key "timezone" (did you mean "time_zone"?)`},
		{"cron without duration", `
  - match: {tag: shop}
    cron: "0 2 * * SUN"
`, `waymark.yaml:3:5: maintenance: a repeating window needs duration as well as cron`},
		{"duration without cron", `
  - match: {tag: shop}
    duration: 2h
`, `waymark.yaml:3:5: maintenance: a repeating window needs cron as well as duration`},
		{"time zone alone", `
  - match: {tag: shop}
    time_zone: Europe/London
`, `waymark.yaml:3:5: maintenance: a window with time_zone needs cron and duration: when it starts in that zone, and for how long`},
		{"both cron and from/to", `
  - match: {tag: shop}
    cron: "@daily"
    duration: 1h
    from: 2026-12-01T22:00:00Z
    to: 2026-12-02T02:00:00Z
`, `waymark.yaml:3:5: maintenance: want either cron and duration, or from and to, not both`},
		{"from after to", `
  - match: {journey: guest-checkout}
    from: 2026-12-02T02:00:00Z
    to: 2026-12-01T22:00:00Z
`, `waymark.yaml:5:9: maintenance.to: want a time after from (2026-12-02T02:00:00Z), got 2026-12-01T22:00:00Z`},
		{"from at to", `
  - match: {journey: guest-checkout}
    from: 2026-12-02T02:00:00+01:00
    to: 2026-12-02T01:00:00Z
`, `waymark.yaml:5:9: maintenance.to: want a time after from (2026-12-02T02:00:00+01:00), got 2026-12-02T01:00:00Z`},
		{"from without to", `
  - match: {journey: guest-checkout}
    from: 2026-12-02T02:00:00Z
`, `waymark.yaml:3:5: maintenance: a single window needs to as well as from`},
		{"time zone with from and to", `
  - match: {journey: guest-checkout}
    from: 2026-12-01T22:00:00Z
    to: 2026-12-02T02:00:00Z
    time_zone: Europe/London
`, `waymark.yaml:6:16: maintenance.time_zone: the time zone of cron, not used by from and to, which carry their own offset (2026-12-01T22:00:00+01:00): remove it`},
		{"no match", `
  - cron: "@weekly"
    duration: 2h
`, `waymark.yaml:3:5: maintenance: a window needs match: with a journey, a tag or a customer`},
		{"empty match", `
  - match: {}
    cron: "@weekly"
    duration: 2h
`, `waymark.yaml:3:5: maintenance: a window needs match: with a journey, a tag or a customer`},
		{"neither a cron nor from/to", `
  - match: {customer: acme}
    reason: who knows
`, `waymark.yaml:3:5: maintenance: a window needs cron and duration, or from and to`},
		{"unknown match key", `
  - match: {owner: web-team}
    cron: "@weekly"
    duration: 2h
`, `waymark.yaml:3:13: maintenance.match: unknown key "owner"; want one of journey, tag, customer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadMaintenance(t, tc.entries)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want %q", c.Maintenance, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Load error\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}

// TestMaintenanceWindows loads valid windows and turns them into the
// results model.
func TestMaintenanceWindows(t *testing.T) {
	c, err := loadMaintenance(t, `  - name: weekly patching
    reason: OS updates
    match: {tag: shop, customer: acme}
    cron: "0 2 * * SUN"
    duration: 2h
    time_zone: Europe/London
  - match: {customer: globex}
    cron: "CRON_TZ=America/New_York 30 23 * * FRI"
    duration: 3h
  - match: {journey: guest-checkout}
    from: 2026-12-01T22:00:00Z
    to: 2026-12-02T02:00:00Z
`)
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	want := []results.Maintenance{
		{Name: "weekly patching", Reason: "OS updates", Match: results.MaintenanceMatch{Tag: "shop", Customer: "acme"},
			Cron: "0 2 * * SUN", Duration: 2 * time.Hour, TimeZone: "Europe/London"},
		{Match: results.MaintenanceMatch{Customer: "globex"}, Cron: "CRON_TZ=America/New_York 30 23 * * FRI", Duration: 3 * time.Hour},
		{Match: results.MaintenanceMatch{Journey: "guest-checkout"}, From: at("2026-12-01T22:00:00Z"), To: at("2026-12-02T02:00:00Z")},
	}
	got := c.MaintenanceWindows()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MaintenanceWindows =\n%+v\nwant\n%+v", got, want)
	}
	for _, w := range got {
		if err := w.Validate(); err != nil {
			t.Errorf("window %s passed Load but not the model: %v", w.Label(), err)
		}
	}
	// 02:00 in London on a summer Sunday is 01:00Z.
	if w, ok := results.InMaintenance(got, "checkout", "acme", []string{"shop"}, at("2026-07-05T01:30:00Z")); !ok || w.Name != "weekly patching" {
		t.Errorf("InMaintenance at 02:30 BST = %+v, %v; want weekly patching", w, ok)
	}
	if (&Config{}).MaintenanceWindows() == nil {
		t.Error("no windows: want an empty list, not nil")
	}
}
