//! A parked waiter in a sync primitive's queue.
//!
//! The pattern every primitive here follows: a blocked goroutine (or
//! thread) puts a [`Node`] that lives on its own stack into the
//! primitive's queue, under the primitive's internal lock, and parks until
//! the node is *signalled*. A signaller pops the node and signals it
//! **while still holding that lock**; so a waiter that gives up (timeout)
//! can take the lock, and either find its node still queued (remove it: it
//! was never signalled) or not (it was, and the signal is already
//! recorded). Either way no one touches the node after the waiter returns.

use crate::runtime::g::WaitReason;
use crate::runtime::park::{self, Unparker};
use crate::runtime::timers;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering::*};
use std::time::Instant;

/// Not signalled yet.
pub(crate) const WAITING: u8 = 0;

pub(crate) struct Node {
    state: AtomicU8,
    unparker: Unparker,
}

impl Node {
    pub(crate) fn new() -> Node {
        Node {
            state: AtomicU8::new(WAITING),
            unparker: Unparker::current(),
        }
    }

    /// The signal received, or `WAITING`.
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Acquire)
    }

    /// Parks until signalled; returns the signal.
    pub(crate) fn wait(&self, reason: WaitReason) -> u8 {
        loop {
            let s = self.state();
            if s != WAITING {
                return s;
            }
            park::park(reason);
        }
    }

    /// Parks until signalled or `deadline`; returns the signal, or
    /// `WAITING` on timeout (the caller must then dequeue the node under
    /// its lock, and re-check `state()` there).
    pub(crate) fn wait_until(&self, deadline: Option<Instant>, reason: WaitReason) -> u8 {
        if deadline.is_none() {
            return self.wait(reason);
        }
        timers::park_until(deadline, reason, || self.state() != WAITING);
        self.state()
    }

    pub(crate) fn as_ref(&self) -> NodeRef {
        NodeRef(NonNull::from(self))
    }
}

/// A queued node, as the primitive's queue holds it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRef(NonNull<Node>);

// SAFETY: dereferenced only under the owning primitive's lock while the
// node's owner is blocked (see the module docs).
unsafe impl Send for NodeRef {}

impl NodeRef {
    /// Records `signal` and returns whom to wake (after releasing the lock).
    ///
    /// # Safety
    /// The caller holds the primitive's lock and has just removed this node
    /// from its queue; the node is not touched afterwards.
    pub(crate) unsafe fn signal(self, signal: u8) -> Unparker {
        debug_assert_ne!(signal, WAITING);
        // SAFETY: the owner is still blocked: it cannot return before it
        // observes the state we are about to store.
        let node = unsafe { self.0.as_ref() };
        let u = node.unparker.clone();
        node.state.store(signal, Release);
        u
    }
}
