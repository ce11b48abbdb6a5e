//! Timers: a deadline heap per P, run by the scheduler (Go's `p.timers`).
//!
//! There is no timer thread and no thread per timer. Each P owns a queue
//! of deadlines (`timer_heap.rs`: a sorted lane for deadlines that come in
//! order, a 4-ary heap for the rest); a timer goes into the heap of the P
//! that armed it, so the goroutines of one P mostly touch one heap and its
//! lock is rarely contended. Ms run the expired timers of their own P each
//! time they schedule, and those of every P when they look for work (Go's
//! `checkTimers` in `findRunnable` and `stealWork`). When every M is idle,
//! exactly one of them — the *timer watcher* — sleeps until the earliest
//! deadline of all heaps instead of indefinitely (Go's netpoller wait with
//! a timeout); arming a timer earlier than the watcher's wake-up wakes it.
//!
//! Two kinds of entry share the heaps:
//!
//! * **Sleeps** (`sleep`, and the timeouts of channel operations, `select!`
//!   and the sync types): the timer is a word inside the sleeping G — a
//!   sequence number and an "armed" bit — so a sleep allocates nothing. The
//!   heap entry names the G and the sequence number; firing it is a CAS on
//!   the word (armed → fired) and then an unpark.
//! * **Channel timers** (`after`, `Timer`, `Ticker`, context deadlines): an
//!   `Arc<Timer>` that runs a non-blocking callback and may re-arm itself.
//!
//! Cancellation is lazy, as in Go: stopping a timer marks it and counts a
//! *zombie* on its heap; the heap drops dead entries when they reach the top,
//! or all at once when zombies make up a quarter of it.
//!
//! Expired timers are popped in batches under the heap lock and fired after
//! it is released; the goroutines they wake go to the tail of the running
//! P's queue, and one `wakep` covers the batch.

use super::current;
use super::g::{GRef, WaitReason};
use super::park::{self, MNote, Wake};
use super::sched::Shared;
use super::timer_heap::TimerQueue;
use smallvec::SmallVec;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Nanoseconds since the process's timer epoch.
pub(crate) type Nanos = u64;
/// "No timer".
pub(crate) const NEVER: Nanos = u64::MAX;

fn epoch() -> Instant {
    clock().0
}

/// The timer epoch as an `Instant`, and the raw monotonic clock reading
/// (nanoseconds) taken just *after* it. `now` counts from the later
/// reading, so it never runs ahead of `Instant`-based deadlines: timers may
/// fire a few nanoseconds late, never early.
fn clock() -> &'static (Instant, u64) {
    static CLOCK: OnceLock<(Instant, u64)> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let instant = Instant::now();
        (instant, raw_monotonic())
    })
}

/// `CLOCK_MONOTONIC` in nanoseconds: what `Instant` reads on Linux, without
/// its `Duration` arithmetic (the scheduler reads the time on every switch
/// while timers are pending).
#[inline]
fn raw_monotonic() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The current time as timer nanoseconds.
#[inline]
#[cfg(target_os = "linux")]
pub(crate) fn now() -> Nanos {
    raw_monotonic().saturating_sub(clock().1)
}

/// The current time as timer nanoseconds (elsewhere `Instant` may use
/// another clock than `CLOCK_MONOTONIC`).
#[cfg(not(target_os = "linux"))]
pub(crate) fn now() -> Nanos {
    epoch().elapsed().as_nanos() as Nanos
}

/// `Instant` → timer nanoseconds (saturating at the epoch).
pub(crate) fn to_nanos(t: Instant) -> Nanos {
    t.saturating_duration_since(epoch()).as_nanos() as Nanos
}

/// Timer nanoseconds → `Instant`.
pub(crate) fn to_instant(n: Nanos) -> Instant {
    epoch() + Duration::from_nanos(n)
}

const PENDING: u8 = 0;
const FIRED: u8 = 1;
const CANCELLED: u8 = 2;

