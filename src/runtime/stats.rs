//! Scheduler counters, kept per P so that counting never shares a cache line
//! between Ps; `goro::stats()` sums them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A counter written by one thread at a time (a P's owner) and read by any.
/// Increments are a plain load + store, not a read-modify-write.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub(crate) fn inc(&self) {
        self.0.store(self.0.load(Relaxed) + 1, Relaxed);
    }

    /// An increment that may race with another writer (for counters of
    /// events off any P); exact.
    pub(crate) fn inc_shared(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

#[derive(Default)]
pub(crate) struct PStats {
    pub spawned: Counter,
    pub exited: Counter,
    /// Stacks taken by goroutines starting, and given back at exit (a G
    /// may start on one P and exit on another: only the sums mean much).
    pub stacks_taken: Counter,
    pub stacks_returned: Counter,
    pub switches: Counter,
    pub steals: Counter,
    pub parks: Counter,
    /// Switches made by a parking goroutine straight to its P's `runnext`
    /// (`handoff.rs`), not by its M.
    pub handoffs: Counter,
}

/// A snapshot of the runtime's counters (`goro::stats()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Goroutines spawned since the runtime started.
    pub spawned: u64,
    /// Goroutines alive now (spawned and not finished).
    pub running: u64,
    /// Times a goroutine was switched to (by an M, or by a hand-off).
    pub context_switches: u64,
    /// Successful steals from another P's queue.
    pub steals: u64,
    /// Times a goroutine parked.
    pub parks: u64,
    /// Of the context switches, those made directly from a parking
    /// goroutine to the one next in its P's `runnext` — usually one it had
    /// just readied, or spawned — without going through the scheduler's
    /// loop (a channel hand-off, typically).
    pub handoffs: u64,
    /// OS threads (Ms) created.
    pub ms: u64,
    /// Processors (Ps): the parallelism, `GORO_MAXPROCS`.
    pub ps: u64,
    /// Entries in the timer heaps: armed timers and sleeps, plus stopped
    /// ones not yet cleaned out (a heap drops them lazily, and all at once
    /// when they are a quarter of it).
    pub timers: u64,
}
