//! `sieve` on may: Go's classic concurrent prime sieve: a generator
//! coroutine sends 2, 3, 4, ...; the main coroutine reads a prime from the
//! head channel, starts a filter coroutine passing on, to a new channel, the
//! numbers the prime does not divide, and reads the next prime from that
//! channel; 5,000 times. The last prime must be 48,611. Metric: wall ms. The
//! coroutines are left blocked at the end, as in Go's classic program. Same
//! definition as `bench/go/sieve.go` and the goro and tokio versions, except
//! that the "unbuffered" channels have capacity 1 ([`super::chan`]`(0)`: may
//! has no rendezvous channel; its own channels are unbounded, which would let
//! the endless generator fill the memory).

use std::time::Instant;

use super::{Receiver, Sender};
use crate::checks::sieve_outcome;
use crate::harness::Outcome;
use crate::spec::SIEVE_PRIMES;

fn generate(out: Sender<u64>) {
    let mut i = 2;
    while out.send(i).is_ok() {
        i += 1;
    }
}

fn filter(input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    while let Some(i) = input.recv() {
        if i % prime != 0 && out.send(i).is_err() {
            return;
        }
    }
}

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, primes, last) = super::run_main(procs, || {
        let start = Instant::now();
        let (tx, mut rx) = super::chan::<u64>(0);
        may::go!(move || generate(tx));
        let (mut primes, mut last) = (0u64, 0u64);
        for _ in 0..SIEVE_PRIMES {
            let Some(prime) = rx.recv() else { break };
            primes += 1;
            last = prime;
            let (tx1, rx1) = super::chan::<u64>(0);
            let input = std::mem::replace(&mut rx, rx1);
            may::go!(move || filter(input, tx1, prime));
        }
        let elapsed = start.elapsed();
        // Leave the chain blocked, as Go does: with may's channels a sender
        // blocked on a full channel is not woken when the receiver goes.
        std::mem::forget(rx);
        (elapsed, primes, last)
    })?;
    sieve_outcome(elapsed, primes, last)
}
