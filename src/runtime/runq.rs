//! The per-P local run queue: Go's `runq`, a fixed ring of 256 slots.
//!
//! Exactly one thread — the M that holds the P — pushes at the tail and pops
//! at the head. Any other M may *steal* half of the queue at the head. This is
//! the single-producer / multi-consumer ring of Go's `runqput`, `runqget` and
//! `runqgrab`, with the same two invariants:
//!
//! * `tail` is written only by the owner (release), so a stealer that reads
//!   `tail` (acquire) sees every slot below it filled;
//! * `head` only moves forward by compare-and-swap, by owner and stealers
//!   alike, so a slot is handed out to exactly one taker. A stealer reads the
//!   slots *before* its CAS; if the CAS fails the values it read are thrown
//!   away, which is why the slots are atomics (a racy read is then merely a
//!   stale value, never undefined behaviour).
//!
//! When the ring is full the owner moves half of it, plus the new item, to the
//! global queue in one batch (`push` reports the overflow; the caller holds the
//! global queue).

use crate::loom::{AtomicPtr, AtomicU32, Ordering::*};
use std::ptr;

/// Capacity of a local run queue (Go: `len(p.runq)`).
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 256;
const MASK: u32 = LOCAL_QUEUE_CAPACITY as u32 - 1;

/// A bounded lock-free queue of `*mut T`: one owner, many stealers.
pub(crate) struct RunQueue<T> {
    head: AtomicU32,
    tail: AtomicU32,
    slots: Box<[AtomicPtr<T>; LOCAL_QUEUE_CAPACITY]>,
}

/// Items that did not fit: half the ring plus the item being pushed, in FIFO
/// order, for the caller to put on the global queue.
pub(crate) type Overflow<T> = Vec<*mut T>;

