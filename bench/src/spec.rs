//! The benchmark registry: what each benchmark measures and how to read it.
//!
//! Adding a benchmark means adding an entry here, one module per Rust
//! implementation (`goro_impl`, `may_impl`, `tokio_impl`) and one file in
//! `bench/go/`. The runner runs exactly the benchmarks listed here.

/// Which direction of a metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Times, costs, bytes: smaller is better.
    Lower,
    /// Throughputs: bigger is better.
    Higher,
}

impl Better {
    /// `"lower"` or `"higher"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// How many processors (GOMAXPROCS, goro procs, may workers, tokio worker
/// threads) a benchmark runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Procs {
    /// As chosen with the runner's `--procs` flag.
    Configurable,
    /// Always this many, whatever `--procs` says (part of the definition).
    Fixed(usize),
}

impl Procs {
    /// The procs to use when the runner was asked for `requested`.
    pub fn resolve(self, requested: usize) -> usize {
        match self {
            Procs::Configurable => requested,
            Procs::Fixed(n) => n,
        }
    }
}

/// One benchmark of the suite.
#[derive(Clone, Copy, Debug)]
pub struct Benchmark {
    /// Name used on command lines and in `RESULT` lines.
    pub name: &'static str,
    /// Unit of the reported value, exactly as printed in `RESULT` lines.
    pub unit: &'static str,
    /// Which direction of the value is better.
    pub better: Better,
    /// Parallelism policy.
    pub procs: Procs,
    /// One-line description of what is measured.
    pub summary: &'static str,
}

/// `spawn`: goroutines started (each does one atomic add and one WaitGroup done).
pub const SPAWN_GOROUTINES: u64 = 1_000_000;

/// `yield`: goroutines that yield, all on one processor.
pub const YIELD_GOROUTINES: u64 = 2;
/// `yield`: yields per goroutine.
pub const YIELDS_PER_GOROUTINE: u64 = 1_000_000;
/// `yield`: the smallest acceptable fraction of yields after which the
/// *other* goroutine was the next to run. A yield that does not hand the
/// processor over (a no-op) gives about 0% and a meaninglessly small figure,
/// so the benchmark checks that the goroutines really interleave. Go, goro
/// and may alternate strictly (100%); tokio's `yield_now` defers its wake-up
/// and wakes the deferred tasks in reverse order after each scheduler round,
/// so every other yield resumes the same task (50%).
pub const YIELD_MIN_SWITCH_FRACTION: f64 = 0.25;

/// Every benchmark, in the order the runner runs and reports them.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "spawn",
        unit: "ns/goroutine",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "1,000,000 goroutines, one atomic add each, then WaitGroup done; \
                  main waits; wall time / 1,000,000",
    },
    Benchmark {
        name: "yield",
        unit: "ns/yield",
        better: Better::Lower,
        procs: Procs::Fixed(1),
        summary: "procs = 1; 2 goroutines each yield 1,000,000 times; \
                  wall time / 2,000,000",
    },
];

/// The benchmark called `name`.
pub fn find(name: &str) -> Option<&'static Benchmark> {
    BENCHMARKS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, b) in BENCHMARKS.iter().enumerate() {
            assert!(BENCHMARKS[..i].iter().all(|o| o.name != b.name));
            assert_eq!(find(b.name).unwrap().name, b.name);
            assert!(!b.unit.contains(char::is_whitespace));
        }
        assert!(find("nope").is_none());
    }

    #[test]
    fn fixed_procs_override_the_request() {
        assert_eq!(Procs::Configurable.resolve(4), 4);
        assert_eq!(Procs::Fixed(1).resolve(4), 1);
    }
}
