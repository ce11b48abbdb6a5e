//! `chan_unbuffered` on goro: an unbuffered channel (`goro::chan(0)`); one
//! producer goroutine sends the u64s 0..1,000,000 and closes it, the main
//! goroutine receives until closed and sums. Count and sum are checked.
//! Metric: wall / 1,000,000 (ns per message). Same definition as
//! `bench/go/chan_unbuffered.go` and the may and tokio versions.

use std::time::Instant;

use crate::checks::unbuffered_outcome;
use crate::harness::Outcome;
use crate::spec::UNBUFFERED_MESSAGES;

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, count, sum) = super::run_main(procs, || {
        let (tx, rx) = goro::chan::<u64>(0);
        let start = Instant::now();
        let _ = goro::go(move || {
            for i in 0..UNBUFFERED_MESSAGES {
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
    unbuffered_outcome(elapsed, count, sum)
}
