// Package notify tells people about incidents, and warns them before one
// (a forecast). One Event (what happened to which incident, of which
// journey, because of which run, and who acted) is rendered and delivered
// by each kind of Channel: Webhook
// (documented JSON, optionally signed), Slack (Block Kit over an incoming
// webhook), Email (SMTP, text and HTML, the screenshot inline), PagerDuty
// (Events API v2), Action (a remediation call) and Terminal (one line per
// event, for `waymark demo` and logs).
//
// Each channel is made from a settings struct of its own (WebhookSettings,
// SlackSettings, EmailSettings, PagerDutySettings, ActionSettings); the
// caller maps waymark.yaml's `channels:` onto them, with `${env:NAME}`
// values already expanded. Outgoing HTTP goes through resty, one client
// and connection pool per channel, without retries and without following
// redirects; email through go-mail.
//
// # Delivering and retrying
//
// Deliver makes one attempt, cut at the channel's Timeout (DefaultTimeout
// when unset) or when ctx ends. Retrying belongs to the caller, a River
// job, which records the outcome on the incident's timeline:
//
//	rcpt, err := ch.Deliver(ctx, e)
//	var de *notify.DeliveryError
//	switch {
//	case err == nil:
//		// delivered (or rcpt.Skipped): keep rcpt.Status and rcpt.Body;
//		// store rcpt.TicketID on the incident when it is set
//	case errors.As(err, &de) && de.Temporary:
//		// retry with backoff, not before de.RetryAfter
//	default:
//		// finally failed: keep err, de.Status and de.Body (first bytes)
//	}
//
// Every error Deliver returns is a *DeliveryError:
//
//	Temporary (retry)                          final (record and stop)
//	timeout, a hanging server or body          other 4xx (400, 401, 403, 404, 410…)
//	connection refused, reset, dropped; DNS    a redirect (3xx: not followed; fix the URL)
//	5xx; 408, 425, 429                         certificate not trusted; not TLS
//	Retry-After on 429 and 503 → RetryAfter    SMTP 5xx (unknown recipient, login refused)
//	SMTP 4xx (greylisting, mailbox busy)       no STARTTLS when starttls is asked for
//	the caller's ctx ending (shutdown)         an event that cannot be rendered or is never
//	PagerDuty: a 2xx that is not its success   sent (failed_again, no reference)
//
// A 2xx is a success for Webhook, Slack and Action whatever its body (JSON
// or not: Slack answers "ok"); Receipt.Body keeps its first KB. PagerDuty
// expects its own answer, see PagerDuty. Error messages show a channel's
// scheme and host only, never its path or query: a Slack webhook URL is
// itself a secret.
//
// # Secrets
//
// Message bodies never hold a secret. The runner masks secrets in a run's
// texts before anything stores them, so the Event built from a stored run
// carries none, and channels add nothing from the environment. Channel
// secrets (webhook signing secrets, SMTP passwords, tokens in headers)
// travel only in headers or the SMTP login. The one exception is
// PagerDuty's routing key, which the Events API requires in the body; it
// goes to the configured events URL only.
//
// # Webhook body
//
// A webhook POSTs Payload as JSON (Content-Type application/json, the
// event's kind in X-Waymark-Event). Example, an incident opened
// (testdata/webhook_opened.json; the other files there show acknowledged,
// resolved and monitor_down):
//
//	{
//	  "version": 1,
//	  "id": "evt-0193a1b2",
//	  "event": "opened",
//	  "at": "2026-03-02T10:02:07Z",
//	  "summary": "WM-12 opened: Guest checkout — Pay failed (http)",
//	  "incident": {
//	    "reference": "WM-12",
//	    "kind": "site",
//	    "severity": "critical",
//	    "state": "open",
//	    "opened_at": "2026-03-02T10:02:07Z",
//	    "first_failure_at": "2026-03-02T10:00:37Z",
//	    "failures": 2,
//	    "level": 1
//	  },
//	  "journey": {
//	    "name": "guest-checkout",
//	    "title": "Guest checkout",
//	    "customer": "acme",
//	    "owner": "web-team",
//	    "tags": ["shop", "checkout"],
//	    "location": "eu-west"
//	  },
//	  "run": {
//	    "id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
//	    "outcome": "failed",
//	    "cause": "http",
//	    "error": "POST https://shop.example.com/pay answered 500 Internal Server Error",
//	    "duration_ms": 12430,
//	    "threshold_ms": 20000,
//	    "step": {
//	      "number": 7,
//	      "name": "Pay",
//	      "expected": "a status below 400",
//	      "actual": "500",
//	      "url": "https://shop.example.com/checkout/pay?cart=42&step=pay"
//	    }
//	  },
//	  "links": {
//	    "incident": "https://waymark.example.com/incidents/WM-12",
//	    "run": "https://waymark.example.com/runs/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
//	    "screenshot": "https://waymark.example.com/runs/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/steps/7/screenshot"
//	  }
//	}
//
// event is opened, escalated, reminded, acknowledged, note, resolved,
// monitor_down, monitor_up or test (failed_again is never sent); or
// forecast, a warning before any incident (testdata/webhook_forecast.json):
// it has no incident object but a forecast one,
//
//	"summary": "Pay on guest-checkout: p95 1.9 s, +60 ms a day; crosses its 3 s warn threshold in about 18 days",
//	"forecast": {"severity": "info", "step": {"number": 7, "name": "Pay"}, "p95_ms": 1900,
//	  "slope_ms_per_day": 60, "warn_ms": 3000, "crosses_at": "2026-03-20T17:02:07Z",
//	  "days_to_warn": 18, "days": 14},
//	"links": {"journey": "https://waymark.example.com/journeys/guest-checkout"}
//
// and its journey's location is empty (a forecast is of every location's
// runs together). Optional
// fields are absent when unknown: id, the incident's times, ticket_id and
// level, run (events no run caused), the run's cause, error, threshold_ms
// and step, links (no server.public_url), by and note (events of a
// person). version changes only when a field changes meaning or goes away;
// new fields may appear at any time. id is the same on every retry of one
// event: deliveries are at least once, so a receiver drops duplicates by
// it.
//
// A service desk may answer a 2xx with {"ticket_id": "…"} (a string or a
// number): Receipt.TicketID. The caller keeps it on the incident and sets
// Event.Incident.TicketID on the incident's later events, so each carries
// incident.ticket_id and the desk updates one ticket.
//
// # Verifying a webhook
//
// With a secret, each request carries X-Waymark-Timestamp (Unix seconds)
// and X-Waymark-Signature: "sha256=" and the hex HMAC-SHA256, keyed with
// the secret, of the timestamp, ".", and the raw body. A receiver checks
// both with Verify, which refuses an altered request (ErrSignature) and an
// old one replayed (ErrTimestamp):
//
//	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//	if err != nil { … }
//	err = notify.Verify(secret, r.Header.Get(notify.HeaderTimestamp),
//		r.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute)
//	if err != nil {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
//
// In another language: compute HMAC-SHA256(secret, timestamp + "." + body),
// compare it in constant time with the hex after "sha256=", and refuse a
// timestamp more than a few minutes from now.
package notify