/// What a channel timer runs when it fires: a non-blocking callback given
/// the deadline; `Some(next)` re-arms the timer for `next` (a ticker).
pub(crate) type Callback = Box<dyn Fn(Nanos) -> Option<Nanos> + Send + Sync>;

/// A channel timer. Shared by its owner (to stop it) and the heap.
pub(crate) struct Timer {
    state: AtomicU8,
    /// The heap it was last armed in (null before), for zombie accounting.
    home: AtomicPtr<TimerHeap>,
    callback: Callback,
}

impl Timer {
    pub(crate) fn new(callback: Callback) -> Arc<Timer> {
        Arc::new(Timer {
            state: AtomicU8::new(PENDING),
            home: AtomicPtr::new(ptr::null_mut()),
            callback,
        })
    }

    /// Stops the timer for good — also a ticker caught in the middle of a
    /// delivery (it will not re-arm). True if it was pending.
    pub(crate) fn stop(&self) -> bool {
        let was_pending = self.state.swap(CANCELLED, AcqRel) == PENDING;
        if was_pending {
            let home = self.home.load(Acquire);
            if !home.is_null() {
                // SAFETY: heaps live in Ps, which are never freed.
                unsafe { &*home }.zombies.fetch_add(1, Relaxed);
            }
        }
        was_pending
    }
}

/// What a heap entry fires.
enum Target {
    /// A goroutine's sleep number `seq` (see `Sleep`).
    Wake {
        g: GRef,
        seq: u64,
    },
    Call(Arc<Timer>),
}

impl Target {
    /// Whether firing it would still do something.
    fn is_live(&self) -> bool {
        match self {
            Target::Wake { g, seq } => g.sleep.load(Relaxed) == armed(*seq),
            Target::Call(t) => t.state.load(Relaxed) == PENDING,
        }
    }
}

/// A G's sleep word while sleep number `seq` is armed; `seq << 1` once it
/// fired or was disarmed.
fn armed(seq: u64) -> u64 {
    seq << 1 | 1
}

/// Expired entries popped per trip under the heap lock.
const BATCH: usize = 32;
/// A heap at least this big is cleaned once zombies are a quarter of it.
const CLEAN_MIN: usize = 64;

/// One P's timers.
#[repr(align(64))]
pub(crate) struct TimerHeap {
    /// Earliest deadline in the heap (`NEVER` if empty), read without the
    /// lock by every M that looks for work.
    next: AtomicU64,
    /// Entries known to be dead but still in the heap (approximate).
    zombies: AtomicUsize,
    heap: parking_lot::Mutex<TimerQueue<Target>>,
}

impl TimerHeap {
    pub(crate) const fn new() -> TimerHeap {
        TimerHeap {
            next: AtomicU64::new(NEVER),
            zombies: AtomicUsize::new(0),
            heap: parking_lot::Mutex::new(TimerQueue::new()),
        }
    }

