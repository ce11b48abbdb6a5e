//! `mutex` and `mutex_yield` on goro, with `goro::sync::Mutex`.
//!
//! `mutex`: 8 goroutines each lock the mutex, increment the counter it
//! protects and unlock, 1,000,000 times; the main goroutine joins them; the
//! counter must be 8,000,000. Metric: wall / 8,000,000 (ns per operation).
//!
//! `mutex_yield`: 8 goroutines x 100,000 times lock, increment,
//! `goro::yield_now()` while holding the lock, unlock; the counter must be
//! 800,000. Metric: wall / 800,000.
//!
//! Same definitions as `bench/go/mutex.go` and the may and tokio versions.

use std::time::Instant;

use goro::sync::Mutex;

use crate::checks::{mutex_outcome, MUTEX_OPS, MUTEX_YIELD_OPS};
use crate::harness::Outcome;
use crate::spec::{MUTEX_GOROUTINES, MUTEX_OPS_PER_GOROUTINE, MUTEX_YIELD_OPS_PER_GOROUTINE};

fn bench(
    procs: Option<usize>,
    per_goroutine: u64,
    yield_inside: bool,
) -> Result<(std::time::Duration, u64), String> {
    super::run_main(procs, move || {
        // A `'static` reference, as Go's closures capture `&mu`.
        let mutex: &'static Mutex<u64> = Box::leak(Box::new(Mutex::new(0)));
        let start = Instant::now();
        let goroutines: Vec<_> = (0..MUTEX_GOROUTINES)
            .map(|_| {
                goro::go(move || {
                    for _ in 0..per_goroutine {
                        let mut guard = mutex.lock();
                        *guard += 1;
                        if yield_inside {
                            goro::yield_now();
                        }
                        drop(guard);
                    }
                })
            })
            .collect();
        for g in goroutines {
            g.join().map_err(|_| "a goroutine panicked")?;
        }
        let elapsed = start.elapsed();
        let counter = *mutex.lock();
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
