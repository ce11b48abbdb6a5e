//! The buffer of a buffered channel: a bounded lock-free MPMC ring
//! (Vyukov's design, as in crossbeam's array flavour).
//!
//! Each slot carries a *stamp* telling which lap of the ring it is ready
//! for: `stamp == tail` means "free for the producer at `tail`",
//! `stamp == head + 1` means "holds the value for the consumer at `head`".
//! Producers claim a position by CAS on `tail`, consumers on `head`, then
//! write or read the slot and publish the next stamp. Positions pack a lap
//! counter above the index (`one_lap` is a power of two above `cap`), so a
//! position is never reused while a slow thread still holds an old one.
//!
//! Fast paths in `core.rs` use the ring without the channel lock; the lock
//! is only for the queues of blocked goroutines. While goroutines are
//! queued, the lock holders need the ring to themselves (Go's hand-off
//! rules must see every value); they set [`LOCKED_OUT`] in `tail` (and
//! `head`), and a lock-free push (pop) that sees the bit steps aside. The
//! bit lives in the very word a lock-free operation must CAS to reserve a
//! position, so no extra atomic is needed to exclude them: a reservation
//! made before the bit was set is already counted in the position (and
//! finishes its slot on its own, which every reader of the slot waits
//! for); one attempted after fails its CAS and sees the bit.

use std::cell::UnsafeCell;

/// Waits a little for another thread to finish its step on a slot. That
/// thread may have been descheduled by the OS in the middle of it (the ring
/// is not lock-free in the strict sense), so after a while give it the CPU
/// rather than burn ours. Never yields the *goroutine*: callers may be in
/// the middle of a fast path that must not park.
pub(crate) fn backoff(step: &mut u32) {
    if *step < 6 {
        for _ in 0..(1 << *step) {
            loom::spin_loop();
        }
    } else {
        loom::yield_now();
    }
    *step = step.saturating_add(1);
}

use crate::loom::{self, fence, AtomicUsize, Ordering::*};
use std::mem::MaybeUninit;

#[repr(align(128))]
struct Padded<T>(T);

/// Set in `head` / `tail` while lock-free pops / pushes must step aside.
const LOCKED_OUT: usize = 1 << (usize::BITS - 1);
/// The position bits of `head` / `tail`.
const POS: usize = !LOCKED_OUT;

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

pub(crate) struct Ring<T> {
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    cap: usize,
    one_lap: usize,
}

