//! Goroutine stacks: mmap'd regions with a guard page, pooled and reused.
//!
//! A stack is `size` bytes of anonymous memory above a guard page, so
//! running off the end faults instead of corrupting the neighbour;
//! `overflow.rs` turns that fault into a clear message. The kernel commits
//! pages lazily, so a stack costs only the pages a goroutine touched.
//! Stacks are carved from slabs (`stack_slab.rs`), many to a kernel mapping;
//! its `StackBudget` turns `vm.max_map_count` into a clean spawn-time error,
//! and a goroutine that cannot get a stack when it first runs waits for one
//! (`stack_wait.rs`) instead of failing.
//!
//! Reuse follows Go's `stackcache`: each P keeps a small LIFO cache (hot in
//! the CPU cache, no locking) and exchanges batches with a runtime-wide pool.
//! A goroutine never holds a stack before it first runs, so a million queued
//! goroutines need no stacks at all.
//!
//! Trimming: a stack that a goroutine used deeply would pin its pages forever
//! once it is pooled. The scheduler records the lowest stack pointer seen at
//! each park; a stack that parked deep is trimmed ([`Stack::trim`]:
//! `MADV_DONTNEED` below the top [`KEEP_COMMITTED`] bytes) when it comes
//! back. A goroutine can also go deep between parks; for that,
//! [`Stack::went_deep`] looks at the page [`TRIM_DEPTH`] below the top —
//! untouched memory reads as zero, so any non-zero word there means the
//! goroutine went that deep. Reading an untouched page is a page fault,
//! though (the kernel maps its zero page), as costly as the goroutine's own
//! first touch of its stack, so the exit path does not probe: stacks spilled
//! from the P caches wait in an *unprobed* pool that sysmon probes and trims
//! off the hot path ([`StackPool::probe_pooled`]). Only the few stacks that
//! cycle through a P's cache go unprobed, a bounded amount. Shallow stacks
//! are never trimmed, so reuse costs no system call; stacks idle in the
//! shared pool are unmapped by sysmon ([`StackPool::release_idle`]).

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Mutex;

/// Default usable stack size: 256 KiB of address space, committed lazily.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;
/// Smallest stack we hand out: enough for the context trampoline, a panic
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
/// Stacks the shared pool keeps; beyond this they are retired at once.
/// Large: a wave of goroutines finishing (a tree of them, a burst of
/// sleepers) should not pay a system call per stack on its way out; sysmon
/// gives back what then stays idle (`release_idle`), off the hot path.
const POOL_MAX: usize = 1 << 20;
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
    /// Lowest usable address (just above the guard page).
    bottom: usize,
    /// Carved from a slab (retired when dropped) rather than a mapping of
    /// its own (unmapped when dropped).
    from_slab: bool,
}

// SAFETY: a Stack exclusively owns its mapping; nothing in it is tied to the
// thread that created it.
unsafe impl Send for Stack {}
unsafe impl Sync for Stack {}

impl Stack {
    /// A stack of `size` bytes (page-rounded): retired or freshly carved
    /// from a slab (`stack_slab.rs`). Fails with `OutOfMemory` when the
    /// mapping budget is spent or the kernel says no.
    pub(crate) fn new(size: usize) -> io::Result<Stack> {
        debug_assert_eq!(size % page_size(), 0);
        super::stack_slab::take(size)
    }

    /// # Safety
    /// `[guard, guard + page + size)` must be memory we own, mapped
    /// read-write except the guard page at `guard`, used by nothing else.
    pub(crate) unsafe fn from_raw(guard: usize, size: usize, from_slab: bool) -> Stack {
        Stack {
            mapping: NonNull::new(guard as *mut u8).expect("stack address is non-null"),
            size,
            bottom: guard + page_size(),
            from_slab,
        }
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
        super::stack_slab::give_back(self.mapping.as_ptr() as usize, self.size, self.from_slab);
    }
}

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
    /// Stacks back from goroutines and not yet probed for depth (see the
    /// module docs); served after `stacks`.
    unprobed: Mutex<Vec<Stack>>,
    /// Batches taken from the shared pool since sysmon last looked.
    takes: AtomicUsize,
}

impl StackPool {
    pub(crate) fn new(size: usize) -> Self {
        StackPool {
            size,
            stacks: Mutex::new(Vec::new()),
            unprobed: Mutex::new(Vec::new()),
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
            if shared.is_empty() {
                drop(shared);
                shared = self.unprobed.lock().unwrap_or_else(|e| e.into_inner());
            }
            let take = shared.len().min(BATCH);
            let from = shared.len() - take;
            cache.extend(shared.drain(from..));
            self.takes.fetch_add(1, Relaxed);
        }
        match cache.pop() {
            Some(s) => Ok(s),
            None => Stack::new(self.size),
        }
    }

