package journeys

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestInvalidGolden parses every testdata/invalid-*.yaml and compares all of
// its errors with testdata/invalid-*.golden.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			j, err := Parse(f, data)
			if err == nil {
				t.Fatalf("Parse(%s) succeeded, want errors", f)
			}
			if j != nil {
				t.Errorf("Parse(%s) returned a journey with its errors", f)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse(%s) error is %T, want ErrorList", f, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors of %s differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", f, golden, got, want)
			}
		})
	}
}

func parseFixture(t *testing.T, f string) *Journey {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Parse(f, data)
	if err != nil {
		t.Fatalf("Parse(%s):\n%v", f, err)
	}
	return j
}

func TestParseValidJourney(t *testing.T) {
	j := parseFixture(t, "testdata/valid/guest-checkout.yaml")
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("Name", j.Name, "guest-checkout")
	eq("Title", j.Title, "Guest buys two items")
	eq("Site", j.Site, "${env:SHOP_URL:-http://127.0.0.1:8085}")
	eq("Schedule", j.Schedule, "@every 5m")
	eq("Timeout", j.Timeout, 60*time.Second)
	eq("Owner", j.Owner, "web-team")
	eq("Customer", j.Customer, "acme")
	eq("Tags", strings.Join(j.Tags, ","), "shop,checkout")
	eq("Device", j.Device, Device{Name: "desktop", Width: 1366, Height: 768})
	eq("Screenshots", j.Screenshots, ScreenshotsOnFailure)
	eq("Thresholds", j.Thresholds, Thresholds{Warn: 6 * time.Second, Fail: 15 * time.Second})
	eq("Alert", j.Alert, Alert{After: 2, ResolveAfter: 1, Severity: "critical"})
	eq("Block", strings.Join(j.Block, " "), "*google-analytics.com* */collect?*")
	eq("Headers", j.Headers["X-Synthetic-Monitor"], "waymark")
	eq("Vars", len(j.Vars), 2)
	eq("Vars[1]", j.Vars[1], Var{Name: "password", Value: "${secret:SHOP_PASSWORD}", Pos: Pos{17, 3}})
	eq("len(Steps)", len(j.Steps), 13)
	eq("Warnings", len(j.Warnings), 0)
	if len(j.Hash) != 64 {
		t.Errorf("Hash = %q, want 64 hex digits", j.Hash)
	}

	steps := []struct {
		idx    int
		name   string
		action Action
		pos    Pos
		check  func(s Step) bool
	}{
		{1, "Home page", ActGoto, Pos{19, 5}, func(s Step) bool {
			return s.Target == "/" && s.Threshold == Thresholds{Warn: time.Second, Fail: 3 * time.Second} && s.Timeout == DefaultStepTimeout
		}},
		{2, "click [data-test=add-backpack]", ActClick, Pos{22, 5}, func(s Step) bool {
			return s.Locator == Locator{Kind: LocCSS, Value: "[data-test=add-backpack]", Raw: "[data-test=add-backpack]"}
		}},
		{4, "assert text [data-test=cart-badge]", ActAssert, Pos{24, 5}, func(s Step) bool {
			a := s.Assert
			return a.Kind == "text" && a.Locator.Value == "[data-test=cart-badge]" && a.Match.Equals != nil && *a.Match.Equals == "2"
		}},
		{5, "click text=Checkout", ActClick, Pos{25, 5}, func(s Step) bool {
			return s.Locator.Kind == LocText && s.Locator.Value == "Checkout"
		}},
		{6, "fill #email, #password, #postcode", ActFill, Pos{26, 5}, func(s Step) bool {
			return len(s.Fields) == 3 && s.Fields[0].Locator.Value == "#email" && s.Fields[0].Value == "${email}" &&
				s.Fields[2].Value == "SW1A 1AA"
		}},
		{7, "select #country", ActSelect, Pos{27, 5}, func(s Step) bool { return s.Fields[0].Value == "GB" }},
		{8, "press Enter", ActPress, Pos{28, 5}, func(s Step) bool { return s.Target == "Enter" }},
		{9, "wait_for visible .order-complete", ActWaitFor, Pos{29, 5}, func(s Step) bool {
			return s.WaitFor.Kind == "visible" && s.WaitFor.Locator.Value == ".order-complete" && s.Timeout == 10*time.Second
		}},
		{10, "assert url contains /complete", ActAssert, Pos{30, 5}, func(s Step) bool {
			return s.Assert.Kind == "url" && *s.Assert.Match.Contains == "/complete"
		}},
		{11, "extract order_id", ActExtract, Pos{31, 5}, func(s Step) bool {
			return len(s.Extract) == 1 && s.Extract[0].Name == "order_id" && s.Extract[0].Kind == "text"
		}},
		{12, "screenshot order-complete", ActScreenshot, Pos{32, 5}, func(s Step) bool { return s.Target == "order-complete" }},
		{13, "request DELETE ${site}/api/orders/${order_id}", ActRequest, Pos{33, 5}, func(s Step) bool {
			r := s.Request
			return r.Method == "DELETE" && r.URL == "${site}/api/orders/${order_id}" && slices.Equal(r.Expect.Status, []int{204})
		}},
	}
	for _, tt := range steps {
		s := j.Steps[tt.idx-1]
		if s.Index != tt.idx || s.Name != tt.name || s.Action != tt.action || s.Pos != tt.pos {
			t.Errorf("step %d = {%d %q %s %v}, want {%d %q %s %v}", tt.idx, s.Index, s.Name, s.Action, s.Pos, tt.idx, tt.name, tt.action, tt.pos)
		}
		if !tt.check(s) {
			t.Errorf("step %d %q: fields not as written: %+v", tt.idx, s.Name, s)
		}
	}
}

