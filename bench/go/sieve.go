package main

// sieve: Go's classic concurrent prime sieve. A generator goroutine sends
// 2, 3, 4, ... on an unbuffered channel; the main goroutine reads a prime
// from the head channel, starts a filter goroutine that passes on, to a new
// unbuffered channel, the numbers not divisible by that prime, and reads the
// next prime from the new channel; 5,000 times. The last prime must be
// 48611. Metric: wall ms. The goroutines are left blocked at the end, as in
// the classic program. Same definition as
// bench/src/{goro,may,tokio}_impl/sieve.rs.

import (
	"time"
)

const (
	sievePrimes    = 5_000
	sieveLastPrime = 48_611
)

func init() { register("sieve", "ms", runSieve) }

func sieveGenerate(ch chan<- uint64) {
	for i := uint64(2); ; i++ {
		ch <- i
	}
}

func sieveFilter(in <-chan uint64, out chan<- uint64, prime uint64) {
	for {
		i := <-in
		if i%prime != 0 {
			out <- i
		}
	}
}

func runSieve() (outcome, error) {
	start := time.Now()
	ch := make(chan uint64)
	go sieveGenerate(ch)
	var primes, last int64
	for i := 0; i < sievePrimes; i++ {
		prime := <-ch
		primes++
		last = int64(prime)
		ch1 := make(chan uint64)
		go sieveFilter(ch, ch1, prime)
		ch = ch1
	}
	elapsed := time.Since(start)
	if err := checkEq("primes", primes, sievePrimes); err != nil {
		return outcome{}, err
	}
	if err := checkEq("last prime", last, sieveLastPrime); err != nil {
		return outcome{}, err
	}
	return outcome{value: msOf(elapsed), notes: []string{elapsedNote(elapsed)}}, nil
}
