package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storetest"
)

// These tests drive the whole CLI in-process through run(), against the
// demo shop on a real local server and a real Chromium.

const examplesDir = "../../examples/journeys"

var jpegMagic = []byte{0xFF, 0xD8, 0xFF}

// syncBuffer is a bytes.Buffer safe for the CLI's concurrent writers
// (progress from parallel runs, several loggers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// seen is closed once the buffer holds every one of needles, when
	// there are some.
	needles []string
	seen    chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if len(s.needles) > 0 && !slices.ContainsFunc(s.needles, func(n string) bool { return !bytes.Contains(s.b.Bytes(), []byte(n)) }) {
		close(s.seen)
		s.needles = nil
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what one CLI invocation gave back.
type result struct {
	code           int
	stdout, stderr string
}

// envFunc is a getenv over a fixed map: the process environment stays out.
func envFunc(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// start runs the CLI in a goroutine; wait for it with await.
func start(ctx context.Context, env map[string]string, args ...string) <-chan result {
	done, _ := startWatching(ctx, env, "", args...)
	return done
}

// startWatching is start, and also closes seen once stdout holds needle
// (never when needle is ""), so a test can wait for what the command says
// instead of guessing a delay.
func startWatching(ctx context.Context, env map[string]string, needle string, args ...string) (done <-chan result, seen <-chan struct{}) {
	var needles []string
	if needle != "" {
		needles = []string{needle}
	}
	return startWatchingAll(ctx, env, needles, args...)
}

// startWatchingAll is startWatching for several needles: seen is closed
// once stdout holds them all.
func startWatchingAll(ctx context.Context, env map[string]string, needles []string, args ...string) (done <-chan result, seen <-chan struct{}) {
	d := make(chan result, 1)
	out := &syncBuffer{needles: needles, seen: make(chan struct{})}
	go func() {
		var errOut syncBuffer
		code := run(ctx, args, out, &errOut, envFunc(env))
		d <- result{code, out.String(), errOut.String()}
	}()
	return d, out.seen
}

// await waits at most limit for the CLI to return.
func await(t *testing.T, done <-chan result, limit time.Duration) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(limit):
		t.Fatalf("waymark did not return within %s", limit)
		return result{}
	}
}

// cli runs the CLI to completion (at most a minute).
func cli(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return await(t, start(t.Context(), env, args...), time.Minute)
}

// serveShop serves h on 127.0.0.1 until the test ends.
func serveShop(t *testing.T, shop *examples.Shop, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		shop.Close() // release hanging requests, or srv.Close waits for them
		srv.Close()
	})
	return srv.URL
}

// openStore opens the database a run recorded into.
func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open recorded database: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// storedRuns reads back every stored run with its steps.
func storedRuns(t *testing.T, st *store.Store) []*results.Run {
	t.Helper()
	list, err := st.Runs(t.Context(), store.RunFilter{})
	if err != nil {
		t.Fatalf("list runs: %v", err)
	}
	var out []*results.Run
	for _, r := range list {
		full, err := st.Run(t.Context(), r.ID)
		if err != nil {
			t.Fatalf("read run %s: %v", r.ID, err)
		}
		out = append(out, full)
	}
	return out
}

// exampleJourneysByName loads the example journeys as the CLI sees them.
func exampleJourneysByName(t *testing.T) map[string]*journeys.Journey {
	t.Helper()
	js, err := journeys.Load(examplesDir)
	if err != nil {
		t.Fatalf("load examples: %v", err)
	}
	m := map[string]*journeys.Journey{}
	for _, j := range js {
		m[j.Name] = j
	}
	if len(m) != 3 {
		t.Fatalf("want 3 example journeys, got %d", len(m))
	}
	return m
}

// junitDoc is the part of a JUnit report the tests read.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Type string `xml:"type,attr"`
				Body string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read junit: %v", err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode junit %s: %v\n%s", path, err, data)
	}
	return doc
}

// passed says whether a run of an example journey against a healthy shop
// turned out as it should. Degraded counts (it exits 0 too): the examples
// have warn thresholds as low as 1s, which a loaded test machine crosses.
func passed(o results.Outcome) bool {
	return o == results.Passed || o == results.Degraded
}

