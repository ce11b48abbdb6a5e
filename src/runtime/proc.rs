//! Ms and the scheduling loop (Go's `proc.go`).
//!
//! An M is an OS thread. It runs goroutines only while it holds a P; its own
//! native stack plays the part of Go's `g0`: the scheduler code below runs
//! there, and a goroutine switch goes goroutine → M → goroutine — except a
//! hand-off, where a parking goroutine continues the one it readied
//! directly (`handoff.rs`, `switch.rs`). The loop
//! is Go's:
//!
//! ```text
//! schedule:  loop { g = find_runnable(); execute(g) }
//! find_runnable:
//!     every 61st tick: one G from the global queue (fairness)
//!     runnext, then the local queue
//!     a batch from the global queue
//!     spin: steal half of a random victim's queue (4 passes, runnext last)
//!     give the P back, re-check everything, sleep until handed a P
//! execute:   resume the G's context until it yields, parks or exits,
//!            then requeue it / commit its park / free it
//! ```
//!
//! The idle path (`stop_m`) is where a netpoller wait and the next timer
//! deadline will slot in, exactly as in Go's `findRunnable`.

use super::current;
use super::g::{GRef, Status, Switch};
use super::hooks::{self, Event};
use super::park::{self, MNote, Wake};
use super::prefetch;
use super::sched::{Shared, P};
use super::stack;
use super::stack_wait;
use super::switch;
use super::task;
use super::timers;
use smallvec::SmallVec;
use std::cell::Cell;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Consecutive runs from `runnext` after which a readied G goes to the tail
/// of the queue instead. Go bounds a `runnext` chain by time (the inherited
/// 10 ms slice, enforced by preemption); a count bounds it without reading a
/// clock on every hand-off, and keeps two goroutines that ready each other
/// from starving the rest of their P's queue.
const INHERIT_LIMIT: u32 = 64;
/// Every this many ticks the global queue is served first (Go: 61).
const GLOBAL_QUEUE_TICK: u32 = 61;
/// Steal passes over all victims before giving up (Go: 4).
const STEAL_PASSES: usize = 4;
/// A victim's queue this long is stolen from at once (see `steal_work`).
const STEAL_EAGER: usize = 32;
/// A victim switching this often within [`STEAL_WINDOW`] keeps its short
/// queue (see `steal_work`).
const QUICK_SWITCHES: u64 = 8;
/// How long a thief watches a victim with a short queue (see
/// `steal_work`). Long enough to average over bursts: a goroutine filling
/// a channel's buffer runs a microsecond or two without switching, and
/// over 3 µs a pool of fast-talking goroutines could look busy.
const STEAL_WINDOW: Duration = Duration::from_micros(10);
/// How long a spinning M keeps looking before it sleeps (see
/// `spin_for_work`).
const SPIN_FOR: Duration = Duration::from_micros(50);
/// While timers are pending, every this many switches go through
/// `find_runnable` to look at them (see `next_local`).
const TIMER_CHECK_EVERY: u64 = 4;
/// A spinning M yields its CPU to the OS every this many looks.
const SPIN_YIELD_EVERY: u32 = 8;
/// A gap this long between two looks of a spinning M means the OS took the
/// CPU away from it: the machine is oversubscribed, so stop spinning.
const SPIN_PREEMPTED: Duration = Duration::from_micros(20);
/// How long a `runnext` G is left to its own P before a thief may take it.
const RUNNEXT_GRACE: Duration = Duration::from_micros(3);

/// M: an OS thread running goroutines (Go's `m`). Lives in `m_main`'s frame.
pub(crate) struct M {
    pub id: usize,
    pub rt: &'static Shared,
    p: Cell<Option<&'static P>>,
    /// The goroutine running on this M right now.
    pub curg: Cell<Option<GRef>>,
    spinning: Cell<bool>,
    pub note: Arc<MNote>,
    /// The goroutine locked to this M by `lock_os_thread`, if any.
    pub locked_g: Cell<Option<GRef>>,
    /// The M's own context while a goroutine runs: its saved stack
    /// pointer, which goroutines switch back to (`switch.rs`).
    pub sp: Cell<usize>,
    /// Set by the goroutine switching back to the M: who, and why.
    pub switched: Cell<Option<(GRef, Switch)>>,
}

