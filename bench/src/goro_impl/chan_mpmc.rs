//! `chan_mpmc` on goro: `goro::chan(1024)`; 4 producer goroutines (producer
//! `p` sends `p * 2,500,000 + i`), 4 consumer goroutines receive until the
//! channel is closed, each counting and summing; the main goroutine joins the
//! producers, closes the channel and joins the consumers. Total count and sum
//! are checked. Metric: messages / wall (millions per second). Same
//! definition as `bench/go/chan_mpmc.go` and the may and tokio versions.

use std::time::Instant;

use crate::checks::mpmc_outcome;
use crate::harness::Outcome;
use crate::spec::{CHAN_CAPACITY, MPMC_CONSUMERS, MPMC_PER_PRODUCER, MPMC_PRODUCERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, per_consumer) = super::run_main(procs, || {
        let (tx, rx) = goro::chan::<u64>(CHAN_CAPACITY);
        let start = Instant::now();
        let producers: Vec<_> = (0..MPMC_PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                goro::go(move || {
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
                goro::go(move || {
                    let (mut n, mut s) = (0u64, 0u64);
                    for v in rx.iter() {
                        n += 1;
                        s += v;
                    }
                    (n, s)
                })
            })
            .collect();
        drop(rx);
        for p in producers {
            p.join().map_err(|_| "a producer panicked")?;
        }
        tx.close();
        let mut per_consumer = Vec::new();
        for c in consumers {
            per_consumer.push(c.join().map_err(|_| "a consumer panicked")?);
        }
        Ok::<_, String>((start.elapsed(), per_consumer))
    })??;
    mpmc_outcome(elapsed, &per_consumer)
}
