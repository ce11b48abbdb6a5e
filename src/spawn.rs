//! Spawning goroutines and joining them: `go`, `go!`, `Builder`,
//! `JoinHandle`.
//!
//! A goroutine's closure and its result share one allocation, a `Task`:
//! the G holds it as something to run, the `JoinHandle` as something to
//! read the result from. Completion and joining meet on one atomic state
//! word (`DONE`, `JOIN_WAITING`), so a join that comes first parks and the
//! finishing goroutine unparks it, and a join that comes second just reads.

use crate::runtime::g::{self, WaitReason};
use crate::runtime::park::{self, Unparker};
use crate::runtime::proc;
use crate::runtime::sched::Shared;
use crate::runtime::stack::{self, BUDGET};
use crate::scope::ScopeData;
use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicU8, Ordering::*};
use std::sync::Arc;

/// The goroutine finished; its result is in `result`.
const DONE: u8 = 1;
/// A joiner stored its `Unparker` in `waiter` and may be parked.
const JOIN_WAITING: u8 = 2;

/// Where a goroutine's result goes, shared by the goroutine and its handle.
pub(crate) struct Packet<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<std::thread::Result<T>>>,
    waiter: UnsafeCell<Option<Unparker>>,
}

// SAFETY: `result` is written once by the goroutine before DONE is set
// (release) and read by the joiner only after it saw DONE (acquire);
// `waiter` is written by the joiner before JOIN_WAITING is set and read by
// the goroutine only after it saw JOIN_WAITING. T crosses threads, so T:
// Send is required.
unsafe impl<T: Send> Sync for Packet<T> {}
unsafe impl<T: Send> Send for Packet<T> {}

impl<T> Packet<T> {
    pub(crate) fn new() -> Self {
        Packet {
            state: AtomicU8::new(0),
            result: UnsafeCell::new(None),
            waiter: UnsafeCell::new(None),
        }
    }

    /// Stores the result and wakes a waiting joiner. Called once.
    pub(crate) fn complete(&self, result: std::thread::Result<T>) {
        // SAFETY: nobody reads `result` before DONE is published below.
        unsafe { *self.result.get() = Some(result) };
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

    /// Waits for the result and takes it. Called at most once.
    pub(crate) fn wait(&self, reason: WaitReason) -> std::thread::Result<T> {
        if !self.is_done() {
            // SAFETY: `waiter` is ours until we publish JOIN_WAITING.
            unsafe { *self.waiter.get() = Some(Unparker::current()) };
            let prev = self.state.fetch_or(JOIN_WAITING, AcqRel);
            if prev & DONE == 0 {
                while !self.is_done() {
                    park::park(reason);
                }
            }
        }
        // SAFETY: DONE was observed (acquire): the result is written and the
        // goroutine no longer touches it.
        unsafe { (*self.result.get()).take() }.expect("goroutine result taken twice")
    }

    /// True if the goroutine panicked and nobody took the panic.
    pub(crate) fn has_unclaimed_panic(&mut self) -> bool {
        matches!(self.result.get_mut(), Some(Err(_)))
    }
}

/// A goroutine's closure plus its result packet: the one allocation a
/// spawn makes.
struct Task<F, T> {
    closure: UnsafeCell<Option<F>>,
    packet: Packet<T>,
    /// Set for scoped goroutines: told when the task (and with it every
    /// borrow in the closure and the result) is gone.
    scope: Option<Arc<ScopeData>>,
}

impl<F, T> Drop for Task<F, T> {
    fn drop(&mut self) {
        if let Some(scope) = self.scope.take() {
            let unclaimed_panic = self.packet.has_unclaimed_panic();
            // Drop the result (which may borrow) before the scope may end.
            *self.packet.result.get_mut() = None;
            *self.closure.get_mut() = None;
            scope.finished(unclaimed_panic);
        }
    }
}

// SAFETY: `closure` is taken exactly once, by the goroutine, which is the
// only party that touches it; F: Send lets it move to the goroutine's thread.
unsafe impl<F: Send, T: Send> Sync for Task<F, T> {}

/// What a G runs.
pub(crate) trait Entry: Send + Sync {
    fn run(&self);
}

/// What a join handle reads.
pub(crate) trait Joinable<T>: Send + Sync {
    fn packet(&self) -> &Packet<T>;
}

impl<F, T> Entry for Task<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(&self) {
        // SAFETY: `run` is called once, by the goroutine; nobody else
        // touches `closure`.
        let f = unsafe { (*self.closure.get()).take() }.expect("goroutine entry run twice");
        self.packet.complete(catch_unwind(AssertUnwindSafe(f)));
    }
}

impl<F, T> Joinable<T> for Task<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn packet(&self) -> &Packet<T> {
        &self.packet
    }
}

/// Spawns `f` into `rt`: reserves stack budget, takes a G, queues it.
#[track_caller]
pub(crate) fn spawn_on<F, T>(
    rt: &'static Shared,
    f: F,
    name: Option<String>,
    stack_size: Option<usize>,
) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let task = Arc::new(Task {
        closure: UnsafeCell::new(Some(f)),
        packet: Packet::new(),
        scope: None,
    });
    let entry: Arc<dyn Entry> = task.clone();
    let target: Arc<dyn Joinable<T>> = task;
    spawn_entry(rt, entry, name, stack_size, Location::caller())?;
    Ok(JoinHandle { task: target })
}

