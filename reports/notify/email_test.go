package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpMessage is a message the test SMTP server accepted.
type smtpMessage struct {
	From string
	To   []string
	Data []byte
	User string // who logged in; "" without login
	TLS  bool   // the message came over TLS (STARTTLS or implicit)
}

// smtpBackend is a real SMTP server's backend (emersion/go-smtp) that
// keeps what it receives. users, when set, are the logins it takes;
// rcptErr, when set, is its answer to every RCPT TO.
type smtpBackend struct {
	users   map[string]string
	rcptErr *smtp.SMTPError

	mu   sync.Mutex
	msgs []smtpMessage
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, conn: c}, nil
}

// messages are the messages received so far.
func (b *smtpBackend) messages() []smtpMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]smtpMessage(nil), b.msgs...)
}

// smtpSession is one SMTP connection to the test server.
type smtpSession struct {
	b    *smtpBackend
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.b.users == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if want, ok := s.b.users[user]; !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.users != nil && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.rcptErr != nil {
		return s.b.rcptErr
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, tls := s.conn.TLSConnectionState()
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, smtpMessage{From: s.from, To: s.to, Data: data, User: s.user, TLS: tls})
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN, which go-sasl does not
// provide: a username, then a password, each after a prompt.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // the username came with AUTH LOGIN
			l.user, l.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(response))
}

// selfSigned is a self-signed certificate for 127.0.0.1 and localhost,
// and its PEM written to a file a channel's CAFile can name.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "waymark test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// startSMTP runs a real SMTP server for the test on 127.0.0.1: plain
// (offering STARTTLS when cert is given) or, with implicit, TLS from the
// first byte. It returns the server's host:port.
func startSMTP(t *testing.T, b *smtpBackend, cert *tls.Certificate, implicit bool) string {
	t.Helper()
	s := smtp.NewServer(b)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.AllowInsecureAuth = cert == nil
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		if implicit {
			l = tls.NewListener(l, cfg)
		} else {
			s.TLSConfig = cfg
		}
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

// mimePart is a leaf of a parsed message.
type mimePart struct {
	Type, Parent, ContentID, Disposition string
	Body                                 []byte
}

// parseMIME walks a message's MIME tree and returns its leaves, decoded.
func parseMIME(t *testing.T, header netmail.Header, body io.Reader) []mimePart {
	t.Helper()
	var walk func(ct, parent, cte, cid, disp string, r io.Reader) []mimePart
	walk = func(ct, parent, cte, cid, disp string, r io.Reader) []mimePart {
		media, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		if strings.HasPrefix(media, "multipart/") {
			var out []mimePart
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return out
				}
				if err != nil {
					t.Fatalf("%s: %v", media, err)
				}
				out = append(out, walk(p.Header.Get("Content-Type"), media, p.Header.Get("Content-Transfer-Encoding"),
					p.Header.Get("Content-Id"), p.Header.Get("Content-Disposition"), p)...)
			}
		}
		if strings.EqualFold(cte, "base64") {
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read %s part: %v", media, err)
		}
		return []mimePart{{Type: media, Parent: parent, ContentID: cid, Disposition: disp, Body: data}}
	}
	return walk(header.Get("Content-Type"), "", header.Get("Content-Transfer-Encoding"), "", "", body)
}

// TestEmailDelivered sends an incident's mail to a real SMTP server in
// each TLS and login mode, and checks what arrived: headers, the plain
// text and HTML parts against the golden files, and the screenshot inline.
func TestEmailDelivered(t *testing.T) {
	cert, caFile := selfSigned(t)
	users := map[string]string{"waymark": "pa55word"}
	shot := jpegBytes(t)
	cases := []struct {
		name     string
		cert     *tls.Certificate
		implicit bool
		users    map[string]string
		settings EmailSettings
		user     string
		tls      bool
	}{
		{"no TLS, no login (a local relay)", nil, false, nil, EmailSettings{TLS: EmailNoTLS}, "", false},
		{"STARTTLS with a self-signed certificate, PLAIN", &cert, false, users,
			EmailSettings{CAFile: caFile, Username: "waymark", Password: "pa55word"}, "waymark", true},
		{"STARTTLS, LOGIN", &cert, false, users,
			EmailSettings{TLS: EmailSTARTTLS, Auth: EmailAuthLogin, CAFile: caFile, Username: "waymark", Password: "pa55word"}, "waymark", true},
		{"implicit TLS, PLAIN", &cert, true, users,
			EmailSettings{TLS: EmailTLS, Auth: EmailAuthPlain, CAFile: caFile, Username: "waymark", Password: "pa55word"}, "waymark", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &smtpBackend{users: tc.users}
			s := tc.settings
			s.Server = startSMTP(t, b, tc.cert, tc.implicit)
			s.From = "Waymark <waymark@example.com>"
			s.To = []string{"ops@example.com", "web-team@example.com"}
			s.Timeout = 5 * time.Second
			ch, err := NewEmail(s)
			if err != nil {
				t.Fatal(err)
			}
			e := openedEvent()
			e.Screenshot = shot
			rcpt, err := ch.Deliver(context.Background(), e)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if rcpt.Status != 250 || rcpt.Body == "" {
				t.Errorf("receipt = %+v, want 250 and the server's answer", rcpt)
			}
			msgs := b.messages()
			if len(msgs) != 1 {
				t.Fatalf("the server got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.From != "waymark@example.com" || strings.Join(m.To, ",") != "ops@example.com,web-team@example.com" {
				t.Errorf("envelope from %q to %q", m.From, m.To)
			}
			if m.User != tc.user || m.TLS != tc.tls {
				t.Errorf("logged in as %q over TLS %v, want %q and %v", m.User, m.TLS, tc.user, tc.tls)
			}
			checkMail(t, m.Data, &e, shot)
		})
	}
}

