//! `yield` on may: one worker (procs = 1 by definition), two coroutines each
//! call `may::coroutine::yield_now()` 1,000,000 times; the main coroutine
//! waits for both. Metric: wall time / 2,000,000 (ns per yield). Each
//! goroutine also checks, before each yield, whether the other one ran in
//! between ([`Turns`]); at least a quarter of the yields must have switched
//! ([`crate::spec::YIELD_MIN_SWITCH_FRACTION`]).
//! Same definition as `bench/go/yield.go` and the goro and tokio versions.

use std::time::Instant;

use super::panic_message;
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
        may::coroutine::yield_now();
        yields += 1;
    }
    (yields, switches)
}

/// Run the benchmark once. `procs` is ignored: this benchmark uses one.
pub fn run(_procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, results) = super::run_main(Some(1), || {
        let start = Instant::now();
        let coroutines: Vec<_> = (0..YIELD_GOROUTINES)
            .map(|me| may::go!(move || yielder(me)))
            .collect();
        let mut results = Vec::new();
        for co in coroutines {
            results.push(
                co.join()
                    .map_err(|p| format!("yielder failed: {}", panic_message(&*p)))?,
            );
        }
        Ok::<_, String>((start.elapsed(), results))
    })??;
    yield_outcome(elapsed, &results)
}
