package results

import (
	"testing"
	"time"
)

// utc is a fixed time in UTC, to the second.
func utc(year int, month time.Month, day, hour, minute, sec int) time.Time {
	return time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
}

var shop = MaintenanceMatch{Tag: "shop"}

func TestMaintenanceActive(t *testing.T) {
	weekly := Maintenance{Name: "weekly patching", Match: shop, Cron: "0 2 * * SUN", Duration: 2 * time.Hour}
	london := weekly
	london.TimeZone = "Europe/London"
	londonPrefix := weekly
	londonPrefix.Cron = "CRON_TZ=Europe/London 0 2 * * SUN"
	deploy := Maintenance{ID: 7, Reason: "release 4.2", Match: shop, From: utc(2026, 11, 23, 20, 0, 0), To: utc(2026, 11, 23, 21, 0, 0)}
	endedEarly := deploy
	endedEarly.EndedAt = utc(2026, 11, 23, 20, 30, 0)
	for _, tc := range []struct {
		name       string
		w          Maintenance
		at         time.Time
		start, end time.Time // zero: not active
	}{
		{"weekly: a second before it starts", weekly, utc(2026, 11, 29, 1, 59, 59), time.Time{}, time.Time{}},
		{"weekly: at its start", weekly, utc(2026, 11, 29, 2, 0, 0), utc(2026, 11, 29, 2, 0, 0), utc(2026, 11, 29, 4, 0, 0)},
		{"weekly: its last instant", weekly, utc(2026, 11, 29, 4, 0, 0).Add(-time.Nanosecond), utc(2026, 11, 29, 2, 0, 0), utc(2026, 11, 29, 4, 0, 0)},
		{"weekly: at its end", weekly, utc(2026, 11, 29, 4, 0, 0), time.Time{}, time.Time{}},
		{"weekly: another day", weekly, utc(2026, 11, 30, 2, 30, 0), time.Time{}, time.Time{}},

		// Europe/London is UTC in winter (GMT) and UTC+1 in summer (BST):
		// 02:00 there is 02:00Z in November and 01:00Z in July.
		{"London winter: 01:30Z is before 02:00 GMT", london, utc(2026, 11, 29, 1, 30, 0), time.Time{}, time.Time{}},
		{"London winter: 02:30Z", london, utc(2026, 11, 29, 2, 30, 0), utc(2026, 11, 29, 2, 0, 0), utc(2026, 11, 29, 4, 0, 0)},
		{"London summer: 01:30Z is 02:30 BST", london, utc(2026, 7, 5, 1, 30, 0), utc(2026, 7, 5, 1, 0, 0), utc(2026, 7, 5, 3, 0, 0)},
		{"London summer: 03:30Z is after 04:00 BST", london, utc(2026, 7, 5, 3, 30, 0), time.Time{}, time.Time{}},
		// 29 March 2026: 01:00 GMT becomes 02:00 BST, so the window
		// starts at 01:00Z, and lasts two hours of elapsed time.
		{"London spring forward: starts at 01:00Z", london, utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 3, 0, 0)},
		{"London spring forward: 00:59Z", london, utc(2026, 3, 29, 0, 59, 0), time.Time{}, time.Time{}},
		// 25 October 2026: 02:00 BST becomes 01:00 GMT; 02:00 comes
		// once, in GMT.
		{"London fall back: 01:30Z is the second 01:30", london, utc(2026, 10, 25, 1, 30, 0), time.Time{}, time.Time{}},
		{"London fall back: 02:00Z", london, utc(2026, 10, 25, 2, 0, 0), utc(2026, 10, 25, 2, 0, 0), utc(2026, 10, 25, 4, 0, 0)},
		{"CRON_TZ= prefix as time_zone", londonPrefix, utc(2026, 7, 5, 1, 30, 0), utc(2026, 7, 5, 1, 0, 0), utc(2026, 7, 5, 3, 0, 0)},

		{"nightly across midnight: after midnight",
			Maintenance{Match: shop, Cron: "30 23 * * *", Duration: time.Hour}, utc(2026, 11, 24, 0, 15, 0),
			utc(2026, 11, 23, 23, 30, 0), utc(2026, 11, 24, 0, 30, 0)},
		{"nightly across midnight: its end",
			Maintenance{Match: shop, Cron: "30 23 * * *", Duration: time.Hour}, utc(2026, 11, 24, 0, 30, 0), time.Time{}, time.Time{}},
		{"Friday night into Saturday",
			Maintenance{Match: shop, Cron: "0 23 * * FRI", Duration: 3 * time.Hour}, utc(2026, 11, 28, 1, 0, 0),
			utc(2026, 11, 27, 23, 0, 0), utc(2026, 11, 28, 2, 0, 0)},
		{"single across midnight",
			Maintenance{Match: shop, From: utc(2026, 12, 1, 22, 0, 0), To: utc(2026, 12, 2, 2, 0, 0)}, utc(2026, 12, 2, 0, 0, 0),
			utc(2026, 12, 1, 22, 0, 0), utc(2026, 12, 2, 2, 0, 0)},

		{"overlapping starts: the latest is current",
			Maintenance{Match: shop, Cron: "*/10 * * * *", Duration: 30 * time.Minute}, utc(2026, 11, 23, 12, 5, 0),
			utc(2026, 11, 23, 12, 0, 0), utc(2026, 11, 23, 12, 30, 0)},
		{"every minute for 30 days",
			Maintenance{Match: shop, Cron: "* * * * *", Duration: 30 * 24 * time.Hour}, utc(2026, 11, 23, 12, 5, 30),
			utc(2026, 11, 23, 12, 5, 0), utc(2026, 12, 23, 12, 5, 0)},
		{"yearly for 400 days: a start far back",
			Maintenance{Match: shop, Cron: "0 9 1 1 *", Duration: 400 * 24 * time.Hour}, utc(2027, 6, 1, 0, 0, 0),
			utc(2027, 1, 1, 9, 0, 0), utc(2027, 1, 1, 9, 0, 0).Add(400 * 24 * time.Hour)},
		{"every minute of one hour a day, asked at night",
			Maintenance{Match: shop, Cron: "* 9 * * *", Duration: 20 * time.Hour}, utc(2026, 11, 24, 4, 0, 0),
			utc(2026, 11, 23, 9, 59, 0), utc(2026, 11, 24, 5, 59, 0)},
		{"descriptor", Maintenance{Match: shop, Cron: "@daily", Duration: 30 * time.Minute}, utc(2026, 11, 23, 0, 10, 0),
			utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 23, 0, 30, 0)},

		{"deploy: before", deploy, utc(2026, 11, 23, 19, 59, 59), time.Time{}, time.Time{}},
		{"deploy: from", deploy, utc(2026, 11, 23, 20, 0, 0), deploy.From, deploy.To},
		{"deploy: to", deploy, utc(2026, 11, 23, 21, 0, 0), time.Time{}, time.Time{}},
		{"ended early: ends then", endedEarly, utc(2026, 11, 23, 20, 15, 0), deploy.From, endedEarly.EndedAt},
		{"ended early: at its end", endedEarly, utc(2026, 11, 23, 20, 30, 0), time.Time{}, time.Time{}},
		{"ended early: where it would have been on", endedEarly, utc(2026, 11, 23, 20, 45, 0), time.Time{}, time.Time{}},
		{"ended early, repeating: no later occurrence",
			Maintenance{Match: shop, Cron: "@daily", Duration: time.Hour, EndedAt: utc(2026, 11, 23, 0, 30, 0)}, utc(2026, 11, 24, 0, 10, 0),
			time.Time{}, time.Time{}},

		{"invalid: bad cron is never on", Maintenance{Match: shop, Cron: "0 2 * *", Duration: time.Hour}, utc(2026, 11, 29, 2, 0, 0), time.Time{}, time.Time{}},
		{"invalid: no match is never on", Maintenance{From: deploy.From, To: deploy.To}, utc(2026, 11, 23, 20, 0, 0), time.Time{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end, ok := tc.w.Active(tc.at)
			if ok != !tc.start.IsZero() || !start.Equal(tc.start) || !end.Equal(tc.end) {
				t.Errorf("Active(%s) = %s, %s, %v; want %s, %s, %v", tc.at, start, end, ok, tc.start, tc.end, !tc.start.IsZero())
			}
			if ok && start.Location() != tc.at.Location() {
				t.Errorf("Active(%s) start in %s, want the time asked about's %s", tc.at, start.Location(), tc.at.Location())
			}
		})
	}
}

