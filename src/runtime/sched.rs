//! The scheduler's shared state: Ps, the global run queue, idle Ps and Ms,
//! and the spinning-M accounting (Go's `schedt`).
//!
//! # Spinning Ms
//!
//! An M is *spinning* when it holds a P, has no G, and is looking for one to
//! steal. Go's protocol, kept here verbatim in spirit:
//!
//! * Whoever makes a G runnable calls [`Shared::wakep`]: if some P is idle and
//!   no M is spinning, it starts one spinning M (`nmspinning` 0 → 1 by CAS).
//!   One spinner at a time is enough — a spinner that finds work stops
//!   spinning and, if it was the last one, wakes another
//!   (`proc.rs: reset_spinning`). So bursts of readying cost one wake-up, not
//!   one per G, and no G is left in a queue while an idle P could run it.
//! * A spinner that finds nothing gives its P back, stops spinning, and only
//!   *then* looks at every queue once more before sleeping. The order matters:
//!   a readier that saw `nmspinning > 0` skipped its wake-up, counting on the
//!   spinner; the spinner's last look (after its decrement) is what keeps
//!   that promise. Global-queue pushes happen under `sched` lock, and the
//!   spinner takes that lock for its last look, so it cannot miss them; a G
//!   pushed to a P's local queue is never stranded anyway, because its P's
//!   own M will run it.

use super::g::GRef;
use super::park::{MNote, Wake};
use super::runq::RunQueue;
use super::stack::{Stack, StackPool};
use super::stats::PStats;
use super::timers::{TimerHeap, Timers};
use super::Config;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};

/// P: the right to run goroutines, with its local queue (Go's `p`).
///
/// Laid out for the two kinds of access it gets: `runq` and `runnext` are
/// read (and stolen from) by other Ms; `stats` and `local` are written by
/// the owner on every switch. Each group sits on cache lines of its own,
/// and so does each P, so that a spinning M looking at a victim's queue
/// does not keep pulling away the lines the victim writes all the time.
#[repr(align(128))]
pub(crate) struct P {
    pub id: usize,
    pub runq: RunQueue<super::g::G>,
    /// A G readied by the running G, to run next (Go's `runnext`).
    pub runnext: AtomicPtr<super::g::G>,
    pub stats: CacheAligned<PStats>,
    /// Timers armed by goroutines running on this P (cache-aligned itself).
    pub timers: TimerHeap,
    local: CacheAligned<UnsafeCell<PLocal>>,
}

/// A value on cache lines of its own (128 bytes: the adjacent-line
/// prefetcher pairs lines).
#[repr(align(128))]
pub(crate) struct CacheAligned<T>(pub T);

impl<T> std::ops::Deref for CacheAligned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// State only the M holding the P touches.
pub(crate) struct PLocal {
    /// Incremented on every new time slice (Go's `schedtick`).
    pub schedtick: u32,
    /// How many Gs in a row ran from `runnext`, inheriting a time slice.
    pub inherited: u32,
    /// Looks in a row at due timers that deferred firing them because
    /// the queue was long (see `timers::run_due_on`).
    pub timer_looks_deferred: u32,
    /// Whether the global queue refills this P's queue next time it runs
    /// low, rather than the due timers (see `proc::global_turn`).
    pub global_turn: bool,
    /// Dead Gs for reuse (Go's `gFree`).
    pub gfree: Vec<GRef>,
    /// Stack cache (Go's `mcache.stackcache`).
    pub stacks: Vec<Stack>,
    /// State of this P's random victim order.
    pub rng: u64,
}

// SAFETY: `local` is only accessed through `P::local`, whose contract gives
// exclusive access to the M holding the P; the rest is atomics.
unsafe impl Sync for P {}

impl P {
    fn new(id: usize) -> P {
        P {
            id,
            runq: RunQueue::new(),
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            stats: CacheAligned(PStats::default()),
            timers: TimerHeap::new(),
            local: CacheAligned(UnsafeCell::new(PLocal {
                schedtick: 0,
                inherited: 0,
                timer_looks_deferred: 0,
                global_turn: false,
                gfree: Vec::new(),
                stacks: Vec::new(),
                rng: 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
            })),
        }
    }

