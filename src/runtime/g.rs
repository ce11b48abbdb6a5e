//! G: one goroutine's descriptor.
//!
//! A G carries everything the scheduler and the diagnostics need: its id,
//! status and wait reason, its park token, and — owned by whoever is running
//! or queueing it — its entry closure, context and stack.
//!
//! Gs are never freed. Like Go's `allgs`, a dead G goes to a free list (a P's,
//! then the process-wide one) and is reused by a later spawn. That makes a
//! `GRef` valid forever, so an unpark that arrives late — after the goroutine
//! it was meant for has exited and its G has been reused — is at worst a
//! spurious wake-up, which every park site tolerates by re-checking its
//! condition. It also means waking a goroutine never needs a reference count.

use super::context::Context;
use super::sched::Shared;
use super::task::TaskCell;
use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::Mutex;

/// What a goroutine asks its M to do when it switches away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Switch {
    /// `yield_now`: requeue me at the tail.
    Yield,
    /// `park`: I wait until unparked.
    Park,
    /// `park`, and push my sleep timer (armed in my `sleep` word) first:
    /// the M does it on its own stack (see `timers::Sleep::sleep`).
    ParkWithTimer(super::timers::SleepFor),
    /// I have finished: free my stack (my last switch).
    Exit,
}

/// A goroutine's scheduling state (Go's `_Grunnable`, `_Grunning`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// On a free list: not a goroutine at the moment.
    Idle = 0,
    /// In a run queue, ready to run.
    Runnable = 1,
    /// Running on an M.
    Running = 2,
    /// Parked, waiting for the event named by its wait reason.
    Waiting = 3,
    /// Finished; its G is about to be reused.
    Dead = 4,
}

impl Status {
    fn from_u8(v: u8) -> Status {
        match v {
            1 => Status::Runnable,
            2 => Status::Running,
            3 => Status::Waiting,
            4 => Status::Dead,
            _ => Status::Idle,
        }
    }

    /// Go's wording for the state, as `goro::dump` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Runnable => "runnable",
            Status::Running => "running",
            Status::Waiting => "waiting",
            Status::Dead => "dead",
        }
    }
}

/// Why a goroutine is parked (Go's `waitReason`), for `dump` and the tracer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not waiting.
    None = 0,
    /// In `JoinHandle::join`.
    Join,
    /// In a channel receive.
    ChanReceive,
    /// In a channel send.
    ChanSend,
    /// In `select!` with no ready case.
    Select,
    /// In `sleep` or a timer wait.
    Sleep,
    /// Waiting for a socket to become ready.
    IoWait,
    /// Waiting for a `sync::Mutex` (or `RwLock`).
    Mutex,
    /// In `WaitGroup::wait`.
    WaitGroup,
    /// Waiting on a `sync::Condvar`.
    Condvar,
    /// Waiting for the scope's goroutines to finish.
    Scope,
    /// Any other park.
    Other,
}

impl WaitReason {
    fn from_u8(v: u8) -> WaitReason {
        use WaitReason::*;
        [
            None,
            Join,
            ChanReceive,
            ChanSend,
            Select,
            Sleep,
            IoWait,
            Mutex,
            WaitGroup,
            Condvar,
            Scope,
            Other,
        ]
        .get(v as usize)
        .copied()
        .unwrap_or(Other)
    }

    /// Go's wording (`chan receive`, `select`, `sleep`, `IO wait`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "",
            WaitReason::Join => "join",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::Sleep => "sleep",
            WaitReason::IoWait => "IO wait",
            WaitReason::Mutex => "sync.Mutex",
            WaitReason::WaitGroup => "sync.WaitGroup.Wait",
            WaitReason::Condvar => "sync.Cond.Wait",
            WaitReason::Scope => "scope",
            WaitReason::Other => "park",
        }
    }
}