    /// Returns a stack to `cache`; `deepest_sp` is the lowest stack pointer
    /// observed while it was in use (or 0 when unknown).
    pub(crate) fn put(&self, cache: &mut Vec<Stack>, stack: Stack, deepest_sp: usize) {
        if stack.size != self.size {
            return; // A custom-sized stack: unmapped by drop.
        }
        let parked_deep = deepest_sp != 0 && deepest_sp < stack.top().saturating_sub(TRIM_DEPTH);
        if parked_deep {
            stack.trim();
        }
        cache.push(stack);
        if cache.len() > P_CACHE_MAX {
            let spill: Vec<Stack> = cache.drain(..BATCH).collect();
            let pooled = self.shared_len();
            let mut unprobed = self.unprobed.lock().unwrap_or_else(|e| e.into_inner());
            unprobed.extend(spill.into_iter().take(POOL_MAX.saturating_sub(pooled)));
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
        let mut unprobed = self.unprobed.lock().unwrap_or_else(|e| e.into_inner());
        unprobed.extend(cache.drain(..));
    }

    /// Stacks in the shared pool (probed or not).
    pub(crate) fn shared_len(&self) -> usize {
        self.stacks.lock().unwrap_or_else(|e| e.into_inner()).len()
            + self
                .unprobed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len()
    }

    /// Called by sysmon now and then: probes the stacks that came back
    /// since its last call ([`Stack::went_deep`], a page fault per stack
    /// the first time) and trims the deep ones, then pools them with the
    /// rest. Off the goroutines' exit path on purpose.
    pub(crate) fn probe_pooled(&self) {
        let fresh = std::mem::take(&mut *self.unprobed.lock().unwrap_or_else(|e| e.into_inner()));
        if fresh.is_empty() {
            return;
        }
        for stack in &fresh {
            if stack.went_deep() {
                stack.trim();
            }
        }
        self.stacks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(fresh);
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
        let drained: Vec<Stack> =
            std::mem::take(&mut *self.unprobed.lock().unwrap_or_else(|e| e.into_inner()));
        drop(drained);
    }
}

pub(crate) use super::stack_slab::{mapping_exhausted, BUDGET};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_is_writable_and_guarded_layout() {
        let s = Stack::new(round_stack_size(64 * 1024)).unwrap();
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

    /// Writes a word `depth` bytes below the top, as a deep call would.
    fn dirty(s: &Stack, depth: usize) {
        // SAFETY: inside the usable range of a stack nobody runs on.
        unsafe { std::ptr::write_volatile((s.top() - depth) as *mut u64, 0xDEE9) };
    }

    #[test]
    fn went_deep_sees_deep_use_and_trim_undoes_it() {
        let s = Stack::new(round_stack_size(256 * 1024)).unwrap();
        assert!(!s.went_deep(), "a fresh stack is shallow");
        dirty(&s, 8 * 1024);
        assert!(!s.went_deep(), "8 KiB deep is shallow");
        dirty(&s, TRIM_DEPTH);
        assert!(s.went_deep(), "a word at TRIM_DEPTH was written");
        s.trim();
        assert!(!s.went_deep(), "trimming gives the deep pages back");
    }

    /// Goroutine exits do not probe; sysmon's `probe_pooled` trims the
    /// stacks that went deep between parks once they reach the pool, and
    /// leaves the shallow ones alone.
    #[test]
    fn probe_pooled_trims_stacks_that_went_deep() {
        let pool = StackPool::new(round_stack_size(256 * 1024));
        let mut cache = Vec::new();
        let stacks: Vec<Stack> = (0..P_CACHE_MAX + BATCH)
            .map(|_| pool.get(&mut cache).unwrap())
            .collect();
        for (i, s) in stacks.iter().enumerate() {
            dirty(s, 1024);
            if i % 2 == 0 {
                dirty(s, TRIM_DEPTH);
            }
        }
        for s in stacks {
            pool.put(&mut cache, s, 0);
        }
        let deep_unprobed = pool
            .unprobed
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.went_deep())
            .count();
        assert!(
            deep_unprobed > 0,
            "the spill kept its deep stacks as they were"
        );
        pool.probe_pooled();
        assert!(pool.unprobed.lock().unwrap().is_empty());
        let pooled = pool.stacks.lock().unwrap();
        assert!(!pooled.is_empty());
        assert!(
            pooled.iter().all(|s| !s.went_deep()),
            "a deep stack stayed committed"
        );
        // SAFETY: shallow use survives: trimming keeps the top committed.
        assert!(pooled
            .iter()
            .all(|s| unsafe { std::ptr::read_volatile((s.top() - 1024) as *const u64) } == 0xDEE9));
    }

    #[test]
    fn exhaustion_message_names_the_sysctl() {
        let msg = mapping_exhausted(32_000).to_string();
        assert!(msg.contains("vm.max_map_count is"));
        assert!(msg.contains("sysctl -w vm.max_map_count="));
        assert!(msg.contains("32000 goroutines are live"));
    }
}
