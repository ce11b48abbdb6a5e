//! `select` on tokio: 4 producer tasks, each with its own channel
//! (`tokio::sync::mpsc::channel(1)`: tokio has no rendezvous channel);
//! producer `p` sends `p * 1,000,000 + i` and closes its channel (drops its
//! sender). The main task loops on `tokio::select!` with one `recv` branch
//! per channel, each guarded by an `if open[i]` precondition: a closed
//! channel's flag is cleared so its branch is disabled from then on (Go's
//! nil channel); it stops when all 4 are closed. `tokio::select!` polls the
//! branches in a random order, as Go picks among ready cases at random.
//! Count and sum are checked. Metric: wall / 4,000,000 (ns per message).
//! Same definition as `bench/go/select.go` and the goro and may versions.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::checks::select_outcome;
use crate::harness::Outcome;
use crate::spec::{SELECT_PER_PRODUCER, SELECT_PRODUCERS};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || async {
        let mut receivers = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..SELECT_PRODUCERS {
            let (tx, rx) = mpsc::channel::<u64>(1);
            senders.push(tx);
            receivers.push(rx);
        }
        let start = Instant::now();
        for (p, tx) in senders.into_iter().enumerate() {
            tokio::spawn(async move {
                let base = p as u64 * SELECT_PER_PRODUCER;
                for i in 0..SELECT_PER_PRODUCER {
                    if tx.send(base + i).await.is_err() {
                        break;
                    }
                }
            });
        }
        let [mut r0, mut r1, mut r2, mut r3]: [mpsc::Receiver<u64>; 4] =
            receivers.try_into().expect("4 receivers");
        let mut open = [true; 4];
        let (mut count, mut sum) = (0u64, 0u64);
        let mut got = |i: usize, v: Option<u64>, open: &mut [bool; 4]| match v {
            Some(v) => {
                count += 1;
                sum += v;
            }
            None => open[i] = false,
        };
        while open.iter().any(|&o| o) {
            tokio::select! {
                v = r0.recv(), if open[0] => got(0, v, &mut open),
                v = r1.recv(), if open[1] => got(1, v, &mut open),
                v = r2.recv(), if open[2] => got(2, v, &mut open),
                v = r3.recv(), if open[3] => got(3, v, &mut open),
            }
        }
        (start.elapsed(), count, sum)
    })?;
    select_outcome(elapsed, count, sum)
}