    /// The P's owner-only state.
    ///
    /// # Safety
    /// The caller must run on the M that holds this P (or hold the P
    /// otherwise exclusively, e.g. while it sits on the idle list under the
    /// sched lock), and must not keep two such borrows alive at once.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn local(&self) -> &mut PLocal {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.local.get() }
    }

    /// True if the P has nothing queued (local queue and `runnext`).
    pub(crate) fn has_no_work(&self) -> bool {
        self.runq.is_empty() && self.runnext.load(Acquire).is_null()
    }
}

/// Lock-protected scheduler state (Go's `sched.lock` and what it guards).
pub(crate) struct Sched {
    /// The global run queue: overflow from local queues, and Gs readied from
    /// outside the runtime.
    pub runq: VecDeque<GRef>,
    /// Idle Ps, by index.
    pub pidle: Vec<usize>,
    /// Idle Ms, each waiting on its note for a P.
    pub midle: Vec<Arc<MNote>>,
}

/// Every runtime ever built (they are never freed).
static RUNTIMES: Mutex<Vec<&'static Shared>> = Mutex::new(Vec::new());

pub(crate) fn all_runtimes() -> Vec<&'static Shared> {
    RUNTIMES.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// One runtime instance: its Ps, queues and Ms. Never freed (see
/// `Runtime`'s docs), so `&'static Shared` is handed around freely.
pub(crate) struct Shared {
    pub config: Config,
    pub ps: Box<[P]>,
    pub sched: Mutex<Sched>,
    /// Length of `sched.runq`, readable without the lock.
    pub runq_len: AtomicUsize,
    /// Number of Ps on `sched.pidle`.
    pub npidle: AtomicUsize,
    /// Number of spinning Ms.
    pub nmspinning: AtomicUsize,
    /// Ms created so far.
    pub nm: AtomicUsize,
    pub stacks: StackPool,
    pub timers: Timers,
    /// Goroutines that could not start for want of a stack (the mapping
    /// budget was spent); each exit hands its stack to the first of them.
    pub stack_waiters: Mutex<VecDeque<GRef>>,
    pub n_stack_waiters: AtomicUsize,
    /// Set once we warned that stack waiters are stuck; cleared when they
    /// drain.
    pub stack_wait_warned: AtomicBool,
    pub shutdown: AtomicBool,
    /// Counters for events that happen off any P (e.g. spawns from plain
    /// threads).
    pub offp_stats: PStats,
}