/// The park token's states (see `park.rs`).
pub(crate) const PARK_EMPTY: u8 = 0;
pub(crate) const PARK_PARKED: u8 = 1;
pub(crate) const PARK_NOTIFIED: u8 = 2;

/// The parts of a G that belong to whoever holds it: the M running it, or the
/// spawner before it is queued. Handing a G over through a run queue (release
/// push, acquire pop) hands these over too. The fields every park touches
/// come first (see [`G`]'s layout).
#[repr(C)]
pub(crate) struct GOwned {
    /// Lowest stack pointer seen at a park: how deep the stack went.
    pub deepest_sp: usize,
    /// Set while `lock_os_thread` pins this goroutine to its M.
    pub locked: bool,
    /// Requested stack size (the runtime default unless the Builder said).
    pub stack_size: usize,
    /// The note of the M it is locked to.
    pub locked_m: Option<std::sync::Arc<super::park::MNote>>,
    /// Goroutine-local storage (`goro::local!`), indexed by key.
    pub locals: Vec<Option<Box<dyn Any>>>,
}

/// The first bytes of a [`G`], holding everything a park, an unpark and a
/// resume touch (a test checks): what the scheduler prefetches.
pub(crate) const G_HOT_BYTES: usize = 128;

/// Aligned to a cache line: neighbouring Gs are often run by different Ms.
///
/// Laid out (`repr(C)`) so that what a park, an unpark and a resume touch —
/// the park token, status and wait reason, the runtime pointer, the sleep
/// word, the context and the head of `owned` — fills the first two
/// cache lines, which the L2 fetches as a pair. Waking a goroutine that ran
/// on another CPU then costs one miss on its G, not three; the rest (its
/// task, name, id, stack bounds) is touched when it starts, ends or is
/// inspected.
#[repr(C, align(64))]
pub(crate) struct G {
    /// The park token: `PARK_EMPTY`, `PARK_PARKED` or `PARK_NOTIFIED`.
    pub park: AtomicU8,
    status: AtomicU8,
    wait_reason: AtomicU8,
    /// Owners of this G's life: the goroutine (until it exits) and its join
    /// handle (until joined or dropped). The last to let go frees the G.
    pub refs: AtomicU8,
    /// Set when a name is stored, so unnamed goroutines never lock `name`.
    named: std::sync::atomic::AtomicBool,
    /// The goroutine's sleep timer: its sleep number, shifted left, with
    /// the low bit set while armed (see `timers::Sleep`). Only ever grows,
    /// so a heap entry left from an earlier sleep — or an earlier life of
    /// this G — can never fire a later one.
    pub sleep: AtomicU64,
    /// The runtime this goroutine belongs to (runtimes are never freed).
    runtime: AtomicPtr<Shared>,
    /// Where the goroutine's stack was when it last switched out (0: it
    /// has not run): a hint for prefetching it before it is resumed.
    pub stack_hint: AtomicUsize,
    /// The execution context (stack and saved stack pointer): touched by
    /// the G's holder while it is not running, and by the goroutine itself
    /// only in the switch that stores its stack pointer (`switch.rs`).
    context: UnsafeCell<Option<Context>>,
    owned: UnsafeCell<GOwned>,
    // --- Cold: touched at spawn, exit, on a stack overflow, by `dump`. ---
    /// Goroutine id, fresh for each life of this G; 0 while idle.
    pub id: AtomicU64,
    /// The goroutine's closure, then its result.
    pub task: TaskCell,
    /// Where it was spawned (`#[track_caller]`).
    location: AtomicPtr<Location<'static>>,
    /// The name given by `Builder::name`, if any.
    name: Mutex<Option<String>>,
    /// The guard page of its current stack, `[lo, hi)`, for the overflow
    /// handler; 0 when it has no stack.
    pub guard_lo: AtomicUsize,
    pub guard_hi: AtomicUsize,
    /// Usable bytes of its current stack, for the overflow message.
    pub stack_bytes: AtomicUsize,
}

