//! `sieve` on tokio: Go's classic concurrent prime sieve: a generator task
//! sends 2, 3, 4, ...; the main task reads a prime from the head channel,
//! spawns a filter task passing on, to a new channel, the numbers the prime
//! does not divide, and reads the next prime from that channel; 5,000
//! times. The last prime must be 48,611. Metric: wall ms. The remaining
//! tasks are dropped with the runtime after the measurement. Same definition
//! as `bench/go/sieve.go` and the goro and may versions, except that the
//! "unbuffered" channels are `tokio::sync::mpsc` of capacity 1 (no
//! rendezvous channel in tokio).

use std::time::Instant;

use tokio::sync::mpsc::{self, Receiver, Sender};

use crate::checks::sieve_outcome;
use crate::harness::Outcome;
use crate::spec::SIEVE_PRIMES;

async fn generate(out: Sender<u64>) {
    let mut i = 2;
    while out.send(i).await.is_ok() {
        i += 1;
    }
}

async fn filter(mut input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    while let Some(i) = input.recv().await {
        if i % prime != 0 && out.send(i).await.is_err() {
            return;
        }
    }
}

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, primes, last) = super::run_main(procs, || async {
        let start = Instant::now();
        let (tx, mut rx) = mpsc::channel::<u64>(1);
        tokio::spawn(generate(tx));
        let (mut primes, mut last) = (0u64, 0u64);
        for _ in 0..SIEVE_PRIMES {
            let Some(prime) = rx.recv().await else { break };
            primes += 1;
            last = prime;
            let (tx1, rx1) = mpsc::channel::<u64>(1);
            let input = std::mem::replace(&mut rx, rx1);
            tokio::spawn(filter(input, tx1, prime));
        }
        (start.elapsed(), primes, last)
    })?;
    sieve_outcome(elapsed, primes, last)
}
