package period

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storegen"
)

// benchNow is the end of the generated history, fixed so every run of the
// benchmark reads the same rows.
var benchNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

var benchStores sync.Map // dialect → *store.Store

func benchStore(b *testing.B, dialect string) *store.Store {
	if st, ok := benchStores.Load(dialect); ok {
		return st.(*store.Store)
	}
	st := storegen.Bench(b, dialect, storegen.Spec{Now: benchNow})
	benchStores.Store(dialect, st)
	return st
}

// BenchmarkReport builds and writes the 30-day report (HTML and
// Markdown) and the review of every journey of a store of 200 journeys ×
// 90 days (about a million step rows): the report must take under 2 s
// (docs/performance.md).
func BenchmarkReport(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			st := benchStore(b, dialect)
			opts := Options{Since: benchNow.Add(-30 * 24 * time.Hour), Until: benchNow, Now: benchNow, RunsKept: 30 * 24 * time.Hour}
			b.Run("report-html", func(b *testing.B) {
				for b.Loop() {
					r, err := Build(b.Context(), st, opts)
					if err != nil {
						b.Fatal(err)
					}
					if err := WriteHTML(io.Discard, r); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("report-md", func(b *testing.B) {
				for b.Loop() {
					r, err := Build(b.Context(), st, opts)
					if err != nil {
						b.Fatal(err)
					}
					if err := WriteMarkdown(io.Discard, r); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("review", func(b *testing.B) {
				for b.Loop() {
					if _, err := Review(b.Context(), st, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
