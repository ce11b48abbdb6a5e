//! mutex: many goroutines add to one shared counter — once under a lock
//! (Go's `sync.Mutex`), once without, to show the updates a race loses.
//!
//! `counter++` is really three steps: read the counter, add 1, write it
//! back. If two goroutines both read 41, both write 42: one of the two
//! additions is lost. A mutex makes the read and the write one step that no
//! other goroutine can cut into:
//!
//! ```text
//! let mut c = counter.lock();   // mu.Lock()   — wait here while another holds it
//! *c += 1;                      // counter++
//! drop(c);                      // mu.Unlock() — the guard unlocks when dropped
//! ```
//!
//! Safe Rust does not let goroutines share a plain `u64` without a lock, so
//! the unlocked part uses an `AtomicU64` read with `load` and written with
//! `store` — the same read-then-write race as Go's `counter++`, without
//! undefined behaviour. Every so often a goroutine calls
//! `goro::yield_now()` between its read and its write, standing in for
//! being interrupted at the worst moment; the locked part does the same,
//! while holding the lock, and still loses nothing.
//!
//! Run it: `goro demo mutex [--goroutines N] [--increments M]` or
//! `cargo run --release --example mutex -- [--goroutines N] [--increments M]`.

use goro::sync::{Mutex, WaitGroup};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// Goroutines when no `--goroutines` is given.
pub const DEFAULT_GOROUTINES: usize = 8;
/// Increments per goroutine when no `--increments` is given.
pub const DEFAULT_INCREMENTS: u64 = 100_000;
/// A goroutine yields between its read and its write on every
/// `YIELD_EVERY`-th increment (the first one included).
const YIELD_EVERY: u64 = 100;

/// Adds 1 to the counter `increments` times, holding the lock from the
/// read to the write.
fn add_with_lock(counter: &Mutex<u64>, increments: u64) {
    for i in 0..increments {
        let mut c = counter.lock();
        let seen = *c;
        if i % YIELD_EVERY == 0 {
            // Others may run now, but they cannot take the lock: they wait.
            goro::yield_now();
        }
        *c = seen + 1;
        // `c` is dropped here: unlock.
    }
}

/// Adds 1 to the counter `increments` times with no lock: read, (maybe)
/// let others run, write back what was read plus 1.
fn add_without_lock(counter: &AtomicU64, increments: u64) {
    for i in 0..increments {
        let seen = counter.load(Ordering::Relaxed);
        if i % YIELD_EVERY == 0 {
            // Others may run now and add to the counter; the store below
            // overwrites whatever they added since our load.
            goro::yield_now();
        }
        counter.store(seen + 1, Ordering::Relaxed);
    }
}

/// Starts `n` goroutines running `add`, waits for them with a WaitGroup,
/// and returns how long that took.
fn run_goroutines(
    part: &'static str,
    n: usize,
    log: &goro::Sender<String>,
    add: impl Fn() + Clone + Send + 'static,
) -> Duration {
    let wg = WaitGroup::new();
    let start = Instant::now();
    for id in 1..=n {
        wg.add(1);
        let (wg, add, log) = (wg.clone(), add.clone(), log.clone());
        goro::go(move || {
            add();
            say!(log, "  goroutine {id} ({part}): done with its increments");
            wg.done();
        });
    }
    wg.wait();
    start.elapsed()
}

fn main_goroutine(n: usize, m: u64, log: goro::Sender<String>) -> io::Result<()> {
    let expected = n as u64 * m;
    say!(
        log,
        "mutex: {n} goroutines each add 1 to a shared counter {m} times, so it should end at {n} × {m} = {expected}."
    );
    say!(
        log,
        "Each addition reads the counter, then writes back what it read plus 1; on every {YIELD_EVERY}th one"
    );
    say!(
        log,
        "the goroutine calls goro::yield_now() between the read and the write, letting others run in the gap."
    );
    say!(
        log,
        "The runtime has {} processors, so goroutines also run at the same time.",
        goro::stats().ps
    );
    say!(log, "");

    // --- Part 1: with a lock ---------------------------------------------
    say!(
        log,
        "part 1: with goro::sync::Mutex — lock, read, (yield), write, unlock:"
    );
    let locked = Arc::new(Mutex::new(0u64));
    let took_locked = {
        let locked = locked.clone();
        run_goroutines("with the mutex", n, &log, move || add_with_lock(&locked, m))
    };
    let with_lock = *locked.lock();
    say!(
        log,
        "  the counter is {with_lock} of {expected} ({:.1} ms): a goroutine that yields while holding the lock",
        took_locked.as_secs_f64() * 1e3
    );
    say!(
        log,
        "  keeps it; the others wait at lock(), so no read-then-write is ever cut into."
    );
    say!(log, "");

    // --- Part 2: without a lock ------------------------------------------
    say!(
        log,
        "part 2: without a lock — read (load), (yield), write (store) on an AtomicU64:"
    );
    let unlocked = Arc::new(AtomicU64::new(0));
    let took_unlocked = {
        let unlocked = unlocked.clone();
        run_goroutines("without a lock", n, &log, move || {
            add_without_lock(&unlocked, m)
        })
    };
    let without_lock = unlocked.load(Ordering::Relaxed);
    let lost = expected.saturating_sub(without_lock);
    say!(
        log,
        "  the counter is {without_lock} of {expected} ({:.1} ms): {lost} updates were lost ({:.1}%).",
        took_unlocked.as_secs_f64() * 1e3,
        100.0 * lost as f64 / expected.max(1) as f64
    );
    if lost > 0 {
        say!(
            log,
            "  A goroutine read the counter, others added to it while it waited, and then it wrote back"
        );
        say!(
            log,
            "  its old value plus 1, wiping out their additions. (In Go, `go run -race` reports this race.)"
        );
    } else {
        say!(
            log,
            "  No update was lost this time: the race is there, but the goroutines did not happen to"
        );
        say!(
            log,
            "  overlap. Try more goroutines or more increments; the locked total is exact either way."
        );
    }
    say!(log, "");

    if with_lock != expected || without_lock > expected {
        return Err(io::Error::other(format!(
            "expected {expected} with the mutex and at most {expected} without, got {with_lock} and {without_lock}"
        )));
    }
    say!(
        log,
        "summary: with the mutex {with_lock} of {expected}; without it {without_lock} of {expected} ({lost} lost)"
    );
    Ok(())
}

/// Runs the demo with `goroutines` goroutines (at least 1) each adding
/// `increments` times.
///
/// What its goroutines print is written to `out` (see
/// [`demo::run_logged`]).
pub fn run_with(out: &mut dyn Write, goroutines: usize, increments: u64) -> io::Result<()> {
    let goroutines = goroutines.max(1);
    demo::run_logged(out, move |log| main_goroutine(goroutines, increments, log))
}

#[allow(dead_code)]
fn main() {
    let [goroutines, increments] = demo::options(
        "usage: mutex [--goroutines N] [--increments M]",
        [
            ("--goroutines", DEFAULT_GOROUTINES as u64),
            ("--increments", DEFAULT_INCREMENTS),
        ],
    );
    demo::main("mutex", |out| {
        run_with(out, goroutines as usize, increments)
    });
}
