//! Goroutine stacks: mmap'd regions with a guard page, pooled and reused.
//!
//! A stack is one anonymous private mapping of `size + PAGE` bytes whose
//! lowest page is made inaccessible (`PROT_NONE`), so running off the end
//! faults instead of corrupting the neighbour; `overflow.rs` turns that fault
//! into a clear message. The kernel commits pages lazily, so a stack costs
//! only the pages a goroutine actually touched — but it costs two kernel
//! mappings (the guard and the rest), and Linux caps mappings per process at
//! `vm.max_map_count` (65530 by default). [`StackBudget`] turns that cap into
//! a clean spawn-time error, and a goroutine that cannot get a stack when it
//! first runs waits for one (`proc.rs`) instead of failing.
//!
//! Reuse follows Go's `stackcache`: each P keeps a small LIFO cache (hot in
//! the CPU cache, no locking) and exchanges batches with a runtime-wide pool.
//! A goroutine never holds a stack before it first runs, so a million queued
//! goroutines need no stacks at all.
//!
//! Trimming: a stack that a goroutine used deeply would pin its pages forever
//! once it is pooled. When a stack comes back, [`Stack::went_deep`] looks at
//! the page [`TRIM_DEPTH`] below its top — untouched memory reads as zero, so
//! any non-zero word there means the goroutine went that deep — and the pool
//! then calls [`Stack::trim`] (`MADV_DONTNEED` below the top
//! [`KEEP_COMMITTED`] bytes). The scheduler also records the lowest stack
//! pointer seen at each park, which catches deep stacks that happen to hold
//! zeros at the probe. Shallow stacks are never trimmed, so reuse costs no
//! system call; stacks idle in the shared pool are unmapped by sysmon
//! ([`StackPool::release_idle`]).

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Mutex;

/// Default usable stack size: 256 KiB of address space, committed lazily.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;
/// Smallest stack we hand out: enough for the coroutine trampoline, a panic
/// and a `format!`.
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;
/// Bytes at the top of a stack left committed by [`Stack::trim`].
pub(crate) const KEEP_COMMITTED: usize = 16 * 1024;
/// A returned stack whose goroutine went deeper than this is trimmed.
pub(crate) const TRIM_DEPTH: usize = 64 * 1024;
/// Stacks a P keeps for itself.
const P_CACHE_MAX: usize = 64;
/// Stacks moved between a P cache and the shared pool at once.
const BATCH: usize = P_CACHE_MAX / 2;
/// Stacks the shared pool keeps; beyond this they are unmapped. Large, so
/// that waves of goroutines (a tree of them finishing, then another) reuse
/// stacks instead of mapping and unmapping; sysmon gives back what stays
/// idle.
const POOL_MAX: usize = 16 * 1024;
/// Stacks an idle shared pool keeps when sysmon trims it.
const POOL_IDLE_FLOOR: usize = 256;

pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
            PAGE.store(p, Relaxed);
            p
        }
        p => p,
    }
}

/// Rounds a requested size up to whole pages, at least [`MIN_STACK_SIZE`].
pub(crate) fn round_stack_size(bytes: usize) -> usize {
    let page = page_size();
    bytes.max(MIN_STACK_SIZE).div_ceil(page) * page
}

/// One goroutine stack: `[guard page][usable bytes ...]`, growing down from
/// `top()`.
pub(crate) struct Stack {
    /// Lowest address of the mapping (the guard page).
    mapping: NonNull<u8>,
    /// Usable bytes above the guard page.
    size: usize,
    /// Lowest usable address (just above the guard page); cached because
    /// corosensei asks for the bounds on every switch.
    bottom: usize,
}

// SAFETY: a Stack exclusively owns its mapping; nothing in it is tied to the
// thread that created it.
unsafe impl Send for Stack {}
unsafe impl Sync for Stack {}

