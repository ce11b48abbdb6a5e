//! The channel lock: a spin lock whose unlock is a plain store.
//!
//! A channel's critical sections are a few dozen instructions — move a
//! value, link or unlink a waiter — and nobody ever blocks holding one (a
//! goroutine parks only after unlocking). So contention is brief, and a
//! waiter spins rather than sleeps, as Go's runtime lock mostly does. What
//! this buys over a sleeping mutex is the unlock: a release store instead
//! of a compare-and-swap, which matters because every hand-off between two
//! goroutines takes and releases channel locks several times.
//!
//! A waiter that has spun for a while without getting the lock assumes its
//! holder lost its CPU (the OS preempted it) and yields its thread between
//! looks, so it does not burn the CPU the holder needs to finish.

use crate::loom::{self, AtomicBool, Ordering::*};

/// Rounds of exponential backoff (2^r spins in round r) before a waiter
/// starts yielding its thread.
const SPIN_ROUNDS: u32 = 7;

pub(crate) struct ChanLock {
    locked: AtomicBool,
}

impl ChanLock {
    pub(crate) fn new() -> ChanLock {
        ChanLock {
            locked: AtomicBool::new(false),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) {
        if self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut round = 0;
        loop {
            // Wait until it looks free (reading shares the line; only the
            // final attempt takes it exclusively).
            while self.locked.load(Relaxed) {
                if round < SPIN_ROUNDS {
                    for _ in 0..1u32 << round {
                        loom::spin_loop();
                    }
                    round += 1;
                } else {
                    loom::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller holds the lock (took it with [`lock`](Self::lock) and has
    /// not released it since).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        debug_assert!(self.locked.load(Relaxed), "unlocking a free channel lock");
        self.locked.store(false, Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::ChanLock;
    use std::cell::UnsafeCell;
    use std::sync::Arc;

    struct Counter {
        lock: ChanLock,
        value: UnsafeCell<u64>,
    }
    // SAFETY: `value` is only touched with `lock` held.
    unsafe impl Sync for Counter {}

    /// Threads (more than there are CPUs, so holders get preempted) add
    /// under the lock; no increment may be lost.
    #[test]
    fn excludes_under_contention() {
        const THREADS: u64 = 8;
        const ADDS: u64 = 20_000;
        let c = Arc::new(Counter {
            lock: ChanLock::new(),
            value: UnsafeCell::new(0),
        });
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..ADDS {
                        c.lock.lock();
                        // SAFETY: we hold the lock.
                        unsafe { *c.value.get() += 1 };
                        // SAFETY: locked just above, by us.
                        unsafe { c.lock.unlock() };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        c.lock.lock();
        // SAFETY: we hold the lock.
        assert_eq!(unsafe { *c.value.get() }, THREADS * ADDS);
    }
}

/// Model check with loom: `RUSTFLAGS="--cfg loom" cargo test --release --lib loom_`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::ChanLock;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    struct Counter {
        lock: ChanLock,
        value: UnsafeCell<u32>,
    }
    // SAFETY: `value` is only touched with `lock` held.
    unsafe impl Sync for Counter {}

    /// Two threads add under the lock: loom sees no data race on the
    /// value (the unlock's release store pairs with the next lock's
    /// acquiring CAS) and no lost increment, in every interleaving.
    #[test]
    fn loom_lock_excludes_and_publishes() {
        loom::model(|| {
            let c = Arc::new(Counter {
                lock: ChanLock::new(),
                value: UnsafeCell::new(0),
            });
            let c2 = c.clone();
            let add = move |c: &Counter| {
                c.lock.lock();
                // SAFETY: we hold the lock.
                c.value.with_mut(|v| unsafe { *v += 1 });
                // SAFETY: locked just above, by us.
                unsafe { c.lock.unlock() };
            };
            let t = loom::thread::spawn(move || add(&c2));
            add(&c);
            t.join().unwrap();
            c.lock.lock();
            // SAFETY: we hold the lock.
            assert_eq!(c.value.with(|v| unsafe { *v }), 2);
            // SAFETY: locked just above, by us.
            unsafe { c.lock.unlock() };
        });
    }
}
