//! `chan_unbuffered` on tokio: one producer task sends the u64s
//! 0..1,000,000 and closes the channel, the main task receives until closed
//! and sums. Count and sum are checked. Metric: wall / 1,000,000 (ns per
//! message). Same definition as `bench/go/chan_unbuffered.go` and the goro
//! and may versions, except that tokio has no rendezvous channel: it is
//! `tokio::sync::mpsc::channel(1)`, so the producer may run one value ahead.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::checks::unbuffered_outcome;
use crate::harness::Outcome;
use crate::spec::UNBUFFERED_MESSAGES;

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || async {
        let (tx, mut rx) = mpsc::channel::<u64>(1);
        let start = Instant::now();
        tokio::spawn(async move {
            for i in 0..UNBUFFERED_MESSAGES {
                if tx.send(i).await.is_err() {
                    break;
                }
            }
        });
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(v) = rx.recv().await {
            count += 1;
            sum += v;
        }
        (start.elapsed(), count, sum)
    })?;
    unbuffered_outcome(elapsed, count, sum)
}
