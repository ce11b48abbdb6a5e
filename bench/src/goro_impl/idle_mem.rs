//! `idle_mem` on goro: the main goroutine starts 100,000 goroutines; each
//! marks itself started (`goro::sync::WaitGroup`) and blocks in `recv` on one
//! shared channel (`goro::chan(0)`, reached through a `'static` reference as
//! Go's closures capture the channel). Once all have started, VmRSS is read
//! again: the metric is its growth since before the first spawn / 100,000
//! (bytes per goroutine). The same run reports `idle_mem_spawn`: wall ms from
//! the first spawn until all have started. Then the channel is closed and
//! every goroutine must see it and finish. Same definition as
//! `bench/go/idle_mem.go` and the may and tokio versions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use goro::sync::WaitGroup;
use goro::Receiver;

use crate::checks::{idle_outcome, rss_bytes};
use crate::harness::Outcome;
use crate::spec::IDLE_GOROUTINES;

static WOKEN: AtomicU64 = AtomicU64::new(0);

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (spawn, before, after) = super::run_main(procs, || {
        let (tx, rx) = goro::chan::<()>(0);
        let rx: &'static Receiver<()> = Box::leak(Box::new(rx));
        let started: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let finished: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let before = rss_bytes()?;
        let start = Instant::now();
        started.add(IDLE_GOROUTINES as usize);
        finished.add(IDLE_GOROUTINES as usize);
        for _ in 0..IDLE_GOROUTINES {
            let _ = goro::go(move || {
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
        tx.close();
        finished.wait();
        Ok::<_, String>((spawn, before, after))
    })??;
    idle_outcome(spawn, before, after, WOKEN.load(Ordering::SeqCst))
}