    /// Earliest deadline in this heap, or `NEVER`.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Nanos {
        self.next.load(Acquire)
    }

    /// Entries in the heap, dead or alive.
    pub(crate) fn len(&self) -> usize {
        self.heap.lock().len()
    }

    /// [`len`](Self::len), or `None` if the heap is locked right now (for
    /// diagnostics, which must not wait on a lock a hang may hold).
    pub(crate) fn try_len(&self) -> Option<usize> {
        self.heap.try_lock().map(|heap| heap.len())
    }

    fn push(&self, rt: &'static Shared, when: Nanos, target: Target) {
        let lowered = {
            let mut heap = self.heap.lock();
            if heap.len() >= CLEAN_MIN && self.zombies.load(Relaxed) * 4 > heap.len() {
                heap.retain(Target::is_live);
                self.zombies.store(0, Relaxed);
            }
            heap.push(when, target);
            let lowered = when < self.next.load(Relaxed);
            if lowered {
                // SeqCst: pairs with `become_watcher` (see `earlier_deadline`).
                self.next.store(when, SeqCst);
            }
            lowered
        };
        super::chaos::point("timer pushed, watcher not yet told");
        if lowered {
            rt.timers.earlier_deadline(rt, when);
        }
    }

    /// Fires the due entries, if any, up to about `limit` (see
    /// [`run_due`]): the clock is read (into `now`, for the next heap's
    /// caller to reuse) only when the heap has timers. Returns how many
    /// goroutines it woke.
    fn run_if_due(&self, rt: &'static Shared, now: &mut Option<Nanos>, limit: usize) -> usize {
        let next = self.next_deadline();
        if next == NEVER {
            return 0;
        }
        let now = *now.get_or_insert_with(self::now);
        if next > now {
            return 0;
        }
        self.run_due(rt, now, limit)
    }

    /// Fires the entries due at `now`, all of them or the first `limit`
    /// rounded up to whole batches. Returns how many goroutines it woke.
    fn run_due(&self, rt: &'static Shared, now: Nanos, limit: usize) -> usize {
        let mut woken = 0;
        let mut fired = 0;
        loop {
            let mut batch: SmallVec<[(Nanos, Target); BATCH]> = SmallVec::new();
            {
                let mut heap = self.heap.lock();
                while batch.len() < BATCH && heap.peek_when().is_some_and(|w| w <= now) {
                    batch.push(heap.pop().expect("peeked"));
                }
                self.next.store(heap.peek_when().unwrap_or(NEVER), SeqCst);
            }
            super::chaos::point("timers popped, not yet fired");
            let full = batch.len() == BATCH;
            fired += batch.len();
            // The sleepers' Gs and stacks were last touched long ago, by
            // any CPU: start every load of the batch at once, so that they
            // overlap (a TLB miss is a page walk of several hundred cycles
            // in a VM, and a prefetch waits for its walk before it
            // retires: issued one by one, between firings, each stalled).
            // Their G lines first (firing writes them, and the stack hint
            // is there); then, once the Gs are read, their stack tops,
            // which the goroutines need within a few dozen switches (see
            // `run_due_on`).
            let mut gs = [ptr::null_mut(); BATCH];
            for (slot, (_, target)) in gs.iter_mut().zip(&batch) {
                if let Target::Wake { g, .. } = target {
                    *slot = g.as_ptr();
                }
            }
            for &g in &gs {
                super::prefetch::g_for_write(g);
            }
            let mut stack_tops = [0; BATCH];
            for (i, (when, target)) in batch.drain(..).enumerate() {
                if let Some(g) = std::ptr::NonNull::new(gs[i]) {
                    // SAFETY: Gs are never freed.
                    stack_tops[i] = unsafe { g.as_ref() }.stack_hint.load(Relaxed);
                }
                if !self.fire(rt, when, target, &mut woken) {
                    let _ = self
                        .zombies
                        .fetch_update(Relaxed, Relaxed, |z| z.checked_sub(1));
                }
            }
            for top in stack_tops {
                super::prefetch::stack_at(top);
            }
            if !full || fired >= limit {
                break;
            }
        }
        if woken > 0 {
            rt.wakep();
        }
        woken
    }

    /// Fires one entry; false if it was dead.
    fn fire(&self, rt: &'static Shared, when: Nanos, target: Target, woken: &mut usize) -> bool {
        match target {
            Target::Wake { g, seq } => {
                if g.sleep
                    .compare_exchange(armed(seq), seq << 1, AcqRel, Relaxed)
                    .is_err()
                {
                    return false;
                }
                if park::unpark_batched(g) {
                    *woken += 1;
                }
                true
            }
            Target::Call(timer) => {
                if timer
                    .state
                    .compare_exchange(PENDING, FIRED, AcqRel, Acquire)
                    .is_err()
                {
                    return false;
                }
                if let Some(again) = (timer.callback)(when) {
                    // A ticker: arm it again — unless it was stopped while
                    // delivering.
                    if timer
                        .state
                        .compare_exchange(FIRED, PENDING, AcqRel, Acquire)
                        .is_ok()
                    {
                        rt.timers.add(rt, timer, again);
                    }
                }
                true
            }
        }
    }
}

/// When a sleep ends: at a deadline, or a duration after the goroutine
/// parks (the M reads the clock, see [`Sleep::sleep`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SleepFor {
    Until(Nanos),
    For(Nanos),
}

