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
    Ok(Outcome::new(
        ns_per(elapsed, total),
        vec![
            elapsed_note(elapsed),
            format!(
                "switches {switches} of {total} yields ({:.1}%)",
                fraction * 100.0
            ),
        ],
    ))
}

/// The `spawn` benchmark's validation and measurement, shared by the Rust
/// implementations.
pub fn spawn_outcome(elapsed: Duration, counter: u64) -> Result<Outcome, String> {
    use crate::spec::SPAWN_GOROUTINES;
    check_eq("counter", counter, SPAWN_GOROUTINES)?;
    Ok(Outcome::new(
        ns_per(elapsed, SPAWN_GOROUTINES),
        vec![elapsed_note(elapsed)],
    ))
}

/// `elapsed X ms`, the note every benchmark prints.
pub fn elapsed_note(elapsed: Duration) -> String {
    format!("elapsed {:.1} ms", ms(elapsed))
}

/// Milliseconds.
pub fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

/// 0 + 1 + ... + (n - 1).
pub const fn sum_below(n: u64) -> u64 {
    n * (n.saturating_sub(1)) / 2
}

/// Millions of messages per second.
fn mmsg_per_s(elapsed: Duration, messages: u64) -> f64 {
    messages as f64 / elapsed.as_secs_f64() / 1e6
}

/// The process's resident set size now (`VmRSS` of `/proc/self/status`), in
/// bytes. The Go version reads the same line.
pub fn rss_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or("no VmRSS line in /proc/self/status")?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|_| format!("cannot parse VmRSS {line:?}"))?;
    Ok(kib * 1024)
}

/// CPU time (user + system, all threads) the process has used so far, in
/// seconds, from `utime` and `stime` of `/proc/self/stat` (clock-tick
/// resolution, 10 ms on Linux). The Go version uses `getrusage(RUSAGE_SELF)`.
pub fn cpu_seconds() -> Result<f64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("cannot read /proc/self/stat: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: the
    // fields after the last ')' start at field 3 (state).
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("malformed /proc/self/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. indices 11 and 12 here.
    let tick = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| "malformed /proc/self/stat".to_string())
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    Ok((tick(11)? + tick(12)?) as f64 / hz)
}

/// `skynet`: the root's sum.
pub fn skynet_outcome(elapsed: Duration, sum: u64) -> Result<Outcome, String> {
    use crate::spec::SKYNET_SUM;
    check_eq("root sum", sum, SKYNET_SUM)?;
    Ok(Outcome::new(ms(elapsed), vec![elapsed_note(elapsed)]))
}

/// `pingpong`: the pinger saw `round_trips` replies, `wrong` of which were
/// not `i + 1` for its `i`.
pub fn pingpong_outcome(
    elapsed: Duration,
    round_trips: u64,
    wrong: u64,
) -> Result<Outcome, String> {
    use crate::spec::PINGPONG_ROUND_TRIPS;
    check_eq("round trips", round_trips, PINGPONG_ROUND_TRIPS)?;
    check_eq("wrong replies", wrong, 0)?;
    Ok(Outcome::new(
        ns_per(elapsed, PINGPONG_ROUND_TRIPS),
        vec![elapsed_note(elapsed)],
    ))
}

/// `chan_spsc`: what the consumer received.
pub fn spsc_outcome(elapsed: Duration, count: u64, sum: u64) -> Result<Outcome, String> {
    use crate::spec::SPSC_MESSAGES;
    check_eq("messages received", count, SPSC_MESSAGES)?;
    check_eq("sum", sum, sum_below(SPSC_MESSAGES))?;
    Ok(Outcome::new(
        mmsg_per_s(elapsed, SPSC_MESSAGES),
        vec![elapsed_note(elapsed)],
    ))
}

/// `chan_mpmc`: (count, sum) received by each consumer.
pub fn mpmc_outcome(elapsed: Duration, per_consumer: &[(u64, u64)]) -> Result<Outcome, String> {
    use crate::spec::{MPMC_CONSUMERS, MPMC_PER_PRODUCER, MPMC_PRODUCERS};
    let total = MPMC_PRODUCERS * MPMC_PER_PRODUCER;
    check_eq("consumers", per_consumer.len() as u64, MPMC_CONSUMERS)?;
    let count: u64 = per_consumer.iter().map(|c| c.0).sum();
    let sum: u64 = per_consumer.iter().map(|c| c.1).sum();
    check_eq("messages received", count, total)?;
    check_eq("sum", sum, sum_below(total))?;
    let shares: Vec<String> = per_consumer.iter().map(|c| c.0.to_string()).collect();
    Ok(Outcome::new(
        mmsg_per_s(elapsed, total),
        vec![
            elapsed_note(elapsed),
            format!("received per consumer: {}", shares.join(", ")),
        ],
    ))
}

/// `chan_unbuffered`: what the consumer received.
pub fn unbuffered_outcome(elapsed: Duration, count: u64, sum: u64) -> Result<Outcome, String> {
    use crate::spec::UNBUFFERED_MESSAGES;
    check_eq("messages received", count, UNBUFFERED_MESSAGES)?;
    check_eq("sum", sum, sum_below(UNBUFFERED_MESSAGES))?;
    Ok(Outcome::new(
        ns_per(elapsed, UNBUFFERED_MESSAGES),
        vec![elapsed_note(elapsed)],
    ))
}

