//! Synchronisation primitives that park goroutines, not threads (Go's
//! `sync`).
//!
//! Each works from goroutines and plain threads alike, and is built on the
//! runtime's one park/unpark primitive: a waiter queues a node on its own
//! stack and parks until signalled (`waiter.rs`). None of them spins
//! unboundedly or sleeps in a loop. Guards may be held across a park.

mod barrier;
mod condvar;
mod mutex;
mod once;
mod rwlock;
mod sema;
mod semaphore;
mod waiter;
mod waitgroup;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceLock};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{Permit, Semaphore};
pub use waitgroup::WaitGroup;
