package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// forecastEvent is the example: the payment step of the guest
// checkout at 1.9 s, 60 ms slower every day, crossing its 3 s warn
// threshold in about 18 days.
func forecastEvent() Event {
	t := at()
	return Event{
		ID: "forecast-guest-checkout-7-1772445727000", Kind: KindForecast, At: t,
		Journey: Journey{Name: "guest-checkout", Title: "Guest checkout", Customer: "acme", Owner: "web-team",
			Tags: []string{"shop", "checkout"}},
		Forecast: &Forecast{Step: 7, StepName: "Pay", P95: 1900 * time.Millisecond, Slope: 60 * time.Millisecond,
			Warn: 3 * time.Second, CrossesAt: t.Add(18*24*time.Hour + 7*time.Hour), Days: 14},
		Links: Links{Journey: "https://waymark.example.com/journeys/guest-checkout"},
	}
}

// forecastSummary is what every channel says of forecastEvent.
const forecastSummary = "Pay on guest-checkout: p95 1.9 s, +60 ms a day; crosses its 3 s warn threshold in about 18 days"

// TestForecastText says forecasts in the words, durations in ms
// under a second and in seconds to one decimal above, days rounded.
func TestForecastText(t *testing.T) {
	e := forecastEvent()
	if got := e.Summary(); got != forecastSummary {
		t.Errorf("Summary = %q, want %q", got, forecastSummary)
	}
	if got, want := e.Subject(), "[info] "+forecastSummary; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		p95, slope, warn time.Duration
		in               time.Duration
		name             string
		want             string
	}{
		{850 * time.Millisecond, 12 * time.Millisecond, time.Second, 30 * time.Hour, "Home",
			"Home on guest-checkout: p95 850 ms, +12 ms a day; crosses its 1 s warn threshold in about 1 day"},
		{2450 * time.Millisecond, 1250 * time.Millisecond, 12500 * time.Millisecond, 5 * time.Hour, "",
			"step 7 on guest-checkout: p95 2.5 s, +1.3 s a day; crosses its 12.5 s warn threshold within a day"},
		{2 * time.Second, 100 * time.Millisecond, 2600 * time.Millisecond, 6*24*time.Hour - time.Hour, "Pay\n<b>now</b>\x1b[2J",
			"Pay <b>now</b> [2J on guest-checkout: p95 2 s, +100 ms a day; crosses its 2.6 s warn threshold in about 6 days"},
	} {
		e := forecastEvent()
		e.Forecast.StepName, e.Forecast.P95, e.Forecast.Slope, e.Forecast.Warn = tc.name, tc.p95, tc.slope, tc.warn
		e.Forecast.CrossesAt = e.At.Add(tc.in)
		if got := e.Summary(); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
	// A forecast without its forecast, or an incident event without a
	// reference, is refused by every channel before anything is sent.
	empty := forecastEvent()
	empty.Forecast = nil
	if err := empty.validate(); err == nil {
		t.Error("a forecast event without its forecast validates")
	}
	if err := e.validate(); err != nil {
		t.Errorf("the forecast event does not validate: %v", err)
	}
}

