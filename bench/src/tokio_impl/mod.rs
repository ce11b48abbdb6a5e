//! The benchmarks on tokio (multi-thread runtime, or current-thread where a
//! benchmark's definition fixes procs = 1).
//!
//! A goroutine is a `tokio::spawn`ed task; the benchmark's main goroutine is
//! a spawned task too (not the `block_on` future, which would run on an extra
//! thread beside the workers), so with procs = N exactly N threads run
//! benchmark code, as in Go.
//!
//! **Channels.** A Go channel is a `tokio::sync::mpsc` bounded channel of the
//! same capacity. tokio has no rendezvous channel: an unbuffered Go channel
//! becomes capacity 1, so a sender may run one value ahead of its receiver.
//! tokio's mpsc has a single receiver: where Go has several goroutines
//! receiving from one channel (`chan_mpmc`'s consumers, `worker_pool`'s
//! workers, `idle_mem`'s waiters) they share the receiver through a
//! `tokio::sync::Mutex`, held while awaiting `recv` (the usual tokio idiom),
//! so only one of them waits in `recv` at a time. Closing is dropping every
//! sender.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::harness::Entry;

pub mod chan_mpmc;
pub mod chan_spsc;
pub mod chan_unbuffered;
pub mod idle_mem;
pub mod mutex;
pub mod pingpong;
pub mod select;
pub mod sieve;
pub mod skynet;
pub mod spawn;
pub mod timers;
pub mod worker_pool;
pub mod r#yield;

/// The tokio implementation of the benchmark called `name`.
pub fn lookup(name: &str) -> Option<Entry> {
    Some(Entry::Run(match name {
        "spawn" => spawn::run,
        "yield" => r#yield::run,
        "skynet" => skynet::run,
        // The registry fixes procs (1 and 2); the harness passes it.
        "pingpong" | "pingpong_p2" => pingpong::run,
        "chan_spsc" => chan_spsc::run,
        "chan_mpmc" => chan_mpmc::run,
        "chan_unbuffered" => chan_unbuffered::run,
        "select" => select::run,
        "mutex" => mutex::run,
        "mutex_yield" => mutex::run_yield,
        "timers" => timers::run,
        "worker_pool" => worker_pool::run,
        "sieve" => sieve::run,
        "idle_mem" => idle_mem::run,
        _ => return None,
    }))
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
