//! `sieve` on goro: Go's classic concurrent prime sieve over unbuffered
//! channels (`goro::chan(0)`): a generator goroutine sends 2, 3, 4, ...; the
//! main goroutine reads a prime from the head channel, starts a filter
//! goroutine passing on, to a new channel, the numbers the prime does not
//! divide, and reads the next prime from that channel; 5,000 times. The last
//! prime must be 48,611. Metric: wall ms. At the end the main goroutine drops
//! the last receiver, so the chain winds down by itself (each send fails in
//! turn) after the measurement; Go's classic program leaves the goroutines
//! blocked instead. Same definition as `bench/go/sieve.go` and the may and
//! tokio versions.

use std::time::Instant;

use goro::{Receiver, Sender};

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
    for i in input.iter() {
        if i % prime != 0 && out.send(i).is_err() {
            return;
        }
    }
}

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, primes, last) = super::run_main(procs, || {
        let start = Instant::now();
        let (tx, mut rx) = goro::chan::<u64>(0);
        let _ = goro::go(move || generate(tx));
        let (mut primes, mut last) = (0u64, 0u64);
        for _ in 0..SIEVE_PRIMES {
            let Ok(prime) = rx.recv() else { break };
            primes += 1;
            last = prime;
            let (tx1, rx1) = goro::chan::<u64>(0);
            let input = std::mem::replace(&mut rx, rx1);
            let _ = goro::go(move || filter(input, tx1, prime));
        }
        (start.elapsed(), primes, last)
    })?;
    sieve_outcome(elapsed, primes, last)
}
