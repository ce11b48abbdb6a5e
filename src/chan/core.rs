//! The channel itself (Go's `hchan`): a lock, a ring buffer, and queues of
//! blocked senders and receivers.
//!
//! Blocking is arranged under the channel's lock, as in Go (a short
//! spin-then-park mutex). What makes a channel a channel happens under it:
//!
//! * **Direct hand-off.** A sender that finds a blocked receiver gives it the
//!   value directly (no trip through the buffer) and readies it; a receiver
//!   that finds a blocked sender on an unbuffered channel takes its value.
//! * **FIFO with blocked senders.** A receiver that finds a blocked sender on
//!   a full buffered channel takes the head of the buffer and moves that
//!   sender's value to the tail, so order is kept and the sender is released.
//! * **Close** releases every blocked sender (their values come back as
//!   errors) and receiver (they see the channel closed once it is drained).
//!
//! Waiters may belong to a `select!` that has already been completed by
//! another channel; claiming fails for them and they are dropped (see
//! `select/context.rs`; a claim is always followed by `finish`).
//!
//! **Lock-free fast path.** A buffered channel's values live in a lock-free
//! ring (`ring.rs`). While nobody is queued, `send` and `recv` use the ring
//! without the lock — the common case of a channel that is neither full nor
//! empty costs one CAS and no lock. As soon as a goroutine queues, the fast
//! paths step aside: the queuer, holding the lock, sets the ring's
//! "locked out" bits (`sync_waiters`), after which only lock holders reserve
//! positions in the ring — until the queues are empty again — and Go's
//! hand-off rules above apply exactly. Closing locks out lock-free sends
//! for good.
//!
//! **Readiness hints.** The queue lengths are also published for every
//! channel, buffered or not (`queued`), so that `select!` can look at its
//! cases without locking them: a receive case is worth locking for only if
//! a sender is queued, a value is buffered, or the channel is closed. The
//! hint is read without the lock and may be stale; `select!` only uses it to
//! choose which single channel to lock first, and falls back to locking all
//! its channels before it decides that nothing is ready.

use super::error::*;
use super::lock::ChanLock;
use super::ring::Ring;
use crate::runtime::g::WaitReason;
use crate::runtime::park::Unparker;
use crate::runtime::spin;
use crate::select::context::{Claimed, SelectCtx, WaitQueue, Waiter};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::time::Instant;

/// The channel. Its first fields hold everything a locked operation writes
/// and `select!`'s lock-free look reads — the lock, `closed`, the queue
/// lengths and the queues' ends — close together, so that an operation, or
/// a channel handed between two CPUs, touches as few lines as possible.
/// Not aligned to a cache line on purpose: an over-aligned `Arc` goes
/// through the allocator's slow `memalign` path, which cost more (one
/// channel per call in fan-in code like skynet) than the occasional split
/// line.
#[repr(C)]
pub(crate) struct Chan<T> {
    lock: ChanLock,
    /// Written under the lock (so exact for a lock holder); read without it
    /// by the fast paths and `select!`'s hints.
    closed: AtomicBool,
    /// The queue lengths, receivers in the low half and senders in the
    /// high half (written under the lock; see `queued_word`). While it is
    /// non-zero the ring belongs to lock holders alone.
    queued: AtomicU64,
    inner: UnsafeCell<Inner<T>>,
    /// The buffer (buffered channels only; boxed so an unbuffered channel
    /// stays small).
    buffer: Option<Box<Ring<T>>>,
    cap: usize,
    /// Live `Sender` and `Receiver` handles; the last of either closes.
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
}

/// Rounds of `recv_spin` / `send_spin`; round `r` spins `2^r` times
/// (about half a microsecond in all).
const SPIN_ROUNDS: u32 = 6;
/// Free slots a sender that found the buffer full waits for before it
/// writes again (at most; an eighth of the capacity for small buffers).
const SPIN_FREE_BATCH: usize = 32;

/// The `queued` word: both queue lengths in one atomic, so the fast paths
/// test "nobody queued" with one load and `select!` can tell the queues
/// apart. A length beyond `u32::MAX` saturates (it only has to stay
/// non-zero).
#[inline]
fn queued_word(receivers: usize, senders: usize) -> u64 {
    let half = |n: usize| n.min(u32::MAX as usize) as u64;
    half(receivers) | (half(senders) << 32)
}

pub(crate) struct Inner<T> {
    recvq: WaitQueue<T>,
    sendq: WaitQueue<T>,
}

// SAFETY: `inner` is only accessed with `lock` held; values of T move
// between threads, hence T: Send.
unsafe impl<T: Send> Send for Chan<T> {}
unsafe impl<T: Send> Sync for Chan<T> {}

