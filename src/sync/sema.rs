//! A semaphore for the runtime's own sync types (Go's `runtime_Semacquire`
//! / `runtime_Semrelease`): a permit count plus a FIFO queue of parked
//! waiters. `release` hands its permit straight to the first waiter.

use super::waiter::{Node, NodeRef};
use crate::runtime::g::WaitReason;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering::*};

const GRANTED: u8 = 1;

pub(crate) struct Sema {
    permits: AtomicU32,
    queue: parking_lot::Mutex<VecDeque<NodeRef>>,
}

impl Sema {
    pub(crate) const fn new() -> Sema {
        Sema {
            permits: AtomicU32::new(0),
            queue: parking_lot::const_mutex(VecDeque::new()),
        }
    }

    fn try_take(&self) -> bool {
        let mut n = self.permits.load(Relaxed);
        while n > 0 {
            match self
                .permits
                .compare_exchange_weak(n, n - 1, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    /// Takes a permit, parking until one is released. `lifo` queues at the
    /// front (Go does so for a waiter that already waited once).
    pub(crate) fn acquire(&self, lifo: bool, reason: WaitReason) {
        if self.try_take() {
            return;
        }
        let node = Node::new();
        {
            let mut queue = self.queue.lock();
            // Checked under the lock `release` takes: no lost permit.
            if self.try_take() {
                return;
            }
            if lifo {
                queue.push_front(node.as_ref());
            } else {
                queue.push_back(node.as_ref());
            }
        }
        node.wait(reason);
    }

    /// Releases a permit: to the first waiter directly, else to the count.
    pub(crate) fn release(&self) {
        let mut queue = self.queue.lock();
        match queue.pop_front() {
            Some(node) => {
                // SAFETY: under the queue lock, just dequeued.
                let u = unsafe { node.signal(GRANTED) };
                drop(queue);
                u.unpark();
            }
            None => {
                self.permits.fetch_add(1, Release);
            }
        }
    }
}