func TestParseEveryAction(t *testing.T) {
	j := parseFixture(t, "testdata/valid/all-actions.yaml")
	if j.Device != mobile || j.Screenshots != ScreenshotsEveryStep {
		t.Errorf("device, screenshots = %+v, %s", j.Device, j.Screenshots)
	}
	if want := (Alert{Failures: 3, Within: 5, DegradedAfter: 3, RemindEvery: time.Hour, Recheck: 2 * time.Minute, Locations: 2}); j.Alert != want {
		t.Errorf("Alert = %+v, want %+v", j.Alert, want)
	}
	if len(j.Warnings) != 1 || j.Warnings[0].Error() != `testdata/valid/all-actions.yaml:22:5: step 11 "wait 2s": fixed pause; prefer wait_for` {
		t.Errorf("Warnings = %v, want the one wait step", j.Warnings)
	}
	step := func(i int) Step { return j.Steps[i-1] }
	tests := []struct {
		idx  int
		name string
		ok   bool
	}{
		{1, "use", step(1).Use.File == "snippets/login.yaml" && step(1).Use.Path == filepath.Join("testdata/valid/snippets/login.yaml") &&
			step(1).Use.With["password"] == "${secret:ADA_PASSWORD}" && len(step(1).Use.Steps) == 4 && step(1).Use.Steps[1].Fields[0].Value == "${user}"},
		{2, "goto map expect", step(2).Target == "/missing" && slices.Equal(step(2).Expect.Status, []int{404, 410})},
		{3, "goto sibling expect", step(3).Target == "/gone" && slices.Equal(step(3).Expect.Status, []int{410}) && step(3).Optional},
		{4, "xpath", step(4).Locator == Locator{Kind: LocXPath, Value: "//button[2]", Raw: "xpath=//button[2]"}},
		{5, "text contains", step(5).Locator.Kind == LocTextContains && step(5).Locator.Value == "menu"},
		{9, "chord", step(9).Target == "Control+A"},
		{10, "upload resolved", step(10).Fields[0].Value == filepath.Join("testdata/valid/files/avatar.txt")},
		{11, "wait", step(11).Wait == 2*time.Second && step(11).Timeout == DefaultStepTimeout+2*time.Second},
		{12, "wait_for url contains", step(12).WaitFor.Kind == "url" && *step(12).WaitFor.Match.Contains == "/account"},
		{13, "wait_for text matches", *step(13).WaitFor.Match.Matches == "^(ok|done)$" && step(13).WaitFor.Locator.Value == ".status"},
		{14, "step timeout", step(14).Timeout == 30*time.Second},
		{15, "count", *step(15).Assert.Count.Min == 1 && *step(15).Assert.Count.Max == 5 && step(15).Assert.Count.Equals == nil},
		{16, "attribute", step(16).Assert.Attribute == "href" && *step(16).Assert.Match.Contains == "/home"},
		{17, "value uses snippet extract", *step(17).Assert.Match.Equals == "${session_user}"},
		{18, "title equals", *step(18).Assert.Match.Equals == "Account"},
		{19, "url contains", *step(19).Assert.Match.Contains == "/account"},
		{22, "js", step(22).Assert.JS == "document.cookie.includes('sid')"},
		{23, "extract kinds", len(step(23).Extract) == 5 && step(23).Extract[0].Attribute == "content" &&
			step(23).Extract[1].Kind == "url" && step(23).Extract[3].JS == "window.cart.length" && step(23).Extract[4].Kind == "value"},
		{24, "screenshot common key", step(24).Action == ActEval && step(24).Screenshot == "always"},
		{25, "cookie", *step(25).Cookie == Cookie{Name: "consent", Value: "yes", Domain: "shop.example.com"}},
		{26, "request", step(26).Request.Method == "POST" && step(26).Request.Headers["Authorization"] == "Bearer ${token}" &&
			step(26).Request.Extract["cart_id"] == "data.id" && step(26).Request.Expect.JSON["data.ok"] == true &&
			step(26).Request.JSON.(map[string]any)["note"] == "${greeting}"},
		{27, "request defaults", step(27).Request.Method == "GET" && step(27).Always && step(27).Name == "Check the cart"},
		{28, "screenshot action", step(28).Action == ActScreenshot && step(28).Target == "done"},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("step %d (%s) not as written: %+v", tt.idx, tt.name, step(tt.idx))
		}
	}
}

