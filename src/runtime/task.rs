//! A goroutine's closure and result, stored inside its G.
//!
//! Spawning must not allocate: a G comes off a free list, and the closure
//! is written into the G's own [`TaskCell`] (inline when it is small, the
//! usual case; boxed otherwise). When the goroutine finishes, its result
//! (`Ok(value)` or `Err(panic payload)`) replaces the closure in the same
//! storage, for the `JoinHandle` to take.
//!
//! Because the result lives in the G, a G is reused only when *both* the
//! goroutine has exited and its handle is gone: `G::refs` counts those two
//! owners, and whichever lets go last frees the G ([`release`]).
//!
//! The cell's life:
//!
//! ```text
//! init(f)  → storage holds F, state 0
//! run()    → F taken out and called; storage holds the result; DONE set,
//!            a parked joiner (JOIN_WAITING) unparked
//! join()   → waits for DONE, takes the result (TAKEN)
//! release  → last owner: drops an untaken result, frees the G
//! ```

use super::current;
use super::g::{self, GRef, WaitReason};
use super::park::{self, Unparker};
use crate::scope::ScopeData;
use std::cell::UnsafeCell;
use std::mem::{align_of, size_of, MaybeUninit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering::*};
use std::sync::Arc;

/// The goroutine finished; the storage holds its result.
const DONE: u8 = 1;
/// A joiner stored its `Unparker` in `waiter` and may be parked.
const JOIN_WAITING: u8 = 2;
/// The joiner took the result.
const TAKEN: u8 = 4;

/// Bytes of inline storage: closures and results up to this size (and
/// alignment up to 16) need no allocation.
const INLINE: usize = 48;

#[repr(C, align(16))]
struct Storage([MaybeUninit<u8>; INLINE]);

/// What a goroutine's result is: its value, or its panic.
pub(crate) type Output<T> = std::thread::Result<T>;

/// Type-specific operations on the erased storage.
struct VTable {
    /// Takes the closure, runs it, stores its result.
    run: unsafe fn(*mut Storage),
    /// Drops a stored result nobody took.
    drop_output: unsafe fn(*mut Storage),
    /// Whether a stored result is a panic.
    output_is_panic: unsafe fn(*const Storage) -> bool,
}

pub(crate) struct TaskCell {
    vtable: UnsafeCell<Option<&'static VTable>>,
    state: AtomicU8,
    waiter: UnsafeCell<Option<Unparker>>,
    /// Set for scoped goroutines: told when the task is gone.
    scope: UnsafeCell<Option<Arc<ScopeData>>>,
    storage: UnsafeCell<Storage>,
}

const fn fits_inline<X>() -> bool {
    size_of::<X>() <= INLINE && align_of::<X>() <= align_of::<Storage>()
}

/// # Safety
/// `s` must be valid storage with nothing live in it.
unsafe fn put<X>(s: *mut Storage, x: X) {
    // SAFETY: the storage is large and aligned enough for X (inline) or for
    // a Box (always), and holds nothing that needs dropping.
    unsafe {
        if fits_inline::<X>() {
            ptr::write(s.cast::<X>(), x);
        } else {
            ptr::write(s.cast::<Box<X>>(), Box::new(x));
        }
    }
}

/// # Safety
/// `s` must hold an X written by `put::<X>`, which is moved out.
unsafe fn take<X>(s: *mut Storage) -> X {
    // SAFETY: as the contract says.
    unsafe {
        if fits_inline::<X>() {
            ptr::read(s.cast::<X>())
        } else {
            *ptr::read(s.cast::<Box<X>>())
        }
    }
}

/// # Safety
/// `s` must hold an X written by `put::<X>`.
unsafe fn peek<X>(s: *const Storage) -> *const X {
    // SAFETY: as the contract says.
    unsafe {
        if fits_inline::<X>() {
            s.cast::<X>()
        } else {
            &**s.cast::<Box<X>>()
        }
    }
}

struct Erased<F, T>(std::marker::PhantomData<(F, T)>);

impl<F: FnOnce() -> T, T> Erased<F, T> {
    const VTABLE: VTable = VTable {
        run: Self::run,
        drop_output: Self::drop_output,
        output_is_panic: Self::output_is_panic,
    };

    unsafe fn run(s: *mut Storage) {
        // SAFETY: `run` is called once, on storage initialised with an F.
        let f = unsafe { take::<F>(s) };
        let out: Output<T> = catch_unwind(AssertUnwindSafe(f));
        // SAFETY: F was moved out; the storage is empty.
        unsafe { put(s, out) };
    }

    unsafe fn drop_output(s: *mut Storage) {
        // SAFETY: the caller checked that the storage holds the result.
        drop(unsafe { take::<Output<T>>(s) });
    }

    unsafe fn output_is_panic(s: *const Storage) -> bool {
        // SAFETY: as above.
        unsafe { (*peek::<Output<T>>(s)).is_err() }
    }
}

