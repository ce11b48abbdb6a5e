//! The benchmarks on goro (stackful goroutines on the G-M-P scheduler).
//!
//! The benchmark's main goroutine is the one `goro::run` (or
//! `Runtime::run`) starts, as Go's `main` runs on a goroutine; the runtime is
//! started before anything is timed, as Go's is.

use crate::harness::Entry;

pub mod chan_mpmc;
pub mod chan_spsc;
pub mod chan_unbuffered;
pub mod idle_mem;
pub mod mutex;
pub mod pingpong;
pub mod select;
pub mod sieve;
pub mod skynet;
pub mod spawn;
pub mod timers;
pub mod worker_pool;
pub mod r#yield;

/// The goro implementation of the benchmark called `name`.
pub fn lookup(name: &str) -> Option<Entry> {
    Some(Entry::Run(match name {
        "spawn" => spawn::run,
        "yield" => r#yield::run,
        "skynet" => skynet::run,
        // The registry fixes procs (1 and 2); the harness passes it.
        "pingpong" | "pingpong_p2" => pingpong::run,
        "chan_spsc" => chan_spsc::run,
        "chan_mpmc" => chan_mpmc::run,
        "chan_unbuffered" => chan_unbuffered::run,
        "select" => select::run,
        "mutex" => mutex::run,
        "mutex_yield" => mutex::run_yield,
        "timers" => timers::run,
        "worker_pool" => worker_pool::run,
        "sieve" => sieve::run,
        "idle_mem" => idle_mem::run,
        _ => return None,
    }))
}

/// Run `main` as the main goroutine with `procs` processors and return its
/// value. `None` uses `goro::run`, i.e. the default runtime (env
/// `GORO_MAXPROCS`, else the CPU count).
pub fn run_main<F, R>(procs: Option<usize>, main: F) -> Result<R, String>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match procs {
        None => Ok(goro::run(main)),
        Some(n) => {
            let runtime = goro::Runtime::builder()
                .procs(n)
                .build()
                .map_err(|e| format!("cannot build the goro runtime: {e:?}"))?;
            Ok(runtime.run(main))
        }
    }
}
