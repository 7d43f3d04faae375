// Package browsertest starts real Chromium processes with a DevTools port
// on loopback, for tests of remote browsers: what a container or a browser
// fleet gives Waymark. Every browser it starts, and its profile, is gone
// when the test ends.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a browser may take to open its DevTools
// port; a loaded CI machine can take seconds.
const startTimeout = 30 * time.Second

// Flags are the switches the browsers start with: headless, and what
// Waymark's own launch uses on a machine without a sandbox, a GPU or a
// network (browser.Flags), with a DevTools port on 127.0.0.1 only.
func Flags() []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update",
		"--no-first-run", "--disable-sync", "--no-default-browser-check",
		"--remote-debugging-address=127.0.0.1",
	}
}

// Chromium is a browser started for a test, listening for DevTools on
// 127.0.0.1.
type Chromium struct {
	// Port is the DevTools port.
	Port int
	// WSURL is the browser's websocket, ws://127.0.0.1:PORT/devtools/browser/ID.
	WSURL string
	// Profile is the browser's fresh user data directory.
	Profile string

	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{} // closed when the process has exited and been reaped
}

// Start launches Chromium on port (0 lets it pick a free one), with a
// fresh profile, and waits until its DevTools port answers. The browser
// and every process it started are killed when the test ends.
func Start(t testing.TB, port int) *Chromium {
	t.Helper()
	path := find(t)
	profile := t.TempDir()
	args := Flags()
	args = append(args, "--remote-debugging-port="+strconv.Itoa(port), "--user-data-dir="+profile, "about:blank")
	cmd := exec.Command(path, args...)
	// A group of its own, so that Kill reaches the renderers and helpers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	c := &Chromium{Profile: profile, cmd: cmd, stderr: stderr, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	// Registered after TempDir, so it runs before the profile is removed.
	t.Cleanup(c.Kill)

	deadline := time.Now().Add(startTimeout)
	for {
		if c.ready(port) {
			break
		}
		select {
		case <-c.exited:
			t.Fatalf("chromium exited before opening its DevTools port: %v\n%s", cmd.ProcessState, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium opened no DevTools port within %s\n%s", startTimeout, stderr)
		}
		time.Sleep(20 * time.Millisecond) // polls for the port, with the deadline above
	}
	return c
}

// ready reports whether the browser's DevTools port answers, and sets
// Port and WSURL. On a port it picked itself, the browser says which in
// the DevToolsActivePort file of its profile (written only then); on a
// given port, its /json/version answers once it listens.
func (c *Chromium) ready(port int) bool {
	if port == 0 {
		data, err := os.ReadFile(filepath.Join(c.Profile, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		p, path, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
		if !ok {
			return false // still being written
		}
		if c.Port, err = strconv.Atoi(p); err != nil {
			return false
		}
		c.WSURL = fmt.Sprintf("ws://127.0.0.1:%d%s", c.Port, strings.TrimSpace(path))
		return true
	}
	c.Port = port
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ws, err := c.version(ctx)
	if err != nil {
		return false
	}
	c.WSURL = ws.WebSocketDebuggerURL
	return true
}

// find is the Chromium binary, as browser.Pool finds it.
func find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium on PATH: run `make setup`")
	return ""
}

// HTTPURL is the browser's DevTools HTTP address, http://127.0.0.1:PORT.
func (c *Chromium) HTTPURL() string { return fmt.Sprintf("http://127.0.0.1:%d", c.Port) }

// Kill kills the browser and every process of its group, and waits until
// it has exited. It may be called more than once.
func (c *Chromium) Kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	pgid := c.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-c.exited
	// The rest of the group (zygotes, renderers, utilities) got the same
	// signal; wait until they are gone too, so that none still holds the
	// port or writes to the profile being removed. Children reparented
	// to an init that does not reap would stay as zombies: give up then.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polls for the group's end, with the deadline above
	}
}

// Exited reports whether the browser process has exited.
func (c *Chromium) Exited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// Target is one entry of the browser's /json/list.
type Target struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Pages lists the page targets (tabs) open in the browser now.
func (c *Chromium) Pages(ctx context.Context) ([]Target, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HTTPURL()+"/json/list", nil)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list targets: %s", resp.Status)
	}
	var all []Target
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	var pages []Target
	for _, tg := range all {
		if tg.Type == "page" {
			pages = append(pages, tg)
		}
	}
	return pages, nil
}

// Product is the browser's product as /json/version says it
// ("Chrome/131.0.6778.85"), the same as the protocol's Browser.getVersion.
func (c *Chromium) Product(ctx context.Context) (string, error) {
	v, err := c.version(ctx)
	if err != nil {
		return "", err
	}
	return v.Browser, nil
}

// versionInfo is what /json/version says.
type versionInfo struct {
	Browser              string `json:"Browser"`
	WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
}

// version asks the browser's /json/version.
func (c *Chromium) version(ctx context.Context) (versionInfo, error) {
	var v versionInfo
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HTTPURL()+"/json/version", nil)
	if err != nil {
		return v, fmt.Errorf("read version: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return v, fmt.Errorf("read version: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("read version: %w", err)
	}
	if v.Browser == "" || v.WebSocketDebuggerURL == "" {
		return v, errors.New("read version: /json/version names no browser")
	}
	return v, nil
}

// syncBuffer is a bytes.Buffer the process writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
