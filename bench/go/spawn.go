package main

// spawn: 1,000,000 goroutines, each does one atomic add on a shared counter
// then wg.Done(); the main goroutine waits, and the counter must be
// 1,000,000. Metric: wall time / 1,000,000 (ns per goroutine). Same
// definition as bench/src/{goro,may,tokio}_impl/spawn.rs.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const spawnGoroutines = 1_000_000

func init() { register("spawn", "ns/goroutine", runSpawn) }

func runSpawn() (outcome, error) {
	var counter int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(spawnGoroutines)
	for i := 0; i < spawnGoroutines; i++ {
		go func() {
			atomic.AddInt64(&counter, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if got := atomic.LoadInt64(&counter); got != spawnGoroutines {
		return outcome{}, fmt.Errorf("counter is %d, expected %d", got, spawnGoroutines)
	}
	return outcome{
		value: nsPer(elapsed, spawnGoroutines),
		notes: []string{elapsedNote(elapsed)},
	}, nil
}
