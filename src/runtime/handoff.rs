//! Direct hand-off: a goroutine that parks runs its successor itself.
//!
//! Every goroutine switch through the M costs two stack switches —
//! goroutine → M, M → goroutine — and it is not the instructions of the
//! switches that cost most, it is the returns after them: a switch leaves
//! the CPU's return-address predictor holding the other stack's return
//! addresses, so each function that returns across a switch is a
//! mispredicted branch (measured here: a resume/suspend pair costs 17 ns
//! with no frames to return through and over 60 ns with a few on each
//! side). In a hand-off — a goroutine readies a partner into `runnext` and
//! parks, as every unbuffered send, ping-pong and pipeline stage does —
//! the M's part is always the same: commit the park, take `runnext`,
//! resume it.
//!
//! So the parking goroutine does it itself, on its own stack: it *hosts*
//! its successor, resuming the successor's coroutine directly (the
//! successor's next switch-out comes back to the host, not to the M), and
//! when the successor switches out, the host does the M's part for it
//! (`proc::finish_switch`). A hand-off between two goroutines is then one
//! switch each way instead of two, and the M's scheduling loop is skipped.
//!
//! **The host's own park.** While hosting, the host is parked in spirit
//! (its waiter is queued, its status is `Waiting`) but its stack is in use,
//! so nothing may run it elsewhere. Its park token says `PARK_HOSTING`: an
//! unparker turns that into `PARK_NOTIFIED` and readies nothing (see
//! `park::take_parked`), and the host, seeing the token after the
//! successor switched out, simply carries on as the woken goroutine — in a
//! ping-pong, every time. If it is not woken and there is no next
//! successor, it turns the token back to `PARK_EMPTY` and switches out to
//! its M like any parking goroutine; the M commits the park as usual.
//!
//! **Only with one P.** While it hosts, a goroutine's stack is in use: if
//! it is woken, it runs on only once its successor switches out, however
//! long that takes. With several Ps that would be visible — a woken
//! goroutine may run on another P at once, and a successor that computes
//! for long, or spins until its host does something, would delay or
//! deadlock a host that the scheduler would have run elsewhere. With one
//! P it is not: a woken goroutine cannot run before the running one
//! switches out anyway (there is no preemption). So hosting is done only
//! in runtimes with one P; a symmetric goroutine-to-goroutine switch (the
//! parked goroutine's context saved whole, resumable by any M) would lift
//! that, and needs a context switch of our own instead of corosensei's
//! resume/suspend pair.
//!
//! **When not to host.** A hosted goroutine never hosts (its parks switch
//! out to its host: there is one level, not a chain of stacks); a locked M
//! (`lock_os_thread`) runs no other goroutine; a successor that never ran
//! (no coroutine yet: starting one may have to wait for a stack) or that is
//! locked to another M goes through the M; and whenever the M must look
//! beyond its own queue (`proc::must_look_around`: the global queue's
//! turn, timers, stack pressure) the host switches out so that it can.
//! A hosted goroutine that asks for `lock_os_thread` first yields itself
//! out of the host (see `runtime::lock_os_thread`).

use super::current;
use super::g::{GRef, Status, Switch, PARK_EMPTY, PARK_HOSTING, PARK_NOTIFIED};
use super::proc::{self, AfterSwitch, M};
use std::sync::atomic::Ordering::*;

/// The parking goroutine `g`'s switch-out for a plain park in a runtime
/// with one P: host the successor if there is one, else switch out to the
/// M. Returns once `g` has been woken (or, for the M path, resumed).
///
/// Out of line, so that the callers' inlined park stays small for the
/// runtimes with several Ps, which never host.
#[inline(never)]
pub(crate) fn park_switch(g: GRef) {
    if let Some(m) = current::m() {
        if let Some(successor) = successor(m) {
            if host(m, g, successor) {
                return;
            }
        }
    }
    proc::switch_out(g, Switch::Park);
}

/// Takes the goroutine the M would run next, if the hand-off may run it
/// directly (see the module docs).
#[inline]
fn successor(m: &M) -> Option<GRef> {
    if m.hosting.get() || m.rt.procs() != 1 {
        return None;
    }
    take_successor(m)
}

/// [`successor`] without the test for hosting (for a host between two
/// successors).
#[inline]
fn take_successor(m: &M) -> Option<GRef> {
    if m.locked_g.get().is_some() {
        return None;
    }
    let p = m.try_p()?;
    if proc::must_look_around(p) || p.runnext.load(Relaxed).is_null() {
        return None;
    }
    let next = p.runnext.swap(std::ptr::null_mut(), Acquire);
    if next.is_null() {
        return None; // A thief took it.
    }
    // SAFETY: run queues only hold pointers made from GRefs.
    let next = unsafe { GRef::from_ptr(next) };
    // SAFETY: taken from the queue, the G is ours and not running.
    if proc::is_started(next) && !unsafe { next.owned_mut() }.locked {
        return Some(next);
    }
    // Back where it was (nobody else readies into our `runnext`).
    proc::runq_put(m.rt, p, next, true);
    None
}

/// Runs `first`, and then any further successors, on `g`'s stack while `g`
/// is parked. True: `g` was woken and runs on. False: `g` must switch out
/// to its M (its token is `PARK_EMPTY` again, the M commits the park).
fn host(m: &M, g: GRef, first: GRef) -> bool {
    if g.park
        .compare_exchange(PARK_EMPTY, PARK_HOSTING, Acquire, Acquire)
        .is_err()
    {
        // Woken before it could switch out: the successor goes back.
        g.park.store(PARK_EMPTY, Relaxed);
        proc::runq_put(m.rt, m.p(), first, true);
        run_on(m, g);
        return true;
    }
    note_stack_depth(g);
    m.hosting.set(true);
    let mut next = first;
    let woken = loop {
        m.p().stats.handoffs.inc();
        loop {
            proc::enter_g(m, next, true);
            let result = proc::resume_started(next);
            m.curg.set(Some(g));
            match proc::finish_switch(m, next, result) {
                AfterSwitch::Done => break,
                AfterSwitch::RunAgain => {}
            }
        }
        // Acquire: pairs with the unparker's release, so the host sees
        // what its waker wrote (a value in its channel waiter, say).
        if g.park.load(Acquire) == PARK_NOTIFIED {
            break true;
        }
        match take_successor(m) {
            Some(s) => next = s,
            None => break false,
        }
    };
    m.hosting.set(false);
    if !woken
        && g.park
            .compare_exchange(PARK_HOSTING, PARK_EMPTY, Acquire, Acquire)
            .is_ok()
    {
        return false;
    }
    // Only the token's owner writes over `PARK_NOTIFIED`.
    g.park.store(PARK_EMPTY, Relaxed);
    let p = m.p();
    p.stats.parks.inc();
    p.stats.handoffs.inc();
    run_on(m, g);
    true
}

/// The host carries on as the running goroutine: the bookkeeping the M
/// does when it switches to a goroutine (it runs in the current slice,
/// like any goroutine taken from `runnext`).
fn run_on(m: &M, g: GRef) {
    debug_assert_eq!(g.status(), Status::Waiting);
    proc::enter_g(m, g, true);
}

/// The host's frames lie below its park: count them in the stack depth
/// the pool uses to decide whether to trim a returned stack.
#[inline(always)]
fn note_stack_depth(g: GRef) {
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    // SAFETY: `g` is the running goroutine (its stack is this one), the
    // sole holder of its owned part.
    let owned = unsafe { g.owned_mut() };
    if owned.deepest_sp == 0 || sp < owned.deepest_sp {
        owned.deepest_sp = sp;
    }
}
