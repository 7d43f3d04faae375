package journeys

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	if want := (Alert{Failures: 3, Within: 5, DegradedAfter: 3, RemindEvery: time.Hour}); j.Alert != want {
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
