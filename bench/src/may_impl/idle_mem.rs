//! `idle_mem` on may: the main coroutine starts 100,000 coroutines; each
//! marks itself started (a WaitGroup) and blocks in `recv` on one shared
//! `may::sync::mpmc` channel (reached through a `'static` reference as Go's
//! closures capture the channel; a may channel, unbounded, is the right
//! thing here since nothing is ever sent). Once all have started, VmRSS is
//! read again: the metric is its growth since before the first spawn /
//! 100,000 (bytes per coroutine). The same run reports `idle_mem_spawn`:
//! wall ms from the first spawn until all have started. Then the channel is
//! closed (its sender dropped) and every coroutine must see it and finish.
//! Same definition as `bench/go/idle_mem.go` and the goro and tokio
//! versions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use may::sync::mpmc;

use super::WaitGroup;
use crate::checks::{idle_outcome, rss_bytes};
use crate::harness::Outcome;
use crate::spec::IDLE_GOROUTINES;

static WOKEN: AtomicU64 = AtomicU64::new(0);

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (spawn, before, after) = super::run_main(procs, || {
        let (tx, rx) = mpmc::channel::<()>();
        let rx: &'static mpmc::Receiver<()> = Box::leak(Box::new(rx));
        let started: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let finished: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let before = rss_bytes()?;
        let start = Instant::now();
        started.add(IDLE_GOROUTINES as usize);
        finished.add(IDLE_GOROUTINES as usize);
        for _ in 0..IDLE_GOROUTINES {
            may::go!(move || {
                started.done();
                if rx.recv().is_err() {
                    WOKEN.fetch_add(1, Ordering::SeqCst);
                }
                finished.done();
            });
        }
        started.wait();
        let spawn = start.elapsed();
        let after = rss_bytes()?;
        drop(tx);
        finished.wait();
        Ok::<_, String>((spawn, before, after))
    })??;
    idle_outcome(spawn, before, after, WOKEN.load(Ordering::SeqCst))
}