/// The lock held on a channel; derefs to its state.
pub(crate) struct Locked<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = Inner<T>;
    fn deref(&self) -> &Inner<T> {
        // SAFETY: we hold the lock.
        unsafe { &*self.chan.inner.get() }
    }
}
impl<T> std::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut Inner<T> {
        // SAFETY: we hold the lock, exclusively.
        unsafe { &mut *self.chan.inner.get() }
    }
}
impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        // SAFETY: locked in `Chan::lock`, by us.
        unsafe { self.chan.lock.unlock() };
    }
}

/// Goroutines to wake once the channel lock is released (waking under the
/// lock would only make the woken one wait for it). Almost always zero or
/// one, so the first is kept inline: no allocation on the hot path.
#[derive(Default)]
pub(crate) struct Wakes {
    first: Option<Unparker>,
    rest: Option<Vec<Unparker>>,
}

impl Wakes {
    #[inline]
    pub(crate) fn new() -> Wakes {
        Wakes {
            first: None,
            rest: None,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, u: Unparker) {
        if self.first.is_none() {
            self.first = Some(u);
        } else {
            self.rest.get_or_insert_with(Default::default).push(u);
        }
    }
}

/// Wakes everyone collected (after the channel lock is released). Inline:
/// most calls have nobody or one to wake, and the call overhead of an
/// out-of-line waker was a tenth of a goroutine-to-goroutine hand-off.
#[inline(always)]
pub(crate) fn wake_all(wakes: Wakes) {
    let Wakes { first, rest } = wakes;
    if let Some(u) = first {
        u.unpark();
        if let Some(rest) = rest {
            wake_rest(rest);
        }
    } else {
        // `rest` is only used once `first` is.
        debug_assert!(rest.is_none());
    }
}

#[cold]
fn wake_rest(rest: Vec<Unparker>) {
    for u in rest {
        u.unpark();
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            lock: ChanLock::new(),
            inner: UnsafeCell::new(Inner {
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
            }),
            buffer: (cap > 0).then(|| Box::new(Ring::new(cap))),
            cap,
            queued: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_, T> {
        self.lock.lock();
        Locked { chan: self }
    }

    /// The raw lock, for `select!`, which locks several channels at once.
    pub(crate) fn raw_lock(&self) -> &ChanLock {
        &self.lock
    }

    /// The state, when the caller already holds the raw lock.
    ///
    /// # Safety
    /// The caller holds `raw_lock()` and no other borrow of the state.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn inner_locked(&self) -> &mut Inner<T> {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.inner.get() }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        self.ring().map_or(0, Ring::len)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    /// Sends through the ring without the lock, if nobody is queued.
    /// Gives the value back when the slow path must decide.
    #[inline]
    fn send_fast(&self, v: T) -> Result<(), T> {
        match &self.buffer {
            Some(ring) => ring.try_push_fast(v),
            None => Err(v),
        }
    }

    fn ring(&self) -> Option<&Ring<T>> {
        self.buffer.as_deref()
    }

    /// Receives from the ring without the lock, if nobody is queued.
    #[inline]
    fn recv_fast(&self) -> Option<T> {
        self.buffer.as_ref()?.try_pop_fast()
    }

    /// A receiver that found the buffer empty waits a moment for a sender
    /// on another CPU before taking the slow path and parking (see
    /// `runtime/spin.rs`): in a steady stream the next value is usually
    /// nanoseconds away, and a park/unpark pair costs both sides far more.
    fn recv_spin(&self) -> Option<T> {
        let ring = self.ring()?;
        if !spin::worth_spinning(true) {
            return None;
        }
        for round in 0..SPIN_ROUNDS {
            for _ in 0..1 << round {
                std::hint::spin_loop();
            }
            if let Some(v) = ring.try_pop_fast() {
                return Some(v);
            }
            if ring.pops_locked_out() || self.closed.load(Relaxed) {
                return None; // The slow path must decide.
            }
        }
        None
    }

    /// A sender that found the buffer full waits a moment for a receiver
    /// on another CPU (as `recv_spin`).
    ///
    /// It waits for a *batch* of free slots ([`SPIN_FREE_BATCH`]), looking
    /// only at the buffer's length, before it writes again: a producer
    /// that refills each slot the moment the receiver frees it works on
    /// the very cache line the receiver is reading, and the line crosses
    /// between the two CPUs for every value. With a gap between them, each
    /// line crosses once for the several values it holds.
    fn send_spin(&self, mut v: T) -> Result<(), T> {
        let Some(ring) = self.ring() else {
            return Err(v);
        };
        if !spin::worth_spinning(true) {
            return Err(v);
        }
        let want_free = (self.cap / 8).clamp(1, SPIN_FREE_BATCH);
        for round in 0..SPIN_ROUNDS {
            for _ in 0..1 << round {
                std::hint::spin_loop();
            }
            if round + 1 < SPIN_ROUNDS && ring.len() + want_free > self.cap {
                continue; // Still (nearly) full: leave its lines alone.
            }
            v = match ring.try_push_fast(v) {
                Ok(()) => return Ok(()),
                Err(v) => v,
            };
            if ring.pushes_locked_out() {
                return Err(v);
            }
        }
        Err(v)
    }

    /// Lock-free hint: might a receive complete now (a queued sender, a
    /// buffered value, or closed)? May be stale either way.
    #[inline]
    fn recv_maybe_ready(&self) -> bool {
        self.queued.load(Relaxed) >> 32 != 0
            || self.closed.load(Relaxed)
            || self.ring().is_some_and(|r| !r.is_empty())
    }

    /// Lock-free hint: might a send complete now (a queued receiver, a free
    /// slot, or closed)? May be stale either way.
    #[inline]
    fn send_maybe_ready(&self) -> bool {
        self.queued.load(Relaxed) & u64::from(u32::MAX) != 0
            || self.closed.load(Relaxed)
            || self.ring().is_some_and(|r| r.len() < self.cap)
    }

    /// `select!`'s first look at a receive case, before it locks all of its
    /// channels: the lock-free fast path, else — if the hint says a partner
    /// may be there — this channel's lock alone. `None`: not completed here
    /// (the caller decides under all the locks).
    pub(crate) fn select_try_recv(&self, wakes: &mut Wakes) -> Option<Result<T, RecvError>> {
        if let Some(v) = self.recv_fast() {
            return Some(Ok(v));
        }
        if !self.recv_maybe_ready() {
            return None;
        }
        let mut inner = self.lock();
        self.try_recv_locked(&mut inner, wakes).transpose()
    }

    /// `select!`'s first look at a send case (see `select_try_recv`).
    /// `Err` gives the value back: not completed here.
    pub(crate) fn select_try_send(
        &self,
        v: T,
        wakes: &mut Wakes,
    ) -> Result<Result<(), SendError<T>>, T> {
        let v = match self.send_fast(v) {
            Ok(()) => return Ok(Ok(())),
            Err(v) => v,
        };
        if !self.send_maybe_ready() {
            return Err(v);
        }
        let mut inner = self.lock();
        match self.try_send_locked(&mut inner, v, wakes) {
            Ok(()) => Ok(Ok(())),
            Err(TrySendError::Closed(v)) => Ok(Err(SendError(v))),
            Err(TrySendError::Full(v)) => Err(v),
        }
    }

    /// Publishes the queue lengths (`select!`'s hint), and hands the ring
    /// to lock holders while goroutines are queued (lock-free sends are out
    /// for good once closed); lets the fast paths back in when the queues
    /// are empty. Lock held.
    fn sync_waiters(&self, inner: &Inner<T>) {
        let n = queued_word(inner.recvq.len(), inner.sendq.len());
        // Stored only on change, so that repeated polls of an idle channel
        // do not dirty its cache line.
        if self.queued.load(Relaxed) != n {
            self.queued.store(n, Relaxed);
        }
        crate::runtime::chaos::point("queue lengths published, ring not yet locked out");
        let Some(ring) = self.ring() else {
            return; // Unbuffered: no fast paths to coordinate with.
        };
        if n != 0 {
            ring.lock_out_fast_paths(true);
        } else {
            ring.let_in_fast_paths(!self.closed.load(Relaxed));
        }
    }

    /// Claims the first claimable waiter of `q`, dropping stale ones.
    fn claim_first(q: &mut WaitQueue<T>) -> Option<Claimed<T>> {
        while let Some(w) = q.pop_front() {
            // SAFETY: the lock is held and the waiter was queued until now.
            if let Some(claimed) = unsafe { w.claim_popped() } {
                return Some(claimed);
            }
        }
        None
    }

    /// Moves values between the ring and queued goroutines (lock held):
    /// buffered values to queued receivers, queued senders' values into
    /// free slots, oldest first. With someone queued the ring is exclusive
    /// to us, so what we see in it stays true.
    fn pump_locked(&self, inner: &mut Inner<T>, wakes: &mut Wakes) {
        let Some(ring) = self.ring() else {
            return;
        };
        while !inner.recvq.is_empty() && !ring.is_empty() {
            let Some(claimed) = Self::claim_first(&mut inner.recvq) else {
                break;
            };
            claimed.put(ring.pop().expect("the ring is ours while goroutines queue"));
            wakes.push(claimed.finish());
        }
        while !inner.sendq.is_empty() && ring.len() < self.cap {
            let Some(claimed) = Self::claim_first(&mut inner.sendq) else {
                break;
            };
            let v = claimed.take().expect("a blocked sender offers a value");
            if ring.push(v).is_err() {
                unreachable!("the ring is ours while goroutines queue");
            }
            wakes.push(claimed.finish());
        }
        self.sync_waiters(inner);
    }

    /// Tries to send with the lock held. On failure the value comes back.
    pub(crate) fn try_send_locked(
        &self,
        inner: &mut Inner<T>,
        v: T,
        wakes: &mut Wakes,
    ) -> Result<(), TrySendError<T>> {
        if self.closed.load(Relaxed) {
            return Err(TrySendError::Closed(v));
        }
        // Direct hand-off to a queued receiver (only when nothing is
        // buffered ahead of us).
        if !inner.recvq.is_empty() && self.ring().is_none_or(Ring::is_empty) {
            if let Some(claimed) = Self::claim_first(&mut inner.recvq) {
                claimed.put(v);
                wakes.push(claimed.finish());
                self.sync_waiters(inner);
                return Ok(());
            }
            self.sync_waiters(inner);
        }
        let Some(ring) = self.ring() else {
            return Err(TrySendError::Full(v));
        };
        match ring.push(v) {
            Ok(()) => {
                self.pump_locked(inner, wakes);
                Ok(())
            }
            Err(v) => Err(TrySendError::Full(v)),
        }
    }

    /// Tries to receive with the lock held: `Ok(Some(v))`, `Ok(None)` when
    /// nothing is there, `Err` when closed and drained. Always inlined: the
    /// blocking `recv` calls it on every hand-off, and as a call its
    /// register saves and restores cost 7% of a ping-pong round trip.
    #[inline(always)]
    pub(crate) fn try_recv_locked(
        &self,
        inner: &mut Inner<T>,
        wakes: &mut Wakes,
    ) -> Result<Option<T>, RecvError> {
        if let Some(v) = self.ring().and_then(Ring::pop) {
            // A slot is free: a queued sender's value moves in behind.
            self.pump_locked(inner, wakes);
            return Ok(Some(v));
        }
        // Unbuffered: straight from a queued sender.
        if let Some(claimed) = Self::claim_first(&mut inner.sendq) {
            let v = claimed.take().expect("a blocked sender offers a value");
            wakes.push(claimed.finish());
            self.sync_waiters(inner);
            return Ok(Some(v));
        }
        self.sync_waiters(inner);
        if self.closed.load(Relaxed) {
            return Err(RecvError);
        }
        Ok(None)
    }

    /// Sends, blocking until done, closed, or `deadline`.
    ///
    /// Only the lock-free attempt is inlined into the caller; the rest is
    /// out of line. As one function, the slow path's frame (its register
    /// saves and stack space) was paid by every send, a sixth of a worker
    /// pool's time.
    #[inline(always)]
    pub(crate) fn send(&self, v: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match self.send_fast(v) {
            Ok(()) => Ok(()),
            Err(v) => self.send_slow(v, deadline),
        }
    }

    /// `send` once the lock-free attempt has failed: spin, lock, queue.
    #[inline(never)]
    fn send_slow(&self, v: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let v = match self.send_spin(v) {
            Ok(()) => return Ok(()),
            Err(v) => v,
        };
        let mut wakes = Wakes::new();
        let mut inner = self.lock();
        let v = match self.try_send_locked(&mut inner, v, &mut wakes) {
            Ok(()) => {
                drop(inner);
                wake_all(wakes);
                return Ok(());
            }
            Err(TrySendError::Closed(v)) => return Err(SendTimeoutError::Closed(v)),
            Err(TrySendError::Full(v)) => v,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SendTimeoutError::Timeout(v));
        }
        let ctx = SelectCtx::new(deadline.is_some());
        let waiter = Waiter::new(&ctx, 0, Some(v));
        self.enqueue_locked(&mut inner, &waiter, true, &mut wakes);
        drop(inner);
        wake_all(wakes);
        crate::runtime::chaos::point("sender queued, not yet parked");
        match ctx.wait(deadline, WaitReason::ChanSend) {
            // Completed: by a receiver (slot emptied) or by close (value back).
            Some(_) => match waiter.take() {
                None => Ok(()),
                Some(v) => Err(SendTimeoutError::Closed(v)),
            },
            None => {
                self.dequeue_locked(&mut self.lock(), &waiter, true);
                Err(SendTimeoutError::Timeout(
                    waiter.take().expect("unsent value"),
                ))
            }
        }
    }

    /// Receives, blocking until a value, close, or `deadline`. Only the
    /// lock-free attempt is inlined (see `send`).
    #[inline(always)]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match self.recv_fast() {
            Some(v) => Ok(v),
            None => self.recv_slow(deadline),
        }
    }

    /// `recv` once the lock-free attempt has failed: spin, lock, queue.
    #[inline(never)]
    fn recv_slow(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        if let Some(v) = self.recv_spin() {
            return Ok(v);
        }
        let mut wakes = Wakes::new();
        let mut inner = self.lock();
        match self.try_recv_locked(&mut inner, &mut wakes) {
            Ok(Some(v)) => {
                drop(inner);
                wake_all(wakes);
                return Ok(v);
            }
            Err(RecvError) => return Err(RecvTimeoutError::Closed),
            Ok(None) => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        let ctx = SelectCtx::new(deadline.is_some());
        let waiter = Waiter::new(&ctx, 0, None);
        self.enqueue_locked(&mut inner, &waiter, false, &mut wakes);
        drop(inner);
        wake_all(wakes);
        crate::runtime::chaos::point("receiver queued, not yet parked");
        match ctx.wait(deadline, WaitReason::ChanReceive) {
            Some(_) => waiter.take().ok_or(RecvTimeoutError::Closed),
            None => {
                self.dequeue_locked(&mut self.lock(), &waiter, false);
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    pub(crate) fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let v = match self.send_fast(v) {
            Ok(()) => return Ok(()),
            Err(v) => v,
        };
        let mut wakes = Wakes::new();
        let result = {
            let mut inner = self.lock();
            self.try_send_locked(&mut inner, v, &mut wakes)
        };
        wake_all(wakes);
        result
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        if let Some(v) = self.recv_fast() {
            return Ok(v);
        }
        let mut wakes = Wakes::new();
        let result = {
            let mut inner = self.lock();
            self.try_recv_locked(&mut inner, &mut wakes)
        };
        wake_all(wakes);
        match result {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(TryRecvError::Empty),
            Err(RecvError) => Err(TryRecvError::Closed),
        }
    }

    /// Closes the channel, releasing every blocked sender and receiver.
    /// False if it was already closed.
    pub(crate) fn close(&self) -> bool {
        let mut wakes = Wakes::new();
        {
            let mut inner = self.lock();
            if self.closed.load(Relaxed) {
                return false;
            }
            self.closed.store(true, SeqCst);
            // No lock-free send from now on. One that reserved its slot
            // before is counted in the ring already (it was sent before the
            // close) and anyone reading that slot waits for its value.
            if let Some(ring) = self.ring() {
                ring.lock_out_fast_paths(false);
            }
            // Buffered values still go to queued receivers first.
            self.pump_locked(&mut inner, &mut wakes);
            // The rest of the receivers see an empty slot: closed. Senders
            // keep their value: it comes back to them as the error.
            let inner = &mut *inner;
            while let Some(w) = inner.recvq.pop_front().or_else(|| inner.sendq.pop_front()) {
                // SAFETY: lock held; the waiter was queued until just now.
                if let Some(claimed) = unsafe { w.claim_popped() } {
                    wakes.push(claimed.finish());
                }
            }
            self.sync_waiters(inner);
        }
        wake_all(wakes);
        true
    }

    /// Queues a waiter (lock held by the caller) and lets the ring serve
    /// it at once if it can: a value buffered by a fast path just before we
    /// queued may already be there.
    pub(crate) fn enqueue_locked(
        &self,
        inner: &mut Inner<T>,
        waiter: &Waiter<T>,
        sending: bool,
        wakes: &mut Wakes,
    ) {
        let q = if sending {
            &mut inner.sendq
        } else {
            &mut inner.recvq
        };
        q.push_back(waiter);
        self.sync_waiters(inner);
        if self.buffer.is_some() {
            self.pump_locked(inner, wakes);
        }
    }

    /// Removes a waiter if still queued (lock held by the caller).
    pub(crate) fn dequeue_locked(&self, inner: &mut Inner<T>, waiter: &Waiter<T>, sending: bool) {
        let q = if sending {
            &mut inner.sendq
        } else {
            &mut inner.recvq
        };
        if q.remove(waiter) {
            self.sync_waiters(inner);
        }
    }
}
