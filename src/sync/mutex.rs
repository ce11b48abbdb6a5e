//! `Mutex<T>`: Go's `sync.Mutex` algorithm, with a guard.
//!
//! **Normal mode.** Waiters queue FIFO on a semaphore, but a woken waiter
//! does not own the lock: it *competes* with goroutines arriving right now,
//! which usually win (they are already on a CPU). Arrivals spin briefly
//! first when another P is running the holder. A spinning or woken waiter
//! sets `WOKEN`, which tells `unlock` not to wake anyone else meanwhile.
//!
//! **Starvation mode.** A waiter that has waited more than 1 ms sets
//! `STARVING`: `unlock` then hands the lock *directly* to the first waiter,
//! and arrivals queue at the tail without trying. The waiter that receives
//! the lock ends starvation mode if it is the last waiter or waited less
//! than 1 ms. This bounds tail latency without giving up throughput.
//!
//! State in one atomic word, as Go's: `LOCKED`, `WOKEN`, `STARVING`, and the
//! waiter count above them. No poisoning: a panic while locked unlocks, as
//! in parking_lot.

use super::sema::Sema;
use crate::runtime::g::WaitReason;
use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering::*};
use std::time::{Duration, Instant};

const LOCKED: u32 = 1;
const WOKEN: u32 = 2;
const STARVING: u32 = 4;
const WAITER_SHIFT: u32 = 3;
const ONE_WAITER: u32 = 1 << WAITER_SHIFT;

/// A waiter that waited longer than this switches to starvation mode.
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);
/// Spin rounds before queueing (Go: 4 × 30 PAUSE).
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
    sema: Sema,
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
            sema: Sema::new(),
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
        let mut s = self.state.load(Relaxed);
        loop {
            if s & (LOCKED | STARVING) != 0 {
                return None;
            }
            match self
                .state
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return Some(MutexGuard { mutex: self }),
                Err(actual) => s = actual,
            }
        }
    }

    /// Mutable access without locking (the borrow proves exclusivity).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[cold]
    fn lock_slow(&self) {
        let mut wait_start: Option<Instant> = None;
        let mut starving = false;
        let mut awoke = false;
        let mut spins = 0;
        let mut old = self.state.load(Relaxed);
        loop {
            // Spin while the holder runs elsewhere (never in starvation
            // mode: the lock is promised to the first waiter then).
            if old & (LOCKED | STARVING) == LOCKED && spins < SPIN_ROUNDS && can_spin(spins) {
                // Tell unlock not to wake another waiter while we spin.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange_weak(old, old | WOKEN, Relaxed, Relaxed)
                        .is_ok()
                {
                    awoke = true;
                }
                for _ in 0..30 {
                    std::hint::spin_loop();
                }
                spins += 1;
                old = self.state.load(Relaxed);
                continue;
            }
            let mut new = old;
            if old & STARVING == 0 {
                new |= LOCKED; // Arrivals may not take a starving mutex.
            }
            if old & (LOCKED | STARVING) != 0 {
                new += ONE_WAITER;
            }
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                new &= !WOKEN;
            }
            match self.state.compare_exchange_weak(old, new, Acquire, Relaxed) {
                Err(actual) => old = actual,
                Ok(_) => {
                    if old & (LOCKED | STARVING) == 0 {
                        return; // Taken by the CAS.
                    }
                    // Queued: wait for unlock to wake us. A waiter that
                    // already waited goes back to the front.
                    let lifo = wait_start.is_some();
                    let started = *wait_start.get_or_insert_with(Instant::now);
                    self.sema.acquire(lifo, WaitReason::Mutex);
                    starving = starving || started.elapsed() > STARVATION_THRESHOLD;
                    old = self.state.load(Relaxed);
                    if old & STARVING != 0 {
                        // Handed off: we own it. Take it, leave the queue,
                        // and end starvation mode if we are the last waiter
                        // or did not really starve.
                        let mut delta = LOCKED.wrapping_sub(ONE_WAITER);
                        if !starving || old >> WAITER_SHIFT == 1 {
                            delta = delta.wrapping_sub(STARVING);
                        }
                        self.state.fetch_add(delta, Acquire);
                        return;
                    }
                    awoke = true;
                    spins = 0;
                }
            }
        }
    }

    /// Releases the lock (the guard's drop).
    #[inline]
    fn unlock(&self) {
        let new = self.state.fetch_sub(LOCKED, Release) - LOCKED;
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    #[cold]
    fn unlock_slow(&self, new: u32) {
        if new & STARVING != 0 {
            // Hand the lock to the first waiter (it sees STARVING and
            // takes ownership; arrivals stay out meanwhile).
            self.sema.release();
            return;
        }
        let mut old = new;
        loop {
            // Nobody to wake, or someone is already awake, or the lock was
            // taken again: waking another would be wasted.
            if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                return;
            }
            let new = (old - ONE_WAITER) | WOKEN;
            match self.state.compare_exchange_weak(old, new, Release, Relaxed) {
                Ok(_) => {
                    self.sema.release();
                    return;
                }
                Err(actual) => old = actual,
            }
        }
    }

    /// True if locked right now (a snapshot, for diagnostics).
    pub fn is_locked(&self) -> bool {
        self.state.load(Relaxed) & LOCKED != 0
    }
}

/// Spinning only helps when another P is running the lock holder (Go's
/// `sync_runtime_canSpin`, which also wants this P's queue empty; we allow
/// one round regardless: a holder on another CPU usually lets go within
/// it, and that is cheaper than a park even when other goroutines wait).
fn can_spin(round: u32) -> bool {
    crate::runtime::spin::worth_spinning(round != 0)
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