/// Pushes the sleep timer of `g`, just switched out by `p`'s M (see
/// [`Sleep::sleep`]). Its sleep word names the sleep.
pub(crate) fn push_sleep(rt: &'static Shared, p: &super::sched::P, g: GRef, sleep: SleepFor) {
    let when = match sleep {
        SleepFor::Until(when) => when,
        // Saturating: a sleep past the end of time never fires.
        SleepFor::For(d) => now().saturating_add(d),
    };
    let word = g.sleep.load(Relaxed);
    debug_assert_eq!(word & 1, 1, "a sleep timer is pushed armed");
    p.timers.push(rt, when, Target::Wake { g, seq: word >> 1 });
}

/// Runs the due timers of `p`, the caller's own P (Go's `checkTimers` in
/// `findRunnable`), a batch at a time and only while `p`'s queue is low
/// (see below). Returns how many goroutines were woken. The caller holds
/// `p`.
///
/// An M looks at its own P's timers each time it schedules, and at every
/// P's ([`run_due`]) only when it has run out of work: a heap is then
/// touched by one CPU at a time, mostly. Looking at every heap on every
/// trip through the scheduler pulled each heap's lines back and forth
/// between the CPUs: the owner's next push missed the cache.
///
/// **Firing in step with running.** Go fires every due timer at each look.
/// When a P falls behind (100,000 sleepers waking every 10 ms) that puts
/// thousands of woken goroutines in its queue at once, most of them spilled
/// to the global queue, and each runs long after its timer fired: the
/// loads started for it while firing (its G, its stack top, see
/// `prefetch.rs`) are long gone from the caches by then, and the spill
/// costs a lock. So a look fires at most [`BATCH`] timers, and only while
/// `p`'s queue is low (`proc::QUEUE_LOW`): a woken
/// goroutine runs within a few dozen switches of its timer firing, its
/// memory still warm — timers benchmark −30% CPU. Nothing waits longer
/// for it: a goroutine woken into a longer queue would have waited behind
/// it anyway. To keep a queue that never runs low (goroutines that keep
/// yielding) from holding timers back forever, every [`FIRE_ANYWAY_AFTER`]th
/// look in a row that finds the queue long fires a batch anyway. (Firing
/// all of them then was worse: the queue overflowed as before.) The global
/// queue takes turns with the timers at refilling a low queue
/// (`proc::global_turn`).
pub(crate) fn run_due_on(rt: &'static Shared, p: &super::sched::P) -> usize {
    // SAFETY: the caller holds `p`.
    let local = unsafe { p.local() };
    if p.runq.len() >= super::proc::QUEUE_LOW && local.timer_looks_deferred + 1 < FIRE_ANYWAY_AFTER
    {
        if p.timers.next_deadline() != NEVER {
            local.timer_looks_deferred += 1;
        }
        return 0;
    }
    local.timer_looks_deferred = 0;
    p.timers.run_if_due(rt, &mut None, BATCH)
}

/// `run_due_on` fires a batch of due timers at this many looks in a row
/// that found the queue long.
const FIRE_ANYWAY_AFTER: u32 = 16;

/// Runs the due timers of every P of `rt` (their woken goroutines go to
/// the caller's P, or the global queue without one). Returns how many
/// goroutines were woken.
pub(crate) fn run_due(rt: &'static Shared) -> usize {
    let mut now = None;
    rt.ps
        .iter()
        .map(|p| p.timers.run_if_due(rt, &mut now, usize::MAX))
        .sum()
}

/// For an M out of work: fires every P's due timers (Go's `stealWork`
/// does too; what they wake lands on the caller's P). True if any were
/// due, so the caller should look for work again.
pub(crate) fn run_any_due(rt: &'static Shared) -> bool {
    if next_deadline(rt) > now() {
        return false;
    }
    run_due(rt);
    true
}

