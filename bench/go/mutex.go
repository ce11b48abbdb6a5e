package main

// mutex: 8 goroutines each lock a shared sync.Mutex, increment the counter
// it protects and unlock, 1,000,000 times; the main goroutine waits; the
// counter must be 8,000,000. Metric: wall / 8,000,000 (ns per operation).
//
// mutex_yield: the contended variant: 8 goroutines x 100,000 times lock,
// increment, runtime.Gosched() while holding the lock, unlock; the counter
// must be 800,000. Metric: wall / 800,000.
//
// Same definitions as bench/src/{goro,may,tokio}_impl/mutex.rs.

import (
	"runtime"
	"sync"
	"time"
)

const (
	mutexGoroutines           = 8
	mutexOpsPerGoroutine      = 1_000_000
	mutexYieldOpsPerGoroutine = 100_000
)

func init() {
	register("mutex", "ns/op", func() (outcome, error) { return runMutex(mutexOpsPerGoroutine, false) })
	register("mutex_yield", "ns/op", func() (outcome, error) { return runMutex(mutexYieldOpsPerGoroutine, true) })
}

func runMutex(perGoroutine int, yield bool) (outcome, error) {
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(mutexGoroutines)
	for g := 0; g < mutexGoroutines; g++ {
		if yield {
			go func() {
				defer wg.Done()
				for i := 0; i < perGoroutine; i++ {
					mu.Lock()
					counter++
					runtime.Gosched()
					mu.Unlock()
				}
			}()
		} else {
			go func() {
				defer wg.Done()
				for i := 0; i < perGoroutine; i++ {
					mu.Lock()
					counter++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	ops := int64(mutexGoroutines * perGoroutine)
	mu.Lock()
	got := counter
	mu.Unlock()
	if err := checkEq("counter", got, ops); err != nil {
		return outcome{}, err
	}
	return outcome{value: nsPer(elapsed, ops), notes: []string{elapsedNote(elapsed)}}, nil
}
