package browser_test

// Tests of remote browsers, against real Chromium processes started by the
// test with a DevTools port on loopback (browsertest), a page served on
// 127.0.0.1, and a reverse proxy that checks a fleet's auth header.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/runner/browser"
	"github.com/waymarkhq/waymark/runner/browser/browsertest"
)

// site serves pages on loopback: /set?who=X sets the cookie who=X, and any
// path answers with a page titled by it.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: r.URL.Query().Get("who")})
		}
		fmt.Fprintf(w, "<title>%s</title>ok", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newPool returns a pool of remotes, closed when the test ends.
func newPool(t *testing.T, remotes ...browser.Remote) *browser.Pool {
	t.Helper()
	p := browser.New(browser.Options{Remote: remotes})
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// visit loads url in tab and returns document.cookie.
func visit(tab context.Context, url string) (string, error) {
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		return "", fmt.Errorf("navigate to %s: %w", url, err)
	}
	return chromedp.Run(tab, chromedp.Evaluate[string]("document.cookie"))
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond) // polls cond, with the deadline above
	}
}

// pagesAt lists the URLs of the tabs open in c.
func pagesAt(t *testing.T, c *browsertest.Chromium) []string {
	t.Helper()
	pages, err := c.Pages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, p := range pages {
		urls = append(urls, p.URL)
	}
	return urls
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestRemoteRuns drives a remote Chromium through its websocket URL and
// through its http:// address: runs in parallel get isolated browser
// contexts, the pool reports the remote product, and closing the pool
// closes its tabs but leaves the remote browser running.
func TestRemoteRuns(t *testing.T) {
	srv := site(t)
	for _, tc := range []struct {
		name string
		url  func(*browsertest.Chromium) string
	}{
		{"websocket URL", func(c *browsertest.Chromium) string { return c.WSURL }},
		{"http address resolved through /json/version", (*browsertest.Chromium).HTTPURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := browsertest.Start(t, 0)
			before := pagesAt(t, c)
			p := browser.New(browser.Options{Remote: []browser.Remote{{URL: tc.url(c)}}})
			if err := p.Start(t.Context()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			want, err := c.Product(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Version(); got != want {
				t.Errorf("Version = %q, want the remote's %q", got, want)
			}
			if p.Local() || p.Process() != nil {
				t.Errorf("Local = %v, Process = %v for a remote browser", p.Local(), p.Process())
			}

			// Two runs at once: each sees only the cookie it set.
			const runs = 2
			var wg sync.WaitGroup
			errs := make([]error, runs)
			for i := range runs {
				wg.Go(func() {
					tab, closeTab, err := p.Tab(t.Context())
					if err != nil {
						errs[i] = err
						return
					}
					defer closeTab()
					who := fmt.Sprintf("run%d", i)
					if _, err := visit(tab, srv.URL+"/set?who="+who); err != nil {
						errs[i] = err
						return
					}
					got, err := visit(tab, srv.URL+"/")
					if err != nil {
						errs[i] = err
						return
					}
					if got != "who="+who {
						errs[i] = fmt.Errorf("run %d sees cookies %q, want only who=%s: browser contexts are shared", i, got, who)
						return
					}
					width, err := chromedp.Run(tab, chromedp.Evaluate[int]("window.outerWidth"))
					if err == nil && width != 1366 {
						err = fmt.Errorf("window is %d px wide, want 1366 as a local run's", width)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the runs' tabs are closed in the remote browser", func() bool {
				return slices.Equal(pagesAt(t, c), before)
			})

			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if _, err := c.Product(t.Context()); err != nil || c.Exited() {
				t.Errorf("the remote browser did not survive the pool's Close: %v", err)
			}
			if _, _, err := p.Tab(t.Context()); !errors.Is(err, browser.ErrClosed) {
				t.Errorf("Tab after Close = %v, want ErrClosed", err)
			}
		})
	}
}

// TestRemoteHeaders puts a reverse proxy in front of the DevTools port
// that lets through only requests with the fleet's token header: the
// pool's headers reach the websocket handshake (and the /json/version
// lookup), and a refused connection names the URL without its secrets.
func TestRemoteHeaders(t *testing.T) {
	const header, token, querySecret = "X-Fleet-Token", "s3cret-h3ader", "qs-s3cret"
	c := browsertest.Start(t, 0)
	srv := site(t)
	target, err := url.Parse(c.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	devtools := httputil.NewSingleHostReverseProxy(target)
	var handshakes, lookups atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != token {
			http.Error(w, "missing or wrong fleet token", http.StatusUnauthorized)
			return
		}
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			handshakes.Add(1)
		case r.URL.Path == "/json/version":
			lookups.Add(1)
		}
		devtools.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	wsPath := strings.TrimPrefix(c.WSURL, "ws://"+target.Host)
	good := http.Header{header: {token}}

	for _, tc := range []struct {
		name        string
		url         string
		header      http.Header
		ok          bool
		wantLookups bool
	}{
		{"websocket with the token", "ws://" + proxy.Listener.Addr().String() + wsPath, good, true, false},
		{"http with the token", proxy.URL, good, true, true},
		{"websocket without the token", "ws://" + proxy.Listener.Addr().String() + wsPath + "?token=" + querySecret, nil, false, false},
		{"http without the token", "http://fleet:" + querySecret + "@" + proxy.Listener.Addr().String() + "/?token=" + querySecret, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handshakes.Store(0)
			lookups.Store(0)
			p := newPool(t, browser.Remote{URL: tc.url, Header: tc.header})
			tab, closeTab, err := p.Tab(t.Context())
			if !tc.ok {
				var re *browser.RemoteError
				if !errors.As(err, &re) {
					t.Fatalf("Tab error = %v (%T), want a RemoteError", err, err)
				}
				msg := err.Error()
				if !strings.Contains(msg, proxy.Listener.Addr().String()) || !strings.Contains(msg, "401") {
					t.Errorf("error %q does not name the URL and the refusal", msg)
				}
				if strings.Contains(msg, querySecret) || strings.Contains(msg, token) {
					t.Errorf("error %q shows a secret", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Tab: %v", err)
			}
			defer closeTab()
			if _, err := visit(tab, srv.URL+"/"); err != nil {
				t.Fatal(err)
			}
			if handshakes.Load() == 0 {
				t.Error("no websocket handshake went through the proxy with the token")
			}
			if got := lookups.Load() > 0; got != tc.wantLookups {
				t.Errorf("/json/version asked with the token: %v, want %v", got, tc.wantLookups)
			}
		})
	}
}

// TestRemoteRestart kills the remote browser under a tab: the tab is dead,
// the next Tab fails naming the URL, and a new browser on the same port is
// picked up by the next Tab through /json/version; a websocket URL of the
// old browser does not reach the new one.
func TestRemoteRestart(t *testing.T) {
	srv := site(t)
	c1 := browsertest.Start(t, 0)
	p := newPool(t, browser.Remote{URL: c1.HTTPURL()})
	old := newPool(t, browser.Remote{URL: c1.WSURL})
	for _, pool := range []*browser.Pool{p, old} {
		if err := pool.Start(t.Context()); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	tab, closeTab, err := p.Tab(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	if _, err := visit(tab, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if browser.Dead(tab) {
		t.Fatal("a live tab is Dead")
	}

	c1.Kill()
	eventually(t, "the tab of the killed browser is Dead", func() bool { return browser.Dead(tab) })
	_, _, err = p.Tab(t.Context())
	var re *browser.RemoteError
	if !errors.As(err, &re) || re.URL != c1.HTTPURL() || !strings.Contains(err.Error(), c1.HTTPURL()) {
		t.Fatalf("Tab with the browser down = %v, want a RemoteError naming %s", err, c1.HTTPURL())
	}

	c2 := browsertest.Start(t, c1.Port)
	tab2, closeTab2, err := p.Tab(t.Context())
	if err != nil {
		t.Fatalf("Tab after the browser came back: %v", err)
	}
	defer closeTab2()
	if _, err := visit(tab2, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if n := p.Launches(); n != 2 {
		t.Errorf("Launches = %d, want 2 connections", n)
	}
	if want, _ := c2.Product(t.Context()); p.Version() != want {
		t.Errorf("Version = %q after the restart, want %q", p.Version(), want)
	}
	if _, _, err := old.Tab(t.Context()); !errors.As(err, &re) {
		t.Errorf("Tab on the old browser's websocket URL = %v, want a RemoteError", err)
	}
}

// TestRemoteFleet spreads tabs over two browsers of one slot each: each
// takes one, a third waits for a slot and gets the one freed, and a
// browser that is down is passed over.
func TestRemoteFleet(t *testing.T) {
	srv := site(t)
	c1, c2 := browsertest.Start(t, 0), browsertest.Start(t, 0)
	dead := "http://" + deadAddr(t)
	p := newPool(t,
		browser.Remote{URL: dead, Slots: 1},
		browser.Remote{URL: c1.WSURL, Slots: 1},
		browser.Remote{URL: c2.HTTPURL(), Slots: 1},
	)
	if err := p.Start(t.Context()); err != nil {
		t.Fatalf("Start with one browser of three down: %v", err)
	}
	// where says which browser has a tab at path.
	where := func(path string) *browsertest.Chromium {
		for _, c := range []*browsertest.Chromium{c1, c2} {
			if slices.Contains(pagesAt(t, c), srv.URL+path) {
				return c
			}
		}
		return nil
	}
	open := func(ctx context.Context, path string) (context.CancelFunc, *browsertest.Chromium, error) {
		tab, closeTab, err := p.Tab(ctx)
		if err != nil {
			return nil, nil, err
		}
		if _, err := visit(tab, srv.URL+path); err != nil {
			closeTab()
			return nil, nil, err
		}
		return closeTab, where(path), nil
	}

	closeA, onA, err := open(t.Context(), "/a")
	if err != nil {
		t.Fatal(err)
	}
	closeB, onB, err := open(t.Context(), "/b")
	if err != nil {
		t.Fatal(err)
	}
	defer closeB()
	if onA == nil || onB == nil || onA == onB {
		t.Fatalf("tabs on %v and %v, want one on each live browser", onA, onB)
	}

	// Every live slot is taken: a Tab waits.
	short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := p.Tab(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Tab with every slot taken = %v, want it to wait until its deadline", err)
	}
	type opened struct {
		close context.CancelFunc
		on    *browsertest.Chromium
		err   error
	}
	got := make(chan opened, 1)
	go func() {
		c, on, err := open(t.Context(), "/c")
		got <- opened{c, on, err}
	}()
	closeA()
	o := <-got
	if o.err != nil {
		t.Fatalf("waiting Tab: %v", o.err)
	}
	defer o.close()
	if o.on != onA {
		t.Errorf("the waiting tab went to %v, want the browser whose slot was freed (%v)", o.on, onA)
	}
}

// TestRemoteUnavailable: browsers that do not answer give typed errors that
// name each URL, from Start and from Tab.
func TestRemoteUnavailable(t *testing.T) {
	one, two := "http://"+deadAddr(t), "ws://"+deadAddr(t)+"/devtools/browser/x"
	for _, tc := range []struct {
		name    string
		remotes []browser.Remote
		several bool
	}{
		{"one browser", []browser.Remote{{URL: one}}, false},
		{"a fleet", []browser.Remote{{URL: one, Slots: 2}, {URL: two, Slots: 2}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.remotes...)
			for _, call := range []struct {
				name string
				do   func() error
			}{
				{"Start", func() error { return p.Start(t.Context()) }},
				{"Tab", func() error { _, _, err := p.Tab(t.Context()); return err }},
			} {
				err := call.do()
				var re *browser.RemoteError
				if !errors.As(err, &re) {
					t.Fatalf("%s = %v (%T), want a RemoteError", call.name, err, err)
				}
				var ue *browser.UnavailableError
				if errors.As(err, &ue) != tc.several {
					t.Errorf("%s = %T, want an UnavailableError: %v", call.name, err, tc.several)
				}
				for _, r := range tc.remotes {
					if !strings.Contains(err.Error(), r.URL) {
						t.Errorf("%s error %q does not name %s", call.name, err, r.URL)
					}
				}
			}
		})
	}
}