impl Stack {
    /// Maps a fresh stack, within [`BUDGET`]. Fails with `OutOfMemory`
    /// (the budget is spent, or the kernel said no).
    pub(crate) fn map(size: usize) -> io::Result<Stack> {
        if !BUDGET.can_map() {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        let page = page_size();
        debug_assert_eq!(size % page, 0);
        let len = size + page;
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
        // SAFETY: `ptr` is the start of the `len`-byte mapping made above;
        // the guard is its first page.
        if unsafe { libc::mprotect(ptr, page, libc::PROT_NONE) } != 0 {
            let err = io::Error::last_os_error();
            // SAFETY: unmapping the mapping we just made and never exposed.
            unsafe { libc::munmap(ptr, len) };
            return Err(err);
        }
        MAPPED.fetch_add(1, Relaxed);
        Ok(Stack {
            mapping: NonNull::new(ptr.cast()).expect("mmap returned null"),
            size,
            bottom: ptr as usize + page,
        })
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Highest address (exclusive): where the stack starts growing down.
    pub(crate) fn top(&self) -> usize {
        self.bottom() + self.size
    }

    /// Lowest usable address, just above the guard page.
    pub(crate) fn bottom(&self) -> usize {
        self.bottom
    }

    /// The guard page's address range `[start, end)`.
    pub(crate) fn guard(&self) -> (usize, usize) {
        let start = self.mapping.as_ptr() as usize;
        (start, start + page_size())
    }

    /// Whether a goroutine used this stack deeper than [`TRIM_DEPTH`]: a
    /// probe of a few words at that depth (memory never written reads as
    /// zero, and reading it commits nothing: the kernel maps its shared
    /// zero page).
    pub(crate) fn went_deep(&self) -> bool {
        let page = page_size();
        if self.size <= TRIM_DEPTH + page {
            return false;
        }
        let probe = (self.top() - TRIM_DEPTH) & !(page - 1);
        (0..8).any(|i| {
            // SAFETY: `probe` is page-aligned inside our mapping, above the
            // guard page, and the stack is not in use; volatile because the
            // memory was written by code the compiler cannot see.
            unsafe { std::ptr::read_volatile((probe as *const u64).add(i)) != 0 }
        })
    }

    /// Gives the pages below the top [`KEEP_COMMITTED`] bytes back to the
    /// kernel; they read as zero when touched again.
    pub(crate) fn trim(&self) {
        let keep = KEEP_COMMITTED.min(self.size);
        let len = self.size - keep;
        if len == 0 {
            return;
        }
        // SAFETY: the range lies inside our mapping, and the stack is not in
        // use (it is being pooled), so discarding its contents is harmless.
        unsafe { libc::madvise(self.bottom() as *mut libc::c_void, len, libc::MADV_DONTNEED) };
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: we own the whole mapping and nothing runs on it any more.
        unsafe { libc::munmap(self.mapping.as_ptr().cast(), self.size + page_size()) };
        MAPPED.fetch_sub(1, Relaxed);
    }
}

// SAFETY: `base()` and `limit()` delimit memory we own exclusively, mapped
// read-write, aligned to a page (more than STACK_ALIGNMENT), with a guard
// page below `limit()`.
unsafe impl corosensei::stack::Stack for Stack {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.top()).expect("stack top is non-zero")
    }

    fn limit(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.bottom()).expect("stack bottom is non-zero")
    }
}

/// Stacks currently mapped, process-wide (in use or pooled).
static MAPPED: AtomicUsize = AtomicUsize::new(0);

/// Set while goroutines wait for stacks (see `stack_wait.rs`).
static PRESSURE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn under_pressure() -> bool {
    PRESSURE.load(Relaxed)
}

pub(crate) fn set_pressure(on: bool) {
    PRESSURE.store(on, Relaxed);
}

/// The runtime-wide stack pool behind the per-P caches.
pub(crate) struct StackPool {
    size: usize,
    stacks: Mutex<Vec<Stack>>,
    /// Batches taken from the shared pool since sysmon last looked.
    takes: AtomicUsize,
}

