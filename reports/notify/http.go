package notify

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"
)

// userAgent names Waymark to the receivers of its HTTP calls.
const userAgent = "Waymark"

// httpSender makes one channel's HTTP calls through its own resty client
// (the project's HTTP-out library) and connection pool, so a channel that
// hangs holds no connection another channel needs. It does not retry and
// does not follow redirects: retrying is the caller's, and a redirect is
// reported for the URL to be fixed.
type httpSender struct {
	url     string
	what    string // "POST https://host", for errors: never the URL's path or query
	method  string
	timeout time.Duration
	client  *resty.Client
	now     func() time.Time
}

// newHTTPSender is a sender of method calls to rawURL, each cut at timeout.
// rawURL must have been checked (checkURL).
func newHTTPSender(method, rawURL string, timeout time.Duration) *httpSender {
	// The settings of http.DefaultTransport, in a transport of the
	// channel's own; proxies come from HTTPS_PROXY and NO_PROXY as usual.
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	client := resty.NewWithClient(&http.Client{Transport: transport}).
		SetRetryCount(0).
		SetLogger(quietLogger{}).
		SetAllowGetMethodPayload(true).
		SetRedirectPolicy(resty.RedirectPolicyFunc(func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		})).
		SetHeader("User-Agent", userAgent)
	return &httpSender{url: rawURL, what: method + " " + redact(rawURL), method: method,
		timeout: timeout, client: client, now: time.Now}
}

// send makes one call with the body and headers given, and reads at most
// maxRead bytes of the answer, all within the sender's timeout. It returns
// the answer whatever its status; an error, always a *DeliveryError, only
// when there is no complete answer.
func (s *httpSender) send(caller context.Context, headers http.Header, body []byte) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(caller, s.timeout)
	defer cancel()
	req := s.client.R().SetContext(ctx).SetDoNotParseResponse(true)
	for name, values := range headers {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	if body != nil {
		req.SetBody(body)
	}
	resp, err := req.Execute(s.method, s.url)
	if err != nil {
		if resp != nil && resp.RawBody() != nil {
			resp.RawBody().Close()
		}
		return nil, nil, attemptError(caller, ctx, s.what, s.timeout, err)
	}
	raw := resp.RawResponse
	defer raw.Body.Close()
	data, err := io.ReadAll(io.LimitReader(raw.Body, maxRead))
	if err != nil {
		de := attemptError(caller, ctx, "read the answer to "+s.what, s.timeout, err)
		de.Status, de.Body = raw.StatusCode, snippet(data)
		return nil, nil, de
	}
	return raw, data, nil
}

// quietLogger keeps resty from writing to stderr: every failure comes back
// to the caller as an error, which says it better.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
