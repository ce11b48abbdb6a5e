//! `worker_pool` on goro: a producer goroutine sends the items
//! 0..1,000,000 into a tasks channel (`goro::chan(100)`) and closes it; 8
//! worker goroutines receive tasks until it is closed and send `2 * item`
//! into a results channel (`goro::chan(100)`), which closes when the last
//! worker drops its sender (Go: a goroutine closes it after the workers'
//! WaitGroup); the main goroutine sums the results until it is closed. Count
//! and sum are checked. Metric: wall ms. Same definition as
//! `bench/go/worker_pool.go` and the may and tokio versions.

use std::time::Instant;

use crate::checks::pool_outcome;
use crate::harness::Outcome;
use crate::spec::{POOL_CAPACITY, POOL_ITEMS, POOL_WORKERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let (tasks_tx, tasks_rx) = goro::chan::<u64>(POOL_CAPACITY);
        let (results_tx, results_rx) = goro::chan::<u64>(POOL_CAPACITY);
        let start = Instant::now();
        let _ = goro::go(move || {
            for i in 0..POOL_ITEMS {
                if tasks_tx.send(i).is_err() {
                    break;
                }
            }
        });
        for _ in 0..POOL_WORKERS {
            let tasks = tasks_rx.clone();
            let results = results_tx.clone();
            let _ = goro::go(move || {
                for t in tasks.iter() {
                    if results.send(t * 2).is_err() {
                        break;
                    }
                }
            });
        }
        drop((tasks_rx, results_tx));
        let (mut count, mut sum) = (0u64, 0u64);
        for r in results_rx.iter() {
            count += 1;
            sum += r;
        }
        (start.elapsed(), count, sum)
    })?;
    pool_outcome(elapsed, count, sum)
}
