//! The AArch64 context switch: see the parent module.

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
