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

/// A goroutine about to block *in a `select!`* lets the goroutines queued
/// on its own P run first, if there are any, and returns true (the caller
/// then looks at its cases again). False, without yielding, on a plain
/// thread, for a goroutine locked to its thread, or when the P has nothing
/// else to run.
///
/// Why: blocking a select is costly — it locks every channel, queues a
/// waiter on each and, once woken, takes them all out again — while the
/// partner's side of the same exchange costs one channel. When the
/// goroutines that will feed the select are runnable right here (a
/// producer the select just released from its send, say), letting them run
/// first means they queue their sends, and the select finds them ready on
/// its next look instead of parking. At most one yield per select: if the
/// queued goroutines were unrelated, the select has lost one turn of the
/// queue, no more.
pub(crate) fn yield_to_local_work() -> bool {
    let Some(m) = super::current::m() else {
        return false;
    };
    let Some(g) = m.curg.get() else {
        return false;
    };
    if m.locked_g.get().is_some() || m.try_p().is_none_or(|p| p.has_no_work()) {
        return false;
    }
    super::proc::gosched(g);
    true
}
