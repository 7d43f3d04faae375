package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Channel delivers events to one destination: a webhook, a Slack channel,
// a mailbox, PagerDuty, a remediation endpoint or a terminal. Deliver makes
// one attempt, bounded by ctx and by the channel's own per-attempt timeout;
// retrying is the caller's (a River job), guided by the *DeliveryError it
// returns. A Channel is safe for concurrent use.
type Channel interface {
	Deliver(ctx context.Context, e Event) (Receipt, error)
}

// Receipt is what the destination answered to a delivered event, for the
// incident's timeline.
type Receipt struct {
	// Status is the HTTP status, or the SMTP reply code; 0 for channels
	// without one (the terminal).
	Status int
	// Body is the first KB of the answer (MaxAnswer bytes) as safe text:
	// invalid UTF-8 and NUL bytes are written \xNN.
	Body string
	// TicketID is the service-desk ticket a webhook answered with
	// (`{"ticket_id": "…"}`), for the caller to keep on the incident and
	// send with its later events; empty otherwise.
	TicketID string
	// Skipped says that the channel had nothing to send for this kind of
	// event (PagerDuty has no notes): nothing went out, and nothing failed.
	Skipped bool
}

// MaxAnswer is how much of an answer a Receipt or a DeliveryError keeps:
// enough to see what a server said, small enough for a timeline row.
const MaxAnswer = 1 << 10

// maxRead is how much of an answer a channel reads at most, to find a
// ticket id or PagerDuty's status in it; the rest is not read.
const maxRead = 64 << 10

// MaxRetryAfter caps the wait a server may ask for with Retry-After: a
// server that says "come back next year" is not believed.
const MaxRetryAfter = time.Hour

// DefaultTimeout is a channel's per-attempt timeout when its settings give
// none.
const DefaultTimeout = 10 * time.Second

// DeliveryError is why an attempt to deliver failed, and what the caller
// should do about it: retry later (Temporary, after RetryAfter when the
// server said so) or record the delivery as finally failed. Every error
// Deliver returns is a *DeliveryError; use errors.As.
type DeliveryError struct {
	// Temporary says that the same event may go through later: a timeout,
	// a refused or reset connection, a 5xx, a 429, an SMTP 4xx. A false
	// Temporary (a 4xx, a bad address, a rejected login, a body the
	// channel cannot build) will fail the same way however often it is
	// retried: the caller records it as final.
	Temporary bool
	// RetryAfter is how long the server asked the caller to wait (the
	// Retry-After of a 429 or 503, in seconds or as an HTTP date), capped
	// at MaxRetryAfter; 0 when it did not say.
	RetryAfter time.Duration
	// Status is the HTTP status or SMTP reply code; 0 when there was no
	// answer.
	Status int
	// Body is the first bytes of the answer, as Receipt.Body has them.
	Body string
	// Err is what went wrong, with what was being done. It never holds a
	// channel's URL path or query (a Slack webhook URL is itself a
	// secret), only its scheme and host.
	Err error
}

// Error says what failed, the status and the first bytes of the answer.
func (e *DeliveryError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("delivery failed")
	}
	if e.Temporary {
		b.WriteString(" (temporary")
		if e.RetryAfter > 0 {
			b.WriteString(", retry after " + e.RetryAfter.String())
		}
		b.WriteString(")")
	}
	if e.Body != "" {
		b.WriteString(": answer: ")
		b.WriteString(flat(e.Body))
	}
	return b.String()
}

