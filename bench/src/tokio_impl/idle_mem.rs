//! `idle_mem` on tokio: the main task spawns 100,000 tasks; each marks
//! itself started (a WaitGroup) and waits to receive from one shared
//! channel. Once all have started, VmRSS is read again: the metric is its
//! growth since before the first spawn / 100,000 (bytes per task). The same
//! run reports `idle_mem_spawn`: wall ms from the first spawn until all have
//! started. Then the channel is closed (its sender dropped) and every task
//! must see it and finish. Same definition as `bench/go/idle_mem.go` and the
//! goro and may versions, except that tokio's mpsc has one receiver: the
//! tasks share it through a `tokio::sync::Mutex`, so one task waits in
//! `recv` and the others wait for the mutex (each is parked all the same,
//! its future holding a queued waiter).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, Mutex};

use super::WaitGroup;
use crate::checks::{idle_outcome, rss_bytes};
use crate::harness::Outcome;
use crate::spec::IDLE_GOROUTINES;

static WOKEN: AtomicU64 = AtomicU64::new(0);

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (spawn, before, after) = super::run_main(procs, || async {
        let (tx, rx) = mpsc::channel::<()>(1);
        let rx: &'static Mutex<mpsc::Receiver<()>> = Box::leak(Box::new(Mutex::new(rx)));
        let started: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let finished: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let before = rss_bytes()?;
        let start = Instant::now();
        started.add(IDLE_GOROUTINES as usize);
        finished.add(IDLE_GOROUTINES as usize);
        for _ in 0..IDLE_GOROUTINES {
            tokio::spawn(async move {
                started.done();
                if rx.lock().await.recv().await.is_none() {
                    WOKEN.fetch_add(1, Ordering::SeqCst);
                }
                finished.done();
            });
        }
        started.wait().await;
        let spawn = start.elapsed();
        let after = rss_bytes()?;
        drop(tx);
        finished.wait().await;
        Ok::<_, String>((spawn, before, after))
    })??;
    idle_outcome(spawn, before, after, WOKEN.load(Ordering::SeqCst))
}
