//! spawn: start a million goroutines and wait for all of them.
//!
//! Each goroutine adds 1 to a shared counter and calls `wg.done()`; main
//! waits on the `WaitGroup` and checks the counter. Goroutines are cheap:
//! each has its own small stack, and starting one costs no system call.
//!
//! Run it: `goro demo spawn [--n N]` or
//! `cargo run --release --example spawn -- [--n N]`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[path = "demo/mod.rs"]
mod demo;

/// Goroutines when no `--n` is given.
pub const DEFAULT_GOROUTINES: u64 = 1_000_000;

/// Spawns `n` goroutines that each add to a shared counter, waits for all
/// of them with a WaitGroup, and reports the rate.
pub fn run_with(out: &mut dyn Write, n: u64) -> io::Result<()> {
    let procs = goro::Runtime::builder()
        .build()
        .map(|rt| rt.procs())
        .unwrap_or(1);
    writeln!(
        out,
        "spawning {n} goroutines on {procs} processors; each adds 1 to a shared counter"
    )?;
    out.flush()?;
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
    writeln!(
        out,
        "all {total} goroutines ran and finished in {:.1} ms ({:.0} ns per goroutine)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / n.max(1) as f64
    )?;
    writeln!(
        out,
        "scheduler: {} context switches, {} steals, {} OS threads for {} processors",
        stats.context_switches, stats.steals, stats.ms, stats.ps
    )?;
    if total != n {
        return Err(io::Error::other(format!("expected {n}, counted {total}")));
    }
    writeln!(out)?;
    writeln!(out, "summary: {total} of {n} goroutines ran")
}

#[allow(dead_code)]
fn main() {
    let [n] = demo::options("usage: spawn [--n N]", [("--n", DEFAULT_GOROUTINES)]);
    demo::main("spawn", |out| run_with(out, n));
}
