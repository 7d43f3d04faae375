package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	"net/http"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
	mailsmtp "github.com/wneessen/go-mail/smtp"

	"github.com/waymarkhq/waymark/results"
)

// Email TLS modes, the values of EmailSettings.TLS.
const (
	// EmailSTARTTLS connects in the clear and upgrades with STARTTLS; a
	// server that does not offer it is refused, so mail never goes out
	// unencrypted by accident. The default, except on port 465.
	EmailSTARTTLS = "starttls"
	// EmailTLS speaks TLS from the start (implicit TLS, SMTPS), the
	// default on port 465.
	EmailTLS = "tls"
	// EmailNoTLS sends in the clear: for a relay on the same host or
	// network. Login is still refused over it unless the server is
	// localhost.
	EmailNoTLS = "none"
)

// Email authentication mechanisms, the values of EmailSettings.Auth.
const (
	EmailAuthPlain = "plain"
	EmailAuthLogin = "login"
)

// screenshotCID is the Content-ID of the inline screenshot.
const screenshotCID = "failure-screenshot@waymark"

// MaxInlineScreenshot is the largest screenshot attached inline to an
// email; a larger one is left out (the message links to it when there is
// a public URL), as mail servers refuse large messages.
const MaxInlineScreenshot = 5 << 20

// inline says whether e's screenshot goes inline in its email.
func inline(e *Event) bool {
	return len(e.Screenshot) > 0 && len(e.Screenshot) <= MaxInlineScreenshot
}

// EmailSettings configure an email channel.
type EmailSettings struct {
	// Server is the SMTP server as host:port.
	Server string
	// From is the sender's address ("Waymark <waymark@example.com>" or a
	// bare address).
	From string
	// To are the recipients, at least one.
	To []string
	// TLS is starttls, tls or none (EmailSTARTTLS, EmailTLS,
	// EmailNoTLS); empty is tls on port 465 and starttls otherwise.
	TLS string
	// Auth is plain or login; empty is plain when Username is set, and no
	// authentication otherwise.
	Auth string
	// Username and Password authenticate with the server.
	Username, Password string
	// CAFile names a PEM file of certificates to trust besides the
	// system's, for a server with a private CA or a self-signed
	// certificate. It is read when the channel is made.
	CAFile string
	// Timeout cuts each attempt (connection, greeting, TLS, login and
	// sending together); DefaultTimeout when zero.
	Timeout time.Duration
}

// Email sends events by SMTP (github.com/wneessen/go-mail) as a message
// with plain text and HTML alternatives, the failure screenshot inline in
// the HTML when the event carries its bytes (up to MaxInlineScreenshot), and a subject like
// "[critical] WM-12 opened: Guest checkout — Pay failed (http)". All
// messages of one incident carry the same References header, so mail
// readers thread them; the Message-ID derives from Event.ID when given, so
// a retried message is recognised as the same message. A forecast is a
// mail of its own, "[info] Pay on guest-checkout: p95 1.9 s, +60 ms a
// day; crosses its 3 s warn threshold in about 18 days", in no thread.
//
// Failures: an SMTP 5xx answer (an unknown recipient, a refused login) is
// final; a 4xx, a timeout, or a refused or dropped connection is
// Temporary; a certificate that does not verify, or a server without
// STARTTLS when starttls is asked for, is final.
type Email struct {
	host     string
	port     int
	from     string
	fromAddr *netmail.Address
	to       []string
	mode     string
	auth     mail.SMTPAuthType
	user     string
	password string
	tls      *tls.Config
	timeout  time.Duration
	now      func() time.Time
}

