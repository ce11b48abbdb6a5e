//! Goroutine-local storage: `goro::local!`, the goroutine counterpart of
//! `thread_local!`.
//!
//! A goroutine may move between OS threads whenever it parks, so a
//! `thread_local!` is the wrong tool for per-goroutine state (and a
//! reference into one must not be held across a park). A `goro::local!`
//! value belongs to the goroutine: each goroutine sees its own, initialised
//! on first use and dropped when the goroutine ends. On a plain thread it
//! behaves like a thread-local.

use crate::runtime::current;
use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering::*};

/// Declares goroutine-local statics.
///
/// ```
/// use std::cell::Cell;
/// goro::local! {
///     static COUNTER: Cell<u32> = Cell::new(0);
/// }
/// let a = goro::go(|| { COUNTER.with(|c| c.set(c.get() + 5)); COUNTER.with(Cell::get) });
/// let b = goro::go(|| COUNTER.with(Cell::get));
/// assert_eq!((a.join().unwrap(), b.join().unwrap()), (5, 0));
/// ```
#[macro_export]
macro_rules! local {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;)+) => {
        $(
            $(#[$attr])*
            $vis static $name: $crate::LocalKey<$t> = {
                fn __goro_local_init() -> $t { $init }
                $crate::LocalKey::new(__goro_local_init)
            };
        )+
    };
}

/// A key for a goroutine-local value, made by [`local!`](crate::local!).
pub struct LocalKey<T: 'static> {
    init: fn() -> T,
    /// Slot index, assigned on first use (0 = not yet; index + 1 otherwise).
    slot: AtomicUsize,
}

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The slots of a plain (non-goroutine) thread.
    static THREAD_SLOTS: RefCell<Vec<Option<Box<dyn Any>>>> = const { RefCell::new(Vec::new()) };
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> Self {
        LocalKey {
            init,
            slot: AtomicUsize::new(0),
        }
    }

    fn slot(&self) -> usize {
        match self.slot.load(Acquire) {
            0 => {
                let fresh = NEXT_SLOT.fetch_add(1, Relaxed) + 1;
                match self.slot.compare_exchange(0, fresh, AcqRel, Acquire) {
                    Ok(_) => fresh - 1,
                    Err(won) => won - 1,
                }
            }
            s => s - 1,
        }
    }

    /// Calls `f` with this goroutine's value, initialising it on first use.
    ///
    /// `f` may park: the value stays with the goroutine wherever it resumes.
    ///
    /// # Panics
    /// If the initialiser itself uses the same key.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let slot = self.slot();
        match current::g() {
            Some(g) => {
                // SAFETY: the running goroutine is its G's sole holder; the
                // borrow of `locals` ends before `init` or `f` run, and the
                // value lives in its own Box, which does not move when the
                // vector grows, and is only dropped when the goroutine ends.
                let ptr = unsafe {
                    let locals = &mut g.owned_mut().locals;
                    if locals.len() <= slot {
                        locals.resize_with(slot + 1, || None);
                    }
                    locals[slot].as_deref().map(|v| v as *const dyn Any)
                };
                let ptr = match ptr {
                    Some(p) => p,
                    None => {
                        let value: Box<dyn Any> = Box::new((self.init)());
                        // SAFETY: as above; the slot is still empty unless
                        // the initialiser re-entered, which we refuse.
                        unsafe {
                            let cell = &mut g.owned_mut().locals[slot];
                            assert!(cell.is_none(), "goro::local! initialiser used its own key");
                            let p = &*value as *const dyn Any;
                            *cell = Some(value);
                            p
                        }
                    }
                };
                // SAFETY: the Box lives until the goroutine ends, after `f`.
                f(unsafe { &*ptr }.downcast_ref::<T>().expect("slot holds T"))
            }
            None => {
                let ptr = THREAD_SLOTS.with(|slots| {
                    let existing = {
                        let mut slots = slots.borrow_mut();
                        if slots.len() <= slot {
                            slots.resize_with(slot + 1, || None);
                        }
                        slots[slot].as_deref().map(|v| v as *const dyn Any)
                    };
                    existing.unwrap_or_else(|| {
                        let value: Box<dyn Any> = Box::new((self.init)());
                        let p = &*value as *const dyn Any;
                        slots.borrow_mut()[slot] = Some(value);
                        p
                    })
                });
                // SAFETY: thread slots live until the thread exits, and are
                // never replaced once set.
                f(unsafe { &*ptr }.downcast_ref::<T>().expect("slot holds T"))
            }
        }
    }
}
