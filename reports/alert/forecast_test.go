package alert

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// fillStepHours writes hourly aggregates of a step straight into the
// store, one row an hour from from until until, the p95 of each hour
// p95(middle of the hour).
func fillStepHours(t *testing.T, st *store.Store, journey string, idx int, name string, from, until time.Time,
	p95 func(at time.Time) time.Duration) {
	t.Helper()
	err := st.Tx(t.Context(), func(tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO step_hours (journey, idx, name, hour, runs, failures, p50_ms, p95_ms, max_ms)
			VALUES (?, ?, ?, ?, 12, 0, ?, ?, ?)`)
		for h := from.Truncate(time.Hour); h.Before(until); h = h.Add(time.Hour) {
			v := p95(h.Add(30 * time.Minute)).Round(time.Millisecond).Milliseconds()
			if _, err := tx.ExecContext(t.Context(), q, journey, idx, name, h.UnixMilli(), v*8/10, v, v*12/10); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// notifyJobs counts the delivery jobs queued so far.
func notifyJobs(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'waymark_notify'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestForecastEndToEnd runs the daily forecast on a real store filled
// with generated hourly aggregates and delivers through real webhooks: a
// step whose p95 rises 60 ms a day is told once, with the message text,
// to the first level of its route only; the next day and during the
// journey's maintenance it is not told again; a week later it is; a step
// whose p95 is flat with noise, and a step without a warn threshold, are
// never told; the forecasts are kept for the dashboard and forgotten when
// the journey goes.
func TestForecastEndToEnd(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		desk, boss, pager := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
		var served []*journeys.Journey
		var maintenance atomic.Bool
		f := newFixture(t, st, Options{
			Routes: []Route{
				{Match: Match{Severity: results.SeverityCritical}, Levels: []Level{{To: []string{"pager"}}}},
				{Levels: []Level{{To: []string{"desk"}}, {After: 15 * time.Minute, To: []string{"boss"}}}},
			},
			Channels: map[string]notify.Channel{"desk": webhook(t, desk.srv.URL), "boss": webhook(t, boss.srv.URL),
				"pager": webhook(t, pager.srv.URL)},
			Journeys: func() []*journeys.Journey { return served },
			InMaintenance: func(_ context.Context, j *journeys.Journey, _ time.Time) (bool, error) {
				return maintenance.Load(), nil
			},
			Forecast:  ForecastOptions{Enabled: true, Horizon: 14 * results.Day},
			PublicURL: "https://waymark.example.com",
		}, true)
		ctx := t.Context()
		t0 := f.c.now()
		f.j.Steps = []journeys.Step{
			{Index: 1, Name: "Open"}, // no threshold: never forecast
			{Index: 2, Name: "Pay", Threshold: journeys.Thresholds{Warn: 3 * time.Second, Fail: 10 * time.Second}},
			{Index: 3, Name: "Search", Threshold: journeys.Thresholds{Warn: time.Second}},
			{Index: 4, Name: "Receipt", Threshold: journeys.Thresholds{Warn: 2 * time.Second}}, // no runs
		}
		served = []*journeys.Journey{f.j}

		// Pay: 2.3 s now, 60 ms slower a day: crosses 3 s in 11.7 days.
		// Search: 900 ms, flat, with day-to-day and hourly noise. Open:
		// slower than anything, but without a threshold.
		from, until := t0.Add(-15*results.Day), t0.Add(8*results.Day)
		fillStepHours(t, st, "checkout", 2, "Pay", from, until, func(at time.Time) time.Duration {
			return 2300*time.Millisecond + time.Duration(60*float64(time.Millisecond)*float64(at.Sub(t0))/float64(results.Day))
		})
		rng := rand.New(rand.NewPCG(7, 8))
		wobble := map[int64]time.Duration{}
		fillStepHours(t, st, "checkout", 3, "Search", from, until, func(at time.Time) time.Duration {
			day := at.Unix() / 86400
			if _, ok := wobble[day]; !ok {
				wobble[day] = time.Duration(rng.NormFloat64() * float64(40*time.Millisecond))
			}
			return 900*time.Millisecond + wobble[day] + time.Duration(rng.NormFloat64()*float64(60*time.Millisecond))
		})
		fillStepHours(t, st, "checkout", 1, "Open", from, until, func(at time.Time) time.Duration {
			return 5*time.Second + time.Duration(float64(time.Second)*float64(at.Sub(t0))/float64(results.Day))
		})

		forecast := func(want ForecastReport) {
			t.Helper()
			rep, err := f.m.Forecast(ctx)
			if err != nil {
				t.Fatalf("Forecast: %v", err)
			}
			if rep != want {
				t.Errorf("Forecast at %s = %+v, want %+v", f.c.now().Sub(t0), rep, want)
			}
		}

		// (p95 now: 2.3 s within 10 ms; the fit's day boundaries follow the clock.)
		// Day 0: Pay is told, to desk only: the critical route does not
		// take an info message, and boss is the route's second level.
		forecast(ForecastReport{Journeys: 1, Steps: 3, Fitted: 2, Crossing: 1, Notified: 1})
		waitFor(t, "the forecast at the desk", func() bool { return len(desk.accepted()) == 1 })
		p := desk.accepted()[0]
		const text = "Pay on checkout: p95 2.3 s, +60 ms a day; crosses its 3 s warn threshold in about 12 days"
		if p.Event != notify.KindForecast || p.Summary != text {
			t.Errorf("message %s %q, want forecast %q", p.Event, p.Summary, text)
		}
		if fc := p.Forecast; fc == nil || fc.Step.Number != 2 || fc.Step.Name != "Pay" || fc.P95MS < 2290 || fc.P95MS > 2310 ||
			fc.SlopeMSPerDay != 60 || fc.WarnMS != 3000 || fc.DaysToWarn != 12 || fc.Days != 14 || fc.Severity != results.SeverityInfo {
			t.Errorf("forecast in the message = %+v", fc)
		}
		if p.Incident != (notify.PayloadIncident{}) || p.Links == nil || p.Links.Journey != "https://waymark.example.com/journeys/checkout" {
			t.Errorf("message incident %+v, links %+v; want none and the journey's page", p.Incident, p.Links)
		}
		if n := notifyJobs(t, st); n != 1 {
			t.Errorf("%d messages queued, want 1 (desk)", n)
		}
		kept, err := st.Forecasts(ctx, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		if len(kept) != 2 || kept[0].Name != "Pay" || !kept[0].Crosses() || !kept[0].NotifiedAt.Equal(t0.Truncate(time.Millisecond)) ||
			kept[1].Name != "Search" || kept[1].Crosses() || !kept[1].NotifiedAt.IsZero() {
			t.Errorf("forecasts kept: %+v", kept)
		}

		// Day 1: still crossing, told a day ago: nothing.
		f.c.add(results.Day)
		forecast(ForecastReport{Journeys: 1, Steps: 3, Fitted: 2, Crossing: 1})
		// Day 7, in maintenance: nothing; out of it: told again.
		f.c.add(6 * results.Day)
		maintenance.Store(true)
		forecast(ForecastReport{Journeys: 1, Steps: 3, Fitted: 2, Crossing: 1})
		if n := notifyJobs(t, st); n != 1 {
			t.Errorf("%d messages queued by day 7 in maintenance, want still 1", n)
		}
		maintenance.Store(false)
		forecast(ForecastReport{Journeys: 1, Steps: 3, Fitted: 2, Crossing: 1, Notified: 1})
		waitFor(t, "the week's second forecast", func() bool { return len(desk.accepted()) == 2 })
		if got := desk.accepted()[1].Summary; got != "Pay on checkout: p95 2.7 s, +60 ms a day; crosses its 3 s warn threshold in about 5 days" {
			t.Errorf("a week later: %q", got)
		}
		if len(boss.accepted()) != 0 || len(pager.accepted()) != 0 {
			t.Errorf("boss got %d, pager %d messages; want none", len(boss.accepted()), len(pager.accepted()))
		}

		// The journey is no longer served: its forecasts go at the next
		// forecast.
		served = nil
		f.c.add(results.Day)
		forecast(ForecastReport{})
		if kept, err := st.Forecasts(ctx, ""); err != nil || len(kept) != 0 {
			t.Errorf("forecasts of a journey gone: %+v, %v", kept, err)
		}
	})
}

// lockedBuffer is a log a test reads while River's workers write it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestForecastDeliveryLogged: a forecast has no timeline, so what
// became of its message is logged: delivered with the channel's answer,
// or not delivered with why (here a 400, which no retry mends), and the
// step stays marked as told, so a broken channel is not tried daily.
func TestForecastDeliveryLogged(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "waymark.db"))
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such hook", http.StatusBadRequest)
	}))
	t.Cleanup(broken.Close)
	ok := newReceiver(t, 0)
	var logs lockedBuffer
	var served []*journeys.Journey
	f := newFixture(t, st, Options{
		Routes:   []Route{{Levels: []Level{{To: []string{"broken", "ok"}}}}},
		Channels: map[string]notify.Channel{"broken": webhook(t, broken.URL), "ok": webhook(t, ok.srv.URL)},
		Journeys: func() []*journeys.Journey { return served },
		Forecast: ForecastOptions{Enabled: true},
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	}, true)
	t0 := f.c.now()
	f.j.Steps = []journeys.Step{{Index: 1, Name: "Pay", Threshold: journeys.Thresholds{Warn: 3 * time.Second}}}
	served = []*journeys.Journey{f.j}
	fillStepHours(t, st, "checkout", 1, "Pay", t0.Add(-14*results.Day), t0, func(at time.Time) time.Duration {
		return 2700*time.Millisecond + time.Duration(60*float64(time.Millisecond)*float64(at.Sub(t0))/float64(results.Day))
	})
	if rep, err := f.m.Forecast(t.Context()); err != nil || rep.Notified != 1 {
		t.Fatalf("Forecast = %+v, %v; want one step told", rep, err)
	}
	waitFor(t, "both deliveries logged", func() bool {
		l := logs.String()
		return strings.Contains(l, `msg="message not delivered" forecast=checkout step=1 channel=broken kind=forecast error="POST `) &&
			strings.Contains(l, `msg="forecast delivered" forecast=checkout step=1 channel=ok answer="status 200`)
	})
	if t.Failed() {
		t.Log(logs.String())
	}
	if kept, err := st.Forecasts(t.Context(), ""); err != nil || len(kept) != 1 || kept[0].NotifiedAt.IsZero() {
		t.Errorf("forecasts kept: %+v, %v; want the step marked told", kept, err)
	}
}

