//! Spawning goroutines and joining them: `go`, `go!`, `Builder`,
//! `JoinHandle`.
//!
//! A goroutine's closure, and then its result, live in its G
//! (`runtime/task.rs`), so a spawn allocates nothing: the `JoinHandle` is a
//! reference to the G that keeps it from being reused until joined or
//! dropped.

use crate::runtime::g::{self, GRef};
use crate::runtime::proc;
use crate::runtime::sched::Shared;
use crate::runtime::stack::{self, BUDGET};
use crate::runtime::task;
use crate::scope::ScopeData;
use std::any::Any;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;

/// Spawns `f` into `rt`: checks the stack budget, takes a G, stores the
/// closure in it, queues it. No allocation on the common path.
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
    // SAFETY: F and T are 'static.
    let g = unsafe { spawn_task(rt, f, None, name, stack_size, Location::caller())? };
    Ok(JoinHandle {
        g,
        _result: PhantomData,
    })
}

/// # Safety
/// Every borrow in F and T must outlive the task, i.e. last until
/// `scope.finished()` is called (for `'static` types, trivially).
pub(crate) unsafe fn spawn_task<F, T>(
    rt: &'static Shared,
    f: F,
    scope: Option<Arc<ScopeData>>,
    name: Option<String>,
    stack_size: Option<usize>,
    location: &'static Location<'static>,
) -> io::Result<GRef>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let stack_size = stack_size.map_or(rt.config.stack_size, stack::round_stack_size);
    BUDGET.check_spawn(stack_size, || rt.live())?;
    let g = proc::with_local_gfree(rt, |gfree| {
        g::alloc_g(gfree, rt, stack_size, name, location)
    });
    // SAFETY: the G is fresh off a free list and not yet published; the
    // borrow contract is the caller's.
    unsafe { g.task.init::<F, T>(f, scope) };
    proc::spawn_g(rt, g);
    Ok(g)
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
    g: GRef,
    _result: PhantomData<T>,
}

// SAFETY: the handle only moves a T (Send) out of the G, on one thread.
unsafe impl<T: Send> Send for JoinHandle<T> {}
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine to finish (parking the calling goroutine, or
    /// blocking the calling thread) and returns its value, or `Err` with the
    /// panic payload if it panicked.
    pub fn join(self) -> Result<T, JoinError> {
        // SAFETY: we are the G's join handle, joining once (by value), and
        // the cell was initialised with a closure returning T.
        unsafe { self.g.task.join::<T>() }.map_err(JoinError::from_payload)
    }

    /// True once the goroutine has finished.
    pub fn is_finished(&self) -> bool {
        self.g.task.is_done()
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        task::release(self.g);
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
    /// The panic message, copied out when the error is made, so that the
    /// error can be `Sync` (and go into `Box<dyn Error + Send + Sync>`)
    /// even though the payload itself is only `Send`.
    message: Option<String>,
    payload: SendOnly<Box<dyn Any + Send + 'static>>,
}

/// Holds a `Send` value and makes the holder `Sync` by never handing out a
/// shared reference to it: it only comes out by value.
struct SendOnly<T>(T);

// SAFETY: no `&T` is ever reachable through a `&SendOnly<T>`; the value
// leaves only through `into_inner(self)`, which needs ownership.
unsafe impl<T: Send> Sync for SendOnly<T> {}

impl JoinError {
    pub(crate) fn from_payload(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            message: panic_message(&*payload).map(str::to_owned),
            payload: SendOnly(payload),
        }
    }

    /// The payload passed to `panic!`, to inspect or to re-raise with
    /// `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload.0
    }

    /// The panic message, if the payload is a string.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
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
