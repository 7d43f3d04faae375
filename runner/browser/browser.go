// Package browser owns the browsers a runner drives. By default it finds and
// launches one local Chromium; given Options.Remote it drives browsers that
// run elsewhere (a Chrome in a container, a fleet such as browserless) over
// their DevTools websocket instead. Either way it hands out isolated tabs (a
// fresh browser context each), and starts or reconnects a browser on the
// next tab after it dies.
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// Options configure the browser process, or the remote browsers.
type Options struct {
	// Path is the Chromium binary; empty searches PATH for chromium,
	// chromium-browser, google-chrome and google-chrome-stable. It is not
	// used when Remote is set.
	Path string
	// LookPath finds a binary on PATH; nil uses exec.LookPath.
	LookPath func(string) (string, error)
	// Logger receives launch, connection and crash reports; nil discards
	// them.
	Logger *slog.Logger
	// Remote are browsers already running elsewhere, driven instead of a
	// local Chromium. Tabs go to the least-loaded one that answers, within
	// each one's Slots. Empty launches a local Chromium.
	Remote []Remote
}

// candidates are the binaries tried, in order, when Options.Path is empty.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// The window every run gets, local or remote: the size a person's laptop
// shows, so that what is visible, covered or in a screenshot does not
// depend on where the browser runs. A journey's `device` emulates its own
// viewport on top.
const windowWidth, windowHeight = 1366, 768

// NotInstalledError says that no browser binary could be found or started,
// and how to fix it.
type NotInstalledError struct {
	Path string // the configured or searched path
	Err  error
}

func (e *NotInstalledError) Error() string {
	where := "no Chromium found on PATH (tried " + strings.Join(candidates, ", ") + ")"
	if e.Path != "" {
		where = fmt.Sprintf("cannot start browser %q", e.Path)
	}
	if e.Err != nil {
		where += ": " + e.Err.Error()
	}
	return where + "; install it (Debian/Ubuntu as root: apt-get update && apt-get install -y chromium, or `make setup`) or set browser.path in waymark.yaml (WAYMARK_BROWSER_PATH)"
}

func (e *NotInstalledError) Unwrap() error { return e.Err }

// ErrClosed is returned by Tab after Close.
var ErrClosed = errors.New("browser pool closed")

// Pool is the browsers shared by all runs of a runner: one local Chromium
// process, or the remote browsers of Options.Remote. Every tab lives in
// its own browser context, so runs share no cookies, storage or cache. A
// browser is started (or connected to) on the first Tab that needs it, and
// again on the next Tab after it dies. Pool is safe for concurrent use.
type Pool struct {
	opts Options
	log  *slog.Logger
	// life ends with Close, cutting short a connection being made.
	life     context.Context
	stopLife context.CancelFunc

	mu       sync.Mutex
	closed   bool
	browsers []*endpoint
	// freed is closed, and replaced, whenever a tab is given back, to wake
	// the Tabs waiting for a slot.
	freed chan struct{}
}

// endpoint is one browser of a pool: the local Chromium or a remote one.
type endpoint struct {
	name  string // for logs: "local", or the remote URL without secrets
	slots int    // most tabs at once; 0 = no limit of its own
	// open starts the browser or connects to it, and returns its root
	// context (done when the browser dies), how to let it go, and its
	// product. ctx bounds the start, not the browser's life.
	open func(ctx context.Context) (root context.Context, release context.CancelFunc, product string, err error)
	// wrap says which browser an error of a tab came from.
	wrap func(op string, err error) error
	// resize sets a new tab's window to the standard size (remote
	// browsers, which were not launched with our flags); nil for local.
	resize func(tab context.Context) error

	// Guarded by Pool.mu.
	inflight  int       // tabs handed out and not given back
	downUntil time.Time // failed lately: try the others first until then
	version   string
	starts    int

	// mu serialises starts and guards the rest; it is held while the
	// browser starts or connects, so that two Tabs do not both do it.
	mu      sync.Mutex
	closed  bool
	root    context.Context
	release context.CancelFunc
}

// retryDown is how long a remote browser that failed is tried only after
// the others: long enough not to pay a dead host's dial on every tab, short
// enough that a browser back from a restart soon takes its share again.
const retryDown = 5 * time.Second

// New returns a pool; nothing is launched or connected until the first Tab
// (or Start).
func New(opts Options) *Pool {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.LookPath == nil {
		opts.LookPath = exec.LookPath
	}
	life, stop := context.WithCancel(context.Background())
	p := &Pool{opts: opts, log: log, life: life, stopLife: stop, freed: make(chan struct{})}
	if len(opts.Remote) == 0 {
		p.browsers = []*endpoint{{name: "local", open: p.launch, wrap: func(op string, err error) error {
			return fmt.Errorf("%s: %w", op, err)
		}}}
	}
	for _, r := range opts.Remote {
		p.browsers = append(p.browsers, p.remote(r))
	}
	return p
}

