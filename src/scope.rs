//! Scoped goroutines: `goro::scope`, like `std::thread::scope`.
//!
//! Goroutines spawned in a scope may borrow from the caller's stack, because
//! `scope` does not return until every one of them has finished and dropped
//! what it borrowed. A scoped goroutine that panicked and was not joined
//! makes `scope` panic after all have finished.

use crate::runtime::g::{GRef, WaitReason};
use crate::runtime::park::{self, Unparker};
use crate::runtime::task;
use crate::spawn::{self, JoinError};
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;

/// Book-keeping shared by a scope and its goroutines.
pub(crate) struct ScopeData {
    running: AtomicUsize,
    a_goroutine_panicked: AtomicBool,
    owner: Unparker,
}

impl ScopeData {
    /// A scoped task was dropped: its goroutine is done with every borrow.
    pub(crate) fn finished(&self, unclaimed_panic: bool) {
        if unclaimed_panic {
            self.a_goroutine_panicked.store(true, Relaxed);
        }
        if self.running.fetch_sub(1, Release) == 1 {
            self.owner.clone().unpark();
        }
    }
}

/// A scope to spawn goroutines in; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    rt: &'static crate::runtime::sched::Shared,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// A handle to join a scoped goroutine.
pub struct ScopedJoinHandle<'scope, T> {
    g: GRef,
    _result: PhantomData<&'scope T>,
}

// SAFETY: as for `JoinHandle`: only a T (Send) moves out, on one thread.
unsafe impl<T: Send> Send for ScopedJoinHandle<'_, T> {}
unsafe impl<T: Send> Sync for ScopedJoinHandle<'_, T> {}

/// Creates a scope for spawning goroutines that borrow from the caller.
///
/// Every goroutine spawned in it is finished when `scope` returns.
///
/// ```
/// let mut counts = vec![0u32; 4];
/// goro::scope(|s| {
///     for (i, c) in counts.iter_mut().enumerate() {
///         s.go(move || *c = i as u32 * 10);
///     }
/// });
/// assert_eq!(counts, [0, 10, 20, 30]);
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            a_goroutine_panicked: AtomicBool::new(false),
            owner: Unparker::current(),
        }),
        rt: crate::runtime::current_or_default(),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    while scope.data.running.load(Acquire) != 0 {
        park::park(WaitReason::Scope);
    }
    match result {
        Err(payload) => resume_unwind(payload),
        Ok(_) if scope.data.a_goroutine_panicked.load(Relaxed) => {
            panic!("a scoped goroutine panicked")
        }
        Ok(value) => value,
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a goroutine that may borrow anything that outlives the scope.
    ///
    /// # Panics
    /// If no stack can be had for it, as [`crate::go`].
    #[track_caller]
    pub fn go<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.data.running.fetch_add(1, Relaxed);
        // SAFETY: `scope` does not return (so 'scope does not end) until
        // `running` is back to zero, i.e. until every task was dropped.
        let spawned = unsafe {
            spawn::spawn_task(
                self.rt,
                f,
                Some(self.data.clone()),
                None,
                None,
                Location::caller(),
            )
        };
        match spawned {
            Ok(g) => ScopedJoinHandle {
                g,
                _result: PhantomData,
            },
            Err(e) => {
                // Never spawned: the scope must not wait for it.
                self.data.running.fetch_sub(1, Relaxed);
                panic!("{e}")
            }
        }
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the goroutine and returns its value, or `Err` with its
    /// panic.
    pub fn join(self) -> Result<T, JoinError> {
        // SAFETY: we are the G's join handle, joining once (by value), and
        // the cell holds a closure returning T.
        unsafe { self.g.task.join::<T>() }.map_err(JoinError::from_payload)
    }

    /// True once the goroutine has finished.
    pub fn is_finished(&self) -> bool {
        self.g.task.is_done()
    }
}

impl<T> Drop for ScopedJoinHandle<'_, T> {
    fn drop(&mut self) {
        task::release(self.g);
    }
}
