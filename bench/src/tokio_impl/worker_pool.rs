//! `worker_pool` on tokio: a producer task sends the items 0..1,000,000 into
//! a tasks channel (`tokio::sync::mpsc::channel(100)`) and closes it; 8
//! worker tasks receive tasks until it is closed and send `2 * item` into a
//! results channel (`channel(100)`), which closes when the last worker drops
//! its sender (Go: a goroutine closes it after the workers' WaitGroup); the
//! main task sums the results until it is closed. Count and sum are
//! checked. Metric: wall ms. Same definition as `bench/go/worker_pool.go`
//! and the goro and may versions, except that tokio's mpsc has one
//! receiver: the 8 workers share the tasks receiver through a
//! `tokio::sync::Mutex`, held while awaiting `recv`.

use std::time::Instant;

use tokio::sync::{mpsc, Mutex};

use crate::checks::pool_outcome;
use crate::harness::Outcome;
use crate::spec::{POOL_CAPACITY, POOL_ITEMS, POOL_WORKERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || async {
        let (tasks_tx, tasks_rx) = mpsc::channel::<u64>(POOL_CAPACITY);
        let tasks: &'static Mutex<mpsc::Receiver<u64>> = Box::leak(Box::new(Mutex::new(tasks_rx)));
        let (results_tx, mut results_rx) = mpsc::channel::<u64>(POOL_CAPACITY);
        let start = Instant::now();
        tokio::spawn(async move {
            for i in 0..POOL_ITEMS {
                if tasks_tx.send(i).await.is_err() {
                    break;
                }
            }
        });
        for _ in 0..POOL_WORKERS {
            let results = results_tx.clone();
            tokio::spawn(async move {
                loop {
                    let got = tasks.lock().await.recv().await;
                    let Some(t) = got else { break };
                    if results.send(t * 2).await.is_err() {
                        break;
                    }
                }
            });
        }
        drop(results_tx);
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(r) = results_rx.recv().await {
            count += 1;
            sum += r;
        }
        (start.elapsed(), count, sum)
    })?;
    pool_outcome(elapsed, count, sum)
}
