//! sieve: the concurrent prime sieve — Go's classic daisy chain of
//! goroutines over unbuffered channels.
//!
//! A generator goroutine sends 2, 3, 4, ... on a channel. The first number
//! to come out of the chain is prime; main prints it, starts a filter
//! goroutine that passes on only the numbers not divisible by that prime,
//! and from then on reads from the new filter's channel:
//!
//! ```text
//! generate → filter(2) → filter(3) → filter(5) → ... → filter(p) → main
//! ```
//!
//! Every number travels through the chain one unbuffered hand-off at a
//! time, so this is a test of goroutine switching more than of arithmetic.
//!
//! When main is done it drops its receiver. In Go the chain would stay
//! blocked for ever (leaked goroutines); in goro, dropping the last
//! receiver closes the channel, so the last filter's next send fails, it
//! returns and drops its own receiver, and the whole chain unwinds.
//!
//! Run it: `goro demo sieve [--n N]` or
//! `cargo run --release --example sieve -- [--n N]`.

use std::io::{self, Write};
use std::time::Instant;

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// Primes to find when no `--n` is given.
pub const DEFAULT_PRIMES: usize = 20;

/// How many first steps are explained one by one.
const EXPLAINED: usize = 4;

/// Sends 2, 3, 4, ... until nobody is receiving.
fn generate(ch: goro::Sender<u64>) {
    for i in 2.. {
        if ch.send(i).is_err() {
            return;
        }
    }
}

/// Copies the numbers from `input` to `output`, leaving out the multiples
/// of `prime`; returns when `output` has no receiver any more.
fn filter(input: goro::Receiver<u64>, output: goro::Sender<u64>, prime: u64) {
    for i in &input {
        if i % prime != 0 && output.send(i).is_err() {
            return;
        }
    }
}

fn main_goroutine(n: usize, log: goro::Sender<String>) -> io::Result<()> {
    say!(
        log,
        "sieve: a generator goroutine sends 2, 3, 4, ... on an unbuffered channel. The first"
    );
    say!(
        log,
        "number out of the chain is prime: main prints it, starts a filter goroutine that drops"
    );
    say!(
        log,
        "its multiples, and from then on reads from that filter. Finding {n} primes."
    );
    say!(log, "");

    let start = Instant::now();
    let (tx, mut ch) = goro::chan::<u64>(0);
    let mut goroutines = vec![goro::go(move || generate(tx))];
    let mut chain = String::from("generate");
    let mut primes = Vec::with_capacity(n);
    for i in 1..=n {
        let prime = ch.recv().expect("the chain never ends");
        primes.push(prime);
        let (tx1, ch1) = goro::chan::<u64>(0);
        goroutines.push(goro::go(move || filter(ch, tx1, prime)));
        ch = ch1;
        if i <= EXPLAINED {
            say!(
                log,
                "  prime {i}: {prime}. main starts filter({prime}); the chain is now:"
            );
            chain.push_str(&format!(" → filter({prime})"));
            say!(log, "      {chain} → main");
        } else if i == EXPLAINED + 1 {
            say!(log, "  ... and so on, one new filter goroutine per prime.");
        }
    }
    let elapsed = start.elapsed();

    say!(log, "");
    say!(log, "the first {n} primes:");
    for row in primes.chunks(10) {
        let row: Vec<String> = row.iter().map(|p| format!("{p:>5}")).collect();
        say!(log, "  {}", row.join(""));
    }
    say!(
        log,
        "found in {:.2} ms with {} goroutines (a generator and {n} filters)",
        elapsed.as_secs_f64() * 1e3,
        goroutines.len()
    );

    // Shut the chain down: dropping main's receiver closes the last
    // channel, and each goroutine's failed send makes it return in turn.
    drop(ch);
    let count = goroutines.len();
    for g in goroutines {
        g.join().expect("sieve goroutine panicked");
    }
    say!(
        log,
        "main dropped its receiver; the chain unwound filter by filter: all {count} goroutines have exited"
    );
    say!(log, "");

    if let Some(bad) = primes.iter().find(|&&p| !is_prime(p)) {
        return Err(io::Error::other(format!("{bad} is not prime")));
    }
    if primes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(io::Error::other("primes out of order"));
    }
    match primes.last() {
        Some(last) => say!(log, "summary: {n} primes, the last is {last}"),
        None => say!(log, "summary: 0 primes"),
    }
    Ok(())
}

/// Trial division, to check the sieve's answers.
fn is_prime(p: u64) -> bool {
    p >= 2
        && (2..)
            .take_while(|d| d * d <= p)
            .all(|d| !p.is_multiple_of(d))
}

/// Runs the demo for `n` primes.
///
/// What its goroutines print is written to `out` (see
/// [`demo::run_logged`]).
pub fn run_with(out: &mut dyn Write, n: usize) -> io::Result<()> {
    demo::run_logged(out, move |log| main_goroutine(n, log))
}

#[allow(dead_code)]
fn main() {
    let [n] = demo::options(
        "usage: sieve [--n PRIMES]",
        [("--n", DEFAULT_PRIMES as u64)],
    );
    demo::main("sieve", |out| run_with(out, n as usize));
}
