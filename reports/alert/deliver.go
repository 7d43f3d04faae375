package alert

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
)

// maxAttempts bounds the attempts at one message; with the backoff of
// NextRetry they span about a day, which MaxAge cuts first by default.
const maxAttempts = 25

// QueueFor is the River queue of a channel's messages.
func QueueFor(channel string) string { return "notify_" + channel }

// deliverArgs is the job of one message to one channel.
type deliverArgs struct {
	// Message is the timeline entry recording the delivery; 0 for a
	// forecast, which has no timeline: its delivery is logged.
	Message int64 `json:"message"`
	// Incident is the incident's ID, to carry its latest ticket id; 0 for
	// a forecast.
	Incident int64 `json:"incident"`
	// Channel is the channel's name.
	Channel string `json:"channel"`
	// Event is the message as it stood when it was queued.
	Event notify.Event `json:"event"`
}

func (deliverArgs) Kind() string { return "waymark_notify" }

// deliverer delivers messages through their channels.
type deliverer struct {
	river.WorkerDefaults[deliverArgs]
	m *Manager
}

// Timeout bounds one attempt: the channel's own timeout (at most
// MaxChannelTimeout) cuts it first. A delivery held by an agent that died
// is rescued by River once this has passed, and sent again.
func (d *deliverer) Timeout(*river.Job[deliverArgs]) time.Duration {
	return MaxChannelTimeout + 5*time.Second
}

// MaxChannelTimeout is the longest a channel may wait for its answer: an
// endpoint slower than that is better retried later.
const MaxChannelTimeout = 25 * time.Second

// NextRetry backs off exponentially from RetryBase, doubling to at most an hour,
// with a fifth of jitter so the messages of a channel that was down do
// not all come back at once.
// River schedules on the real clock, so this does too.
func (d *deliverer) NextRetry(job *river.Job[deliverArgs]) time.Time {
	wait := min(d.m.o.RetryBase<<min(job.Attempt-1, 20), time.Hour)
	jitter := time.Duration(rand.Int64N(int64(wait/5) + 1))
	return time.Now().Add(wait - wait/10 + jitter)
}

func (d *deliverer) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	m, a := d.m, job.Args
	st := m.o.Store
	now := m.o.Now()
	final := func(why string, err error) error {
		if a.Message != 0 {
			if serr := st.SetDelivery(ctx, a.Message, results.DeliveryFailed, string(a.Event.Kind)+": "+why, now); serr != nil {
				return serr
			}
		}
		m.log.Warn("message not delivered", append(a.about(), "channel", a.Channel, "kind", a.Event.Kind, "error", why)...)
		return river.JobCancel(err)
	}
	if age := time.Since(job.CreatedAt); age > m.o.MaxAge {
		return final(fmt.Sprintf("given up after %s and %d attempts", age.Round(time.Second), job.Attempt-1), errors.New("too old"))
	}
	ch, ok := m.o.Channels[a.Channel]
	if !ok {
		return final("channel "+a.Channel+" is no longer configured", errors.New("no such channel"))
	}
	ev := a.Event
	if ev.Kind == notify.KindForecast {
		// No incident, no ticket, no timeline: the log says what became
		// of it.
		receipt, err := ch.Deliver(ctx, ev)
		switch {
		case err == nil && receipt.Skipped:
			m.log.Info("forecast not sent: the channel takes none", append(a.about(), "channel", a.Channel)...)
			return nil
		case err == nil:
			m.log.Info("forecast delivered", append(a.about(), "channel", a.Channel, "answer", answer(receipt))...)
			return nil
		}
		return d.retry(job, err, final)
	}
	if inc, err := st.Incident(ctx, a.Incident); err == nil && inc.TicketID != "" {
		// A ticket opened by an earlier message of the incident: the desk
		// updates that one.
		ev.Incident.TicketID = inc.TicketID
	}
	if _, mail := ch.(*notify.Email); mail && ev.Run != nil {
		// Email carries the failure's screenshot inline; the job holds
		// only the run's ID.
		ev.Screenshot = m.screenshot(ctx, ev.Run.ID)
	}
	receipt, err := ch.Deliver(ctx, ev)
	if err == nil {
		if receipt.TicketID != "" {
			if err := st.SetTicketID(ctx, a.Incident, receipt.TicketID); err != nil {
				return err
			}
		}
		if err := st.SetDelivery(ctx, a.Message, results.DeliveryDelivered, string(a.Event.Kind)+": "+answer(receipt), m.o.Now()); err != nil {
			return err
		}
		if _, remedy := ch.(*notify.Action); remedy {
			return m.remedied(ctx, a, receipt)
		}
		return nil
	}
	return d.retry(job, err, final)
}

// retry decides what becomes of a failed attempt: recorded failed by
// final when no retry can help or the attempts are spent, else retried
// (after what the server asked for, when it did).
func (d *deliverer) retry(job *river.Job[deliverArgs], err error, final func(why string, err error) error) error {
	var de *notify.DeliveryError
	if !errors.As(err, &de) || !de.Temporary {
		return final(err.Error(), err)
	}
	if job.Attempt >= job.MaxAttempts {
		return final(fmt.Sprintf("%s (after %d attempts)", err, job.Attempt), err)
	}
	d.m.log.Info("message delivery failed, will retry", append(job.Args.about(), "channel", job.Args.Channel,
		"attempt", job.Attempt, "error", err)...)
	if de.RetryAfter > 0 {
		// The server said when: River waits that long, and the attempt
		// does not count against maxAttempts.
		return river.JobSnooze(de.RetryAfter)
	}
	return err
}

