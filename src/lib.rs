//! # goro — Go's concurrency model for Rust
//!
//! Stackful goroutines on a G-M-P work-stealing scheduler, written as plain
//! blocking code — no `async`:
//!
//! ```
//! let total = goro::run(|| {
//!     let wg = goro::sync::WaitGroup::new();
//!     let sum = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
//!     for i in 1..=100u64 {
//!         wg.add(1);
//!         let (wg, sum) = (wg.clone(), sum.clone());
//!         goro::go(move || {
//!             sum.fetch_add(i, std::sync::atomic::Ordering::Relaxed);
//!             wg.done();
//!         });
//!     }
//!     wg.wait();
//!     sum.load(std::sync::atomic::Ordering::Relaxed)
//! });
//! assert_eq!(total, 5050);
//! ```
//!
//! * [`run`] starts the default runtime (if needed) and runs a closure as
//!   the main goroutine; [`Runtime::builder`] configures one explicitly
//!   (`procs` = Go's `GOMAXPROCS`, env `GORO_MAXPROCS`; `stack_size`, env
//!   `GORO_STACK_SIZE`).
//! * [`go`], [`go!`] and [`Builder`] spawn goroutines; [`JoinHandle::join`]
//!   waits for one; [`scope`] spawns goroutines that borrow.
//! * [`yield_now`] is `runtime.Gosched`; [`id`], [`num_goroutines`],
//!   [`stats`] and [`dump`] tell what the runtime is doing.
//!
//! `go` called on a plain thread (outside any `run`) starts the default
//! runtime lazily, as the first `run` would: goroutines are always
//! available, as in Go.
//!
//! # The safety model: goroutines move between threads
//!
//! A goroutine is a logical thread that may resume on a *different OS
//! thread* after any point where it parks (a `join`, a channel operation, a
//! contended lock, `yield_now`, ...). So, across a park:
//!
//! * do not hold a reference obtained from a `thread_local!` — use
//!   [`local!`] (goroutine-local storage) instead;
//! * do not hold thread-affine values such as `rand::ThreadRng`, or a
//!   `std::sync::MutexGuard` (std's locks must be unlocked by the thread
//!   that locked them) — use goro's own `sync` types, which are
//!   goroutine-aware;
//! * code that truly needs one thread can pin its goroutine with
//!   [`lock_os_thread`].
//!
//! The closures a goroutine runs are `Send`, as for `std::thread::spawn`;
//! what the compiler cannot check is the rule above, inside one goroutine.
//!
//! # Stacks
//!
//! Each goroutine runs on its own stack (256 KiB of address space by
//! default, committed lazily by the OS, with a guard page). Running off it is
//! reported as `goroutine N overflowed its stack of K KiB` and aborts —
//! never silent corruption. Stacks are carved 32 to a kernel memory mapping,
//! with guard pages that do not split it (`MADV_GUARD_INSTALL`, Linux 6.13+),
//! so a million started goroutines fit under Linux's default
//! `vm.max_map_count`. On older kernels guard pages fall back to `mprotect`,
//! which costs about two mappings per stack: the default limit then allows
//! about 30,000 started goroutines, and spawning past it is a clear error
//! naming the `sysctl` that raises it (queued goroutines need no stack).

#![warn(missing_docs)]

pub mod chan;
pub mod context;
mod local;
mod loom;
mod runtime;
mod scope;
pub mod select;
mod spawn;
pub mod sync;
pub mod time;

pub use chan::{chan, Receiver, Sender};
pub use select::{Select, Selected};

pub use local::LocalKey;
pub use runtime::{
    id, lock_os_thread, num_goroutines, run, stats, unlock_os_thread, yield_now, Runtime,
    RuntimeBuilder, Stats, Status, WaitReason,
};
pub use scope::{scope, Scope, ScopedJoinHandle};
pub use spawn::{go, Builder, JoinError, JoinHandle};

/// A snapshot of every runtime's scheduler — per runtime its idle Ps and
/// Ms, spinning Ms, global queue and timer watcher, per P its run queue,
/// `runnext`, timers and switch count (Go's
/// `GODEBUG=schedtrace=1,scheddetail=1`) — for diagnosing a hang next to
/// [`dump`]. Read without stopping anything; a lock that is held at the
/// moment is reported as such, not waited for.
///
/// ```
/// let text = goro::run(goro::sched_trace);
/// assert!(text.contains("P0: queue"));
/// ```
pub fn sched_trace() -> String {
    runtime::trace_sched::sched_trace()
}

/// A description of every live goroutine: id, name, state, wait reason and
/// where it was spawned — the Go runtime's traceback header, for debugging
/// hangs and for the deadlock report.
///
/// ```
/// let text = goro::run(goro::dump);
/// assert!(text.contains("[running]"));
/// ```
pub fn dump() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for g in runtime::g::all_gs() {
        let status = g.status();
        if matches!(status, Status::Idle | Status::Dead) {
            continue;
        }
        let id = g.id.load(std::sync::atomic::Ordering::Relaxed);
        let _ = write!(out, "goroutine {id}");
        if let Some(name) = g.name() {
            let _ = write!(out, " ({name})");
        }
        let reason = g.wait_reason();
        if status == Status::Waiting && reason != WaitReason::None {
            let _ = writeln!(out, " [{}]:", reason.as_str());
        } else {
            let _ = writeln!(out, " [{}]:", status.as_str());
        }
        if let Some(loc) = g.location() {
            let _ = writeln!(out, "\tspawned at {}:{}", loc.file(), loc.line());
        }
        out.push('\n');
    }
    out
}
