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
    /// One-line description of what is measured, including how a peer's
    /// version differs where it cannot express the definition exactly.
    pub summary: &'static str,
    /// `Some(parent)` when this entry is not a program run of its own but a
    /// second `RESULT` line printed by the run of benchmark `parent` (for
    /// instance `timers_cpu`, the CPU time of the `timers` run). The runner
    /// runs `parent` and takes both lines from the same run.
    pub reported_by: Option<&'static str>,
}

impl Benchmark {
    /// The benchmark whose program run produces this entry's value (itself,
    /// unless [`Benchmark::reported_by`] says otherwise).
    pub fn run_name(&self) -> &'static str {
        self.reported_by.unwrap_or(self.name)
    }
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

/// `skynet`: leaves of the 10-ary tree of goroutines.
pub const SKYNET_LEAVES: u64 = 1_000_000;
/// `skynet`: children per node.
pub const SKYNET_FANOUT: u64 = 10;
/// `skynet`: the root's sum, 0 + 1 + ... + 999,999.
pub const SKYNET_SUM: u64 = SKYNET_LEAVES * (SKYNET_LEAVES - 1) / 2;

/// `pingpong` / `pingpong_p2`: round trips.
pub const PINGPONG_ROUND_TRIPS: u64 = 1_000_000;

/// `chan_spsc` / `chan_mpmc`: channel capacity.
pub const CHAN_CAPACITY: usize = 1024;
/// `chan_spsc`: messages (the values 0..N) sent by the one producer.
pub const SPSC_MESSAGES: u64 = 10_000_000;
/// `chan_mpmc`: producers.
pub const MPMC_PRODUCERS: u64 = 4;
/// `chan_mpmc`: messages per producer (producer `p` sends `p * N + i`).
pub const MPMC_PER_PRODUCER: u64 = 2_500_000;
/// `chan_mpmc`: consumers.
pub const MPMC_CONSUMERS: u64 = 4;

/// `chan_unbuffered`: messages (the values 0..N) over an unbuffered channel.
pub const UNBUFFERED_MESSAGES: u64 = 1_000_000;

/// `select`: producers, each with its own unbuffered channel.
pub const SELECT_PRODUCERS: u64 = 4;
/// `select`: messages per producer (producer `p` sends `p * N + i`).
pub const SELECT_PER_PRODUCER: u64 = 1_000_000;

/// `mutex` / `mutex_yield`: goroutines sharing the mutex.
pub const MUTEX_GOROUTINES: u64 = 8;
/// `mutex`: lock / increment / unlock per goroutine.
pub const MUTEX_OPS_PER_GOROUTINE: u64 = 1_000_000;
/// `mutex_yield`: lock / increment / yield / unlock per goroutine.
pub const MUTEX_YIELD_OPS_PER_GOROUTINE: u64 = 100_000;

/// `timers`: goroutines.
pub const TIMERS_GOROUTINES: u64 = 100_000;
/// `timers`: sleeps per goroutine.
pub const TIMERS_SLEEPS: u64 = 10;
/// `timers`: length of each sleep, in milliseconds.
pub const TIMERS_SLEEP_MS: u64 = 10;

/// `worker_pool`: workers.
pub const POOL_WORKERS: u64 = 8;
/// `worker_pool`: capacity of the tasks and of the results channel.
pub const POOL_CAPACITY: usize = 100;
/// `worker_pool`: items (the values 0..N; each worker sends `2 * item`).
pub const POOL_ITEMS: u64 = 1_000_000;

/// `sieve`: primes to find.
pub const SIEVE_PRIMES: u64 = 5_000;
/// `sieve`: the 5,000th prime.
pub const SIEVE_LAST_PRIME: u64 = 48_611;

/// `idle_mem`: goroutines blocked on one channel receive.
pub const IDLE_GOROUTINES: u64 = 100_000;

