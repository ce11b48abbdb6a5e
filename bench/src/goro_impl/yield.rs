//! `yield` on goro: a runtime with procs = 1 (by definition, whatever
//! `GORO_MAXPROCS` says), two goroutines each call `goro::yield_now()`
//! 1,000,000 times; the main goroutine waits for both. Metric: wall time /
//! 2,000,000 (ns per yield). Each goroutine also checks, before each yield,
//! whether the other one ran in between ([`Turns`]); at least a quarter of
//! the yields must have switched ([`crate::spec::YIELD_MIN_SWITCH_FRACTION`]).
//! Same definition as `bench/go/yield.go` and the may and tokio versions.

use std::time::Instant;

use crate::checks::{yield_outcome, Turns};
use crate::harness::Outcome;
use crate::spec::{YIELDS_PER_GOROUTINE, YIELD_GOROUTINES};

static TURNS: Turns = Turns::new();

fn yielder(me: u64) -> (u64, u64) {
    let (mut yields, mut switches) = (0, 0);
    for _ in 0..YIELDS_PER_GOROUTINE {
        if TURNS.switched_to(me) {
            switches += 1;
        }
        goro::yield_now();
        yields += 1;
    }
    (yields, switches)
}

/// Run the benchmark once. `procs` is ignored: this benchmark uses one.
pub fn run(_procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, results) = super::run_main(Some(1), || {
        let start = Instant::now();
        let goroutines: Vec<_> = (0..YIELD_GOROUTINES)
            .map(|me| goro::go(move || yielder(me)))
            .collect();
        let mut results = Vec::new();
        for g in goroutines {
            results.push(
                g.join()
                    .map_err(|_| "a yielder goroutine panicked".to_string())?,
            );
        }
        Ok::<_, String>((start.elapsed(), results))
    })??;
    yield_outcome(elapsed, &results)
}
