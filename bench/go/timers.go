package main

// timers: 100,000 goroutines each call time.Sleep(10 ms) ten times; each
// checks that its ten sleeps took at least 100 ms; the main goroutine waits
// for all. Metric: wall ms (ideal 100). The same run also reports
// timers_cpu: the CPU seconds (user + system, all threads, from
// getrusage(RUSAGE_SELF)) the process used from the first spawn to the end.
// Same definition as bench/src/{goro,may,tokio}_impl/timers.rs.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	timersGoroutines = 100_000
	timersSleeps     = 10
	timersSleep      = 10 * time.Millisecond
)

func init() {
	register("timers", "ms", runTimers)
	registerAlso("timers", "timers_cpu", "cpu-s")
}

// cpuSeconds is the user + system CPU time of the process so far.
func cpuSeconds() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %v", err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime), nil
}

func runTimers() (outcome, error) {
	var sleeps, short atomic.Int64
	var wg sync.WaitGroup
	cpu0, err := cpuSeconds()
	if err != nil {
		return outcome{}, err
	}
	start := time.Now()
	wg.Add(timersGoroutines)
	for g := 0; g < timersGoroutines; g++ {
		go func() {
			defer wg.Done()
			t0 := time.Now()
			for i := 0; i < timersSleeps; i++ {
				time.Sleep(timersSleep)
				sleeps.Add(1)
			}
			if time.Since(t0) < timersSleeps*timersSleep {
				short.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := cpuSeconds()
	if err != nil {
		return outcome{}, err
	}
	cpu := cpu1 - cpu0
	if err := checkEq("sleeps completed", sleeps.Load(), timersGoroutines*timersSleeps); err != nil {
		return outcome{}, err
	}
	if err := checkEq("goroutines whose sleeps ended early", short.Load(), 0); err != nil {
		return outcome{}, err
	}
	return outcome{
		value: msOf(elapsed),
		notes: []string{elapsedNote(elapsed), fmt.Sprintf("cpu %.2f s", cpu)},
		also:  []also{{"timers_cpu", cpu}},
	}, nil
}
