//! Switching between goroutines and Ms (Go's `gogo`, `mcall` and a
//! goroutine's first and last frames), on top of `context.rs`.
//!
//! There are three switches:
//!
//! * **M → goroutine** ([`resume`]): the M saves its own context in
//!   `M::sp` and continues the goroutine's.
//! * **goroutine → M** ([`switch_out`]): the goroutine writes who it is and
//!   why it stops into `M::switched` and continues the M's context, which
//!   returns from `resume` and does the M's part (`proc.rs:
//!   finish_switch`: requeue, commit the park, free the finished).
//! * **goroutine → goroutine** ([`hand_off`]): a parking goroutine
//!   continues the goroutine it has just readied directly (`handoff.rs`
//!   decides when), passing itself along. The M's part for the parker —
//!   commit its park — is then done by the goroutine switched to, first
//!   thing ([`after_switch_in`]): only once the parker's registers are
//!   saved may anyone resume it. If it was woken in between, the commit
//!   fails and it is readied like any woken goroutine.
//!
//! Whatever way a goroutine was continued, it may later switch out to the
//! M of the thread it is on: every goroutine on a thread runs inside that
//! M's one `resume` call (the M's context saved in `M::sp`), however many
//! hand-offs happened since.

use super::context::{self, Context};
use super::current;
use super::g::{GRef, Switch, G};
use super::park;
use super::proc::{self, M};
use super::stack::Stack;
use std::sync::atomic::Ordering::*;

/// Runs `g` on `m` (starting it on its first run) until a goroutine
/// switches back to the M; returns that goroutine — `g`, or one that was
/// handed off to since — and why. `None`: `g` has not started and no
/// stack can be had now.
///
/// Inlined, like [`switch_out`], so that no function returns across the
/// switch (each such return is a mispredicted branch: see `handoff.rs`).
///
/// # Safety
/// The caller is `m`'s thread, running on the M's own stack, and holds
/// `g` (took it from a queue, or was handed it with a locked M): `g` is
/// not running and nobody else will continue it.
#[inline(always)]
pub(crate) unsafe fn resume(m: &M, g: GRef) -> Option<(GRef, Switch)> {
    // SAFETY: we hold `g` (the caller's contract).
    if !unsafe { ensure_started(m, g) } {
        return None;
    }
    // SAFETY: as above; the borrow ends before the switch.
    let to = unsafe { context_of(g) }.sp();
    // SAFETY: `to` is `g`'s switched-out context, which only its holder
    // (us) continues. `m.sp` is what a goroutine on this thread switches
    // back to; the M's frame outlives every goroutine run from it.
    unsafe { context::switch(m.sp.as_ptr(), to, 0) };
    Some(
        m.switched
            .take()
            .expect("a goroutine switching to its M says why"),
    )
}

/// Gives `g` its context if it has none yet (its first run: a stack from
/// the P's cache). False if no stack can be had now.
///
/// # Safety
/// The caller holds `g`, which is not running.
#[inline(always)]
pub(crate) unsafe fn ensure_started(m: &M, g: GRef) -> bool {
    // SAFETY: the caller's contract.
    let slot = unsafe { g.context_mut() };
    if slot.is_none() {
        match start(m, g) {
            Some(context) => *slot = Some(context),
            None => return false,
        }
    }
    true
}

/// `g`'s context, which it has (it has started).
///
/// # Safety
/// As for `G::context_mut`: the caller holds `g`, or is `g` switching away;
/// the borrow ends before any switch.
#[inline(always)]
unsafe fn context_of<'a>(g: GRef) -> &'a mut Context {
    // SAFETY: Gs are never freed; the slot's exclusivity is the caller's
    // contract.
    let g: &'a G = unsafe { &*g.as_ptr() };
    // SAFETY: as above.
    unsafe { g.context_mut() }
        .as_mut()
        .expect("a started goroutine has a context")
}

/// A new goroutine's context: a stack from the P's cache (or a custom-sized
/// one), entering [`goroutine_entry`]. For `ensure_started`, whose caller
/// holds `g`.
fn start(m: &M, g: GRef) -> Option<Context> {
    let rt = m.rt;
    // SAFETY: the caller holds `g` (see `ensure_started`), which has not
    // run yet: nothing else touches its owned part.
    let size = unsafe { g.owned_mut() }.stack_size;
    let stack = if size == rt.stacks.stack_size() {
        // SAFETY: we hold our P.
        rt.stacks.get(unsafe { &mut m.p().local().stacks })
    } else {
        Stack::new(size)
    };
    let stack = stack.ok()?;
    m.p().stats.stacks_taken.inc();
    let (lo, hi) = stack.guard();
    g.guard_lo.store(lo, Relaxed);
    g.guard_hi.store(hi, Relaxed);
    g.stack_bytes.store(stack.size(), Relaxed);
    Some(Context::new(stack, goroutine_entry, g.as_ptr() as usize))
}