// Local reports whether the pool launches its browser on this machine,
// which can then read the monitor's files: an upload hands such a browser
// the file's path, and sends a remote one the file's bytes.
func (p *Pool) Local() bool { return len(p.opts.Remote) == 0 }

// execPath resolves the binary to launch.
func (p *Pool) execPath() (string, error) {
	if p.opts.Path != "" {
		path, err := p.opts.LookPath(p.opts.Path)
		if err != nil {
			return "", &NotInstalledError{Path: p.opts.Path, Err: err}
		}
		return path, nil
	}
	for _, name := range candidates {
		if path, err := p.opts.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", &NotInstalledError{}
}

// Flags are the command-line switches Waymark starts Chromium with, on top
// of chromedp's defaults: headless, no sandbox (we often run as root in
// containers), and nothing that phones home, so a closed network sees no
// stray connections.
func Flags() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(windowWidth, windowHeight),
	}
}

// launch starts the local Chromium. The browser lives as long as the pool,
// not as long as the run that needed it first.
func (p *Pool) launch(context.Context) (context.Context, context.CancelFunc, string, error) {
	path, err := p.execPath()
	if err != nil {
		return nil, nil, "", err
	}
	for _, dir := range sweepStaleProfiles(os.TempDir()) {
		p.log.Info("removed a stale browser profile of a killed run", "dir", dir)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], Flags()...)
	opts = append(opts, chromedp.ExecPath(path))
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	root, rootCancel := chromedp.NewContext(allocCtx)
	release := func() { rootCancel(); allocCancel() }
	if err := chromedp.Do(root); err != nil {
		release()
		return nil, nil, "", &NotInstalledError{Path: path, Err: err}
	}
	v, err := chromedp.CallBrowser(root, browser.GetVersion, cdp.Empty{})
	if err != nil {
		release()
		return nil, nil, "", &NotInstalledError{Path: path, Err: err}
	}
	p.log.Info("browser started", "path", path, "version", v.Product)
	return root, release, v.Product, nil
}

// ensure returns e's live root context, starting or connecting the browser
// if it has none or the one it had died.
func (p *Pool) ensure(ctx context.Context, e *endpoint) (context.Context, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.root != nil && e.root.Err() == nil && !Dead(e.root) {
		return e.root, nil
	}
	if e.root != nil {
		p.log.Warn("browser gone; starting or reconnecting it", "browser", e.name)
		e.release()
		e.root, e.release = nil, nil
	}
	// Close cuts short a start still under way.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.life, cancel)
	defer stop()
	root, release, product, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	e.root, e.release = root, release
	p.mu.Lock()
	e.version = product
	e.starts++
	p.mu.Unlock()
	return root, nil
}

// Start starts the local browser, or connects to the remote ones, now: so
// that a missing or unreachable browser is reported before any run, and
// the start is not counted in the first run's time. With several remote
// browsers it succeeds when one of them answers; the others are tried
// again by later Tabs.
func (p *Pool) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	browsers := slices.Clone(p.browsers)
	p.mu.Unlock()
	errs := make([]error, len(browsers))
	var wg sync.WaitGroup
	for i, e := range browsers {
		wg.Go(func() {
			_, errs[i] = p.ensure(ctx, e)
			p.settle(ctx, e, errs[i])
		})
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) < len(browsers) {
		// The others serve meanwhile; later Tabs try these again.
		for i, err := range errs {
			if err != nil {
				p.log.Warn("browser unavailable at start", "browser", browsers[i].name, "error", err)
			}
		}
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return unavailable(failed)
}

// Tab opens a new tab in a fresh browser context, on the least-loaded
// browser that has a free slot and answers; it waits for a slot when every
// browser that answers is full. Cancelling the returned func closes the
// tab, disposes of its browser context and frees the slot. The tab context
// is also done when its browser dies; Dead tells the two apart.
//
// The errors of a remote browser are *RemoteError (*UnavailableError when
// several were tried), and those of a local one that cannot start are
// *NotInstalledError: the monitor's problems, never the site's.
func (p *Pool) Tab(ctx context.Context) (context.Context, context.CancelFunc, error) {
	tried := map[*endpoint]bool{}
	var failed []error
	for {
		e, wait, err := p.reserve(tried)
		switch {
		case err != nil:
			return nil, nil, err
		case e == nil && wait == nil:
			return nil, nil, unavailable(failed)
		case e == nil:
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		tab, closeTab, err := p.open(ctx, e)
		p.settle(ctx, e, err)
		if err == nil {
			var once sync.Once
			return tab, func() { once.Do(func() { closeTab(); p.giveBack(e) }) }, nil
		}
		p.giveBack(e)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if errors.Is(err, ErrClosed) {
			return nil, nil, err
		}
		tried[e] = true
		failed = append(failed, err)
	}
}

// reserve takes a slot on the browser the next tab should go to: the
// least loaded of those not tried yet, preferring those that did not fail
// lately. It returns no browser and a channel to wait on when every
// candidate worth trying is full, and neither when none is left.
func (p *Pool) reserve(tried map[*endpoint]bool) (*endpoint, <-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, ErrClosed
	}
	now := time.Now()
	var best *endpoint
	full, fullUp := false, false // a browser is full; one that did not fail lately is
	for _, e := range p.browsers {
		if tried[e] {
			continue
		}
		if e.slots > 0 && e.inflight >= e.slots {
			full = true
			fullUp = fullUp || !now.Before(e.downUntil)
			continue
		}
		if best == nil || lighter(e, best, now) {
			best = e
		}
	}
	switch {
	case best != nil && now.Before(best.downUntil) && fullUp:
		// Rather wait for a slot on a browser that answers than dial one
		// that just failed.
		return nil, p.freed, nil
	case best != nil:
		best.inflight++
		return best, nil, nil
	case full:
		return nil, p.freed, nil
	}
	return nil, nil, nil
}

