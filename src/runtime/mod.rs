//! The runtime core: Go's G-M-P scheduler.
//!
//! # The model
//!
//! * **G** (`g.rs`) — a goroutine: an execution context (`context.rs`) on
//!   its own stack (`stack.rs`), a status, a wait reason and a park token.
//! * **M** (`proc.rs`) — an OS thread that runs Gs, one at a time.
//! * **P** (`sched.rs`) — a processor: the right to run Gs. There are exactly
//!   `procs` Ps (`GORO_MAXPROCS`); an M must hold one to run Gs. Each P has a
//!   lock-free local run queue (`runq.rs`) and a `runnext` slot.
//!
//! Spawning puts the new G in the spawner's `runnext` (it runs soon, on a
//! warm cache); the previous `runnext` moves to the local queue, and a full
//! local queue spills half of itself to the global queue. An M looks for work
//! in `runnext`, its local queue, the global queue (every 61st tick first,
//! for fairness), then steals half of another P's queue; finding nothing, it
//! gives back its P and sleeps (`proc.rs: find_runnable`). Waking Ms is
//! governed by the spinning protocol (`sched.rs`).
//!
//! Blocking is one primitive (`park.rs`): a goroutine parks by switching to
//! its M's native stack — or, if it has just readied a goroutine into its
//! P's `runnext`, straight to that one (`handoff.rs`) — and is made
//! runnable again by `unpark`, which puts it in the waker's `runnext` (Go's
//! hand-off locality).
//!
//! A goroutine's life: `spawn.rs` takes a G off a free list and queues it
//! (no stack yet) → an M picks it → `switch.rs: start` takes a pooled stack
//! and enters it → it runs, parks, is readied, resumes
//! (possibly on another M) → it returns → its stack goes back to the P's
//! cache and its G to the P's free list.
//!
//! # Runtimes
//!
//! A [`Runtime`] is one scheduler: its Ps, queues and Ms. `goro::run` and
//! `goro::go` use a default one, built on first use from the environment.
//! More can be built with [`Runtime::builder`] (tests use this to run the
//! same code on 1 and on 2 Ps). A runtime's bookkeeping is never freed:
//! goroutines and wakers on any thread may refer to it at any time, and
//! leaking a few KiB per runtime is what makes that safe without reference
//! counting on every wake-up. Dropping a `Runtime` stops its idle threads.

pub(crate) mod chaos;
pub(crate) mod context;
pub(crate) mod current;
pub(crate) mod g;
pub(crate) mod handoff;
pub(crate) mod hooks;
pub(crate) mod overflow;
pub(crate) mod park;
pub(crate) mod prefetch;
pub(crate) mod proc;
pub(crate) mod runq;
pub(crate) mod sched;
pub(crate) mod spin;
pub(crate) mod stack;
pub(crate) mod stack_slab;
pub(crate) mod stack_wait;
pub(crate) mod stats;
pub(crate) mod switch;
pub(crate) mod sysmon;
pub(crate) mod task;
pub(crate) mod timer_heap;
pub(crate) mod timers;
pub(crate) mod trace_sched;

use sched::Shared;
use std::io;
use std::sync::OnceLock;

pub use g::{Status, WaitReason};
pub use stats::Stats;

/// Settings of one runtime.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Number of Ps (GOMAXPROCS).
    pub procs: usize,
    /// Default goroutine stack size in bytes (page-rounded).
    pub stack_size: usize,
}

impl Config {
    /// Defaults: `GORO_MAXPROCS` or the CPU count; `GORO_STACK_SIZE` or
    /// 256 KiB.
    fn from_env() -> io::Result<Config> {
        let procs = match std::env::var("GORO_MAXPROCS") {
            Ok(v) => parse_procs(&v)?,
            Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let stack_size = match std::env::var("GORO_STACK_SIZE") {
            Ok(v) => parse_size(&v).ok_or_else(|| {
                invalid(format!(
                    "GORO_STACK_SIZE={v:?} is not a size (bytes, or with a K/M suffix, e.g. 256K)"
                ))
            })?,
            Err(_) => stack::DEFAULT_STACK_SIZE,
        };
        Ok(Config {
            procs,
            stack_size: stack::round_stack_size(stack_size),
        })
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn parse_procs(v: &str) -> io::Result<usize> {
    match v.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(invalid(format!(
            "GORO_MAXPROCS={v:?} is not a positive number of processors"
        ))),
    }
}

/// Parses `"262144"`, `"256K"`, `"256KiB"`, `"1M"`, `"1MiB"`.
pub(crate) fn parse_size(v: &str) -> Option<usize> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A goroutine scheduler: `procs` processors, their queues and threads.
///
/// ```
/// let rt = goro::Runtime::builder().procs(2).build().unwrap();
/// let sum = rt.run(|| {
///     let handles: Vec<_> = (0..10u64).map(|i| goro::go(move || i * i)).collect();
///     handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
/// });
/// assert_eq!(sum, 285);
/// ```
pub struct Runtime {
    shared: &'static Shared,
}

/// Configures a [`Runtime`].
#[derive(Debug, Default)]
pub struct RuntimeBuilder {
    procs: Option<usize>,
    stack_size: Option<usize>,
}

impl RuntimeBuilder {
    /// Number of processors: how many goroutines run in parallel (Go's
    /// `GOMAXPROCS`). Default: `GORO_MAXPROCS`, else the number of CPUs.
    pub fn procs(mut self, n: usize) -> Self {
        self.procs = Some(n);
        self
    }

    /// Default stack size for goroutines, in bytes (rounded up to pages).
    /// Default: `GORO_STACK_SIZE`, else 256 KiB. Stacks are address space;
    /// only the pages a goroutine touches use memory.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Creates the runtime. Its threads start when its first goroutine is
    /// spawned.
    pub fn build(self) -> io::Result<Runtime> {
        let mut config = Config::from_env()?;
        if let Some(p) = self.procs {
            if p == 0 {
                return Err(invalid("procs must be at least 1".into()));
            }
            config.procs = p;
        }
        if let Some(s) = self.stack_size {
            config.stack_size = stack::round_stack_size(s);
        }
        Ok(Runtime::with_config(config))
    }
}

impl Runtime {
    /// Starts configuring a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    fn with_config(config: Config) -> Runtime {
        overflow::install();
        crate::spawn::install_panic_hook();
        Runtime {
            shared: Shared::new(config),
        }
    }

    /// Runs `f` as a goroutine of this runtime (the "main goroutine") and
    /// waits for it, returning its value. A panic in `f` is resumed here.
    ///
    /// Other goroutines it spawned keep running after `run` returns (there
    /// is no process exit to stop them, unlike Go's `main`).
    #[track_caller]
    pub fn run<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle =
            crate::spawn::spawn_on(self.shared, f, None, None).unwrap_or_else(|e| panic!("{e}"));
        match handle.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Number of processors.
    pub fn procs(&self) -> usize {
        self.shared.procs()
    }

    pub(crate) fn shared(&self) -> &'static Shared {
        self.shared
    }
}