// TestWarnSteps numbers and names steps as the runner records them: a
// `use` step stands for its snippet's steps, named after the file; only
// steps with a warn threshold are forecast.
func TestWarnSteps(t *testing.T) {
	warn := func(d time.Duration) journeys.Thresholds { return journeys.Thresholds{Warn: d} }
	j := &journeys.Journey{Thresholds: warn(8 * time.Second), Steps: []journeys.Step{
		{Name: "Home", Threshold: warn(time.Second)},
		{Name: "use snippets/login.yaml", Action: journeys.ActUse, Use: &journeys.Use{File: "snippets/login.yaml",
			Steps: []journeys.Step{{Name: "Open login"}, {Name: "Sign in", Threshold: warn(2 * time.Second)}}}},
		{Name: "Pay", Threshold: journeys.Thresholds{Fail: 5 * time.Second}},
		{Name: "Receipt", Threshold: warn(1500 * time.Millisecond)},
	}}
	want := []warnStep{{1, "Home", time.Second}, {3, "snippets/login.yaml › Sign in", 2 * time.Second},
		{5, "Receipt", 1500 * time.Millisecond}}
	if got := warnSteps(j); !reflect.DeepEqual(got, want) {
		t.Errorf("warnSteps = %+v, want %+v", got, want)
	}
}

