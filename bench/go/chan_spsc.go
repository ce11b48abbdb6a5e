package main

// chan_spsc: a channel of capacity 1024; one producer sends the values
// 0..10,000,000 and closes it, one consumer (the main goroutine) receives
// until closed and sums. Count and sum are checked. Metric: messages / wall
// (millions per second). Same definition as
// bench/src/{goro,may,tokio}_impl/chan_spsc.rs.

import (
	"time"
)

const (
	chanCapacity = 1024
	spscMessages = 10_000_000
)

func init() { register("chan_spsc", "Mmsg/s", runChanSpsc) }

func mmsgPerS(elapsed time.Duration, messages int64) float64 {
	return float64(messages) / elapsed.Seconds() / 1e6
}

func runChanSpsc() (outcome, error) {
	ch := make(chan uint64, chanCapacity)
	start := time.Now()
	go func() {
		for i := uint64(0); i < spscMessages; i++ {
			ch <- i
		}
		close(ch)
	}()
	var count, sum int64
	for v := range ch {
		count++
		sum += int64(v)
	}
	elapsed := time.Since(start)
	if err := checkEq("messages received", count, spscMessages); err != nil {
		return outcome{}, err
	}
	if err := checkEq("sum", sum, sumBelow(spscMessages)); err != nil {
		return outcome{}, err
	}
	return outcome{value: mmsgPerS(elapsed, spscMessages), notes: []string{elapsedNote(elapsed)}}, nil
}
