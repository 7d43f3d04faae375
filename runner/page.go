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
)

//go:embed page.js
var pageJS string

// page is one run's tab: it watches the page's events (URL, loading,
// uncaught exceptions) and runs the in-page helper.
type page struct {
	quality int64

	mu         sync.Mutex
	mainFrame  cdp.FrameID
	curURL     string
	loading    bool
	loadingURL string
	loads      int           // main-frame loads started so far
	idle       chan struct{} // closed when the current load stops
	exceptions eventLog      // uncaught exceptions of the page
	docErrors  eventLog      // main-frame documents that answered >= 400, e.g. a form's POST
}

func newPage(tab context.Context, quality int) (*page, error) {
	p := &page{quality: int64(quality)}
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

// event runs in the tab's read loop: it must return fast and call nothing.
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
			p.docErrors.add(fmt.Sprintf("%s answered %d %s", ev.Response.URL, ev.Response.Status, strings.TrimSpace(ev.Response.StatusText)))
		}
	case *runtime.EventExceptionThrown:
		p.exceptions.add(exceptionText(ev.ExceptionDetails))
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "unknown exception"
	}
	msg := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		msg = d.Exception.Description
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
	}
	if d.URL != "" {
		msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	}
	return msg
}

func (p *page) stepStarted() {
	p.mu.Lock()
	p.exceptions.step()
	p.docErrors.step()
	p.mu.Unlock()
}

// recent returns the failed page loads and the page exceptions of the
// current step and the one before it: a click submits a form or runs a
// throwing handler; the next step is the one that notices.
func (p *page) recent() (docErrors, exceptions string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.docErrors.recent(), p.exceptions.recent()
}

// eventLog is a list of page events marked at each step's start.
type eventLog struct {
	items     []string
	prev, cur int // len(items) when the previous and the current step started
}

func (l *eventLog) add(s string)   { l.items = append(l.items, s) }
func (l *eventLog) step()          { l.prev, l.cur = l.cur, len(l.items) }
func (l *eventLog) recent() string { return l.since(l.prev) }

// since joins the events after the first n.
func (l *eventLog) since(n int) string { return strings.Join(l.items[n:], "; ") }

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
	return p.loads, len(p.docErrors.items)
}

// settle waits for a page load that started since mark to finish, so a
// click that submits a form is charged with the load it causes, as a
// person would see it. It returns the failed documents of that load.
func (p *page) settle(ctx context.Context, loads, docErrors int) (string, error) {
	// A form submission starts its load in a task after the click, and the
	// browser reports it after the click's reply: one task turn in the
	// page, then its reply, lets those events arrive first (we rely on
	// their order on the wire). An error means the page is gone already.
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
	return p.docErrors.since(docErrors), nil
}

// navigating reports a main-frame load in flight and the URL it loads.
func (p *page) navigating() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loading, p.loadingURL
}

// setup applies the journey's device, headers and blocked URLs to the tab.
func (p *page) setup(tab context.Context, j *journeys.Journey) error {
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
	if len(j.Headers) > 0 {
		h := network.Headers{}
		for k, v := range j.Headers {
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
}

// helper runs one lookup. The page may navigate while the helper waits,
// which destroys its JavaScript context; then it asks again in the new
// document, until ctx ends.
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
		if errors.As(err, &exc) && !contextGone(err) {
			return nil, err
		}
		last = err
		if err := sleepCtx(ctx, 20); err != nil {
			return nil, err
		}
	}
}

// contextGone recognises the errors of a JavaScript context that a
// navigation destroyed under us.
func contextGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "context was destroyed") ||
		strings.Contains(s, "Cannot find context") ||
		strings.Contains(s, "Cannot find default execution context") ||
		strings.Contains(s, "navigated or closed") ||
		strings.Contains(s, "Promise was collected")
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