func TestMaintenanceNext(t *testing.T) {
	london := Maintenance{Match: shop, Cron: "0 2 * * SUN", Duration: 2 * time.Hour, TimeZone: "Europe/London"}
	deploy := Maintenance{Match: shop, From: utc(2026, 11, 23, 20, 0, 0), To: utc(2026, 11, 23, 21, 0, 0)}
	endedBefore := deploy
	endedBefore.EndedAt = utc(2026, 11, 23, 19, 0, 0)
	for _, tc := range []struct {
		name       string
		w          Maintenance
		after      time.Time
		start, end time.Time // zero: none
	}{
		{"next Sunday, BST", london, utc(2026, 7, 1, 0, 0, 0), utc(2026, 7, 5, 1, 0, 0), utc(2026, 7, 5, 3, 0, 0)},
		{"while on: the one after", london, utc(2026, 7, 5, 1, 30, 0), utc(2026, 7, 12, 1, 0, 0), utc(2026, 7, 12, 3, 0, 0)},
		{"single, ahead", deploy, utc(2026, 11, 23, 19, 0, 0), deploy.From, deploy.To},
		{"single, started", deploy, utc(2026, 11, 23, 20, 0, 0), time.Time{}, time.Time{}},
		{"single, ended before it began", endedBefore, utc(2026, 11, 23, 18, 0, 0), time.Time{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end, ok := tc.w.Next(tc.after)
			if ok != !tc.start.IsZero() || !start.Equal(tc.start) || !end.Equal(tc.end) {
				t.Errorf("Next(%s) = %s, %s, %v; want %s, %s, %v", tc.after, start, end, ok, tc.start, tc.end, !tc.start.IsZero())
			}
		})
	}
}

