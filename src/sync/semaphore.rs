//! `Semaphore`: a counted set of permits, handed to waiters in FIFO order
//! (Go's `x/sync/semaphore`, with one permit per acquire).

use super::waiter::{Node, NodeRef, WAITING};
use crate::runtime::g::WaitReason;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

const GRANTED: u8 = 1;

/// A counting semaphore whose waiters park the goroutine.
///
/// ```
/// let sem = goro::sync::Semaphore::new(2);
/// let a = sem.acquire();
/// let _b = sem.acquire();
/// assert!(sem.try_acquire().is_none());
/// drop(a);
/// assert!(sem.try_acquire().is_some());
/// ```
pub struct Semaphore {
    state: parking_lot::Mutex<State>,
}

struct State {
    available: usize,
    queue: VecDeque<NodeRef>,
}

/// A permit; released when dropped.
pub struct Permit<'a> {
    sem: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: parking_lot::Mutex::new(State {
                available: permits,
                queue: VecDeque::new(),
            }),
        }
    }

    /// Permits available now.
    pub fn available_permits(&self) -> usize {
        self.state.lock().available
    }

    /// Takes a permit, waiting for one (FIFO).
    pub fn acquire(&self) -> Permit<'_> {
        self.acquire_until(None).expect("no deadline")
    }

    /// Takes a permit if one is free right now (and nobody is queued).
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut s = self.state.lock();
        (s.available > 0 && s.queue.is_empty()).then(|| {
            s.available -= 1;
            Permit { sem: self }
        })
    }

    /// Takes a permit, waiting at most `timeout`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        self.acquire_until(crate::time::deadline_after(timeout))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> Option<Permit<'_>> {
        let node = Node::new();
        {
            let mut s = self.state.lock();
            if s.available > 0 && s.queue.is_empty() {
                s.available -= 1;
                return Some(Permit { sem: self });
            }
            s.queue.push_back(node.as_ref());
        }
        if node.wait_until(deadline, WaitReason::Mutex) != WAITING {
            return Some(Permit { sem: self });
        }
        let mut s = self.state.lock();
        match s.queue.iter().position(|n| *n == node.as_ref()) {
            Some(i) => {
                s.queue.remove(i);
                None
            }
            // Granted just as we timed out: keep it.
            None => Some(Permit { sem: self }),
        }
    }

    fn release(&self) {
        let mut s = self.state.lock();
        match s.queue.pop_front() {
            // SAFETY: under the state lock, just dequeued.
            Some(node) => {
                let u = unsafe { node.signal(GRANTED) };
                drop(s);
                u.unpark();
            }
            None => s.available += 1,
        }
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        for _ in 0..n {
            self.release();
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.sem.release();
    }
}

impl Permit<'_> {
    /// Keeps the permit taken for good (it is not released on drop).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available_permits())
            .finish()
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}