/// Queues a G that will run `entry`.
pub(crate) fn spawn_entry(
    rt: &'static Shared,
    entry: Arc<dyn Entry>,
    name: Option<String>,
    stack_size: Option<usize>,
    location: &'static Location<'static>,
) -> io::Result<()> {
    BUDGET.check_spawn(rt.live.load(Relaxed))?;
    rt.live.fetch_add(1, Relaxed);
    let stack_size = stack_size.map_or(rt.config.stack_size, stack::round_stack_size);
    let g = proc::with_local_gfree(rt, |gfree| {
        g::alloc_g(gfree, rt, entry, stack_size, name, location)
    });
    proc::spawn_g(rt, g);
    Ok(())
}

/// Spawns a goroutine running `f` (Go's `go f()`), in the current runtime —
/// or, on a plain thread, in the default runtime, which starts on first use.
///
/// Drop the handle to detach the goroutine; `join` it to wait for its value.
///
/// # Panics
/// If no stack can be had for it (see [`Builder::spawn`] for the error).
///
/// ```
/// let h = goro::go(|| "hello from a goroutine");
/// assert_eq!(h.join().unwrap(), "hello from a goroutine");
/// ```
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_on(crate::runtime::current_or_default(), f, None, None).unwrap_or_else(|e| panic!("{e}"))
}

/// `go!(expr)` spawns a goroutine evaluating `expr`, like Go's `go f(x)`;
/// `go!(move || ...)` is accepted too. Returns the [`JoinHandle`].
///
/// ```
/// let x = 20;
/// let h = goro::go!(x + 22);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
#[macro_export]
macro_rules! go {
    (move || $body:expr) => {
        $crate::go(move || $body)
    };
    ($body:expr) => {
        $crate::go(move || $body)
    };
}

/// Spawns a goroutine with options.
///
/// ```
/// let h = goro::Builder::new()
///     .name("worker-1".into())
///     .stack_size(64 * 1024)
///     .spawn(|| 1 + 1)
///     .unwrap();
/// assert_eq!(h.join().unwrap(), 2);
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with the runtime's defaults.
    pub fn new() -> Self {
        Builder::default()
    }

    /// A name shown in panics, stack-overflow reports and `goro::dump`.
    pub fn name(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    /// Stack size in bytes (rounded up to pages; at least 16 KiB).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns the goroutine. Fails — without disturbing running goroutines
    /// — when no stack could be had: the error names `vm.max_map_count`,
    /// the number of live goroutines and the `sysctl` that raises it.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_on(
            crate::runtime::current_or_default(),
            f,
            self.name,
            self.stack_size,
        )
    }
}

/// An owned permission to join a goroutine (wait for it and take its
/// value). Dropping it detaches the goroutine.
pub struct JoinHandle<T> {
    pub(crate) task: Arc<dyn Joinable<T>>,
}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine to finish (parking the calling goroutine, or
    /// blocking the calling thread) and returns its value, or `Err` with the
    /// panic payload if it panicked.
    pub fn join(self) -> Result<T, JoinError> {
        self.task
            .packet()
            .wait(WaitReason::Join)
            .map_err(|payload| JoinError { payload })
    }

    /// True once the goroutine has finished.
    pub fn is_finished(&self) -> bool {
        self.task.packet().is_done()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A goroutine panicked; this carries the panic payload.
pub struct JoinError {
    payload: Box<dyn Any + Send + 'static>,
}

impl JoinError {
    pub(crate) fn from_payload(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError { payload }
    }

    /// The payload passed to `panic!`, to inspect or to re-raise with
    /// `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }

    /// The panic message, if the payload is a string.
    pub fn message(&self) -> Option<&str> {
        panic_message(&*self.payload)
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "goroutine panicked: {m}"),
            None => write!(f, "goroutine panicked"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Makes panics inside goroutines name the goroutine ("goroutine 7 (name)
/// panicked at ...") instead of the OS thread that happened to run it;
/// panics elsewhere go to the hook that was installed before.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some(g) = crate::runtime::current::g() else {
                return previous(info);
            };
            let id = g.id.load(Relaxed);
            let name = g.name().map(|n| format!(" ({n})")).unwrap_or_default();
            let msg = panic_message(info.payload()).unwrap_or("Box<dyn Any>");
            let at = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            eprintln!("goroutine {id}{name} panicked{at}:\n{msg}");
        }));
    });
}

/// Spawns a goroutine whose closure and result may borrow for `'scope`.
///
/// # Safety
/// The caller must not let `'scope` end before the task has been dropped,
/// which `ScopeData::finished` reports; `goro::scope` waits for exactly
/// that.
#[track_caller]
pub(crate) unsafe fn spawn_scoped<'scope, F, T>(
    rt: &'static Shared,
    f: F,
    scope: Arc<ScopeData>,
) -> io::Result<Arc<dyn Joinable<T> + 'scope>>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    let task = Arc::new(Task {
        closure: UnsafeCell::new(Some(f)),
        packet: Packet::new(),
        scope: Some(scope),
    });
    let entry: Arc<dyn Entry + 'scope> = task.clone();
    // SAFETY: lifetime erasure only. The caller keeps every borrow in F and
    // T alive until the task is dropped, which happens after the G has
    // dropped this entry.
    let entry: Arc<dyn Entry> =
        unsafe { std::mem::transmute::<Arc<dyn Entry + 'scope>, Arc<dyn Entry>>(entry) };
    spawn_entry(rt, entry, None, None, Location::caller())?;
    Ok(task)
}