/// The earliest deadline of all of `rt`'s timers, or `NEVER`.
pub(crate) fn next_deadline(rt: &Shared) -> Nanos {
    rt.ps
        .iter()
        .map(|p| p.timers.next.load(SeqCst))
        .min()
        .unwrap_or(NEVER)
}

/// A runtime's timer watcher, and where its channel timers go.
pub(crate) struct Timers {
    /// The idle M sleeping until `watch_at`.
    watcher: Mutex<Option<Arc<MNote>>>,
    /// When the watcher will wake (`NEVER` if there is none). Written under
    /// `watcher`'s lock; read without it by every `push` that lowers a
    /// heap's earliest deadline.
    watch_at: AtomicU64,
    /// Round-robin heap choice for timers armed off the runtime's Ps.
    next_home: AtomicUsize,
}

impl Timers {
    /// When the timer watcher will wake (`NEVER`: there is none).
    pub(crate) fn watch_at(&self) -> Nanos {
        self.watch_at.load(Relaxed)
    }

    pub(crate) fn new() -> Timers {
        Timers {
            watcher: Mutex::new(None),
            watch_at: AtomicU64::new(NEVER),
            next_home: AtomicUsize::new(0),
        }
    }

    /// Arms a channel timer to fire at `when`, in the calling M's P's heap
    /// (or any heap, from outside the runtime).
    pub(crate) fn add(&self, rt: &'static Shared, timer: Arc<Timer>, when: Nanos) {
        let heap = match current::m() {
            Some(m) if ptr::eq(m.rt, rt) && m.try_p().is_some() => &m.p().timers,
            _ => &rt.ps[self.next_home.fetch_add(1, Relaxed) % rt.procs()].timers,
        };
        timer
            .home
            .store(heap as *const TimerHeap as *mut TimerHeap, Release);
        heap.push(rt, when, Target::Call(timer));
    }

    /// A heap's earliest deadline became `when`: make sure an idle M will
    /// wake for it.
    ///
    /// No wake-up is lost: `push` stores the heap's deadline (SeqCst) before
    /// reading `watch_at`, and `become_watcher` computes the earliest
    /// deadline under `watcher`'s lock before storing `watch_at`. If this
    /// read misses the new watcher, we take the lock after it and see it.
    fn earlier_deadline(&self, rt: &'static Shared, when: Nanos) {
        if when >= self.watch_at.load(SeqCst) {
            return;
        }
        let watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        match &*watcher {
            Some(note) => {
                if when < self.watch_at.load(Relaxed) {
                    note.wake(Wake::Timers);
                }
            }
            None => {
                drop(watcher);
                // No M is watching: if every M is busy they will see the
                // timer as they schedule; otherwise wake an idle one to
                // watch.
                rt.wake_idle_m_for_timers();
            }
        }
    }

    /// Called by an idle M before it sleeps: if there are timers and no
    /// other M watches them, this one does. Returns how long to sleep.
    pub(crate) fn become_watcher(&self, rt: &Shared, note: &Arc<MNote>) -> Option<Duration> {
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        if watcher.is_some() {
            return None;
        }
        let next = next_deadline(rt);
        if next == NEVER {
            return None;
        }
        *watcher = Some(note.clone());
        self.watch_at.store(next, SeqCst);
        Some(Duration::from_nanos(next.saturating_sub(now())))
    }

    /// The watcher woke up.
    pub(crate) fn stop_watching(&self) {
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        *watcher = None;
        self.watch_at.store(NEVER, SeqCst);
    }
}

/// The calling goroutine's sleep timer, armed in its P's heap; disarmed
/// when dropped.
///
/// Only the goroutine itself arms and disarms its timer, and it has one
/// at a time (it is blocked while the timer runs), so the sleep word needs
/// no read-modify-write on this side: a new sleep number is the old one
/// plus one.
pub(crate) struct Sleep {
    g: GRef,
    seq: u64,
    home: &'static TimerHeap,
}

impl Sleep {
    /// Arms the current goroutine's timer for `when`. `None` on a plain
    /// thread.
    pub(crate) fn arm(when: Nanos) -> Option<Sleep> {
        let sleep = Sleep::arm_unpushed()?;
        sleep.home.push(
            sleep.g.runtime(),
            when,
            Target::Wake {
                g: sleep.g,
                seq: sleep.seq,
            },
        );
        Some(sleep)
    }