func TestValidateExamples(t *testing.T) {
	t.Parallel()
	r := cli(t, nil, "validate", examplesDir)
	if r.code != reports.ExitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	for name, j := range exampleJourneysByName(t) {
		want := fmt.Sprintf("ok  %s  %s (%d steps)", j.File, name, len(j.Steps))
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestRunAllExamplesPass(t *testing.T) {
	t.Parallel()
	shop := examples.NewShop(examples.Options{})
	base := serveShop(t, shop, shop)
	dir := t.TempDir()
	db, junit, jsonOut := filepath.Join(dir, "w.db"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "out.json")
	r := cli(t, map[string]string{"CI": "true"}, "run", examplesDir, "--base-url", base,
		"--junit", junit, "--json", jsonOut, "--artifacts", filepath.Join(dir, "art"), "--record", "--database", db)
	if r.code != reports.ExitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := exampleJourneysByName(t)

	runs := storedRuns(t, openStore(t, db))
	if len(runs) != 3 {
		t.Fatalf("stored %d runs, want 3", len(runs))
	}
	ids := map[string]bool{}
	for _, run := range runs {
		ids[run.ID] = true
		j := want[run.Journey]
		if j == nil {
			t.Errorf("stored run of unknown journey %q", run.Journey)
			continue
		}
		if !passed(run.Outcome) || run.Trigger != results.TriggerCI || run.FailingStep != 0 {
			t.Errorf("%s: outcome %s trigger %s failing step %d, want passed (or degraded) ci 0 (error %q)",
				run.Journey, run.Outcome, run.Trigger, run.FailingStep, run.Error)
		}
		if len(run.Steps) != len(j.Steps) {
			t.Errorf("%s: stored %d steps, want %d", run.Journey, len(run.Steps), len(j.Steps))
			continue
		}
		for i, s := range run.Steps {
			js := j.Steps[i]
			if s.Index != js.Index || s.Name != js.Name || s.Line != js.Pos.Line ||
				(s.Status != results.StepPassed && s.Status != results.StepDegraded) {
				t.Errorf("%s step %d: got index %d %q line %d %s, want %d %q line %d passed (or degraded)",
					run.Journey, i+1, s.Index, s.Name, s.Line, s.Status, js.Index, js.Name, js.Pos.Line)
			}
			if js.Action != journeys.ActGoto {
				continue
			}
			if s.HTTPStatus != http.StatusOK {
				t.Errorf("%s step %d (goto): http_status %d, want 200", run.Journey, s.Index, s.HTTPStatus)
			}
			if s.Timings == nil || s.Timings.TTFB <= 0 || s.Timings.Load <= 0 || s.Timings.Requests < 1 {
				t.Errorf("%s step %d (goto): timings %+v, want TTFB, load and requests", run.Journey, s.Index, s.Timings)
			}
		}
	}

	doc := readJUnit(t, junit)
	if len(doc.Suites) != 3 || doc.Failures != 0 {
		t.Fatalf("junit: %d suites, %d failures; want 3 and 0", len(doc.Suites), doc.Failures)
	}
	for _, s := range doc.Suites {
		j := want[s.Name]
		if j == nil || s.Tests != len(j.Steps) || s.Failures != 0 || s.Errors != 0 {
			t.Errorf("junit suite %q: %d tests %d failures %d errors; want the journey's step count and none failed",
				s.Name, s.Tests, s.Failures, s.Errors)
		}
	}

	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Runs []struct {
			ID, Outcome string
		} `json:"runs"`
		Summary struct {
			Total, Passed, Degraded int
			ExitCode                int `json:"exit_code"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("decode json report: %v", err)
	}
	if rep.Summary.Total != 3 || rep.Summary.Passed+rep.Summary.Degraded != 3 || rep.Summary.ExitCode != 0 || len(rep.Runs) != 3 {
		t.Errorf("json summary %+v with %d runs, want 3 passed (or degraded), exit 0", rep.Summary, len(rep.Runs))
	}
	for _, jr := range rep.Runs {
		if !ids[jr.ID] {
			t.Errorf("json run %s is not a stored run", jr.ID)
		}
	}
}

func TestRunPaymentFault(t *testing.T) {
	t.Parallel()
	faults, err := examples.ParseFaults("payment=500")
	if err != nil {
		t.Fatal(err)
	}
	shop := examples.NewShop(examples.Options{Faults: faults})
	base := serveShop(t, shop, shop)
	dir := t.TempDir()
	file := filepath.Join(examplesDir, "guest-checkout.yaml")
	db, junit, art := filepath.Join(dir, "w.db"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "art")
	r := cli(t, nil, "run", file, "--base-url", base, "--record", "--database", db, "--junit", junit, "--artifacts", art)
	if r.code != reports.ExitFailed {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	st := openStore(t, db)
	runs := storedRuns(t, st)
	if len(runs) != 1 {
		t.Fatalf("stored %d runs, want 1", len(runs))
	}
	run := runs[0]
	step := run.DecidingStep()
	if run.Outcome != results.Failed || run.Cause != results.CauseHTTP || step == nil || step.Name != "Pay" ||
		run.FailingStep != step.Index || step.Cause != results.CauseHTTP {
		t.Fatalf("run %s cause %s failing step %d (%+v), want failed at Pay with cause http", run.Outcome, run.Cause, run.FailingStep, step)
	}
	var shot *results.Artifact
	for i := range step.Artifacts {
		if step.Artifacts[i].Kind == results.ArtifactScreenshot {
			shot = &step.Artifacts[i]
		}
	}
	if shot == nil {
		t.Fatalf("failing step has no screenshot: %+v", step.Artifacts)
	}
	blob, err := st.Blob(t.Context(), shot.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(blob, jpegMagic) {
		t.Errorf("stored screenshot is not a JPEG: % x", blob[:min(len(blob), 8)])
	}

	// The JUnit failure says where the step is and which file to look at.
	doc := readJUnit(t, junit)
	var body string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				body += c.Failure.Body
				if c.Failure.Type != string(results.CauseHTTP) || !strings.HasSuffix(c.Name, " Pay") {
					t.Errorf("junit failure on %q typed %q, want the Pay step typed http", c.Name, c.Failure.Type)
				}
			}
		}
	}
	if doc.Failures != 1 {
		t.Errorf("junit has %d failures, want 1", doc.Failures)
	}
	if where := fmt.Sprintf("%s:%d", file, step.Line); !strings.Contains(body, where) {
		t.Errorf("junit failure lacks %q:\n%s", where, body)
	}
	_, shotPath, ok := strings.Cut(body, "screenshot: ")
	shotPath, _, _ = strings.Cut(shotPath, "\n")
	if !ok || !strings.HasPrefix(shotPath, art+string(filepath.Separator)) {
		t.Fatalf("junit failure names no screenshot under %s:\n%s", art, body)
	}

	// The artifacts folder holds that very screenshot.
	onDisk, err := os.ReadFile(shotPath)
	if err != nil {
		t.Fatalf("screenshot named in junit: %v", err)
	}
	if sum := sha256.Sum256(onDisk); hex.EncodeToString(sum[:]) != shot.Hash || !bytes.HasPrefix(onDisk, jpegMagic) {
		t.Errorf("%s is not the stored JPEG %s", shotPath, shot.Hash)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	journey := func(extra string) string {
		return "name: x\nsite: http://127.0.0.1:1\n" + extra + "steps:\n  - goto: /\n"
	}
	// database makes a database of the current schema at path.
	database := func(t *testing.T, path string) {
		t.Helper()
		st, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	tests := []struct {
		name  string
		file  string                         // journey file content, written as DIR/j.yaml; "" = use the examples
		setup func(t *testing.T, dir string) // makes what the case needs in DIR
		args  []string                       // after "run PATH"
		want  []string                       // in the one line on stderr
	}{
		{"malformed YAML", "name: x\nsteps:\n  - goto: [\n", nil, nil, []string{"j.yaml:3", "YAML"}},
		{"unknown key", journey("colour: blue\n"), nil, nil, []string{"j.yaml:3:1", `unknown key "colour"`}},
		{"bad cron", journey("schedule: \"61 * * * *\"\n"), nil, nil, []string{"j.yaml:3:", "schedule", "cron"}},
		{"bad duration", journey("timeout: 5 parsecs\n"), nil, nil, []string{"j.yaml:3:", "timeout", "duration", "10s"}},
		{"secret not set", journey("vars: {password: \"${secret:WM_TEST_UNSET_SECRET}\"}\n"), nil, nil,
			[]string{"j.yaml:3:", "secret WM_TEST_UNSET_SECRET is not set"}},
		{"missing path", "", nil, []string{"DIR/nope.yaml"}, []string{"nope.yaml", "not found"}},
		{"base URL not a URL", "", nil, []string{"--base-url", "not-a-url"}, []string{"--base-url", "not-a-url", "http"}},
		{"base URL not http", "", nil, []string{"--base-url", "ftp://x"}, []string{"--base-url", "ftp://x", "http"}},
		{"base URL without host", "", nil, []string{"--base-url", "http://:80"},
			[]string{"--base-url", `"http://:80"`, "no host name", "want an absolute http(s) URL"}},
		{"base URL port out of range", "", nil, []string{"--base-url", "http://127.0.0.1:99999"},
			[]string{"--base-url", `"http://127.0.0.1:99999"`, "port 99999", "want a port from 1 to 65535"}},
		{"negative parallel", "", nil, []string{"--parallel", "-1"}, []string{"--parallel", "-1"}},
		{"unknown flag", "", nil, []string{"--colour"}, []string{"unknown flag", "--colour"}},
		{"database dir missing", "", nil, []string{"--database", "/nonexistent-dir/w.db"}, []string{"/nonexistent-dir"}},
		{"database read-only", "", func(t *testing.T, dir string) {
			database(t, filepath.Join(dir, "ro.db"))
			storetest.ReadOnly(t, filepath.Join(dir, "ro.db"))
		}, []string{"--database", "DIR/ro.db"}, []string{`open database "DIR/ro.db"`, `file "DIR/ro.db" is not writable`}},
		{"database in a read-only directory", "", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "ro"), 0o755); err != nil {
				t.Fatal(err)
			}
			database(t, filepath.Join(dir, "ro", "w.db"))
			storetest.ReadOnly(t, filepath.Join(dir, "ro"))
		}, []string{"--database", "DIR/ro/w.db"}, []string{`open database "DIR/ro/w.db"`, `directory "DIR/ro" is not writable`}},
		{"junit unwritable", "", nil, []string{"--junit", "/proc/nope/j.xml"},
			[]string{`--junit "/proc/nope/j.xml"`, `directory "/proc" is not writable`, "want a file"}},
		{"junit is a directory", "", nil, []string{"--junit", "DIR"}, []string{`--junit "DIR"`, "is a directory", "want a file"}},
		{"json is a directory", "", nil, []string{"--json", "DIR"}, []string{`--json "DIR"`, "is a directory", "want a file"}},
		{"junit under a file", "", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"--junit", "DIR/plain/j.xml"}, []string{`--junit "DIR/plain/j.xml"`, `"DIR/plain" is not a directory`}},
		{"json in a read-only directory", "", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "ro"), 0o755); err != nil {
				t.Fatal(err)
			}
			storetest.ReadOnly(t, filepath.Join(dir, "ro"))
		}, []string{"--json", "DIR/ro/new/r.json"}, []string{`--json "DIR/ro/new/r.json"`, `directory "DIR/ro" is not writable`}},
		{"artifacts unwritable", "", nil, []string{"--artifacts", "/proc/art"},
			[]string{`--artifacts "/proc/art"`, `directory "/proc" is not writable`, "want a directory"}},
		{"artifacts is a file", "", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"--artifacts", "DIR/plain"}, []string{`--artifacts "DIR/plain"`, `"DIR/plain" is not a directory`, "want a directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := examplesDir
			if tc.file != "" {
				path = filepath.Join(dir, "j.yaml")
				if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			// Every journey runs against this site (a case's own --base-url
			// comes later and wins), so a run that started shows as a request.
			var requests atomic.Int64
			site := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
			defer site.Close()
			db := filepath.Join(dir, "x.db")
			args := []string{"run", path, "--record", "--database", db, "--base-url", site.URL}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "DIR", dir))
			}
			before := storetest.Listing(t, dir)
			// The last --database wins, so the nonexistent one replaces db.
			r := cli(t, nil, args...)
			if r.code != reports.ExitBadInput {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "waymark: ") {
				t.Errorf("stderr is not one line starting %q:\n%s", "waymark: ", r.stderr)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r.stderr)
				}
			}
			if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("database %s was created (stat: %v)", db, err)
			}
			if n := requests.Load(); n != 0 {
				t.Errorf("the site got %d requests, want none: a run started", n)
			}
			if after := storetest.Listing(t, dir); !slices.Equal(after, before) {
				t.Errorf("files changed\nbefore: %q\n after: %q", before, after)
			}
		})
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // in the error; "" for none
	}{
		{"http://127.0.0.1:8085", ""},
		{"https://shop.example.com", ""},
		{"http://shop.example.com:65535/base/", ""},
		{"http://[::1]:8085", ""},
		{"http://user:pw@localhost:1", ""},
		{"not-a-url", "want an absolute http(s) URL"},
		{"ftp://x", "want an absolute http(s) URL"},
		{"http:///path", "want an absolute http(s) URL"},
		{"http://:80", "no host name"},
		{"http://user@:80", "no host name"},
		{"http://127.0.0.1:99999", "port 99999: want a port from 1 to 65535"},
		{"http://127.0.0.1:65536", "port 65536: want a port from 1 to 65535"},
		{"http://127.0.0.1:0", "port 0: want a port from 1 to 65535"},
		{"http://127.0.0.1:99999999999999999999", "port 99999999999999999999: want a port from 1 to 65535"},
		{"http://127.0.0.1:80a", "want an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := checkBaseURL(tt.url)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkBaseURL(%q) = %v, want it accepted", tt.url, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("checkBaseURL(%q) = %v, want an error with %q", tt.url, err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), fmt.Sprintf("--base-url %q: ", tt.url)):
				t.Errorf("checkBaseURL(%q) = %v, want it to name the flag and the value", tt.url, err)
			}
		})
	}
}

// TestCheckOutputPaths checks checkWritable (report files) and checkDir
// (the artifacts directory): what they accept and refuse, and that they
// create nothing either way.
func TestCheckOutputPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		check func(string) error
		path  string // DIR is the test's directory
		want  string // the error; "" to accept
	}{
		{"new file", nil, checkWritable, "DIR/j.xml", ""},
		{"new file in new directories", nil, checkWritable, "DIR/a/b/j.xml", ""},
		{"existing file", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "j.xml")) }, checkWritable, "DIR/j.xml", ""},
		{"a device", nil, checkWritable, "/dev/null", ""},
		{"a directory", nil, checkWritable, "DIR", "is a directory"},
		{"under a file", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "f")) }, checkWritable,
			"DIR/f/a/j.xml", `"DIR/f" is not a directory`},
		{"under /proc", nil, checkWritable, "/proc/waymark/j.xml", `directory "/proc" is not writable`},
		{"read-only file", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "j.xml"))
			storetest.ReadOnly(t, filepath.Join(dir, "j.xml"))
		}, checkWritable, "DIR/j.xml", "the file is not writable"},
		{"in a read-only directory", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "ro"), 0o755); err != nil {
				t.Fatal(err)
			}
			storetest.ReadOnly(t, filepath.Join(dir, "ro"))
		}, checkWritable, "DIR/ro/a/j.xml", `directory "DIR/ro" is not writable`},

		{"existing directory", nil, checkDir, "DIR", ""},
		{"new directories", nil, checkDir, "DIR/a/b", ""},
		{"new directory, trailing slash", nil, checkDir, "DIR/a/", ""},
		{"a file", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "f")) }, checkDir, "DIR/f", `"DIR/f" is not a directory`},
		{"directory under /proc", nil, checkDir, "/proc/art", `directory "/proc" is not writable`},
		{"read-only directory", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "ro"), 0o755); err != nil {
				t.Fatal(err)
			}
			storetest.ReadOnly(t, filepath.Join(dir, "ro"))
		}, checkDir, "DIR/ro", `directory "DIR/ro" is not writable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := storetest.Listing(t, dir)
			err := tt.check(strings.ReplaceAll(tt.path, "DIR", dir))
			if want := strings.ReplaceAll(tt.want, "DIR", dir); fmt.Sprint(err) != want && !(want == "" && err == nil) {
				t.Errorf("check(%q) = %v, want %s", tt.path, err, cmp.Or(want, "nil"))
			}
			if after := storetest.Listing(t, dir); !slices.Equal(after, before) {
				t.Errorf("the check changed files\nbefore: %q\n after: %q", before, after)
			}
		})
	}
}