/// `select`: what the selecting consumer received.
pub fn select_outcome(elapsed: Duration, count: u64, sum: u64) -> Result<Outcome, String> {
    use crate::spec::{SELECT_PER_PRODUCER, SELECT_PRODUCERS};
    let total = SELECT_PRODUCERS * SELECT_PER_PRODUCER;
    check_eq("messages received", count, total)?;
    check_eq("sum", sum, sum_below(total))?;
    Ok(Outcome::new(
        ns_per(elapsed, total),
        vec![elapsed_note(elapsed)],
    ))
}

/// `mutex` and `mutex_yield`: the counter after `ops` increments.
pub fn mutex_outcome(elapsed: Duration, counter: u64, ops: u64) -> Result<Outcome, String> {
    check_eq("counter", counter, ops)?;
    Ok(Outcome::new(
        ns_per(elapsed, ops),
        vec![elapsed_note(elapsed)],
    ))
}

/// `mutex`: total lock / increment / unlock operations.
pub const MUTEX_OPS: u64 = crate::spec::MUTEX_GOROUTINES * crate::spec::MUTEX_OPS_PER_GOROUTINE;
/// `mutex_yield`: total lock / increment / yield / unlock operations.
pub const MUTEX_YIELD_OPS: u64 =
    crate::spec::MUTEX_GOROUTINES * crate::spec::MUTEX_YIELD_OPS_PER_GOROUTINE;

/// `timers`: `sleeps` completed in all, `short` goroutines whose ten sleeps
/// took less than 100 ms, `cpu` seconds of CPU used during the run. Reports
/// `timers_cpu` too.
pub fn timers_outcome(
    elapsed: Duration,
    cpu: f64,
    sleeps: u64,
    short: u64,
) -> Result<Outcome, String> {
    use crate::spec::{TIMERS_GOROUTINES, TIMERS_SLEEPS};
    check_eq(
        "sleeps completed",
        sleeps,
        TIMERS_GOROUTINES * TIMERS_SLEEPS,
    )?;
    check_eq("goroutines whose sleeps ended early", short, 0)?;
    Ok(Outcome {
        value: ms(elapsed),
        notes: vec![elapsed_note(elapsed), format!("cpu {cpu:.2} s")],
        also: vec![("timers_cpu", cpu)],
    })
}

/// `timers`: the shortest time ten sleeps may take.
pub const TIMERS_MIN_PER_GOROUTINE: Duration =
    Duration::from_millis(crate::spec::TIMERS_SLEEPS * crate::spec::TIMERS_SLEEP_MS);

/// `worker_pool`: what the main goroutine summed.
pub fn pool_outcome(elapsed: Duration, count: u64, sum: u64) -> Result<Outcome, String> {
    use crate::spec::POOL_ITEMS;
    check_eq("results received", count, POOL_ITEMS)?;
    check_eq("sum", sum, 2 * sum_below(POOL_ITEMS))?;
    Ok(Outcome::new(ms(elapsed), vec![elapsed_note(elapsed)]))
}

/// `sieve`: how many primes were read and the last one.
pub fn sieve_outcome(elapsed: Duration, primes: u64, last: u64) -> Result<Outcome, String> {
    use crate::spec::{SIEVE_LAST_PRIME, SIEVE_PRIMES};
    check_eq("primes", primes, SIEVE_PRIMES)?;
    check_eq("last prime", last, SIEVE_LAST_PRIME)?;
    Ok(Outcome::new(ms(elapsed), vec![elapsed_note(elapsed)]))
}

/// `idle_mem`: RSS before the spawn and once all goroutines had started,
/// how long starting them took, and how many ended after the close. Reports
/// `idle_mem_spawn` too.
pub fn idle_outcome(
    spawn: Duration,
    rss_before: u64,
    rss_after: u64,
    finished: u64,
) -> Result<Outcome, String> {
    use crate::spec::IDLE_GOROUTINES;
    check_eq("goroutines that saw the close", finished, IDLE_GOROUTINES)?;
    let per = rss_after.saturating_sub(rss_before) as f64 / IDLE_GOROUTINES as f64;
    Ok(Outcome {
        value: per,
        notes: vec![
            format!("spawn {:.1} ms", ms(spawn)),
            format!(
                "VmRSS {:.1} MiB before, {:.1} MiB with all parked",
                rss_before as f64 / 1048576.0,
                rss_after as f64 / 1048576.0
            ),
        ],
        also: vec![("idle_mem_spawn", ms(spawn))],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_readers_work() {
        assert!(rss_bytes().unwrap() > 0);
        let a = cpu_seconds().unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        assert!(cpu_seconds().unwrap() >= a);
    }

    #[test]
    fn sums() {
        assert_eq!(sum_below(1_000_000), 499_999_500_000);
        assert_eq!(sum_below(0), 0);
        assert_eq!(MUTEX_OPS, 8_000_000);
    }
}
