//! `spawn` on goro: 1,000,000 goroutines (`goro::go`), each does one atomic
//! add on a shared counter then `done` on a `goro::sync::WaitGroup`; the main
//! goroutine waits, and the counter must be 1,000,000. Metric: wall time /
//! 1,000,000 (ns per goroutine). Same definition as `bench/go/spawn.go` and
//! the may and tokio versions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use goro::sync::WaitGroup;

use crate::checks::spawn_outcome;
use crate::harness::Outcome;
use crate::spec::SPAWN_GOROUTINES;

/// The shared counter (a static, as Go's closure captures a pointer: no
/// per-goroutine reference counting is measured).
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let elapsed = super::run_main(procs, || {
        // A `'static` reference, not a clone per goroutine: Go's closure
        // captures `&wg` too.
        let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let start = Instant::now();
        wg.add(SPAWN_GOROUTINES as usize);
        for _ in 0..SPAWN_GOROUTINES {
            // Dropping the JoinHandle detaches the goroutine, like `go f()`.
            let _ = goro::go(move || {
                COUNTER.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        start.elapsed()
    })?;
    spawn_outcome(elapsed, COUNTER.load(Ordering::SeqCst))
}
