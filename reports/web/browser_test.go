package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner/browser"
)

// TestDashboardInBrowser opens the dashboard in real Chromium: the
// overview, a failed run and an open incident, which it acknowledges
// through the page's form (htmx, the API, the same-origin check, the
// reload); the hostile page's run shows its markup as text and runs none
// of it. Screenshots of each page go to the test's artifacts (go test
// -artifacts keeps them; docs/ has one of each).
func TestDashboardInBrowser(t *testing.T) {
	fx := fillStore(t, openTestStore(t, filepath.Join(t.TempDir(), "waymark.db")))
	srv := pageServer(t, fx)
	pool := browser.New(browser.Options{})
	defer pool.Close()
	tab, closeTab, err := pool.Tab(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	dir := t.ArtifactDir()
	look := func(name, path, ready string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(srv.URL+path),
			chromedp.WaitVisible(chromedp.CSS(ready))); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	look("overview", "/", "table.journeys")
	look("run", "/runs/"+fx.failed.ID, "svg.waterfall")
	look("journey", "/journeys/guest-checkout", ".days")

	look("incident", "/incidents/"+fx.open.Ref(), "section.actions")
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`form[hx-post$="/ack"] input[name=by]`), "dana"),
		chromedp.SendKeys(chromedp.CSS(`form[hx-post$="/ack"] input[name=note]`), "looking at the payment provider"),
		chromedp.Click(chromedp.CSS(`form[hx-post$="/ack"] button`)),
	); err != nil {
		t.Fatal(err)
	}
	// The page reloads itself (HX-Refresh) once the API has answered, and
	// shows the acknowledgement: by then the store holds it.
	if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS(`button[disabled]`))); err != nil {
		t.Fatalf("the page did not reload acknowledged: %v", err)
	}
	inc, err := fx.st.Incident(t.Context(), fx.open.ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != results.IncidentAcknowledged || inc.AcknowledgedBy != "dana" {
		t.Fatalf("the incident was not acknowledged through the page: %s by %q", inc.State, inc.AcknowledgedBy)
	}
	look("incident-acknowledged", "/incidents/"+fx.open.Ref(), "ol.timeline")
	tl, err := fx.st.Timeline(t.Context(), fx.open.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(eventKinds(tl), "acknowledged") {
		t.Errorf("timeline %s lacks the acknowledgement", eventKinds(tl))
	}

	look("hostile-run", "/runs/"+fx.hostile.ID, "svg.waterfall")
	handlers, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("img[onerror], [onload]").length`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".card.alert .error-text")))
	if err != nil {
		t.Fatal(err)
	}
	if handlers != 0 || !strings.Contains(text, hostileScript) {
		t.Errorf("hostile run page: %d elements with handlers, error text %q", handlers, text)
	}
}

// eventKinds lists a timeline's kinds.
func eventKinds(tl []results.IncidentEvent) string {
	var out []string
	for _, e := range tl {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}