// TestForecastChannels sends the forecast through every channel: the
// webhook and Slack bodies and the mail against their golden files, the
// terminal line; PagerDuty and action channels skip it and send nothing.
func TestForecastChannels(t *testing.T) {
	ctx := context.Background()
	t.Run("webhook", func(t *testing.T) {
		rc := newReceiver(t, nil)
		ch, err := NewWebhook(WebhookSettings{URL: rc.URL + "/hooks/waymark", Secret: "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Deliver(ctx, forecastEvent()); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		req := rc.only(t)
		if got := req.Header.Get(HeaderEvent); got != "forecast" {
			t.Errorf("%s = %q, want forecast", HeaderEvent, got)
		}
		if err := Verify("s3cret", req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), req.Body, time.Now(), time.Minute); err != nil {
			t.Errorf("Verify: %v", err)
		}
		var p Payload
		if err := json.Unmarshal(req.Body, &p); err != nil {
			t.Fatal(err)
		}
		f := p.Forecast
		if p.Event != KindForecast || p.Summary != forecastSummary || f == nil || f.Severity != results.SeverityInfo ||
			f.DaysToWarn != 18 || f.P95MS != 1900 || f.SlopeMSPerDay != 60 || f.WarnMS != 3000 || f.Step.Name != "Pay" {
			t.Errorf("payload = %+v, forecast %+v", p, f)
		}
		if bytes.Contains(req.Body, []byte(`"incident"`)) {
			t.Errorf("a forecast's body has an incident: %s", req.Body)
		}
		goldenJSON(t, "webhook_forecast.json", req.Body)
	})
	t.Run("slack", func(t *testing.T) {
		rc := newReceiver(t, nil)
		ch, err := NewSlack(SlackSettings{URL: rc.URL + secretPath})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Deliver(ctx, forecastEvent()); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		req := rc.only(t)
		var m SlackMessage
		if err := json.Unmarshal(req.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Text != "[info] "+forecastSummary || m.Blocks[0].Text.Text != "📈 Forecast · Guest checkout" {
			t.Errorf("text %q, header %q", m.Text, m.Blocks[0].Text.Text)
		}
		goldenJSON(t, "slack_forecast.json", req.Body)
	})
	t.Run("email", func(t *testing.T) {
		b := &smtpBackend{}
		ch, err := NewEmail(EmailSettings{Server: startSMTP(t, b, nil, false), TLS: EmailNoTLS,
			From: "Waymark <waymark@example.com>", To: []string{"ops@example.com"}, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		e := forecastEvent()
		if _, err := ch.Deliver(ctx, e); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		msgs := b.messages()
		if len(msgs) != 1 {
			t.Fatalf("the server got %d messages, want 1", len(msgs))
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || subject != "[info] "+forecastSummary {
			t.Errorf("Subject = %q (%v)", subject, err)
		}
		for name, want := range map[string]string{"X-Waymark-Event": "forecast", "X-Waymark-Incident": "", "References": ""} {
			if got := msg.Header.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		golden(t, "email_forecast.txt", []byte(EmailText(&e)))
		html, err := EmailHTML(&e, false)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "email_forecast.html", []byte(html))
	})
	t.Run("terminal", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := NewTerminal(&out).Deliver(ctx, forecastEvent()); err != nil {
			t.Fatal(err)
		}
		want := "10:02:07 forecast [info] " + forecastSummary + " · https://waymark.example.com/journeys/guest-checkout\n"
		if out.String() != want {
			t.Errorf("line %q, want %q", out.String(), want)
		}
	})
	t.Run("pagerduty and action skip it", func(t *testing.T) {
		rc := newReceiver(t, nil)
		pd, err := NewPagerDuty(PagerDutySettings{RoutingKey: "R0UTINGKEY", URL: rc.URL})
		if err != nil {
			t.Fatal(err)
		}
		action, err := NewAction(ActionSettings{URL: rc.URL + "/restart"})
		if err != nil {
			t.Fatal(err)
		}
		for name, ch := range map[string]Channel{"pagerduty": pd, "action": action} {
			rcpt, err := ch.Deliver(ctx, forecastEvent())
			if err != nil || !rcpt.Skipped {
				t.Errorf("%s: Deliver = %+v, %v; want skipped", name, rcpt, err)
			}
		}
		if n := len(rc.requests()); n != 0 {
			t.Errorf("the receiver got %d requests for a forecast", n)
		}
		empty := forecastEvent()
		empty.Forecast = nil
		_, err = pd.Deliver(ctx, empty)
		var de *DeliveryError
		if !errors.As(err, &de) || de.Temporary || !strings.Contains(err.Error(), "without its forecast") {
			t.Errorf("a forecast without its forecast = %v, want a final error", err)
		}
	})
}