func TestParseCustomDevice(t *testing.T) {
	j := parseFixture(t, "testdata/valid/nightly-report.yml")
	if want := (Device{Width: 800, Height: 600, UserAgent: "WaymarkBot/1"}); j.Device != want {
		t.Errorf("Device = %+v, want %+v", j.Device, want)
	}
	if j.Timeout != 2*time.Minute || j.Schedule != "30 2 * * 1-5" || j.Screenshots != ScreenshotsNever {
		t.Errorf("timeout, schedule, screenshots = %s, %q, %s", j.Timeout, j.Schedule, j.Screenshots)
	}
	if s := j.Steps[0]; s.Timeout != 20*time.Second || s.Threshold.Warn != 2*time.Second {
		t.Errorf("step = %+v", s)
	}
}

// TestSchedules checks the schedules that are accepted; the rejected ones
// are testdata/invalid-cron-*.yaml.
func TestSchedules(t *testing.T) {
	for _, spec := range []string{
		"@every 5s", // tests and demos use it
		"@every 5m",
		"@every 1h30m",
		"@hourly",
		"@daily",
		"30 2 * * 1-5",
		"*/5 * * * *",
		"CRON_TZ=Europe/London 0 9 * * 1-5",
		"TZ=America/New_York 30 8 * * *",
		"CRON_TZ=UTC @every 1m",
	} {
		src := "name: s\nschedule: \"" + spec + "\"\nsteps:\n  - goto: /\n"
		j, err := Parse("schedule.yaml", []byte(src))
		if err != nil {
			t.Errorf("schedule %q: %v", spec, err)
			continue
		}
		if j.Schedule != spec {
			t.Errorf("Schedule = %q, want %q", j.Schedule, spec)
		}
	}
}

func TestLoadFolder(t *testing.T) {
	js, err := Load("testdata/valid")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, j := range js {
		names = append(names, j.Name)
	}
	// snippets/ and _draft.yaml are skipped; .yml counts.
	if want := []string{"all-actions", "guest-checkout", "nightly-report"}; !slices.Equal(names, want) {
		t.Errorf("Load names = %v, want %v", names, want)
	}
}

