//! `pingpong` and `pingpong_p2` on may: two coroutines and two channels; the
//! pinger sends `i` and waits for the ponger's `i + 1`, 1,000,000 times,
//! then closes its channel (drops its sender); the ponger answers until it
//! is closed. The main coroutine joins both. Metric: wall / 1,000,000 (ns per
//! round trip). may workers = 1 for `pingpong`, 2 for `pingpong_p2` (fixed
//! by the registry). Same definition as `bench/go/pingpong.go` and the goro
//! and tokio versions, except that the unbuffered channels have capacity 1
//! ([`super::chan`]: may has no rendezvous channel; with one value in flight
//! at a time this changes nothing but the cost of the channel).

use std::time::Instant;

use super::panic_message;
use crate::checks::pingpong_outcome;
use crate::harness::Outcome;
use crate::spec::PINGPONG_ROUND_TRIPS;

/// Run the benchmark once with `procs` (1 or 2, from the registry).
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, (round_trips, wrong)) = super::run_main(procs, || {
        let (ping_tx, ping_rx) = super::chan::<u64>(0);
        let (pong_tx, pong_rx) = super::chan::<u64>(0);
        let start = Instant::now();
        let pinger = may::go!(move || {
            let (mut round_trips, mut wrong) = (0u64, 0u64);
            for i in 0..PINGPONG_ROUND_TRIPS {
                if ping_tx.send(i).is_err() {
                    break;
                }
                match pong_rx.recv() {
                    Some(v) if v == i + 1 => {}
                    Some(_) => wrong += 1,
                    None => break,
                }
                round_trips += 1;
            }
            drop(ping_tx);
            (round_trips, wrong)
        });
        let ponger = may::go!(move || {
            while let Some(v) = ping_rx.recv() {
                if pong_tx.send(v + 1).is_err() {
                    break;
                }
            }
        });
        let result = pinger
            .join()
            .map_err(|p| format!("the pinger failed: {}", panic_message(&*p)))?;
        ponger
            .join()
            .map_err(|p| format!("the ponger failed: {}", panic_message(&*p)))?;
        Ok::<_, String>((start.elapsed(), result))
    })??;
    pingpong_outcome(elapsed, round_trips, wrong)
}