// about are the log attributes naming what the message is about: its
// incident, or the journey and step of a forecast.
func (a deliverArgs) about() []any {
	if f := a.Event.Forecast; a.Event.Kind == notify.KindForecast && f != nil {
		return []any{"forecast", a.Event.Journey.Name, "step", f.Step}
	}
	return []any{"incident", a.Event.Incident.Ref}
}

// answer is what a timeline shows of a channel's answer.
func answer(r notify.Receipt) string {
	var parts []string
	switch {
	case r.Skipped:
		return "nothing to send for this event"
	case r.Status > 0:
		parts = append(parts, fmt.Sprintf("status %d", r.Status))
	}
	if r.TicketID != "" {
		parts = append(parts, "ticket "+r.TicketID)
	}
	if r.Body != "" {
		parts = append(parts, r.Body)
	}
	return strings.Join(parts, ": ")
}

// AddWorkers registers the Manager's workers with the engine's River
// client (schedule.Jobs.AddWorkers).
func (m *Manager) AddWorkers(w *river.Workers) error {
	if err := river.AddWorkerSafely(w, &deliverer{m: m}); err != nil {
		return err
	}
	if err := river.AddWorkerSafely(w, &forecaster{m: m}); err != nil {
		return err
	}
	return river.AddWorkerSafely(w, &escalator{m: m})
}

// Queues are a queue per channel (schedule.Jobs.Queues), each with
// channelWorkers workers, and the forecast's when it is enabled.
func (m *Manager) Queues() map[string]river.QueueConfig {
	q := map[string]river.QueueConfig{}
	for name := range m.o.Channels {
		q[QueueFor(name)] = river.QueueConfig{MaxWorkers: channelWorkers, FetchPollInterval: m.o.ChannelPoll}
	}
	if m.forecasting() {
		q[ForecastQueue] = river.QueueConfig{MaxWorkers: 1, FetchPollInterval: forecastPoll}
	}
	return q
}

// forecasting says whether the daily forecast is on.
func (m *Manager) forecasting() bool { return m.o.Forecast.Enabled && m.o.Journeys != nil }

// channelWorkers is how many messages one channel sends at once: River
// fetches a queue's jobs at most every 100ms, so this bounds a channel to
// about 100 messages a second (docs/performance.md), plenty for people
// and gentle on a desk's API; a channel that answers slowly holds only
// its own workers.
const channelWorkers = 10

// Periodic are the jobs of the leader (schedule.Jobs.Periodic): the
// escalation and reminder check every EscalateEvery, and, when
// Options.Forecast says so, the forecast every ForecastEvery and at its
// start.
func (m *Manager) Periodic() []*river.PeriodicJob {
	jobs := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(EscalateEvery),
		func() (river.JobArgs, *river.InsertOpts) { return escalateArgs{}, nil },
		&river.PeriodicJobOpts{ID: "escalate"})}
	if m.forecasting() {
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(ForecastEvery),
			func() (river.JobArgs, *river.InsertOpts) { return forecastArgs{}, nil },
			&river.PeriodicJobOpts{ID: "forecast", RunOnStart: true}))
	}
	return jobs
}

// remedied records a remediation call on the incident's timeline and runs
// the journey again at once to see whether it worked: the timeline then
// reads "remediation requested", the re-run, and "resolved" when it
// passed.
func (m *Manager) remedied(ctx context.Context, a deliverArgs, r notify.Receipt) error {
	detail := "requested through " + a.Channel + ": " + answer(r)
	loc := a.Event.Journey.Location
	if m.o.Rerun != nil && loc != "" {
		if err := m.o.Rerun(ctx, a.Event.Journey.Name, loc); err != nil {
			m.log.Error("re-run after a remediation", "incident", a.Event.Incident.Ref, "journey", a.Event.Journey.Name, "error", err)
			detail += "; the journey could not be run again: " + err.Error()
		} else {
			detail += "; the journey runs again now to verify"
		}
	}
	return m.o.Store.Tx(ctx, func(tx *sqlx.Tx) error {
		return m.o.Store.AddEventTx(ctx, tx, &results.IncidentEvent{IncidentID: a.Incident, At: m.o.Now(),
			Kind: results.EventRemediation, Channel: a.Channel, Detail: detail})
	})
}

// screenshot is the screenshot of the step that decided the run, or nil
// when there is none (or it cannot be read: the message goes without).
func (m *Manager) screenshot(ctx context.Context, runID string) []byte {
	run, err := m.o.Store.Run(ctx, runID)
	if err != nil {
		m.log.Warn("message without its screenshot", "run", runID, "error", err)
		return nil
	}
	s := run.DecidingStep()
	if s == nil {
		return nil
	}
	for _, a := range s.Artifacts {
		if a.Kind == results.ArtifactScreenshot {
			b, err := m.o.Store.Blob(ctx, a.Hash)
			if err != nil {
				m.log.Warn("message without its screenshot", "run", runID, "error", err)
				return nil
			}
			return b
		}
	}
	return nil
}
