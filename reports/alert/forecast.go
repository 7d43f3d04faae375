package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// Warnings before a breach. Once a day the leader fits the trend of the
// p95 of every step that has a warn threshold over the hourly aggregates
// (results.ForecastStep), keeps each step's latest forecast in the store
// for the dashboard, and tells the journey's routes of the steps
// forecast to cross within the horizon, with severity info.
//
// A forecast is not an incident: it has no reference, no timeline and no
// escalation. Its message goes to the channels of the first level of each
// route that takes it (a route matching severity info, or none), as a
// delivery job in each channel's queue like an incident's, retried the
// same way; its delivery is logged ("forecast delivered", or "message not
// delivered" with why) rather than put on a timeline, and the step's
// forecast records when it was sent (NotifiedAt), which is what holds it
// to once a week. Action channels are never sent a forecast, PagerDuty
// skips it (see notify.KindForecast). No forecast is sent while the
// journey is in a maintenance window; it is sent at the next day's run.

// Forecast timing.
const (
	// ForecastEvery is how often the leader forecasts; also once when it
	// starts, so that an agent restarted every night still forecasts.
	ForecastEvery = 24 * time.Hour
	// ForecastNotifyEvery is how often one step's crossing is told at
	// most, however many days it stays forecast.
	ForecastNotifyEvery = 7 * 24 * time.Hour
	// forecastTimeout bounds one run of the job. Reading two weeks of
	// aggregates is the work; the fit is microseconds a step
	// (docs/performance.md).
	forecastTimeout = 10 * time.Minute
	// ForecastQueue is the forecast's River queue: its own, not the
	// control queue, whose one worker dispatches the runs every 5s. A
	// forecast reads two weeks of aggregates, about a second for every
	// thousand steps with a threshold on SQLite (docs/performance.md),
	// which would make the runs due meanwhile late.
	ForecastQueue = "forecast"
	// forecastPoll is how often agents look for the forecast job: it
	// comes daily, and every poll is a query.
	forecastPoll = 30 * time.Second
)

// ForecastOptions configure the daily forecast (Options.Forecast).
type ForecastOptions struct {
	// Enabled adds the daily job to Periodic.
	Enabled bool
	// Window is how far back the hourly aggregates are fitted
	// (results.DefaultForecastWindow when zero).
	Window time.Duration
	// Horizon is how far ahead a crossing is told
	// (results.DefaultForecastHorizon when zero).
	Horizon time.Duration
}

// forecastArgs is the daily forecast job.
type forecastArgs struct{}

// Kind names the job in River's tables.
func (forecastArgs) Kind() string { return "waymark_forecast" }

