//! `Condvar`: wait for a condition under a [`Mutex`] (Go's `sync.Cond`).

use super::mutex::MutexGuard;
use super::waiter::{Node, NodeRef, WAITING};
use crate::runtime::g::WaitReason;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const NOTIFIED: u8 = 1;

/// A condition variable for goro's [`Mutex`](super::Mutex).
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{Condvar, Mutex};
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let p = pair.clone();
/// goro::go(move || {
///     *p.0.lock() = true;
///     p.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// while !*ready {
///     ready = pair.1.wait(ready);
/// }
/// ```
#[derive(Default)]
pub struct Condvar {
    queue: parking_lot::Mutex<VecDeque<NodeRef>>,
}

/// Whether a timed wait timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended because time ran out.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Condvar {
        Condvar {
            queue: parking_lot::const_mutex(VecDeque::new()),
        }
    }

    /// Unlocks the guard's mutex, waits for a notification, and locks it
    /// again. Wake-ups can be spurious: wait in a loop on the condition.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_until_inner(guard, None).0
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`.
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        self.wait_until_inner(guard, crate::time::deadline_after(timeout))
    }

    /// Waits while `condition` holds.
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    fn wait_until_inner<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let mutex = guard.mutex();
        let node = Node::new();
        // Queue before unlocking: a notifier must hold the mutex to change
        // the condition, so it cannot notify between our unlock and park.
        self.queue.lock().push_back(node.as_ref());
        drop(guard);
        let mut timed_out = false;
        if node.wait_until(deadline, WaitReason::Condvar) == WAITING {
            let mut queue = self.queue.lock();
            if let Some(i) = queue.iter().position(|n| *n == node.as_ref()) {
                queue.remove(i);
                timed_out = true;
            }
            // Else a notifier dequeued and signalled us under this lock.
        }
        (mutex.lock(), WaitTimeoutResult(timed_out))
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        let mut queue = self.queue.lock();
        // SAFETY: under the queue lock, just dequeued.
        let wake = queue.pop_front().map(|n| unsafe { n.signal(NOTIFIED) });
        drop(queue);
        if let Some(u) = wake {
            u.unpark();
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let mut queue = self.queue.lock();
        // SAFETY: under the queue lock, each just dequeued.
        let wakes: Vec<_> = queue
            .drain(..)
            .map(|n| unsafe { n.signal(NOTIFIED) })
            .collect();
        drop(queue);
        for u in wakes {
            u.unpark();
        }
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
