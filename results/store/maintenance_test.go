package store

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// ids lists the IDs of windows, in order.
func ids(ws []results.Maintenance) []int64 {
	out := []int64{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

// TestMaintenanceWindows starts windows, ends them by ID and by match,
// and reads them back, on each dialect.
func TestMaintenanceWindows(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect, WithClock(clock(now)))
		ctx := t.Context()
		shop := results.MaintenanceMatch{Tag: "shop"}
		start := func(w results.Maintenance) results.Maintenance {
			t.Helper()
			got, err := s.StartMaintenance(ctx, w)
			if err != nil {
				t.Fatalf("StartMaintenance(%+v): %v", w, err)
			}
			return got
		}

		// Made now for 30 minutes, as `waymark maintenance start` does;
		// the sub-millisecond part is dropped, as stored.
		deploy := start(results.Maintenance{Reason: "release 4.2", Match: shop, To: now.Add(30*time.Minute + 123*time.Microsecond), CreatedBy: "ci"})
		want := results.Maintenance{ID: deploy.ID, Reason: "release 4.2", Match: shop, From: now, To: now.Add(30 * time.Minute),
			CreatedBy: "ci", CreatedAt: now}
		if deploy.ID == 0 || !reflect.DeepEqual(deploy, want) {
			t.Fatalf("StartMaintenance = %+v, want %+v with an ID", deploy, want)
		}
		// Made earlier, over by now; one ahead; one of another match; one
		// of tag shop for customer acme.
		past := start(results.Maintenance{Name: "earlier", Match: shop, From: now.Add(-3 * time.Hour), To: now.Add(-2 * time.Hour), CreatedAt: now.Add(-3 * time.Hour)})
		ahead := start(results.Maintenance{Name: "tomorrow", Match: shop, From: now.Add(24 * time.Hour), To: now.Add(25 * time.Hour)})
		checkout := start(results.Maintenance{Match: results.MaintenanceMatch{Journey: "checkout"}, To: now.Add(time.Hour)})
		acme := start(results.Maintenance{Match: results.MaintenanceMatch{Tag: "shop", Customer: "acme"}, To: now.Add(time.Hour)})
		if deploy.ID == past.ID || past.ID == ahead.ID {
			t.Fatalf("IDs not unique: %d %d %d", deploy.ID, past.ID, ahead.ID)
		}

		list := func(since time.Time) []results.Maintenance {
			t.Helper()
			ws, err := s.MaintenanceWindows(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			return ws
		}
		ws := list(now)
		if got, want := ids(ws), []int64{deploy.ID, checkout.ID, acme.ID, ahead.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("windows since now = %v, want %v (by start, then ID)", got, want)
		}
		if len(ws) > 0 && !reflect.DeepEqual(ws[0], deploy) {
			t.Errorf("read back %+v, want %+v", ws[0], deploy)
		}
		if got, want := ids(list(now.Add(-150*time.Minute))), []int64{past.ID, deploy.ID, checkout.ID, acme.ID, ahead.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("windows since 2h30m ago = %v, want %v", got, want)
		}
		// A window over at exactly since is not listed: it covers [from, to).
		if got, want := ids(list(now.Add(-2*time.Hour))), []int64{deploy.ID, checkout.ID, acme.ID, ahead.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("windows since the end of the earlier one = %v, want %v", got, want)
		}

		// End by match: only the active windows of exactly tag shop.
		at := now.Add(10 * time.Minute)
		ended, err := s.EndMaintenanceMatching(ctx, shop, at)
		if err != nil {
			t.Fatal(err)
		}
		want.EndedAt = at
		if len(ended) != 1 || !reflect.DeepEqual(ended[0], want) {
			t.Errorf("EndMaintenanceMatching(tag shop) = %+v, want [%+v]", ended, want)
		}
		if ended, err := s.EndMaintenanceMatching(ctx, shop, at); err != nil || len(ended) != 0 {
			t.Errorf("EndMaintenanceMatching again = %+v, %v; want none", ended, err)
		}
		if got, want := ids(list(at)), []int64{checkout.ID, acme.ID, ahead.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("windows after ending tag shop's = %v, want %v", got, want)
		}
		if got, want := ids(list(now)), []int64{deploy.ID, checkout.ID, acme.ID, ahead.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("windows since before it ended = %v, want %v (the ended one is recent)", got, want)
		}

		// End by ID: an active one, then again, an unknown one, one over
		// at its end, and one not yet begun (it never begins).
		w, err := s.EndMaintenance(ctx, checkout.ID, at)
		if err != nil || !w.EndedAt.Equal(at) || w.ID != checkout.ID {
			t.Errorf("EndMaintenance(%d) = %+v, %v; want it ended at %s", checkout.ID, w, err, at)
		}
		if _, _, ok := w.Active(at); ok {
			t.Errorf("window %d still active when ended", w.ID)
		}
		for _, tc := range []struct {
			id     int64
			is     error
			errStr string
		}{
			{checkout.ID, ErrMaintenanceOver, "already over at 2026-11-23T20:10:00Z"},
			{past.ID, ErrMaintenanceOver, "already over at 2026-11-23T18:00:00Z"},
			{999, ErrNotFound, "not found"},
		} {
			w, err := s.EndMaintenance(ctx, tc.id, at)
			if want := "end maintenance " + strconv.FormatInt(tc.id, 10) + ": " + tc.errStr; !errors.Is(err, tc.is) || err.Error() != want {
				t.Errorf("EndMaintenance(%d) = %v, want %q", tc.id, err, want)
			}
			if tc.is == ErrMaintenanceOver && w.ID != tc.id {
				t.Errorf("EndMaintenance(%d) over returned window %d", tc.id, w.ID)
			}
		}
		w, err = s.EndMaintenance(ctx, ahead.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := w.Next(at); ok {
			t.Errorf("a window ended before it began still comes: %+v", w)
		}
		if got, want := ids(list(at)), []int64{acme.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("windows at the end = %v, want %v", got, want)
		}
	})
}

// TestStartMaintenanceInvalid checks that a window the store cannot keep
// is refused with what is expected, and nothing is stored.
func TestStartMaintenanceInvalid(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	s, _ := openTest(t, WithClock(clock(now)))
	shop := results.MaintenanceMatch{Tag: "shop"}
	for _, tc := range []struct {
		name string
		w    results.Maintenance
		want string
	}{
		{"no match", results.Maintenance{To: now.Add(time.Hour)},
			"start maintenance for nothing: the window matches nothing: want a journey, a tag or a customer"},
		{"no end", results.Maintenance{Match: shop}, "start maintenance for tag shop: no end: want to"},
		{"ends before now", results.Maintenance{Match: shop, To: now.Add(-time.Minute)},
			"start maintenance for tag shop: to (2026-11-23T19:59:00Z) is not after from (2026-11-23T20:00:00Z)"},
		{"shorter than a millisecond", results.Maintenance{Match: shop, To: now.Add(time.Microsecond)},
			"start maintenance for tag shop: to (2026-11-23T20:00:00Z) is not after from (2026-11-23T20:00:00Z)"},
		{"repeating", results.Maintenance{Match: shop, Cron: "@daily", Duration: time.Hour},
			`start maintenance for tag shop: a repeating window (cron "@daily") belongs in waymark.yaml: want from and to`},
		{"with a duration", results.Maintenance{Match: shop, To: now.Add(time.Hour), Duration: time.Hour},
			"start maintenance for tag shop: duration and time zone belong to a repeating window: want cron with them"},
		{"already stored", results.Maintenance{ID: 4, Match: shop, To: now.Add(time.Hour)}, "start maintenance for tag shop: it already has ID 4"},
		{"already ended", results.Maintenance{Match: shop, To: now.Add(time.Hour), EndedAt: now}, "start maintenance for tag shop: it has already ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.StartMaintenance(t.Context(), tc.w); err == nil || err.Error() != tc.want {
				t.Errorf("StartMaintenance = %v, want %q", err, tc.want)
			}
		})
	}
	if n := count(t, s, "maintenance"); n != 0 {
		t.Errorf("%d windows stored, want none", n)
	}
	if _, err := s.EndMaintenanceMatching(t.Context(), results.MaintenanceMatch{}, now); err == nil ||
		err.Error() != "end maintenance: no match: want a journey, a tag or a customer" {
		t.Errorf("EndMaintenanceMatching with no match = %v", err)
	}
}

// TestMaintenanceText checks that what people type is kept as both
// databases can: a NUL in a reason reads back as U+FFFD.
func TestMaintenanceText(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect, WithClock(clock(now)))
		w, err := s.StartMaintenance(t.Context(), results.Maintenance{Reason: "release\x00 4.2 \xff", Match: results.MaintenanceMatch{Tag: "shop"}, To: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := s.MaintenanceWindows(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		if want := "release\uFFFD 4.2 \uFFFD"; w.Reason != want || len(ws) != 1 || ws[0].Reason != want {
			t.Errorf("reason %q, read back %+v; want %q", w.Reason, ws, want)
		}
	})
}