// TestLoadFS loads journeys from an fs.FS by the rules of a folder, with
// their snippets read from the same fs.FS and every name prefixed.
func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"guest.yaml": {Data: []byte("name: guest\ntags: [shop]\nsteps:\n  - use: {file: snippets/login.yaml, with: {user: ada}}\n" +
			"  - upload: {\"#avatar\": files/avatar.txt}\n")},
		"sub/search.yml":          {Data: []byte("name: search\nsteps:\n  - use: {file: ../snippets/login.yaml, with: {user: bob}}\n")},
		"snippets/login.yaml":     {Data: []byte("params: [user]\nsteps:\n  - fill: {\"#user\": \"${user}\"}\n")},
		"sub/snippets/other.yaml": {Data: []byte("not: a journey\n")},
		".hidden/secret.yaml":     {Data: []byte("not: a journey\n")},
		"_draft.yaml":             {Data: []byte("not: a journey\n")},
		"files/avatar.txt":        {Data: []byte("avatar")},
		"README.md":               {Data: []byte("# journeys\n")},
	}
	js, err := LoadFS(fsys, "examples")
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	var got []string
	for _, j := range js {
		got = append(got, j.Name+" "+j.File)
	}
	if want := []string{"guest examples/guest.yaml", "search examples/sub/search.yml"}; !slices.Equal(got, want) {
		t.Fatalf("LoadFS = %q, want %q", got, want)
	}
	if u := js[0].Steps[0].Use; u.Path != "examples/snippets/login.yaml" || len(u.Steps) != 1 || u.Steps[0].Fields[0].Value != "${user}" {
		t.Errorf("use = %+v, want examples/snippets/login.yaml and its step", u)
	}
	if f := js[0].Steps[1].Fields[0]; f.Value != "examples/files/avatar.txt" {
		t.Errorf("upload = %q, want examples/files/avatar.txt", f.Value)
	}
	if u := js[1].Steps[0].Use; u.Path != "examples/snippets/login.yaml" {
		t.Errorf("use from sub/ = %q, want examples/snippets/login.yaml", u.Path)
	}
}

