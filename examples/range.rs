//! range: receive until the channel is closed — Go's `for v := range ch`,
//! which is `for v in rx.iter()` or `for v in &rx` in Rust.
//!
//! Closing a channel does not throw away what is in its buffer: receivers
//! get every buffered value first, and only then does the loop end. A send
//! on a closed channel fails (Go panics; goro hands the value back in
//! `Err(SendError(v))`), and a receive on a closed, empty channel returns
//! `Err(RecvError)` at once.
//!
//! Run it: `goro demo range` or `cargo run --release --example range`.

use std::io::{self, Write};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// Part 1: values buffered before the close.
const BUFFERED: [u32; 5] = [10, 20, 30, 40, 50];

/// Part 2: values sent by a producer running alongside the reader.
const LIVE: u32 = 10;

/// Ranges over `rx` until it is closed and drained; returns what it got.
fn consumer(rx: goro::Receiver<u32>, log: goro::Sender<String>) -> Vec<u32> {
    let mut got = Vec::new();
    for v in rx.iter() {
        say!(
            log,
            "  consumer: received {v} ({} still buffered)",
            rx.len()
        );
        got.push(v);
    }
    say!(
        log,
        "  consumer: the channel is closed and empty, so the loop ends"
    );
    match rx.recv() {
        Ok(v) => say!(log, "  consumer: unexpected value {v} after the loop"),
        Err(e) => say!(
            log,
            "  consumer: one more recv() returns at once: Err({e:?})"
        ),
    }
    got
}

/// Sends 1..=LIVE, then closes the channel by dropping the sender. Returns
/// how many values were still buffered when it closed.
fn producer(tx: goro::Sender<u32>) -> usize {
    for v in 1..=LIVE {
        tx.send(v).expect("the reader is still there");
    }
    let left = tx.len();
    drop(tx); // the only sender: this closes the channel
    left
}

fn main_goroutine(log: goro::Sender<String>) -> io::Result<()> {
    // --- Part 1: values buffered before the close are still delivered ---
    say!(
        log,
        "part 1: values buffered before close() are still delivered"
    );
    let (tx, rx) = goro::chan::<u32>(BUFFERED.len());
    for v in BUFFERED {
        tx.send(v).expect("there is room in the buffer");
        say!(log, "  main: sent {v} (buffered now: {})", tx.len());
    }
    tx.close();
    say!(
        log,
        "  main: closed the channel while {} values are still in its buffer",
        rx.len()
    );
    match tx.send(60) {
        Ok(()) => say!(log, "  main: unexpected: a send on the closed channel worked"),
        Err(e) => say!(
            log,
            "  main: sending 60 on the closed channel fails and gives the value back: Err(SendError({}))",
            e.0
        ),
    }
    say!(
        log,
        "  main: only now does a consumer goroutine start ranging over the channel"
    );
    let early = goro::go({
        let log = log.clone();
        move || consumer(rx, log)
    })
    .join()
    .expect("consumer panicked");
    say!(
        log,
        "  the consumer got {} of the {} values sent before the close: {early:?}",
        early.len(),
        BUFFERED.len()
    );
    say!(log, "");

    // --- Part 2: a producer running alongside the reader ---------------
    say!(
        log,
        "part 2: a producer sends 1..={LIVE} into a buffer of 3 and then closes;"
    );
    say!(
        log,
        "main ranges over the channel (`for v in &rx`) at the same time."
    );
    let (tx, rx) = goro::chan::<u32>(3);
    let live = goro::go(move || producer(tx));
    let mut got = Vec::new();
    for v in &rx {
        got.push(v);
    }
    let left = live.join().expect("producer panicked");
    let list: Vec<String> = got.iter().map(u32::to_string).collect();
    say!(log, "  main received, in order: {}", list.join(" "));
    if left > 0 {
        say!(
            log,
            "  this time the producer closed while {left} value(s) were still buffered; main still \
             received them before its loop ended"
        );
    } else {
        say!(
            log,
            "  this time main had taken every value before the producer closed"
        );
    }
    say!(
        log,
        "  (how much is still buffered at the close depends on the timing and varies)"
    );
    let sum: u32 = got.iter().sum();
    say!(log, "");

    let expected: Vec<u32> = (1..=LIVE).collect();
    if early != BUFFERED || got != expected {
        return Err(io::Error::other(format!(
            "lost values: part 1 got {early:?}, part 2 got {got:?}"
        )));
    }
    say!(
        log,
        "summary: received {} of {} values buffered before close, then {} of {} from a live producer (sum {sum})",
        early.len(),
        BUFFERED.len(),
        got.len(),
        LIVE
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
    demo::main("range", run);
}