impl M {
    /// The P this M holds. Only meaningful while it holds one, which is
    /// always the case while a goroutine runs on it.
    pub(crate) fn p(&self) -> &'static P {
        self.p.get().expect("M holds no P")
    }

    pub(crate) fn try_p(&self) -> Option<&'static P> {
        self.p.get()
    }

    fn acquirep(&self, p: usize) {
        debug_assert!(self.p.get().is_none());
        self.p.set(Some(&self.rt.ps[p]));
    }

    fn releasep(&self) -> &'static P {
        self.p.take().expect("M holds no P")
    }

    fn become_spinning(&self) {
        self.spinning.set(true);
        self.rt.nmspinning.fetch_add(1, SeqCst);
    }

    /// Stops spinning because we found work; if we were the last spinner,
    /// start another so the next readied G is not left waiting (Go's
    /// `resetspinning`).
    fn reset_spinning(&self) {
        self.spinning.set(false);
        if self.rt.nmspinning.fetch_sub(1, SeqCst) == 1 {
            self.rt.wakep();
        }
    }
}

/// Starts a new M on P `p` (Go's `newm`).
pub(crate) fn new_m(rt: &'static Shared, p: usize, spinning: bool) {
    let id = rt.nm.fetch_add(1, SeqCst);
    if id == 0 {
        super::sysmon::start(rt);
    }
    let spawned = std::thread::Builder::new()
        .name(format!("goro-m{id}"))
        .spawn(move || m_main(rt, id, p, spinning));
    if let Err(e) = spawned {
        fatal(&format!(
            "cannot create an OS thread for the scheduler: {e}"
        ));
    }
}

fn m_main(rt: &'static Shared, id: usize, p: usize, spinning: bool) {
    super::overflow::prepare_thread();
    let m = M {
        id,
        rt,
        p: Cell::new(None),
        curg: Cell::new(None),
        spinning: Cell::new(false),
        note: Arc::new(MNote::new()),
        locked_g: Cell::new(None),
        sp: Cell::new(0),
        switched: Cell::new(None),
    };
    current::set_m(&m);
    m.acquirep(p);
    m.spinning.set(spinning);
    schedule(&m);
    current::clear_m();
}

/// The scheduling loop. Returns only when the runtime shuts down.
fn schedule(m: &M) {
    let mut next = None;
    loop {
        let (g, inherit) = match next.take() {
            Some(found) => found,
            None => match find_runnable(m) {
                Some(found) => found,
                None => return,
            },
        };
        if m.spinning.get() {
            m.reset_spinning();
        }
        next = execute(m, g, inherit);
    }
}

/// Finds a goroutine to run, sleeping if there is none (Go's
/// `findRunnable`). Returns the G and whether it inherits the current time
/// slice (it came from `runnext`). `None` means shutdown.
fn find_runnable(m: &M) -> Option<(GRef, bool)> {
    let rt = m.rt;
    loop {
        let Some(p) = m.try_p() else {
            // We hold no P: sleep until some M hands us one.
            match stop_m(m) {
                Wake::Run { p, spinning, g } => {
                    m.acquirep(p);
                    if spinning {
                        // The waker counted us in nmspinning already.
                        m.spinning.set(true);
                    }
                    if let Some(g) = g {
                        return Some((g, false));
                    }
                    continue;
                }
                Wake::Exit => return None,
                Wake::Timers => unreachable!("stop_m handles timer pokes"),
            }
        };
        if let Some(g) = global_turn(rt, p) {
            return Some((g, false));
        }
        timers::run_due_on(rt, p);
        // The timers have had their look: the global queue's turn next.
        // SAFETY: we hold `p`.
        unsafe { p.local().global_turn = true };
        if stack::under_pressure() && has_cached_stacks(p) {
            // Goroutines wait for stacks: share our cached ones.
            stack_wait::on_stack_freed(rt, p);
        }
        // SAFETY: we hold `p`.
        let tick = unsafe { p.local().schedtick };
        if tick % GLOBAL_QUEUE_TICK == 0 && rt.runq_len.load(Acquire) > 0 {
            let mut sched = rt.lock();
            if let Some(g) = rt.global_get(&mut sched, p, 1) {
                return Some((g, false));
            }
        }
        if let Some(found) = runq_get(rt, p) {
            return Some(found);
        }
        if rt.runq_len.load(Acquire) > 0 {
            let mut sched = rt.lock();
            if let Some(g) = rt.global_get(&mut sched, p, 0) {
                return Some((g, false));
            }
        }
        // Spin only while fewer than half the busy Ps have a spinner: with
        // many spinners, most would find nothing and burn CPU.
        let busy = rt.procs() - rt.npidle.load(SeqCst);
        if m.spinning.get() || 2 * rt.nmspinning.load(SeqCst) < busy {
            if !m.spinning.get() {
                m.become_spinning();
            }
            match spin_for_work(m, p) {
                Spin::Found(g) => return Some((g, false)),
                Spin::LookAgain => continue,
                Spin::Nothing => {}
            }
        }
        // Before letting go of the P: the other Ps' due timers.
        if timers::run_any_due(rt) {
            continue;
        }
        if let Some(found) = give_up_p(m) {
            return Some(found);
        }
        // Around again: with a P if the last look re-acquired one, else to
        // sleep at the top of the loop.
    }
}

