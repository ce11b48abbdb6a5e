//! `chan_spsc` on tokio: `tokio::sync::mpsc::channel(1024)`; one producer
//! task sends the u64s 0..10,000,000 and closes the channel (drops its
//! sender), the main task receives until closed and sums. Count and sum are
//! checked. Metric: messages / wall (millions per second). Same definition
//! as `bench/go/chan_spsc.go` and the goro and may versions.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::checks::spsc_outcome;
use crate::harness::Outcome;
use crate::spec::{CHAN_CAPACITY, SPSC_MESSAGES};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || async {
        let (tx, mut rx) = mpsc::channel::<u64>(CHAN_CAPACITY);
        let start = Instant::now();
        tokio::spawn(async move {
            for i in 0..SPSC_MESSAGES {
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
    spsc_outcome(elapsed, count, sum)
}
