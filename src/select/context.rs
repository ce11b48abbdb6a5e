//! The waiter core shared by channels and `select!` (Go's `sudog` and
//! `selectDone`).
//!
//! A blocked channel operation is a [`Waiter`] in the channel's send or
//! receive queue. A blocked `select!` puts one waiter per case into the
//! queues of its channels, all pointing at one [`SelectCtx`]. Whoever
//! completes a waiter — a sender handing over a value, a receiver taking
//! one, a closer — must first *claim* the context with a single
//! compare-and-swap; so of all the channels a select waits on, exactly one
//! can complete it, and the others skip its stale waiters.
//!
//! The context's states:
//!
//! ```text
//! WAITING ──claim(c)──▶ CLAIMED(c) ──finish──▶ DONE(c)      (a partner completed case c)
//!    └──────abort──────▶ ABORTED                           (timeout: the waiter gave up)
//! ```
//!
//! Waiters live on the blocked goroutine's stack; channel queues hold raw
//! pointers to them. That is sound because the blocked goroutine does not
//! return before each of its waiters is out of its queue: taken out by a
//! partner (who pops it, tries to claim it, and then marks it `queued =
//! false` — its last touch unless the claim succeeded, in which case its
//! last touch is `finish`), or removed by the owner itself under the
//! channel's lock. The mark lets a woken select skip the lock of every
//! channel whose waiter a partner already took out.

use crate::runtime::g::WaitReason;
use crate::runtime::park::{self, Unparker};
use crate::runtime::timers;
use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::time::Instant;

const WAITING: usize = 0;
const ABORTED: usize = 1;
const CLAIMED_TAG: usize = 2;
const DONE_TAG: usize = 3;
const TAG_BITS: u32 = 2;

/// One blocking operation (a plain send/receive or a whole select).
pub(crate) struct SelectCtx {
    state: AtomicUsize,
    /// Whether claims can race: false for a single waiter that never times
    /// out, which only the one partner who pops it from its queue can
    /// settle — its claim needs no compare-and-swap.
    contested: bool,
    unparker: Unparker,
}

impl SelectCtx {
    /// A context for the calling goroutine (or thread). `contested`: it
    /// will have several waiters (a select) or may be aborted (a deadline).
    pub(crate) fn new(contested: bool) -> SelectCtx {
        SelectCtx {
            state: AtomicUsize::new(WAITING),
            contested,
            unparker: Unparker::current(),
        }
    }

    /// Claims the context for case `case`. Only a claimer may touch the
    /// waiter's slot, and it must then call [`finish`](Self::finish).
    #[inline]
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        if !self.contested {
            // Our caller popped the only waiter, and nothing else settles
            // this context: the claim is ours, and `finish` publishes it.
            debug_assert_eq!(self.state.load(Relaxed), WAITING);
            return true;
        }
        self.state
            .compare_exchange(WAITING, (case << TAG_BITS) | CLAIMED_TAG, AcqRel, Acquire)
            .is_ok()
    }

    /// Publishes the completion of a claimed case and returns the handle
    /// to wake the waiter with. The caller must not touch the context or
    /// its waiters afterwards (they may be gone), and should unpark after
    /// releasing its channel lock.
    pub(crate) fn finish(&self, case: usize) -> Unparker {
        crate::runtime::chaos::point("claimed, not yet finished");
        let unparker = self.unparker.clone();
        self.state.store((case << TAG_BITS) | DONE_TAG, Release);
        unparker
    }

    /// Gives up waiting (timeout). False if a partner claimed us first.
    fn try_abort(&self) -> bool {
        debug_assert!(self.contested, "an abortable context is contested");
        self.state
            .compare_exchange(WAITING, ABORTED, AcqRel, Acquire)
            .is_ok()
    }

    fn done_case(&self) -> Option<usize> {
        let s = self.state.load(Acquire);
        (s & ((1 << TAG_BITS) - 1) == DONE_TAG).then_some(s >> TAG_BITS)
    }

    /// Parks until a partner completes a case (returning it) or the
    /// deadline passes (returning `None`, with the context aborted).
    #[inline]
    pub(crate) fn wait(&self, deadline: Option<Instant>, reason: WaitReason) -> Option<usize> {
        match deadline {
            None => loop {
                if let Some(case) = self.done_case() {
                    return Some(case);
                }
                self.unparker.park_self(reason);
            },
            Some(deadline) => self.wait_until(deadline, reason),
        }
    }

    /// `wait` with a deadline (out of line: the untimed wait is the hot
    /// one, and this one's timer machinery would weigh on its frame).
    #[inline(never)]
    fn wait_until(&self, deadline: Instant, reason: WaitReason) -> Option<usize> {
        let completed = timers::park_until(Some(deadline), reason, || self.done_case().is_some());
        if completed {
            return self.done_case();
        }
        crate::runtime::chaos::point("deadline passed, not yet aborted");
        if self.try_abort() {
            return None;
        }
        // Claimed just as the deadline passed: the partner is finishing.
        while self.done_case().is_none() {
            park::park(reason);
        }
        self.done_case()
    }
}

