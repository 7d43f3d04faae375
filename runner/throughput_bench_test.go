package runner_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymarkhq/waymark/examples"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/runner"
)

var (
	flagThroughputPeriod = flag.Duration("throughput.period", 45*time.Second, "measured period of each max_concurrent in BenchmarkThroughput")
	flagThroughputMax    = flag.Int("throughput.max", 4, "highest max_concurrent BenchmarkThroughput tries")
)

// BenchmarkThroughput is how many real guest-checkout journeys one agent
// runs a minute at each max_concurrent from 1 to -throughput.max, with
// real Chromium (one browser, a fresh context per run, as `serve` does)
// against the demo shop served in this process: for each, runs go back to
// back in max_concurrent goroutines through one Runner with MaxConcurrent
// set, for -throughput.period after one warm-up round. It reports:
//
//   - journeys/min: runs finished per minute, from the first start to the
//     last end; x1-journeys: the same over max_concurrent=1's;
//   - pay-p50-ms, pay-p90-ms: the checkout's "Pay" step (a click that
//     posts the order and loads the confirmation page); x1-pay: its median
//     over max_concurrent=1's, how much running more at once distorts
//     what a step measures;
//   - run-p50-ms: a run's duration (first step start to last step end);
//   - cpu-%core: CPU of this process (runner and shop) and of Chromium's
//     processes, per wall second, in percent of one core; other-cpu-%core:
//     that of the rest of the machine (should be near 0);
//   - not-passed: runs degraded or failed, which on a healthy shop means a
//     step or the run went over its threshold: a false alarm caused by
//     running too much at once.
//
// Run it with -benchtime 1x; `make bench-serve` does.
func BenchmarkThroughput(b *testing.B) {
	shop := examples.NewShop(examples.Options{})
	srv := httptest.NewServer(shop)
	defer func() { shop.Close(); srv.Close() }()
	if err := pool.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	j := example(b, "guest-checkout", 0)
	var base struct{ perMin, pay float64 }
	for n := 1; n <= *flagThroughputMax; n++ {
		b.Run(fmt.Sprintf("max_concurrent=%d", n), func(b *testing.B) {
			r := runner.New(pool, runner.Options{BaseURL: srv.URL, MaxConcurrent: n,
				Env: func(k string) (string, bool) { return os.LookupEnv(k) }})
			ctx := context.Background()
			var (
				mu   sync.Mutex
				runs []*results.Run
				errs []error
			)
			round := func(until time.Time) {
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						for first := true; first || time.Now().Before(until); first = false {
							run, err := r.Run(ctx, j)
							mu.Lock()
							if err != nil {
								errs = append(errs, err)
							} else {
								runs = append(runs, run)
							}
							mu.Unlock()
						}
					})
				}
				wg.Wait()
			}
			round(time.Time{}) // warm-up: one run in each worker
			runs, errs = nil, nil

			b.ResetTimer()
			cpu0, ok0 := treeCPU()
			all0 := allCPU()
			t0 := time.Now()
			round(t0.Add(*flagThroughputPeriod))
			wall := time.Since(t0)
			all1 := allCPU()
			cpu1, ok1 := treeCPU()
			b.StopTimer()

			if err := errors.Join(errs...); err != nil {
				b.Fatal(err)
			}
			// Every run that went to the end counts, passed or not: a run
			// degraded or failed by a threshold is a timing distorted by
			// load, which is what this measures.
			var pay, dur []float64
			notPassed, broken := 0, 0
			for _, run := range runs {
				if run.Outcome != results.Passed {
					notPassed++
					b.Logf("run %s: %s: %s", run.ID, run.Outcome, run.Error)
				}
				var paid *results.Step
				for i, s := range run.Steps {
					if s.Name == "Pay" && (s.Status == results.StepPassed || s.Status == results.StepDegraded || s.Status == results.StepFailed) {
						paid = &run.Steps[i]
					}
				}
				if paid == nil {
					broken++
					continue
				}
				pay = append(pay, tpMillis(paid.Duration))
				dur = append(dur, tpMillis(run.Duration))
			}
			if broken > len(runs)/10 {
				b.Fatalf("%d of %d runs did not get through the checkout's Pay step", broken, len(runs))
			}
			slices.Sort(pay)
			slices.Sort(dur)
			perMin := float64(len(runs)) / wall.Minutes()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(perMin, "journeys/min")
			b.ReportMetric(tpMedian(pay), "pay-p50-ms")
			b.ReportMetric(tpQuantile(pay, 0.9), "pay-p90-ms")
			b.ReportMetric(tpMedian(dur), "run-p50-ms")
			b.ReportMetric(float64(notPassed), "not-passed")
			if ok0 && ok1 {
				b.ReportMetric(100*(cpu1-cpu0).Seconds()/wall.Seconds(), "cpu-%core")
				// What the rest of the machine used meanwhile: over a few
				// percent, something else ran and the figures are not to
				// be trusted.
				b.ReportMetric(max(0, 100*(all1-all0-(cpu1-cpu0)).Seconds()/wall.Seconds()), "other-cpu-%core")
			}
			if n == 1 {
				base.perMin, base.pay = perMin, tpMedian(pay)
			} else if base.perMin > 0 {
				b.ReportMetric(perMin/base.perMin, "x1-journeys")
				b.ReportMetric(tpMedian(pay)/base.pay, "x1-pay")
			}
			b.Logf("max_concurrent=%d: %d runs in %s (%.1f/min), Pay p50 %.0fms p90 %.0fms, run p50 %.0fms, %d not passed",
				n, len(runs), wall.Round(time.Millisecond), perMin, tpMedian(pay), tpQuantile(pay, 0.9), tpMedian(dur), notPassed)
		})
	}
}

func tpMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func tpMedian(sorted []float64) float64 { return tpQuantile(sorted, 0.5) }

// quantile is the q-quantile of sorted values, nearest rank.
func tpQuantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// treeCPU is the CPU time so far of this process and its descendants
// (Chromium and its renderers), from /proc: each one's own, and that of
// the children it reaped.
func treeCPU() (time.Duration, bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	parent := map[int]int{}
	cpu := map[int]int64{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // f[0] is field 3 of proc(5)
		if len(f) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		var ticks int64
		for _, k := range []int{14, 15, 16, 17} { // utime stime cutime cstime
			v, _ := strconv.ParseInt(f[k-3], 10, 64)
			ticks += v
		}
		cpu[pid] = ticks
	}
	self := os.Getpid()
	if _, ok := cpu[self]; !ok {
		return 0, false
	}
	var ticks int64
	for pid, t := range cpu {
		for p := pid; p > 1; p = parent[p] {
			if p == self {
				ticks += t
				break
			}
		}
	}
	const userHZ = 100 // the unit of /proc's CPU times on Linux
	return time.Duration(ticks) * time.Second / userHZ, true
}

// allCPU is the CPU time all processes used so far (/proc/stat: user,
// nice, system, irq, softirq and steal time over every core).
func allCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var ticks int64
	for i, v := range strings.Fields(line) { // cpu user nice system idle iowait irq softirq steal …
		if i == 0 || i == 4 || i == 5 || i > 8 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100
}
