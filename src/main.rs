//! The `goro` command: runs the demos and the benchmarks.
//!
//! Each demo is a file in `examples/` (also runnable on its own with
//! `cargo run --example <name>`); it is compiled into this binary as a
//! module, so its code exists once.
//!
//! The demos share their scaffolding (the log channel, running as their
//! own program) through `examples/demo/mod.rs`, which each demo loads as
//! its own `demo` module, as it must when built alone as an example; so
//! here, where all the demos are modules of one crate, that small file is
//! loaded once per demo.
#![allow(clippy::duplicate_mod)]

use std::io::{self, Write};
use std::process::ExitCode;

#[path = "../examples/context.rs"]
mod context;
#[path = "../examples/for_loop.rs"]
mod for_loop;
#[path = "../examples/multiplexing.rs"]
mod multiplexing;
#[path = "../examples/mutex.rs"]
mod mutex;
#[path = "../examples/ping_pong.rs"]
mod ping_pong;
#[path = "../examples/range.rs"]
mod range;
#[path = "../examples/select.rs"]
mod select;
#[path = "../examples/sieve.rs"]
mod sieve;
#[path = "../examples/skynet.rs"]
mod skynet;
#[path = "../examples/spawn.rs"]
mod spawn;
#[path = "../examples/waitgroup.rs"]
mod waitgroup;
#[path = "../examples/worker_pool.rs"]
mod worker_pool;

/// One demo: its name on the command line, the options it takes, a
/// one-line description, and how to run it.
struct Demo {
    name: &'static str,
    /// `(flag, metavariable, help)`; every option takes a number.
    options: &'static [(&'static str, &'static str, &'static str)],
    about: &'static str,
    run: fn(&mut dyn Write, &Options) -> io::Result<()>,
}

const DEMOS: &[Demo] = &[
    Demo {
        name: "ping-pong",
        options: &[("--n", "HITS", "hits in the game (default 1000)")],
        about: "two goroutines pass a ball back and forth over two unbuffered channels",
        run: |out, o| ping_pong::run_with(out, o.get("--n").unwrap_or(ping_pong::DEFAULT_HITS)),
    },
    Demo {
        name: "for-loop",
        options: &[],
        about: "read a channel in a loop; break on a sentinel value or a condition",
        run: |out, _| for_loop::run(out),
    },
    Demo {
        name: "range",
        options: &[],
        about: "receive until the channel is closed; buffered values still arrive",
        run: |out, _| range::run(out),
    },
    Demo {
        name: "select",
        options: &[],
        about: "wait on several channels with a timeout case and a quit channel",
        run: |out, _| select::run(out),
    },
    Demo {
        name: "waitgroup",
        options: &[],
        about: "wait for 10 workers, each sleeping a different time, with a WaitGroup",
        run: |out, _| waitgroup::run(out),
    },
    Demo {
        name: "multiplexing",
        options: &[],
        about: "fan-in: select merges three channels into one; closed ones become None",
        run: |out, _| multiplexing::run(out),
    },
    Demo {
        name: "worker-pool",
        options: &[
            ("--tasks", "N", "tasks (default 100; each takes 1 ms)"),
            ("--workers", "W", "workers (default 4)"),
        ],
        about: "producers, workers and consumers joined by tasks and results channels",
        run: |out, o| {
            worker_pool::run_with(
                out,
                o.get("--tasks").unwrap_or(worker_pool::DEFAULT_TASKS),
                o.get("--workers")
                    .map_or(worker_pool::DEFAULT_WORKERS, |w| w as usize),
            )
        },
    },
    Demo {
        name: "mutex",
        options: &[
            ("--goroutines", "N", "goroutines (default 8)"),
            (
                "--increments",
                "M",
                "increments per goroutine (default 100,000)",
            ),
        ],
        about: "many goroutines add to one counter, with a Mutex and without: lost updates",
        run: |out, o| {
            mutex::run_with(
                out,
                o.get("--goroutines")
                    .map_or(mutex::DEFAULT_GOROUTINES, |n| n as usize),
                o.get("--increments").unwrap_or(mutex::DEFAULT_INCREMENTS),
            )
        },
    },
    Demo {
        name: "context",
        options: &[
            (
                "--timeout-ms",
                "T",
                "the context's timeout in ms (default 200)",
            ),
            ("--workers", "W", "workers (default 4)"),
        ],
        about: "a worker pool stopped by a context deadline; children are cancelled too",
        run: |out, o| {
            context::run_with(
                out,
                o.get("--timeout-ms")
                    .map_or(context::DEFAULT_TIMEOUT, std::time::Duration::from_millis),
                o.get("--workers")
                    .map_or(context::DEFAULT_WORKERS, |w| w as usize),
            )
        },
    },
    Demo {
        name: "sieve",
        options: &[("--n", "N", "primes to find (default 20)")],
        about: "the concurrent prime sieve: a daisy chain of filter goroutines",
        run: |out, o| {
            sieve::run_with(
                out,
                o.get("--n").map_or(sieve::DEFAULT_PRIMES, |n| n as usize),
            )
        },
    },
    Demo {
        name: "skynet",
        options: &[("--size", "N", "leaves, a power of 10 (default 1,000,000)")],
        about: "the skynet benchmark: a 10-ary tree of goroutines sums 1,000,000 numbers",
        run: |out, o| skynet::run_with(out, o.get("--size").unwrap_or(skynet::DEFAULT_SIZE)),
    },
    Demo {
        name: "spawn",
        options: &[("--n", "N", "goroutines (default 1,000,000)")],
        about: "spawn and join a million goroutines; print the rate",
        run: |out, o| spawn::run_with(out, o.get("--n").unwrap_or(spawn::DEFAULT_GOROUTINES)),
    },
];

