package runner

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdpage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

//go:embed page.js
var pageJS string

// page is one run's tab: it watches the page's events (URL, loading, what
// the page says on its console, dialogs) and runs the in-page helper.
type page struct {
	tab     context.Context
	quality int64
	now     func() time.Time
	log     func(msg string, args ...any) // debug log of the run

	mu         sync.Mutex
	origin     time.Time // the run's start, for ConsoleEntry.At
	mainFrame  cdp.FrameID
	curURL     string
	loading    bool
	loadingURL string
	loads      int           // main-frame loads started so far
	idle       chan struct{} // closed when the current load stops
	console    []results.ConsoleEntry
	mark       int      // len(console) when the current step started
	docErrors  []string // main-frame documents that answered >= 400, e.g. a form's POST
	docMark    int      // len(docErrors) when the previous step started
	docCur     int      // len(docErrors) when the current step started
}

func newPage(tab context.Context, quality int, now func() time.Time, log func(string, ...any)) (*page, error) {
	p := &page{tab: tab, quality: int64(quality), now: now, log: log, origin: now()}
	if err := chromedp.Listen(tab, p.event); err != nil {
		return nil, err
	}
	tree, err := chromedp.Call(tab, cdpage.GetFrameTree, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.mainFrame == "" {
		p.mainFrame = tree.FrameTree.Frame.ID
	}
	p.mu.Unlock()
	return p, nil
}

// event runs in the tab's read loop: it must return fast and call nothing
// on the tab itself (a dialog is answered from another goroutine).
func (p *page) event(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *cdpage.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			p.mainFrame = ev.Frame.ID
			p.curURL = ev.Frame.URL + ev.Frame.URLFragment
		}
	case *cdpage.EventNavigatedWithinDocument:
		if ev.FrameID == p.mainFrame {
			p.curURL = ev.URL
		}
	case *cdpage.EventFrameStartedLoading:
		if (ev.FrameID == p.mainFrame || p.mainFrame == "") && !p.loading {
			p.loading = true
			p.loads++
			p.idle = make(chan struct{})
		}
	case *cdpage.EventFrameStoppedLoading:
		if ev.FrameID == p.mainFrame && p.loading {
			p.loading = false
			close(p.idle)
		}
	case *network.EventRequestWillBeSent:
		if ev.Type == network.ResourceTypeDocument && (ev.FrameID == p.mainFrame || p.mainFrame == "") {
			p.loadingURL = ev.Request.URL
		}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && ev.FrameID == p.mainFrame && ev.Response != nil && ev.Response.Status >= 400 {
			p.docErrors = append(p.docErrors, fmt.Sprintf("%s answered %d %s", ev.Response.URL, ev.Response.Status, strings.TrimSpace(ev.Response.StatusText)))
		}
	case *runtime.EventExceptionThrown:
		text, src := exceptionText(ev.ExceptionDetails)
		p.say(results.ConsoleException, text, src)
	case *runtime.EventConsoleAPICalled:
		kind := results.ConsoleError
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeAssert:
		case runtime.ConsoleAPICalledTypeWarning:
			kind = results.ConsoleWarning
		default:
			return
		}
		src := ""
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			src = fmt.Sprintf("%s:%d", st.CallFrames[0].URL, st.CallFrames[0].LineNumber+1)
		}
		p.say(kind, consoleArgs(ev.Args), src)
	case *cdpage.EventJavascriptDialogOpening:
		p.dialog(ev)
	}
}

// say records a console entry; p.mu is held.
func (p *page) say(kind results.ConsoleKind, text, source string) {
	// Bounded here already: a page that logs in a loop must not fill
	// memory before the step ends (results.Step.Clean bounds it again).
	if len(p.console)-p.mark >= results.MaxConsoleLog*2 {
		return
	}
	text = results.Clip(text, results.MaxConsole)
	p.console = append(p.console, results.ConsoleEntry{Kind: kind, Text: text, Source: source, At: p.now().Sub(p.origin)})
}

