//! Timers: a deadline-ordered heap per runtime, run by the scheduler.
//!
//! There is no timer thread and no thread per timer. A timer is an entry in
//! its runtime's heap; Ms run the expired ones from `find_runnable` (Go's
//! `checkTimers`), and when every M is idle, exactly one of them — the
//! *timer watcher* — sleeps until the earliest deadline instead of
//! indefinitely (Go's netpoller wait with a timeout). Adding a timer earlier
//! than the watcher's wake-up time wakes the watcher so it can sleep less.
//!
//! Firing a timer runs its action on the M, outside any goroutine: unpark a
//! sleeping goroutine, or `try_send` on a channel (`after`, `Ticker`). Both
//! are non-blocking.
//!
//! Cancellation is lazy, as in Go: `stop` marks the timer and the heap drops
//! the entry when it reaches the top.

use super::park::{MNote, Unparker, Wake};
use super::sched::Shared;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Nanoseconds since the process's timer epoch.
pub(crate) type Nanos = u64;
/// "No timer".
pub(crate) const NEVER: Nanos = u64::MAX;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The current time as timer nanoseconds.
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

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Wake a goroutine or thread (sleep, timeouts).
    Unpark(Unparker),
    /// Run a non-blocking callback (channel timers); it may re-arm itself.
    Call(Box<dyn Fn(Nanos) -> Option<Nanos> + Send + Sync>),
}

/// One timer. Shared by its owner (to stop it) and the heap.
pub(crate) struct Timer {
    state: AtomicU8,
    action: Action,
}

impl Timer {
    pub(crate) fn new(action: Action) -> Arc<Timer> {
        Arc::new(Timer {
            state: AtomicU8::new(PENDING),
            action,
        })
    }

    /// True once the timer has fired.
    pub(crate) fn fired(&self) -> bool {
        self.state.load(Acquire) == FIRED
    }

    /// Stops the timer for good — also a ticker caught in the middle of a
    /// delivery (it will not re-arm). True if it was pending.
    pub(crate) fn stop(&self) -> bool {
        self.state.swap(CANCELLED, AcqRel) == PENDING
    }
}

struct Entry {
    when: Nanos,
    seq: u64,
    timer: Arc<Timer>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap and we want the earliest first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

/// A runtime's timers.
pub(crate) struct Timers {
    heap: Mutex<Heap>,
    /// Earliest deadline in the heap, readable without the lock.
    next: AtomicU64,
    /// The idle M sleeping until a deadline, and when it will wake.
    watcher: Mutex<Option<(Arc<MNote>, Nanos)>>,
}

struct Heap {
    entries: BinaryHeap<Entry>,
    seq: u64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            heap: Mutex::new(Heap {
                entries: BinaryHeap::new(),
                seq: 0,
            }),
            next: AtomicU64::new(NEVER),
            watcher: Mutex::new(None),
        }
    }

    /// Earliest pending deadline (or `NEVER`).
    pub(crate) fn next_deadline(&self) -> Nanos {
        self.next.load(Acquire)
    }

    /// Arms `timer` to fire at `when`.
    pub(crate) fn add(&self, rt: &'static Shared, timer: Arc<Timer>, when: Nanos) {
        let earliest = {
            let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
            heap.seq += 1;
            let seq = heap.seq;
            heap.entries.push(Entry { when, seq, timer });
            let earliest = heap.entries.peek().map_or(NEVER, |e| e.when);
            self.next.store(earliest, Release);
            earliest
        };
        if earliest == when {
            self.poke_watcher(rt, when);
        }
    }

    /// A new earliest deadline: make sure an idle M will wake for it.
    fn poke_watcher(&self, rt: &'static Shared, when: Nanos) {
        let watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        match &*watcher {
            Some((note, wake_at)) if when < *wake_at => note.wake(Wake::Timers),
            Some(_) => {}
            None => {
                drop(watcher);
                // No M is watching: if every M is busy they will see the
                // timer at their next schedule; otherwise wake an idle one
                // to watch.
                rt.wake_idle_m_for_timers();
            }
        }
    }

    /// Runs every expired timer. Returns true if any fired.
    pub(crate) fn run_expired(&self, rt: &'static Shared) -> bool {
        let now = now();
        if self.next.load(Acquire) > now {
            return false;
        }
        let mut expired = Vec::new();
        {
            let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(top) = heap.entries.peek() {
                if top.when > now {
                    break;
                }
                expired.push(heap.entries.pop().expect("peeked"));
            }
            let earliest = heap.entries.peek().map_or(NEVER, |e| e.when);
            self.next.store(earliest, Release);
        }
        let mut fired = false;
        for entry in expired {
            if entry
                .timer
                .state
                .compare_exchange(PENDING, FIRED, AcqRel, Acquire)
                .is_err()
            {
                continue; // Stopped meanwhile.
            }
            fired = true;
            match &entry.timer.action {
                Action::Unpark(u) => u.unpark(),
                Action::Call(f) => {
                    if let Some(again) = f(entry.when) {
                        // A ticker: arm the same timer again — unless it was
                        // stopped while delivering.
                        if entry
                            .timer
                            .state
                            .compare_exchange(FIRED, PENDING, AcqRel, Acquire)
                            .is_ok()
                        {
                            self.add(rt, entry.timer.clone(), again);
                        }
                    }
                }
            }
        }
        fired
    }

    /// Called by an idle M before it sleeps: if there are timers and no
    /// other M watches them, this one does. Returns how long to sleep.
    pub(crate) fn become_watcher(&self, note: &Arc<MNote>) -> Option<Duration> {
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        // Read under the lock: a concurrent `add` either sees us as the
        // watcher (and pokes us) or stored its deadline before we look.
        let next = self.next.load(Acquire);
        if next == NEVER || watcher.is_some() {
            return None;
        }
        *watcher = Some((note.clone(), next));
        Some(Duration::from_nanos(next.saturating_sub(now())))
    }

    /// The watcher woke up.
    pub(crate) fn stop_watching(&self) {
        *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Parks the calling goroutine (or thread) until `deadline` or until
/// `done()` is true, whichever is first. Returns `done()`'s last value.
pub(crate) fn park_until(
    deadline: Option<Instant>,
    reason: super::g::WaitReason,
    done: impl Fn() -> bool,
) -> bool {
    let Some(deadline) = deadline else {
        while !done() {
            super::park::park(reason);
        }
        return true;
    };
    if super::current::g().is_none() {
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
    }
    let rt = super::current_or_default();
    let timer = Timer::new(Action::Unpark(Unparker::current()));
    rt.timers.add(rt, timer.clone(), to_nanos(deadline));
    let result = loop {
        if done() {
            break true;
        }
        if timer.fired() {
            break done();
        }
        super::park::park(reason);
    };
    timer.stop();
    result
}