func TestLoadFSErrors(t *testing.T) {
	const useStep = "name: %s\nsteps:\n  - use: {file: %s}\n"
	tests := []struct {
		name   string
		fsys   fstest.MapFS
		prefix string
		want   string
	}{
		{"missing snippet", fstest.MapFS{"a.yaml": {Data: fmt.Appendf(nil, useStep, "a", "snippets/nope.yaml")}}, "examples",
			`examples/a.yaml:3:17: step 1 "use snippets/nope.yaml": use: snippet file "snippets/nope.yaml" not found (paths are relative to the journey file)`},
		{"snippet outside", fstest.MapFS{"a.yaml": {Data: fmt.Appendf(nil, useStep, "a", "../outside.yaml")}}, "examples",
			`examples/a.yaml:3:17: step 1 "use ../outside.yaml": use: snippet file "../outside.yaml" is outside the folder the journeys were loaded from: want a path inside it, relative to the journey file`},
		{"absolute snippet", fstest.MapFS{"a.yaml": {Data: fmt.Appendf(nil, useStep, "a", "/etc/login.yaml")}}, "examples",
			`examples/a.yaml:3:17: step 1 "use /etc/login.yaml": use: snippet file "/etc/login.yaml" is outside the folder the journeys were loaded from: want a path inside it, relative to the journey file`},
		{"snippet errors", fstest.MapFS{
			"a.yaml":            {Data: fmt.Appendf(nil, useStep, "a", "snippets/bad.yaml")},
			"snippets/bad.yaml": {Data: []byte("steps:\n  - clck: x\n")}}, "examples",
			`examples/snippets/bad.yaml:2:5: step 1: unknown key "clck" (did you mean "click"?)`},
		{"named pipe", fstest.MapFS{"pipe.yaml": {Mode: fs.ModeNamedPipe}}, "examples",
			"examples/pipe.yaml: a named pipe, not a regular file: want a journey YAML file"},
		{"duplicate names", fstest.MapFS{
			"a.yaml":     {Data: []byte("name: same\nsteps:\n  - goto: /\n")},
			"sub/b.yaml": {Data: []byte("name: same\nsteps:\n  - goto: /\n")}}, "examples",
			`examples/sub/b.yaml:1:7: name: duplicate journey name "same": examples/a.yaml has it already; names must be unique`},
		{"no prefix", fstest.MapFS{"a.yaml": {Data: []byte("name: A\nsteps:\n  - goto: /\n")}}, "",
			`a.yaml:1:7: name: bad name "A": want a lowercase slug of a-z, 0-9 and - like guest-checkout`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(tt.fsys, tt.prefix)
			if err == nil || err.Error() != tt.want {
				t.Errorf("LoadFS error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestWithTags(t *testing.T) {
	js := []*Journey{
		{Name: "checkout", Tags: []string{"shop", "checkout"}},
		{Name: "search", Tags: []string{"search"}},
		{Name: "untagged"},
	}
	tests := []struct {
		tags []string
		want []string
	}{
		{nil, []string{"checkout", "search", "untagged"}},
		{[]string{"shop"}, []string{"checkout"}},
		{[]string{"search", "checkout"}, []string{"checkout", "search"}}, // in the journeys' order
		{[]string{"shop", "checkout"}, []string{"checkout"}},             // once, though it has both
		{[]string{"nope"}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, j := range WithTags(js, tt.tags...) {
			got = append(got, j.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("WithTags(%q) = %q, want %q", tt.tags, got, tt.want)
		}
	}
}

func TestLoadDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "name: shop\nsteps:\n  - goto: /\n")
	write("b.yaml", "# same name\nname: shop\nsteps:\n  - goto: /b\n")
	write("c.yaml", "name: other\nsteps:\n  - goto: /c\n")
	js, err := Load(dir)
	want := filepath.Join(dir, "b.yaml") + `:2:7: name: duplicate journey name "shop": ` + filepath.Join(dir, "a.yaml") + " has it already; names must be unique"
	if err == nil || err.Error() != want {
		t.Fatalf("Load error = %v\nwant %s", err, want)
	}
	if len(js) != 2 || js[0].Name != "shop" || js[1].Name != "other" {
		t.Errorf("Load kept %d journeys, want a.yaml and c.yaml", len(js))
	}
}

func TestLoadMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	js, err := Load("testdata/valid/guest-checkout.yaml", missing)
	want := missing + ": not found: want a journey file or a folder of them"
	if err == nil || err.Error() != want {
		t.Fatalf("Load error = %v, want %s", err, want)
	}
	if len(js) != 1 {
		t.Errorf("Load returned %d journeys, want the one that exists", len(js))
	}
}

// TestLoadSizeLimit checks that journey and snippet files over MaxFileSize
// are refused, by their size, with a message naming the file and the limit.
func TestLoadSizeLimit(t *testing.T) {
	dir := t.TempDir()
	const journey = "name: exact\nsteps:\n  - goto: /\n#"
	exact := journey + strings.Repeat("x", MaxFileSize-len(journey)-1) + "\n"
	uses := "name: uses\nsteps:\n  - use: {file: snippet.yaml}\n"
	tests := []struct {
		name string
		file string
		data string
		size int64  // when more than len(data): zero bytes up to it, as a sparse file
		want string // the error after the file's path
	}{
		{"exactly 1 MB", "exact.yaml", exact, 0, ""},
		{"one byte over", "over.yaml", "", MaxFileSize + 1, ": journey files are limited to 1 MB (1048576 bytes); this one is 1048577 bytes"},
		{"5 MB", "big.yaml", "", 5 << 20, ": journey files are limited to 1 MB; this one is 5.0 MB"},
		{"5 GB", "huge.yaml", "", 5 << 30, ": journey files are limited to 1 MB; this one is 5.0 GB"},
		{"snippet", "uses.yaml", uses, 0, `:3:17: step 1 "use snippet.yaml": use: snippet file "snippet.yaml": snippet files are limited to 1 MB; this one is 3.0 MB`},
	}
	if err := os.Truncate(writeFile(t, dir, "snippet.yaml", ""), 3<<20); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, tt.file, tt.data)
			if tt.size > int64(len(tt.data)) {
				if err := os.Truncate(path, tt.size); err != nil {
					t.Skipf("cannot make a sparse file of %d bytes here: %v", tt.size, err)
				}
			}
			js, err := Load(path)
			if tt.want == "" {
				if err != nil || len(js) != 1 {
					t.Errorf("Load = %d journeys, %v; want the journey", len(js), err)
				}
				return
			}
			if err == nil || err.Error() != path+tt.want {
				t.Errorf("Load error:\n%v\nwant:\n%s", err, path+tt.want)
			}
		})
	}
}

// writeFile writes data to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// statOnlyFS is an fs.FS whose big.yaml says it is size bytes long and
// fails the test when it is opened: LoadFS must refuse it by its size.
type statOnlyFS struct {
	fstest.MapFS
	t    *testing.T
	size int64
}

func (f statOnlyFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := f.MapFS.Stat(name)
	if name == "big.yaml" && err == nil {
		return sizedInfo{fi, f.size}, nil
	}
	return fi, err
}

