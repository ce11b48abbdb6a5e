//! "Which M am I, which G am I running?" — the runtime's thread-local state.
//!
//! A goroutine may resume on a different OS thread after any park. LLVM is
//! allowed to compute a thread-local's address once and reuse it across a
//! function call, which would make a goroutine read its *old* thread's state
//! after a switch. Every accessor here is therefore `#[inline(never)]`: each
//! call computes the address afresh on the thread it runs on.

use super::g::GRef;
use super::proc::M;
use std::cell::Cell;
use std::ptr;

thread_local! {
    /// The M this thread runs, or null on a plain thread.
    static CURRENT_M: Cell<*const M> = const { Cell::new(ptr::null()) };
}

/// Binds this thread to `m` for the rest of its life (or until `clear_m`).
pub(crate) fn set_m(m: &M) {
    CURRENT_M.with(|c| c.set(m));
}

pub(crate) fn clear_m() {
    CURRENT_M.with(|c| c.set(ptr::null()));
}

/// The M of this thread, if it is one of the runtime's threads.
///
/// The reference is good for as long as the caller does not switch
/// goroutines: an M lives as long as its thread, but after a park the
/// goroutine may be on another thread, so call this again then.
#[inline(never)]
pub(crate) fn m() -> Option<&'static M> {
    let ptr = CURRENT_M.with(|c| c.get());
    // SAFETY: a non-null value points at the M living in this thread's
    // `m_main` frame, which outlives every use on this thread.
    unsafe { ptr.as_ref() }
}

/// The goroutine running on this thread, if any.
#[inline(never)]
pub(crate) fn g() -> Option<GRef> {
    let ptr = CURRENT_M.with(|c| c.get());
    // SAFETY: as in `m`.
    unsafe { ptr.as_ref() }.and_then(|m| m.curg.get())
}

/// The M pointer, for the async-signal-safe overflow handler.
pub(crate) fn m_ptr_for_signal() -> *const M {
    // `try_with` instead of `with`: never panic inside a signal handler.
    CURRENT_M.try_with(|c| c.get()).unwrap_or(ptr::null())
}
