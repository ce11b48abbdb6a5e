//! The benchmarks on may 0.3 (stackful coroutines, work-stealing workers).
//!
//! A goroutine is a coroutine started with `may::go!`; the benchmark's main
//! goroutine is a coroutine too (not the process's main thread), so with
//! procs = N exactly N worker threads run benchmark code, as in Go. The
//! scheduler is started (by a trivial coroutine) before anything is timed,
//! as Go's and goro's are.

use std::sync::atomic::{AtomicUsize, Ordering};

use may::sync::SyncFlag;

use crate::harness::BenchFn;

pub mod spawn;
pub mod r#yield;

/// The may implementation of the benchmark called `name`.
pub fn lookup(name: &str) -> Option<BenchFn> {
    Some(match name {
        "spawn" => spawn::run,
        "yield" => r#yield::run,
        _ => return None,
    })
}

/// Describe a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Add to a failure message what explains may's "failed to alloc sys stack":
/// may maps each coroutine's stack separately (a mapping plus a guard page),
/// so the kernel's `vm.max_map_count` caps how many coroutines can be alive
/// at once, and `mmap` fails with ENOMEM beyond it.
fn explain(message: String) -> String {
    if !message.contains("alloc sys stack") {
        return message;
    }
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "{message} (may maps every coroutine stack separately, so vm.max_map_count = {limit} \
         caps the coroutines alive at once)"
    )
}

/// Configure may with `procs` workers (`None`: may's default, one per CPU),
/// start its scheduler, run `main` as the main coroutine and return its value.
pub fn run_main<F, R>(procs: Option<usize>, main: F) -> Result<R, String>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    if let Some(n) = procs {
        may::config().set_workers(n);
    }
    may::go!(|| ())
        .join()
        .map_err(|p| format!("warm-up coroutine failed: {}", panic_message(&*p)))?;
    may::go!(main)
        .join()
        .map_err(|p| explain(format!("main coroutine failed: {}", panic_message(&*p))))
}

/// Go's `sync.WaitGroup` for coroutines: an atomic counter plus a one-shot
/// wake-up for the waiter (the same structure as Go's, an atomic counter plus
/// a semaphore). may's own `WaitGroup` is drop-based and takes a mutex on
/// every `done`, which Go's does not. Single use: once the counter has
/// reached zero the group stays released.
#[derive(Default)]
pub struct WaitGroup {
    count: AtomicUsize,
    zero: SyncFlag,
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
            self.zero.fire();
        }
    }

    /// Wait until the counter is zero.
    pub fn wait(&self) {
        if self.count.load(Ordering::SeqCst) != 0 {
            self.zero.wait();
        }
    }
}