/// A P's queue is *low* when fewer goroutines than this wait in it: time
/// to take in more work (due timers, the global queue) so that the queue
/// never runs dry, but no more than that, so that what is taken in runs
/// soon, while its memory is still in the caches (see
/// `timers::run_due_on`).
pub(crate) const QUEUE_LOW: usize = 8;
/// Goroutines a P takes from the global queue on its turn (`global_turn`).
const GLOBAL_TURN_BATCH: usize = 32;

/// The global queue's turn at refilling `p`'s low queue, if it has one.
///
/// Due timers refill a low queue (`timers::run_due_on`); left at that,
/// they would keep it from ever running dry, and the global queue — where
/// a burst of spawns spills — would get only the one goroutine in
/// [`GLOBAL_QUEUE_TICK`] that `find_runnable` takes from it first: a
/// burst of 100,000 spawned goroutines took hundreds of milliseconds to
/// start behind 100,000 sleepers. So the two take turns: after the timers
/// have had a look, the next low queue is refilled from the global queue,
/// a batch of [`GLOBAL_TURN_BATCH`] at most, and then the timers look
/// again. The caller holds `p`.
fn global_turn(rt: &Shared, p: &P) -> Option<GRef> {
    // SAFETY: the caller holds `p`.
    let local = unsafe { p.local() };
    if !local.global_turn || p.runq.len() >= QUEUE_LOW || rt.runq_len.load(Acquire) == 0 {
        return None;
    }
    local.global_turn = false;
    let mut sched = rt.lock();
    rt.global_get(&mut sched, p, GLOBAL_TURN_BATCH)
}

/// Releases the P (nothing to run on it) and, if we were spinning, takes
/// the last look at every queue that keeps the spinning protocol sound (see
/// `sched.rs`). Returns work if the last look found some; if it saw work
/// it could not take directly, it re-acquires a P (spinning) and returns
/// `None` so the caller searches again.
fn give_up_p(m: &M) -> Option<(GRef, bool)> {
    let rt = m.rt;
    {
        let mut sched = rt.lock();
        let p = m.p();
        if let Some(g) = rt.global_get(&mut sched, p, 0) {
            return Some((g, false));
        }
        let p = m.releasep();
        rt.pidle_put(&mut sched, p.id);
    }
    super::chaos::point("P let go, queues not yet looked at again");
    stack_wait::warn_if_starved(rt);
    if !m.spinning.get() {
        return None;
    }
    m.spinning.set(false);
    rt.nmspinning.fetch_sub(1, SeqCst);

    let mut sched = rt.lock();
    if rt.runq_len.load(Acquire) > 0 {
        if let Some(pid) = rt.pidle_get(&mut sched) {
            m.acquirep(pid);
            m.become_spinning();
            if let Some(g) = rt.global_get(&mut sched, m.p(), 0) {
                return Some((g, false));
            }
        }
    }
    if m.try_p().is_none() && rt.ps.iter().any(|pp| !pp.has_no_work()) {
        if let Some(pid) = rt.pidle_get(&mut sched) {
            m.acquirep(pid);
            m.become_spinning();
        }
    }
    None
}

/// Puts this M on the idle list and sleeps until handed a P (Go's `stopm`).
///
/// If there are timers and no other idle M watches them, this one sleeps
/// only until the earliest deadline, then takes an idle P to run them.
fn stop_m(m: &M) -> Wake {
    let rt = m.rt;
    loop {
        {
            let mut sched = rt.lock();
            if rt.shutdown.load(SeqCst) {
                return Wake::Exit;
            }
            sched.midle.push(m.note.clone());
        }
        super::chaos::point("M idle, not yet asleep");
        let wake = match rt.timers.become_watcher(rt, &m.note) {
            Some(timeout) => {
                let woke = m.note.wait_timeout(timeout);
                rt.timers.stop_watching();
                woke
            }
            None => Some(m.note.wait()),
        };
        match wake {
            Some(Wake::Timers) | None => {}
            Some(handoff) => return handoff,
        }
        // Timers want a look. Leave the idle list — unless an M already
        // took us off it, in which case its hand-off is on the way.
        let mut sched = rt.lock();
        match sched.midle.iter().position(|n| Arc::ptr_eq(n, &m.note)) {
            Some(i) => {
                sched.midle.swap_remove(i);
            }
            None => {
                drop(sched);
                return m.note.wait_for_handoff();
            }
        }
        if timers::next_deadline(rt) <= timers::now() {
            if let Some(p) = rt.pidle_get(&mut sched) {
                return Wake::Run {
                    p,
                    spinning: false,
                    g: None,
                };
            }
            // Every P is busy. Their Ms run timers as they schedule, but
            // one may be running a goroutine that never yields: fire the
            // due timers from here (the woken goroutines go to the global
            // queue), or this M would wake again at once.
            drop(sched);
            timers::run_due(rt);
        }
        // Sleep again.
    }
}

