package main

// chan_mpmc: a channel of capacity 1024; 4 producers, producer p sends
// p*2,500,000 + i for i in 0..2,500,000; 4 consumers receive until the
// channel is closed (by the main goroutine once every producer is done),
// each counting and summing. Total count and sum are checked. Metric:
// messages / wall (millions per second). Same definition as
// bench/src/{goro,may,tokio}_impl/chan_mpmc.rs.

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

const (
	mpmcProducers   = 4
	mpmcPerProducer = 2_500_000
	mpmcConsumers   = 4
)

func init() { register("chan_mpmc", "Mmsg/s", runChanMpmc) }

func runChanMpmc() (outcome, error) {
	ch := make(chan uint64, chanCapacity)
	counts := make([]int64, mpmcConsumers)
	sums := make([]int64, mpmcConsumers)
	var producers, consumers sync.WaitGroup
	start := time.Now()
	producers.Add(mpmcProducers)
	for p := 0; p < mpmcProducers; p++ {
		go func(p uint64) {
			defer producers.Done()
			base := p * mpmcPerProducer
			for i := uint64(0); i < mpmcPerProducer; i++ {
				ch <- base + i
			}
		}(uint64(p))
	}
	consumers.Add(mpmcConsumers)
	for c := 0; c < mpmcConsumers; c++ {
		go func(c int) {
			defer consumers.Done()
			var n, s int64
			for v := range ch {
				n++
				s += int64(v)
			}
			counts[c], sums[c] = n, s
		}(c)
	}
	producers.Wait()
	close(ch)
	consumers.Wait()
	elapsed := time.Since(start)
	var count, sum int64
	shares := make([]string, mpmcConsumers)
	for c := 0; c < mpmcConsumers; c++ {
		count += counts[c]
		sum += sums[c]
		shares[c] = fmt.Sprint(counts[c])
	}
	total := int64(mpmcProducers * mpmcPerProducer)
	if err := checkEq("messages received", count, total); err != nil {
		return outcome{}, err
	}
	if err := checkEq("sum", sum, sumBelow(total)); err != nil {
		return outcome{}, err
	}
	return outcome{
		value: mmsgPerS(elapsed, total),
		notes: []string{elapsedNote(elapsed), "received per consumer: " + strings.Join(shares, ", ")},
	}, nil
}
