package period

import (
	"bytes"
	"encoding/base64"
	"flag"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results/store"
)

// update is read once TestMain has parsed the flags.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

// TestGolden renders the fixture's report and review in every text
// format and compares them with testdata/*.golden. The store is
// aggregated up to 5 March, so the report reads both the aggregates and
// the runs after them.
func TestGolden(t *testing.T) {
	t.Parallel()
	st := openFixture(t, day(5, 0, 30))
	acme := periodOptions()
	acme.Customer = "acme"
	for _, tc := range []struct {
		file  string
		opts  Options
		write func(io.Writer, *Report) error
	}{
		{"report.md.golden", periodOptions(), WriteMarkdown},
		{"report.json.golden", periodOptions(), WriteJSON},
		{"report.csv.golden", periodOptions(), WriteCSV},
		{"report-acme.md.golden", acme, WriteMarkdown},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Build(t.Context(), st, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tc.write(&b, r); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
	for _, tc := range []struct {
		file  string
		write func(io.Writer, *ReviewReport) error
	}{
		{"review.md.golden", WriteReviewMarkdown},
		{"review.json.golden", WriteReviewJSON},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rv, err := Review(t.Context(), st, periodOptions())
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tc.write(&b, rv); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// TestAggregatedOrNot builds the same report from a store never pruned
// (every hour computed from the runs), one aggregated half way and one
// aggregated past the period: the figures must not depend on it.
func TestAggregatedOrNot(t *testing.T) {
	t.Parallel()
	var want string
	for i, at := range fixtureAggregations() {
		st := openFixture(t, at)
		r, err := Build(t.Context(), st, periodOptions())
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		rv, err := Review(t.Context(), st, periodOptions())
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteReviewJSON(&b, rv); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = b.String()
		} else if b.String() != want {
			t.Errorf("aggregated until %s, the report differs from the one of raw runs:\n%s\nwant:\n%s", at, b.String(), want)
		}
	}
}

// TestPostgres: the report and the review read the same from PostgreSQL
// as from SQLite (the store's queries are rebound, collations differ).
func TestPostgres(t *testing.T) {
	var want string
	t.Parallel()
	pg := openPostgresFixture(t, day(5, 0, 30)) // first: it may skip
	for _, st := range []*store.Store{openFixture(t, day(5, 0, 30)), pg} {
		var b bytes.Buffer
		r, err := Build(t.Context(), st, periodOptions())
		if err != nil {
			t.Fatal(err)
		}
		rv, err := Review(t.Context(), st, periodOptions())
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteReviewJSON(&b, rv); err != nil {
			t.Fatal(err)
		}
		if want == "" {
			want = b.String()
		} else if b.String() != want {
			t.Errorf("PostgreSQL's report differs from SQLite's:\n%s\nwant:\n%s", b.String(), want)
		}
	}
}

// TestBadOptions: a period that ends before it starts, and two
// narrowings at once, are refused before anything is read.
func TestBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"ends before it starts", func(o *Options) { o.Until = o.Since.Add(-time.Hour) }, "ends"},
		{"customer and tag", func(o *Options) { o.Customer, o.Tag = "acme", "shop" }, "at most one"},
		{"no start", func(o *Options) { o.Since = time.Time{} }, "start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := periodOptions()
			tc.edit(&o)
			if _, err := Build(t.Context(), nil, o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: %v, want an error with %q", err, tc.want)
			}
			if _, err := Review(t.Context(), nil, o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Review: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestEstimate(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	one := func(ds ...int) []sample {
		var out []sample
		for _, d := range ds {
			out = append(out, sample{n: 1, p50: ms(d), p95: ms(d), max: ms(d)})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		hours    []sample
		p50, p95 time.Duration
	}{
		{"none", nil, 0, 0},
		// One run an hour: the exact nearest-rank percentiles.
		{"one run an hour", one(500, 100, 400, 200, 300), ms(300), ms(500)},
		{"twenty single runs", one(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), ms(10), ms(19)},
		// Alike hours: their own percentiles.
		{"alike hours", []sample{{10, ms(100), ms(300), ms(900)}, {10, ms(100), ms(300), ms(900)}}, ms(100), ms(300)},
		// A slow hour among quick ones pulls p95 up, not p50.
		{"a slow hour", []sample{{10, ms(100), ms(200), ms(250)}, {10, ms(100), ms(200), ms(250)}, {10, ms(900), ms(2000), ms(3000)}},
			ms(200), ms(2000)},
		{"empty hours are skipped", []sample{{0, 0, 0, 0}, {4, ms(50), ms(70), ms(80)}}, ms(50), ms(70)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p50, p95 := estimate(tc.hours)
			if p50 != tc.p50 || p95 != tc.p95 {
				t.Errorf("estimate = %s, %s; want %s, %s", p50, p95, tc.p50, tc.p95)
			}
		})
	}
}

func TestChange(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		before, now time.Duration
		want        string
		marked      bool
	}{
		{ms(500), ms(560), "▲ +12 % (+60 ms)", true},
		{ms(500), ms(540), "+8 %", false},              // under 10 %
		{ms(200), ms(240), "+20 %", false},             // under 50 ms
		{ms(1000), ms(800), "▼ -20 % (-200 ms)", true}, // faster
		{ms(300), ms(300), "+0 %", false},
		{0, ms(80), "▲ +80 ms (+80 ms)", true}, // nothing to be relative to
	} {
		c := change(tc.before, tc.now)
		if got := c.String(); got != tc.want || c.Marked != tc.marked {
			t.Errorf("change(%s, %s) = %q marked %v, want %q marked %v", tc.before, tc.now, got, c.Marked, tc.want, tc.marked)
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond:         "850 ms",
		1240 * time.Millisecond:        "1.24 s",
		12*time.Minute + 5*time.Second: "12m05s",
		3*time.Hour + 20*time.Minute:   "3h20m",
		52 * time.Hour:                 "2d04h",
		-120 * time.Millisecond:        "-120 ms",
		0:                              "0 ms",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestNice(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		0:                       100 * time.Millisecond,
		240 * time.Millisecond:  250 * time.Millisecond,
		560 * time.Millisecond:  600 * time.Millisecond,
		1300 * time.Millisecond: 1500 * time.Millisecond,
		7 * time.Second:         8 * time.Second,
		9 * time.Second:         10 * time.Second,
	} {
		if got := nice(d); got != want {
			t.Errorf("nice(%s) = %s, want %s", d, got, want)
		}
	}
}

// TestThumbnail: a wide screenshot comes out 640 pixels wide, its
// proportions kept, re-encoded as JPEG; a small one keeps its size; what
// is not a picture gives nothing.
func TestThumbnail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		in         []byte
		w, h       int
		wantNoData bool
	}{
		{"wide", screenshot(1280, 800, color.RGBA{200, 40, 40, 255}), 640, 400, false},
		{"small", screenshot(300, 200, color.RGBA{200, 40, 40, 255}), 300, 200, false},
		{"not a picture", []byte("<script>alert(1)</script>"), 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri := thumbnail(tc.in)
			if tc.wantNoData {
				if uri != "" {
					t.Errorf("thumbnail = %.40q…, want nothing", uri)
				}
				return
			}
			b64, ok := strings.CutPrefix(uri, "data:image/jpeg;base64,")
			if !ok {
				t.Fatalf("thumbnail = %.40q…, want a JPEG data: URI", uri)
			}
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != tc.w || cfg.Height != tc.h {
				t.Errorf("thumbnail is %d×%d, want %d×%d", cfg.Width, cfg.Height, tc.w, tc.h)
			}
			// The red band at the top survives the averaging.
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			r, g, _, _ := img.At(tc.w/2, 5).RGBA()
			if r>>8 < 150 || g>>8 > 90 {
				t.Errorf("top of the thumbnail is not red: r=%d g=%d", r>>8, g>>8)
			}
		})
	}
}

// TestRunsKeptNote: a period reaching past retention.runs says that
// maintenance runs that passed are counted there.
func TestRunsKeptNote(t *testing.T) {
	t.Parallel()
	st := openFixture(t, time.Time{})
	o := periodOptions()
	o.RunsKept = 3 * 24 * time.Hour
	r, err := Build(t.Context(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "before 2026-03-05 06:00") {
		t.Errorf("notes = %q, want one saying runs before 2026-03-05 06:00 are aggregated", r.Notes)
	}
}
