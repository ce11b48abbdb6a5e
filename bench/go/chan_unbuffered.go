package main

// chan_unbuffered: one producer sends the values 0..1,000,000 on an
// unbuffered channel and closes it; one consumer (the main goroutine)
// receives until closed and sums. Count and sum are checked. Metric: wall /
// 1,000,000 (ns per message). Same definition as
// bench/src/{goro,may,tokio}_impl/chan_unbuffered.rs.

import (
	"time"
)

const unbufferedMessages = 1_000_000

func init() { register("chan_unbuffered", "ns/msg", runChanUnbuffered) }

func runChanUnbuffered() (outcome, error) {
	ch := make(chan uint64)
	start := time.Now()
	go func() {
		for i := uint64(0); i < unbufferedMessages; i++ {
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
	if err := checkEq("messages received", count, unbufferedMessages); err != nil {
		return outcome{}, err
	}
	if err := checkEq("sum", sum, sumBelow(unbufferedMessages)); err != nil {
		return outcome{}, err
	}
	return outcome{value: nsPer(elapsed, unbufferedMessages), notes: []string{elapsedNote(elapsed)}}, nil
}
