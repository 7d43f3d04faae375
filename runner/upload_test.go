package runner_test

// Tests of upload through a remote browser, which cannot read the
// monitor's disk: a real second Chromium started with a DevTools port.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
	"github.com/waymarkhq/waymark/runner/browser"
	"github.com/waymarkhq/waymark/runner/browser/browsertest"
)

// readerPage has a file input that records its events, and a button that
// reads the chosen file with a FileReader and shows its name, size and
// bytes in hex.
const readerPage = `<!doctype html><title>upload</title>
<input type=file id=f><button id=read>read</button><p id=out>none</p><p id=events></p>
<script>
const seen = [];
f.addEventListener("input", () => seen.push("input"));
f.addEventListener("change", () => { seen.push("change"); events.textContent = seen.join(","); });
read.addEventListener("click", () => {
  const file = f.files[0];
  const r = new FileReader();
  r.onload = () => {
    const hex = Array.from(new Uint8Array(r.result), b => b.toString(16).padStart(2, "0")).join("");
    out.textContent = file.name + " " + file.type + " " + file.size + " " + hex;
  };
  r.onerror = () => { out.textContent = "unreadable: " + r.error.name; };
  r.readAsArrayBuffer(file);
});
</script>`

// remover deletes a file once the upload step has finished, so that the
// page can only read bytes it was sent, not a path on this disk.
type remover struct {
	path string
	once sync.Once
}

func (r *remover) RunStarted(*results.Run)  {}
func (r *remover) RunFinished(*results.Run) {}
func (r *remover) StepFinished(_ *results.Run, s *results.Step) {
	if s.Action == "upload" {
		r.once.Do(func() { os.Remove(r.path) })
	}
}

// TestUploadRemote uploads through a remote browser, by websocket URL and
// by http address: the page reads the file's exact bytes (every byte
// value) although the file is deleted from this disk before the page
// reads it, with input and change fired. A file over the limit is a
// monitor error that says so. A local browser, given a path, cannot read
// a file deleted under it: the check above has teeth.
func TestUploadRemote(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, readerPage)
	}))
	t.Cleanup(srv.Close)
	c := browsertest.Start(t, 0)
	remotePool := func(t *testing.T, url string) runner.Browser {
		p := browser.New(browser.Options{Remote: []browser.Remote{{URL: url}}})
		t.Cleanup(func() { p.Close() })
		return p
	}

	all := make([]byte, 256)
	var hex strings.Builder
	for i := range all {
		all[i] = byte(i)
		fmt.Fprintf(&hex, "%02x", i)
	}
	for _, tc := range []struct {
		name   string
		b      func(*testing.T) runner.Browser
		size   int64 // 0: the 256 bytes
		status results.Status
		cause  results.Cause
		msg    string // in the failing step's error
	}{
		{"websocket URL", func(t *testing.T) runner.Browser { return remotePool(t, c.WSURL) }, 0, results.StepPassed, "", ""},
		{"http address", func(t *testing.T) runner.Browser { return remotePool(t, c.HTTPURL()) }, 0, results.StepPassed, "", ""},
		{"over the limit", func(t *testing.T) runner.Browser { return remotePool(t, c.WSURL) }, 10<<20 + 1, results.StepError, results.CauseMonitor,
			"10.0 MB is more than the 10 MB a remote browser (browser.url) can be sent"},
		{"local browser reads the path", func(*testing.T) runner.Browser { return pool }, 0, results.StepFailed, results.CauseAssertion, "unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "data.bin")
			if err := os.WriteFile(file, all, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.size > 0 {
				if err := os.Truncate(file, tc.size); err != nil {
					t.Fatal(err)
				}
			}
			j := parse(t, fmt.Sprintf(`
name: upload-remote
steps:
  - goto: /
  - upload: {"#f": %q}
  - click: "#read"
  - assert: {text: "#out", equals: "data.bin application/octet-stream 256 %s"}
    timeout: 2s
  - assert: {text: "#events", equals: "input,change"}
    timeout: 2s
`, file, hex.String()))
			r := runner.New(tc.b(t), runner.Options{BaseURL: srv.URL, Observer: &remover{path: file}})
			run, err := r.Run(t.Context(), j)
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == results.StepPassed {
				if run.Outcome != results.Passed {
					t.Fatalf("outcome %s (%s): %s", run.Outcome, run.Cause, run.Error)
				}
				return
			}
			if run.FailingStep == 0 {
				t.Fatalf("outcome %s, want a failing step", run.Outcome)
			}
			s := run.Steps[run.FailingStep-1]
			if s.Status != tc.status || s.Cause != tc.cause || !strings.Contains(s.Error+s.Actual, tc.msg) {
				t.Errorf("step %d %s: %s (%s) %q actual %q, want %s (%s) saying %q",
					s.Index, s.Action, s.Status, s.Cause, s.Error, s.Actual, tc.status, tc.cause, tc.msg)
			}
		})
	}
}
