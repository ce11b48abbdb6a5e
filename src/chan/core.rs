//! The channel itself (Go's `hchan`): a lock, a ring buffer, and queues of
//! blocked senders and receivers.
//!
//! Every operation takes the channel's lock, as in Go; the lock is a short
//! spin-then-park mutex held for a handful of instructions. What makes a
//! channel a channel happens under it:
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
//! another channel; claiming fails for them and they are skipped (see
//! `select/context.rs`).

use super::error::*;
use crate::runtime::g::WaitReason;
use crate::runtime::park::Unparker;
use crate::select::context::{SelectCtx, Waiter, WaiterRef};
use parking_lot::lock_api::RawMutex as _;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::time::Instant;

pub(crate) struct Chan<T> {
    lock: parking_lot::RawMutex,
    inner: UnsafeCell<Inner<T>>,
    cap: usize,
    /// Mirrors of `inner` for lock-free `len` and `is_closed`.
    len: AtomicUsize,
    closed: AtomicBool,
    /// Live `Sender` and `Receiver` handles; the last of either closes.
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
}

pub(crate) struct Inner<T> {
    buf: VecDeque<T>,
    closed: bool,
    recvq: VecDeque<WaiterRef<T>>,
    sendq: VecDeque<WaiterRef<T>>,
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
    rest: Vec<Unparker>,
}

impl Wakes {
    pub(crate) fn new() -> Wakes {
        Wakes::default()
    }

    pub(crate) fn push(&mut self, u: Unparker) {
        if self.first.is_none() {
            self.first = Some(u);
        } else {
            self.rest.push(u);
        }
    }
}

pub(crate) fn wake_all(wakes: Wakes) {
    if let Some(u) = wakes.first {
        u.unpark();
    }
    for u in wakes.rest {
        u.unpark();
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            lock: parking_lot::RawMutex::INIT,
            inner: UnsafeCell::new(Inner {
                buf: VecDeque::with_capacity(cap.min(4096)),
                closed: false,
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
            }),
            cap,
            len: AtomicUsize::new(0),
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
    pub(crate) fn raw_lock(&self) -> &parking_lot::RawMutex {
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
        self.len.load(Relaxed)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    /// Tries to send with the lock held. On failure the value comes back.
    pub(crate) fn try_send_locked(
        &self,
        inner: &mut Inner<T>,
        v: T,
        wakes: &mut Wakes,
    ) -> Result<(), TrySendError<T>> {
        if inner.closed {
            return Err(TrySendError::Closed(v));
        }
        while let Some(w) = inner.recvq.pop_front() {
            // SAFETY: lock held; the waiter was queued until just now.
            if let Some(claimed) = unsafe { w.claim() } {
                claimed.put(v);
                wakes.push(claimed.finish());
                return Ok(());
            }
            // A select that completed elsewhere: drop its stale waiter.
        }
        if inner.buf.len() < self.cap {
            inner.buf.push_back(v);
            self.len.store(inner.buf.len(), Relaxed);
            return Ok(());
        }
        Err(TrySendError::Full(v))
    }

    /// Tries to receive with the lock held: `Ok(Some(v))`, `Ok(None)` when
    /// nothing is there, `Err` when closed and drained.
    pub(crate) fn try_recv_locked(
        &self,
        inner: &mut Inner<T>,
        wakes: &mut Wakes,
    ) -> Result<Option<T>, RecvError> {
        while let Some(w) = inner.sendq.pop_front() {
            // SAFETY: lock held; the waiter was queued until just now.
            let Some(claimed) = (unsafe { w.claim() }) else {
                continue;
            };
            let offered = claimed.take().expect("a blocked sender offers a value");
            let v = match inner.buf.pop_front() {
                // Full buffer: take its head, the sender's value joins the tail.
                Some(head) => {
                    inner.buf.push_back(offered);
                    head
                }
                // Unbuffered: straight from the sender.
                None => offered,
            };
            wakes.push(claimed.finish());
            return Ok(Some(v));
        }
        if let Some(v) = inner.buf.pop_front() {
            self.len.store(inner.buf.len(), Relaxed);
            return Ok(Some(v));
        }
        if inner.closed {
            return Err(RecvError);
        }
        Ok(None)
    }

    /// Sends, blocking until done, closed, or `deadline`.
    pub(crate) fn send(&self, v: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
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
        let ctx = SelectCtx::new();
        let waiter = Waiter::new(&ctx, 0, Some(v));
        inner.sendq.push_back(WaiterRef::new(&waiter));
        drop(inner);
        match ctx.wait(deadline, WaitReason::ChanSend) {
            // Completed: by a receiver (slot emptied) or by close (value back).
            Some(_) => match waiter.take() {
                None => Ok(()),
                Some(v) => Err(SendTimeoutError::Closed(v)),
            },
            None => {
                self.lock().sendq.retain(|w| !w.is(&waiter));
                Err(SendTimeoutError::Timeout(
                    waiter.take().expect("unsent value"),
                ))
            }
        }
    }

    /// Receives, blocking until a value, close, or `deadline`.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
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
        let ctx = SelectCtx::new();
        let waiter = Waiter::new(&ctx, 0, None);
        inner.recvq.push_back(WaiterRef::new(&waiter));
        drop(inner);
        match ctx.wait(deadline, WaitReason::ChanReceive) {
            Some(_) => waiter.take().ok_or(RecvTimeoutError::Closed),
            None => {
                self.lock().recvq.retain(|w| !w.is(&waiter));
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    pub(crate) fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let mut wakes = Wakes::new();
        let result = {
            let mut inner = self.lock();
            self.try_send_locked(&mut inner, v, &mut wakes)
        };
        wake_all(wakes);
        result
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        // Go's fast path: an open, empty buffered channel with nobody
        // waiting to send fails without taking the lock.
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
            if inner.closed {
                return false;
            }
            inner.closed = true;
            self.closed.store(true, Release);
            // Receivers see an empty slot: closed. Senders keep their value:
            // it comes back to them as the error.
            let inner = &mut *inner;
            for w in inner.recvq.drain(..).chain(inner.sendq.drain(..)) {
                // SAFETY: lock held; the waiter was queued until just now.
                if let Some(claimed) = unsafe { w.claim() } {
                    wakes.push(claimed.finish());
                }
            }
        }
        wake_all(wakes);
        true
    }

    /// Queues a select's waiter (lock held by the caller).
    pub(crate) fn enqueue_locked(inner: &mut Inner<T>, waiter: &Waiter<T>, sending: bool) {
        let q = if sending {
            &mut inner.sendq
        } else {
            &mut inner.recvq
        };
        q.push_back(WaiterRef::new(waiter));
    }

    /// Removes a select's waiter if still queued (lock held by the caller).
    pub(crate) fn dequeue_locked(inner: &mut Inner<T>, waiter: &Waiter<T>, sending: bool) {
        let q = if sending {
            &mut inner.sendq
        } else {
            &mut inner.recvq
        };
        if let Some(i) = q.iter().position(|w| w.is(waiter)) {
            q.remove(i);
        }
    }
}