// SAFETY: the shared fields are atomics or a Mutex; `owned` is only touched by
// the single holder of the G, as documented on `owned_mut`.
unsafe impl Sync for G {}
unsafe impl Send for G {}

/// A reference to a G. Copyable and valid forever (Gs are never freed).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct GRef(NonNull<G>);

// SAFETY: a GRef is a pointer to a `'static`, `Sync` G.
unsafe impl Send for GRef {}
unsafe impl Sync for GRef {}

impl std::ops::Deref for GRef {
    type Target = G;
    fn deref(&self) -> &G {
        // SAFETY: Gs are leaked at allocation and never freed.
        unsafe { self.0.as_ref() }
    }
}

impl GRef {
    pub(crate) fn as_ptr(self) -> *mut G {
        self.0.as_ptr()
    }

    /// # Safety
    /// `ptr` must have come from `GRef::as_ptr`.
    pub(crate) unsafe fn from_ptr(ptr: *mut G) -> GRef {
        // SAFETY: guaranteed non-null by the caller's contract.
        GRef(unsafe { NonNull::new_unchecked(ptr) })
    }
}

static NEXT_GOID: AtomicU64 = AtomicU64::new(1);
/// Process-wide free list of dead Gs, fed by P-local lists in batches.
static GFREE: Mutex<Vec<GRef>> = Mutex::new(Vec::new());
/// Every G ever allocated (Go's `allgs`), for `dump`.
static ALLGS: Mutex<Vec<GRef>> = Mutex::new(Vec::new());
/// G ids are handed out in blocks per thread to keep spawn off a shared
/// cache line.
const GOID_BATCH: u64 = 64;
/// Gs allocated at once when the free lists are empty.
const G_CHUNK: usize = 32;
/// Gs per block of [`G_ARENA`]: about a megabyte.
const G_BLOCK: usize = (1 << 20) / std::mem::size_of::<G>();

/// Where fresh Gs come from: big blocks, carved in order.
///
/// Small allocations of our own (a chunk of 32 Gs is 10 KiB) grow the
/// allocator's heap a little at a time, and glibc grows a thread's heap
/// with an `mprotect` each time. Each one takes the process's memory-map
/// lock for writing, which stalls every other thread's page faults: with
/// 100,000 goroutines spawned while others fault in their fresh stacks,
/// those `mprotect`s were 6% of the timers benchmark. A block of a
/// megabyte is big enough for the allocator to map it on its own, and its
/// pages are touched only as its Gs are handed out.
static G_ARENA: Mutex<GArena> = Mutex::new(GArena {
    next: ptr::null_mut(),
    left: 0,
});

struct GArena {
    /// The next unused slot of the current block.
    next: *mut G,
    /// Slots left in the current block.
    left: usize,
}

// SAFETY: the arena's pointers are to memory it alone hands out.
unsafe impl Send for GArena {}

impl GArena {
    /// An unused, uninitialised G-sized slot.
    fn take(&mut self) -> NonNull<G> {
        if self.left == 0 {
            let layout = std::alloc::Layout::array::<G>(G_BLOCK).expect("G block layout");
            // SAFETY: the layout has a non-zero size.
            let block = unsafe { std::alloc::alloc(layout) } as *mut G;
            if block.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            self.next = block;
            self.left = G_BLOCK;
        }
        let slot = self.next;
        // SAFETY: `left > 0`, so `slot + 1` is within the block or one past.
        self.next = unsafe { slot.add(1) };
        self.left -= 1;
        NonNull::new(slot).expect("arena slots are non-null")
    }
}
/// Dead Gs a P keeps before giving half to the global list.
pub(crate) const P_GFREE_MAX: usize = 64;