// flat keeps an error message to one line: an answer's line breaks
// are written \n.
func flat(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// Unwrap gives the cause to errors.Is and errors.As.
func (e *DeliveryError) Unwrap() error { return e.Err }

// marshal is v as compact JSON, without Go's escaping of &, < and > as
// \u0026…: bodies read as they are, and a receiver that puts them in a
// page escapes them for that page.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// permanent is a DeliveryError that no retry will fix.
func permanent(err error) *DeliveryError {
	return &DeliveryError{Err: err}
}

// snippet is the first MaxAnswer bytes of an answer as safe text: cut at a
// character boundary, with invalid UTF-8 and NUL bytes written \xNN, so it
// fits a database text column (PostgreSQL refuses both) and a terminal
// escaper sees only characters.
func snippet(b []byte) string {
	if len(b) > MaxAnswer {
		cut := MaxAnswer
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	var out strings.Builder
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || r == 0 {
			fmt.Fprintf(&out, `\x%02x`, b[i])
		} else {
			out.Write(b[i : i+n])
		}
		i += n
	}
	return out.String()
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date,
// relative to now; 0 when absent, unreadable or in the past; at most
// MaxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// statusError is the DeliveryError for an HTTP answer that is not a
// success: 408, 425, 429 and 5xx are temporary (Retry-After read on 429
// and 503), a redirect and any other 4xx are not.
func statusError(what string, resp *http.Response, body []byte, now time.Time) *DeliveryError {
	code := resp.StatusCode
	de := &DeliveryError{Status: code, Body: snippet(body)}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly,
		code == http.StatusTooManyRequests, code >= 500:
		de.Temporary = true
	}
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		de.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	}
	status := strings.TrimSpace(strconv.Itoa(code) + " " + http.StatusText(code))
	if code >= 300 && code < 400 {
		// Redirects are not followed: a POST would lose its body, or go
		// somewhere nobody configured. The URL should be updated instead.
		loc := ""
		if u, err := url.Parse(resp.Header.Get("Location")); err == nil && u.Host != "" {
			loc = " to " + u.Scheme + "://" + u.Host
		}
		de.Err = fmt.Errorf("%s: answered %s, a redirect%s (not followed: set the channel's url to where it points)", what, status, loc)
		return de
	}
	de.Err = fmt.Errorf("%s: answered %s", what, status)
	return de
}

// attemptError is the DeliveryError for an attempt that got no answer:
// when the caller's context ended (serve shutting down, the job's own
// deadline), it says so; otherwise it is transportError's. attempt is
// caller's context with the channel's timeout.
func attemptError(caller, attempt context.Context, what string, timeout time.Duration, err error) *DeliveryError {
	if cerr := caller.Err(); cerr != nil {
		return &DeliveryError{Temporary: true, Err: fmt.Errorf("%s: stopped by the caller: %w", what, context.Cause(caller))}
	}
	return transportError(attempt, what, timeout, err)
}

// stripURL is err without a url.Error's method and URL, which may hold a
// token: only why the call failed.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// transportError is the DeliveryError for an attempt that got no answer.
// Timeouts, refused, reset or dropped connections and failed name
// lookups are temporary; a certificate that does not verify, a server
// that does not speak TLS, or a malformed URL are not, as retrying cannot
// fix them. ctx is the attempt's context: when it expired, the attempt
// was cut at its timeout.
func transportError(ctx context.Context, what string, timeout time.Duration, err error) *DeliveryError {
	err = stripURL(err)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return &DeliveryError{Temporary: true, Err: fmt.Errorf("%s: no answer within %s: %w", what, timeout, err)}
	case errors.Is(err, context.Canceled):
		return &DeliveryError{Temporary: true, Err: fmt.Errorf("%s: cancelled: %w", what, err)}
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		verify     *tls.CertificateVerificationError
		recordHdr  tls.RecordHeaderError
		netErr     net.Error
		opErr      *net.OpError
		dnsErr     *net.DNSError
		certIssues = errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
	)
	switch {
	case certIssues:
		return permanent(fmt.Errorf("%s: TLS certificate not trusted: %w", what, err))
	case errors.As(err, &recordHdr):
		return permanent(fmt.Errorf("%s: the server does not speak TLS: %w", what, err))
	case errors.As(err, &netErr) && netErr.Timeout():
		return &DeliveryError{Temporary: true, Err: fmt.Errorf("%s: no answer within %s: %w", what, timeout, err)}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &dnsErr), errors.As(err, &opErr):
		return &DeliveryError{Temporary: true, Err: fmt.Errorf("%s: %w", what, err)}
	}
	// Anything else on the way (a proxy, a dropped connection reported
	// in words) is most likely the network: worth another try.
	return &DeliveryError{Temporary: true, Err: fmt.Errorf("%s: %w", what, err)}
}

// redact is a URL as errors may show it: its scheme and host, never its
// path or query, which may hold a token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// checkURL checks a channel's URL when it is built: absolute http(s) with
// a host. The message never repeats the URL, which may hold a token.
func checkURL(setting, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s: missing: want an absolute http(s) URL", setting)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: want an absolute http(s) URL like https://example.com/hook", setting)
	}
	return nil
}

// timeoutOr is a settings timeout, DefaultTimeout when zero.
func timeoutOr(d time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("timeout: want a positive duration, got %s", d)
	case d == 0:
		return DefaultTimeout, nil
	}
	return d, nil
}
