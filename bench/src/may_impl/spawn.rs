//! `spawn` on may: 1,000,000 coroutines, each does one atomic add on a shared
//! counter then `done` on a WaitGroup; the main coroutine waits, and the
//! counter must be 1,000,000. Metric: wall time / 1,000,000 (ns per
//! goroutine). Same definition as `bench/go/spawn.go` and the goro and tokio
//! versions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::WaitGroup;
use crate::checks::spawn_outcome;
use crate::harness::Outcome;
use crate::spec::SPAWN_GOROUTINES;

/// The shared counter (a static, as Go's closure captures a pointer: no
/// per-coroutine reference counting is measured).
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let elapsed = super::run_main(procs, || {
        let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let start = Instant::now();
        wg.add(SPAWN_GOROUTINES as usize);
        for _ in 0..SPAWN_GOROUTINES {
            // Dropping the JoinHandle detaches the coroutine, like `go f()`.
            may::go!(move || {
                COUNTER.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        start.elapsed()
    })?;
    spawn_outcome(elapsed, COUNTER.load(Ordering::SeqCst))
}
