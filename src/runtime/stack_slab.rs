//! Where stacks come from: slabs of guarded stacks, and the mapping budget.
//!
//! A kernel mapping per stack would be costly twice over: an `mmap` (and a
//! `munmap`) per goroutine stack, and Linux's `vm.max_map_count` (65530 by
//! default) would cap a process near 30,000 started goroutines. So stacks
//! are carved from *slabs*: one mapping holds [`SLAB_STACKS`] stacks, each
//! `[guard page][usable bytes]`.
//!
//! Guard pages are installed with `MADV_GUARD_INSTALL` (Linux 6.13+), which
//! marks pages in the page tables and does not split the mapping — a slab
//! stays one mapping, and a million goroutines fit under the default
//! `vm.max_map_count`. On older kernels (or with `GORO_STACK_GUARD=mprotect`)
//! guards fall back to `mprotect(PROT_NONE)`, which splits the slab: about
//! two mappings per stack, as with one mapping per stack.
//!
//! A slab's stacks are never unmapped one by one. A stack that is no longer
//! wanted (a pool overflowing, sysmon releasing idle stacks) is *retired*:
//! its memory is given back (`MADV_DONTNEED`) and its address range waits
//! on a process-wide list for the next stack of its size.
//!
//! [`StackBudget`] turns `vm.max_map_count` into a clear spawn-time error
//! when new mappings would be needed and cannot be had.

use super::stack::{page_size, Stack};
use std::io;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::*};
use std::sync::Mutex;

/// Stacks per slab.
pub(crate) const SLAB_STACKS: usize = 32;
/// Stacks larger than this get a mapping of their own.
const SLAB_MAX_STACK: usize = 1024 * 1024;
/// `MADV_GUARD_INSTALL` (linux/mman.h; not in every libc yet).
const MADV_GUARD_INSTALL: libc::c_int = 102;

const GUARD_UNKNOWN: u8 = 0;
const GUARD_MADVISE: u8 = 1;
const GUARD_MPROTECT: u8 = 2;
static GUARD_MODE: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);

/// Kernel mappings we hold for stacks (slabs, own mappings, and the splits
/// `mprotect` guards make).
static MAPPINGS: AtomicUsize = AtomicUsize::new(0);
/// Stacks handed out and not retired (in use or pooled).
static STACKS: AtomicUsize = AtomicUsize::new(0);

/// Carving state, per stack size.
struct SizeClass {
    size: usize,
    /// Next unused stack of the current slab, and the slab's end.
    next: usize,
    end: usize,
    /// Whether every guard of the current slab was installed when it was
    /// mapped (see [`install_slab_guards`]); if not, each stack's guard is
    /// installed as the stack is carved.
    guarded: bool,
    /// Retired stacks of this size (guard page addresses).
    retired: Vec<usize>,
}

static SLABS: Mutex<Vec<SizeClass>> = Mutex::new(Vec::new());

fn guard_mode() -> u8 {
    match GUARD_MODE.load(Relaxed) {
        GUARD_UNKNOWN => {
            let forced = std::env::var("GORO_STACK_GUARD").is_ok_and(|v| v == "mprotect");
            let mode = if forced {
                GUARD_MPROTECT
            } else {
                GUARD_MADVISE
            };
            GUARD_MODE.store(mode, Relaxed);
            mode
        }
        mode => mode,
    }
}

/// Mappings one more `mprotect` guard may add (a split in the middle of a
/// mapping makes two more).
fn guard_cost() -> usize {
    if guard_mode() == GUARD_MPROTECT {
        2
    } else {
        0
    }
}

/// Makes the page at `addr` a guard page.
fn install_guard(addr: usize) -> io::Result<()> {
    let page = page_size();
    if guard_mode() == GUARD_MADVISE {
        // SAFETY: `addr` is a page of a private anonymous mapping we own
        // and nothing uses; a guard marker only makes accesses fault.
        if unsafe { libc::madvise(addr as *mut libc::c_void, page, MADV_GUARD_INSTALL) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINVAL) {
            return Err(err);
        }
        // An older kernel: fall back for good.
        GUARD_MODE.store(GUARD_MPROTECT, Relaxed);
    }
    // SAFETY: as above; PROT_NONE only makes accesses fault.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, page, libc::PROT_NONE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    MAPPINGS.fetch_add(2, Relaxed);
    Ok(())
}

