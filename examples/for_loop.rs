//! for-loop: read a channel in a loop and `break` out of it — on a sentinel
//! value, or when a condition becomes true.
//!
//! Go writes `for { v := <-ch; if v == sentinel { break } ... }`; in Rust
//! it is `loop { let v = rx.recv()?; if v == sentinel { break } ... }`.
//! After the break the reader drops its receiver. In Go a sender that is
//! still trying to send would then block forever (a leaked goroutine); in
//! goro, dropping the last receiver closes the channel, so the sender's
//! `send` fails with its value handed back and the sender can stop.
//!
//! Run it: `goro demo for-loop` or `cargo run --release --example for_loop`.

use std::io::{self, Write};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// The sentinel value that tells the reader to stop.
const SENTINEL: &str = "STOP";

/// Part 2 stops once the running sum is above this.
const LIMIT: u64 = 50;

/// Sends `words` one by one on an unbuffered channel; returns how many were
/// delivered and the first one that could not be.
fn word_producer(
    words: &[&'static str],
    tx: goro::Sender<&'static str>,
) -> (usize, Option<&'static str>) {
    for (i, &w) in words.iter().enumerate() {
        if let Err(e) = tx.send(w) {
            // `e.0` is the value we tried to send, given back.
            return (i, Some(e.0));
        }
    }
    (words.len(), None)
}

/// Sends 1, 2, 3, ... until nobody is receiving; returns how many numbers
/// were delivered.
fn counter(tx: goro::Sender<u64>) -> u64 {
    for n in 1.. {
        if tx.send(n).is_err() {
            return n - 1;
        }
    }
    unreachable!()
}

fn main_goroutine(log: goro::Sender<String>) -> io::Result<()> {
    // --- Part 1: break on a sentinel value -----------------------------
    let words = ["apple", "banana", "cherry", SENTINEL, "date"];
    say!(log, "part 1: break on a sentinel value");
    say!(
        log,
        "a producer goroutine sends {words:?} on an unbuffered channel;"
    );
    say!(
        log,
        "main reads in a loop and breaks when it sees {SENTINEL:?}."
    );
    let (tx, rx) = goro::chan::<&'static str>(0);
    let producer = goro::go(move || word_producer(&words, tx));
    let mut got = Vec::new();
    loop {
        let word = match rx.recv() {
            Ok(w) => w,
            Err(_) => {
                say!(log, "  main: the channel closed before the sentinel");
                break;
            }
        };
        if word == SENTINEL {
            say!(
                log,
                "  main: received {word:?}: that is the sentinel, break"
            );
            break;
        }
        say!(log, "  main: received {word:?}");
        got.push(word);
    }
    say!(
        log,
        "  main: done reading; dropping the receiver closes the channel"
    );
    drop(rx);
    let (delivered, refused) = producer.join().expect("producer panicked");
    match refused {
        Some(w) => say!(
            log,
            "  the producer delivered {delivered} words; sending {w:?} failed because the reader is gone, so it stopped"
        ),
        None => say!(log, "  the producer delivered all {delivered} words"),
    }
    say!(
        log,
        "  main read {} words before the sentinel: {got:?}",
        got.len()
    );
    say!(log, "");

    // --- Part 2: break on a condition ----------------------------------
    say!(log, "part 2: break on a condition");
    say!(
        log,
        "a counter goroutine sends 1, 2, 3, ... for ever; main adds them up and"
    );
    say!(log, "breaks as soon as the sum is above {LIMIT}.");
    let (tx, rx) = goro::chan::<u64>(0);
    let numbers = goro::go(move || counter(tx));
    let (mut sum, mut last) = (0, 0);
    for n in &rx {
        sum += n;
        last = n;
        if sum > LIMIT {
            say!(
                log,
                "  main: received {n}, sum is now {sum} > {LIMIT}: break"
            );
            break;
        }
        say!(log, "  main: received {n}, sum is now {sum}");
    }
    drop(rx);
    let delivered = numbers.join().expect("counter panicked");
    say!(
        log,
        "  the counter delivered {delivered} numbers; its send of {} failed once main had left, so it stopped",
        delivered + 1
    );
    say!(log, "");

    let ok = got == ["apple", "banana", "cherry"]
        && refused == Some("date")
        && last == 10
        && sum == 55
        && delivered == 10;
    if !ok {
        return Err(io::Error::other(format!(
            "unexpected result: words {got:?}, refused {refused:?}, last {last}, sum {sum}, delivered {delivered}"
        )));
    }
    say!(
        log,
        "summary: sentinel loop read {} words before {SENTINEL}; condition loop stopped at {last} with sum {sum}",
        got.len()
    );
    Ok(())
}

/// Runs the demo, writing what its goroutines print to `out` (see
/// [`demo::run_logged`]).
pub fn run(out: &mut dyn Write) -> io::Result<()> {
    demo::run_logged(out, main_goroutine)
}

#[allow(dead_code)]
fn main() {
    demo::main("for-loop", run);
}
