//! Whether a goroutine about to block should spin for a moment first.
//!
//! Blocking costs a park, an unpark and two switches — around a
//! microsecond, on both sides. When the partner a goroutine waits for (the
//! holder of a lock, the other end of a channel) is running on another CPU
//! it usually acts within a few hundred nanoseconds, so a short spin is
//! cheaper than blocking (Go's `sync_runtime_canSpin`). Spinning is useless
//! when nothing else runs — with one P the partner can only run once we
//! block — and costly when our own P has other goroutines waiting to run.

use std::sync::atomic::Ordering::Relaxed;

/// True when spinning may pay: the runtime has more than one P, some other
/// P is running goroutines, and — if `need_empty_queue` — this P has
/// nothing else to run. On a plain thread: when there is more than one CPU.
pub(crate) fn worth_spinning(need_empty_queue: bool) -> bool {
    match super::current::m() {
        Some(m) => {
            let rt = m.rt;
            rt.procs() > 1
                && rt.npidle.load(Relaxed) + rt.nmspinning.load(Relaxed) + 1 < rt.procs()
                && (!need_empty_queue || m.try_p().is_some_and(|p| p.has_no_work()))
        }
        None => cpus() > 1,
    }
}

fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