    /// Arms the current goroutine's sleep word without pushing the heap
    /// entry: [`sleep`](Self::sleep) has the M push
    /// it. `None` on a plain thread.
    fn arm_unpushed() -> Option<Sleep> {
        let g = current::g()?;
        let m = current::m()?;
        let home = &m.p().timers;
        let seq = (g.sleep.load(Relaxed) >> 1) + 1;
        g.sleep.store(armed(seq), Release);
        Some(Sleep { g, seq, home })
    }

    /// Sleeps the current goroutine (`time::sleep`, `sleep_until`).
    /// `None` on a plain thread.
    ///
    /// The clock is read and the heap entry pushed by the M, once the
    /// goroutine has switched out (Go pushes it from `park_m` on g0 too,
    /// with `resetForSleep`). A sleeper's stack was last used before its
    /// previous sleep and has left the cache by now, so every line of it
    /// the goroutine touches below its park frame is a memory access the
    /// wake-up waits for — the frames of a clock read and a heap push were
    /// most of a sleep's cost with 100,000 sleepers. The M's stack is hot.
    /// The entry cannot fire before the goroutine is off its stack, and a
    /// park that returns at once on a pending token pushes nothing, so the
    /// next one pushes it.
    pub(crate) fn sleep(until: SleepFor) -> Option<()> {
        let sleep = Sleep::arm_unpushed()?;
        let mut pushed = false;
        while !sleep.fired() {
            if pushed {
                park::park(WaitReason::Sleep);
            } else {
                pushed = park::park_pushing_timer(sleep.g, until);
            }
        }
        Some(())
    }

    /// Whether the timer has fired.
    pub(crate) fn fired(&self) -> bool {
        self.g.sleep.load(Acquire) == self.seq << 1
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if self
            .g
            .sleep
            .compare_exchange(armed(self.seq), self.seq << 1, AcqRel, Relaxed)
            .is_ok()
        {
            self.home.zombies.fetch_add(1, Relaxed);
        }
    }
}

/// Parks the calling goroutine (or thread) until `deadline` or until
/// `done()` is true, whichever is first. Returns `done()`'s last value.
pub(crate) fn park_until(
    deadline: Option<Instant>,
    reason: WaitReason,
    done: impl Fn() -> bool,
) -> bool {
    let Some(deadline) = deadline else {
        while !done() {
            park::park(reason);
        }
        return true;
    };
    let Some(sleep) = Sleep::arm(to_nanos(deadline)) else {
        // A plain thread: no runtime timer needed.
        loop {
            if done() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::park_timeout(deadline - now);
        }
    };
    loop {
        if done() {
            return true;
        }
        if sleep.fired() {
            return done();
        }
        park::park(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::park::Unparker;
    use std::time::{Duration, Instant};

    /// A sleep that starts with a stale wake-up token pending (an unpark
    /// meant for an earlier wait) returns from its first park without
    /// switching out, so that park pushed no timer: the next one must, or
    /// the sleep would never end. Checked on both Ps counts, many times.
    #[test]
    fn sleep_with_a_pending_token_still_fires_on_time() {
        for procs in [1, 2] {
            let rt = crate::Runtime::builder().procs(procs).build().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let worst = rt.run(|| {
                    let mut worst = Duration::ZERO;
                    for _ in 0..50 {
                        Unparker::current().unpark(); // the stale token
                        let start = Instant::now();
                        crate::time::sleep(Duration::from_millis(2));
                        let took = start.elapsed();
                        assert!(took >= Duration::from_millis(2), "woke early: {took:?}");
                        worst = worst.max(took);
                    }
                    worst
                });
                let _ = tx.send(worst);
            });
            let worst = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("a sleep with a pending token never ended");
            assert!(
                worst < Duration::from_secs(5),
                "procs({procs}): a sleep took {worst:?}"
            );
        }
    }
}