// checkMail checks a received message for e with its inline screenshot.
func checkMail(t *testing.T, data []byte, e *Event, shot []byte) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the message does not parse: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != e.Subject() {
		t.Errorf("Subject = %q (%v), want %q", subject, err, e.Subject())
	}
	headers := map[string]string{
		"X-Waymark-Incident": "WM-12",
		"X-Waymark-Event":    "opened",
		"Auto-Submitted":     "auto-generated",
		"Message-Id":         "<waymark.evt-0193a1b2@example.com>",
		"References":         "<incident.WM-12.1772445727@example.com>",
	}
	for name, want := range headers {
		if got := msg.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	parts := parseMIME(t, msg.Header, msg.Body)
	byType := map[string]mimePart{}
	for _, p := range parts {
		byType[p.Type] = p
	}
	text, html, img := byType["text/plain"], byType["text/html"], byType["image/jpeg"]
	if text.Parent != "multipart/alternative" || html.Parent != "multipart/alternative" {
		t.Errorf("text in %q and HTML in %q, want both alternatives of one multipart/alternative", text.Parent, html.Parent)
	}
	golden(t, "email_opened.txt", []byte(crlf(string(text.Body))))
	golden(t, "email_opened.html", []byte(crlf(string(html.Body))))
	if !bytes.Equal(img.Body, shot) {
		t.Errorf("the inline image is %d bytes, want the screenshot's %d", len(img.Body), len(shot))
	}
	if img.ContentID != "<"+screenshotCID+">" || !strings.HasPrefix(img.Disposition, "inline") {
		t.Errorf("image Content-ID %q, disposition %q, want <%s> inline", img.ContentID, img.Disposition, screenshotCID)
	}
	if !bytes.Contains(html.Body, []byte(`src="cid:`+screenshotCID+`"`)) {
		t.Errorf("the HTML does not show the inline screenshot")
	}
}

// TestEmailBodies checks the text and HTML of other events against their
// golden files, and that page text cannot inject HTML.
func TestEmailBodies(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Event
	}{
		{"acknowledged", acknowledgedEvent()},
		{"resolved", resolvedEvent()},
		{"monitor_down", monitorDownEvent()},
		{"hostile", hostileEvent()},
	} {
		golden(t, "email_"+tc.name+".txt", []byte(EmailText(&tc.e)))
		html, err := EmailHTML(&tc.e, false)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "email_"+tc.name+".html", []byte(html))
		if strings.Contains(html, "cid:") {
			t.Errorf("%s: the HTML refers to an inline image that is not attached", tc.name)
		}
	}
	e := hostileEvent()
	html, err := EmailHTML(&e, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>now", "\x1b", "\u202e"} {
		if strings.Contains(html, bad) {
			t.Errorf("the HTML holds %q from the page unescaped", bad)
		}
	}
	if text := EmailText(&e); strings.ContainsAny(text, "\x1b\x07\u202e\r") {
		t.Errorf("the text part holds control characters from the page:\n%q", text)
	}
}

