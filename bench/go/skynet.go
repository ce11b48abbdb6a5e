package main

// skynet: a 10-ary tree of goroutines down to 1,000,000 leaves (1,111,111
// goroutines in all). Each leaf sends its number; each node makes an
// unbuffered channel, starts its 10 children on it, sums what they send and
// sends the sum to its parent. The root's sum must be 499999500000. Metric:
// wall ms. The classic Go version (make(chan int), unbuffered). Same
// definition as bench/src/{goro,may,tokio}_impl/skynet.rs.

import (
	"time"
)

const (
	skynetLeaves = 1_000_000
	skynetFanout = 10
)

func init() { register("skynet", "ms", runSkynet) }

func skynet(c chan int64, num, size int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	child := size / skynetFanout
	for i := int64(0); i < skynetFanout; i++ {
		go skynet(rc, num+i*child, child)
	}
	var sum int64
	for i := 0; i < skynetFanout; i++ {
		sum += <-rc
	}
	c <- sum
}

func runSkynet() (outcome, error) {
	start := time.Now()
	c := make(chan int64)
	go skynet(c, 0, skynetLeaves)
	sum := <-c
	elapsed := time.Since(start)
	if err := checkEq("root sum", sum, sumBelow(skynetLeaves)); err != nil {
		return outcome{}, err
	}
	return outcome{value: msOf(elapsed), notes: []string{elapsedNote(elapsed)}}, nil
}
