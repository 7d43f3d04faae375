package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// Remote is a browser already running elsewhere that a Pool drives over
// its DevTools websocket instead of launching Chromium: a Chrome started
// with --remote-debugging-port, a container, one browser of a fleet.
type Remote struct {
	// URL is where the browser listens. A ws:// or wss:// URL is dialled
	// as written (ws://host:9222/devtools/browser/<id>, or whatever path a
	// fleet's proxy routes). An http:// or https:// URL (http://host:9222)
	// is resolved through its /json/version at every connection, because
	// the websocket address changes whenever the browser restarts. For
	// plain ws:// and http:// a host name is resolved to an IP address
	// first: Chrome refuses a DevTools request whose Host is a name.
	URL string
	// Header is sent with every request to the browser, the /json/version
	// lookup and the websocket handshake: the auth token of a browser
	// fleet, say. It never appears in errors or logs.
	Header http.Header
	// Slots is the most tabs this browser has open at once; 0 sets no
	// limit of its own (the runner's MaxConcurrent still bounds the runs).
	Slots int
}

// Connection limits for a remote browser.
const (
	// connectTimeout bounds finding, dialling and greeting a remote
	// browser: a host that does not answer fails the tab as a monitor
	// error rather than holding the run.
	connectTimeout = 30 * time.Second
	// dialTimeout bounds the websocket dial alone.
	dialTimeout = 10 * time.Second
	// maxVersionBody bounds the /json/version answer read.
	maxVersionBody = 1 << 20
)

// RemoteError says that a remote browser could not be reached or could
// not open a tab. It is the monitor's problem, never the site's. Its text
// names the browser by URL with any password and query (where fleets put
// tokens) left out, so it can be shown and stored.
type RemoteError struct {
	URL string // the browser's URL without secrets
	Op  string // what was being done: "connect", "open tab"…
	Err error
}

func (e *RemoteError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("remote browser %s: %s failed", e.URL, e.Op)
	}
	return fmt.Sprintf("remote browser %s: %s: %s", e.URL, e.Op, scrub(e.Err.Error()))
}

func (e *RemoteError) Unwrap() error { return e.Err }

// UnavailableError says that none of several remote browsers could give a
// tab; it holds why for each one tried.
type UnavailableError struct {
	Errs []error
}

func (e *UnavailableError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("no browser could open a tab (%d tried): %s", len(e.Errs), strings.Join(msgs, "; "))
}

func (e *UnavailableError) Unwrap() []error { return e.Errs }

// unavailable is the error of a Tab after every browser failed: the one
// error when there was one browser.
func unavailable(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &UnavailableError{Errs: errs}
}

// remoteBrowser is how a Pool reaches one Remote.
type remoteBrowser struct {
	Remote
	name   string // URL without secrets
	client *http.Client
	log    func(msg string, args ...any)
}

// remote returns the endpoint of r.
func (p *Pool) remote(r Remote) *endpoint {
	// A copy with canonical names, whatever map the caller built.
	h := http.Header{}
	for k, vs := range r.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	r.Header = h
	rb := &remoteBrowser{
		Remote: r,
		name:   redact(r.URL),
		client: &http.Client{
			// No proxy from the environment, as for the websocket, and no
			// redirect: it would carry Header to wherever it points.
			// One request per connection: none is left open to a browser
			// that may be gone by the next lookup.
			Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log: p.log.Info,
	}
	return &endpoint{
		name:  rb.name,
		slots: r.Slots,
		open:  rb.open,
		wrap: func(op string, err error) error {
			return &RemoteError{URL: rb.name, Op: op, Err: err}
		},
		resize: resizeWindow,
	}
}

// open connects to the browser through chromedp's remote allocator and
// returns the connection's root context, done when the connection drops.
func (r *remoteBrowser) open(parent context.Context) (context.Context, context.CancelFunc, string, error) {
	ctx, cancel := context.WithTimeout(parent, connectTimeout)
	defer cancel()
	wsURL, err := r.resolve(ctx)
	if err != nil {
		return nil, nil, "", r.fail(parent, ctx, "find its websocket", err)
	}
	allocCtx, allocCancel := remote.NewAllocator(context.Background(), wsURL,
		remote.NoModifyURL, remote.WithDialHTTPHeader(r.Header), remote.WithDialTimeout(dialTimeout))
	// The connection lives as long as its root context: chromedp ties it to
	// the context of the first call, so that call is on root itself, and
	// ctx bounds it from outside.
	root, rootCancel := chromedp.NewContext(allocCtx)
	release := func() { rootCancel(); allocCancel() }
	stop := context.AfterFunc(ctx, rootCancel)
	v, err := chromedp.CallBrowser(root, browser.GetVersion, cdp.Empty{})
	if !stop() && err == nil {
		err = ctx.Err() // connected as time ran out: root is cancelled
	}
	if err != nil {
		release()
		return nil, nil, "", r.fail(parent, ctx, "connect", err)
	}
	r.log("remote browser connected", "url", r.name, "version", v.Product)
	return root, release, v.Product, nil
}

// fail is the error of a connection attempt that ctx bounded: the
// parent's own error when the caller gave up, else a RemoteError that
// says when the browser did not answer in time.
func (r *remoteBrowser) fail(parent, ctx context.Context, op string, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer within %s: %w", connectTimeout, err)
	}
	return &RemoteError{URL: r.name, Op: op, Err: err}
}