/// One blocked operation on one channel.
pub(crate) struct Waiter<T> {
    ctx: *const SelectCtx,
    case: usize,
    /// Send: the value offered (taken by the receiver; still here if the
    /// channel closed). Receive: the value delivered (empty if closed).
    slot: UnsafeCell<Option<T>>,
    /// In its channel's queue (written under the channel lock; read by the
    /// owner without it, see [`Waiter::maybe_queued`]).
    queued: AtomicBool,
    /// Neighbours in the queue (under the channel lock; see [`WaitQueue`]).
    prev: Cell<Link<T>>,
    next: Cell<Link<T>>,
}

type Link<T> = Option<NonNull<Waiter<T>>>;

impl<T> Waiter<T> {
    pub(crate) fn new(ctx: &SelectCtx, case: usize, value: Option<T>) -> Waiter<T> {
        Waiter {
            ctx,
            case,
            slot: UnsafeCell::new(value),
            queued: AtomicBool::new(false),
            prev: Cell::new(None),
            next: Cell::new(None),
        }
    }

    /// Whether the waiter may still be in its channel's queue, for its
    /// owner after the wait. False is final: a partner took it out and is
    /// done with it (the Acquire pairs with the Release in
    /// [`WaiterRef::claim_popped`]), so the owner need not lock the channel
    /// to remove it. True means: lock and look.
    pub(crate) fn maybe_queued(&self) -> bool {
        self.queued.load(Acquire)
    }

    /// Takes the slot's content. Only the waiter's owner after completion,
    /// or a claimer.
    pub(crate) fn take(&self) -> Option<T> {
        // SAFETY: called by the owner after DONE (the partner is finished
        // with it) or by the partner between claim and finish; never both.
        unsafe { (*self.slot.get()).take() }
    }
}

/// A queued waiter, as the channel holds it.
pub(crate) struct WaiterRef<T>(NonNull<Waiter<T>>);

// SAFETY: a WaiterRef is only dereferenced under its channel's lock, while
// its owner is blocked (see the module docs); T moves between threads, so
// T: Send is needed.
unsafe impl<T: Send> Send for WaiterRef<T> {}

impl<T> WaiterRef<T> {
    /// Claims the context of a waiter just taken out of its queue. On
    /// success the caller must fill or empty the slot and then call
    /// `finish` (a claim is never undone, so a waiter whose claim fails is
    /// stale for good and is dropped).
    ///
    /// # Safety
    /// The channel lock must be held and the waiter popped from its queue
    /// under that same lock hold; the returned claim must be finished
    /// before the lock is released.
    pub(crate) unsafe fn claim_popped(self) -> Option<Claimed<T>> {
        // SAFETY: per the contract, the owner is blocked (or, if its
        // select already completed elsewhere, is waiting for this waiter
        // to leave its queue: `queued` is still true) and the waiter is
        // alive.
        let w = unsafe { self.0.as_ref() };
        // SAFETY: as above, the context outlives its waiters.
        let ctx = unsafe { &*w.ctx };
        let claimed = ctx.try_claim(w.case);
        crate::runtime::chaos::point("claimed, not yet marked out of the queue");
        // Our last touch when the claim failed: from here the owner may
        // skip this channel's lock and return. When it succeeded, the
        // owner waits for `finish` anyway (no other claim can complete it).
        w.queued.store(false, Release);
        claimed.then_some(Claimed { w: self.0 })
    }
}