// NewEmail checks the settings, reads CAFile, and makes the channel.
func NewEmail(s EmailSettings) (*Email, error) {
	host, portText, err := net.SplitHostPort(s.Server)
	if err != nil || host == "" {
		return nil, fmt.Errorf("email smtp: want the server as host:port like smtp.example.com:587, got %q", s.Server)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("email smtp: want a port from 1 to 65535, got %q", portText)
	}
	from, err := netmail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("email from: want an address like waymark@example.com, got %q: %w", s.From, err)
	}
	if len(s.To) == 0 {
		return nil, errors.New("email to: want at least one recipient")
	}
	for _, to := range s.To {
		if _, err := netmail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("email to: want addresses like ops@example.com, got %q: %w", to, err)
		}
	}
	e := &Email{host: host, port: port, from: s.From, fromAddr: from, to: append([]string(nil), s.To...),
		user: s.Username, password: s.Password, now: time.Now}
	switch e.mode = strings.ToLower(s.TLS); e.mode {
	case "":
		e.mode = EmailSTARTTLS
		if port == 465 {
			e.mode = EmailTLS
		}
	case EmailSTARTTLS, EmailTLS, EmailNoTLS:
	default:
		return nil, fmt.Errorf("email tls: want starttls, tls or none, got %q", s.TLS)
	}
	switch strings.ToLower(s.Auth) {
	case "":
		e.auth = mail.SMTPAuthNoAuth
		if s.Username != "" {
			e.auth = mail.SMTPAuthPlain
		}
	case EmailAuthPlain:
		e.auth = mail.SMTPAuthPlain
	case EmailAuthLogin:
		e.auth = mail.SMTPAuthLogin
	default:
		return nil, fmt.Errorf("email auth: want plain or login, got %q", s.Auth)
	}
	if e.auth != mail.SMTPAuthNoAuth && s.Username == "" {
		return nil, fmt.Errorf("email auth %s: needs a username", strings.ToLower(string(e.auth)))
	}
	if e.timeout, err = timeoutOr(s.Timeout); err != nil {
		return nil, fmt.Errorf("email %w", err)
	}
	e.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email ca_file %s: no PEM certificate in it", s.CAFile)
		}
		e.tls.RootCAs = pool
	}
	return e, nil
}

// Deliver sends e once.
func (m *Email) Deliver(ctx context.Context, e Event) (Receipt, error) {
	if err := e.validate(); err != nil {
		return Receipt{}, permanent(fmt.Errorf("email: %w", err))
	}
	msg, err := m.message(&e)
	if err != nil {
		return Receipt{}, permanent(fmt.Errorf("email: build %s message of %s: %w", e.Kind, e.about(), err))
	}
	attempt, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	client, err := m.client(attempt)
	if err != nil {
		return Receipt{}, permanent(fmt.Errorf("email: %w", err))
	}
	what := "send mail via " + net.JoinHostPort(m.host, strconv.Itoa(m.port))
	if err := client.DialAndSendWithContext(attempt, msg); err != nil {
		return Receipt{}, smtpError(ctx, attempt, what, m.timeout, err)
	}
	return Receipt{Status: 250, Body: snippet([]byte(msg.ServerResponse()))}, nil
}

// client is a go-mail client for one attempt. Its connections are closed
// when ctx ends, so the attempt's timeout (or the caller's cancellation)
// cuts a server that stops answering mid-way, whatever go-mail's own
// per-command deadlines.
func (m *Email) client(ctx context.Context) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(m.port),
		mail.WithTimeout(m.timeout),
		mail.WithTLSConfig(m.tls),
		mail.WithDialContextFunc(func(dctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			context.AfterFunc(ctx, func() { conn.Close() })
			if m.mode != EmailTLS {
				return conn, nil
			}
			// Implicit TLS is done here, as go-mail does only without a
			// dial function; a *tls.Conn tells it the link is encrypted.
			tc := tls.Client(conn, m.tls)
			if err := tc.HandshakeContext(dctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		}),
	}
	switch m.mode {
	case EmailTLS:
		opts = append(opts, mail.WithSSL())
	case EmailSTARTTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case EmailNoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.auth != mail.SMTPAuthNoAuth {
		opts = append(opts, mail.WithSMTPAuth(m.auth), mail.WithUsername(m.user), mail.WithPassword(m.password))
	}
	c, err := mail.NewClient(m.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("set up SMTP client: %w", err)
	}
	return c, nil
}

