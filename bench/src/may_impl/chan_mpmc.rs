//! `chan_mpmc` on may: a channel of capacity 1024 ([`super::chan`]: may's
//! `mpmc` channel gated by a 1024-permit `Semphore`); 4 producer coroutines
//! (producer `p` sends `p * 2,500,000 + i`), 4 consumer coroutines receive
//! until the channel is closed, each counting and summing; the main
//! coroutine joins the producers, closes the channel (drops the last sender)
//! and joins the consumers. Total count and sum are checked. Metric:
//! messages / wall (millions per second). Same definition as
//! `bench/go/chan_mpmc.go` and the goro and tokio versions.

use std::time::Instant;

use super::panic_message;
use crate::checks::mpmc_outcome;
use crate::harness::Outcome;
use crate::spec::{CHAN_CAPACITY, MPMC_CONSUMERS, MPMC_PER_PRODUCER, MPMC_PRODUCERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, per_consumer) = super::run_main(procs, || {
        let (tx, rx) = super::chan::<u64>(CHAN_CAPACITY);
        let start = Instant::now();
        let producers: Vec<_> = (0..MPMC_PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                may::go!(move || {
                    let base = p * MPMC_PER_PRODUCER;
                    for i in 0..MPMC_PER_PRODUCER {
                        if tx.send(base + i).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..MPMC_CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                may::go!(move || {
                    let (mut n, mut s) = (0u64, 0u64);
                    while let Some(v) = rx.recv() {
                        n += 1;
                        s += v;
                    }
                    (n, s)
                })
            })
            .collect();
        drop(rx);
        for p in producers {
            p.join()
                .map_err(|e| format!("a producer failed: {}", panic_message(&*e)))?;
        }
        drop(tx);
        let mut per_consumer = Vec::new();
        for c in consumers {
            per_consumer.push(
                c.join()
                    .map_err(|e| format!("a consumer failed: {}", panic_message(&*e)))?,
            );
        }
        Ok::<_, String>((start.elapsed(), per_consumer))
    })??;
    mpmc_outcome(elapsed, &per_consumer)
}
