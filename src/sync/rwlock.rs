//! `RwLock<T>`: many readers or one writer (Go's `sync.RWMutex`).
//!
//! Writer-preferring, as Go's: once a writer waits, new readers queue
//! behind it, so a stream of readers cannot starve writers; and when a
//! writer unlocks, every reader that queued meanwhile is let in together,
//! so writers cannot starve readers either. Ownership is handed to waiters
//! directly (a woken waiter already holds the lock).

use super::waiter::{Node, NodeRef};
use crate::runtime::g::WaitReason;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};

const GRANTED: u8 = 1;

/// A reader-writer lock whose waiters park the goroutine.
///
/// ```
/// let lock = goro::sync::RwLock::new(5);
/// {
///     let r1 = lock.read();
///     let r2 = lock.read();
///     assert_eq!(*r1 + *r2, 10);
/// }
/// *lock.write() += 1;
/// assert_eq!(*lock.read(), 6);
/// ```
pub struct RwLock<T: ?Sized> {
    state: parking_lot::Mutex<State>,
    data: UnsafeCell<T>,
}

#[derive(Default)]
struct State {
    readers: usize,
    writer: bool,
    waiting_writers: usize,
    queue: VecDeque<(bool, NodeRef)>,
}

// SAFETY: the lock protocol serialises writers and excludes them from
// readers; readers share &T across threads (T: Sync), writers move &mut T
// (T: Send).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access; see [`RwLock::read`].
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive access; see [`RwLock::write`].
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

// SAFETY: as for the lock itself.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
unsafe impl<T: ?Sized + Send> Send for RwLockWriteGuard<'_, T> {}
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock.
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            state: parking_lot::Mutex::new(State::default()),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, waiting while a writer holds or waits for it.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        let node = Node::new();
        {
            let mut s = self.state.lock();
            if !s.writer && s.waiting_writers == 0 {
                s.readers += 1;
                return RwLockReadGuard { lock: self };
            }
            s.queue.push_back((false, node.as_ref()));
        }
        node.wait(WaitReason::Mutex);
        RwLockReadGuard { lock: self }
    }

    /// Locks for writing, waiting for readers and writers to leave.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let node = Node::new();
        {
            let mut s = self.state.lock();
            if !s.writer && s.readers == 0 {
                s.writer = true;
                return RwLockWriteGuard { lock: self };
            }
            s.waiting_writers += 1;
            s.queue.push_back((true, node.as_ref()));
        }
        node.wait(WaitReason::Mutex);
        RwLockWriteGuard { lock: self }
    }

    /// Read-locks only if that needs no waiting.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let mut s = self.state.lock();
        (!s.writer && s.waiting_writers == 0).then(|| {
            s.readers += 1;
            RwLockReadGuard { lock: self }
        })
    }

    /// Write-locks only if that needs no waiting.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let mut s = self.state.lock();
        (!s.writer && s.readers == 0).then(|| {
            s.writer = true;
            RwLockWriteGuard { lock: self }
        })
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn read_unlock(&self) {
        let mut s = self.state.lock();
        s.readers -= 1;
        // The last reader out lets the first waiting writer in.
        let wakes = if s.readers == 0 {
            grant(&mut s, false)
        } else {
            Vec::new()
        };
        drop(s);
        for u in wakes {
            u.unpark();
        }
    }

    fn write_unlock(&self) {
        let mut s = self.state.lock();
        s.writer = false;
        // A writer out lets in every reader that queued meanwhile.
        let wakes = grant(&mut s, true);
        drop(s);
        for u in wakes {
            u.unpark();
        }
    }
}

/// The lock just became free (no writer, no readers): hand it on. After a
/// writer, readers that queued while it held the lock all come in together
/// (else the next writer); after the last reader, the first queued writer
/// (else the readers).
fn grant(s: &mut State, readers_first: bool) -> Vec<crate::runtime::park::Unparker> {
    let mut wakes = Vec::new();
    let has_reader = s.queue.iter().any(|(writer, _)| !writer);
    let first_writer = s.queue.iter().position(|(writer, _)| *writer);
    let admit_readers = has_reader && (readers_first || first_writer.is_none());
    if admit_readers {
        let mut remaining = VecDeque::with_capacity(s.queue.len());
        for (writer, node) in s.queue.drain(..) {
            if writer {
                remaining.push_back((writer, node));
            } else {
                s.readers += 1;
                // SAFETY: under the state lock, just dequeued.
                wakes.push(unsafe { node.signal(GRANTED) });
            }
        }
        s.queue = remaining;
    } else if let Some((_, node)) = first_writer.and_then(|i| s.queue.remove(i)) {
        s.writer = true;
        s.waiting_writers -= 1;
        // SAFETY: under the state lock, just dequeued.
        wakes.push(unsafe { node.signal(GRANTED) });
    }
    wakes
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold a read lock: no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the write lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the write lock, exclusively.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Some(g) => f.debug_struct("RwLock").field("data", &&*g).finish(),
            None => f.debug_struct("RwLock").field("data", &"<locked>").finish(),
        }
    }
}