/// `process_madvise`'s "the calling process" (Linux 6.15+).
const PIDFD_SELF: libc::c_int = -10000;
/// Whether [`install_slab_guards`] may try `process_madvise` (cleared for
/// good when the kernel refuses it).
static BATCH_GUARDS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Installs the guard page of each of a fresh slab's [`SLAB_STACKS`]
/// stacks (`stride` apart from `base`) in one system call, if the kernel
/// can (`process_madvise` on ourselves with `MADV_GUARD_INSTALL`). True if
/// all are installed; false leaves them to [`install_guard`], one per
/// stack as it is carved.
///
/// Why batch: a new stack costs a guard install and a page fault, each a
/// couple of microseconds in a VM, and with 100,000 goroutines starting at
/// once they are most of the CPU time. One call per slab instead of one
/// per stack takes a third off the pair (measured: 3.0 → 2.2 µs per stack).
fn install_slab_guards(base: usize, stride: usize) -> bool {
    if guard_mode() != GUARD_MADVISE || !BATCH_GUARDS.load(Relaxed) {
        return false;
    }
    let page = page_size();
    let guards: [libc::iovec; SLAB_STACKS] = std::array::from_fn(|i| libc::iovec {
        iov_base: (base + i * stride) as *mut libc::c_void,
        iov_len: page,
    });
    // SAFETY: every iovec names a page of the private anonymous slab we
    // have just mapped and nobody uses yet; a guard marker only makes
    // accesses fault. The kernel only reads the array.
    let done = unsafe {
        libc::syscall(
            libc::SYS_process_madvise,
            PIDFD_SELF,
            guards.as_ptr(),
            SLAB_STACKS,
            MADV_GUARD_INSTALL,
            0,
        )
    };
    if done == (SLAB_STACKS * page) as libc::c_long {
        return true;
    }
    // An older kernel (no PIDFD_SELF, or no guard advice through
    // process_madvise), or a partial install: the per-stack path installs
    // each guard again, which is harmless, and we stop trying.
    BATCH_GUARDS.store(false, Relaxed);
    false
}

fn map_anonymous(len: usize) -> io::Result<usize> {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing aliases nothing.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    MAPPINGS.fetch_add(1, Relaxed);
    Ok(ptr as usize)
}

