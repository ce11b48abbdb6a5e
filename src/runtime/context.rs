//! Goroutine contexts: a stack, the stack pointer saved while the goroutine
//! is switched out, and the switch from one context to another.
//!
//! **Why our own.** A coroutine library in the usual style (corosensei,
//! which goro used first) is *asymmetric*: a coroutine is resumed by a
//! caller and can only suspend back to that caller. Every goroutine switch
//! then goes goroutine → M → goroutine, two switches, and the second
//! goroutine can never be entered straight from the first. Go's runtime
//! switches symmetrically (`gogo` loads any goroutine's saved registers),
//! and so does this module: [`switch`] saves the running context and loads
//! any other, a goroutine's or an M's. That is what lets a goroutine that
//! parks hand the CPU straight to the one it has just readied
//! (`handoff.rs`): one switch instead of two, and the parked goroutine is
//! fully switched out — any M may resume it later.
//!
//! **How a switch works.** `switch` is inline assembly that declares
//! every register clobbered except the two the compiler will not let it
//! name (x86-64: rbx and rbp; AArch64: x19 and the frame pointer x29),
//! which it saves itself, so the compiler saves around it only what is
//! live there — usually a handful of registers. It pushes the address of
//! its own resume point, stores the stack pointer through `from`, loads
//! the stack pointer `to`, pops that context's resume point and *jumps*
//! there. A jump, not a call/return pair: the CPU predicts an indirect
//! jump from its history (a ping-pong's targets alternate predictably),
//! while a `ret` is predicted from the return-address stack, which a stack
//! switch has just made wrong — and each mispredicted branch costs several
//! nanoseconds. A value travels along: `pass` comes out as the return
//! value on the other side (the scheduler uses it to tell a goroutine who
//! handed off to it).
//!
//! **A new context** is a stack whose resume point is the trampoline,
//! with the entry function and its argument beside it; the trampoline
//! calls `entry(arg, passed)`. The entry never returns (a finished
//! goroutine switches away for good). The trampoline ends the call chain
//! for both kinds of unwinder: its unwind info says there is no caller,
//! and it clears the frame pointer (and, on AArch64, the link register).
//!
//! Not saved: the floating-point control and status registers (x86's
//! MXCSR and x87 control word, AArch64's FPCR). Goroutines share their
//! thread's settings, which Rust code does not change.

use super::stack::Stack;

/// The function a new context starts in: `entry(arg, passed)`, where
/// `passed` is the value handed to the `switch` that entered it first.
pub(crate) type Entry = extern "C" fn(arg: usize, passed: usize) -> !;

/// A goroutine's execution context.
pub(crate) struct Context {
    /// The saved stack pointer while switched out (meaningless while the
    /// context runs).
    sp: usize,
    stack: Stack,
}

impl Context {
    /// A context on `stack` that, when first switched to, calls
    /// `entry(arg, passed)`.
    pub(crate) fn new(stack: Stack, entry: Entry, arg: usize) -> Context {
        let top = stack.top() & !15;
        // SAFETY: the 32 bytes below `top` are the top of `stack`, which
        // we own and nothing runs on yet.
        let sp = unsafe { arch::initial_frame(top, entry, arg) };
        Context { sp, stack }
    }

    /// The stack pointer to switch to.
    pub(crate) fn sp(&self) -> usize {
        self.sp
    }

    /// Where a switch away from this context stores its stack pointer.
    pub(crate) fn sp_slot(&mut self) -> *mut usize {
        &mut self.sp
    }

    /// The stack back, once the context will never run again.
    pub(crate) fn into_stack(self) -> Stack {
        self.stack
    }
}

/// Saves the running context (its stack pointer goes to `*from`) and
/// continues the one whose saved stack pointer is `to`, which sees `pass`
/// as the return value of its own `switch` call (or as `passed`, the
/// first time). Returns when some context switches back to this one, with
/// the value it passed.
///
/// # Safety
/// `to` is the saved stack pointer of a context that is switched out —
/// made by [`Context::new`] and never run, or stored by a `switch` from it
/// — and that nothing else will switch to (each switched-out context is
/// continued once). `from` is valid for writes, and whatever switches back
/// here does so with the value stored there. Everything the current
/// context borrows must stay valid until it is switched back to.
#[inline(always)]
pub(crate) unsafe fn switch(from: *mut usize, to: usize, pass: usize) -> usize {
    // SAFETY: the caller's contract.
    unsafe { arch::switch(from, to, pass) }
}

/// Writes a new context's initial frame at `sp`; returns `sp`.
///
/// # Safety
/// `[sp, sp + frame.len() words)` is writable memory the caller owns
/// (the top of a fresh stack), aligned for `usize`.
unsafe fn write_frame(sp: usize, frame: &[usize]) -> usize {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(frame.as_ptr(), sp as *mut usize, frame.len()) };
    sp
}

#[cfg(target_arch = "x86_64")]
#[path = "context/x86_64.rs"]
mod arch;

#[cfg(target_arch = "aarch64")]
#[path = "context/aarch64.rs"]
mod arch;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("goro's context switch is written for x86_64 and aarch64");

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::stack::round_stack_size;

    /// What the two sides of the test share: each one's saved stack
    /// pointer, and what the context adds up.
    struct Pair {
        main_sp: usize,
        context_sp: usize,
        sum: usize,
    }

    /// Doubles each value it is passed, switching back with it; keeps a
    /// value of its own across every switch and adds it up.
    extern "C" fn doubler(arg: usize, mut passed: usize) -> ! {
        let pair = arg as *mut Pair;
        loop {
            let kept = passed.wrapping_mul(3);
            let kept_float = passed as f64 * 0.5;
            // SAFETY: `pair` outlives the test's switches; the test
            // switched to us and continues only through `main_sp`.
            passed = unsafe { switch(&mut (*pair).context_sp, (*pair).main_sp, passed * 2) };
            // SAFETY: as above; the test reads `sum` only while we are
            // switched out.
            unsafe { (*pair).sum += kept + (kept_float * 2.0) as usize };
        }
    }

    /// A new context starts in its entry with its argument and the passed
    /// value; values travel both ways across many switches; each side's
    /// locals — integer and floating-point, in registers or on the stack —
    /// survive the other side's run.
    #[test]
    fn switches_carry_values_and_keep_each_sides_state() {
        let stack = Stack::new(round_stack_size(64 * 1024)).expect("a stack");
        let mut pair = Box::new(Pair {
            main_sp: 0,
            context_sp: 0,
            sum: 0,
        });
        let context = Context::new(stack, doubler, &mut *pair as *mut Pair as usize);
        pair.context_sp = context.sp();
        const N: usize = 1000;
        for i in 1..=N {
            let mine = i as f64 * 1.25;
            let pair_ptr: *mut Pair = &mut *pair;
            // SAFETY: the context is switched out (fresh, or back to us in
            // its last switch) and only we continue it.
            let got = unsafe { switch(&mut (*pair_ptr).main_sp, (*pair_ptr).context_sp, i) };
            assert_eq!(got, 2 * i);
            assert_eq!(mine, i as f64 * 1.25);
        }
        // The context added `4 * v` for each v it was passed but the last
        // (it adds after the switch back, which has not come yet).
        assert_eq!(pair.sum, 4 * (N - 1) * N / 2);
        // Never continued again: dropping it just frees the stack.
        drop(context);
    }
}
