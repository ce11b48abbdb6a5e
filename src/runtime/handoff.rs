//! Direct hand-off: a goroutine that parks continues the goroutine it has
//! just readied, without going through its M.
//!
//! Every goroutine switch through the M costs two context switches —
//! goroutine → M, M → goroutine — and the cost is less in the
//! instructions than in the returns after them: a switch leaves the CPU's
//! return-address predictor holding the other stack's return addresses,
//! so every function returning across a switch is a mispredicted branch
//! (a resume/suspend pair cost 17 ns with no frames to return through and
//! over 60 ns with a few on each side). In a hand-off — a goroutine readies
//! a partner into its P's `runnext` and parks, as every unbuffered send,
//! ping-pong and pipeline stage does — the M's part is always the same:
//! commit the park, take `runnext`, resume it.
//!
//! So the parking goroutine takes `runnext` itself and switches straight to
//! it (`switch::hand_off`); the goroutine it continues commits the parker's
//! park first thing, once the parker's registers are saved
//! (`switch::after_switch_in`). The parker is then switched out exactly as
//! if its M had done it: any M may resume it when it is woken.
//!
//! **When not to.** Whenever the M would do more than take `runnext`: when
//! it must look beyond its own queue (`proc::must_look_around`: the global
//! queue's turn, due timers, stack pressure), when the M is locked to a
//! goroutine (`lock_os_thread`: it runs no other), when the successor is
//! locked to another M, or when the successor has not run yet and no stack
//! can be had for it. The `runnext` chain limit (`INHERIT_LIMIT`) applies
//! as to any goroutine taken from `runnext`: a readier that has handed off
//! too often in a row readies to the tail, and its park goes through the M.

use super::current;
use super::g::{GRef, Switch};
use super::proc::{self, M};
use super::switch;
use std::sync::atomic::Ordering::*;

/// The switch-out of a goroutine `g` that parks: straight to its successor
/// if it has one, else to its M. Returns once `g` is continued.
#[inline]
pub(crate) fn park_switch(g: GRef) {
    if let Some(m) = current::m() {
        if let Some(next) = successor(m) {
            switch::hand_off(m, g, next);
            return;
        }
    }
    switch::switch_out(g, Switch::Park);
}

/// Takes the goroutine the M would run next, if a hand-off may continue it
/// (see the module docs).
#[inline]
fn successor(m: &M) -> Option<GRef> {
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
    let locked = unsafe { next.owned_mut() }.locked;
    if !locked && (switch::is_started(next) || switch::prepare(m, next)) {
        return Some(next);
    }
    // Back where it was (nobody else readies into our `runnext`).
    proc::runq_put(m.rt, p, next, true);
    None
}