impl Shared {
    pub(crate) fn new(config: Config) -> &'static Shared {
        let procs = config.procs;
        let shared = Box::new(Shared {
            stacks: StackPool::new(config.stack_size),
            timers: Timers::new(),
            ps: (0..procs).map(P::new).collect(),
            sched: Mutex::new(Sched {
                runq: VecDeque::new(),
                pidle: (0..procs).rev().collect(),
                midle: Vec::new(),
            }),
            runq_len: AtomicUsize::new(0),
            npidle: AtomicUsize::new(procs),
            nmspinning: AtomicUsize::new(0),
            nm: AtomicUsize::new(0),
            stack_waiters: Mutex::new(VecDeque::new()),
            n_stack_waiters: AtomicUsize::new(0),
            stack_wait_warned: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            offp_stats: PStats::default(),
            config,
        });
        let shared: &'static Shared = Box::leak(shared);
        RUNTIMES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(shared);
        shared
    }

    /// Goroutines spawned into this runtime and not yet finished: summed
    /// from per-P counters so that spawning and exiting never contend on a
    /// shared counter. A snapshot, exact when nothing is spawning.
    pub(crate) fn live(&self) -> usize {
        let (mut spawned, mut exited) = (0u64, 0u64);
        for st in self.ps.iter().map(|p| &*p.stats).chain([&self.offp_stats]) {
            spawned += st.spawned.get();
            exited += st.exited.get();
        }
        spawned.saturating_sub(exited) as usize
    }

    pub(crate) fn procs(&self) -> usize {
        self.ps.len()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Sched> {
        self.sched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends Gs to the global queue (Go's `globrunqputbatch`).
    pub(crate) fn global_put_batch(&self, sched: &mut Sched, gs: impl IntoIterator<Item = GRef>) {
        sched.runq.extend(gs);
        self.runq_len.store(sched.runq.len(), Release);
    }

    /// Puts one G on the global queue and makes sure some M will look.
    pub(crate) fn global_put(&'static self, g: GRef) {
        {
            let mut sched = self.lock();
            self.global_put_batch(&mut sched, [g]);
        }
        self.wakep();
    }

    /// Takes a batch from the global queue for `p`: returns one G to run and
    /// moves up to a fair share more into `p`'s local queue (Go's
    /// `globrunqget`). `max` bounds the batch (0 = no bound).
    pub(crate) fn global_get(&self, sched: &mut Sched, p: &P, max: usize) -> Option<GRef> {
        let len = sched.runq.len();
        if len == 0 {
            return None;
        }
        let mut n = (len / self.procs() + 1).min(len);
        if max > 0 {
            n = n.min(max);
        }
        n = n.min(super::runq::LOCAL_QUEUE_CAPACITY / 2);
        let first = sched.runq.pop_front();
        for _ in 1..n {
            let g = sched.runq.pop_front().expect("counted above");
            // The local queue has room: n ≤ half its capacity and the caller
            // only takes a batch when its queue is empty or nearly so.
            if let Err(overflow) = p.runq.push(g.as_ptr()) {
                // Put the overflow back at the front, preserving order.
                for g in overflow.into_iter().rev() {
                    // SAFETY: every pointer in the queue came from a GRef.
                    sched.runq.push_front(unsafe { GRef::from_ptr(g) });
                }
                break;
            }
        }
        self.runq_len.store(sched.runq.len(), Release);
        first
    }

    /// Takes an idle P (Go's `pidleget`).
    pub(crate) fn pidle_get(&self, sched: &mut Sched) -> Option<usize> {
        let p = sched.pidle.pop()?;
        self.npidle.fetch_sub(1, SeqCst);
        Some(p)
    }

    /// Returns a P to the idle list (Go's `pidleput`).
    pub(crate) fn pidle_put(&self, sched: &mut Sched, p: usize) {
        sched.pidle.push(p);
        self.npidle.fetch_add(1, SeqCst);
    }

    /// Tries to put one more M to work if there are idle Ps and nobody is
    /// already spinning (Go's `wakep`).
    pub(crate) fn wakep(&'static self) {
        super::chaos::point("work queued, idle Ps not yet looked at");
        if self.npidle.load(SeqCst) == 0 {
            return;
        }
        if self.nmspinning.load(SeqCst) != 0
            || self
                .nmspinning
                .compare_exchange(0, 1, SeqCst, SeqCst)
                .is_err()
        {
            return;
        }
        self.startm(None, true);
    }

    /// Runs some M on a P: `p`, or an idle one (Go's `startm`). When
    /// `spinning`, the caller has already counted the new M in `nmspinning`.
    pub(crate) fn startm(&'static self, p: Option<usize>, spinning: bool) {
        let mut sched = self.lock();
        let p = match p.or_else(|| self.pidle_get(&mut sched)) {
            Some(p) => p,
            None => {
                drop(sched);
                if spinning {
                    // Nothing to run on: undo the caller's increment.
                    self.nmspinning.fetch_sub(1, SeqCst);
                }
                return;
            }
        };
        if let Some(note) = sched.midle.pop() {
            drop(sched);
            note.wake(Wake::Run {
                p,
                spinning,
                g: None,
            });
        } else {
            drop(sched);
            super::proc::new_m(self, p, spinning);
        }
    }

    /// A timer was added and no idle M watches the timers: poke one, or
    /// start one on an idle P (it will watch once it finds nothing to do).
    /// If every P is busy, their Ms run timers as they schedule.
    pub(crate) fn wake_idle_m_for_timers(&'static self) {
        let sched = self.lock();
        if let Some(note) = sched.midle.last() {
            note.wake(Wake::Timers);
            return;
        }
        let idle_p = !sched.pidle.is_empty();
        drop(sched);
        if idle_p {
            self.startm(None, false);
        }
    }

    /// Wakes every idle M so it can see the shutdown flag.
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        let idle: Vec<_> = std::mem::take(&mut self.lock().midle);
        for note in idle {
            note.wake(Wake::Exit);
        }
    }
}
