//! Cache prefetch hints for memory the scheduler is about to touch.
//!
//! With many goroutines, the memory of the next one to run — its G — was
//! last written by another CPU or fell out of the
//! cache long ago: every switch would start with a stall of a few hundred
//! cycles. Where the scheduler knows a few steps ahead which goroutine
//! comes next (a run queue, a batch of expired timers), it asks the CPU to
//! start those loads early. Hints never fault and are free to ignore, so
//! any address will do; a wrong guess only wastes a little bandwidth.
//!
//! **Parked stacks.** The first thing a resume does is load the resume
//! address from the goroutine's stack top; with many parked goroutines
//! (100,000 sleepers, say) that line and its page are long gone from the
//! caches and the TLB, and the timers benchmark spent a third of its time
//! on that one load. `runq_get` starts loading the stack top of the next
//! queued goroutine while the current one runs, from a hint each goroutine
//! leaves when it switches out to its M (`G::stack_hint`): timers −20%
//! CPU. (Hand-offs leave no hint: their successor is resumed at once, and
//! its stack is warm.) Goroutines woken by timers have their stack tops
//! loaded by the firing M, a batch at a time, so that the page walks
//! overlap (`timers.rs`, `TimerHeap::run_due`).
//!

use super::g::{G, G_HOT_BYTES};

const LINE: usize = 64;

/// Starts loading the cache line holding `addr`, to read it.
#[inline(always)]
pub(crate) fn read(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint: it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// Starts loading the cache line holding `addr` in exclusive state, to
/// write it: a later atomic read-modify-write then needs no second trip to
/// take the line from the CPU that shares it.
#[inline(always)]
pub(crate) fn write(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetchw` is a hint: it never faults and writes nothing.
    // CPUs without PRFCHW decode its opcode (0F 0D) as a no-op.
    unsafe {
        std::arch::asm!("prefetchw [{}]", in(reg) addr, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// Starts loading the lines of `g` that running it reads (null: nothing):
/// its hot part, `G_HOT_BYTES`; the rest is for spawn, exit and `dump`.
#[inline]
pub(crate) fn g(g: *mut G) {
    if !g.is_null() {
        for line in 0..G_HOT_BYTES.div_ceil(LINE) {
            read(g as usize + line * LINE);
        }
    }
}

/// Starts loading the lines of `g` that waking it writes (null: nothing).
#[inline]
pub(crate) fn g_for_write(g: *mut G) {
    if !g.is_null() {
        for line in 0..G_HOT_BYTES.div_ceil(LINE) {
            write(g as usize + line * LINE);
        }
    }
}

/// Starts loading the top of `g`'s parked stack (null, or never run:
/// nothing): the lines a resume reads first, around where it switched out.
#[inline]
pub(crate) fn stack(g: *mut G) {
    if g.is_null() {
        return;
    }
    // SAFETY: Gs are never freed; the hint is an atomic.
    stack_at(
        unsafe { &*g }
            .stack_hint
            .load(std::sync::atomic::Ordering::Relaxed),
    );
}

/// Starts loading the top of a parked stack, given its `G::stack_hint`
/// (0: nothing).
#[inline]
pub(crate) fn stack_at(hint: usize) {
    if hint != 0 {
        for line in 0..STACK_LINES {
            read((hint & !(LINE - 1)) - LINE + line * LINE);
        }
    }
}

/// Lines of a parked stack that `stack` loads: the one below the hint
/// (the switch's saved registers) and the frames above it.
const STACK_LINES: usize = 4;