impl TaskCell {
    pub(crate) const fn new() -> TaskCell {
        TaskCell {
            vtable: UnsafeCell::new(None),
            state: AtomicU8::new(0),
            waiter: UnsafeCell::new(None),
            scope: UnsafeCell::new(None),
            storage: UnsafeCell::new(Storage([MaybeUninit::uninit(); INLINE])),
        }
    }

    /// Stores the closure of a new goroutine.
    ///
    /// # Safety
    /// The cell must be empty (its G fresh off a free list, not yet
    /// published), and every borrow in F and T must outlive the task (for
    /// non-`'static` types: until `ScopeData::finished` is called).
    pub(crate) unsafe fn init<F, T>(&self, f: F, scope: Option<Arc<ScopeData>>)
    where
        F: FnOnce() -> T,
    {
        // SAFETY: the G has no other holder yet (contract).
        unsafe {
            put(self.storage.get(), f);
            *self.vtable.get() = Some(&Erased::<F, T>::VTABLE);
            *self.scope.get() = scope;
        }
        self.state.store(0, Relaxed);
    }

    /// Runs the closure and publishes the result. Called once, by the
    /// goroutine itself.
    pub(crate) fn run(&self) {
        // SAFETY: the goroutine is the only party touching the storage
        // until DONE is published; `init` set the vtable before the G was
        // queued (release/acquire through the run queue).
        unsafe {
            let vtable = (*self.vtable.get()).expect("task has no closure");
            (vtable.run)(self.storage.get());
        }
    }

    /// Publishes the result stored by `run` and wakes a waiting joiner.
    /// Called once, by the goroutine, after its goroutine-locals are gone
    /// (so that, as with std's threads, `join` returning means every
    /// destructor of the goroutine has run).
    pub(crate) fn publish(&self) {
        let prev = self.state.fetch_or(DONE, AcqRel);
        if prev & JOIN_WAITING != 0 {
            // SAFETY: the joiner wrote `waiter` before setting JOIN_WAITING
            // (which we acquired) and no longer touches it.
            if let Some(w) = unsafe { (*self.waiter.get()).take() } {
                w.unpark();
            }
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Acquire) & DONE != 0
    }

    /// Waits for the result and takes it.
    ///
    /// # Safety
    /// Only the join handle may call this, at most once, and `T` must be
    /// the type the cell was initialised with.
    pub(crate) unsafe fn join<T>(&self) -> Output<T> {
        if !self.is_done() {
            // SAFETY: `waiter` is ours until we publish JOIN_WAITING.
            unsafe { *self.waiter.get() = Some(Unparker::current()) };
            let prev = self.state.fetch_or(JOIN_WAITING, AcqRel);
            if prev & DONE == 0 {
                while !self.is_done() {
                    park::park(WaitReason::Join);
                }
            }
        }
        self.state.fetch_or(TAKEN, Relaxed);
        // SAFETY: DONE was observed (acquire): the result is stored and the
        // goroutine no longer touches the storage; T is the cell's type.
        unsafe { take::<Output<T>>(self.storage.get()) }
    }
}

/// Drops one of the G's two owners (the goroutine, at exit; the handle, at
/// join or drop). The last one clears the cell and frees the G.
pub(crate) fn release(g: GRef) {
    if g.refs.fetch_sub(1, AcqRel) != 1 {
        return;
    }
    let cell = &g.task;
    let state = cell.state.load(Acquire);
    // SAFETY: both owners are gone: we have the cell to ourselves. The
    // goroutine finished (it releases only after `run`), so DONE is set and
    // the storage holds the result unless the handle took it.
    let (unclaimed_panic, scope) = unsafe {
        let vtable = (*cell.vtable.get()).take().expect("task has a vtable");
        let mut unclaimed_panic = false;
        if state & DONE != 0 && state & TAKEN == 0 {
            unclaimed_panic = (vtable.output_is_panic)(cell.storage.get());
            // The value's destructor is user code: a panic in it must not
            // unwind through the scheduler (this may run on an M). The
            // panic hook has reported it.
            let storage = cell.storage.get();
            let _ = catch_unwind(AssertUnwindSafe(|| (vtable.drop_output)(storage)));
        }
        *cell.waiter.get() = None;
        ((unclaimed_panic), (*cell.scope.get()).take())
    };
    free(g);
    // Only now, with the result dropped, may a scope that borrowed end.
    if let Some(scope) = scope {
        scope.finished(unclaimed_panic);
    }
}

/// Puts a G whose owners are gone on a free list: the current P's if we are
/// on one of its runtime's Ms, else the global one.
fn free(g: GRef) {
    let rt = g.runtime();
    match current::m() {
        Some(m) if ptr::eq(m.rt, rt) && m.try_p().is_some() => {
            // SAFETY: we hold the P.
            g::free_g(Some(unsafe { &mut m.p().local().gfree }), g)
        }
        _ => g::free_g(None, g),
    }
}
