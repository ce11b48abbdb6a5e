package main

// pingpong: two goroutines and two unbuffered channels; the pinger sends i
// on ping and waits for the ponger's answer i + 1 on pong, 1,000,000 times,
// then closes ping; the ponger answers until ping is closed. The main
// goroutine waits for both. Metric: wall / 1,000,000 (ns per round trip).
// Registered twice: pingpong with GOMAXPROCS = 1, pingpong_p2 with
// GOMAXPROCS = 2 (part of the definition, whatever --procs says). Same
// definition as bench/src/{goro,may,tokio}_impl/pingpong.rs.

import (
	"runtime"
	"sync"
	"time"
)

const pingpongRoundTrips = 1_000_000

func init() {
	register("pingpong", "ns/roundtrip", func() (outcome, error) { return runPingpong(1) })
	register("pingpong_p2", "ns/roundtrip", func() (outcome, error) { return runPingpong(2) })
}

func runPingpong(procs int) (outcome, error) {
	runtime.GOMAXPROCS(procs)
	ping, pong := make(chan int64), make(chan int64)
	var roundTrips, wrong int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := int64(0); i < pingpongRoundTrips; i++ {
			ping <- i
			if <-pong != i+1 {
				wrong++
			}
			roundTrips++
		}
		close(ping)
	}()
	go func() {
		defer wg.Done()
		for v := range ping {
			pong <- v + 1
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	if err := checkEq("round trips", roundTrips, pingpongRoundTrips); err != nil {
		return outcome{}, err
	}
	if err := checkEq("wrong replies", wrong, 0); err != nil {
		return outcome{}, err
	}
	return outcome{value: nsPer(elapsed, pingpongRoundTrips), notes: []string{elapsedNote(elapsed)}}, nil
}