impl G {
    fn new() -> G {
        G {
            id: AtomicU64::new(0),
            status: AtomicU8::new(Status::Idle as u8),
            wait_reason: AtomicU8::new(WaitReason::None as u8),
            park: AtomicU8::new(PARK_EMPTY),
            sleep: AtomicU64::new(0),
            stack_hint: AtomicUsize::new(0),
            refs: AtomicU8::new(0),
            task: TaskCell::new(),
            runtime: AtomicPtr::new(ptr::null_mut()),
            location: AtomicPtr::new(ptr::null_mut()),
            name: Mutex::new(None),
            guard_lo: AtomicUsize::new(0),
            guard_hi: AtomicUsize::new(0),
            owned: UnsafeCell::new(GOwned {
                stack_size: 0,
                deepest_sp: 0,
                locals: Vec::new(),
                locked: false,
                locked_m: None,
            }),
            stack_bytes: AtomicUsize::new(0),
            named: std::sync::atomic::AtomicBool::new(false),
            context: UnsafeCell::new(None),
        }
    }

    /// Makes [`G_CHUNK`] fresh Gs at once (never freed, see the module
    /// docs): one lock of `ALLGS` per chunk instead of per G, and Gs
    /// spawned together lie together in memory.
    fn allocate_chunk() -> Vec<GRef> {
        let slots: Vec<NonNull<G>> = {
            let mut arena = G_ARENA.lock().unwrap_or_else(|e| e.into_inner());
            (0..G_CHUNK).map(|_| arena.take()).collect()
        };
        let gs: Vec<GRef> = slots
            .into_iter()
            .map(|slot| {
                // SAFETY: `take` hands out each slot once; it is G-sized and
                // aligned, and nothing else refers to it.
                unsafe { slot.as_ptr().write(G::new()) };
                GRef(slot)
            })
            .collect();
        ALLGS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(&gs);
        gs
    }

    pub(crate) fn status(&self) -> Status {
        Status::from_u8(self.status.load(Acquire))
    }

    pub(crate) fn set_status(&self, s: Status) {
        self.status.store(s as u8, Release);
    }

    pub(crate) fn wait_reason(&self) -> WaitReason {
        WaitReason::from_u8(self.wait_reason.load(Relaxed))
    }

    pub(crate) fn set_wait_reason(&self, r: WaitReason) {
        self.wait_reason.store(r as u8, Relaxed);
    }

    pub(crate) fn runtime(&self) -> &'static Shared {
        // SAFETY: set at spawn to a runtime that is never freed, before the G
        // is published to anyone who could call this.
        unsafe { &*self.runtime.load(Acquire) }
    }

    pub(crate) fn location(&self) -> Option<&'static Location<'static>> {
        // SAFETY: null or a `&'static Location`.
        unsafe { self.location.load(Relaxed).as_ref() }
    }

    /// The name, copied without blocking (for the signal handler, which must
    /// not wait on a lock).
    pub(crate) fn try_name_for_signal(&self) -> Option<super::overflow::StackStr> {
        use std::fmt::Write;
        if !self.named.load(Relaxed) {
            return None;
        }
        let guard = self.name.try_lock().ok()?;
        let mut out = super::overflow::StackStr::new();
        let _ = out.write_str(guard.as_deref()?);
        Some(out)
    }

    pub(crate) fn name(&self) -> Option<String> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The holder-owned part of the G.
    ///
    /// # Safety
    /// The caller must be the G's single holder: the spawner before it is
    /// queued, the M running it (or the goroutine itself, on that M), or the
    /// M that just took it back after a switch. No two `owned_mut` borrows
    /// may be alive at once.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn owned_mut(&self) -> &mut GOwned {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.owned.get() }
    }

    /// The context slot.
    ///
    /// # Safety
    /// Only the G's holder may call this: the M (or the goroutine handing
    /// off to it) that took the G from a queue, while it is not running;
    /// or the running goroutine itself, to switch away. No two such borrows
    /// may be alive at once, and none may outlive a switch away from the G.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn context_mut(&self) -> &mut Option<Context> {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.context.get() }
    }
}

