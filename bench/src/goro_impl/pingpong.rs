//! `pingpong` and `pingpong_p2` on goro: two goroutines and two unbuffered
//! channels (`goro::chan(0)`); the pinger sends `i` and waits for the
//! ponger's `i + 1`, 1,000,000 times, then closes its channel; the ponger
//! answers until it is closed. The main goroutine joins both. Metric: wall /
//! 1,000,000 (ns per round trip). procs is 1 for `pingpong` and 2 for
//! `pingpong_p2` (fixed by the registry; the harness passes it). Same
//! definition as `bench/go/pingpong.go` and the may and tokio versions.

use std::time::Instant;

use crate::checks::pingpong_outcome;
use crate::harness::Outcome;
use crate::spec::PINGPONG_ROUND_TRIPS;

/// Run the benchmark once with `procs` (1 or 2, from the registry).
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, (round_trips, wrong)) = super::run_main(procs, || {
        let (ping_tx, ping_rx) = goro::chan::<u64>(0);
        let (pong_tx, pong_rx) = goro::chan::<u64>(0);
        let start = Instant::now();
        let pinger = goro::go(move || {
            let (mut round_trips, mut wrong) = (0u64, 0u64);
            for i in 0..PINGPONG_ROUND_TRIPS {
                if ping_tx.send(i).is_err() {
                    break;
                }
                match pong_rx.recv() {
                    Ok(v) if v == i + 1 => {}
                    Ok(_) => wrong += 1,
                    Err(_) => break,
                }
                round_trips += 1;
            }
            ping_tx.close();
            (round_trips, wrong)
        });
        let ponger = goro::go(move || {
            for v in ping_rx.iter() {
                if pong_tx.send(v + 1).is_err() {
                    break;
                }
            }
        });
        let result = pinger.join().map_err(|_| "the pinger panicked")?;
        ponger.join().map_err(|_| "the ponger panicked")?;
        Ok::<_, String>((start.elapsed(), result))
    })??;
    pingpong_outcome(elapsed, round_trips, wrong)
}
