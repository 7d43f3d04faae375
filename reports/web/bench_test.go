package web

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/results/store/storegen"
)

// benchStores are the generated stores of the benchmarks, by dialect:
// 200 journeys × 90 days, made once per process (a minute or two each).
var benchStores = struct {
	sync.Mutex
	m map[string]*store.Store
}{m: map[string]*store.Store{}}

// benchNow is the end of the generated history: fixed, so every run of
// the benchmarks reads the same rows.
var benchNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func benchStore(b *testing.B, dialect string) *store.Store {
	benchStores.Lock()
	defer benchStores.Unlock()
	if st := benchStores.m[dialect]; st == nil {
		benchStores.m[dialect] = storegen.Bench(b, dialect, storegen.Spec{Now: benchNow})
	}
	return benchStores.m[dialect]
}

// BenchmarkPages renders the overview, a journey's page (30 days and a
// year of its step timings) and a failed run's page from a store of 200
// journeys × 90 days (about a million step rows): each must stay under
// 200 ms (docs/performance.md).
func BenchmarkPages(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			st := benchStore(b, dialect)
			h := New(Options{Dashboard: &Dashboard{Store: st, Now: func() time.Time { return benchNow }}})
			for _, page := range []struct{ name, path string }{
				{"overview", "/"},
				{"journey", "/journeys/journey-010"},
				{"journey-1y", "/journeys/journey-010?range=1y"},
				{"run", "/runs/journey-010-000005"},
				{"incidents", "/incidents"},
			} {
				b.Run(page.name, func(b *testing.B) {
					for b.Loop() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, page.path, nil))
						if w.Code != http.StatusOK {
							b.Fatalf("%s: %d\n%s", page.path, w.Code, w.Body)
						}
					}
				})
			}
		})
	}
}