// message builds the mail for e.
func (m *Email) message(e *Event) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(m.from); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.to...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(e.Subject())
	msg.SetDateWithValue(m.now())
	domain := m.fromAddr.Address[strings.LastIndexByte(m.fromAddr.Address, '@')+1:]
	msg.SetMessageIDWithValue(messageID(e.ID) + "@" + domain)
	if !e.Incident.OpenedAt.IsZero() {
		ref := fmt.Sprintf("<incident.%s.%d@%s>", idPart(e.Incident.Ref), e.Incident.OpenedAt.Unix(), domain)
		msg.SetGenHeader(mail.HeaderReferences, ref)
		if e.Kind != KindOpened {
			msg.SetGenHeader(mail.HeaderInReplyTo, ref)
		}
	}
	msg.SetGenHeader(mail.HeaderUserAgent, userAgent)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if e.Incident.Ref != "" {
		msg.SetGenHeader("X-Waymark-Incident", oneLine(e.Incident.Ref, 100))
	}
	msg.SetGenHeader("X-Waymark-Event", string(e.Kind))

	msg.SetBodyString(mail.TypeTextPlain, EmailText(e))
	html, err := EmailHTML(e, inline(e))
	if err != nil {
		return nil, err
	}
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	if inline(e) {
		ct := http.DetectContentType(e.Screenshot)
		name := "screenshot.jpg"
		if ct == "image/png" {
			name = "screenshot.png"
		}
		if err := msg.EmbedReader(name, bytes.NewReader(e.Screenshot),
			mail.WithFileContentID("<"+screenshotCID+">"), mail.WithFileContentType(mail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("embed screenshot: %w", err)
		}
	}
	return msg, nil
}