func (f statOnlyFS) Open(name string) (fs.File, error) {
	if name == "big.yaml" {
		f.t.Errorf("big.yaml was opened: a file over the limit must be refused by its size")
	}
	return f.MapFS.Open(name)
}

// sizedInfo is a FileInfo with another size.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

func TestLoadFSRefusesBigFileUnread(t *testing.T) {
	fsys := statOnlyFS{MapFS: fstest.MapFS{"big.yaml": {Data: []byte("name: big\n")}}, t: t, size: 5 << 20}
	_, err := LoadFS(fsys, "embedded")
	if want := "embedded/big.yaml: journey files are limited to 1 MB; this one is 5.0 MB"; err == nil || err.Error() != want {
		t.Errorf("LoadFS error = %v, want %s", err, want)
	}
}

// TestDocumentSize checks the limit on a document's values, and that the
// message blames aliases only when aliases are what made it big.
func TestDocumentSize(t *testing.T) {
	values := func(n int) string { return "[" + strings.Repeat("1,", n-1) + "1]" }
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"many values, under the limit", "name: ok\nsteps:\n  - request: {url: /x, json: " + values(90_000) + "}\n", ""},
		{"too many values, no aliases", "name: big\nsteps:\n  - request: {url: /x, json: " + values(150_000) + "}\n",
			"size.yaml:1:1: the document has too many values: want at most 100000"},
		{"under the limit as written, over it with aliases", "name: aliased\nsteps:\n  - request: {url: /x, json: {a: &a " + values(90_000) + ", b: *a}}\n",
			"size.yaml:1:1: the document is too large once its aliases are expanded: want at most 100000 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.src) >= MaxFileSize {
				t.Fatalf("the document is %d bytes: want it under MaxFileSize, as a file that Load reads", len(tt.src))
			}
			_, err := Parse("size.yaml", []byte(tt.src))
			if tt.want == "" {
				if err != nil {
					t.Errorf("Parse: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestLoadReportsEveryFile(t *testing.T) {
	_, err := Load("testdata/invalid-slug.yaml", "testdata/invalid-cron.yaml")
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("Load error = %v, want one error from each file", err)
	}
	if list[0].File != "testdata/invalid-cron.yaml" || list[1].File != "testdata/invalid-slug.yaml" {
		t.Errorf("errors not sorted by file: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.yaml", Pos: Pos{3, 5}, Step: 3, StepName: "Checkout", Msg: "bad"}, `a.yaml:3:5: step 3 "Checkout": bad`},
		{Error{File: "a.yaml", Pos: Pos{1, 1}, Msg: "bad"}, "a.yaml:1:1: bad"},
		{Error{File: "a.yaml", Pos: Pos{Line: 2}, Msg: "bad"}, "a.yaml:2: bad"},
		{Error{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, and that it returns
// either a journey or an ErrorList.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse("testdata/fuzz.yaml", data)
		var list ErrorList
		if (j == nil) == (err == nil) || (err != nil && !errors.As(err, &list)) {
			t.Fatalf("Parse = %v, %v", j, err)
		}
	})
}

// TestDefinitionHashCoversSnippets: a changed snippet is a changed
// journey; a journey without snippets hashes to its file's sha256.
func TestDefinitionHashCoversSnippets(t *testing.T) {
	journey := []byte("name: guest\nlocations: [eu-west, us-east]\nsteps:\n  - use: {file: snippets/login.yaml}\n")
	hash := func(snippet string) string {
		t.Helper()
		js, err := LoadFS(fstest.MapFS{
			"guest.yaml":          {Data: journey},
			"snippets/login.yaml": {Data: []byte(snippet)},
		}, "j")
		if err != nil {
			t.Fatal(err)
		}
		if got := js[0].Locations; !slices.Equal(got, []string{"eu-west", "us-east"}) {
			t.Errorf("locations = %q", got)
		}
		return js[0].Hash
	}
	a := hash("steps:\n  - goto: /login\n")
	b := hash("steps:\n  - goto: /signin\n")
	if a == b {
		t.Errorf("the hash %s did not change with the snippet", a)
	}
	if a != hash("steps:\n  - goto: /login\n") {
		t.Errorf("the hash is not stable")
	}
	plain := []byte("name: plain\nsteps:\n  - goto: https://shop.example.com/\n")
	j, err := Parse("plain.yaml", plain)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(plain); j.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash of a journey without snippets = %s, want the file's sha256", j.Hash)
	}
}
