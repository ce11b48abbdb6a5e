//! `yield` on tokio: a current-thread runtime (procs = 1 by definition), two
//! tasks each call `tokio::task::yield_now().await` 1,000,000 times; the main
//! task waits for both. Metric: wall time / 2,000,000 (ns per yield). Each
//! goroutine also checks, before each yield, whether the other one ran in
//! between ([`Turns`]); at least a quarter of the yields must have switched
//! ([`crate::spec::YIELD_MIN_SWITCH_FRACTION`]).
//! Same definition as `bench/go/yield.go` and the goro and may versions.

use std::time::Instant;

use crate::checks::{yield_outcome, Turns};
use crate::harness::Outcome;
use crate::spec::{YIELDS_PER_GOROUTINE, YIELD_GOROUTINES};

static TURNS: Turns = Turns::new();

async fn yielder(me: u64) -> (u64, u64) {
    let (mut yields, mut switches) = (0, 0);
    for _ in 0..YIELDS_PER_GOROUTINE {
        if TURNS.switched_to(me) {
            switches += 1;
        }
        tokio::task::yield_now().await;
        yields += 1;
    }
    (yields, switches)
}

/// Run the benchmark once. `procs` is ignored: this benchmark uses one.
pub fn run(_procs: Option<usize>) -> Result<Outcome, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    let (elapsed, results) = super::run_on(&runtime, || async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..YIELD_GOROUTINES)
            .map(|me| tokio::spawn(yielder(me)))
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.map_err(|e| format!("yielder failed: {e}"))?);
        }
        Ok::<_, String>((start.elapsed(), results))
    })??;
    yield_outcome(elapsed, &results)
}
