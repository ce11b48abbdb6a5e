//! Benchmark harness comparing goro with Go, `may` and `tokio`.
//!
//! The suite is defined in DESIGN.md §3. Every benchmark is written four
//! times, once per implementation, with the *same* definition: the same
//! amount of work, the same synchronisation pattern, the same validation of
//! the result, and the same metric, measured the same way (wall-clock time
//! inside the program, from just before the first goroutine/task is started
//! until the main goroutine/task has seen the last one finish; process start
//! and runtime start-up are excluded everywhere).
//!
//! Layout:
//! - [`spec`]: the registry of benchmarks (name, metric, unit, which
//!   direction is better, parallelism policy). The runner and every Rust
//!   implementation read it; the Go program prints the same units and the
//!   runner checks that they agree.
//! - [`result`]: the one-line `RESULT <name> <value> <unit>` protocol every
//!   benchmark program (Go included) prints.
//! - [`harness`]: the common `main` of the per-implementation binaries
//!   (`bench-goro`, `bench-may`, `bench-tokio`).
//! - [`checks`]: validation and measurement shared by the Rust
//!   implementations of each benchmark.
//! - [`goro_impl`], [`may_impl`], [`tokio_impl`]: one module per benchmark per
//!   implementation. The Go versions live in `bench/go/`, one file per
//!   benchmark.
//! - [`runner`]: the pieces of the runner binary (`goro-bench`): finding and
//!   building Go, running the programs alternately, medians, the table.

pub mod checks;
#[cfg(feature = "goro")]
pub mod goro_impl;
pub mod harness;
pub mod may_impl;
pub mod result;
pub mod runner;
pub mod spec;
pub mod tokio_impl;