/// Takes a dead G from `local` (a P's free list) or the global list, or makes
/// a new one, and dresses it for a new goroutine.
pub(crate) fn alloc_g(
    mut local: Option<&mut Vec<GRef>>,
    runtime: &'static Shared,
    stack_size: usize,
    name: Option<String>,
    location: &'static Location<'static>,
) -> GRef {
    let g = match take_free_g(local.as_deref_mut()) {
        Some(g) => g,
        None => {
            let mut fresh = G::allocate_chunk();
            let g = fresh.pop().expect("a chunk is not empty");
            match local {
                Some(local) => local.extend(fresh),
                None => GFREE
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(fresh),
            }
            g
        }
    };
    g.id.store(next_goid(), Relaxed);
    g.runtime
        .store(runtime as *const Shared as *mut Shared, Release);
    g.location
        .store(location as *const Location<'static> as *mut _, Relaxed);
    if name.is_some() {
        *g.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
        g.named.store(true, Relaxed);
    }
    g.park.store(PARK_EMPTY, Relaxed);
    g.refs.store(2, Relaxed);
    g.set_wait_reason(WaitReason::None);
    // SAFETY: a G taken off a free list (or new) has no other holder.
    let owned = unsafe { g.owned_mut() };
    owned.stack_size = stack_size;
    owned.deepest_sp = 0;
    owned.locked = false;
    owned.locked_m = None;
    g.set_status(Status::Runnable);
    g
}

fn take_free_g(local: Option<&mut Vec<GRef>>) -> Option<GRef> {
    let Some(local) = local else {
        return GFREE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    };
    if local.is_empty() {
        let mut global = GFREE.lock().unwrap_or_else(|e| e.into_inner());
        let n = global.len().min(P_GFREE_MAX / 2);
        let from = global.len() - n;
        local.extend(global.drain(from..));
    }
    let g = local.pop();
    if let Some(next) = local.last() {
        // Free Gs were last touched by the CPU that ran them: start
        // fetching the next one now, as the spawner will write it soon.
        super::prefetch::g(next.as_ptr());
    }
    g
}

/// Puts a finished G on `local` (a P's free list), spilling half to the
/// global list when it is long; with no P, on the global list.
pub(crate) fn free_g(local: Option<&mut Vec<GRef>>, g: GRef) {
    g.set_status(Status::Idle);
    g.id.store(0, Relaxed);
    if g.named.swap(false, Relaxed) {
        *g.name.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    let Some(local) = local else {
        GFREE.lock().unwrap_or_else(|e| e.into_inner()).push(g);
        return;
    };
    local.push(g);
    if local.len() > P_GFREE_MAX {
        let spill = local.len() / 2;
        GFREE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(local.drain(..spill));
    }
}

thread_local! {
    /// This thread's next goroutine id and the end of its reserved block.
    static GOID_BLOCK: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

fn next_goid() -> u64 {
    GOID_BLOCK.with(|b| {
        let (mut next, mut end) = b.get();
        if next == end {
            next = NEXT_GOID.fetch_add(GOID_BATCH, Relaxed);
            end = next + GOID_BATCH;
        }
        b.set((next + 1, end));
        next
    })
}

/// Every G that ever existed, for `dump` (dead and idle ones included; the
/// caller filters by status).
pub(crate) fn all_gs() -> Vec<GRef> {
    ALLGS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::{Context, G};
    use std::mem::offset_of;

    /// The fields of a park / unpark / resume stay within the first two
    /// cache lines (see `G`'s docs): adding a field in front of them must
    /// not push them out unnoticed.
    #[test]
    fn hot_fields_share_the_first_two_cache_lines() {
        let owned_hot_end = offset_of!(G, owned) + offset_of!(super::GOwned, locked) + 1;
        assert!(
            owned_hot_end <= super::G_HOT_BYTES,
            "park/unpark fields end at byte {owned_hot_end}"
        );
        assert!(
            offset_of!(G, context) + std::mem::size_of::<Option<Context>>() <= super::G_HOT_BYTES
        );
    }
}
