//! The common `main` of the per-implementation benchmark binaries
//! (`bench-goro`, `bench-may`, `bench-tokio`).
//!
//! Usage: `bench-<impl> <benchmark> [--procs N]`. Without `--procs` each
//! runtime uses its own default (goro: `GORO_MAXPROCS` or the CPU count; may
//! and tokio: the CPU count). Benchmarks whose definition fixes the
//! parallelism (see [`crate::spec::Procs::Fixed`]) ignore the flag.
//!
//! On success the binary prints the benchmark's `INFO` notes and its
//! [`RESULT` line](crate::result) and exits 0; when the benchmark's result
//! does not validate it prints why on standard error and exits 1.

use std::process::ExitCode;
use std::time::Duration;

use crate::spec;

/// What a benchmark run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The measured value, in the benchmark's unit ([`spec::Benchmark::unit`]).
    pub value: f64,
    /// Extra facts worth printing (elapsed time, validation details).
    pub notes: Vec<String>,
}

/// A benchmark implementation: runs once with the given procs (`None` = the
/// runtime's default) and returns the measurement, or why the result is wrong.
pub type BenchFn = fn(procs: Option<usize>) -> Result<Outcome, String>;

/// Nanoseconds per operation.
pub fn ns_per(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops as f64
}

/// `Ok(())` if `got == want`, else a message naming `what`.
pub fn check_eq<T: PartialEq + std::fmt::Display>(
    what: &str,
    got: T,
    want: T,
) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} is {got}, expected {want}"))
    }
}

fn usage(implementation: &str) -> String {
    let names: Vec<&str> = spec::BENCHMARKS.iter().map(|b| b.name).collect();
    format!(
        "usage: bench-{implementation} <benchmark> [--procs N]\nbenchmarks: {}",
        names.join(", ")
    )
}

/// Parse the command line, run the named benchmark with `lookup`'s function
/// and report it.
pub fn main(implementation: &str, lookup: fn(&str) -> Option<BenchFn>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut name = None;
    let mut procs = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--procs" => match it.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if n > 0 => procs = Some(n),
                _ => {
                    eprintln!(
                        "--procs needs a positive integer\n{}",
                        usage(implementation)
                    );
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{}", usage(implementation));
                return ExitCode::SUCCESS;
            }
            other if name.is_none() && !other.starts_with('-') => name = Some(other.to_string()),
            other => {
                eprintln!("unexpected argument {other:?}\n{}", usage(implementation));
                return ExitCode::from(2);
            }
        }
    }
    let Some(name) = name else {
        eprintln!("{}", usage(implementation));
        return ExitCode::from(2);
    };
    let Some(bench) = spec::find(&name) else {
        eprintln!("unknown benchmark {name:?}\n{}", usage(implementation));
        return ExitCode::from(2);
    };
    let Some(run) = lookup(bench.name) else {
        eprintln!("benchmark {name:?} is not implemented for {implementation}");
        return ExitCode::from(2);
    };
    match run(procs) {
        Ok(outcome) => {
            for note in &outcome.notes {
                println!("INFO {} {implementation}: {note}", bench.name);
            }
            println!(
                "{}",
                crate::result::format_line(bench.name, outcome.value, bench.unit)
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!(
                "bench-{implementation} {}: INVALID RESULT: {why}",
                bench.name
            );
            ExitCode::FAILURE
        }
    }
}
