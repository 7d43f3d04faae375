package store

import (
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"
)

func TestAgents(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		s := openNew(t, dialect, WithClock(func() time.Time { return now }))
		ctx := t.Context()
		t0 := now
		beats := []Agent{
			{ID: "eu-2", Location: "eu-west", Version: "1.0", Host: "box2", StartedAt: t0.Add(-time.Hour), LastSeen: t0, Running: 2},
			{ID: "us-1", Location: "us-east", Version: "1.0", Host: "box3"}, // times from the store's clock
			{ID: "eu-1", Location: "eu-west", Version: "1.1", Host: "box1", StartedAt: t0.Add(-2 * time.Minute), LastSeen: t0.Add(-2 * time.Minute)},
			// eu-2 again, later: replaces its row.
			{ID: "eu-2", Location: "eu-west", Version: "1.0", Host: "box2", StartedAt: t0.Add(-time.Hour), LastSeen: t0.Add(10*time.Second + 1234567), Running: 1},
		}
		for _, a := range beats {
			if err := s.Heartbeat(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Agents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "agents", got, []Agent{
			{ID: "eu-1", Location: "eu-west", Version: "1.1", Host: "box1", StartedAt: t0.Add(-2 * time.Minute), LastSeen: t0.Add(-2 * time.Minute)},
			{ID: "eu-2", Location: "eu-west", Version: "1.0", Host: "box2", StartedAt: t0.Add(-time.Hour), LastSeen: t0.Add(10*time.Second + time.Millisecond), Running: 1},
			{ID: "us-1", Location: "us-east", Version: "1.0", Host: "box3", StartedAt: t0, LastSeen: t0},
		})

		locs := []struct {
			since time.Time
			want  []string
		}{
			{t0.Add(-time.Minute), []string{"eu-west", "us-east"}},
			{t0.Add(time.Second), []string{"eu-west"}}, // only eu-2 is that recent
			{t0.Add(time.Hour), []string{}},
		}
		for _, l := range locs {
			got, err := s.ActiveLocations(ctx, l.since)
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, fmt.Sprint("ActiveLocations since ", l.since), got, l.want)
		}

		for _, id := range []string{"eu-2", "us-1", "nobody"} {
			if err := s.RemoveAgent(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		got, err = s.Agents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != "eu-1" {
			t.Errorf("agents after removing eu-2 and us-1: %+v, want eu-1 only", got)
		}
		if err := s.Heartbeat(ctx, Agent{Location: "eu-west"}); err == nil || err.Error() != "heartbeat: the agent has no ID" {
			t.Errorf("Heartbeat without an ID = %v", err)
		}
	})
}

func TestLastSlotsOnlyMoveForward(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		if got, err := s.LastSlots(ctx); err != nil || len(got) != 0 {
			t.Fatalf("LastSlots before any = %v, %v; want none", got, err)
		}
		for i, set := range []map[Place]time.Time{
			{{"a", "eu-west"}: t0, {"b", "eu-west"}: t0.Add(-time.Minute)},
			{{"a", "eu-west"}: t0.Add(5 * time.Minute), {"a", "us-east"}: t0.Add(time.Minute)},
			{{"a", "eu-west"}: t0.Add(time.Minute)}, // a lagging leader: ignored
			{},
		} {
			if err := s.SetLastSlots(ctx, set); err != nil {
				t.Fatalf("set %d: %v", i, err)
			}
		}
		want := map[Place]time.Time{
			{"a", "eu-west"}: t0.Add(5 * time.Minute),
			{"a", "us-east"}: t0.Add(time.Minute),
			{"b", "eu-west"}: t0.Add(-time.Minute),
		}
		got, err := s.LastSlots(ctx)
		if err != nil || !maps.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("LastSlots = %v, %v; want %v", got, err, want)
		}
		for p, slot := range got {
			if slot.Location() != time.UTC {
				t.Errorf("LastSlots[%v] in %v, want UTC", p, slot.Location())
			}
		}
		if err := s.SetLastSlots(ctx, map[Place]time.Time{{"a", "eu-west"}: {}}); err == nil {
			t.Error("SetLastSlots with a zero slot succeeded")
		}

		// More journeys than one statement takes, in one call.
		many := map[Place]time.Time{}
		for i := range 2*slotsPerStatement + 7 {
			many[Place{fmt.Sprintf("j%03d", i), "eu-west"}] = t0.Add(time.Duration(i) * time.Second)
		}
		if err := s.SetLastSlots(ctx, many); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LastSlots(ctx); err != nil || len(got) != len(want)+len(many) ||
			!got[Place{"j406", "eu-west"}].Equal(t0.Add(406*time.Second)) {
			t.Errorf("after setting %d at once: %d last slots, %v", len(many), len(got), err)
		}

		// Leaders racing: the newest slot wins whatever the order.
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := s.SetLastSlots(ctx, map[Place]time.Time{{"race", "eu-west"}: t0.Add(time.Duration(i) * time.Second)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, err := s.LastSlots(ctx); err != nil || !got[Place{"race", "eu-west"}].Equal(t0.Add(19*time.Second)) {
			t.Errorf("last slot after racing leaders = %v, %v; want %v", got[Place{"race", "eu-west"}], err, t0.Add(19*time.Second))
		}
	})
}

