//! `Barrier`: `n` goroutines wait until all have arrived.

use crate::runtime::g::WaitReason;
use crate::runtime::park::{self, Unparker};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::*};

/// Lets `n` goroutines (or threads) wait for each other; reusable.
///
/// ```
/// use std::sync::Arc;
/// let barrier = Arc::new(goro::sync::Barrier::new(3));
/// let hs: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         goro::go(move || b.wait().is_leader())
///     })
///     .collect();
/// let leaders = hs.into_iter().map(|h| h.join().unwrap()).filter(|&l| l).count();
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    n: usize,
    state: parking_lot::Mutex<(usize, Vec<Unparker>)>,
    generation: AtomicU64,
}

/// Returned by [`Barrier::wait`]; exactly one waiter per round is the
/// leader.
#[derive(Debug, Clone, Copy)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for the one goroutine that arrived last.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` parties (0 and 1 never block).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n,
            state: parking_lot::Mutex::new((0, Vec::new())),
            generation: AtomicU64::new(0),
        }
    }

    /// Waits until `n` parties have called `wait`.
    pub fn wait(&self) -> BarrierWaitResult {
        let gen;
        {
            let mut s = self.state.lock();
            gen = self.generation.load(Relaxed);
            s.0 += 1;
            if s.0 >= self.n {
                s.0 = 0;
                self.generation.store(gen + 1, Release);
                let waiters = std::mem::take(&mut s.1);
                drop(s);
                for w in waiters {
                    w.unpark();
                }
                return BarrierWaitResult(true);
            }
            s.1.push(Unparker::current());
        }
        while self.generation.load(Acquire) == gen {
            park::park(WaitReason::Other);
        }
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}