// InsertOpts puts the job on its queue, once: a failed forecast is not
// retried, the next comes the next day; and never two at once.
func (forecastArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       ForecastQueue,
		MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// forecaster runs the daily forecast.
type forecaster struct {
	river.WorkerDefaults[forecastArgs]
	m *Manager
}

// Timeout bounds one forecast (see forecastTimeout).
func (f *forecaster) Timeout(*river.Job[forecastArgs]) time.Duration { return forecastTimeout }

// Work forecasts and logs what it found.
func (f *forecaster) Work(ctx context.Context, _ *river.Job[forecastArgs]) error {
	start := time.Now()
	rep, err := f.m.Forecast(ctx)
	attrs := []any{"journeys", rep.Journeys, "steps", rep.Steps, "fitted", rep.Fitted, "crossing", rep.Crossing,
		"notified", rep.Notified, "took", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		f.m.log.Error("forecast", append(attrs, "error", err)...)
		return err
	}
	f.m.log.Info("forecast", attrs...)
	return nil
}

// ForecastReport says what one forecast did.
type ForecastReport struct {
	// Journeys and Steps count the journeys and steps with a warn
	// threshold, Fitted the steps with enough days of runs for a trend.
	Journeys, Steps, Fitted int
	// Crossing counts the steps forecast to cross within the horizon,
	// Notified those whose routes were told this time.
	Crossing, Notified int
}

// Forecast fits the trend of the p95 of each step with a warn threshold
// of every journey served (Options.Journeys), keeps the forecasts, and
// tells the journey's routes of each step forecast to cross its threshold
// within the horizon, unless they were told of it within
// ForecastNotifyEvery or the journey is in maintenance; each journey in a
// transaction of its own, the forecasts and their messages together. The
// forecasts of journeys no longer served, or without a warn threshold,
// are forgotten.
func (m *Manager) Forecast(ctx context.Context) (ForecastReport, error) {
	var rep ForecastReport
	if m.o.Journeys == nil {
		return rep, nil
	}
	now := m.o.Now()
	var errs []error
	for _, j := range m.o.Journeys() {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := m.forecastJourney(ctx, j, now, &rep); err != nil {
			errs = append(errs, fmt.Errorf("forecast %s: %w", j.Name, err))
		}
	}
	if len(errs) == 0 {
		// Every journey served has just been forecast: what is older is
		// of journeys that are not.
		if _, err := m.o.Store.DeleteForecastsBefore(ctx, now); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// forecastJourney forecasts the steps of j and sends what is due.
func (m *Manager) forecastJourney(ctx context.Context, j *journeys.Journey, now time.Time, rep *ForecastReport) error {
	steps := warnSteps(j)
	if len(steps) == 0 {
		return nil
	}
	rep.Journeys++
	rep.Steps += len(steps)
	window := cmpOr(m.o.Forecast.Window, results.DefaultForecastWindow)
	keys := make([]store.StepKey, len(steps))
	for i, s := range steps {
		keys[i] = store.StepKey{Index: s.Index, Name: s.Name}
	}
	byStep, err := m.o.Store.ForecastHours(ctx, j.Name, keys, now.Add(-window), now)
	if err != nil {
		return err
	}
	policy := results.ForecastPolicy{Horizon: m.o.Forecast.Horizon}
	var fs []store.StepForecast
	days := map[int]int{}
	for _, s := range steps {
		f := results.ForecastStep(results.DailyP95(byStep[store.StepKey{Index: s.Index, Name: s.Name}], now, window), s.Warn, now, policy)
		if !f.Fitted() {
			continue
		}
		rep.Fitted++
		if f.Outlook == results.OutlookCrosses {
			rep.Crossing++
		}
		days[s.Index] = f.Trend.Days
		// Kept to the millisecond, rounded: a slope of 59.9996 ms a day
		// reads 60 ms.
		fs = append(fs, store.StepForecast{Journey: j.Name, Index: s.Index, Name: s.Name, ComputedAt: now,
			P95: f.Trend.P95.Round(time.Millisecond), Slope: f.Trend.Slope.Round(time.Millisecond), Warn: s.Warn,
			CrossesAt: f.CrossesAt})
	}
	quiet := false
	if m.o.InMaintenance != nil {
		if quiet, err = m.o.InMaintenance(ctx, j, now); err != nil {
			return err
		}
	}
	st := m.o.Store
	notified := 0
	err = st.Tx(ctx, func(tx *sqlx.Tx) error {
		notified = 0
		if err := st.LockJourneyTx(ctx, tx, j.Name); err != nil {
			return err
		}
		kept, err := st.SetForecastsTx(ctx, tx, j.Name, fs)
		if err != nil || quiet {
			return err
		}
		for _, f := range kept {
			if !f.Crosses() || (!f.NotifiedAt.IsZero() && now.Sub(f.NotifiedAt) < ForecastNotifyEvery) {
				continue
			}
			sent, err := m.sendForecastTx(ctx, tx, j, &f, days[f.Index], now)
			if err != nil {
				return err
			}
			if sent {
				if err := st.MarkForecastNotifiedTx(ctx, tx, j.Name, f.Index, now); err != nil {
					return err
				}
				notified++
			}
		}
		return nil
	})
	rep.Notified += notified
	return err
}

// sendForecastTx queues the forecast's message to each channel of the
// first level of the routes that take it, within tx, and says whether
// any channel was sent it.
func (m *Manager) sendForecastTx(ctx context.Context, tx *sqlx.Tx, j *journeys.Journey, f *store.StepForecast, days int, now time.Time) (bool, error) {
	// Routes match a forecast as a journey-wide info "incident" of the
	// site: `match: {severity: info}` takes it, a route for critical ones
	// or for the monitor does not, and neither does one for a location (a
	// forecast is of every location's runs together).
	like := &results.Incident{Journey: j.Name, Kind: results.IncidentSite, Severity: results.SeverityInfo}
	var channels []string
	for _, ch := range m.channels(j, like, 1, 1) {
		if _, remedy := m.o.Channels[ch].(*notify.Action); !remedy {
			channels = append(channels, ch)
		}
	}
	if len(channels) == 0 {
		return false, nil
	}
	if m.client == nil {
		return false, errors.New("alert: no River client to insert messages with")
	}
	ev := notify.Event{
		ID: fmt.Sprintf("forecast-%s-%d-%d", j.Name, f.Index, now.UnixMilli()), Kind: notify.KindForecast, At: now,
		Journey: notify.Journey{Name: j.Name, Title: j.Title, Customer: j.Customer, Owner: j.Owner, Tags: slices.Clone(j.Tags)},
		Forecast: &notify.Forecast{Step: f.Index, StepName: f.Name, P95: f.P95, Slope: f.Slope, Warn: f.Warn,
			CrossesAt: f.CrossesAt, Days: days},
	}
	if m.o.PublicURL != "" {
		ev.Links.Journey = m.o.PublicURL + "/journeys/" + j.Name
	}
	jobs := make([]river.InsertManyParams, len(channels))
	for i, ch := range channels {
		jobs[i] = river.InsertManyParams{Args: deliverArgs{Channel: ch, Event: ev}, InsertOpts: deliverOpts(ch)}
	}
	if _, err := m.client.InsertManyTx(ctx, tx.Tx, jobs); err != nil {
		return false, fmt.Errorf("queue %d forecast messages of %s step %d: %w", len(jobs), j.Name, f.Index, err)
	}
	return true, nil
}

// warnStep is a step of a journey as its runs number and name it, with
// its warn threshold.
type warnStep struct {
	Index int
	Name  string
	Warn  time.Duration
}

// warnSteps are the steps of j that have a warn threshold, numbered and
// named as the runner records them: a `use` step stands for its
// snippet's steps, each named "file › name" and numbered in turn with the
// journey's own (as runner.plan does; the runner is not imported here).
// The journey's own thresholds are for the whole run, not its steps.
func warnSteps(j *journeys.Journey) []warnStep {
	var out []warnStep
	n := 0
	add := func(name string, t journeys.Thresholds) {
		n++
		if t.Warn > 0 {
			out = append(out, warnStep{Index: n, Name: name, Warn: t.Warn})
		}
	}
	for _, s := range j.Steps {
		if s.Action != journeys.ActUse || s.Use == nil {
			add(s.Name, s.Threshold)
			continue
		}
		for _, sn := range s.Use.Steps {
			add(s.Use.File+" › "+sn.Name, sn.Threshold)
		}
	}
	return out
}

// cmpOr is d, or def when d is not positive.
func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