// lighter reports whether a should take the next tab before b: one that
// did not fail lately first, then the smaller share of its slots in use.
// Callers hold Pool.mu.
func lighter(a, b *endpoint, now time.Time) bool {
	if aDown, bDown := now.Before(a.downUntil), now.Before(b.downUntil); aDown != bDown {
		return bDown
	}
	// a.inflight/a.slots < b.inflight/b.slots, with no limit counting as 1.
	return a.inflight*max(b.slots, 1) < b.inflight*max(a.slots, 1)
}

// settle records whether e answered: a browser that failed is tried after
// the others for a while. An error of the caller's own context says
// nothing about the browser.
func (p *Pool) settle(ctx context.Context, e *endpoint, err error) {
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrClosed)) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		e.downUntil = time.Now().Add(retryDown)
	} else {
		e.downUntil = time.Time{}
	}
}

// giveBack frees the slot a tab held and wakes the Tabs waiting for one.
func (p *Pool) giveBack(e *endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.inflight--
	close(p.freed)
	p.freed = make(chan struct{})
}

// open opens a tab in a fresh browser context on e.
func (p *Pool) open(ctx context.Context, e *endpoint) (context.Context, context.CancelFunc, error) {
	root, err := p.ensure(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	tab, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	// Stop the tab when the caller's context ends, e.g. on Ctrl-C.
	stop := context.AfterFunc(ctx, cancel)
	if err := chromedp.Do(tab); err != nil {
		stop()
		cancel()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, e.wrap("open tab", err)
	}
	if e.resize != nil {
		if err := e.resize(tab); err != nil {
			p.log.Debug("could not size the window of a remote tab", "browser", e.name, "error", err)
		}
	}
	return tab, func() { stop(); cancel() }, nil
}

// Dead reports whether the browser that served tab has gone: its process
// died, or the connection to it (a remote browser's websocket) dropped.
func Dead(tab context.Context) bool {
	c := chromedp.FromContext(tab)
	if c == nil || c.Browser == nil {
		return true
	}
	select {
	case <-c.Browser.LostConnection:
		return true
	default:
		return false
	}
}

// Version is the browser's product string (e.g. "Chrome/131.0.6778.85"),
// a remote browser's as it reports it; several remote browsers of
// different versions give each once, comma-separated. Empty before the
// first start.
func (p *Pool) Version() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var vs []string
	for _, e := range p.browsers {
		if e.version != "" && !slices.Contains(vs, e.version) {
			vs = append(vs, e.version)
		}
	}
	return strings.Join(vs, ", ")
}

// Launches counts how many times a browser process was started, or a
// connection to a remote browser made.
func (p *Pool) Launches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.browsers {
		n += e.starts
	}
	return n
}

// Process returns the running local browser process, or nil (always for
// remote browsers). Tests use it to check cleanup and to simulate a crash.
func (p *Pool) Process() *os.Process {
	if !p.Local() {
		return nil
	}
	e := p.browsers[0]
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.root == nil || e.root.Err() != nil {
		return nil
	}
	c := chromedp.FromContext(e.root)
	if c == nil || c.Browser == nil {
		return nil
	}
	return c.Browser.Process()
}

// Close stops the local browser, waiting for its process to exit, and
// removes its temporary profile; or disconnects from the remote browsers,
// which keep running (the browser contexts of tabs still open go with the
// connection).
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	browsers := p.browsers
	p.mu.Unlock()
	p.stopLife()
	var errs []error
	for _, e := range browsers {
		e.mu.Lock()
		e.closed = true
		if e.root != nil {
			// For a remote browser this only drops the connection:
			// chromedp closes a browser only when it launched it.
			err := chromedp.Cancel(e.root)
			e.release()
			e.root, e.release = nil, nil
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("close browser %s: %w", e.name, err))
			}
		}
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}
