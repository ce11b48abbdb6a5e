//! `skynet` on goro: a 10-ary tree of goroutines (`goro::go`) down to
//! 1,000,000 leaves; each leaf sends its number, each node makes an
//! unbuffered channel (`goro::chan(0)`), starts its 10 children on it, sums
//! what they send and sends the sum up. The root's sum must be
//! 499,999,500,000. Metric: wall ms. Same definition as `bench/go/skynet.go`
//! and the may and tokio versions.

use std::time::Instant;

use goro::Sender;

use crate::checks::skynet_outcome;
use crate::harness::Outcome;
use crate::spec::{SKYNET_FANOUT, SKYNET_LEAVES};

fn skynet(c: Sender<u64>, num: u64, size: u64) {
    if size == 1 {
        let _ = c.send(num);
        return;
    }
    let (tx, rx) = goro::chan::<u64>(0);
    let child = size / SKYNET_FANOUT;
    for i in 0..SKYNET_FANOUT {
        let tx = tx.clone();
        // Dropping the JoinHandle detaches the goroutine, like `go f()`.
        let _ = goro::go(move || skynet(tx, num + i * child, child));
    }
    drop(tx);
    let mut sum: u64 = 0;
    for _ in 0..SKYNET_FANOUT {
        // A lost child poisons the sum, which the root then rejects.
        sum = sum.saturating_add(rx.recv().unwrap_or(u64::MAX));
    }
    let _ = c.send(sum);
}

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, sum) = super::run_main(procs, || {
        let start = Instant::now();
        let (tx, rx) = goro::chan::<u64>(0);
        let _ = goro::go(move || skynet(tx, 0, SKYNET_LEAVES));
        let sum = rx.recv().unwrap_or(u64::MAX);
        (start.elapsed(), sum)
    })?;
    skynet_outcome(elapsed, sum)
}
