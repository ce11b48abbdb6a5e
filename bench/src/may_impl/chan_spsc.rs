//! `chan_spsc` on may: a channel of capacity 1024 ([`super::chan`]: may's
//! unbounded `mpmc` channel gated by a 1024-permit `Semphore`, since may has
//! no bounded channel); one producer coroutine sends the u64s
//! 0..10,000,000 and closes it, the main coroutine receives until closed and
//! sums. Count and sum are checked. Metric: messages / wall (millions per
//! second). Same definition as `bench/go/chan_spsc.go` and the goro and tokio
//! versions.

use std::time::Instant;

use crate::checks::spsc_outcome;
use crate::harness::Outcome;
use crate::spec::{CHAN_CAPACITY, SPSC_MESSAGES};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let (tx, rx) = super::chan::<u64>(CHAN_CAPACITY);
        let start = Instant::now();
        may::go!(move || {
            for i in 0..SPSC_MESSAGES {
                if tx.send(i).is_err() {
                    break;
                }
            }
        });
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(v) = rx.recv() {
            count += 1;
            sum += v;
        }
        (start.elapsed(), count, sum)
    })?;
    spsc_outcome(elapsed, count, sum)
}
