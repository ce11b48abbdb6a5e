//! The `goro` command: runs the demos, renders traces, runs the benchmarks.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

const USAGE: &str = "\
usage:
  goro demo <name> [options]   run a demo; names:
      spawn [--n N]            spawn and join N goroutines (default 1,000,000)
  goro bench [args...]         run the benchmark suite against Go, may and tokio
                               (builds bench/; see bench/README.md)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn demo(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("spawn") => demo_spawn(&args[1..]),
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Spawns N goroutines that each add to a shared counter, waits for all of
/// them with a WaitGroup, and reports the rate.
fn demo_spawn(args: &[String]) -> ExitCode {
    let n: u64 = match flag_value(args, "--n").map(|v| v.replace('_', "").parse()) {
        None => 1_000_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("--n takes a number");
            return ExitCode::from(2);
        }
    };
    let procs = goro::Runtime::builder()
        .build()
        .map(|rt| rt.procs())
        .unwrap_or(1);
    println!("spawning {n} goroutines on {procs} processors; each adds 1 to a shared counter");
    let start = Instant::now();
    let total = goro::run(move || {
        let wg = goro::sync::WaitGroup::new();
        let counter = Arc::new(AtomicU64::new(0));
        wg.add(n as usize);
        for _ in 0..n {
            let (wg, counter) = (wg.clone(), counter.clone());
            goro::go(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        counter.load(Ordering::Relaxed)
    });
    let elapsed = start.elapsed();
    let stats = goro::stats();
    println!(
        "all {total} goroutines ran and finished in {:.1} ms ({:.0} ns per goroutine)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / n.max(1) as f64
    );
    println!(
        "scheduler: {} context switches, {} steals, {} OS threads for {} processors",
        stats.context_switches, stats.steals, stats.ms, stats.ps
    );
    if total == n {
        ExitCode::SUCCESS
    } else {
        eprintln!("expected {n}, counted {total}");
        ExitCode::FAILURE
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
