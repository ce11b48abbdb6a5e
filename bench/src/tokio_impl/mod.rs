//! The benchmarks on tokio (multi-thread runtime, or current-thread where a
//! benchmark's definition fixes procs = 1).
//!
//! A goroutine is a `tokio::spawn`ed task; the benchmark's main goroutine is
//! a spawned task too (not the `block_on` future, which would run on an extra
//! thread beside the workers), so with procs = N exactly N threads run
//! benchmark code, as in Go.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::harness::BenchFn;

pub mod spawn;
pub mod r#yield;

/// The tokio implementation of the benchmark called `name`.
pub fn lookup(name: &str) -> Option<BenchFn> {
    Some(match name {
        "spawn" => spawn::run,
        "yield" => r#yield::run,
        _ => return None,
    })
}

/// Run `main` as the main task on a multi-thread runtime with `procs` worker
/// threads (`None`: tokio's default, one per CPU), and return its output.
/// No IO or time driver is enabled (the benchmarks that need timers build
/// their runtime themselves and use [`run_on`]).
pub fn run_main<F, Fut>(procs: Option<usize>, main: F) -> Result<Fut::Output, String>
where
    F: FnOnce() -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = procs {
        builder.worker_threads(n);
    }
    let runtime = builder
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    run_on(&runtime, main)
}

/// Run `main` as a spawned task on `runtime` and wait for it.
pub fn run_on<F, Fut>(runtime: &tokio::runtime::Runtime, main: F) -> Result<Fut::Output, String>
where
    F: FnOnce() -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let task = main();
    runtime
        .block_on(async move { tokio::spawn(task).await })
        .map_err(|e| format!("main task failed: {e}"))
}

/// Go's `sync.WaitGroup` for tasks: a counter and a wake-up for the waiter
/// (the same structure as Go's, an atomic counter plus a semaphore).
#[derive(Debug, Default)]
pub struct WaitGroup {
    count: AtomicUsize,
    zero: Notify,
}

impl WaitGroup {
    /// A WaitGroup with a zero counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `n` to the counter.
    pub fn add(&self, n: usize) {
        self.count.fetch_add(n, Ordering::SeqCst);
    }

    /// Decrement the counter; the last `done` wakes the waiter.
    pub fn done(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            // notify_one stores a permit when nobody waits yet: no lost wake-up.
            self.zero.notify_one();
        }
    }

    /// Wait until the counter is zero (one waiter at a time).
    pub async fn wait(&self) {
        while self.count.load(Ordering::SeqCst) != 0 {
            self.zero.notified().await;
        }
    }
}
