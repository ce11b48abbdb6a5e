package main

// worker_pool: a producer goroutine sends the items 0..1,000,000 into a
// tasks channel of capacity 100 and closes it; 8 worker goroutines receive
// tasks until it is closed and send 2*item into a results channel of
// capacity 100; a goroutine closes results once all workers are done; the
// main goroutine sums the results until results is closed. Count and sum are
// checked. Metric: wall ms. Same definition as
// bench/src/{goro,may,tokio}_impl/worker_pool.rs.

import (
	"sync"
	"time"
)

const (
	poolWorkers  = 8
	poolCapacity = 100
	poolItems    = 1_000_000
)

func init() { register("worker_pool", "ms", runWorkerPool) }

func runWorkerPool() (outcome, error) {
	tasks := make(chan uint64, poolCapacity)
	results := make(chan uint64, poolCapacity)
	var workers sync.WaitGroup
	start := time.Now()
	go func() {
		for i := uint64(0); i < poolItems; i++ {
			tasks <- i
		}
		close(tasks)
	}()
	workers.Add(poolWorkers)
	for w := 0; w < poolWorkers; w++ {
		go func() {
			defer workers.Done()
			for t := range tasks {
				results <- t * 2
			}
		}()
	}
	go func() {
		workers.Wait()
		close(results)
	}()
	var count, sum int64
	for r := range results {
		count++
		sum += int64(r)
	}
	elapsed := time.Since(start)
	if err := checkEq("results received", count, poolItems); err != nil {
		return outcome{}, err
	}
	if err := checkEq("sum", sum, 2*sumBelow(poolItems)); err != nil {
		return outcome{}, err
	}
	return outcome{value: msOf(elapsed), notes: []string{elapsedNote(elapsed)}}, nil
}