// hangingSMTP accepts connections and never says a word, as a server
// behind a dead firewall rule does.
func hangingSMTP(t *testing.T, greet string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if greet != "" {
				io.WriteString(c, greet)
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestEmailFailures checks that every way a delivery by SMTP fails says
// whether to retry.
func TestEmailFailures(t *testing.T) {
	cert, caFile := selfSigned(t)
	const timeout = 300 * time.Millisecond
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	cases := []struct {
		name      string
		server    func(t *testing.T) string
		settings  EmailSettings
		temporary bool
		status    int
		says      string
	}{
		{"unknown recipient (550) is final", func(t *testing.T) string {
			return startSMTP(t, &smtpBackend{rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}}, nil, false)
		}, EmailSettings{TLS: EmailNoTLS}, false, 550, "No such user"},
		{"greylisted (451) is temporary", func(t *testing.T) string {
			return startSMTP(t, &smtpBackend{rcptErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again"}}, nil, false)
		}, EmailSettings{TLS: EmailNoTLS}, true, 451, "Greylisted"},
		{"a wrong password is final", func(t *testing.T) string {
			return startSMTP(t, &smtpBackend{users: map[string]string{"waymark": "right"}}, &cert, false)
		}, EmailSettings{CAFile: caFile, Username: "waymark", Password: "wrong"}, false, 535, "Authentication failed"},
		{"an untrusted certificate is final", func(t *testing.T) string {
			return startSMTP(t, &smtpBackend{}, &cert, false)
		}, EmailSettings{}, false, 0, "certificate"},
		{"no STARTTLS offered is final", func(t *testing.T) string {
			return startSMTP(t, &smtpBackend{}, nil, false)
		}, EmailSettings{TLS: EmailSTARTTLS}, false, 0, "STARTTLS"},
		{"a server that never greets is cut at the timeout", func(t *testing.T) string {
			return hangingSMTP(t, "")
		}, EmailSettings{TLS: EmailNoTLS}, true, 0, "no answer within 300ms"},
		{"a dropped connection is temporary", func(t *testing.T) string {
			return hangingSMTP(t, "220 localhost ESMTP\r\n")
		}, EmailSettings{TLS: EmailNoTLS}, true, 0, ""},
		{"a refused connection is temporary", refused, EmailSettings{TLS: EmailNoTLS}, true, 0, "refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings
			s.Server, s.From, s.To, s.Timeout = tc.server(t), "waymark@example.com", []string{"ops@example.com"}, timeout
			ch, err := NewEmail(s)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = ch.Deliver(context.Background(), openedEvent())
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Deliver took %s", d)
			}
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Deliver = %v (%T), want a *DeliveryError", err, err)
			}
			if de.Temporary != tc.temporary || de.Status != tc.status || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Deliver = %v (temporary %v, status %d), want temporary %v, status %d, saying %q",
					err, de.Temporary, de.Status, tc.temporary, tc.status, tc.says)
			}
			if strings.Contains(err.Error(), "wrong") && tc.settings.Password == "wrong" {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestNewEmailSettings(t *testing.T) {
	good := EmailSettings{Server: "smtp.example.com:587", From: "waymark@example.com", To: []string{"ops@example.com"}}
	with := func(f func(*EmailSettings)) EmailSettings {
		s := good
		f(&s)
		return s
	}
	cases := []struct {
		name string
		s    EmailSettings
		want string
	}{
		{"good", good, ""},
		{"no port", with(func(s *EmailSettings) { s.Server = "smtp.example.com" }), "host:port"},
		{"port 0", with(func(s *EmailSettings) { s.Server = "smtp.example.com:0" }), "port from 1 to 65535"},
		{"bad from", with(func(s *EmailSettings) { s.From = "waymark" }), "email from"},
		{"no recipient", with(func(s *EmailSettings) { s.To = nil }), "at least one recipient"},
		{"bad recipient", with(func(s *EmailSettings) { s.To = []string{"ops@example.com", "ops"} }), `got "ops"`},
		{"bad TLS mode", with(func(s *EmailSettings) { s.TLS = "ssl" }), "starttls, tls or none"},
		{"bad auth", with(func(s *EmailSettings) { s.Auth = "cram-md5"; s.Username = "u" }), "plain or login"},
		{"auth without a user", with(func(s *EmailSettings) { s.Auth = "login" }), "needs a username"},
		{"missing CA file", with(func(s *EmailSettings) { s.CAFile = "/nonexistent/ca.pem" }), "ca_file"},
	}
	for _, tc := range cases {
		_, err := NewEmail(tc.s)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: NewEmail = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	for port, want := range map[string]string{"465": EmailTLS, "587": EmailSTARTTLS, "25": EmailSTARTTLS} {
		m, err := NewEmail(with(func(s *EmailSettings) { s.Server = "smtp.example.com:" + port }))
		if err != nil {
			t.Fatal(err)
		}
		if m.mode != want {
			t.Errorf("port %s: TLS mode %q, want %q", port, m.mode, want)
		}
	}
}
