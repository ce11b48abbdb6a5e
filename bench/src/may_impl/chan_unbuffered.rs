//! `chan_unbuffered` on may: one producer coroutine sends the u64s
//! 0..1,000,000 and closes the channel, the main coroutine receives until
//! closed and sums. Count and sum are checked. Metric: wall / 1,000,000 (ns
//! per message). Same definition as `bench/go/chan_unbuffered.go` and the
//! goro and tokio versions, except that may has no rendezvous channel: the
//! channel has capacity 1 ([`super::chan`]`(0)`), so the producer may run
//! one value ahead.

use std::time::Instant;

use crate::checks::unbuffered_outcome;
use crate::harness::Outcome;
use crate::spec::UNBUFFERED_MESSAGES;

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let (tx, rx) = super::chan::<u64>(0);
        let start = Instant::now();
        may::go!(move || {
            for i in 0..UNBUFFERED_MESSAGES {
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
    unbuffered_outcome(elapsed, count, sum)
}