func TestMaintenanceValidate(t *testing.T) {
	from, to := utc(2026, 12, 1, 22, 0, 0), utc(2026, 12, 2, 2, 0, 0)
	for _, tc := range []struct {
		name string
		w    Maintenance
		want string // "" valid
	}{
		{"repeating", Maintenance{Match: shop, Cron: "0 2 * * SUN", Duration: time.Hour, TimeZone: "Europe/London"}, ""},
		{"repeating, CRON_TZ", Maintenance{Match: shop, Cron: "CRON_TZ=America/New_York 0 2 * * SUN", Duration: time.Hour}, ""},
		{"repeating, TZ and the same time_zone", Maintenance{Match: shop, Cron: "TZ=UTC @weekly", Duration: time.Hour, TimeZone: "UTC"}, ""},
		{"single", Maintenance{Match: MaintenanceMatch{Journey: "guest-checkout"}, From: from, To: to}, ""},
		{"no match", Maintenance{From: from, To: to}, "the window matches nothing: want a journey, a tag or a customer"},
		{"both", Maintenance{Match: shop, Cron: "@daily", Duration: time.Hour, From: from, To: to},
			"want either cron and duration, or from and to, not both"},
		{"bad cron", Maintenance{Match: shop, Cron: "0 2 * *", Duration: time.Hour},
			`bad cron "0 2 * *": expected exactly 5 fields, found 4: [0 2 * *]; want 5 fields (minute hour day month weekday) or @daily, @weekly`},
		{"@every", Maintenance{Match: shop, Cron: "@every 1h", Duration: time.Hour},
			`cron "@every 1h": @every has no fixed start: want 5 fields (minute hour day month weekday) or @daily, @weekly`},
		{"never starts", Maintenance{Match: shop, Cron: "0 0 30 2 *", Duration: time.Hour},
			`cron "0 0 30 2 *" never starts: want a date that exists, like 0 2 * * SUN`},
		{"unknown time zone", Maintenance{Match: shop, Cron: "@daily", Duration: time.Hour, TimeZone: "Europe/Lndon"},
			`unknown time zone "Europe/Lndon": want a name from the IANA time zone database like Europe/London, America/New_York or UTC`},
		{"Local", Maintenance{Match: shop, Cron: "@daily", Duration: time.Hour, TimeZone: "Local"},
			`time zone "Local" differs from agent to agent: want a name from the IANA time zone database like Europe/London, America/New_York or UTC`},
		{"unknown CRON_TZ", Maintenance{Match: shop, Cron: "CRON_TZ=Mars/Olympus 0 2 * * *", Duration: time.Hour},
			`unknown time zone "Mars/Olympus": want a name from the IANA time zone database like Europe/London, America/New_York or UTC`},
		{"empty CRON_TZ", Maintenance{Match: shop, Cron: "CRON_TZ= 0 2 * * *", Duration: time.Hour},
			`cron "CRON_TZ= 0 2 * * *": missing time zone after CRON_TZ=: want a name like CRON_TZ=Europe/London`},
		{"CRON_TZ without a schedule", Maintenance{Match: shop, Cron: "CRON_TZ=Europe/London", Duration: time.Hour},
			`cron "CRON_TZ=Europe/London": missing schedule after the time zone: want one like CRON_TZ=Europe/London 0 2 * * SUN`},
		{"two time zones", Maintenance{Match: shop, Cron: "CRON_TZ=Europe/London 0 2 * * *", Duration: time.Hour, TimeZone: "Europe/Paris"},
			`cron "CRON_TZ=Europe/London 0 2 * * *" names time zone Europe/London and time_zone is Europe/Paris: set it once`},
		{"cron without duration", Maintenance{Match: shop, Cron: "@daily"}, "a repeating window needs a duration > 0, got 0s"},
		{"duration without cron", Maintenance{Match: shop, Duration: time.Hour},
			"duration and time zone belong to a repeating window: want cron with them"},
		{"from without to", Maintenance{Match: shop, From: from}, "a single window needs from and to"},
		{"to before from", Maintenance{Match: shop, From: to, To: from}, "to (2026-12-01T22:00:00Z) is not after from (2026-12-02T02:00:00Z)"},
		{"to at from", Maintenance{Match: shop, From: from, To: from}, "to (2026-12-01T22:00:00Z) is not after from (2026-12-01T22:00:00Z)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.w.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaintenanceCovers(t *testing.T) {
	tags := []string{"shop", "eu"}
	for _, tc := range []struct {
		match             MaintenanceMatch
		journey, customer string
		want              bool
	}{
		{MaintenanceMatch{Journey: "checkout"}, "checkout", "", true},
		{MaintenanceMatch{Journey: "checkout"}, "search", "", false},
		{MaintenanceMatch{Tag: "shop"}, "checkout", "", true},
		{MaintenanceMatch{Tag: "us"}, "checkout", "", false},
		{MaintenanceMatch{Customer: "acme"}, "checkout", "acme", true},
		{MaintenanceMatch{Customer: "acme"}, "checkout", "", false},
		{MaintenanceMatch{Tag: "shop", Customer: "acme"}, "checkout", "acme", true},
		{MaintenanceMatch{Tag: "shop", Customer: "acme"}, "checkout", "globex", false},
		{MaintenanceMatch{Journey: "checkout", Tag: "us"}, "checkout", "", false},
		{MaintenanceMatch{}, "checkout", "acme", false},
	} {
		w := Maintenance{Match: tc.match}
		if got := w.Covers(tc.journey, tc.customer, tags); got != tc.want {
			t.Errorf("%s covers journey %s of customer %q tagged %v = %v, want %v", tc.match, tc.journey, tc.customer, tags, got, tc.want)
		}
	}
}

func TestInMaintenance(t *testing.T) {
	at := utc(2026, 11, 23, 20, 10, 0)
	nightly := Maintenance{Name: "nightly", Match: MaintenanceMatch{Tag: "shop"}, Cron: "0 20 * * *", Duration: time.Hour}
	deploy := Maintenance{ID: 3, Reason: "release 4.2", Match: MaintenanceMatch{Journey: "checkout"}, From: utc(2026, 11, 23, 20, 5, 0), To: utc(2026, 11, 23, 22, 0, 0)}
	sameEnd := Maintenance{ID: 4, Reason: "same end", Match: MaintenanceMatch{Journey: "checkout"}, From: utc(2026, 11, 23, 20, 0, 0), To: utc(2026, 11, 23, 22, 0, 0)}
	ended := deploy
	ended.EndedAt = utc(2026, 11, 23, 20, 8, 0)
	other := Maintenance{Name: "acme", Match: MaintenanceMatch{Customer: "acme"}, From: utc(2026, 11, 23, 0, 0, 0), To: utc(2026, 11, 24, 0, 0, 0)}
	for _, tc := range []struct {
		name    string
		windows []Maintenance
		journey string
		want    string // Label; "" none
	}{
		{"none", nil, "checkout", ""},
		{"one", []Maintenance{nightly}, "checkout", "nightly"},
		{"not covered", []Maintenance{deploy, other}, "login", ""},
		{"the one ending last", []Maintenance{nightly, deploy}, "checkout", "release 4.2"},
		{"the one ending last, listed first", []Maintenance{deploy, nightly}, "checkout", "release 4.2"},
		{"same end: the first listed", []Maintenance{sameEnd, deploy}, "checkout", "same end"},
		{"ended early is out", []Maintenance{ended, nightly}, "checkout", "nightly"},
		{"not yet on", []Maintenance{{Match: MaintenanceMatch{Journey: "checkout"}, From: at.Add(time.Minute), To: at.Add(time.Hour)}}, "checkout", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := InMaintenance(tc.windows, tc.journey, "", []string{"shop"}, at)
			if got := map[bool]string{true: w.Label()}[ok]; got != tc.want || ok != (tc.want != "") {
				t.Errorf("InMaintenance = %q, %v; want %q", w.Label(), ok, tc.want)
			}
		})
	}
}

func TestMaintenanceLabel(t *testing.T) {
	for _, tc := range []struct {
		w    Maintenance
		want string
	}{
		{Maintenance{Name: "weekly patching", Reason: "os updates", ID: 2}, "weekly patching"},
		{Maintenance{Reason: "release 4.2", ID: 2}, "release 4.2"},
		{Maintenance{ID: 2}, "maintenance 2"},
		{Maintenance{Match: MaintenanceMatch{Tag: "shop", Customer: "acme"}}, "maintenance for tag shop, customer acme"},
	} {
		if got := tc.w.Label(); got != tc.want {
			t.Errorf("Label of %+v = %q, want %q", tc.w, got, tc.want)
		}
	}
}