/// Takes `runnext`, else the head of the local queue (Go's `runqget`).
fn runq_get(rt: &Shared, p: &P) -> Option<(GRef, bool)> {
    if let Some(next) = take_runnext(p) {
        return Some((next, true));
    }
    // With one P there is nobody to steal from our queue.
    let no_stealers = rt.procs() == 1;
    // SAFETY: as above.
    let found = p
        .runq
        .pop(no_stealers)
        .map(|g| (unsafe { GRef::from_ptr(g) }, false));
    if found.is_some() {
        // The Gs behind it were most likely written by another CPU (their
        // spawner or waker): start fetching one a few places ahead while
        // these run, far enough for the load to finish in time.
        prefetch::g(p.runq.peek(PREFETCH_AHEAD));
        // The next one's G was prefetched two pops ago: its stack hint is
        // in the cache by now, and its stack top has a whole run to load.
        prefetch::stack(p.runq.peek(0));
    }
    found
}

/// Takes `p`'s `runnext` (the caller holds `p`).
#[inline(always)]
pub(crate) fn take_runnext(p: &P) -> Option<GRef> {
    // Look before swapping: an empty `runnext` is common (every yield) and
    // a plain load is much cheaper than an atomic exchange.
    if p.runnext.load(Relaxed).is_null() {
        return None;
    }
    let next = p.runnext.swap(std::ptr::null_mut(), Acquire);
    // SAFETY: run queues only hold pointers made from GRefs.
    (!next.is_null()).then(|| unsafe { GRef::from_ptr(next) })
}

/// How far ahead in the local queue `runq_get` prefetches (the ones
/// before were prefetched by earlier calls).
const PREFETCH_AHEAD: u32 = 2;

/// Puts `g` on `p`'s queue: in `runnext` if `next` (kicking the old `runnext`
/// to the tail), else at the tail; overflow goes to the global queue (Go's
/// `runqput`). Caller holds `p`.
#[inline]
pub(crate) fn runq_put(rt: &'static Shared, p: &P, g: GRef, next: bool) {
    let mut g = g.as_ptr();
    if next {
        let old = p.runnext.swap(g, AcqRel);
        if old.is_null() {
            return;
        }
        g = old;
    }
    if let Err(overflow) = p.runq.push(g) {
        spill_to_global(rt, overflow);
    }
}

#[cold]
fn spill_to_global(rt: &'static Shared, overflow: super::runq::Overflow<super::g::G>) {
    let mut sched = rt.lock();
    // SAFETY: run queues only hold pointers made from GRefs.
    rt.global_put_batch(
        &mut sched,
        overflow.into_iter().map(|g| unsafe { GRef::from_ptr(g) }),
    );
}

/// Whether `p` (held by the caller) caches stacks it could share.
fn has_cached_stacks(p: &P) -> bool {
    // SAFETY: the caller holds `p`.
    !unsafe { p.local() }.stacks.is_empty()
}

enum Spin {
    Found(GRef),
    /// Work appeared on the global queue, or due timers were fired.
    LookAgain,
    Nothing,
}

/// Keeps stealing for a short while before giving up the P.
///
/// Go's spinning M makes its four passes and, finding nothing, sleeps;
/// the next `wakep` then costs the waker a futex wake-up, microseconds
/// on a path (a channel hand-off) that otherwise takes tens of
/// nanoseconds. A spinner that lingers for [`SPIN_FOR`] absorbs bursts of
/// readying: while it spins, `wakep` sees `nmspinning > 0` and does
/// nothing. Only one M spins this way at a time (`nmspinning` is bounded by
/// the caller), and only while some P is busy.
///
/// Lingering must not take the CPU from threads with real work when the
/// machine has fewer CPUs free than the runtime has Ps (other processes,
/// or plain threads of this one): the spinner offers its CPU to the OS now
/// and then, and stops as soon as it sees it was descheduled.
fn spin_for_work(m: &M, p: &P) -> Spin {
    let rt = m.rt;
    let start = Instant::now();
    let until = start + SPIN_FOR;
    let mut last = start;
    let mut looks = 0u32;
    loop {
        if let Some(g) = steal_work(m, p) {
            return Spin::Found(g);
        }
        if timers::run_any_due(rt) {
            return Spin::LookAgain;
        }
        if rt.runq_len.load(Acquire) > 0 || (stack::under_pressure() && has_cached_stacks(p)) {
            return Spin::LookAgain;
        }
        let now = Instant::now();
        if rt.shutdown.load(Relaxed) || now >= until || now - last > SPIN_PREEMPTED {
            return Spin::Nothing;
        }
        last = now;
        looks += 1;
        if looks.is_multiple_of(SPIN_YIELD_EVERY) {
            std::thread::yield_now();
        } else {
            for _ in 0..64 {
                std::hint::spin_loop();
            }
        }
    }
}