// write creates an empty file at path.
func write(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReportDirsCreated runs with report and artifact paths in directories
// that do not exist yet: the checks create nothing, so the directories must
// still be made for the reports.
func TestReportDirsCreated(t *testing.T) {
	t.Parallel()
	faults, err := examples.ParseFaults("payment=500")
	if err != nil {
		t.Fatal(err)
	}
	shop := examples.NewShop(examples.Options{Faults: faults})
	base := serveShop(t, shop, shop)
	dir := t.TempDir()
	junit, jsonOut, art := filepath.Join(dir, "a", "b", "junit.xml"), filepath.Join(dir, "c", "out.json"), filepath.Join(dir, "d", "e")
	r := cli(t, nil, "run", filepath.Join(examplesDir, "guest-checkout.yaml"), "--base-url", base,
		"--junit", junit, "--json", jsonOut, "--artifacts", art)
	if r.code != reports.ExitFailed {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{junit, jsonOut} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("report %s: %v, want it written", p, err)
		}
	}
	if shots, err := filepath.Glob(filepath.Join(art, "*", "*", "*.jpg")); err != nil || len(shots) == 0 {
		t.Errorf("screenshots under %s: %v (%v), want the failing step's", art, shots, err)
	}
}

// TestBrowserMissing sets the process environment (viper reads it), so it
// does not run in parallel.
func TestBrowserMissing(t *testing.T) {
	t.Setenv("WAYMARK_BROWSER_PATH", "/nonexistent/chromium")
	db := filepath.Join(t.TempDir(), "x.db")
	r := cli(t, nil, "run", filepath.Join(examplesDir, "guest-checkout.yaml"),
		"--base-url", "http://127.0.0.1:1", "--record", "--database", db)
	if r.code != reports.ExitBadInput {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{"/nonexistent/chromium", "apt-get install -y chromium", "browser.path"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	// The browser is checked before anything is created.
	if _, err := os.Stat(db); err == nil {
		t.Errorf("database %s was created although the browser is missing", db)
	}
}

// freeAddr returns a 127.0.0.1 address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestDemoShopOnlyStopsOnCancel(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done, listening := startWatching(ctx, nil, "demo shop on http://"+addr, "demo", "--shop-only", "--listen", addr)
	select {
	case <-listening:
	case r := <-done:
		t.Fatalf("demo returned %d before serving\nstderr:\n%s", r.code, r.stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("demo never said it serves the shop")
	}
	// It says so once it listens: the shop answers at once.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET / right after demo said it serves: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / answered %d", resp.StatusCode)
	}
	cancel()
	r := await(t, done, 10*time.Second)
	if r.code != reports.ExitOK {
		t.Fatalf("exit %d after cancel, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if want := "demo shop on http://" + addr; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Errorf("the shop still serves after demo returned")
	}
}

func TestDemoRunsExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	r := cli(t, nil, "demo", "--once", "--listen", freeAddr(t), "--database", db, "--artifacts", filepath.Join(dir, "art"))
	if r.code != reports.ExitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for name := range exampleJourneysByName(t) {
		if !strings.Contains(r.stdout, name) {
			t.Errorf("stdout does not mention %s:\n%s", name, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "Where to look") || !strings.Contains(r.stdout, db) {
		t.Errorf("stdout lacks \"Where to look\" naming %s:\n%s", db, r.stdout)
	}
	runs := storedRuns(t, openStore(t, db))
	if len(runs) != 3 {
		t.Fatalf("stored %d runs, want 3", len(runs))
	}
	for _, run := range runs {
		if !passed(run.Outcome) || run.Trigger != results.TriggerManual {
			t.Errorf("%s: outcome %s trigger %s, want passed (or degraded) manual (error %q)", run.Journey, run.Outcome, run.Trigger, run.Error)
		}
	}
}

// browsersOf counts the Chromium browser processes (the ones chromedp
// drives over --remote-debugging-pipe) descended from process pid, so
// other programs' browsers on the machine do not count.
func browsersOf(t *testing.T, pid int) int {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	var browsers []int
	for _, p := range procs {
		id, _ := strconv.Atoi(filepath.Base(p))
		stat, err := os.ReadFile(p + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		parent[id], _ = strconv.Atoi(fields[1])
		if cmd, err := os.ReadFile(p + "/cmdline"); err == nil && bytes.Contains(cmd, []byte("--remote-debugging-pipe")) {
			browsers = append(browsers, id)
		}
	}
	n := 0
	for _, b := range browsers {
		for p := parent[b]; p > 1; p = parent[p] {
			if p == pid {
				n++
				break
			}
		}
	}
	return n
}

// TestInterrupt cancels a run stuck on a hanging page, as Ctrl-C does.
// The run cut short is kept as aborted; the journey that never started
// (one at a time) is neither stored nor reported; JUnit and JSON are
// written for what finished. It counts this process's browsers, so it does
// not run in parallel.
func TestInterrupt(t *testing.T) {
	before := browsersOf(t, os.Getpid())
	faults, err := examples.ParseFaults("home=hang")
	if err != nil {
		t.Fatal(err)
	}
	shop := examples.NewShop(examples.Options{Faults: faults})
	hanging := make(chan struct{})
	var once sync.Once
	base := serveShop(t, shop, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			once.Do(func() { close(hanging) })
		}
		shop.ServeHTTP(w, r)
	}))
	dir := t.TempDir()
	db, junit, jsonOut := filepath.Join(dir, "w.db"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "run.json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := start(ctx, nil, "run", filepath.Join(examplesDir, "guest-checkout.yaml"), filepath.Join(examplesDir, "search-and-add.yaml"),
		"--parallel", "1", "--base-url", base, "--record", "--database", db, "--junit", junit, "--json", jsonOut)
	select {
	case <-hanging:
	case r := <-done:
		t.Fatalf("run returned %d before reaching the hanging page\nstderr:\n%s", r.code, r.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("the run never requested the home page")
	}
	cancel()
	r := await(t, done, 15*time.Second)
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("stderr does not say interrupted:\n%s", r.stderr)
	}

	runs := storedRuns(t, openStore(t, db))
	if len(runs) != 1 || runs[0].Outcome != results.Aborted || runs[0].Journey != "guest-checkout" {
		for _, run := range runs {
			t.Logf("stored %s: %s %s", run.Journey, run.Outcome, run.Error)
		}
		t.Fatalf("stored %d runs, want guest-checkout alone, aborted", len(runs))
	}
	doc := readJUnit(t, junit)
	if len(doc.Suites) != 1 || doc.Failures != 0 {
		t.Errorf("junit: %d suites, %d failures; want the aborted run alone, no failure", len(doc.Suites), doc.Failures)
	}
	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatalf("no JSON report after the interrupt: %v", err)
	}
	var rep struct {
		Runs []struct{ Journey, Outcome string } `json:"runs"`
	}
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Runs) != 1 || rep.Runs[0].Outcome != "aborted" {
		t.Errorf("json report %+v (%v), want the one aborted run", rep.Runs, err)
	}

	// The pool waits for Chromium to exit before run returns.
	if n := browsersOf(t, os.Getpid()); n > before {
		t.Fatalf("%d Chromium processes left behind (%d before the run)", n-before, before)
	}
}
