//! multiplexing (fan-in): several producers each write to their own
//! channel; one goroutine reads all of them with `select!` and writes
//! everything to a single output channel.
//!
//! When a producer finishes, its channel closes, and a receive on a closed
//! channel is always ready (it returns `Err` at once) — left in the select,
//! that case would fire again and again. Go's idiom is to set the channel
//! variable to `nil`, because a nil channel's case never fires. In goro a
//! case can take an `Option<Receiver>`: setting it to `None` does the same.
//! When all inputs are `None`, the fan-in goroutine closes the output.
//!
//! Run it: `goro demo multiplexing` or `cargo run --release --example multiplexing`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// The producers: name, how many messages, pause before each message.
const PRODUCERS: [(&str, usize, u64); 3] = [("alice", 4, 15), ("bob", 3, 25), ("carol", 5, 10)];

/// A producer: sends `count` messages, pausing `pause_ms` before each, then
/// returns — dropping `tx`, which closes its channel.
fn producer(name: &'static str, count: usize, pause_ms: u64, tx: goro::Sender<String>) {
    for k in 1..=count {
        goro::time::sleep(Duration::from_millis(pause_ms));
        if tx.send(format!("{name} #{k}")).is_err() {
            return;
        }
    }
}

/// The fan-in goroutine: one select over the three inputs; a closed input's
/// case is set to `None` (Go's nil channel). Closes `out` by dropping it
/// when every input is closed. Returns how many messages it forwarded.
fn fan_in(
    inputs: [goro::Receiver<String>; 3],
    out: goro::Sender<String>,
    log: goro::Sender<String>,
) -> usize {
    let [a, b, c] = inputs;
    let (mut a, mut b, mut c) = (Some(a), Some(b), Some(c));
    let [(name_a, ..), (name_b, ..), (name_c, ..)] = PRODUCERS;
    let mut forwarded = 0;
    while a.is_some() || b.is_some() || c.is_some() {
        // Which input fired, and what it gave.
        let (name, msg) = goro::select! {
            recv(a) -> msg => (name_a, msg),
            recv(b) -> msg => (name_b, msg),
            recv(c) -> msg => (name_c, msg),
        };
        match msg {
            Ok(m) => {
                say!(
                    log,
                    "  fan-in: case recv({name}) fired with {m:?}; forwarding it to the output"
                );
                forwarded += 1;
                if out.send(m).is_err() {
                    break; // nobody reads the output any more
                }
            }
            Err(_) => {
                say!(log, "  fan-in: case recv({name}) fired with Err: {name} is done and its channel closed;");
                say!(
                    log,
                    "          the case is set to None, so it will never fire again"
                );
                if name == name_a {
                    a = None;
                } else if name == name_b {
                    b = None;
                } else {
                    c = None;
                }
            }
        }
    }
    say!(
        log,
        "  fan-in: all three inputs are closed; it returns, dropping (closing) the output channel"
    );
    forwarded
}

fn main_goroutine(log: goro::Sender<String>) -> io::Result<()> {
    say!(
        log,
        "multiplexing: three producers each send on their own unbuffered channel:"
    );
    for (name, count, pause) in PRODUCERS {
        say!(log, "  {name}: {count} messages, one every {pause} ms");
    }
    say!(
        log,
        "one fan-in goroutine selects over the three channels and forwards every message"
    );
    say!(
        log,
        "to one output channel, which main reads. The messages arrive interleaved; the"
    );
    say!(
        log,
        "exact order depends on timing and can vary from run to run."
    );
    say!(log, "");

    let mut inputs = Vec::new();
    for (name, count, pause) in PRODUCERS {
        let (tx, rx) = goro::chan::<String>(0);
        goro::go(move || producer(name, count, pause, tx));
        inputs.push(rx);
    }
    let inputs: [goro::Receiver<String>; 3] = inputs.try_into().expect("three inputs");
    let (out_tx, merged) = goro::chan::<String>(0);
    let fan = goro::go({
        let log = log.clone();
        move || fan_in(inputs, out_tx, log)
    });

    let mut per_producer: BTreeMap<&str, usize> = BTreeMap::new();
    let mut received = Vec::new();
    for msg in &merged {
        let from = msg.split(' ').next().unwrap_or("");
        if let Some((name, ..)) = PRODUCERS.iter().find(|p| p.0 == from) {
            *per_producer.entry(name).or_default() += 1;
        }
        received.push(msg);
    }
    let total = received.len();
    let forwarded = fan.join().expect("fan-in panicked");
    say!(
        log,
        "main: the output channel is closed, so main's `for msg in &merged` loop ends."
    );
    say!(log, "main read {total} messages from it, in this order:");
    for row in received.chunks(6) {
        say!(log, "  {}", row.join(", "));
    }
    say!(log, "");

    let expected: usize = PRODUCERS.iter().map(|p| p.1).sum();
    let counts: Vec<String> = PRODUCERS
        .iter()
        .map(|(name, ..)| format!("{name} {}", per_producer.get(name).copied().unwrap_or(0)))
        .collect();
    let all_there = PRODUCERS
        .iter()
        .all(|(name, count, _)| per_producer.get(name) == Some(count));
    if total != expected || forwarded != expected || !all_there {
        return Err(io::Error::other(format!(
            "expected {expected} messages, got {total} (forwarded {forwarded}): {}",
            counts.join(", ")
        )));
    }
    say!(
        log,
        "summary: {total} messages merged from {} producers ({}); all inputs closed, then the output",
        PRODUCERS.len(),
        counts.join(", ")
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
    demo::main("multiplexing", run);
}
