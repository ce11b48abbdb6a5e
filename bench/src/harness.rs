//! The common `main` of the per-implementation benchmark binaries
//! (`bench-goro`, `bench-may`, `bench-tokio`).
//!
//! Usage: `bench-<impl> <benchmark> [--procs N]`. Without `--procs` each
//! runtime uses its own default (goro: `GORO_MAXPROCS` or the CPU count; may
//! and tokio: the CPU count). Benchmarks whose definition fixes the
//! parallelism (see [`crate::spec::Procs::Fixed`]) get that value instead,
//! whatever the flag says.
//!
//! On success the binary prints the benchmark's `INFO` notes and its
//! [`RESULT` lines](crate::result) (its own, then those of the entries it
//! also reports, see [`crate::spec::Benchmark::reported_by`]) and exits 0;
//! when the benchmark's result does not validate it prints why on standard
//! error and exits 1. An implementation that cannot run the benchmark at all
//! ([`Entry::Unsupported`]) prints an `UNSUPPORTED` line and exits 0.

use std::process::ExitCode;
use std::time::Duration;

use crate::spec::{self, Procs};

/// What a benchmark run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The measured value, in the benchmark's unit ([`spec::Benchmark::unit`]).
    pub value: f64,
    /// Extra facts worth printing (elapsed time, validation details).
    pub notes: Vec<String>,
    /// Values of the entries this run also reports (name, value in that
    /// entry's unit); must be exactly the entries whose
    /// [`spec::Benchmark::reported_by`] names this benchmark.
    pub also: Vec<(&'static str, f64)>,
}

impl Outcome {
    /// An outcome with a value and notes, reporting nothing else.
    pub fn new(value: f64, notes: Vec<String>) -> Self {
        Outcome {
            value,
            notes,
            also: Vec::new(),
        }
    }
}

/// A benchmark implementation: runs once with the given procs (`None` = the
/// runtime's default) and returns the measurement, or why the result is wrong.
pub type BenchFn = fn(procs: Option<usize>) -> Result<Outcome, String>;

/// What an implementation offers for a benchmark.
#[derive(Clone, Copy, Debug)]
pub enum Entry {
    /// Run it with this function.
    Run(BenchFn),
    /// It cannot be run on this implementation, for this reason (the table
    /// shows "n/a" and the reason).
    Unsupported(&'static str),
}

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
pub fn main(implementation: &str, lookup: fn(&str) -> Option<Entry>) -> ExitCode {
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
    if let Some(parent) = bench.reported_by {
        eprintln!("{name:?} is reported by the run of {parent:?}: run that");
        return ExitCode::from(2);
    }
    let run = match lookup(bench.name) {
        Some(Entry::Run(run)) => run,
        Some(Entry::Unsupported(why)) => {
            println!("{}", crate::result::format_unsupported(bench.name, why));
            return ExitCode::SUCCESS;
        }
        None => {
            eprintln!("benchmark {name:?} is not implemented for {implementation}");
            return ExitCode::from(2);
        }
    };
    let procs = match bench.procs {
        Procs::Fixed(n) => Some(n),
        Procs::Configurable => procs,
    };
    match run(procs) {
        Ok(outcome) => {
            for note in &outcome.notes {
                println!("INFO {} {implementation}: {note}", bench.name);
            }
            let mut lines = vec![crate::result::format_line(
                bench.name,
                outcome.value,
                bench.unit,
            )];
            for other in spec::reported_with(bench.name) {
                let Some(&(_, value)) = outcome.also.iter().find(|(n, _)| *n == other.name) else {
                    eprintln!(
                        "bench-{implementation} {}: INVALID RESULT: no value for {}",
                        bench.name, other.name
                    );
                    return ExitCode::FAILURE;
                };
                lines.push(crate::result::format_line(other.name, value, other.unit));
            }
            for line in lines {
                println!("{line}");
            }
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