/// The numeric options given to a demo.
struct Options(Vec<(&'static str, u64)>);

impl Options {
    fn get(&self, flag: &str) -> Option<u64> {
        self.0.iter().find(|(f, _)| *f == flag).map(|&(_, v)| v)
    }

    /// Parses `--flag VALUE` pairs, accepting only `demo`'s flags.
    fn parse(demo: &Demo, args: &[String]) -> Result<Options, String> {
        let mut found = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let Some(&(flag, meta, _)) = demo.options.iter().find(|o| o.0 == arg) else {
                return Err(if demo.options.is_empty() {
                    format!("demo {} takes no options (got {arg:?})", demo.name)
                } else {
                    format!("demo {} does not take {arg:?}", demo.name)
                });
            };
            let Some(value) = args.next() else {
                return Err(format!("{flag} needs a value: {flag} {meta}"));
            };
            match value.replace(['_', ','], "").parse::<u64>() {
                Ok(v) => found.push((flag, v)),
                Err(_) => return Err(format!("{flag} takes a number, not {value:?}")),
            }
        }
        Ok(Options(found))
    }
}

const USAGE: &str = "\
usage:
  goro demo <name> [options]   run a demo (goro demo --list shows them)
  goro bench [args...]         run the benchmark suite against Go, may and tokio
                               (builds bench/; see bench/README.md)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}\n{}", demo_list());
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The list of demos, with their options and one-line descriptions.
fn demo_list() -> String {
    let mut s = String::from("demos (run one with: goro demo <name> [options]):\n");
    for d in DEMOS {
        s.push_str(&format!("  {:<14}{}\n", d.name, d.about));
        for (flag, meta, help) in d.options {
            let option = format!("{flag} {meta}");
            s.push_str(&format!("  {:<14}  {option:<13} {help}\n", ""));
        }
    }
    s
}

fn demo(args: &[String]) -> ExitCode {
    let name = match args.first().map(String::as_str) {
        None | Some("--list" | "-l" | "list") => {
            print!("{}", demo_list());
            return ExitCode::SUCCESS;
        }
        Some(name) => name,
    };
    let Some(demo) = DEMOS
        .iter()
        .find(|d| d.name == name || d.name.replace('-', "_") == name)
    else {
        eprintln!("goro: unknown demo {name:?}\n");
        eprint!("{}", demo_list());
        return ExitCode::from(2);
    };
    let options = match Options::parse(demo, &args[1..]) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("goro demo {}: {msg}", demo.name);
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match (demo.run)(&mut out, &options).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`goro demo ... | head`): not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            eprintln!("goro demo {}: {e}", demo.name);
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("goro demo {}: {e}", demo.name);
            ExitCode::FAILURE
        }
    }
}

/// Runs the benchmark harness in `bench/` (a separate crate, so that the
/// peers it compares against are not dependencies of the library).
fn bench(args: &[String]) -> ExitCode {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!("{root}/bench/run.sh");
    match std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .status()
    {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("cannot run {script}: {e}");
            ExitCode::FAILURE
        }
    }
}