impl<T> RunQueue<T> {
    pub(crate) fn new() -> Self {
        let slots = Box::new(std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())));
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots,
        }
    }

    #[inline]
    fn slot(&self, index: u32) -> &AtomicPtr<T> {
        &self.slots[(index & MASK) as usize]
    }

    /// Number of queued items (a snapshot; exact only for the owner).
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Acquire);
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(head) as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `item` at the tail. Owner only.
    ///
    /// Returns `Err(overflow)` when the ring was full: half the ring and
    /// `item` have then been removed from this queue and must go to the
    /// global queue (Go's `runqputslow`).
    #[inline]
    pub(crate) fn push(&self, item: *mut T) -> Result<(), Overflow<T>> {
        let head = self.head.load(Acquire);
        // Only the owner writes `tail`.
        let tail = self.tail.load(Relaxed);
        if tail.wrapping_sub(head) < LOCAL_QUEUE_CAPACITY as u32 {
            self.slot(tail).store(item, Relaxed);
            self.tail.store(tail.wrapping_add(1), Release);
            return Ok(());
        }
        self.push_full(item)
    }

    #[cold]
    #[inline(never)]
    fn push_full(&self, item: *mut T) -> Result<(), Overflow<T>> {
        loop {
            let head = self.head.load(Acquire);
            let tail = self.tail.load(Relaxed);
            if tail.wrapping_sub(head) < LOCAL_QUEUE_CAPACITY as u32 {
                // A stealer moved `head`: there is room now.
                self.slot(tail).store(item, Relaxed);
                self.tail.store(tail.wrapping_add(1), Release);
                return Ok(());
            }
            if let Some(batch) = self.take_half_for_overflow(head, tail, item) {
                return Err(batch);
            }
        }
    }

    fn take_half_for_overflow(&self, head: u32, tail: u32, item: *mut T) -> Option<Overflow<T>> {
        let n = tail.wrapping_sub(head) / 2;
        debug_assert_eq!(n as usize, LOCAL_QUEUE_CAPACITY / 2);
        let mut batch = Vec::with_capacity(n as usize + 1);
        for i in 0..n {
            batch.push(self.slot(head.wrapping_add(i)).load(Relaxed));
        }
        if self
            .head
            .compare_exchange(head, head.wrapping_add(n), AcqRel, Relaxed)
            .is_err()
        {
            return None;
        }
        batch.push(item);
        Some(batch)
    }

    /// The item `ahead` places behind the head, without taking it: a racy
    /// snapshot, only good for a prefetch hint. Owner only.
    #[inline]
    pub(crate) fn peek(&self, ahead: u32) -> *mut T {
        let head = self.head.load(Relaxed);
        if self.tail.load(Relaxed).wrapping_sub(head) <= ahead {
            return ptr::null_mut();
        }
        self.slot(head.wrapping_add(ahead)).load(Relaxed)
    }

    /// Takes the item at the head. Owner only.
    ///
    /// `no_stealers` promises that no other thread can steal from this
    /// queue (a runtime with a single P): the head then moves with a plain
    /// store instead of a compare-and-swap.
    pub(crate) fn pop(&self, no_stealers: bool) -> Option<*mut T> {
        if no_stealers {
            let head = self.head.load(Relaxed);
            let tail = self.tail.load(Relaxed);
            if head == tail {
                return None;
            }
            let item = self.slot(head).load(Relaxed);
            self.head.store(head.wrapping_add(1), Release);
            return Some(item);
        }
        loop {
            let head = self.head.load(Acquire);
            let tail = self.tail.load(Relaxed);
            if head == tail {
                return None;
            }
            let item = self.slot(head).load(Relaxed);
            if self
                .head
                .compare_exchange(head, head.wrapping_add(1), AcqRel, Relaxed)
                .is_ok()
            {
                return Some(item);
            }
        }
    }

    /// Steals half of `victim`'s items into `self` (which must be empty and
    /// owned by the caller), returning one of them to run at once.
    /// (Go's `runqsteal` + `runqgrab`, without the `runnext` part, which the
    /// scheduler handles.)
    pub(crate) fn steal_from(&self, victim: &RunQueue<T>) -> Option<*mut T> {
        let my_tail = self.tail.load(Relaxed);
        let n = loop {
            let head = victim.head.load(Acquire);
            let tail = victim.tail.load(Acquire);
            let available = tail.wrapping_sub(head);
            let n = available - available / 2;
            if n == 0 {
                return None;
            }
            if n > LOCAL_QUEUE_CAPACITY as u32 / 2 {
                // Inconsistent snapshot (head and tail read at different
                // times while the owner raced ahead): retry.
                continue;
            }
            for i in 0..n {
                let item = victim.slot(head.wrapping_add(i)).load(Relaxed);
                // Slots at and beyond our tail are invisible to our own
                // stealers until we publish a new tail.
                self.slot(my_tail.wrapping_add(i)).store(item, Relaxed);
            }
            if victim
                .head
                .compare_exchange(head, head.wrapping_add(n), AcqRel, Relaxed)
                .is_ok()
            {
                break n;
            }
        };
        let last = n - 1;
        let item = self.slot(my_tail.wrapping_add(last)).load(Relaxed);
        if last > 0 {
            self.tail.store(my_tail.wrapping_add(last), Release);
        }
        Some(item)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex};

    fn item(n: usize) -> *mut u8 {
        // Distinct non-null fake pointers; never dereferenced.
        (n + 1) as *mut u8
    }

    #[test]
    fn fifo_and_overflow_takes_half() {
        let q = RunQueue::<u8>::new();
        for i in 0..LOCAL_QUEUE_CAPACITY {
            q.push(item(i)).unwrap();
        }
        let overflow = q.push(item(999)).unwrap_err();
        assert_eq!(overflow.len(), LOCAL_QUEUE_CAPACITY / 2 + 1);
        assert_eq!(overflow[0], item(0));
        assert_eq!(*overflow.last().unwrap(), item(999));
        assert_eq!(q.len(), LOCAL_QUEUE_CAPACITY / 2);
        assert_eq!(q.pop(false), Some(item(LOCAL_QUEUE_CAPACITY / 2)));
    }

    /// A model check by stress: one owner pushing and popping, several
    /// stealers; every item is taken exactly once.
    #[test]
    fn stress_every_item_exactly_once() {
        for round in 0..20 {
            let queues: Arc<Vec<RunQueue<u8>>> =
                Arc::new((0..4).map(|_| RunQueue::new()).collect());
            let taken = Arc::new(Mutex::new(Vec::new()));
            let done = Arc::new(AtomicBool::new(false));
            const N: usize = 20_000;
            let stealers: Vec<_> = (1..4)
                .map(|me| {
                    let (queues, taken, done) = (queues.clone(), taken.clone(), done.clone());
                    std::thread::spawn(move || {
                        let mut mine = Vec::new();
                        loop {
                            let finished = done.load(SeqCst);
                            if let Some(it) = queues[me].steal_from(&queues[0]) {
                                mine.push(it as usize);
                                while let Some(it) = queues[me].pop(false) {
                                    mine.push(it as usize);
                                }
                            } else if finished {
                                break;
                            }
                        }
                        taken.lock().unwrap().extend(mine);
                    })
                })
                .collect();
            let mut mine = Vec::new();
            let mut overflowed = Vec::new();
            for i in 0..N {
                if let Err(batch) = queues[0].push(item(i)) {
                    overflowed.extend(batch.into_iter().map(|p| p as usize));
                }
                if (i + round) % 3 == 0 {
                    if let Some(it) = queues[0].pop(false) {
                        mine.push(it as usize);
                    }
                }
            }
            while let Some(it) = queues[0].pop(false) {
                mine.push(it as usize);
            }
            done.store(true, SeqCst);
            for s in stealers {
                s.join().unwrap();
            }
            let mut all = taken.lock().unwrap().clone();
            all.extend(mine);
            all.extend(overflowed);
            assert_eq!(all.len(), N, "round {round}: items lost or duplicated");
            let set: HashSet<_> = all.into_iter().collect();
            assert_eq!(set.len(), N, "round {round}: an item was taken twice");
        }
    }
}

/// Model checks with loom: `RUSTFLAGS="--cfg loom" cargo test --release --lib loom_`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn item(n: usize) -> *mut u8 {
        (n + 1) as *mut u8
    }

    /// The owner pushes and pops while another P steals: every item is
    /// taken exactly once, in every interleaving.
    #[test]
    fn loom_owner_and_stealer_take_each_item_once() {
        loom::model(|| {
            let victim = Arc::new(RunQueue::<u8>::new());
            let thief = Arc::new(RunQueue::<u8>::new());
            for i in 0..3 {
                victim.push(item(i)).unwrap();
            }
            let (v, t) = (victim.clone(), thief.clone());
            let stealer = thread::spawn(move || {
                let mut got = Vec::new();
                if let Some(x) = t.steal_from(&v) {
                    got.push(x as usize);
                    while let Some(x) = t.pop(false) {
                        got.push(x as usize);
                    }
                }
                got
            });
            let mut mine = Vec::new();
            victim.push(item(3)).unwrap();
            while let Some(x) = victim.pop(false) {
                mine.push(x as usize);
            }
            mine.extend(stealer.join().unwrap());
            mine.sort();
            assert_eq!(mine, vec![1, 2, 3, 4]);
        });
    }
}