impl StackPool {
    pub(crate) fn new(size: usize) -> Self {
        StackPool {
            size,
            stacks: Mutex::new(Vec::new()),
            takes: AtomicUsize::new(0),
        }
    }

    /// The pool's stack size (the runtime's default).
    pub(crate) fn stack_size(&self) -> usize {
        self.size
    }

    /// Takes a stack of the pool's size, refilling `cache` (a P's) in a
    /// batch from the shared pool when it is empty.
    pub(crate) fn get(&self, cache: &mut Vec<Stack>) -> io::Result<Stack> {
        if let Some(s) = cache.pop() {
            return Ok(s);
        }
        {
            let mut shared = self.stacks.lock().unwrap_or_else(|e| e.into_inner());
            let take = shared.len().min(BATCH);
            let from = shared.len() - take;
            cache.extend(shared.drain(from..));
            self.takes.fetch_add(1, Relaxed);
        }
        match cache.pop() {
            Some(s) => Ok(s),
            None => Stack::map(self.size),
        }
    }

    /// Returns a stack to `cache`; `deepest_sp` is the lowest stack pointer
    /// observed while it was in use (or 0 when unknown).
    pub(crate) fn put(&self, cache: &mut Vec<Stack>, stack: Stack, deepest_sp: usize) {
        if stack.size != self.size {
            return; // A custom-sized stack: unmapped by drop.
        }
        let parked_deep = deepest_sp != 0 && deepest_sp < stack.top().saturating_sub(TRIM_DEPTH);
        if parked_deep || stack.went_deep() {
            stack.trim();
        }
        cache.push(stack);
        if cache.len() > P_CACHE_MAX {
            let spill: Vec<Stack> = cache.drain(..BATCH).collect();
            let mut shared = self.stacks.lock().unwrap_or_else(|e| e.into_inner());
            let room = POOL_MAX.saturating_sub(shared.len());
            shared.extend(spill.into_iter().take(room));
        }
    }
}

impl StackPool {
    /// Moves a P's cache into the shared pool (ignoring the pool's size
    /// bound: these stacks exist already).
    pub(crate) fn flush(&self, cache: &mut Vec<Stack>) {
        if cache.is_empty() {
            return;
        }
        let mut shared = self.stacks.lock().unwrap_or_else(|e| e.into_inner());
        shared.extend(cache.drain(..));
    }

    /// Stacks in the shared pool.
    pub(crate) fn shared_len(&self) -> usize {
        self.stacks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Called by sysmon now and then: if nobody took stacks from the shared
    /// pool since the last call, unmap half of what it holds above a floor,
    /// so memory and mappings held for a past burst are given back.
    pub(crate) fn release_idle(&self) {
        if self.takes.swap(0, Relaxed) != 0 {
            return;
        }
        let released: Vec<Stack> = {
            let mut shared = self.stacks.lock().unwrap_or_else(|e| e.into_inner());
            let excess = shared.len().saturating_sub(POOL_IDLE_FLOOR);
            let n = excess.div_ceil(2);
            let keep = shared.len() - n;
            shared.drain(keep..).collect()
        };
        drop(released);
    }

    /// Unmaps every stack in the shared pool (their mappings are wanted
    /// elsewhere).
    pub(crate) fn unmap_shared(&self) {
        let drained: Vec<Stack> =
            std::mem::take(&mut *self.stacks.lock().unwrap_or_else(|e| e.into_inner()));
        drop(drained);
    }
}

/// Turns `vm.max_map_count` into a limit on mapped stacks, so that running
/// out of mappings is a clear error (at spawn) or a wait (at first run),
/// never an mmap failure deep in the scheduler.
///
/// Only goroutines that have started hold a stack, so the limit is on
/// *started* goroutines: a million queued goroutines need no mappings.
pub(crate) struct StackBudget {
    /// The last `vm.max_map_count` we read (0 = not read yet).
    max_map_count: AtomicUsize,
}

/// Mappings we leave for everything else in the process (heap arenas,
/// libraries, thread stacks, the program's own mmaps).
const OTHER_MAPPINGS: usize = 4096;
/// Each guarded stack costs this many kernel mappings.
const MAPPINGS_PER_STACK: usize = 2;

pub(crate) static BUDGET: StackBudget = StackBudget {
    max_map_count: AtomicUsize::new(0),
};

impl StackBudget {
    /// Stacks that may be mapped under the current `vm.max_map_count`.
    fn limit(&self) -> usize {
        let mut max = self.max_map_count.load(Relaxed);
        if max == 0 || stack_limit(max) <= MAPPED.load(Relaxed) {
            // First use, or at the limit: read it again, since an
            // administrator may have raised it while we ran.
            max = read_max_map_count();
            self.max_map_count.store(max, Relaxed);
        }
        stack_limit(max)
    }