/// Tries to steal from the other Ps (Go's `stealWork`).
///
/// **Which queues are worth stealing from.** Go steals from any non-empty
/// queue at once. Moving a goroutine to another CPU pays off when it has
/// work of its own to do; goroutines that mostly talk to each other through
/// channels — a worker pool passing small items, a pipeline of cheap stages
/// — run a few hundred nanoseconds between switches, and spread over two
/// CPUs every channel operation moves cache lines between them: the
/// `worker_pool` benchmark took 50–140 ms on two Ps, depending on where the
/// VM's CPUs sat, against 32 ms when everything stayed on one. So a queue
/// of [`STEAL_EAGER`] goroutines or more is stolen from at once (a spawn
/// burst, a fan-out), and a shorter one only on the last pass, and only if
/// its P *runs long*: fewer than [`QUICK_SWITCHES`] switches in
/// [`STEAL_WINDOW`], i.e. its goroutines keep the CPU for more than about
/// 1.25 µs at a time (`watch_short_queues`). A P cycling faster than that gets
/// through its short queue on its own sooner than a thief could help.
/// (Watched for 3 µs and 4 switches, worker_pool's goroutines still looked
/// busy often enough to be stolen 50–2,400 times a run, in the VM's slow
/// mode; over 10 µs, 7–21 times. Pipeline stages doing 1 µs of work per
/// item still spread over both Ps.)
fn steal_work(m: &M, p: &P) -> Option<GRef> {
    let rt = m.rt;
    let n = rt.procs();
    if n == 1 {
        return None;
    }
    for pass in 0..STEAL_PASSES {
        let last_pass = pass == STEAL_PASSES - 1;
        // On the last pass, every victim with a short queue is watched
        // over one window, not one after the other.
        let watched = if last_pass {
            watch_short_queues(rt, p)
        } else {
            None
        };
        // SAFETY: we hold `p`.
        let start = next_random(unsafe { &mut p.local().rng }) as usize % n;
        for i in 0..n {
            let victim = &rt.ps[(start + i) % n];
            if victim.id == p.id {
                continue;
            }
            let queued = victim.runq.len();
            let runs_long = watched.as_ref().is_some_and(|before| {
                victim.stats.switches.get().wrapping_sub(before[victim.id]) < QUICK_SWITCHES
            });
            if queued >= STEAL_EAGER || (queued > 0 && runs_long) {
                if let Some(g) = p.runq.steal_from(&victim.runq) {
                    p.stats.steals.inc();
                    // SAFETY: run queues only hold pointers made from GRefs.
                    return Some(unsafe { GRef::from_ptr(g) });
                }
            }
            if last_pass {
                if let Some(g) = steal_runnext(victim) {
                    p.stats.steals.inc();
                    return Some(g);
                }
            }
        }
    }
    None
}

/// Whether `victim` has kept running the same goroutine for
/// [`RUNNEXT_GRACE`] (no switch meanwhile), for a thief looking at its
/// `runnext` (see `steal_runnext`): a P whose goroutine keeps the CPU that
/// long will not get to it soon, and there is no preemption.
fn victim_is_stuck(victim: &P) -> bool {
    switches_within(victim, RUNNEXT_GRACE) == 0
}

/// For `steal_work`'s last pass: if some other P has a short queue (at
/// least one goroutine, fewer than [`STEAL_EAGER`]), the switch counts of
/// all Ps, read [`STEAL_WINDOW`] ago — the caller compares them with the
/// counts now to see which victims *run long*. `None` (and no wait) if
/// there is no short queue to judge. One window for all victims, so that a
/// thief's look does not grow with the number of Ps.
fn watch_short_queues(rt: &Shared, p: &P) -> Option<SmallVec<[u64; 16]>> {
    let short = |v: &P| v.id != p.id && (1..STEAL_EAGER).contains(&v.runq.len());
    if !rt.ps.iter().any(short) {
        return None;
    }
    let before = rt.ps.iter().map(|v| v.stats.switches.get()).collect();
    spin_wait(STEAL_WINDOW);
    Some(before)
}

