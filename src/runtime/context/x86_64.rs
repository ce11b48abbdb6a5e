//! The x86-64 (System V) context switch: see the parent module.

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