    /// Whether one more stack may be mapped.
    pub(crate) fn can_map(&self) -> bool {
        MAPPED.load(Relaxed) < self.limit()
    }

    /// Spawn-time check: fails when every stack the budget allows is held
    /// by a running goroutine, i.e. when the new goroutine could not start
    /// until others exit. (Stacks idling in pools do not count: under
    /// pressure they are handed on.) `live` counts the runtime's live
    /// goroutines, for the message.
    pub(crate) fn check_spawn(&self, live: impl FnOnce() -> usize) -> io::Result<()> {
        if self.can_map() || super::stack_wait::stacks_in_use() < self.limit() {
            Ok(())
        } else {
            Err(mapping_exhausted(live()))
        }
    }
}

fn stack_limit(max_map_count: usize) -> usize {
    max_map_count.saturating_sub(OTHER_MAPPINGS) / MAPPINGS_PER_STACK
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
    let mapped = MAPPED.load(Relaxed);
    let suggested =
        (MAPPINGS_PER_STACK * live.max(mapped) * 2 + OTHER_MAPPINGS).max(max.saturating_mul(2));
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "goro: cannot map another goroutine stack: {live} goroutines are live and {mapped} \
             stacks are mapped; each stack needs {MAPPINGS_PER_STACK} kernel memory mappings and \
             vm.max_map_count is {max}; raise it with `sudo sysctl -w vm.max_map_count={suggested}`"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_is_writable_and_guarded_layout() {
        let s = Stack::map(round_stack_size(64 * 1024)).unwrap();
        assert_eq!(s.top() - s.bottom(), s.size());
        let (g0, g1) = s.guard();
        assert_eq!(g1, s.bottom());
        assert_eq!(g1 - g0, page_size());
        // SAFETY: the usable range is ours and mapped read-write.
        unsafe {
            std::ptr::write_bytes(s.bottom() as *mut u8, 0xAB, s.size());
            assert_eq!(*((s.top() - 1) as *const u8), 0xAB);
        }
        s.trim();
        // SAFETY: as above; trimmed pages read back as zero.
        unsafe { assert_eq!(*(s.bottom() as *const u8), 0) };
    }

    #[test]
    fn pool_reuses_lifo() {
        let pool = StackPool::new(round_stack_size(32 * 1024));
        let mut cache = Vec::new();
        let a = pool.get(&mut cache).unwrap();
        let top = a.top();
        pool.put(&mut cache, a, 0);
        let b = pool.get(&mut cache).unwrap();
        assert_eq!(b.top(), top);
    }

    #[test]
    fn exhaustion_message_names_the_sysctl() {
        let msg = mapping_exhausted(32_000).to_string();
        assert!(msg.contains("vm.max_map_count is"));
        assert!(msg.contains("sysctl -w vm.max_map_count="));
        assert!(msg.contains("32000 goroutines are live"));
    }
}
