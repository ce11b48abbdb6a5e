//! waitgroup: wait for many goroutines to finish (Go's `sync.WaitGroup`).
//!
//! `wg.add(1)` before starting each worker, `wg.done()` when a worker
//! finishes, `wg.wait()` blocks until the count is back to zero. Clones of
//! a `WaitGroup` share one counter, so each worker gets its own clone.
//!
//! Ten workers each sleep for a different time. They run at the same time,
//! so the whole group takes about as long as the slowest worker, not as
//! long as all the sleeps added up.
//!
//! Run it: `goro demo waitgroup` or `cargo run --release --example waitgroup`.

use goro::sync::WaitGroup;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// How many workers.
const WORKERS: u64 = 10;

/// Worker `i` (1-based) sleeps this long: 40, 70, 100, 30, ... ms — every
/// multiple of 10 ms from 10 to 100 once, in a shuffled order.
fn sleep_for(i: u64) -> Duration {
    Duration::from_millis(10 * (1 + (i * 3) % 10))
}

fn main_goroutine(log: goro::Sender<String>) -> io::Result<()> {
    let total_sleep: Duration = (1..=WORKERS).map(sleep_for).sum();
    let longest = (1..=WORKERS).map(sleep_for).max().unwrap_or_default();
    say!(
        log,
        "waitgroup: main starts {WORKERS} worker goroutines; worker i sleeps for a while"
    );
    say!(
        log,
        "(10 to 100 ms, shuffled), then calls wg.done(). main calls wg.wait()."
    );
    say!(log, "");

    let wg = WaitGroup::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    for i in 1..=WORKERS {
        wg.add(1);
        let (wg, finished, log) = (wg.clone(), finished.clone(), log.clone());
        let nap = sleep_for(i);
        say!(
            log,
            "main: wg.add(1), start worker {i:>2} (it will sleep {} ms)",
            nap.as_millis()
        );
        goro::go(move || {
            goro::time::sleep(nap);
            finished.fetch_add(1, Ordering::Relaxed);
            say!(
                log,
                "  worker {i:>2}: woke up after {:>3} ms, calls wg.done()",
                nap.as_millis()
            );
            wg.done();
        });
    }
    say!(
        log,
        "main: all {WORKERS} started; wg.wait() blocks until every worker has called done()"
    );
    wg.wait();
    let elapsed = start.elapsed();
    let done = finished.load(Ordering::Relaxed);
    say!(
        log,
        "main: wg.wait() returned after {} ms: all {done} workers are done",
        elapsed.as_millis()
    );
    say!(
        log,
        "the workers slept {} ms in total but ran at the same time, so the wait took about as long \
         as the slowest one ({} ms). They normally finish in order of their sleep, shortest first.",
        total_sleep.as_millis(),
        longest.as_millis()
    );
    say!(log, "");
    if done as u64 != WORKERS || elapsed < longest {
        return Err(io::Error::other(format!(
            "wait returned after {elapsed:?} with {done} of {WORKERS} workers finished"
        )));
    }
    say!(
        log,
        "summary: {done} of {WORKERS} workers finished; wait returned after {} ms (slowest worker {} ms, all sleeps added up {} ms)",
        elapsed.as_millis(),
        longest.as_millis(),
        total_sleep.as_millis()
    );
    Ok(())
}

/// Runs the demo, writing what its goroutines print to `out` (see
/// [`demo::run_logged`]).
pub fn run(out: &mut dyn Write) -> io::Result<()> {
    demo::run_logged(out, main_goroutine)
}

#[allow(dead_code)]
fn main() {
    demo::main("waitgroup", run);
}
