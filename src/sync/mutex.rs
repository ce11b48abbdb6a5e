//! `Mutex<T>`: Go's `sync.Mutex`, with its two modes, and a guard.
//!
//! **Normal mode.** Unlocking wakes the first waiter, which then *competes*
//! with goroutines arriving right now (they may spin briefly and take the
//! lock first). Letting a running goroutine barge in keeps throughput high:
//! it is already on a CPU, the woken one is not.
//!
//! **Starvation mode.** A waiter that has waited more than 1 ms switches
//! the mutex to starvation mode: unlocking then hands the lock *directly*
//! to the first waiter (FIFO), and arrivals queue at the tail without
//! trying. The mode ends when the queue drains. This bounds tail latency.
//!
//! State bits in one atomic word: `LOCKED`, `STARVING`, and `QUEUED`
//! (the queue is non-empty; changed only while holding the queue lock).
//! No poisoning: a panic while locked unlocks, as in parking_lot.

use super::waiter::{Node, NodeRef};
use crate::runtime::g::WaitReason;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering::*};
use std::time::{Duration, Instant};

const LOCKED: u32 = 1;
const STARVING: u32 = 2;
const QUEUED: u32 = 4;

/// Woken in normal mode: compete for the lock.
const WOKEN: u8 = 1;
/// Handed the lock (starvation mode): it is ours.
const HANDED_OFF: u8 = 2;

/// A waiter that waited longer than this switches to starvation mode.
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);
/// Spin iterations before queueing (Go: 4 × 30 PAUSE).
const SPIN_ROUNDS: u32 = 4;

/// A mutual exclusion lock whose contended waiters park the goroutine.
///
/// ```
/// use std::sync::Arc;
/// let counter = Arc::new(goro::sync::Mutex::new(0u64));
/// let wg = goro::sync::WaitGroup::new();
/// for _ in 0..8 {
///     wg.add(1);
///     let (counter, wg) = (counter.clone(), wg.clone());
///     goro::go(move || {
///         for _ in 0..1000 {
///             *counter.lock() += 1;
///         }
///         wg.done();
///     });
/// }
/// wg.wait();
/// assert_eq!(*counter.lock(), 8000);
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU32,
    queue: parking_lot::Mutex<VecDeque<NodeRef>>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serialises access to `data`; T moves between threads
// with the guard, hence T: Send.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Access to the data of a locked [`Mutex`]; unlocks when dropped.
///
/// Unlike std's, it may be held across a park and dropped on another
/// thread: the lock belongs to the goroutine, not the OS thread.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: the guard gives &mut T: sending it needs T: Send, sharing it
// needs T: Sync. Unlocking from another thread is fine for this mutex.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: AtomicU32::new(0),
            queue: parking_lot::const_mutex(VecDeque::new()),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, parking the goroutine (or thread) while another holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange_weak(0, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
        MutexGuard { mutex: self }
    }

    /// Locks only if nobody holds the lock (and it is not reserved for a
    /// starving waiter).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let s = self.state.load(Relaxed);
        if s & (LOCKED | STARVING) != 0 {
            return None;
        }
        self.state
            .compare_exchange(s, s | LOCKED, Acquire, Relaxed)
            .ok()
            .map(|_| MutexGuard { mutex: self })
    }

    /// Mutable access without locking (the borrow proves exclusivity).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Takes the lock if it is free and not reserved for a starving waiter.
    fn try_acquire(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & (LOCKED | STARVING) == 0 {
            match self
                .state
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
        false
    }

    #[cold]
    fn lock_slow(&self) {
        let mut spins = 0;
        while spins < SPIN_ROUNDS && can_spin() {
            for _ in 0..30 {
                std::hint::spin_loop();
            }
            if self.try_acquire() {
                return;
            }
            spins += 1;
        }
        let mut started: Option<Instant> = None;
        let mut requeue = false;
        loop {
            let node = Node::new();
            {
                let mut queue = self.queue.lock();
                let starving = started.is_some_and(|t| t.elapsed() > STARVATION_THRESHOLD);
                // Under the queue lock: either take a free lock or mark the
                // queue non-empty (and maybe starving) in one CAS, so an
                // unlocker cannot miss us.
                let mut s = self.state.load(Relaxed);
                loop {
                    if s & (LOCKED | STARVING) == 0 {
                        match self
                            .state
                            .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
                        {
                            Ok(_) => return,
                            Err(actual) => {
                                s = actual;
                                continue;
                            }
                        }
                    }
                    let new = s | QUEUED | if starving { STARVING } else { 0 };
                    match self.state.compare_exchange_weak(s, new, Relaxed, Relaxed) {
                        Ok(_) => break,
                        Err(actual) => s = actual,
                    }
                }
                // A woken waiter that lost the race goes back to the front
                // (Go: LIFO for requeued waiters), so it is not overtaken
                // by the whole queue.
                if requeue {
                    queue.push_front(node.as_ref());
                } else {
                    queue.push_back(node.as_ref());
                }
            }
            started.get_or_insert_with(Instant::now);
            match node.wait(WaitReason::Mutex) {
                HANDED_OFF => return,
                _ => {
                    if self.try_acquire() {
                        return;
                    }
                    requeue = true;
                }
            }
        }
    }

    /// Releases the lock (the guard's drop).
    fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Release, Relaxed)
            .is_ok()
        {
            return;
        }
        self.unlock_slow();
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut queue = self.queue.lock();
        let s = self.state.load(Relaxed);
        if s & STARVING != 0 {
            // Hand the lock to the first waiter: LOCKED stays set.
            let node = queue.pop_front().expect("starving mutex has waiters");
            if queue.is_empty() {
                self.state.fetch_and(!(QUEUED | STARVING), Relaxed);
            }
            // SAFETY: under the queue lock, just dequeued.
            let u = unsafe { node.signal(HANDED_OFF) };
            drop(queue);
            u.unpark();
            return;
        }
        let node = queue.pop_front();
        let clear = if queue.is_empty() {
            LOCKED | QUEUED
        } else {
            LOCKED
        };
        self.state.fetch_and(!clear, Release);
        // SAFETY: under the queue lock, just dequeued.
        let wake = node.map(|n| unsafe { n.signal(WOKEN) });
        drop(queue);
        if let Some(u) = wake {
            u.unpark();
        }
    }

    /// True if locked right now (a snapshot, for diagnostics).
    pub fn is_locked(&self) -> bool {
        self.state.load(Relaxed) & LOCKED != 0
    }
}

/// Spinning only helps when another P is running the lock holder.
fn can_spin() -> bool {
    match crate::runtime::current::m() {
        Some(m) => {
            let rt = m.rt;
            rt.procs() > 1 && rt.npidle.load(Relaxed) + 1 < rt.procs()
        }
        None => std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, exclusively.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for `Condvar`).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.debug_struct("Mutex").field("data", &"<locked>").finish(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
