package alert

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// BenchmarkChannels is 1,000 incidents, each told to a channel answering
// at once and (with=slow) to one answering after 5s; alone is the fast
// channel by itself, the baseline. Each channel has its own queue, so the
// fast one's messages must not wait for the slow one's. It reports, for
// the fast channel, when its messages arrived counted from the start of
// the workers (p50, p99, the last), and how many of the slow one's had
// arrived by then. SQLite, with River's real queues.
func BenchmarkChannels(b *testing.B) {
	for _, with := range []string{"alone", "slow"} {
		b.Run("with="+with, func(b *testing.B) { benchChannels(b, with == "slow") })
	}
}

func benchChannels(b *testing.B, withSlow bool) {
	const incidents = 1000
	var mu sync.Mutex
	fast := map[string]time.Time{}
	slow := 0
	fastSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		fast[p.ID] = time.Now()
		mu.Unlock()
	}))
	defer fastSrv.Close()
	stop := make(chan struct{})
	slowSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-stop:
		}
		mu.Lock()
		slow++
		mu.Unlock()
	}))
	defer slowSrv.Close()
	defer close(stop)

	slowHook, err := notify.NewWebhook(notify.WebhookSettings{URL: slowSrv.URL, Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		st := open(b, filepath.Join(b.TempDir(), "waymark.db"))
		to := []string{"fast"}
		if withSlow {
			to = append(to, "slow")
		}
		f := newFixture(b, st, Options{
			Routes: []Route{{Levels: []Level{{To: to}}}},
			Channels: map[string]notify.Channel{
				"slow": slowHook, "fast": webhook(b, fastSrv.URL),
			},
		}, false)
		// Open the incidents (two failed runs of 1,000 journeys), queuing
		// 2,000 messages, before any worker runs.
		for i := range incidents {
			f.j.Name = fmt.Sprintf("journey-%04d", i)
			f.run(b, results.Failed)
			f.run(b, results.Failed)
		}
		list, err := st.Incidents(b.Context(), store.IncidentFilter{All: true, Limit: 2 * incidents})
		if err != nil || len(list) != incidents {
			b.Fatalf("%d incidents, %v", len(list), err)
		}
		mu.Lock()
		clear(fast)
		slow = 0
		mu.Unlock()
		start := time.Now()
		newFixture(b, st, f.m.o, true) // the workers
		deadline := time.Now().Add(2 * time.Minute)
		for {
			mu.Lock()
			n := len(fast)
			mu.Unlock()
			if n >= incidents || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		var waits []float64
		last := start
		for _, at := range fast {
			waits = append(waits, float64(at.Sub(start))/float64(time.Millisecond))
			if at.After(last) {
				last = at
			}
		}
		slowThen := slow
		mu.Unlock()
		slices.Sort(waits)
		if len(waits) < incidents {
			b.Fatalf("the fast channel got %d of %d messages in 2 minutes", len(waits), incidents)
		}
		b.ReportMetric(waits[len(waits)/2], "fast-p50-ms")
		b.ReportMetric(waits[len(waits)*99/100], "fast-p99-ms")
		b.ReportMetric(float64(last.Sub(start))/float64(time.Millisecond), "fast-all-ms")
		b.ReportMetric(float64(slowThen), "slow-done-by-then")
	}
}

// BenchmarkObserve is what the incident policy adds to the transaction
// that keeps a run: impl=save keeps the run alone, impl=observe keeps it
// and folds it into incidents (a failing journey, so every few runs open
// or resolve one and queue a message). SQLite.
func BenchmarkObserve(b *testing.B) {
	for _, impl := range []string{"save", "observe"} {
		b.Run("impl="+impl, func(b *testing.B) {
			st := open(b, filepath.Join(b.TempDir(), "waymark.db"))
			f := newFixture(b, st, Options{
				Routes:   []Route{{Levels: []Level{{To: []string{"log"}}}}},
				Channels: map[string]notify.Channel{"log": notify.NewTerminal(discard{})},
			}, false)
			seq := []results.Outcome{results.Passed, results.Failed, results.Failed, results.Failed, results.Passed}
			i := 0
			for b.Loop() {
				i++
				now := f.c.now()
				r := &results.Run{ID: fmt.Sprintf("r-%d", i), Journey: f.j.Name, Location: "eu-west",
					Trigger: results.TriggerSchedule, StartedAt: now, FinishedAt: now, Outcome: seq[i%len(seq)], Attempt: 1}
				err := st.Tx(b.Context(), func(tx *sqlx.Tx) error {
					if err := st.SaveRunTx(b.Context(), tx, f.j, r); err != nil || impl == "save" {
						return err
					}
					_, err := f.m.ObserveTx(b.Context(), tx, f.j, r)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				f.c.add(time.Minute)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
