//! The one park/unpark primitive under every blocking operation.
//!
//! Everything that waits — `join`, channels, `select!`, the sync types,
//! timers, IO — is built the same way:
//!
//! ```text
//! waiter:  let me = Unparker::current();     waker:  publish the event
//!          register `me` with the object             take the waiter's Unparker
//!          while !condition { park(reason) }         unparker.unpark()
//! ```
//!
//! `park` blocks a goroutine by switching its M to other work; on a plain OS
//! thread it blocks the thread (`std::thread::park`). Both behave the same
//! way: each waiter has one *token*. `unpark` sets it; `park` consumes it,
//! returning at once if it was already set — so an unpark that arrives
//! before the park (the waker was quicker than the waiter) is never lost.
//! Wake-ups can be spurious (a late unpark meant for an earlier wait), so a
//! park site always re-checks its condition in a loop.
//!
//! For a goroutine the token lives in its G (`G::park`) with three states:
//!
//! * `EMPTY`    — no token, not parked;
//! * `NOTIFIED` — a token is waiting to be consumed;
//! * `PARKED`   — the goroutine is off its M, waiting.
//!
//! The race between a goroutine going to sleep and a concurrent unpark is
//! settled *after* the goroutine's stack is fully switched out
//! (`commit_park`, Go's `park_m` + `unlockf`) — by its M, or by the
//! goroutine it handed off to (`switch.rs`): the token moves
//! `EMPTY → PARKED` by CAS; if an unpark got there first (`NOTIFIED`), the
//! goroutine runs again (at once on the M; from `runnext` after a
//! hand-off). An unpark that sees `PARKED` moves it back
//! to `EMPTY` and is then the only one allowed to make the G runnable.
//! An unpark always *writes* the token, even one already set: that write
//! is what carries the waker's condition to the parker (see `take_parked`).

use super::current;
use super::g::{GRef, Switch, WaitReason, PARK_EMPTY, PARK_NOTIFIED, PARK_PARKED};
use super::hooks::{self, Event};
use std::sync::atomic::Ordering::*;
use std::sync::{Condvar, Mutex};
use std::thread::Thread;

/// A handle that wakes one parked goroutine or thread.
#[derive(Clone, Debug)]
pub(crate) enum Unparker {
    Goroutine(GRef),
    Thread(Thread),
}

impl Unparker {
    /// The handle for whoever is running this code.
    pub(crate) fn current() -> Unparker {
        match current::g() {
            Some(g) => Unparker::Goroutine(g),
            None => Unparker::Thread(std::thread::current()),
        }
    }

    /// Sets the token of the goroutine or thread, waking it if it is parked.
    #[inline]
    pub(crate) fn unpark(self) {
        match self {
            Unparker::Goroutine(g) => unpark_g(g),
            Unparker::Thread(t) => t.unpark(),
        }
    }

    /// `park` for the goroutine or thread this handle wakes, which must be
    /// the caller: saves looking up the current goroutine again.
    #[inline]
    pub(crate) fn park_self(&self, reason: WaitReason) {
        match self {
            Unparker::Goroutine(g) => park_g(*g, reason),
            Unparker::Thread(_) => std::thread::park(),
        }
    }
}

/// Blocks the current goroutine (or thread) until its token is set, and
/// consumes the token. May return spuriously: callers loop on their
/// condition.
pub(crate) fn park(reason: WaitReason) {
    match current::g() {
        Some(g) => park_g(g, reason),
        None => std::thread::park(),
    }
}

fn park_g(g: GRef, reason: WaitReason) {
    park_g_with(g, reason, Switch::Park);
}

/// Parks the current goroutine, having the M push its armed sleep timer
/// once it is switched out. False if it returned at once on a pending
/// token, without switching: the timer is not pushed then.
pub(crate) fn park_pushing_timer(g: GRef, sleep: super::timers::SleepFor) -> bool {
    park_g_with(g, WaitReason::Sleep, Switch::ParkWithTimer(sleep))
}

/// `park_g`, switching out with `why`. False if a token was pending.
#[inline(always)]
fn park_g_with(g: GRef, reason: WaitReason, why: Switch) -> bool {
    // Look before the CAS: a token is rarely there, and a failed CAS costs
    // as much as a successful one. A token that lands right after the look
    // is caught by `commit_park`.
    if g.park.load(Relaxed) == PARK_NOTIFIED
        && g.park
            .compare_exchange(PARK_NOTIFIED, PARK_EMPTY, Acquire, Relaxed)
            .is_ok()
    {
        return false;
    }
    g.set_wait_reason(reason);
    g.set_status(super::g::Status::Waiting);
    super::chaos::point("parking, not yet switched out");
    let here = 0u8;
    // SAFETY: we are the running goroutine, the G's sole holder.
    let owned = unsafe { g.owned_mut() };
    let sp = &here as *const u8 as usize;
    if owned.deepest_sp == 0 || sp < owned.deepest_sp {
        owned.deepest_sp = sp;
    }
    hooks::emit(|| Event::Park { g, reason });
    match why {
        // A plain park may continue its successor directly (`handoff.rs`).
        // SAFETY: `g` is running here and parking: its waiter is
        // registered and its status set above.
        Switch::Park => unsafe { super::handoff::park_switch(g) },
        _ => {
            let m = current::m().expect("a goroutine runs on an M");
            // SAFETY: `g` is the goroutine running here, `m` its M.
            unsafe { super::switch::switch_out(m, g, why) }
        }
    }
    g.set_wait_reason(WaitReason::None);
    true
}

