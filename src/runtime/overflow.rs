//! Stack overflow detection: a SIGSEGV/SIGBUS handler that recognises a
//! fault in a goroutine's guard page and says so, instead of a bare
//! "Segmentation fault".
//!
//! The handler runs on an alternate signal stack (a goroutine that overflowed
//! has no stack left to run a handler on). Every M gets one in
//! [`prepare_thread`]. A fault that is not a goroutine guard page hit is
//! passed on to the handler that was installed before ours (std's, which
//! reports main-thread overflows) or to the default action.
//!
//! Only async-signal-safe things happen in the handler: atomic loads,
//! formatting into a stack buffer, `write(2)` and `abort()`.

use super::current;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Once;

static INSTALL: Once = Once::new();
/// The previous handlers, for chaining: [SIGSEGV, SIGBUS].
static mut PREVIOUS: [MaybeUninit<libc::sigaction>; 2] =
    [MaybeUninit::uninit(), MaybeUninit::uninit()];
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];
/// Size of each M's alternate signal stack.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// Installs the handler once per process.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        for (i, &sig) in SIGNALS.iter().enumerate() {
            // SAFETY: a zeroed sigaction is a valid starting value; we fill
            // in a handler with the signature SA_SIGINFO requires. PREVIOUS
            // is written only here, inside `call_once`, before any handler
            // of ours can run.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = &raw mut PREVIOUS[i];
                libc::sigaction(sig, &action, (*previous).as_mut_ptr());
            }
        }
    });
}

/// Gives the calling thread an alternate signal stack if it has none.
/// (Leaked on purpose: Ms are few and live as long as the runtime.)
pub(crate) fn prepare_thread() {
    // SAFETY: querying and setting this thread's sigaltstack with valid
    // pointers; the new stack is a fresh private mapping we never free.
    unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        libc::sigaltstack(std::ptr::null(), &mut current);
        if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= ALT_STACK_SIZE {
            return;
        }
        let mem = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if mem == libc::MAP_FAILED {
            return; // No alternate stack: an overflow still faults, unreported.
        }
        let stack = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        libc::sigaltstack(&stack, std::ptr::null_mut());
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let m = current::m_ptr_for_signal();
    // SAFETY: a non-null M pointer is this thread's live M.
    if let Some(g) = unsafe { m.as_ref() }.and_then(|m| m.curg.get()) {
        let lo = g.guard_lo.load(Relaxed);
        let hi = g.guard_hi.load(Relaxed);
        if lo != 0 && addr >= lo && addr < hi {
            report_overflow(
                g.id.load(Relaxed),
                g.try_name_for_signal(),
                g.stack_bytes.load(Relaxed),
            );
        }
    }
    chain(sig, info, context);
}

fn report_overflow(id: u64, name: Option<StackStr>, stack_bytes: usize) -> ! {
    let mut msg = StackStr::new();
    let _ = write!(msg, "\ngoroutine {id}");
    if let Some(name) = name {
        let _ = write!(msg, " ({})", name.as_str());
    }
    let _ = writeln!(
        msg,
        " overflowed its stack of {} KiB; raise it with Builder::stack_size or GORO_STACK_SIZE",
        stack_bytes / 1024
    );
    // SAFETY: write(2) and abort(3) are async-signal-safe.
    unsafe {
        libc::write(2, msg.buf.as_ptr().cast(), msg.len);
        libc::abort();
    }
}

/// Hands a fault that is not ours to the previous handler, or restores the
/// previous disposition and returns, so the faulting instruction re-runs
/// under it (the default action: die with SIGSEGV).
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let index = if sig == libc::SIGSEGV { 0 } else { 1 };
    // SAFETY: PREVIOUS was fully written before our handler was installed.
    let previous = unsafe { PREVIOUS[index].assume_init() };
    let handler = previous.sa_sigaction;
    if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: the previous handler was registered with this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(handler) };
            f(sig, info, context);
        } else {
            // SAFETY: as above, the one-argument form.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
            f(sig);
        }
        return;
    }
    // SAFETY: restoring a disposition previously returned by sigaction.
    unsafe { libc::sigaction(sig, &previous, std::ptr::null_mut()) };
}

/// A fixed-capacity string on the stack, for allocation-free formatting.
pub(crate) struct StackStr {
    buf: [u8; 256],
    len: usize,
}

impl StackStr {
    pub(crate) fn new() -> Self {
        StackStr {
            buf: [0; 256],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