// dialog answers a JavaScript dialog as a shopper who wants to go on
// would: an alert and a "leave this page?" are accepted, a confirm and a
// prompt are dismissed (saying yes to "Delete your account?" is not a
// monitor's call). An unanswered dialog blocks the page, and with it every
// later step, until the step times out saying nothing useful. p.mu is held.
func (p *page) dialog(ev *cdpage.EventJavascriptDialogOpening) {
	accept := ev.Type == cdpage.DialogTypeAlert || ev.Type == cdpage.DialogTypeBeforeunload
	answer := "dismissed"
	if accept {
		answer = "accepted"
	}
	p.say(results.ConsoleDialog, fmt.Sprintf("%s %q (%s)", ev.Type, ev.Message, answer), ev.URL)
	go func() {
		_, err := chromedp.Call(p.tab, cdpage.HandleJavaScriptDialog, cdpage.HandleJavaScriptDialogParams{Accept: accept})
		if err != nil && p.tab.Err() == nil {
			p.log("answer dialog", "type", ev.Type, "error", err)
		}
	}()
}

// exceptionText is an uncaught exception's message (without its stack)
// and where it was thrown.
func exceptionText(d *runtime.ExceptionDetails) (text, source string) {
	if d == nil {
		return "unknown exception", ""
	}
	text = d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text, _, _ = strings.Cut(d.Exception.Description, "\n")
	}
	url := d.URL
	if url == "" && d.StackTrace != nil && len(d.StackTrace.CallFrames) > 0 {
		url = d.StackTrace.CallFrames[0].URL
	}
	if url != "" {
		source = fmt.Sprintf("%s:%d", url, d.LineNumber+1)
	}
	return text, source
}

// consoleArgs writes a console call's arguments as the DevTools console
// shows them, roughly: strings as they are, other values by description.
func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString:
			_ = json.Unmarshal(a.Value, &s)
		case len(a.Value) > 0:
			s = string(a.Value)
		default:
			s = a.Description
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// begin marks the start of the run's steps: console times count from it.
func (p *page) begin(origin time.Time) {
	p.mu.Lock()
	p.origin = origin
	p.mu.Unlock()
}

// stepStarted marks where the current step's page events begin.
func (p *page) stepStarted() {
	p.mu.Lock()
	p.mark = len(p.console)
	p.docMark, p.docCur = p.docCur, len(p.docErrors)
	p.mu.Unlock()
}

// stepConsole returns what the page said since the current step started.
func (p *page) stepConsole() []results.ConsoleEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mark >= len(p.console) {
		return nil
	}
	return append([]results.ConsoleEntry(nil), p.console[p.mark:]...)
}

// recentDocErrors returns the failed page loads of the current step and
// the one before it: a click submits a form; the next step notices.
func (p *page) recentDocErrors() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.docErrors[p.docMark:], "; ")
}

func (p *page) url() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.curURL
}

// loadMark returns what settle needs to tell whether an action started a
// page load: the count of loads and of failed documents so far.
func (p *page) loadMark() (loads, docErrors int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loads, len(p.docErrors)
}

// settle waits for a page load that started since mark to finish, so a
// click that submits a form is charged with the load it causes, as a
// person would see it. It returns the failed documents of that load.
func (p *page) settle(ctx context.Context, loads, docErrors int) (string, error) {
	// A form submission starts its load in a task after the click, and the
	// browser reports it after the click's reply: one task turn in the
	// page, then its reply, lets those events arrive first (we rely on
	// their order on the wire). The same turn lets the exceptions a click
	// handler threw arrive while the click is still the current step. An
	// error means the page is gone already.
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool]("new Promise(r => setTimeout(() => r(true), 0))", chromedp.EvalAwaitPromise))
	p.mu.Lock()
	started, idle := p.loads > loads, p.idle
	p.mu.Unlock()
	if started {
		select {
		case <-idle:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.docErrors[docErrors:], "; "), nil
}

// navigating reports a main-frame load in flight and the URL it loads.
func (p *page) navigating() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loading, p.loadingURL
}

// loadCount is the number of main-frame loads started so far: the helper
// compares it to tell a navigation from a real exception.
func (p *page) loadCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loads
}

