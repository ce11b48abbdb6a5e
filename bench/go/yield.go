package main

// yield: GOMAXPROCS = 1 (by definition, whatever --procs says), 2 goroutines
// each call runtime.Gosched() 1,000,000 times; the main goroutine waits for
// both. Metric: wall time / 2,000,000 (ns per yield). Each goroutine also
// checks, before each yield, whether the other one ran in between; at least
// a quarter of the yields must have switched (a yield that does not hand the
// processor over would give a meaningless figure; see
// YIELD_MIN_SWITCH_FRACTION in bench/src/spec.rs). Same definition as
// bench/src/{goro,may,tokio}_impl/yield.rs and bench/src/checks.rs.

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	yieldGoroutines        = 2
	yieldsPerGoroutine     = 1_000_000
	yieldMinSwitchFraction = 0.25
)

func init() { register("yield", "ns/yield", runYield) }

// turns records which goroutine ran last.
type turns struct{ last atomic.Int64 }

// switchedTo reports whether another goroutine ran since me last called it.
func (t *turns) switchedTo(me int64) bool {
	if t.last.Load() != me {
		t.last.Store(me)
		return true
	}
	return false
}

func runYield() (outcome, error) {
	runtime.GOMAXPROCS(1)
	var t turns
	t.last.Store(-1)
	yields := make([]int64, yieldGoroutines)
	switches := make([]int64, yieldGoroutines)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(yieldGoroutines)
	for g := 0; g < yieldGoroutines; g++ {
		go func(me int) {
			defer wg.Done()
			var n, s int64
			for i := 0; i < yieldsPerGoroutine; i++ {
				if t.switchedTo(int64(me)) {
					s++
				}
				runtime.Gosched()
				n++
			}
			yields[me], switches[me] = n, s
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)

	var totalSwitches int64
	for g := 0; g < yieldGoroutines; g++ {
		if yields[g] != yieldsPerGoroutine {
			return outcome{}, fmt.Errorf("yields by one goroutine is %d, expected %d", yields[g], yieldsPerGoroutine)
		}
		totalSwitches += switches[g]
	}
	total := int64(yieldGoroutines * yieldsPerGoroutine)
	fraction := float64(totalSwitches) / float64(total)
	if fraction < yieldMinSwitchFraction {
		return outcome{}, fmt.Errorf("only %d of %d yields let the other goroutine run (need at least %.0f%%): yield does not hand the processor over",
			totalSwitches, total, yieldMinSwitchFraction*100)
	}
	return outcome{
		value: nsPer(elapsed, total),
		notes: []string{
			elapsedNote(elapsed),
			fmt.Sprintf("switches %d of %d yields (%.1f%%)", totalSwitches, total, fraction*100),
		},
	}, nil
}
