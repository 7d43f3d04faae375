package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/results"
)

// TestForecasts keeps, replaces and reads step forecasts on each dialect:
// times at millisecond precision in UTC, no crossing as a zero time, the
// once-a-week mark kept across a recomputation of the same step and
// dropped for a renamed one, steps no longer forecast forgotten.
func TestForecasts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 17, 0, 0, time.UTC)
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		set := func(journey string, fs ...StepForecast) []StepForecast {
			t.Helper()
			var out []StepForecast
			err := s.Tx(ctx, func(tx *sqlx.Tx) error {
				var err error
				out, err = s.SetForecastsTx(ctx, tx, journey, fs)
				return err
			})
			if err != nil {
				t.Fatalf("SetForecastsTx(%s): %v", journey, err)
			}
			return out
		}
		read := func(journey string) []StepForecast {
			t.Helper()
			fs, err := s.Forecasts(ctx, journey)
			if err != nil {
				t.Fatalf("Forecasts(%q): %v", journey, err)
			}
			return fs
		}
		check := func(what string, got, want []StepForecast) {
			t.Helper()
			if len(got) == 0 && len(want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
			}
		}
		const ms = time.Millisecond
		pay := StepForecast{Journey: "checkout", Index: 7, Name: "Pay", ComputedAt: now.Add(123 * time.Microsecond),
			P95: 2700*ms + 400*time.Microsecond, Slope: 60 * ms, Warn: 3 * time.Second, CrossesAt: now.Add(5 * 24 * time.Hour)}
		home := StepForecast{Journey: "checkout", Index: 1, Name: "Home \x00page", ComputedAt: now, P95: 800 * ms, Slope: -5 * ms, Warn: time.Second}
		search := StepForecast{Journey: "search", Index: 2, Name: "Results", ComputedAt: now, P95: 400 * ms, Slope: 2 * ms, Warn: time.Second}

		stored := set("checkout", pay, home)
		wantPay := pay
		wantPay.ComputedAt, wantPay.P95 = now, 2700*ms
		wantHome := home
		wantHome.Name = "Home \ufffdpage"
		check("stored", stored, []StepForecast{wantHome, wantPay})
		set("search", search)
		check("all", read(""), []StepForecast{wantHome, wantPay, search})
		check("checkout", read("checkout"), []StepForecast{wantHome, wantPay})
		if !stored[1].Crosses() || stored[0].Crosses() {
			t.Errorf("Crosses: pay %v, home %v; want true, false", stored[1].Crosses(), stored[0].Crosses())
		}

		// Notified; recomputed the next day: the mark stays.
		err := s.Tx(ctx, func(tx *sqlx.Tx) error { return s.MarkForecastNotifiedTx(ctx, tx, "checkout", 7, now) })
		if err != nil {
			t.Fatal(err)
		}
		next := pay
		next.ComputedAt, next.P95, next.CrossesAt = now.Add(24*time.Hour), 2760*ms, now.Add(5*24*time.Hour)
		got := set("checkout", next, home)
		wantNext := next
		wantNext.NotifiedAt = now
		check("recomputed", got, []StepForecast{wantHome, wantNext})

		// Step 7 renamed, step 1 no longer forecast: the mark and the row go.
		renamed := next
		renamed.Name = "Pay now"
		got = set("checkout", renamed)
		check("renamed", got, []StepForecast{renamed})
		check("search untouched", read("search"), []StepForecast{search})

		err = s.Tx(ctx, func(tx *sqlx.Tx) error { return s.MarkForecastNotifiedTx(ctx, tx, "checkout", 1, now) })
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("marking a step without a forecast = %v, want ErrNotFound", err)
		}

		// The daily job forgets what it did not compute this time.
		n, err := s.DeleteForecastsBefore(ctx, now.Add(24*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("DeleteForecastsBefore = %d, %v; want 1 (search's)", n, err)
		}
		check("after the daily sweep", read(""), []StepForecast{renamed})
		set("checkout")
		check("none left", read(""), nil)
	})
}

// TestForecastHours reads the hourly p95s the forecast fits, on each
// dialect: of one journey, of the steps asked for (by index and name),
// of the hours from since until until in time order, hours without runs
// left out.
func TestForecastHours(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		for _, r := range []struct {
			journey   string
			idx       int
			name      string
			ago       time.Duration
			runs, p95 int
		}{
			{"checkout", 2, "Pay", time.Hour, 12, 2300},
			{"checkout", 2, "Pay", 2 * time.Hour, 10, 2200},
			{"checkout", 2, "Pay", 0, 10, 9999},                   // until is excluded
			{"checkout", 2, "Pay", 15 * 24 * time.Hour, 10, 9999}, // before since
			{"checkout", 2, "Pay", 3 * time.Hour, 0, 0},           // no runs
			{"checkout", 2, "Pay (old name)", time.Hour, 5, 2100},
			{"checkout", 3, "Search", time.Hour, 7, 800},
			{"search", 2, "Pay", time.Hour, 9, 9999}, // another journey
		} {
			if _, err := s.exec(ctx, `INSERT INTO step_hours (journey, idx, name, hour, runs, failures, p50_ms, p95_ms, max_ms)
				VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0)`, r.journey, r.idx, r.name, now.Add(-r.ago).UnixMilli(), r.runs, r.p95); err != nil {
				t.Fatal(err)
			}
		}
		steps := []StepKey{{2, "Pay"}, {2, "Pay (old name)"}, {4, "Receipt"}}
		got, err := s.ForecastHours(ctx, "checkout", steps, now.Add(-14*24*time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[StepKey][]results.HourP95{
			{2, "Pay"}: {{Hour: now.Add(-2 * time.Hour), Runs: 10, P95: 2200 * time.Millisecond},
				{Hour: now.Add(-time.Hour), Runs: 12, P95: 2300 * time.Millisecond}},
			{2, "Pay (old name)"}: {{Hour: now.Add(-time.Hour), Runs: 5, P95: 2100 * time.Millisecond}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ForecastHours(checkout, %v) =\n%+v\nwant\n%+v", steps, got, want)
		}
		none, err := s.ForecastHours(ctx, "checkout", nil, now.Add(-14*24*time.Hour), now)
		if err != nil || len(none) != 0 {
			t.Errorf("ForecastHours(checkout, no step) = %+v, %v; want none", none, err)
		}
	})
}