// waitIdle waits until no main-frame load is in flight, or ctx ends.
func (p *page) waitIdle(ctx context.Context) {
	p.mu.Lock()
	loading, idle := p.loading, p.idle
	p.mu.Unlock()
	if !loading {
		return
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// setup applies the journey's device, headers and blocked URLs to the tab.
// headers holds the journey's header values already expanded.
func (p *page) setup(tab context.Context, j *journeys.Journey, headers map[string]string) error {
	var acts []chromedp.Action[chromedp.Void]
	d := j.Device
	if d.Width > 0 && d.Height > 0 {
		var opts []chromedp.EmulateViewportOption
		if d.Mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		acts = append(acts, chromedp.EmulateViewport(int64(d.Width), int64(d.Height), opts...))
	}
	if d.UserAgent != "" {
		acts = append(acts, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: d.UserAgent})
			return err
		}))
	}
	if len(headers) > 0 {
		h := network.Headers{}
		for k, v := range headers {
			h[k] = v
		}
		acts = append(acts, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h})
			return err
		}))
	}
	if len(j.Block) > 0 {
		// The journey's patterns are globs ("*google-analytics.com*"): the
		// protocol's `urls` takes those; its typed urlPatterns want
		// absolute URLPattern strings, so send `urls` directly.
		params := struct {
			URLs []string `json:"urls"`
		}{j.Block}
		acts = append(acts, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			return t.Call(ctx, network.SetBlockedURLs.Method, params, nil)
		}))
	}
	return chromedp.Do(tab, acts...)
}

// lookup is a request to the in-page helper.
type lookup struct {
	Loc     jsLocator `json:"loc"`
	State   string    `json:"state"`
	Timeout int64     `json:"timeout"` // ms
	Op      string    `json:"op,omitempty"`
	What    string    `json:"what,omitempty"`
	Name    string    `json:"name,omitempty"`
	Value   string    `json:"value,omitempty"`
	Clear   bool      `json:"clear,omitempty"`
	Empty   bool      `json:"empty,omitempty"`
	Want    bool      `json:"want"` // toggle and checked: the wanted checked state
}

type jsLocator struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// found is the helper's answer.
type found struct {
	OK      bool    `json:"ok"`
	Count   int     `json:"count"`
	Visible int     `json:"visible"`
	El      string  `json:"el"`
	Why     string  `json:"why"`     // why the wanted state was not reached
	Refused string  `json:"refused"` // why the op failed on a usable element
	Invalid string  `json:"invalid"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Value   *string `json:"value"`
	Has     bool    `json:"has"`
	Already bool    `json:"already"` // toggle: already in the wanted state
	Via     string  `json:"via"`     // toggle: the label clicked for a hidden control
}

// helper runs one lookup. The page may navigate while the helper waits,
// which destroys its JavaScript context; then it asks again in the new
// document, until ctx ends. The helper catches every error of its own, so
// an exception from it means its document went away under it.
func (p *page) helper(ctx context.Context, req lookup) (*found, error) {
	var last error
	for {
		if dl, ok := ctx.Deadline(); ok {
			// Answer a little before the deadline, so the diagnosis
			// (what matched, why it was not usable) reaches us.
			req.Timeout = max(time.Until(dl).Milliseconds()-150, 0)
		}
		arg, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		loads := p.loadCount()
		f, err := chromedp.Run(ctx, chromedp.Evaluate[found]("("+pageJS+")("+string(arg)+")", chromedp.EvalAwaitPromise))
		if err == nil {
			return &f, nil
		}
		if ctx.Err() != nil {
			if last != nil {
				return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
			}
			return nil, ctx.Err()
		}
		var exc *chromedp.ExceptionError
		if errors.As(err, &exc) && p.loadCount() == loads && !p.loadingNow() {
			return nil, fmt.Errorf("in-page helper: %w", err)
		}
		last = err
		if err := sleepCtx(ctx, 20); err != nil {
			return nil, err
		}
	}
}

func (p *page) loadingNow() bool {
	loading, _ := p.navigating()
	return loading
}

// screenshot captures the viewport as JPEG.
func (p *page) screenshot(ctx context.Context) ([]byte, error) {
	q := p.quality
	res, err := chromedp.Call(ctx, cdpage.CaptureScreenshot, cdpage.CaptureScreenshotParams{
		Format:           cdpage.CaptureScreenshotFormatJpeg,
		Quality:          &q,
		OptimizeForSpeed: new(true),
	})
	if err != nil {
		return nil, fmt.Errorf("capture screenshot: %w", err)
	}
	return res.Data, nil
}
