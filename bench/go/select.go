package main

// select: 4 producers, each with its own unbuffered channel; producer p
// sends p*1,000,000 + i for i in 0..1,000,000 and closes its channel. The
// consumer (the main goroutine) selects over the 4 channels; a channel that
// is closed is set to nil, so its case never fires again; it stops when all
// 4 are closed. Count and sum are checked. Metric: wall / 4,000,000 (ns per
// message). Same definition as bench/src/{goro,may,tokio}_impl/select.rs.

import (
	"time"
)

const (
	selectProducers   = 4
	selectPerProducer = 1_000_000
)

func init() { register("select", "ns/msg", runSelect) }

func runSelect() (outcome, error) {
	chans := make([]chan uint64, selectProducers)
	for p := range chans {
		chans[p] = make(chan uint64)
	}
	start := time.Now()
	for p := 0; p < selectProducers; p++ {
		go func(ch chan uint64, base uint64) {
			for i := uint64(0); i < selectPerProducer; i++ {
				ch <- base + i
			}
			close(ch)
		}(chans[p], uint64(p)*selectPerProducer)
	}
	c0, c1, c2, c3 := chans[0], chans[1], chans[2], chans[3]
	var count, sum int64
	for open := selectProducers; open > 0; {
		select {
		case v, ok := <-c0:
			if !ok {
				c0 = nil
				open--
				continue
			}
			count++
			sum += int64(v)
		case v, ok := <-c1:
			if !ok {
				c1 = nil
				open--
				continue
			}
			count++
			sum += int64(v)
		case v, ok := <-c2:
			if !ok {
				c2 = nil
				open--
				continue
			}
			count++
			sum += int64(v)
		case v, ok := <-c3:
			if !ok {
				c3 = nil
				open--
				continue
			}
			count++
			sum += int64(v)
		}
	}
	elapsed := time.Since(start)
	total := int64(selectProducers * selectPerProducer)
	if err := checkEq("messages received", count, total); err != nil {
		return outcome{}, err
	}
	if err := checkEq("sum", sum, sumBelow(total)); err != nil {
		return outcome{}, err
	}
	return outcome{value: nsPer(elapsed, total), notes: []string{elapsedNote(elapsed)}}, nil
}
