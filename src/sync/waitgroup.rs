//! `WaitGroup`: wait for a collection of goroutines to finish (Go's
//! `sync.WaitGroup`).

use crate::runtime::g::WaitReason;
use crate::runtime::park::{self, Unparker};
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};

/// Waits for a collection of goroutines to finish.
///
/// The counter goes up with [`add`](Self::add) and down with
/// [`done`](Self::done); [`wait`](Self::wait) blocks until it is zero.
/// Clones share the counter (it is an `Arc` inside), so a clone can be moved
/// into each goroutine.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// let wg = goro::sync::WaitGroup::new();
/// let hits = Arc::new(AtomicUsize::new(0));
/// for _ in 0..10 {
///     wg.add(1);
///     let (wg, hits) = (wg.clone(), hits.clone());
///     goro::go(move || { hits.fetch_add(1, Ordering::Relaxed); wg.done(); });
/// }
/// wg.wait();
/// assert_eq!(hits.load(Ordering::Relaxed), 10);
/// ```
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    count: AtomicIsize,
    /// Bumped (under `waiters`) each time the counter reaches zero: a
    /// waiter waits for the generation it registered in to end, so reusing
    /// the group (a new `add` right after zero) cannot strand it.
    generation: AtomicU64,
    waiters: Mutex<Vec<Unparker>>,
}

impl WaitGroup {
    /// A wait group with a zero counter.
    pub fn new() -> Self {
        WaitGroup::default()
    }

    /// Adds `n` to the counter.
    pub fn add(&self, n: usize) {
        let n = isize::try_from(n).expect("sync: WaitGroup delta too large");
        let now = self.inner.count.fetch_add(n, AcqRel) + n;
        if now < 0 {
            panic!("sync: negative WaitGroup counter");
        }
    }

    /// Subtracts one from the counter, waking the waiters when it reaches
    /// zero.
    ///
    /// # Panics
    /// If the counter goes negative (more `done` than `add`), as in Go.
    pub fn done(&self) {
        let now = self.inner.count.fetch_sub(1, AcqRel) - 1;
        if now < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if now == 0 {
            let waiters = {
                let mut waiters = self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner());
                self.inner.generation.fetch_add(1, Release);
                std::mem::take(&mut *waiters)
            };
            for w in waiters {
                w.unpark();
            }
        }
    }

    /// Blocks until the counter is zero.
    pub fn wait(&self) {
        if self.inner.count.load(Acquire) == 0 {
            return;
        }
        let generation = {
            let mut waiters = self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner());
            // Checked under the lock: `done` takes the lock after reaching
            // zero, so either we see zero here or it sees our entry.
            if self.inner.count.load(Acquire) == 0 {
                return;
            }
            waiters.push(Unparker::current());
            self.inner.generation.load(Relaxed)
        };
        while self.inner.generation.load(Acquire) == generation {
            park::park(WaitReason::WaitGroup);
        }
    }

    /// The current counter value.
    pub fn count(&self) -> usize {
        self.inner.count.load(Acquire).max(0) as usize
    }
}

impl std::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
