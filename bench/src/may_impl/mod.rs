//! The benchmarks on may 0.3 (stackful coroutines, work-stealing workers).
//!
//! A goroutine is a coroutine started with `may::go!`; the benchmark's main
//! goroutine is a coroutine too (not the process's main thread), so with
//! procs = N exactly N worker threads run benchmark code, as in Go. The
//! scheduler is started (by a trivial coroutine) before anything is timed,
//! as Go's and goro's are.
//!
//! **Channels.** may 0.3 has only unbounded channels (`may::sync::mpsc`,
//! `mpmc`, `spsc`: a lock-free queue plus a semaphore counting the queued
//! values; senders never block). Go's channels are bounded, and the bound is
//! part of several benchmarks (back-pressure in `chan_spsc`, `chan_mpmc`,
//! `worker_pool`; the endless generator of `sieve` needs it not to fill the
//! memory). So every Go channel is a [`chan`] here: a `may::sync::mpmc`
//! channel gated by a `may::sync::Semphore` holding the free slots (a sender
//! takes a slot before sending, a receiver gives one back after receiving),
//! which is how may builds its own channels. may has no rendezvous channel:
//! an unbuffered Go channel (`make(chan T)`) becomes capacity 1 here, as in
//! the tokio versions, so a sender may run one value ahead of its receiver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use may::sync::{mpmc, Semphore, SyncFlag};

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

/// Why `skynet` is not run on may by default.
pub const SKYNET_UNSUPPORTED: &str =
    "over the ~20 s per-program budget: a trial on 2 CPUs took 53.5 s and 9.8 GB RSS \
     (may maps, mprotects and unmaps a fresh stack for each of the 1,111,111 \
     coroutines); BENCH_MAY_SKYNET=1 runs it (with --timeout 300)";

/// The may implementation of the benchmark called `name`.
pub fn lookup(name: &str) -> Option<Entry> {
    Some(Entry::Run(match name {
        "spawn" => spawn::run,
        "yield" => r#yield::run,
        "skynet" if std::env::var_os("BENCH_MAY_SKYNET").is_some_and(|v| v == "1") => skynet::run,
        "skynet" => return Some(Entry::Unsupported(SKYNET_UNSUPPORTED)),
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

/// The sending half of a [`chan`].
pub struct Sender<T> {
    tx: mpmc::Sender<T>,
    slots: Arc<Semphore>,
}

/// The receiving half of a [`chan`].
pub struct Receiver<T> {
    rx: mpmc::Receiver<T>,
    slots: Arc<Semphore>,
}

/// A channel with room for `cap` values (`cap == 0`, Go's unbuffered
/// channel, gives room for 1: may has no rendezvous channel). Closed when
/// every [`Sender`] is dropped; then `recv` drains what is left and returns
/// `None`.
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpmc::channel();
    let slots = Arc::new(Semphore::new(cap.max(1)));
    (
        Sender {
            tx,
            slots: slots.clone(),
        },
        Receiver { rx, slots },
    )
}

impl<T> Sender<T> {
    /// Send `v`, parking while the channel is full; `Err(v)` if every
    /// receiver is gone.
    pub fn send(&self, v: T) -> Result<(), T> {
        self.slots.wait();
        self.tx.send(v).map_err(|e| e.0)
    }
}

impl<T> Receiver<T> {
    /// The next value, parking while the channel is empty; `None` once it
    /// is closed and drained.
    pub fn recv(&self) -> Option<T> {
        let v = self.rx.recv().ok()?;
        self.slots.post();
        Some(v)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            tx: self.tx.clone(),
            slots: self.slots.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            rx: self.rx.clone(),
            slots: self.slots.clone(),
        }
    }
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