// BenchmarkForecastJob is one run of the daily forecast over 200
// journeys of 5 steps with a warn threshold, 14 days of hourly aggregates
// each (336,000 rows), on SQLite and (under pg_virtualenv) PostgreSQL:
// the time the job holds its queue, reading included. No route takes the
// forecasts, so nothing is queued.
func BenchmarkForecastJob(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchForecastJob(b, filepath.Join(b.TempDir(), "waymark.db")) })
	b.Run("postgres", func(b *testing.B) { benchForecastJob(b, storetest.PostgresURL(b)) })
}

func benchForecastJob(b *testing.B, dsn string) {
	const journeyCount, steps = 200, 5
	st, err := store.Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 2, 10, 17, 0, 0, time.UTC)
	var served []*journeys.Journey
	rng := rand.New(rand.NewPCG(1, 2))
	err = st.Tx(b.Context(), func(tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO step_hours (journey, idx, name, hour, runs, failures, p50_ms, p95_ms, max_ms)
			VALUES (?, ?, ?, ?, 12, 0, ?, ?, ?)`)
		for i := range journeyCount {
			j := &journeys.Journey{Name: "journey-" + strconv.Itoa(i)}
			for s := 1; s <= steps; s++ {
				name := "step " + strconv.Itoa(s)
				j.Steps = append(j.Steps, journeys.Step{Index: s, Name: name, Threshold: journeys.Thresholds{Warn: 3 * time.Second}})
				base, slope := 500+rng.Float64()*2500, rng.Float64()*80-20
				for h := now.Add(-14 * results.Day).Truncate(time.Hour); h.Before(now); h = h.Add(time.Hour) {
					v := int64(base + slope*h.Sub(now).Hours()/24 + rng.NormFloat64()*100)
					if _, err := tx.ExecContext(b.Context(), q, j.Name, s, name, h.UnixMilli(), v*8/10, v, v*12/10); err != nil {
						return err
					}
				}
			}
			served = append(served, j)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	m := New(Options{Store: st, Journeys: func() []*journeys.Journey { return served }, Now: func() time.Time { return now },
		Forecast: ForecastOptions{Enabled: true}})
	b.ResetTimer()
	for b.Loop() {
		rep, err := m.Forecast(b.Context())
		if err != nil || rep.Steps != journeyCount*steps {
			b.Fatalf("Forecast = %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/forecast")
}
