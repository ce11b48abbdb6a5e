//! The benchmarks on goro (stackful goroutines on the G-M-P scheduler).
//!
//! The benchmark's main goroutine is the one `goro::run` (or
//! `Runtime::run`) starts, as Go's `main` runs on a goroutine; the runtime is
//! started before anything is timed, as Go's is.

use crate::harness::BenchFn;

pub mod spawn;
pub mod r#yield;

/// The goro implementation of the benchmark called `name`.
pub fn lookup(name: &str) -> Option<BenchFn> {
    Some(match name {
        "spawn" => spawn::run,
        "yield" => r#yield::run,
        _ => return None,
    })
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