/// Called once the goroutine's stack is switched out, by its M or by the
/// goroutine it handed off to. Returns true
/// if the goroutine is now parked; false if a token arrived meanwhile and
/// the goroutine must run again.
pub(crate) fn commit_park(g: GRef) -> bool {
    super::chaos::point("switched out, park not yet committed");
    match g
        .park
        .compare_exchange(PARK_EMPTY, PARK_PARKED, AcqRel, Acquire)
    {
        Ok(_) => true,
        Err(_) => {
            // NOTIFIED: consume it and keep running.
            g.park.store(PARK_EMPTY, Relaxed);
            g.set_wait_reason(WaitReason::None);
            g.set_status(super::g::Status::Running);
            false
        }
    }
}

fn unpark_g(g: GRef) {
    if take_parked(g) {
        super::proc::ready(g);
    }
}

/// `unpark` for a batch of wake-ups (expired timers): a goroutine this
/// readies goes to the tail of the current P's queue and no other M is
/// woken; the caller calls `wakep` once for the whole batch. True if it
/// readied the goroutine.
pub(crate) fn unpark_batched(g: GRef) -> bool {
    let readies = take_parked(g);
    if readies {
        super::proc::ready_tail(g);
    }
    readies
}

/// Sets `g`'s token. True if `g` was parked: the caller has just become
/// the only one allowed to make it runnable, and must.
///
/// A token that is already there is written again, never just looked at:
/// the write is what orders the waker's condition (a channel's `DONE`, a
/// fired sleep) before the parker's next look at it. Returning on a plain
/// load of `NOTIFIED` (a stale token, say from a timer that fired as the
/// wait completed) let the load pass the waker's own condition store still
/// sitting in its CPU's store buffer; the parker then consumed that old
/// token, looked at its condition, did not see it, and parked for good —
/// the lost wake-up behind rare `chan_stress` hangs, found with more Ps
/// than CPUs.
fn take_parked(g: GRef) -> bool {
    super::chaos::point("unparking");
    let mut state = g.park.load(Acquire);
    loop {
        let (new, readies) = match state {
            PARK_EMPTY | PARK_NOTIFIED => (PARK_NOTIFIED, false),
            _ => (PARK_EMPTY, true),
        };
        match g.park.compare_exchange_weak(state, new, AcqRel, Acquire) {
            Ok(_) => {
                if readies {
                    debug_assert_eq!(state, PARK_PARKED);
                    hooks::emit(|| Event::Unpark {
                        g,
                        by: current::g(),
                    });
                }
                return readies;
            }
            Err(actual) => state = actual,
        }
    }
}

/// How an M sleeps when it has nothing to do, and how it is handed work
/// (Go's `m.park` note).
pub(crate) struct MNote {
    slot: Mutex<Option<Wake>>,
    cond: Condvar,
}

/// What a sleeping M is woken for.
#[derive(Debug)]
pub(crate) enum Wake {
    /// Run on P `p` (spinning or not); `g` is a goroutine locked to this M
    /// that must run first.
    Run {
        p: usize,
        spinning: bool,
        g: Option<GRef>,
    },
    /// The runtime is shutting down: exit the thread.
    Exit,
    /// A timer is due sooner than this idle M expected: look at the timers.
    /// Never replaces a pending `Run` or `Exit`.
    Timers,
}

impl MNote {
    pub(crate) fn new() -> MNote {
        MNote {
            slot: Mutex::new(None),
            cond: Condvar::new(),
        }
    }

    pub(crate) fn wake(&self, wake: Wake) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(wake, Wake::Timers) && matches!(*slot, Some(Wake::Run { .. } | Wake::Exit)) {
            return; // A hand-off is pending; it matters more.
        }
        *slot = Some(wake);
        drop(slot);
        self.cond.notify_one();
    }

    pub(crate) fn wait(&self) -> Wake {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(w) = slot.take() {
                return w;
            }
            slot = self.cond.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Like `wait`, but gives up after `timeout` (returning `None`).
    pub(crate) fn wait_timeout(&self, timeout: std::time::Duration) -> Option<Wake> {
        let Some(deadline) = std::time::Instant::now().checked_add(timeout) else {
            return Some(self.wait());
        };
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(w) = slot.take() {
                return Some(w);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return None;
            }
            slot = self
                .cond
                .wait_timeout(slot, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for a `Run` or `Exit`, dropping `Timers` pokes.
    pub(crate) fn wait_for_handoff(&self) -> Wake {
        loop {
            match self.wait() {
                Wake::Timers => continue,
                w => return w,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;

    /// On plain threads: an unpark before the park is not lost, and a wait
    /// always ends, over many racing iterations.
    #[test]
    fn thread_park_unpark_race() {
        for _ in 0..2000 {
            let flag = Arc::new(AtomicBool::new(false));
            let me = Unparker::current();
            let f = flag.clone();
            let t = std::thread::spawn(move || {
                f.store(true, Release);
                me.unpark();
            });
            while !flag.load(Acquire) {
                park(WaitReason::Other);
            }
            t.join().unwrap();
        }
    }

    #[test]
    fn note_hands_over_value() {
        let note = Arc::new(MNote::new());
        let n = note.clone();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let t = std::thread::spawn(move || {
            if let Wake::Run { p, .. } = n.wait() {
                h.fetch_add(p, SeqCst);
            }
        });
        note.wake(Wake::Run {
            p: 7,
            spinning: false,
            g: None,
        });
        t.join().unwrap();
        assert_eq!(hits.load(SeqCst), 7);
    }
}