/// Every benchmark, in the order the runner runs and reports them.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "spawn",
        unit: "ns/goroutine",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "1,000,000 goroutines, one atomic add each, then WaitGroup done; \
                  main waits; wall time / 1,000,000",
        reported_by: None,
    },
    Benchmark {
        name: "yield",
        unit: "ns/yield",
        better: Better::Lower,
        procs: Procs::Fixed(1),
        summary: "procs = 1; 2 goroutines each yield 1,000,000 times; \
                  wall time / 2,000,000",
        reported_by: None,
    },
    Benchmark {
        name: "skynet",
        unit: "ms",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "10-ary tree of goroutines down to 1,000,000 leaves (1,111,111 goroutines); \
                  each leaf sends its number, each node sums its 10 children from an \
                  unbuffered channel and sends the sum up; root sum must be 499999500000; \
                  wall ms. may: capacity-1 channel (mpmc + semaphore), tokio: mpsc capacity 1",
        reported_by: None,
    },
    Benchmark {
        name: "pingpong",
        unit: "ns/roundtrip",
        better: Better::Lower,
        procs: Procs::Fixed(1),
        summary: "procs = 1; two goroutines, two unbuffered channels, 1,000,000 round trips \
                  (ping sends i, pong answers i + 1); wall / 1,000,000. tokio: current-thread \
                  runtime, mpsc capacity 1; may: capacity-1 channels",
        reported_by: None,
    },
    Benchmark {
        name: "pingpong_p2",
        unit: "ns/roundtrip",
        better: Better::Lower,
        procs: Procs::Fixed(2),
        summary: "pingpong with procs = 2 (the two goroutines may run on different threads)",
        reported_by: None,
    },
    Benchmark {
        name: "chan_spsc",
        unit: "Mmsg/s",
        better: Better::Higher,
        procs: Procs::Configurable,
        summary: "channel of capacity 1024, one producer sends the u64s 0..10,000,000, one \
                  consumer sums them (sum checked); messages / wall. may: unbounded mpmc \
                  gated by a 1024-permit semaphore",
        reported_by: None,
    },
    Benchmark {
        name: "chan_mpmc",
        unit: "Mmsg/s",
        better: Better::Higher,
        procs: Procs::Configurable,
        summary: "channel of capacity 1024, 4 producers x 2,500,000, 4 consumers (total count \
                  and sum checked); messages / wall. tokio: the 4 consumers share the mpsc \
                  receiver through a tokio Mutex; may: mpmc + semaphore",
        reported_by: None,
    },
    Benchmark {
        name: "chan_unbuffered",
        unit: "ns/msg",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "one producer, one consumer, 1,000,000 messages over an unbuffered channel \
                  (sum checked); wall / 1,000,000. may and tokio: capacity 1",
        reported_by: None,
    },
    Benchmark {
        name: "select",
        unit: "ns/msg",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "4 producers x 1,000,000 on their own unbuffered channels, one consumer selects \
                  over the 4, a closed channel is set to nil (count and sum checked); \
                  wall / 4,000,000. tokio: select! with `if open` preconditions, capacity 1; \
                  may: may::select! loses values, so may's select loop (a cqueue with one \
                  selector coroutine per channel), capacity 1",
        reported_by: None,
    },
    Benchmark {
        name: "mutex",
        unit: "ns/op",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "8 goroutines x 1,000,000 lock / increment / unlock of one mutex (final value \
                  checked); wall / 8,000,000. tokio: tokio::sync::Mutex (async, FIFO)",
        reported_by: None,
    },
    Benchmark {
        name: "mutex_yield",
        unit: "ns/op",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "8 goroutines x 100,000 lock / increment / yield / unlock (the yield comes while \
                  holding the lock, so the others run and find it taken; final value checked); \
                  wall / 800,000. tokio: tokio::sync::Mutex (async, FIFO)",
        reported_by: None,
    },
    Benchmark {
        name: "timers",
        unit: "ms",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "100,000 goroutines each sleep 10 ms ten times (each must take >= 100 ms); \
                  wall ms, ideal 100",
        reported_by: None,
    },
    Benchmark {
        name: "timers_cpu",
        unit: "cpu-s",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "the same timers run: CPU seconds (user + system, all threads) the process \
                  used meanwhile",
        reported_by: Some("timers"),
    },
    Benchmark {
        name: "worker_pool",
        unit: "ms",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "a producer sends 1,000,000 items into a tasks channel (capacity 100), 8 workers \
                  send 2 x item into a results channel (capacity 100), the main goroutine sums \
                  (sum checked); wall ms. tokio: workers share the tasks receiver through a \
                  tokio Mutex; may: mpmc + semaphore",
        reported_by: None,
    },
    Benchmark {
        name: "sieve",
        unit: "ms",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "concurrent prime sieve (generate / filter daisy chain over unbuffered \
                  channels), first 5,000 primes, the last must be 48611; wall ms. may and \
                  tokio: capacity-1 channels",
        reported_by: None,
    },
    Benchmark {
        name: "idle_mem",
        unit: "B/goroutine",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "100,000 goroutines blocked receiving from one channel: growth of VmRSS from \
                  before the spawn to when all have started, / 100,000. tokio: the tasks wait \
                  on one mpsc receiver shared through a tokio Mutex",
        reported_by: None,
    },
    Benchmark {
        name: "idle_mem_spawn",
        unit: "ms",
        better: Better::Lower,
        procs: Procs::Configurable,
        summary: "the same idle_mem run: wall ms from the first spawn until all 100,000 have \
                  started",
        reported_by: Some("idle_mem"),
    },
];

/// The entries reported by the run of `name` besides its own (see
/// [`Benchmark::reported_by`]).
pub fn reported_with(name: &str) -> impl Iterator<Item = &'static Benchmark> + '_ {
    BENCHMARKS
        .iter()
        .filter(move |b| b.reported_by == Some(name))
}

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
    fn reported_entries_follow_a_program_run() {
        for b in BENCHMARKS {
            if let Some(parent) = b.reported_by {
                let p = find(parent).expect("parent exists");
                assert!(p.reported_by.is_none(), "{} nests", b.name);
                assert_eq!(p.procs, b.procs);
                assert_eq!(b.run_name(), parent);
            }
        }
        let with: Vec<_> = reported_with("timers").map(|b| b.name).collect();
        assert_eq!(with, ["timers_cpu"]);
        assert_eq!(SKYNET_SUM, 499_999_500_000);
    }

    #[test]
    fn fixed_procs_override_the_request() {
        assert_eq!(Procs::Configurable.resolve(4), 4);
        assert_eq!(Procs::Fixed(1).resolve(4), 1);
    }
}
