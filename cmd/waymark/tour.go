package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/reports/notify"
)

// scheduleLine is a journey file's `schedule:` line.
var scheduleLine = regexp.MustCompile(`(?m)^schedule: .*$`)

// tour serves the demo shop's example journeys as `waymark serve` would,
// with a notification log and the terminal as channels, and breaks the
// shop's payment for a while so that an incident goes from start to end
// before the newcomer's eyes. It runs until ctx ends.
func (a *app) tour(ctx context.Context, cfg *config.Config, t tourTimes, shop *examples.Shop, base string) error {
	dir, err := os.MkdirTemp("", "waymark-tour-")
	if err != nil {
		return fmt.Errorf("tour: %w", err)
	}
	defer os.RemoveAll(dir)
	// The example journeys, on a schedule the tour can show in minutes.
	err = fs.WalkDir(examples.JourneysFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := fs.ReadFile(examples.JourneysFS, path)
		if err != nil {
			return err
		}
		b = scheduleLine.ReplaceAll(b, fmt.Appendf(nil, "schedule: \"@every %s\"", t.every))
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("tour: copy the example journeys: %w", err)
	}

	// The notification log: a webhook receiver, as a service desk would be.
	hook, err := newNotificationLog(a)
	if err != nil {
		return err
	}
	defer hook.close()

	cfg.Journeys = []string{dir}
	cfg.Server.Listen = dashboardAddr(cfg.Server.Listen)
	if err := a.checkAccess(cfg, false); err != nil { // expands server.token, as serve does
		return err
	}
	if cfg.Server.PublicURL == "" {
		cfg.Server.PublicURL = "http://" + cfg.Server.Listen
	}
	cfg.Alert.Recheck = 0
	cfg.Channels = map[string]config.Channel{
		"desk":    {Type: config.ChannelWebhook, URL: hook.url + "/desk"},
		"on-call": {Type: config.ChannelWebhook, URL: hook.url + "/on-call"},
	}
	cfg.Routes = []config.Route{{Escalate: []config.Level{
		{To: []string{"terminal", "desk"}},
		{After: config.Delay(t.escalateAfter), To: []string{"terminal", "on-call"}},
	}}}
	// The journeys' site is ${env:SHOP_URL:-…}: this shop, wherever it
	// listens.
	env := a.getenv
	a.getenv = func(k string) (string, bool) {
		if k == "SHOP_URL" {
			return base, true
		}
		return env(k)
	}
	defer func() { a.getenv = env }()
	fmt.Fprintf(a.stdout, `
Dashboard: %s/  (open it: the runs, the incident and its messages appear there live)

The tour: the example journeys run every %s against the shop, as `+"`waymark serve`"+`
runs yours, recorded in %s. Messages go to this terminal and to a
notification log (a webhook receiver inside the demo, at %s).
In %s the demo breaks the shop's payment for %s: watch the incident open,
be sent, escalate to the on-call level after %s when nobody acknowledges
it, and resolve once payment works again. Ctrl-C stops the tour.

`, cfg.Server.PublicURL, t.every, cfg.Database, hook.url, t.faultAfter, t.faultFor, t.escalateAfter)

	var wg sync.WaitGroup
	defer wg.Wait()
	fctx, stopFaults := context.WithCancel(ctx)
	defer stopFaults()
	wg.Go(func() { a.breakPayment(fctx, shop, t) })
	terminal := notify.NewTerminal(a.stdout)
	return a.serveConfig(ctx, cfg, map[string]notify.Channel{"terminal": terminal})
}

// breakPayment switches the shop's payment=500 on after faultAfter, and
// off faultFor later, saying so and where to look.
func (a *app) breakPayment(ctx context.Context, shop *examples.Shop, t tourTimes) {
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if !wait(t.faultAfter) {
		return
	}
	faults, _ := examples.ParseFaults("payment=500") // a constant that parses
	shop.SetFaults(faults)
	fmt.Fprintf(a.stdout, "\n▶ tour: payment=500 is on for %s: the checkout journeys fail from now on.\n"+
		"  Watch for the incident below; meanwhile `waymark incidents` lists it, `waymark runs` shows the failed runs.\n\n", t.faultFor)
	if !wait(t.faultFor) {
		return
	}
	shop.SetFaults(nil)
	fmt.Fprint(a.stdout, "\n■ tour: payment works again: the next passing runs resolve the incident.\n"+
		"  Then `waymark incidents --all` and `waymark incidents show WM-<n>` tell its whole story.\n\n")
}

// notificationLog is the tour's webhook receiver: it prints one line for
// each message it takes.
type notificationLog struct {
	url string
	srv *http.Server
}

func newNotificationLog(a *app) (*notificationLog, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tour: notification log: %w", err)
	}
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&p); err != nil {
			http.Error(w, "want a Waymark webhook payload", http.StatusBadRequest)
			return
		}
		mu.Lock()
		fmt.Fprintf(a.stdout, "  notification log %s: %s\n", r.URL.Path, p.Summary)
		mu.Unlock()
		// As a service desk would: the ticket of the incident.
		fmt.Fprintf(w, `{"ticket_id": "DESK-%s"}`, strings.TrimPrefix(p.Incident.Reference, "WM-"))
	})
	l := &notificationLog{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger().Error("notification log stopped", "error", err)
		}
	}()
	return l, nil
}

func (l *notificationLog) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
}

// dashboardAddr is where the tour's dashboard listens: the configured
// address (127.0.0.1:8080 by default) when it is free, so the URL is the
// one the README gives, else any free port on loopback.
func dashboardAddr(want string) string {
	for _, addr := range []string{want, "127.0.0.1:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		got := ln.Addr().String()
		ln.Close()
		return got
	}
	return "127.0.0.1:0"
}
