package browser_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/runner/browser"
)

func TestNotInstalled(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts browser.Options
		want string
	}{
		{"configured path missing", browser.Options{Path: "/nonexistent/chromium"}, `cannot start browser "/nonexistent/chromium"`},
		{"nothing on PATH", browser.Options{LookPath: func(string) (string, error) { return "", errors.New("not found") }}, "no Chromium found on PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := browser.New(tc.opts)
			defer p.Close()
			_, _, err := p.Tab(t.Context())
			var ni *browser.NotInstalledError
			if !errors.As(err, &ni) {
				t.Fatalf("Tab error = %v, want NotInstalledError", err)
			}
			for _, want := range []string{tc.want, "apt-get install -y chromium", "browser.path"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestLifecycle checks one process serves isolated tabs, is relaunched
// after a crash, and leaves no process or profile behind on Close.
func TestLifecycle(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: "first"})
		}
		w.Write([]byte("<title>t</title>ok"))
	}))
	defer srv.Close()

	p := browser.New(browser.Options{})
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := p.Version(); v == "" {
		t.Error("Version is empty after Start")
	}

	cookie := func(tab context.Context) string {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		v, err := chromedp.Run(tab, chromedp.Evaluate[string]("document.cookie"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	tab1, close1, err := p.Tab(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab1, chromedp.Navigate(srv.URL+"/set")); err != nil {
		t.Fatal(err)
	}
	if got := cookie(tab1); got != "who=first" {
		t.Fatalf("tab 1 cookie = %q, want who=first", got)
	}
	tab2, close2, err := p.Tab(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := cookie(tab2); got != "" {
		t.Errorf("tab 2 sees cookie %q of tab 1: browser contexts are not isolated", got)
	}
	close1()
	close2()

	// A crash: the next tab gets a new process.
	proc := p.Process()
	if proc == nil {
		t.Fatal("no browser process")
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Process() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // waits for the crash to be noticed, not for a result
	}
	tab3, close3, err := p.Tab(t.Context())
	if err != nil {
		t.Fatalf("Tab after crash: %v", err)
	}
	if got := cookie(tab3); got != "" {
		t.Errorf("cookie after relaunch = %q", got)
	}
	close3()
	if n := p.Launches(); n != 2 {
		t.Errorf("Launches = %d, want 2", n)
	}

	last := p.Process()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if last != nil {
		if err := last.Signal(syscall.Signal(0)); err == nil {
			t.Errorf("browser pid %d still running after Close", last.Pid)
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "chromedp-runner*"))
	if len(left) > 0 {
		t.Errorf("profiles left behind: %v", left)
	}
	if _, _, err := p.Tab(t.Context()); !errors.Is(err, browser.ErrClosed) {
		t.Errorf("Tab after Close = %v, want ErrClosed", err)
	}
}
