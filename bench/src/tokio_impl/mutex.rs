//! `mutex` and `mutex_yield` on tokio, with `tokio::sync::Mutex` (an async
//! mutex: `lock().await`; it is fair, FIFO, unlike Go's, goro's and may's).
//!
//! `mutex`: 8 tasks each lock the mutex, increment the counter it protects
//! and unlock, 1,000,000 times; the main task joins them; the counter must
//! be 8,000,000. Metric: wall / 8,000,000 (ns per operation).
//!
//! `mutex_yield`: 8 tasks x 100,000 times lock, increment,
//! `tokio::task::yield_now().await` while holding the lock, unlock; the
//! counter must be 800,000. Metric: wall / 800,000.
//!
//! Same definitions as `bench/go/mutex.go` and the goro and may versions.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::checks::{mutex_outcome, MUTEX_OPS, MUTEX_YIELD_OPS};
use crate::harness::Outcome;
use crate::spec::{MUTEX_GOROUTINES, MUTEX_OPS_PER_GOROUTINE, MUTEX_YIELD_OPS_PER_GOROUTINE};

fn bench(
    procs: Option<usize>,
    per_goroutine: u64,
    yield_inside: bool,
) -> Result<(Duration, u64), String> {
    super::run_main(procs, move || async move {
        // A `'static` reference, as Go's closures capture `&mu`.
        let mutex: &'static Mutex<u64> = Box::leak(Box::new(Mutex::new(0)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..MUTEX_GOROUTINES)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..per_goroutine {
                        let mut guard = mutex.lock().await;
                        *guard += 1;
                        if yield_inside {
                            tokio::task::yield_now().await;
                        }
                        drop(guard);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.map_err(|e| format!("a task failed: {e}"))?;
        }
        let elapsed = start.elapsed();
        let counter = *mutex.lock().await;
        Ok((elapsed, counter))
    })?
}

/// `mutex`: run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, counter) = bench(procs, MUTEX_OPS_PER_GOROUTINE, false)?;
    mutex_outcome(elapsed, counter, MUTEX_OPS)
}

/// `mutex_yield`: run the benchmark once.
pub fn run_yield(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, counter) = bench(procs, MUTEX_YIELD_OPS_PER_GOROUTINE, true)?;
    mutex_outcome(elapsed, counter, MUTEX_YIELD_OPS)
}
