package runner_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/results"
)

// BenchmarkGuestCheckout runs the guest-checkout example journey on the
// demo shop straight through chromedp (impl=floor, first, so benchstat
// takes it as the base) and through the runner (impl=runner), each run in
// a fresh browser context of one shared browser. Compare with
// `benchstat -col /impl`: the target is the runner within 10% of the
// floor. `make bench` runs it.
func BenchmarkGuestCheckout(b *testing.B) {
	shop := examples.NewShop(examples.Options{})
	srv := httptest.NewServer(shop)
	defer func() { shop.Close(); srv.Close() }()
	if err := pool.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	launches := pool.Launches()

	b.Run("impl=floor", func(b *testing.B) {
		for b.Loop() {
			if err := floorCheckout(b.Context(), srv.URL); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=runner", func(b *testing.B) {
		j := example(b, "guest-checkout", 0)
		r := newRunner(srv.URL, nil, nil, nil)
		for b.Loop() {
			run, err := r.Run(b.Context(), j)
			if err != nil || run.Outcome != results.Passed {
				b.Fatalf("run: %v %s %s", err, run.Outcome, run.Error)
			}
		}
	})
	if n := pool.Launches(); n != launches {
		b.Errorf("browser launched %d more times: want once per process", n-launches)
	}
}

// floorCheckout is guest-checkout written directly against chromedp: the
// fastest honest way to do the same steps, with the same checks, so the
// gap to the runner is the runner's overhead.
func floorCheckout(ctx context.Context, base string) error {
	tab, cancel, err := pool.Tab(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	fill := func(fields ...string) chromedp.Action[chromedp.Void] {
		var acts []chromedp.Action[chromedp.Void]
		for i := 0; i < len(fields); i += 2 {
			sel, v := fields[i], fields[i+1]
			acts = append(acts, chromedp.Focus(css(sel), chromedp.NodeVisible), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: v})
				return err
			}))
		}
		return chromedp.Steps(acts...)
	}
	// A click that loads a page waits for its load event, as the runner does.
	nav := func(sel string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(css(sel), chromedp.NodeVisible))(ctx, t)
			return chromedp.Void{}, err
		}
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](expr) }
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Synthetic-Monitor": "waymark"}})
		return err
	})); err != nil {
		return err
	}
	if _, err := chromedp.Run(tab, chromedp.NavigateResponse(base+"/")); err != nil {
		return err
	}
	title, err := chromedp.Run(tab, chromedp.Title())
	if err != nil || !strings.Contains(title, "Trailhead Outfitters") {
		return err
	}
	if err := chromedp.Do(tab,
		poll(`document.querySelectorAll("[data-test^=product-]").length >= 8`),
		chromedp.Click(css("[data-test=add-backpack]"), chromedp.NodeVisible),
		chromedp.Click(css("[data-test=add-bike-light]"), chromedp.NodeVisible),
		poll(`document.querySelector("[data-test=cart-badge]").textContent.trim() === "2"`),
		nav("[data-test=cart-link]"),
		poll(`document.querySelectorAll("[data-test^=line-]").length === 2`),
		nav("[data-test=checkout]"),
		fill("[data-test=name]", "Grace Guest", "[data-test=email]", "synthetic+1@example.com",
			"[data-test=address]", "10 Downing Street", "[data-test=city]", "London", "[data-test=postcode]", "SW1A 2AA"),
		chromedp.SetValue(css("[data-test=country]"), "GB", chromedp.NodeVisible),
		nav("[data-test=continue-to-payment]"),
		fill("[data-test=card-number]", "4242 4242 4242 4242", "[data-test=card-expiry]", "12/39", "[data-test=card-cvc]", "123"),
		nav("[data-test=pay]"),
		chromedp.WaitVisible(css("[data-test=order-complete]")),
		poll(`location.href.includes("/confirmation")`),
	); err != nil {
		return err
	}
	if _, err := chromedp.Run(tab, chromedp.Text(css("[data-test=order-id]"))); err != nil {
		return err
	}
	if err := chromedp.Do(tab, poll(`document.querySelector("[data-test=cart-badge]").textContent.trim() === "0"`)); err != nil {
		return err
	}
	q := int64(70)
	_, err = chromedp.Call(tab, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: &q, OptimizeForSpeed: new(true)})
	return err
}
