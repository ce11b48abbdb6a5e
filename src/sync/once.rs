//! `Once` and `OnceLock<T>`: run initialisation exactly once (Go's
//! `sync.Once`); concurrent callers park until it is done.

use crate::runtime::g::WaitReason;
use crate::runtime::park::{self, Unparker};
use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering::*};

const INCOMPLETE: u8 = 0;
const RUNNING: u8 = 1;
const COMPLETE: u8 = 2;

/// Runs a function once; callers that arrive meanwhile park until it is
/// done.
///
/// As in Go, if the function panics, the `Once` still counts as done (the
/// panic propagates to the caller that ran it; later calls return at once).
///
/// ```
/// static INIT: goro::sync::Once = goro::sync::Once::new();
/// let mut n = 0;
/// INIT.call_once(|| n += 1);
/// INIT.call_once(|| n += 1);
/// assert_eq!(n, 1);
/// ```
pub struct Once {
    state: AtomicU8,
    waiters: parking_lot::Mutex<Vec<Unparker>>,
}

impl Once {
    /// A `Once` that has not run.
    pub const fn new() -> Once {
        Once {
            state: AtomicU8::new(INCOMPLETE),
            waiters: parking_lot::const_mutex(Vec::new()),
        }
    }

    /// True once the function has run.
    pub fn is_completed(&self) -> bool {
        self.state.load(Acquire) == COMPLETE
    }

    /// Runs `f` if no call has yet; otherwise waits for the one running.
    pub fn call_once(&self, f: impl FnOnce()) {
        if self.is_completed() {
            return;
        }
        if self
            .state
            .compare_exchange(INCOMPLETE, RUNNING, Acquire, Acquire)
            .is_ok()
        {
            // Mark complete even if `f` panics (Go's semantics).
            struct Finish<'a>(&'a Once);
            impl Drop for Finish<'_> {
                fn drop(&mut self) {
                    self.0.state.store(COMPLETE, Release);
                    let waiters = std::mem::take(&mut *self.0.waiters.lock());
                    for w in waiters {
                        w.unpark();
                    }
                }
            }
            let _finish = Finish(self);
            f();
            return;
        }
        {
            let mut waiters = self.waiters.lock();
            // Checked under the lock the finisher takes after completing.
            if self.is_completed() {
                return;
            }
            waiters.push(Unparker::current());
        }
        while !self.is_completed() {
            park::park(WaitReason::Other);
        }
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}

/// A value initialised once, on first use.
///
/// ```
/// static CONFIG: goro::sync::OnceLock<String> = goro::sync::OnceLock::new();
/// let v = CONFIG.get_or_init(|| "loaded".to_string());
/// assert_eq!(v, "loaded");
/// assert_eq!(CONFIG.get().map(String::as_str), Some("loaded"));
/// ```
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
    /// Set when `value` holds a T (the initialiser may have panicked).
    set: AtomicU8,
}

// SAFETY: the value is written once (under `once`) and read only after
// `set` is published; T is shared across threads (Sync) and may be sent
// into the lock from any thread (Send).
unsafe impl<T: Send + Sync> Sync for OnceLock<T> {}
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell.
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            set: AtomicU8::new(0),
        }
    }

    /// The value, if initialised.
    pub fn get(&self) -> Option<&T> {
        // SAFETY: `set` is published (release) after the value is written.
        (self.set.load(Acquire) == 1).then(|| unsafe { (*self.value.get()).assume_init_ref() })
    }

    /// The value, initialising it with `f` if no one has yet; concurrent
    /// callers park until it is ready.
    ///
    /// # Panics
    /// If `f` panicked in an earlier call (as Go's `Once`, no second try).
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        self.once.call_once(|| {
            let v = f();
            // SAFETY: inside the `Once`: the only writer, and no reader
            // until `set` is published.
            unsafe { (*self.value.get()).write(v) };
            self.set.store(1, Release);
        });
        self.get().expect("OnceLock initialiser panicked earlier")
    }

    /// Sets the value if empty; otherwise gives `value` back.
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.once.call_once(|| {
            // SAFETY: inside the `Once`: the only writer, and no reader
            // until `set` is published.
            unsafe { (*self.value.get()).write(value.take().expect("taken once")) };
            self.set.store(1, Release);
        });
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        OnceLock::new()
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if *self.set.get_mut() == 1 {
            // SAFETY: initialised, and we are the last owner.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceLock").field(&self.get()).finish()
    }
}
