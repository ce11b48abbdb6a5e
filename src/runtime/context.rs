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
mod arch {
    use super::Entry;
    use std::arch::{asm, naked_asm};

    /// See [`super::switch`]. The compiler may not be told that rbx and
    /// rbp are clobbered, so they are pushed here; every other register
    /// but rsp is declared clobbered, and the compiler saves those it
    /// needs. The stack at a switched-out context's saved pointer: resume
    /// address, rbx, rbp.
    #[inline(always)]
    pub(super) unsafe fn switch(from: *mut usize, to: usize, pass: usize) -> usize {
        let passed: usize;
        // SAFETY: the caller's contract (`super::switch`). The pushes are
        // undone by the resumed side (`pop rax` by whoever switches back
        // to us, then the two pops after label 2).
        unsafe {
            asm!(
                "push rbp",
                "push rbx",
                "lea rax, [rip + 2f]",
                "push rax",
                "mov [rdi], rsp",
                "mov rsp, rsi",
                "pop rax",
                "jmp rax",
                "2:",
                "pop rbx",
                "pop rbp",
                inout("rdi") from => _,
                inout("rsi") to => _,
                inout("rdx") pass => passed,
                out("r12") _,
                out("r13") _,
                out("r14") _,
                out("r15") _,
                clobber_abi("C"),
            );
        }
        passed
    }

    /// The first code of a new context, jumped to by `switch` with the
    /// stack holding `arg` and `entry` and `passed` in rdx. The CFI says
    /// there is no caller, and rbp is cleared: the frame-pointer chain
    /// ends here too.
    #[unsafe(naked)]
    unsafe extern "C" fn trampoline() -> ! {
        naked_asm!(
            ".cfi_startproc",
            ".cfi_undefined rip",
            "mov rdi, [rsp]",
            "mov rax, [rsp + 8]",
            "mov rsi, rdx",
            "and rsp, -16",
            "xor ebp, ebp",
            "call rax",
            "ud2",
            ".cfi_endproc",
        )
    }

    /// Lays out, below `top` (16-byte aligned), what `switch` expects of a
    /// switched-out context: the resume address (`trampoline`), here
    /// followed by `arg` and `entry` for the trampoline.
    ///
    /// # Safety
    /// The 32 bytes below `top` are writable stack memory the caller owns.
    pub(super) unsafe fn initial_frame(top: usize, entry: Entry, arg: usize) -> usize {
        let frame = [trampoline as *const () as usize, arg, entry as usize, 0];
        // SAFETY: the caller's contract; `top` is 16-byte aligned.
        unsafe { super::write_frame(top - 4 * 8, &frame) }
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use super::Entry;
    use std::arch::{asm, naked_asm};

    /// See [`super::switch`]. The compiler may not be told that x19 and
    /// the frame pointer x29 are clobbered, so they are saved here; every
    /// other register but sp is declared clobbered (x18 through
    /// `clobber_abi`, where the platform allows), and the compiler saves
    /// those it needs.
    /// The stack at a switched-out context's saved pointer: x29, x19,
    /// resume address, padding.
    #[inline(always)]
    pub(super) unsafe fn switch(from: *mut usize, to: usize, pass: usize) -> usize {
        let passed: usize;
        // SAFETY: the caller's contract (`super::switch`). The 32 bytes
        // stored below sp are given back by the resumed side (the
        // post-indexed load after label 2).
        unsafe {
            asm!(
                "adr x9, 2f",
                "stp x29, x19, [sp, #-32]!",
                "str x9, [sp, #16]",
                "mov x10, sp",
                "str x10, [x0]",
                "mov sp, x1",
                "ldr x9, [sp, #16]",
                "br x9",
                "2:",
                "ldp x29, x19, [sp], #32",
                inout("x0") from => _,
                inout("x1") to => _,
                inout("x2") pass => passed,
                out("x20") _,
                out("x21") _,
                out("x22") _,
                out("x23") _,
                out("x24") _,
                out("x25") _,
                out("x26") _,
                out("x27") _,
                out("x28") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                out("v12") _,
                out("v13") _,
                out("v14") _,
                out("v15") _,
                clobber_abi("C"),
            );
        }
        passed
    }

    /// The first code of a new context, branched to by `switch` with the
    /// stack holding `arg` and `entry` and `passed` in x2. The CFI says
    /// there is no caller, and x29 and x30 are cleared: the frame-pointer
    /// chain ends here too.
    #[unsafe(naked)]
    unsafe extern "C" fn trampoline() -> ! {
        naked_asm!(
            ".cfi_startproc",
            ".cfi_undefined x30",
            "ldr x0, [sp]",
            "ldr x9, [sp, #8]",
            "mov x1, x2",
            "add sp, sp, #32",
            "mov x29, xzr",
            "mov x30, xzr",
            "blr x9",
            "brk #1",
            ".cfi_endproc",
        )
    }

    /// Lays out, below `top` (16-byte aligned), what `switch` expects of a
    /// switched-out context: the resume address (`trampoline`) at offset
    /// 16, here with `arg` and `entry` where x29 and x19 would be.
    ///
    /// # Safety
    /// The 32 bytes below `top` are writable stack memory the caller owns.
    pub(super) unsafe fn initial_frame(top: usize, entry: Entry, arg: usize) -> usize {
        let frame = [arg, entry as usize, trampoline as *const () as usize, 0];
        // SAFETY: the caller's contract; `top` is 16-byte aligned.
        unsafe { super::write_frame(top - 4 * 8, &frame) }
    }
}

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