func TestMisses(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		s := openNew(t, dialect, WithClock(func() time.Time { return now }))
		ctx := t.Context()
		t0 := now
		misses := []Miss{
			{Journey: "a", Location: "eu-west", Slot: t0, Reason: MissSkipped, At: t0, Agent: "eu-1"},
			{Journey: "a", Location: "eu-west", Slot: t0, Reason: MissSkipped, At: t0.Add(time.Second), Agent: "eu-2"}, // again: counts once
			{Journey: "a", Location: "eu-west", Slot: t0, Reason: MissDropped, Agent: "eu-1"},                          // same slot, other reason
			{Journey: "a", Location: "eu-west", Slot: t0.Add(time.Minute), Reason: MissSkipped},
			{Journey: "a", Location: "us-east", Slot: t0.Add(time.Minute), Reason: MissDropped},
			{Journey: "b", Location: "eu-west", Slot: t0.Add(-time.Hour), Reason: MissDropped},
		}
		for _, m := range misses {
			if err := s.RecordMiss(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			since time.Time
			want  []MissCount
		}{
			{time.Time{}, []MissCount{
				{"a", "eu-west", MissDropped, 1}, {"a", "eu-west", MissSkipped, 2},
				{"a", "us-east", MissDropped, 1}, {"b", "eu-west", MissDropped, 1},
			}},
			{t0.Add(time.Minute), []MissCount{{"a", "eu-west", MissSkipped, 1}, {"a", "us-east", MissDropped, 1}}},
			{t0.Add(time.Hour), []MissCount{}},
		}
		for _, tt := range tests {
			got, err := s.MissCounts(ctx, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, fmt.Sprint("MissCounts since ", tt.since), got, tt.want)
		}
		// The first record of a slot is the one kept.
		var rows []struct {
			At    int64  `db:"at"`
			Agent string `db:"agent"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT at, agent FROM slot_misses
			WHERE journey = 'a' AND location = 'eu-west' AND slot = ? ORDER BY reason`), t0.UnixMilli()); err != nil {
			t.Fatal(err)
		}
		assertEqual(t, "records of a's slot", rows, []struct {
			At    int64  `db:"at"`
			Agent string `db:"agent"`
		}{{t0.UnixMilli(), "eu-1"}, {t0.UnixMilli(), "eu-1"}})

		for _, m := range []Miss{
			{Journey: "a", Location: "eu-west", Slot: t0, Reason: "late"},
			{Journey: "a", Location: "eu-west", Reason: MissDropped},
		} {
			if err := s.RecordMiss(ctx, m); err == nil {
				t.Errorf("RecordMiss(%+v) succeeded, want an error", m)
			}
		}
	})
}
