//! `chan_spsc` on goro: `goro::chan(1024)`; one producer goroutine sends the
//! u64s 0..10,000,000 and closes the channel (drops its sender), the main
//! goroutine receives until closed and sums. Count and sum are checked.
//! Metric: messages / wall (millions per second). Same definition as
//! `bench/go/chan_spsc.go` and the may and tokio versions.

use std::time::Instant;

use crate::checks::spsc_outcome;
use crate::harness::Outcome;
use crate::spec::{CHAN_CAPACITY, SPSC_MESSAGES};

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let (tx, rx) = goro::chan::<u64>(CHAN_CAPACITY);
        let start = Instant::now();
        let _ = goro::go(move || {
            for i in 0..SPSC_MESSAGES {
                if tx.send(i).is_err() {
                    break;
                }
            }
        });
        let (mut count, mut sum) = (0u64, 0u64);
        for v in rx.iter() {
            count += 1;
            sum += v;
        }
        (start.elapsed(), count, sum)
    })?;
    spsc_outcome(elapsed, count, sum)
}