/// A channel's queue of blocked operations (Go's `waitq`): a doubly linked
/// list threaded through the waiters themselves. Queueing allocates
/// nothing, the queue's head sits in the channel itself (no separate buffer
/// to pull into the cache), and a waiter leaves from anywhere in the queue
/// without a search. Only used under its channel's lock.
pub(crate) struct WaitQueue<T> {
    first: Link<T>,
    last: Link<T>,
    len: usize,
}

impl<T> WaitQueue<T> {
    pub(crate) const fn new() -> WaitQueue<T> {
        WaitQueue {
            first: None,
            last: None,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Appends `w`, which must stay where it is until it has left the
    /// queue again (popped by a partner or `remove`d by its owner).
    pub(crate) fn push_back(&mut self, w: &Waiter<T>) {
        w.queued.store(true, Relaxed);
        w.prev.set(self.last);
        w.next.set(None);
        let link = Some(NonNull::from(w));
        match self.last {
            // SAFETY: queued waiters are alive (see the module docs).
            Some(last) => unsafe { last.as_ref() }.next.set(link),
            None => self.first = link,
        }
        self.last = link;
        self.len += 1;
    }

    /// Takes the oldest waiter out; the caller must then
    /// [`claim_popped`](WaiterRef::claim_popped) it.
    pub(crate) fn pop_front(&mut self) -> Option<WaiterRef<T>> {
        let first = self.first?;
        // SAFETY: queued waiters are alive (see the module docs).
        let w = unsafe { first.as_ref() };
        self.unlink(w);
        Some(WaiterRef(first))
    }

    /// Takes `w` out if it is still queued (its owner giving up or
    /// cleaning up); false if a partner took it out already.
    pub(crate) fn remove(&mut self, w: &Waiter<T>) -> bool {
        // Written under the lock we hold: exact here.
        if !w.queued.load(Relaxed) {
            return false;
        }
        self.unlink(w);
        w.queued.store(false, Relaxed);
        true
    }

    fn unlink(&mut self, w: &Waiter<T>) {
        let (prev, next) = (w.prev.take(), w.next.take());
        match prev {
            // SAFETY: queued waiters are alive (see the module docs).
            Some(p) => unsafe { p.as_ref() }.next.set(next),
            None => self.first = next,
        }
        match next {
            // SAFETY: as above.
            Some(n) => unsafe { n.as_ref() }.prev.set(prev),
            None => self.last = prev,
        }
        self.len -= 1;
    }
}

/// A claimed waiter: exclusive access to its slot until `finish`.
pub(crate) struct Claimed<T> {
    w: NonNull<Waiter<T>>,
}

impl<T> Claimed<T> {
    fn waiter(&self) -> &Waiter<T> {
        // SAFETY: a claimed waiter's owner cannot return before `finish`
        // (it waits for DONE), so the waiter is alive.
        unsafe { self.w.as_ref() }
    }

    pub(crate) fn put(&self, v: T) {
        // SAFETY: we hold the claim: nobody else touches the slot.
        unsafe { *self.waiter().slot.get() = Some(v) };
    }

    pub(crate) fn take(&self) -> Option<T> {
        self.waiter().take()
    }

    /// Completes the waiter; returns whom to wake.
    pub(crate) fn finish(self) -> Unparker {
        let w = self.waiter();
        // SAFETY: the context outlives the waiter's wait.
        let ctx = unsafe { &*w.ctx };
        ctx.finish(w.case)
    }
}
