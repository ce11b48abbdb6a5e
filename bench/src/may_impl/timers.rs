//! `timers` on may: 100,000 coroutines each call
//! `may::coroutine::sleep(10 ms)` ten times and check that the ten took at
//! least 100 ms; a WaitGroup lets the main coroutine wait for all. Metric:
//! wall ms (ideal 100). The same run reports `timers_cpu`: the CPU seconds of
//! the process (`/proc/self/stat` utime + stime) from the first spawn to the
//! end. Same definition as `bench/go/timers.go` and the goro and tokio
//! versions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::WaitGroup;
use crate::checks::{cpu_seconds, timers_outcome, TIMERS_MIN_PER_GOROUTINE};
use crate::harness::Outcome;
use crate::spec::{TIMERS_GOROUTINES, TIMERS_SLEEPS, TIMERS_SLEEP_MS};

static SLEEPS: AtomicU64 = AtomicU64::new(0);
static SHORT: AtomicU64 = AtomicU64::new(0);

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, cpu) = super::run_main(procs, || {
        let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let cpu0 = cpu_seconds()?;
        let start = Instant::now();
        wg.add(TIMERS_GOROUTINES as usize);
        for _ in 0..TIMERS_GOROUTINES {
            may::go!(move || {
                let t0 = Instant::now();
                for _ in 0..TIMERS_SLEEPS {
                    may::coroutine::sleep(Duration::from_millis(TIMERS_SLEEP_MS));
                    SLEEPS.fetch_add(1, Ordering::Relaxed);
                }
                if t0.elapsed() < TIMERS_MIN_PER_GOROUTINE {
                    SHORT.fetch_add(1, Ordering::Relaxed);
                }
                wg.done();
            });
        }
        wg.wait();
        let elapsed = start.elapsed();
        Ok::<_, String>((elapsed, cpu_seconds()? - cpu0))
    })??;
    timers_outcome(
        elapsed,
        cpu,
        SLEEPS.load(Ordering::SeqCst),
        SHORT.load(Ordering::SeqCst),
    )
}