// resolve returns the websocket URL to dial: a ws(s):// URL as written,
// or the browser named by an http(s):// URL's /json/version now.
func (r *remoteBrowser) resolve(ctx context.Context) (string, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Hostname() == "" {
		return "", errors.New("the URL has no host")
	}
	if u.Scheme == "ws" || u.Scheme == "http" {
		if err := forceIP(ctx, u); err != nil {
			return "", err
		}
	}
	switch u.Scheme {
	case "ws", "wss":
		return u.String(), nil
	case "http", "https":
	default:
		return "", fmt.Errorf("scheme %q: want ws, wss, http or https", u.Scheme)
	}

	q := *u
	q.Path = strings.TrimSuffix(u.Path, "/") + "/json/version"
	q.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.String(), nil)
	if err != nil {
		return "", fmt.Errorf("make the /json/version request: %w", err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /json/version: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVersionBody))
	if err != nil {
		return "", fmt.Errorf("read /json/version: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /json/version: %s", resp.Status)
	}
	var v struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("read /json/version: %w", err)
	}
	ws, err := url.Parse(v.WebSocketDebuggerURL)
	if err != nil || v.WebSocketDebuggerURL == "" {
		return "", errors.New("/json/version names no webSocketDebuggerUrl")
	}
	// The browser names itself by the Host it was asked with, which is
	// not always how this monitor reaches it (a port mapping, a proxy):
	// keep the configured address and take the browser's path from it.
	out := *u
	out.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	out.Path, out.RawPath = ws.Path, ws.RawPath
	if ws.RawQuery != "" {
		out.RawQuery = ws.RawQuery
	}
	return out.String(), nil
}

// forceIP replaces u's host name by one of its IP addresses: Chrome
// answers DevTools requests only for a Host that is an IP address or
// localhost, against DNS rebinding. Only for plain ws and http: behind
// TLS is a proxy, which needs the name.
func forceIP(ctx context.Context, u *url.URL) error {
	host := u.Hostname()
	if host == "localhost" || net.ParseIP(host) != nil {
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("look up %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("look up %s: no address", host)
	}
	ip := addrs[0].IP.String()
	if port := u.Port(); port != "" {
		u.Host = net.JoinHostPort(ip, port)
	} else if strings.Contains(ip, ":") {
		u.Host = "[" + ip + "]"
	} else {
		u.Host = ip
	}
	return nil
}

// resizeWindow gives a new remote tab the window a local one gets from
// Chromium's flags; the remote browser was launched with its own.
func resizeWindow(tab context.Context) error {
	c := chromedp.FromContext(tab)
	if c == nil || c.Target == nil {
		return errors.New("no target")
	}
	w, err := chromedp.CallBrowser(tab, browser.GetWindowForTarget, browser.GetWindowForTargetParams{TargetID: c.Target.TargetID})
	if err != nil {
		return fmt.Errorf("find the window: %w", err)
	}
	_, err = chromedp.CallBrowser(tab, browser.SetWindowBounds, browser.SetWindowBoundsParams{
		WindowID: w.WindowID,
		Bounds:   &browser.Bounds{Width: windowWidth, Height: windowHeight},
	})
	if err != nil {
		return fmt.Errorf("size the window: %w", err)
	}
	return nil
}

// redact is raw without what may be secret, for errors and logs: no user
// or password, and the query (where fleets put tokens) shown as "?…".
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	s := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	return s
}

// Secrets inside the text of an underlying error, which may quote a URL
// in full (net/http does): a query, and a user and password.
var (
	queryRE    = regexp.MustCompile(`\?[^\s"'\\]+`)
	userinfoRE = regexp.MustCompile(`//[^/@\s"'\\]+@`)
)

// scrub removes from an error's text what redact leaves out of a URL.
func scrub(s string) string {
	s = userinfoRE.ReplaceAllString(s, "//")
	return queryRE.ReplaceAllString(s, "?…")
}