/// How many switches `victim` makes in `window` (the caller waits that
/// long). The victim's switch counter is read twice, before and after the
/// wait, not polled: it lives on a line the victim writes on every switch
/// (the same holds for `watch_short_queues`).
fn switches_within(victim: &P, window: Duration) -> u64 {
    let switches = victim.stats.switches.get();
    spin_wait(window);
    victim.stats.switches.get().wrapping_sub(switches)
}

/// Spins for `window`, reading the clock only now and then.
fn spin_wait(window: Duration) {
    let until = Instant::now() + window;
    while Instant::now() < until {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
    }
}

/// Takes `victim`'s `runnext`, but only once its P has kept running the
/// same goroutine for [`RUNNEXT_GRACE`]: a G readied into `runnext`
/// usually runs on its P within nanoseconds (its readier is about to
/// block), and stealing it would move a ping-ponging pair across cores for
/// nothing (Go sleeps 3 µs here for the same reason). The wait does not
/// poll `runnext`: a pair ping-ponging on the victim swaps it on every
/// switch, and a thief reading it in a loop made each of those swaps a
/// cache miss (a fifth of ping-pong's speed with two Ps).
fn steal_runnext(victim: &P) -> Option<GRef> {
    let next = victim.runnext.load(Acquire);
    if next.is_null() || !victim_is_stuck(victim) {
        return None;
    }
    victim
        .runnext
        .compare_exchange(next, std::ptr::null_mut(), AcqRel, Relaxed)
        .ok()
        // SAFETY: run queues only hold pointers made from GRefs.
        .map(|g| unsafe { GRef::from_ptr(g) })
}

fn next_random(state: &mut u64) -> u64 {
    // xorshift64*: plenty for picking victims.
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Runs `g` on this M until it yields, parks or finishes (Go's `execute` +
/// the `mcall` continuations `gosched_m`, `park_m`, `goexit0`).
///
/// Returns a goroutine to run next without searching: only for a locked M
/// whose goroutine came back to it.
fn execute(m: &M, g: GRef, mut inherit: bool) -> Option<(GRef, bool)> {
    if let Some(owner) = locked_elsewhere(m, g) {
        hand_off_to_locked_m(m, owner, g);
        return None;
    }
    let mut g = g;
    loop {
        enter_g(m, g, inherit);
        // SAFETY: we are `m`'s thread on its own stack, and hold `g`
        // (taken from a queue, or handed over with this locked M).
        let Some((out, why)) = (unsafe { switch::resume(m, g) }) else {
            // No stack to start it on: it waits for a running goroutine to
            // exit and free one.
            m.curg.set(None);
            stack_wait::wait_for_stack(m.rt, m.p(), g);
            return None;
        };
        m.curg.set(None);
        // The goroutine that switched back: `g`, or one handed off to.
        g = out;
        match finish_switch(m, g, why) {
            // Unparked while switching out: run it again right away.
            AfterSwitch::RunAgain => inherit = true,
            AfterSwitch::Done => {
                if why != Switch::Exit && m.locked_g.get() == Some(g) {
                    // A locked goroutine lets others run, then resumes here.
                    return stop_locked_m(m);
                }
                return next_local(m);
            }
        }
    }
}

/// The M's bookkeeping as it switches to `g` (Go's `execute`): the P's
/// tick, the counters, `g`'s status and the M's current goroutine.
/// `inherit`: `g` came from `runnext` and runs in the current time slice.
#[inline(always)]
pub(crate) fn enter_g(m: &M, g: GRef, inherit: bool) {
    let p = m.p();
    {
        // SAFETY: we hold `p`.
        let local = unsafe { p.local() };
        if inherit {
            local.inherited += 1;
        } else {
            local.schedtick = local.schedtick.wrapping_add(1);
            local.inherited = 0;
        }
    }
    p.stats.switches.inc();
    g.set_status(Status::Running);
    m.curg.set(Some(g));
    hooks::emit(|| Event::Start {
        g,
        m: m.id,
        p: p.id,
    });
}

/// What the M does after [`finish_switch`].
enum AfterSwitch {
    /// The goroutine is settled (queued, parked or freed): run another.
    Done,
    /// It was unparked while it switched out: run it again now.
    RunAgain,
}

/// The M's half of a goroutine's switch-out (Go's `goexit0`, `gosched_m`
/// and `park_m`): free a finished G, requeue a yielded one, commit a park.
#[inline(always)]
fn finish_switch(m: &M, g: GRef, why: Switch) -> AfterSwitch {
    match why {
        Switch::Exit => {
            destroy_g(m, g);
            AfterSwitch::Done
        }
        Switch::Yield => {
            g.set_status(Status::Runnable);
            hooks::emit(|| Event::Yield { g });
            runq_put(m.rt, m.p(), g, false);
            AfterSwitch::Done
        }
        Switch::Park | Switch::ParkWithTimer(_) => {
            if let Switch::ParkWithTimer(sleep) = why {
                timers::push_sleep(m.rt, m.p(), g, sleep);
            }
            m.p().stats.parks.inc();
            if park::commit_park(g) {
                AfterSwitch::Done
            } else {
                AfterSwitch::RunAgain
            }
        }
    }
}

/// The next G from this P's own queue, when nothing else needs a look
/// first (the every-61st-tick global queue check, due timers, stack
/// pressure): the short path from one goroutine to the next, skipping
/// `find_runnable`. `None` sends the M through `find_runnable`.
///
/// Pending timers send every [`TIMER_CHECK_EVERY`]th switch through
/// `find_runnable`, not every one: looking means reading the clock, a
/// noticeable share of a switch, and a timer then fires at most a few
/// goroutine switches late (when the queue runs dry the M looks at once).
fn next_local(m: &M) -> Option<(GRef, bool)> {
    let p = m.p();
    if must_look_around(p) {
        return None;
    }
    runq_get(m.rt, p)
}

/// Whether the next switch on `p` (held by the caller) must go through
/// `find_runnable`: on every 61st tick the global queue gets its turn (the
/// same test `find_runnable` makes before its global-queue look), pending
/// timers are looked at every few switches, and stack pressure is shared.
#[inline(always)]
pub(crate) fn must_look_around(p: &P) -> bool {
    // SAFETY: the caller holds `p`.
    let tick = unsafe { p.local().schedtick };
    tick % GLOBAL_QUEUE_TICK == 0
        || (p.timers.next_deadline() != timers::NEVER
            && p.stats.switches.get().is_multiple_of(TIMER_CHECK_EVERY))
        || stack::under_pressure()
}

/// What every goroutine runs, above its entry frame (`switch.rs`).
pub(crate) fn goroutine_main(g: GRef) {
    // Runs the closure, catching a panic, and stores the result.
    g.task.run();
    // Goroutine-local values are dropped here, on the goroutine (their
    // destructors may block), and before the result is published. A
    // destructor's panic is reported by the panic hook and goes no further:
    // unwinding out of here would take the M down with it.
    // SAFETY: as above.
    let locals = std::mem::take(unsafe { &mut g.owned_mut().locals });
    for local in locals {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(local)));
    }
    if current::m().and_then(|m| m.locked_g.get()) == Some(g) {
        super::unlock_os_thread();
    }
    g.task.publish();
}