impl Drop for Runtime {
    /// Stops the runtime's idle threads. Busy ones stop when they run out of
    /// work; goroutines parked forever are leaked.
    fn drop(&mut self) {
        self.shared.shutdown();
    }
}

/// The default runtime, built on first use.
pub(crate) fn default_runtime() -> &'static Shared {
    static DEFAULT: OnceLock<Runtime> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let config = Config::from_env().unwrap_or_else(|e| panic!("goro: {e}"));
            Runtime::with_config(config)
        })
        .shared()
}

/// The runtime of the calling goroutine, else the default one.
pub(crate) fn current_or_default() -> &'static Shared {
    match current::m() {
        Some(m) => m.rt,
        None => default_runtime(),
    }
}

/// Counters of the current runtime (the default one outside goroutines).
pub fn stats() -> Stats {
    let rt = current_or_default();
    let mut s = Stats {
        ps: rt.procs() as u64,
        ms: rt.nm.load(std::sync::atomic::Ordering::Relaxed) as u64,
        running: rt.live() as u64,
        ..Stats::default()
    };
    for st in rt.ps.iter().map(|p| &*p.stats).chain([&rt.offp_stats]) {
        s.spawned += st.spawned.get();
        s.context_switches += st.switches.get();
        s.steals += st.steals.get();
        s.parks += st.parks.get();
        s.handoffs += st.handoffs.get();
    }
    s.timers = rt.ps.iter().map(|p| p.timers.len() as u64).sum();
    s
}

/// Number of goroutines alive (spawned and not finished) in the current
/// runtime (Go's `runtime.NumGoroutine`).
pub fn num_goroutines() -> usize {
    current_or_default().live()
}

/// The current goroutine's id, or `None` on a plain thread.
pub fn id() -> Option<u64> {
    current::g().map(|g| g.id.load(std::sync::atomic::Ordering::Relaxed))
}

/// Lets other goroutines run (Go's `runtime.Gosched`); on a plain thread,
/// `std::thread::yield_now`.
pub fn yield_now() {
    match current::g() {
        Some(g) => proc::gosched(g),
        None => std::thread::yield_now(),
    }
}

/// Runs `f` as the main goroutine of the default runtime and returns its
/// value; a panic in `f` is resumed in the caller. Called from a goroutine,
/// it simply calls `f`.
///
/// ```
/// let v = goro::run(|| goro::go(|| 6 * 7).join().unwrap());
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn run<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    if current::g().is_some() {
        return f();
    }
    let handle =
        crate::spawn::spawn_on(default_runtime(), f, None, None).unwrap_or_else(|e| panic!("{e}"));
    match handle.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Pins the calling goroutine to its OS thread until
/// [`unlock_os_thread`]: it runs on no other M, and the M runs no other
/// goroutine (Go's `runtime.LockOSThread`). Use it around thread-affine
/// state (thread-locals, FFI that needs one thread). On a plain thread it
/// does nothing.
pub fn lock_os_thread() {
    if let (Some(m), Some(g)) = (current::m(), current::g()) {
        // SAFETY: the running goroutine is its G's sole holder.
        let owned = unsafe { g.owned_mut() };
        owned.locked = true;
        owned.locked_m = Some(m.note.clone());
        m.locked_g.set(Some(g));
    }
}

/// Undoes [`lock_os_thread`].
pub fn unlock_os_thread() {
    if let (Some(m), Some(g)) = (current::m(), current::g()) {
        // SAFETY: the running goroutine is its G's sole holder.
        let owned = unsafe { g.owned_mut() };
        owned.locked = false;
        owned.locked_m = None;
        m.locked_g.set(None);
    }
}
