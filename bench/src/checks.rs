//! Validation and measurement shared by the Rust implementations of each
//! benchmark, so that goro, may and tokio check and compute exactly the same
//! thing (the Go versions in `bench/go/` mirror this code).

use std::time::Duration;

use crate::harness::{check_eq, ns_per, Outcome};

/// Tracks which goroutine ran last, to check that yields hand the processor
/// over (used by the `yield` benchmark in every implementation; the Go
/// version does the same with `atomic.Int64`).
#[derive(Debug)]
pub struct Turns(std::sync::atomic::AtomicU64);

impl Turns {
    /// No goroutine has run yet.
    pub const fn new() -> Self {
        Turns(std::sync::atomic::AtomicU64::new(u64::MAX))
    }

    /// Goroutine `me` is running: returns true if another goroutine ran since
    /// `me` last called this (a switch happened).
    #[inline]
    pub fn switched_to(&self, me: u64) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        if self.0.load(SeqCst) != me {
            self.0.store(me, SeqCst);
            true
        } else {
            false
        }
    }
}

impl Default for Turns {
    fn default() -> Self {
        Self::new()
    }
}

/// The `yield` benchmark's validation and measurement, shared by the Rust
/// implementations: `per_goroutine[i]` = (yields done, switches observed) by
/// goroutine `i`.
pub fn yield_outcome(elapsed: Duration, per_goroutine: &[(u64, u64)]) -> Result<Outcome, String> {
    use crate::spec::{YIELDS_PER_GOROUTINE, YIELD_GOROUTINES, YIELD_MIN_SWITCH_FRACTION};
    check_eq("goroutines", per_goroutine.len() as u64, YIELD_GOROUTINES)?;
    for &(yields, _) in per_goroutine {
        check_eq("yields by one goroutine", yields, YIELDS_PER_GOROUTINE)?;
    }
    let total = YIELD_GOROUTINES * YIELDS_PER_GOROUTINE;
    let switches: u64 = per_goroutine.iter().map(|&(_, s)| s).sum();
    let fraction = switches as f64 / total as f64;
    if fraction < YIELD_MIN_SWITCH_FRACTION {
        return Err(format!(
            "only {switches} of {total} yields let the other goroutine run \
             (need at least {:.0}%): yield does not hand the processor over",
            YIELD_MIN_SWITCH_FRACTION * 100.0
        ));
    }
    Ok(Outcome {
        value: ns_per(elapsed, total),
        notes: vec![
            format!("elapsed {:.1} ms", elapsed.as_secs_f64() * 1e3),
            format!(
                "switches {switches} of {total} yields ({:.1}%)",
                fraction * 100.0
            ),
        ],
    })
}

/// The `spawn` benchmark's validation and measurement, shared by the Rust
/// implementations.
pub fn spawn_outcome(elapsed: Duration, counter: u64) -> Result<Outcome, String> {
    use crate::spec::SPAWN_GOROUTINES;
    check_eq("counter", counter, SPAWN_GOROUTINES)?;
    Ok(Outcome {
        value: ns_per(elapsed, SPAWN_GOROUTINES),
        notes: vec![format!("elapsed {:.1} ms", elapsed.as_secs_f64() * 1e3)],
    })
}
