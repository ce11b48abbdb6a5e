//! select: wait on several channels at once and handle whichever is ready
//! first — with a timeout case and a quit channel (Go's `select`).
//!
//! ```text
//! goro::select! {
//!     recv(numbers) -> n => ...,             // case n := <-numbers:
//!     recv(words) -> w => ...,               // case w := <-words:
//!     recv(quit) -> _ => ...,                // case <-quit:
//!     after(Duration::from_millis(100)) => ...,   // case <-time.After(100 * time.Millisecond):
//! }
//! ```
//!
//! The `after` case gets a fresh timer each time the `select!` runs, so it
//! fires only when nothing else happened for that long. A `send(tx, v)`
//! case sends when a receiver is ready; `default` runs when no case is
//! ready right now. When several cases are ready, one is picked at random.
//!
//! Run it: `goro demo select` or `cargo run --release --example select`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// How long the select in part 1 waits before its timeout case fires.
const TIMEOUT: Duration = Duration::from_millis(100);

/// How long the sender in part 1 goes quiet.
const QUIET: Duration = Duration::from_millis(250);

/// Part 1's sender: follows a fixed script over three unbuffered channels.
fn scripted_sender(
    numbers: goro::Sender<u32>,
    words: goro::Sender<&'static str>,
    quit: goro::Sender<()>,
) {
    numbers.send(1).unwrap();
    words.send("hello").unwrap();
    numbers.send(2).unwrap();
    goro::time::sleep(QUIET);
    words.send("world").unwrap();
    numbers.send(3).unwrap();
    quit.send(()).unwrap();
}

/// Part 2's generator (the Go tour's fibonacci): a select with a send case
/// and a quit case. Returns how many values it sent.
fn fibonacci(c: goro::Sender<u64>, quit: goro::Receiver<()>) -> usize {
    let (mut x, mut y) = (0u64, 1u64);
    let mut sent = 0;
    loop {
        goro::select! {
            send(c, x) -> res => {
                res.expect("main is receiving");
                sent += 1;
                (x, y) = (y, x + y);
            },
            recv(quit) -> _ => return sent,
        }
    }
}

fn main_goroutine(log: goro::Sender<String>) -> io::Result<()> {
    // --- Part 1: several channels, a timeout case and a quit channel ---
    say!(
        log,
        "part 1: main loops on a select over three channels and a timeout:"
    );
    say!(
        log,
        "  recv(numbers), recv(words), recv(quit), after({TIMEOUT:?})"
    );
    say!(
        log,
        "a sender goroutine follows a script: number 1, word \"hello\", number 2,"
    );
    say!(
        log,
        "then it goes quiet for {QUIET:?}, then word \"world\", number 3, and quit."
    );
    let (numbers_tx, numbers) = goro::chan::<u32>(0);
    let (words_tx, words) = goro::chan::<&'static str>(0);
    let (quit_tx, quit) = goro::chan::<()>(0);
    let sender = goro::go(move || scripted_sender(numbers_tx, words_tx, quit_tx));
    let start = Instant::now();
    let (mut got_numbers, mut got_words, mut timeouts) = (Vec::new(), Vec::new(), 0);
    let mut quit_seen = false;
    while !quit_seen {
        goro::select! {
            recv(numbers) -> n => {
                let n = n.expect("the sender is alive");
                say!(log, "  case recv(numbers) fired: got {n}");
                got_numbers.push(n);
            },
            recv(words) -> w => {
                let w = w.expect("the sender is alive");
                say!(log, "  case recv(words) fired: got {w:?}");
                got_words.push(w);
            },
            recv(quit) -> _ => {
                say!(log, "  case recv(quit) fired: the sender says stop, so main leaves the loop");
                quit_seen = true;
            },
            after(TIMEOUT) => {
                timeouts += 1;
                say!(
                    log,
                    "  case after({TIMEOUT:?}) fired: nothing arrived for {TIMEOUT:?} (timeout {timeouts}, at {} ms)",
                    start.elapsed().as_millis()
                );
            },
        }
    }
    sender.join().expect("sender panicked");
    say!(
        log,
        "  the timeout fired {timeouts} time(s) during the {QUIET:?} of silence (normally {}: \
         each pass round the loop starts a new {TIMEOUT:?} timer)",
        QUIET.as_millis() / TIMEOUT.as_millis()
    );
    say!(log, "");

    // --- Part 2: a send case and a quit case (the Go tour's fibonacci) -
    say!(
        log,
        "part 2: a generator goroutine selects between send(c, next fibonacci number)"
    );
    say!(
        log,
        "and recv(quit); main receives 10 numbers, then sends on quit."
    );
    let (c_tx, c) = goro::chan::<u64>(0);
    let (quit_tx, quit) = goro::chan::<()>(0);
    let generator = goro::go(move || fibonacci(c_tx, quit));
    let fib: Vec<u64> = (0..10)
        .map(|_| c.recv().expect("generator alive"))
        .collect();
    let list: Vec<String> = fib.iter().map(u64::to_string).collect();
    say!(log, "  main received: {}", list.join(" "));
    quit_tx.send(()).expect("generator alive");
    let sent = generator.join().expect("generator panicked");
    say!(log, "  main sent on quit: the generator's recv(quit) case fired and it returned after sending {sent} values");
    say!(log, "");

    // --- Part 3: when several cases are ready, one is picked at random --
    const READY: usize = 1000;
    say!(
        log,
        "part 3: two buffered channels a and b each hold {READY} values, so both cases"
    );
    say!(log, "are always ready; main runs the select {READY} times.");
    let (a_tx, a) = goro::chan::<u32>(READY);
    let (b_tx, b) = goro::chan::<u32>(READY);
    for i in 0..READY as u32 {
        a_tx.send(i).unwrap();
        b_tx.send(i).unwrap();
    }
    let (mut from_a, mut from_b) = (0, 0);
    for _ in 0..READY {
        goro::select! {
            recv(a) -> _ => from_a += 1,
            recv(b) -> _ => from_b += 1,
        }
    }
    say!(
        log,
        "  recv(a) was chosen {from_a} times and recv(b) {from_b} times: a fair random pick \
         (the split varies from run to run)"
    );
    say!(log, "");

    // --- Part 4: default ------------------------------------------------
    say!(
        log,
        "part 4: a select with a default case on a channel that has nothing to receive"
    );
    let (_idle_tx, idle) = goro::chan::<u32>(0);
    let t = Instant::now();
    let took_default = goro::select! {
        recv(idle) -> _ => false,
        default => true,
    };
    if took_default {
        say!(
            log,
            "  nothing was ready, so default ran at once (after {:?}) instead of waiting",
            t.elapsed()
        );
    } else {
        say!(log, "  unexpected: recv(idle) fired");
    }
    say!(log, "");

    let sum: u32 = got_numbers.iter().sum();
    let ok = got_numbers == [1, 2, 3]
        && got_words == ["hello", "world"]
        && timeouts >= 1
        && fib == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
        && sent == 10
        && from_a + from_b == READY
        && from_a > 0
        && from_b > 0
        && took_default;
    if !ok {
        return Err(io::Error::other(format!(
            "unexpected: numbers {got_numbers:?} words {got_words:?} timeouts {timeouts} fib {fib:?} \
             sent {sent} a {from_a} b {from_b} default {took_default}"
        )));
    }
    say!(
        log,
        "summary: received 3 numbers (sum {sum}) and 2 words, timeout fired {timeouts} time(s), then quit; \
         fibonacci stopped by quit after {sent} values (last {}); random pick a={from_a} b={from_b}; default ran",
        fib[fib.len() - 1]
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
    demo::main("select", run);
}