/// Frees a finished goroutine: its stack back to the pool, its G to the
/// free list (Go's `goexit0` + `gfput`).
fn destroy_g(m: &M, g: GRef) {
    let rt = m.rt;
    let p = m.p();
    // SAFETY: the goroutine has finished; the M is its sole holder.
    let context = unsafe { g.context_mut() }
        .take()
        .expect("finished G has a context");
    let stack = context.into_stack();
    g.stack_hint.store(0, Relaxed);
    g.guard_lo.store(0, Relaxed);
    g.guard_hi.store(0, Relaxed);
    hooks::emit(|| Event::Exit { g });
    g.set_status(Status::Dead);
    {
        // SAFETY: as above; and we hold `p`.
        let (owned, local) = unsafe { (g.owned_mut(), p.local()) };
        rt.stacks.put(&mut local.stacks, stack, owned.deepest_sp);
    }
    p.stats.stacks_returned.inc();
    p.stats.exited.inc();
    // The goroutine lets go of its G; the join handle may still hold it.
    task::release(g);
    if rt.n_stack_waiters.load(Acquire) > 0 || stack::under_pressure() {
        stack_wait::on_stack_freed(rt, p);
    }
}

/// Makes a parked `g` runnable (Go's `ready`): into the current P's
/// `runnext` when called on one of its runtime's Ms — the woken G runs next,
/// on a warm cache — else onto the global queue.
#[inline]
pub(crate) fn ready(g: GRef) {
    make_runnable(g, true);
}

/// Makes a woken goroutine runnable at the tail of the current P's queue
/// (else the global queue), without waking another M: for batches of
/// wake-ups, whose caller calls `wakep` once.
pub(crate) fn ready_tail(g: GRef) {
    make_runnable(g, false);
}