// SAFETY: a slot's value is written by the one producer that claimed its
// position and read by the one consumer that claimed it, ordered by the
// stamp's release/acquire; T moves between threads, hence T: Send.
unsafe impl<T: Send> Send for Ring<T> {}
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    pub(crate) fn new(cap: usize) -> Ring<T> {
        assert!(cap > 0, "a ring needs capacity");
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            slots,
            cap,
            one_lap: (cap + 1).next_power_of_two(),
        }
    }

    /// The position after `pos`.
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.one_lap - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap) & POS
        }
    }

    /// The slot of position `pos` (a `head` or `tail` position, whose
    /// index part `next` keeps below `cap`).
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[pos & (self.one_lap - 1)]
    }

    /// Writes `v` into `slot` and publishes it to the consumer of position
    /// `tail`.
    ///
    /// # Safety
    /// The caller has just reserved position `tail` (its CAS on `tail`
    /// succeeded while the slot's stamp said free), and `slot` is its slot.
    #[inline(always)]
    unsafe fn fill(slot: &Slot<T>, tail: usize, v: T) {
        // SAFETY: per the contract, the slot is ours until we stamp it.
        unsafe { (*slot.value.get()).write(v) };
        crate::runtime::chaos::point("position reserved, slot not yet stamped");
        slot.stamp.store(tail + 1, Release);
    }

    /// Takes the value out of `slot` and frees it for the producer of
    /// position `head`'s next lap.
    ///
    /// # Safety
    /// The caller has just reserved position `head` (its CAS on `head`
    /// succeeded after an acquire load of the stamp saw the value
    /// published), and `slot` is its slot.
    #[inline(always)]
    unsafe fn empty(&self, slot: &Slot<T>, head: usize) -> T {
        // SAFETY: per the contract, the value is initialised and ours.
        let v = unsafe { (*slot.value.get()).assume_init_read() };
        crate::runtime::chaos::point("position reserved, slot not yet freed");
        slot.stamp
            .store(head.wrapping_add(self.one_lap) & POS, Release);
        v
    }

    /// Appends `v` unless the ring is full or locked out; gives it back
    /// then. For lock-free callers.
    #[inline]
    pub(crate) fn try_push_fast(&self, v: T) -> Result<(), T> {
        self.push_inner(v, false)
    }

    /// Appends `v`; gives it back if the ring is full. For the holder of
    /// the channel lock, which may have locked the fast paths out.
    pub(crate) fn push(&self, v: T) -> Result<(), T> {
        self.push_inner(v, true)
    }

    /// One attempt at a push, inlined into every sender: the uncontended
    /// case — a free slot at `tail` and nobody racing for it — is a load,
    /// a stamp check, one CAS and two stores. Anything else (a lost race, a
    /// full-looking slot, a producer mid-write) goes to the out-of-line
    /// [`push_contended`](Self::push_contended), so that the inlined path
    /// stays a few instructions with no registers to save: as one function
    /// with its retry loop and backoff, the push's prologue and epilogue
    /// were a third of its time in a worker pool.
    #[inline(always)]
    fn push_inner(&self, v: T, lock_holder: bool) -> Result<(), T> {
        let raw = self.tail.0.load(Relaxed);
        if !lock_holder && raw & LOCKED_OUT != 0 {
            return Err(v);
        }
        let tail = raw & POS;
        let slot = self.slot(tail);
        if slot.stamp.load(Acquire) == tail {
            let next = self.next(tail) | (raw & LOCKED_OUT);
            if self
                .tail
                .0
                .compare_exchange_weak(raw, next, SeqCst, Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS reserved position `tail`, whose slot was
                // free (its stamp said so).
                unsafe { Self::fill(slot, tail, v) };
                return Ok(());
            }
        }
        self.push_contended(v, lock_holder)
    }

    /// `push_inner`'s loop: retries until the push is done or the ring is
    /// found full (or locked out).
    #[inline(never)]
    fn push_contended(&self, v: T, lock_holder: bool) -> Result<(), T> {
        let mut step = 0;
        let mut raw = self.tail.0.load(Relaxed);
        loop {
            if !lock_holder && raw & LOCKED_OUT != 0 {
                return Err(v);
            }
            let tail = raw & POS;
            let slot = self.slot(tail);
            let stamp = slot.stamp.load(Acquire);
            if stamp == tail {
                let next = self.next(tail) | (raw & LOCKED_OUT);
                match self
                    .tail
                    .0
                    .compare_exchange_weak(raw, next, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: as in `push_inner`.
                        unsafe { Self::fill(slot, tail, v) };
                        return Ok(());
                    }
                    Err(t) => {
                        raw = t;
                        backoff(&mut step);
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) & POS == tail + 1 {
                // The slot still holds last lap's value: full, unless a
                // consumer is just taking it.
                fence(SeqCst);
                if self.head.0.load(Relaxed).wrapping_add(self.one_lap) & POS == tail {
                    return Err(v);
                }
                backoff(&mut step);
                raw = self.tail.0.load(Relaxed);
            } else {
                // Another producer is mid-write: look again.
                backoff(&mut step);
                raw = self.tail.0.load(Relaxed);
            }
        }
    }

    /// Takes the oldest value, if any and not locked out. For lock-free
    /// callers.
    #[inline]
    pub(crate) fn try_pop_fast(&self) -> Option<T> {
        self.pop_inner(false)
    }

    /// Takes the oldest value, if any. For the holder of the channel lock.
    pub(crate) fn pop(&self) -> Option<T> {
        self.pop_inner(true)
    }

    /// One attempt at a pop, inlined into every receiver (see
    /// `push_inner`); [`pop_contended`](Self::pop_contended) does the rest.
    #[inline(always)]
    fn pop_inner(&self, lock_holder: bool) -> Option<T> {
        let raw = self.head.0.load(Relaxed);
        if !lock_holder && raw & LOCKED_OUT != 0 {
            return None;
        }
        let head = raw & POS;
        let slot = self.slot(head);
        if slot.stamp.load(Acquire) == head + 1 {
            let next = self.next(head) | (raw & LOCKED_OUT);
            if self
                .head
                .0
                .compare_exchange_weak(raw, next, SeqCst, Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS reserved position `head`, whose value the
                // stamp we acquired published.
                return Some(unsafe { self.empty(slot, head) });
            }
        }
        self.pop_contended(lock_holder)
    }

    /// `pop_inner`'s loop: retries until a value is taken or the ring is
    /// found empty (or locked out).
    #[inline(never)]
    fn pop_contended(&self, lock_holder: bool) -> Option<T> {
        let mut step = 0;
        let mut raw = self.head.0.load(Relaxed);
        loop {
            if !lock_holder && raw & LOCKED_OUT != 0 {
                return None;
            }
            let head = raw & POS;
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Acquire);
            if stamp == head + 1 {
                let next = self.next(head) | (raw & LOCKED_OUT);
                match self
                    .head
                    .0
                    .compare_exchange_weak(raw, next, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: as in `pop_inner`.
                        return Some(unsafe { self.empty(slot, head) });
                    }
                    Err(h) => {
                        raw = h;
                        backoff(&mut step);
                    }
                }
            } else if stamp == head {
                // Not written this lap: empty, unless a producer is mid-write.
                fence(SeqCst);
                if self.tail.0.load(Relaxed) & POS == head {
                    return None;
                }
                backoff(&mut step);
                raw = self.head.0.load(Relaxed);
            } else {
                backoff(&mut step);
                raw = self.head.0.load(Relaxed);
            }
        }
    }

    /// Locks lock-free pushes out (and pops too, if `pops`). Channel lock
    /// holders only. Once this returns, only lock holders reserve
    /// positions; reservations made before still finish their slots.
    pub(crate) fn lock_out_fast_paths(&self, pops: bool) {
        // Only lock holders change the bit, so a plain load tells whether
        // it is set already.
        if self.tail.0.load(Relaxed) & LOCKED_OUT == 0 {
            self.tail.0.fetch_or(LOCKED_OUT, SeqCst);
        }
        if pops && self.head.0.load(Relaxed) & LOCKED_OUT == 0 {
            self.head.0.fetch_or(LOCKED_OUT, SeqCst);
        }
    }

    /// Whether lock-free pops are locked out (goroutines are queued).
    #[inline]
    pub(crate) fn pops_locked_out(&self) -> bool {
        self.head.0.load(Relaxed) & LOCKED_OUT != 0
    }

    /// Whether lock-free pushes are locked out (goroutines are queued, or
    /// the channel is closed).
    #[inline]
    pub(crate) fn pushes_locked_out(&self) -> bool {
        self.tail.0.load(Relaxed) & LOCKED_OUT != 0
    }

    /// Lets lock-free pops back in (and pushes too, if `pushes`). Channel
    /// lock holders only.
    pub(crate) fn let_in_fast_paths(&self, pushes: bool) {
        if self.head.0.load(Relaxed) & LOCKED_OUT != 0 {
            self.head.0.fetch_and(POS, SeqCst);
        }
        if pushes && self.tail.0.load(Relaxed) & LOCKED_OUT != 0 {
            self.tail.0.fetch_and(POS, SeqCst);
        }
    }

    /// Values in the ring (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.0.load(SeqCst) & POS;
            let head = self.head.0.load(SeqCst) & POS;
            if self.tail.0.load(SeqCst) & POS == tail {
                let hi = head & (self.one_lap - 1);
                let ti = tail & (self.one_lap - 1);
                return if hi < ti {
                    ti - hi
                } else if hi > ti {
                    self.cap - hi + ti
                } else if tail == head {
                    0
                } else {
                    self.cap
                };
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_full_empty() {
        let r = Ring::new(3);
        assert!(r.pop().is_none());
        for i in 0..3 {
            r.push(i).unwrap();
        }
        assert_eq!(r.push(9), Err(9));
        assert_eq!(r.len(), 3);
        for lap in 0..5 {
            assert_eq!(r.pop(), Some(lap));
            r.push(lap + 3).unwrap();
        }
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn mpmc_stress_every_value_once() {
        let r = Arc::new(Ring::new(8));
        let producers: Vec<_> = (0..3u64)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        let mut v = p * 1_000_000 + i;
                        while let Err(back) = r.push(v) {
                            v = back;
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while got.len() < 20_000 {
                        match r.pop() {
                            Some(v) => got.push(v),
                            None => std::thread::yield_now(),
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<u64> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 60_000);
    }
}

/// Model checks with loom: `RUSTFLAGS="--cfg loom" cargo test --release --lib loom_`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::Ring;
    use loom::sync::Arc;
    use loom::thread;

    /// A lock-free push racing the lock holder's lock-out: if the push
    /// succeeds, it reserved its slot before the lock-out, so the lock
    /// holder counts it as soon as the lock-out returns, and gets it.
    #[test]
    fn loom_push_that_succeeds_is_seen_by_the_lock_holder() {
        loom::model(|| {
            let ring = Arc::new(Ring::new(2));
            let r = ring.clone();
            let pusher = thread::spawn(move || r.try_push_fast(7u8).is_ok());
            ring.lock_out_fast_paths(true);
            let seen = ring.len();
            let pushed = pusher.join().unwrap();
            assert_eq!(
                seen,
                usize::from(pushed),
                "a push slipped in after the lock-out"
            );
            assert_eq!(ring.pop(), pushed.then_some(7));
            assert!(ring.try_push_fast(8).is_err(), "locked out, yet pushed");
        });
    }

    /// A lock-free pop racing the lock holder's lock-out and pop: the one
    /// value goes to exactly one of them.
    #[test]
    fn loom_pop_racing_the_lock_holder_takes_each_value_once() {
        loom::model(|| {
            let ring = Arc::new(Ring::new(2));
            ring.push(5u8).unwrap();
            let r = ring.clone();
            let popper = thread::spawn(move || r.try_pop_fast());
            ring.lock_out_fast_paths(true);
            let mine = ring.pop();
            let theirs = popper.join().unwrap();
            assert_eq!(
                usize::from(mine.is_some()) + usize::from(theirs.is_some()),
                1,
                "the value was taken {} times",
                usize::from(mine.is_some()) + usize::from(theirs.is_some())
            );
            ring.let_in_fast_paths(true);
            assert!(ring.try_push_fast(6).is_ok(), "let back in, yet refused");
        });
    }
}