/// A stack of `size` usable bytes (page-rounded): a retired one, or the
/// next of a slab (mapping a new slab when needed), within [`BUDGET`].
pub(crate) fn take(size: usize) -> io::Result<Stack> {
    let page = page_size();
    if size > SLAB_MAX_STACK {
        return take_own(size);
    }
    let mut slabs = SLABS.lock().unwrap_or_else(|e| e.into_inner());
    let class = match slabs.iter().position(|c| c.size == size) {
        Some(i) => &mut slabs[i],
        None => {
            slabs.push(SizeClass {
                size,
                next: 0,
                end: 0,
                guarded: false,
                retired: Vec::new(),
            });
            slabs.last_mut().expect("just pushed")
        }
    };
    if let Some(guard) = class.retired.pop() {
        STACKS.fetch_add(1, Relaxed);
        // SAFETY: a retired stack's range came from one of our slabs and
        // is unused; its guard page is still installed.
        return Ok(unsafe { Stack::from_raw(guard, size, true) });
    }
    let stride = size + page;
    if class.next == class.end {
        if !BUDGET.allows(1 + guard_cost()) {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        let base = map_anonymous(stride * SLAB_STACKS)?;
        class.next = base;
        class.end = base + stride * SLAB_STACKS;
        class.guarded = install_slab_guards(base, stride);
    }
    let guard = class.next;
    if !class.guarded {
        if !BUDGET.allows(guard_cost()) {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        install_guard(guard)?;
    }
    class.next += stride;
    STACKS.fetch_add(1, Relaxed);
    // SAFETY: `[guard, guard + stride)` is an unused part of our slab,
    // guard page installed.
    Ok(unsafe { Stack::from_raw(guard, size, true) })
}

/// A big stack gets a mapping of its own.
fn take_own(size: usize) -> io::Result<Stack> {
    let page = page_size();
    if !BUDGET.allows(1 + guard_cost()) {
        return Err(io::ErrorKind::OutOfMemory.into());
    }
    let base = map_anonymous(size + page)?;
    if let Err(e) = install_guard(base) {
        // SAFETY: unmapping the mapping we just made and never exposed.
        unsafe { libc::munmap(base as *mut libc::c_void, size + page) };
        MAPPINGS.fetch_sub(1, Relaxed);
        return Err(e);
    }
    STACKS.fetch_add(1, Relaxed);
    // SAFETY: a fresh mapping of ours, guard page installed.
    Ok(unsafe { Stack::from_raw(base, size, false) })
}

/// Takes back a stack that is no longer wanted (called by `Stack`'s drop):
/// a slab stack is retired (memory given back, range kept for reuse), an
/// own mapping is unmapped.
pub(crate) fn give_back(guard: usize, size: usize, from_slab: bool) {
    let page = page_size();
    STACKS.fetch_sub(1, Relaxed);
    if !from_slab {
        // SAFETY: our own mapping, no longer used by anyone.
        unsafe { libc::munmap(guard as *mut libc::c_void, size + page) };
        let guards = if guard_mode() == GUARD_MPROTECT { 1 } else { 0 };
        MAPPINGS.fetch_sub(1 + guards, Relaxed);
        return;
    }
    // SAFETY: the usable range is ours and unused: drop its pages.
    unsafe {
        libc::madvise(
            (guard + page) as *mut libc::c_void,
            size,
            libc::MADV_DONTNEED,
        )
    };
    let mut slabs = SLABS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(class) = slabs.iter_mut().find(|c| c.size == size) {
        class.retired.push(guard);
    }
}

/// Stacks handed out and not retired.
pub(crate) fn stacks() -> usize {
    STACKS.load(Relaxed)
}

/// Whether a stack of `size` can be had without a new mapping (a retired
/// one, or room left in the current slab).
fn has_room(size: usize) -> bool {
    SLABS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|c| c.size == size && (!c.retired.is_empty() || c.next < c.end))
}

/// Turns `vm.max_map_count` into a clear spawn-time error instead of an
/// mmap failure deep in the scheduler.
pub(crate) struct StackBudget {
    /// The last `vm.max_map_count` we read (0 = not read yet).
    max_map_count: AtomicUsize,
}

/// Mappings we leave for everything else in the process (heap arenas,
/// libraries, thread stacks, the program's own mmaps).
const OTHER_MAPPINGS: usize = 4096;

pub(crate) static BUDGET: StackBudget = StackBudget {
    max_map_count: AtomicUsize::new(0),
};

impl StackBudget {
    fn limit(&self, wanted: usize) -> usize {
        let mut max = self.max_map_count.load(Relaxed);
        if max == 0 || MAPPINGS.load(Relaxed) + wanted > max.saturating_sub(OTHER_MAPPINGS) {
            // First use, or at the limit: read it again, since an
            // administrator may have raised it while we ran.
            max = read_max_map_count();
            self.max_map_count.store(max, Relaxed);
        }
        max.saturating_sub(OTHER_MAPPINGS)
    }

    /// Whether `more` mappings may be made.
    fn allows(&self, more: usize) -> bool {
        MAPPINGS.load(Relaxed) + more <= self.limit(more)
    }

    /// Whether a stack of `size` can be had without exceeding the budget.
    pub(crate) fn can_map(&self, size: usize) -> bool {
        self.allows(1 + guard_cost())
            || (size <= SLAB_MAX_STACK && has_room(size) && self.allows(guard_cost()))
    }

    /// Spawn-time check: fails when no stack can be had and every existing
    /// one is held by a running goroutine, i.e. when the new goroutine could
    /// not start until others exit. `live` counts the runtime's live
    /// goroutines, for the message.
    pub(crate) fn check_spawn(&self, size: usize, live: impl FnOnce() -> usize) -> io::Result<()> {
        if self.can_map(size) || super::stack_wait::stacks_in_use() < stacks() {
            Ok(())
        } else {
            Err(mapping_exhausted(live()))
        }
    }
}

/// `vm.max_map_count`, or a test override (`GORO_TEST_MAX_MAP_COUNT`, used by
/// the test suite in a child process to exercise the limit without changing
/// the machine-wide setting).
fn read_max_map_count() -> usize {
    if let Some(v) = std::env::var("GORO_TEST_MAX_MAP_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return v;
    }
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(usize::MAX)
}

/// The error for running out of mappings; it names the cause and the fix.
pub(crate) fn mapping_exhausted(live: usize) -> io::Error {
    let max = read_max_map_count();
    let mappings = MAPPINGS.load(Relaxed);
    let suggested = (mappings * 4 + OTHER_MAPPINGS).max(max.saturating_mul(2));
    let per_stack = if guard_mode() == GUARD_MPROTECT {
        "about 2 kernel memory mappings per stack (guard pages by mprotect)".to_string()
    } else {
        format!("{SLAB_STACKS} stacks per kernel memory mapping")
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "goro: cannot map another goroutine stack: {live} goroutines are live and {} stacks \
             are mapped, using {mappings} kernel memory mappings ({per_stack}); \
             vm.max_map_count is {max}; raise it with `sudo sysctl -w vm.max_map_count={suggested}`",
            stacks()
        ),
    )
}