/// The first frame of every goroutine. `g` is its G; `passed` what the
/// switch that entered it passed (a hand-off's parker).
extern "C" fn goroutine_entry(g: usize, passed: usize) -> ! {
    after_switch_in(passed);
    // SAFETY: `start` passed a pointer made from a GRef.
    let g = unsafe { GRef::from_ptr(g as *mut G) };
    proc::goroutine_main(g);
    exit(g)
}

/// A finished goroutine's last switch: to its M, which frees its stack.
fn exit(g: GRef) -> ! {
    let m = current::m().expect("a goroutine runs on an M");
    m.switched.set(Some((g, Switch::Exit)));
    let mut never_resumed = 0usize;
    // SAFETY: the M's context is switched out in `resume` on this thread;
    // nothing ever switches back here (the M frees this stack), so the
    // saved stack pointer may go to a local.
    unsafe { context::switch(&mut never_resumed, m.sp.get(), 0) };
    unreachable!("a finished goroutine was resumed")
}

/// Switches from the running goroutine `g` to its M `m`, which does
/// `why`. Returns when `g` is continued (by an M, or by a hand-off).
///
/// # Safety
/// `g` is the goroutine running on this thread and `m` this thread's M
/// (whose context is switched out in `resume`).
#[inline(always)]
pub(crate) unsafe fn switch_out(m: &M, g: GRef, why: Switch) {
    m.switched.set(Some((g, why)));
    note_stack(g);
    // SAFETY: `g` is running (the caller's contract): its context slot is
    // ours until the switch stores into it; after that whoever continues
    // `g` owns it. The M's context is switched out in `resume`.
    let passed = unsafe { context::switch(context_of(g).sp_slot(), m.sp.get(), 0) };
    after_switch_in(passed);
}

/// What a hand-off passes to the goroutine it continues: the parker, and
/// the M (saving that goroutine a thread-local lookup). It lives in the
/// parker's frame, which stays put until the parker's park is committed —
/// by the reader, after copying it out.
#[derive(Clone, Copy)]
struct HandOff<'a> {
    parker: GRef,
    m: &'a M,
}

/// Switches from the parking goroutine `g` straight to `next`, taken from
/// the P's `runnext` and started (see `handoff.rs`). Returns when `g` is
/// continued.
///
/// # Safety
/// `g` is the goroutine running on this thread, parking (its waiter is
/// registered, its status `Waiting`), and `m` this thread's M; `next` was
/// taken from `m`'s P's queue (so we hold it), has started, and is not
/// running.
#[inline(always)]
pub(crate) unsafe fn hand_off(m: &M, g: GRef, next: GRef) {
    // From here to the switch `m.curg` already names `next`: a fault on
    // `g`'s guard page in those few instructions would be reported as a
    // plain SIGSEGV, not as `g`'s stack overflow.
    proc::enter_g(m, next, true);
    let note = HandOff { parker: g, m };
    // SAFETY: `g` is running (its slot is ours until the switch stores
    // into it); we hold `next` and continue it once. `note` is passed
    // along: the goroutine we continue copies it out and then commits our
    // park; until then nothing can continue us, so the frame holding it
    // stays put.
    let passed = unsafe {
        let to = context_of(next).sp();
        context::switch(
            context_of(g).sp_slot(),
            to,
            &note as *const HandOff as usize,
        )
    };
    after_switch_in(passed);
}

/// Leaves a hint of where `g`'s stack top will be while it is switched
/// out, for `prefetch::stack` (an M about to resume it starts loading it).
/// Not on hand-offs (their hot path): a parker that handed off keeps the
/// hint of its last switch to an M, a little off but on its own stack.
#[inline(always)]
fn note_stack(g: GRef) {
    let here = 0u8;
    g.stack_hint
        .store(std::ptr::addr_of!(here) as usize, Relaxed);
}

/// First thing a goroutine does when continued: if it was handed off to,
/// finish the parker's park.
#[inline(always)]
fn after_switch_in(passed: usize) {
    if passed != 0 {
        // SAFETY: `hand_off` passes a pointer to its `HandOff`, alive
        // until the parker's park is committed (below, after this copy).
        let HandOff { parker, m } = unsafe { (passed as *const HandOff).read() };
        finish_hand_off(m, parker);
    }
}

/// The M's part of a park, done for a goroutine that handed off to us: its
/// registers are saved now, so commit the park; if an unpark got in first,
/// it is runnable again (next on this P, like any goroutine woken here).
#[inline(always)]
fn finish_hand_off(m: &M, parker: GRef) {
    let stats = &m.p().stats;
    stats.parks.inc();
    stats.handoffs.inc();
    if !park::commit_park(parker) {
        ready_parker(parker);
    }
}

/// A parker woken before its park was committed: runnable again.
#[cold]
#[inline(never)]
fn ready_parker(parker: GRef) {
    proc::ready(parker);
}
