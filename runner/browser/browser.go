// Package browser owns the Chromium process a runner drives: it finds and
// launches it once, hands out isolated tabs (a fresh browser context each),
// and relaunches it when it dies.
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// Options configure the browser process.
type Options struct {
	// Path is the Chromium binary; empty searches PATH for chromium,
	// chromium-browser, google-chrome and google-chrome-stable.
	Path string
	// LookPath finds a binary on PATH; nil uses exec.LookPath.
	LookPath func(string) (string, error)
	// Logger receives launch and crash reports; nil discards them.
	Logger *slog.Logger
}

// candidates are the binaries tried, in order, when Options.Path is empty.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

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

// Pool is one Chromium process shared by all runs of a runner. Every tab
// lives in its own browser context, so runs share no cookies, storage or
// cache. The process starts on the first Tab and is started again on the
// next Tab after it dies. Pool is safe for concurrent use.
type Pool struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	closed   bool
	root     context.Context // the browser's chromedp context; Done when it dies
	cancel   context.CancelFunc
	version  string
	launches int
}

// New returns a pool; nothing is launched until the first Tab.
func New(opts Options) *Pool {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.LookPath == nil {
		opts.LookPath = exec.LookPath
	}
	return &Pool{opts: opts, log: log}
}

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
		chromedp.WindowSize(1366, 768),
	}
}

// ensure returns the live browser context, launching Chromium if needed.
// Callers hold p.mu.
func (p *Pool) ensure() (context.Context, error) {
	if p.closed {
		return nil, ErrClosed
	}
	if p.root != nil && p.root.Err() == nil {
		return p.root, nil
	}
	if p.root != nil {
		p.log.Warn("browser died; relaunching")
		p.cancel()
		p.root = nil
	}
	path, err := p.execPath()
	if err != nil {
		return nil, err
	}
	for _, dir := range sweepStaleProfiles(os.TempDir()) {
		p.log.Info("removed a stale browser profile of a killed run", "dir", dir)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], Flags()...)
	opts = append(opts, chromedp.ExecPath(path))
	// The browser lives as long as the pool, not as long as any run.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	root, rootCancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(root); err != nil {
		rootCancel()
		allocCancel()
		return nil, &NotInstalledError{Path: path, Err: err}
	}
	v, err := chromedp.CallBrowser(root, browser.GetVersion, cdp.Empty{})
	if err != nil {
		rootCancel()
		allocCancel()
		return nil, &NotInstalledError{Path: path, Err: err}
	}
	p.version = v.Product
	p.launches++
	p.root = root
	p.cancel = func() { rootCancel(); allocCancel() }
	p.log.Info("browser started", "path", path, "version", v.Product)
	return root, nil
}

// Start launches the browser now, so that a missing browser is reported
// before any run, and the launch is not counted in the first run's time.
func (p *Pool) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.ensure()
	return err
}

// Tab opens a new tab in a fresh browser context. Cancelling the returned
// func closes the tab and disposes of its browser context. The tab context
// is also done when the browser dies; Dead tells the two apart.
func (p *Pool) Tab(ctx context.Context) (context.Context, context.CancelFunc, error) {
	p.mu.Lock()
	root, err := p.ensure()
	p.mu.Unlock()
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
		return nil, nil, fmt.Errorf("open tab: %w", err)
	}
	return tab, func() { stop(); cancel() }, nil
}

// Dead reports whether the browser process that served tab has gone.
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
// empty before the first launch.
func (p *Pool) Version() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.version
}

// Launches counts how many times a browser process was started.
func (p *Pool) Launches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.launches
}

// Process returns the running browser process, or nil. Tests use it to
// check cleanup and to simulate a crash.
func (p *Pool) Process() *os.Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.root == nil || p.root.Err() != nil {
		return nil
	}
	c := chromedp.FromContext(p.root)
	if c == nil || c.Browser == nil {
		return nil
	}
	return c.Browser.Process()
}

// Close stops the browser and removes its temporary profile. It waits for
// the process to exit.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.root == nil {
		return nil
	}
	err := chromedp.Cancel(p.root)
	p.cancel()
	p.root = nil
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
