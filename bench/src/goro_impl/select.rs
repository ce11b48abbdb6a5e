//! `select` on goro: 4 producer goroutines, each with its own unbuffered
//! channel (`goro::chan(0)`); producer `p` sends `p * 1,000,000 + i` and
//! closes its channel. The main goroutine loops on `goro::select!` with four
//! `recv(opt_rx)` cases, `opt_rx: Option<&Receiver>`; a closed channel's
//! option is set to `None` (Go's nil channel: the case never fires again);
//! it stops when all 4 are closed. Count and sum are checked. Metric: wall /
//! 4,000,000 (ns per message). Same definition as `bench/go/select.go` and
//! the may and tokio versions.

use std::time::Instant;

use goro::Receiver;

use crate::checks::select_outcome;
use crate::harness::Outcome;
use crate::spec::{SELECT_PER_PRODUCER, SELECT_PRODUCERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..SELECT_PRODUCERS {
            let (tx, rx) = goro::chan::<u64>(0);
            senders.push(tx);
            receivers.push(rx);
        }
        let start = Instant::now();
        for (p, tx) in senders.into_iter().enumerate() {
            let _ = goro::go(move || {
                let base = p as u64 * SELECT_PER_PRODUCER;
                for i in 0..SELECT_PER_PRODUCER {
                    if tx.send(base + i).is_err() {
                        break;
                    }
                }
                tx.close();
            });
        }
        let mut rx: [Option<&Receiver<u64>>; 4] = [
            Some(&receivers[0]),
            Some(&receivers[1]),
            Some(&receivers[2]),
            Some(&receivers[3]),
        ];
        let (mut count, mut sum) = (0u64, 0u64);
        let mut open = SELECT_PRODUCERS;
        while open > 0 {
            let [r0, r1, r2, r3] = rx;
            let (i, got) = goro::select! {
                recv(r0) -> v => (0, v),
                recv(r1) -> v => (1, v),
                recv(r2) -> v => (2, v),
                recv(r3) -> v => (3, v),
            };
            match got {
                Ok(v) => {
                    count += 1;
                    sum += v;
                }
                Err(_) => {
                    rx[i] = None;
                    open -= 1;
                }
            }
        }
        (start.elapsed(), count, sum)
    })?;
    select_outcome(elapsed, count, sum)
}
