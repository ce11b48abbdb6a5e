//! `chan_mpmc` on tokio: `tokio::sync::mpsc::channel(1024)`; 4 producer tasks
//! (producer `p` sends `p * 2,500,000 + i`), 4 consumer tasks receive until
//! the channel is closed, each counting and summing; the main task joins the
//! producers, closes the channel (drops the last sender) and joins the
//! consumers. Total count and sum are checked. Metric: messages / wall
//! (millions per second). Same definition as `bench/go/chan_mpmc.go` and the
//! goro and may versions, except that tokio's mpsc has one receiver: the 4
//! consumers share it through a `tokio::sync::Mutex`, held while awaiting
//! `recv`, so they take turns.

use std::time::Instant;

use tokio::sync::{mpsc, Mutex};

use crate::checks::mpmc_outcome;
use crate::harness::Outcome;
use crate::spec::{CHAN_CAPACITY, MPMC_CONSUMERS, MPMC_PER_PRODUCER, MPMC_PRODUCERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, per_consumer) = super::run_main(procs, || async {
        let (tx, rx) = mpsc::channel::<u64>(CHAN_CAPACITY);
        let rx: &'static Mutex<mpsc::Receiver<u64>> = Box::leak(Box::new(Mutex::new(rx)));
        let start = Instant::now();
        let producers: Vec<_> = (0..MPMC_PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let base = p * MPMC_PER_PRODUCER;
                    for i in 0..MPMC_PER_PRODUCER {
                        if tx.send(base + i).await.is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..MPMC_CONSUMERS)
            .map(|_| {
                tokio::spawn(async move {
                    let (mut n, mut s) = (0u64, 0u64);
                    loop {
                        let got = rx.lock().await.recv().await;
                        let Some(v) = got else { break };
                        n += 1;
                        s += v;
                    }
                    (n, s)
                })
            })
            .collect();
        for p in producers {
            p.await.map_err(|e| format!("a producer failed: {e}"))?;
        }
        drop(tx);
        let mut per_consumer = Vec::new();
        for c in consumers {
            per_consumer.push(c.await.map_err(|e| format!("a consumer failed: {e}"))?);
        }
        Ok::<_, String>((start.elapsed(), per_consumer))
    })??;
    mpmc_outcome(elapsed, &per_consumer)
}
