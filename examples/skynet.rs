//! skynet: the skynet benchmark — a 10-ary tree of goroutines down to
//! 1,000,000 leaves, whose numbers are summed back up the tree over
//! channels.
//!
//! The root goroutine starts 10 children and waits for 10 numbers on its
//! own unbuffered channel; each child does the same for its share of the
//! range, until a goroutine whose share is a single number (a leaf) sends
//! that number to its parent. Each parent adds up its children's answers
//! and sends the total to its own parent. The leaves are numbered 0 to
//! size-1, so the root's answer is 0 + 1 + ... + (size-1) = size·(size-1)/2:
//! 499999500000 for a million leaves, from 1,111,111 goroutines in all.
//!
//! Run it: `goro demo skynet [--size N]` (N a power of 10) or
//! `cargo run --release --example skynet -- [--size N]`.

use std::io::{self, Write};
use std::time::Instant;

#[path = "demo/mod.rs"]
mod demo;

/// Leaves when no `--size` is given.
pub const DEFAULT_SIZE: u64 = 1_000_000;

/// Children per goroutine.
const DIV: u64 = 10;

/// One node of the tree: sends the sum of `num .. num + size` to its
/// parent on `c`. The code is Go's original, line for line.
fn skynet(c: goro::Sender<u64>, num: u64, size: u64, div: u64) {
    if size == 1 {
        c.send(num).expect("the parent is waiting");
        return;
    }
    let (rc_tx, rc) = goro::chan::<u64>(0);
    for i in 0..div {
        let sub_num = num + i * (size / div);
        let rc_tx = rc_tx.clone();
        goro::go(move || skynet(rc_tx, sub_num, size / div, div));
    }
    let mut sum = 0;
    for _ in 0..div {
        sum += rc.recv().expect("every child answers");
    }
    c.send(sum).expect("the parent is waiting");
}

/// Formats 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Runs the demo with `size` leaves; `size` must be a power of 10.
pub fn run_with(out: &mut dyn Write, size: u64) -> io::Result<()> {
    if size == 0 || 10u64.pow(size.ilog10()) != size {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("--size must be a power of 10 (1, 10, 100, ...), not {size}"),
        ));
    }
    let levels = size.ilog10();
    let goroutines: u64 = (0..=levels).map(|l| DIV.pow(l)).sum();
    let expected = size * (size - 1) / 2;
    writeln!(
        out,
        "skynet: a tree of goroutines, each starting {DIV} children, down to {} leaves",
        thousands(size)
    )?;
    writeln!(
        out,
        "({levels} levels below the root, {} goroutines in all). Leaf k sends k to its",
        thousands(goroutines)
    )?;
    writeln!(
        out,
        "parent over an unbuffered channel; each parent sends the sum of its {DIV} children"
    )?;
    writeln!(
        out,
        "up to its own parent. The root's sum should be 0 + 1 + ... + {} = {expected}.",
        size - 1
    )?;
    writeln!(out)?;
    out.flush()?;

    let before = goro::stats();
    let start = Instant::now();
    let sum = goro::run(move || {
        let (tx, rx) = goro::chan::<u64>(0);
        goro::go(move || skynet(tx, 0, size, DIV));
        rx.recv().expect("the root answers")
    });
    let elapsed = start.elapsed();
    let after = goro::stats();

    writeln!(
        out,
        "the root received {sum} after {:.1} ms ({:.0} ns per goroutine)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / goroutines as f64
    )?;
    writeln!(
        out,
        "scheduler: {} context switches, {} steals, {} OS threads for {} processors",
        after.context_switches - before.context_switches,
        after.steals - before.steals,
        after.ms,
        after.ps
    )?;
    writeln!(out)?;
    if sum != expected {
        return Err(io::Error::other(format!(
            "skynet summed to {sum}, expected {expected}"
        )));
    }
    writeln!(
        out,
        "summary: sum {sum} (expected {expected}, ok) from {} goroutines in {:.1} ms",
        thousands(goroutines),
        elapsed.as_secs_f64() * 1e3
    )
}

#[allow(dead_code)]
fn main() {
    let [size] = demo::options(
        "usage: skynet [--size N]   (N a power of 10)",
        [("--size", DEFAULT_SIZE)],
    );
    demo::main("skynet", |out| run_with(out, size));
}
