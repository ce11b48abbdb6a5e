//! `select` on may: 4 producer coroutines, each with its own "unbuffered"
//! channel ([`super::chan`]`(0)`, i.e. capacity 1: may has no rendezvous
//! channel); producer `p` sends `p * 1,000,000 + i` and closes its channel.
//! The main coroutine selects over the 4 channels until all are closed.
//! Count and sum are checked. Metric: wall / 4,000,000 (ns per message).
//! Same definition as `bench/go/select.go` and the goro and tokio versions.
//!
//! **Approximation.** may's select is not Go's. `may::select!` starts one
//! coroutine per case, each blocking in its own `recv`; the first to finish
//! wins and the others are cancelled. Run in a loop here it loses the
//! values the cancelled cases had already received (about half of the
//! 4,000,000 in a trial, so the count check fails) and takes over a minute.
//! So this version uses may's select *loop* instead — the mechanism behind
//! `may::loop_select!`: a `may::cqueue` with one persistent selector
//! coroutine per channel. Each selector receives from its channel (the "top
//! half"), then hands the event to the main coroutine, which runs the case
//! body (the "bottom half") from `Cqueue::poll`, one event at a time, as
//! Go's select loop does. A selector whose channel is closed records that
//! and finishes, so its case never fires again (Go's nil channel); `poll`
//! reports `Finished` when all 4 have. Each message thus costs a receive by
//! the selector plus an event hand-off to the main coroutine; there is no
//! random choice among ready cases (events are taken in arrival order).

use std::cell::Cell;
use std::time::Instant;

use may::cqueue::{self, PollError};

use crate::checks::select_outcome;
use crate::harness::Outcome;
use crate::spec::{SELECT_PER_PRODUCER, SELECT_PRODUCERS};

/// What the case bodies record. The bodies run one at a time, on the main
/// coroutine, from `Cqueue::poll` (may's cqueue example shares its state
/// with the bottom halves the same way).
struct Tally {
    count: Cell<u64>,
    sum: Cell<u64>,
}

// SAFETY: only the bottom halves touch it, and may runs them one at a time
// on the polling coroutine; the top halves never do.
unsafe impl Sync for Tally {}

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..SELECT_PRODUCERS {
            let (tx, rx) = super::chan::<u64>(0);
            senders.push(tx);
            receivers.push(rx);
        }
        let tally = Tally {
            count: Cell::new(0),
            sum: Cell::new(0),
        };
        let start = Instant::now();
        for (p, tx) in senders.into_iter().enumerate() {
            may::go!(move || {
                let base = p as u64 * SELECT_PER_PRODUCER;
                for i in 0..SELECT_PER_PRODUCER {
                    if tx.send(base + i).is_err() {
                        break;
                    }
                }
                // Dropping the sender closes the channel.
            });
        }
        let finished = cqueue::scope(|cq| {
            for (i, rx) in receivers.iter().enumerate() {
                let tally = &tally;
                cq.add(i, move |es| loop {
                    // Top half, on the selector coroutine.
                    let got = rx.recv();
                    es.send(0);
                    // Bottom half, run by the main coroutine's poll.
                    match got {
                        Some(v) => {
                            tally.count.set(tally.count.get() + 1);
                            tally.sum.set(tally.sum.get() + v);
                        }
                        None => break,
                    }
                });
            }
            loop {
                match cq.poll(None) {
                    Ok(_) => {}
                    Err(PollError::Finished) => return true,
                    Err(PollError::Timeout) => return false,
                }
            }
        });
        (
            start.elapsed(),
            if finished { tally.count.get() } else { 0 },
            tally.sum.get(),
        )
    })?;
    select_outcome(elapsed, count, sum)
}