/// `ready` (`single`) or `ready_tail`: on this thread's P if it holds one
/// of `g`'s runtime, else on the global queue (which wakes an M itself).
#[inline]
fn make_runnable(g: GRef, single: bool) {
    g.set_status(Status::Runnable);
    let rt = g.runtime();
    if let Some(m) = current::m() {
        if std::ptr::eq(m.rt, rt) {
            if let Some(p) = m.try_p() {
                // SAFETY: we hold `p`.
                let next = single && unsafe { p.local().inherited } < INHERIT_LIMIT;
                runq_put(rt, p, g, next);
                if single {
                    rt.wakep();
                }
                return;
            }
        }
    }
    rt.global_put(g);
}

/// Queues a newly spawned goroutine (Go's `newproc` tail): into `runnext`
/// of the spawner's P, else the global queue.
pub(crate) fn spawn_g(rt: &'static Shared, g: GRef) {
    hooks::emit(|| Event::Create {
        g,
        parent: current::g(),
    });
    if let Some(m) = current::m() {
        if std::ptr::eq(m.rt, rt) {
            if let Some(p) = m.try_p() {
                p.stats.spawned.inc();
                runq_put(rt, p, g, true);
                rt.wakep();
                return;
            }
        }
    }
    rt.offp_stats.spawned.inc_shared();
    rt.global_put(g);
}

/// The free-G list of the current P, if this thread holds one of `rt`'s Ps.
pub(crate) fn with_local_gfree<R>(
    rt: &'static Shared,
    f: impl FnOnce(Option<&mut Vec<GRef>>) -> R,
) -> R {
    match current::m() {
        Some(m) if std::ptr::eq(m.rt, rt) && m.try_p().is_some() => {
            // SAFETY: we hold the P.
            f(Some(unsafe { &mut m.p().local().gfree }))
        }
        _ => f(None),
    }
}

/// `yield_now` from a goroutine: back to the tail of the queue.
pub(crate) fn gosched(g: GRef) {
    let m = current::m().expect("a goroutine runs on an M");
    // SAFETY: `g` is the running goroutine (the caller's), `m` its M.
    unsafe { switch::switch_out(m, g, Switch::Yield) };
}

// --- lock_os_thread: Go's lockOSThread / startlockedm / stoplockedm ---

/// If `g` is locked to another M, that M.
fn locked_elsewhere(m: &M, g: GRef) -> Option<Arc<MNote>> {
    // SAFETY: the G is queued-not-running, and we just took it: sole holder.
    let owned = unsafe { g.owned_mut() };
    if !owned.locked {
        return None;
    }
    if m.locked_g.get() == Some(g) {
        return None;
    }
    owned.locked_m.clone()
}

/// We picked a goroutine locked to another M: give that M our P and the
/// goroutine, and sleep (Go's `startlockedm`).
fn hand_off_to_locked_m(m: &M, owner: Arc<MNote>, g: GRef) {
    let p = m.releasep();
    owner.wake(Wake::Run {
        p: p.id,
        spinning: false,
        g: Some(g),
    });
    // We hold no P now: find_runnable will put us to sleep.
}

/// Our locked goroutine parked or yielded: this M may run nothing else, so
/// hand the P to someone else and sleep until the goroutine comes back
/// (Go's `stoplockedm`).
fn stop_locked_m(m: &M) -> Option<(GRef, bool)> {
    let p = m.releasep();
    hand_off_p(m.rt, p);
    match m.note.wait_for_handoff() {
        Wake::Run { p, g, .. } => {
            m.acquirep(p);
            let g = g.expect("a locked M is only woken with its goroutine");
            Some((g, false))
        }
        Wake::Exit => None,
        Wake::Timers => unreachable!("wait_for_handoff skips timer pokes"),
    }
}

/// Gives away a P whose M is about to block (Go's `handoffp`): to a new M if
/// there is work for it, else to the idle list.
fn hand_off_p(rt: &'static Shared, p: &'static P) {
    if !p.has_no_work() || rt.runq_len.load(Acquire) > 0 {
        rt.startm(Some(p.id), false);
        return;
    }
    if rt.nmspinning.load(SeqCst) + rt.npidle.load(SeqCst) == 0
        && rt.nmspinning.compare_exchange(0, 1, SeqCst, SeqCst).is_ok()
    {
        rt.startm(Some(p.id), true);
        return;
    }
    let mut sched = rt.lock();
    rt.pidle_put(&mut sched, p.id);
    // Work may have been queued globally just before we idled the P.
    let work = rt.runq_len.load(Acquire) > 0;
    drop(sched);
    if work {
        rt.wakep();
    }
}

/// Prints a fatal runtime error and aborts, as Go's `throw` does.
pub(crate) fn fatal(msg: &str) -> ! {
    eprintln!("fatal error: {msg}");
    std::process::abort();
}