// messageID is the local part of a Message-ID: from the event's ID, so
// retries of one event share it, else random.
func messageID(id string) string {
	if id != "" {
		return "waymark." + idPart(id)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "waymark." + hex.EncodeToString(b)
}

// idPart keeps the characters of s a Message-ID's local part may take.
func idPart(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_+=", r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return results.Clip(b.String(), 100)
}

// EmailText is the plain text part of e's mail: the summary, the facts
// one per line (a multi-line value indented under its label), the note,
// the links. Control characters from pages are written Go-style.
func EmailText(e *Event) string {
	var b strings.Builder
	b.WriteString(e.Summary())
	b.WriteString("\n\n")
	if e.Note != "" {
		who := "Note"
		if e.By != "" {
			who += " by " + oneLine(e.By, maxSummaryPart)
		}
		b.WriteString(who + ":\n")
		for _, l := range printableLines(e.Note) {
			b.WriteString("  " + l + "\n")
		}
		b.WriteString("\n")
	}
	const width = len("Acknowledged at:")
	for _, f := range e.facts() {
		for i, l := range printableLines(f.Value) {
			label := ""
			if i == 0 {
				label = f.Label + ":"
			}
			fmt.Fprintf(&b, "%-*s %s\n", width, label, l)
		}
	}
	var links bool
	for _, l := range emailLinks(e) {
		if !links {
			b.WriteString("\n")
			links = true
		}
		fmt.Fprintf(&b, "%-*s %s\n", width, l.Label+":", printable(l.URL))
	}
	b.WriteString("\n-- \n" + footer(e) + "\n")
	return b.String()
}

// footer is the mail's last line: what it was sent for.
func footer(e *Event) string {
	if e.Kind == KindForecast {
		return "Sent by Waymark: a forecast, not an incident; nothing has failed yet."
	}
	return "Sent by Waymark for incident " + oneLine(e.Incident.Ref, 100) + "."
}

// emailTemplate is the HTML part's template; html/template escapes every
// value for where it goes.
//
//go:embed templates/email.html.tmpl
var emailTemplate string

// link is a labelled URL of a message.
type link struct{ Label, URL string }

// emailLinks are the event's dashboard links, labelled.
func emailLinks(e *Event) []link {
	var ls []link
	for _, l := range []link{{"Run", e.Links.Run}, {"Screenshot", e.Links.Screenshot}, {"Incident", e.Links.Incident}, {"Journey", e.Links.Journey}} {
		if l.URL != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// EmailHTML is the HTML part of e's mail; withImage says the screenshot
// is attached inline (cid:) and shown in the body.
func EmailHTML(e *Event, withImage bool) (string, error) {
	t, err := htmltemplate.New("email").Parse(emailTemplate)
	if err != nil {
		return "", fmt.Errorf("parse email template: %w", err)
	}
	facts := e.facts()
	for i := range facts {
		facts[i].Value = printable(facts[i].Value)
	}
	data := struct {
		Subject, Summary, Badge, Color, Footer, Note string
		Facts                                        []fact
		Links                                        []link
		ScreenshotCID, ScreenshotAlt                 string
	}{
		Subject: e.Subject(), Summary: e.Summary(), Footer: footer(e),
		Note: printable(e.Note), Facts: facts, Links: emailLinks(e),
	}
	data.Badge, data.Color = badge(e)
	if withImage {
		data.ScreenshotCID = screenshotCID
		data.ScreenshotAlt = "Screenshot of the failing page"
		if r := e.Run; r != nil && r.Step.Number > 0 {
			data.ScreenshotAlt = fmt.Sprintf("Screenshot of step %d %s", r.Step.Number, oneLine(r.Step.Name, maxSummaryPart))
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render email HTML: %w", err)
	}
	return b.String(), nil
}

// badge is the HTML heading's label and colour for e.
func badge(e *Event) (label, color string) {
	switch {
	case e.Kind == KindResolved || e.Kind == KindMonitorUp:
		return "RESOLVED", "#1a7f37"
	case e.Kind == KindTest:
		return "TEST", "#0969da"
	case e.Kind == KindForecast:
		return "FORECAST", "#0969da"
	case e.Incident.Severity == results.SeverityCritical:
		return "CRITICAL", "#d1242f"
	case e.Incident.Severity == results.SeverityWarning:
		return "WARNING", "#9a6700"
	}
	return strings.ToUpper(oneLine(string(e.Kind), 20)), "#59636e"
}

// printable is s with control characters written Go-style, line breaks
// kept.
func printable(s string) string {
	return strings.Join(printableLines(s), "\n")
}

// printableLines are the lines of s, each made printable (termEscape),
// without a trailing empty line.
func printableLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\r\n"), "\n")
	for i, l := range lines {
		lines[i] = termEscape(strings.TrimSuffix(l, "\r"), 1<<20)
	}
	return lines
}

// smtpError is the DeliveryError for a failed SMTP attempt: an SMTP 4xx
// reply is temporary and a 5xx is not; a lost connection or a timeout is
// temporary; a server that cannot offer what the settings ask for
// (STARTTLS, a login mechanism) is not.
func smtpError(caller, attempt context.Context, what string, timeout time.Duration, err error) *DeliveryError {
	if attempt.Err() != nil {
		return attemptError(caller, attempt, what, timeout, err)
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		de := &DeliveryError{Status: code, Err: fmt.Errorf("%s: %w", what, err)}
		// No reply code: the connection failed while sending.
		de.Temporary = code == 0 || (code >= 400 && code < 500)
		return de
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return &DeliveryError{Temporary: te.Code >= 400 && te.Code < 500, Status: te.Code,
			Body: snippet([]byte(te.Msg)), Err: fmt.Errorf("%s: %w", what, err)}
	}
	switch {
	case errors.Is(err, mailsmtp.ErrUnencrypted), errors.Is(err, mailsmtp.ErrWrongHostname),
		errors.Is(err, mail.ErrPlainAuthNotSupported), errors.Is(err, mail.ErrLoginAuthNotSupported),
		strings.Contains(err.Error(), "does not support"):
		return permanent(fmt.Errorf("%s: %w", what, err))
	}
	return transportError(attempt, what, timeout, err)
}
