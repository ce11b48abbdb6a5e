//! `pingpong` and `pingpong_p2` on tokio: two tasks and two channels; the
//! pinger sends `i` and waits for the ponger's `i + 1`, 1,000,000 times,
//! then closes its channel (drops its sender); the ponger answers until it
//! is closed. The main task joins both. Metric: wall / 1,000,000 (ns per
//! round trip). `pingpong` (procs 1) runs on a current-thread runtime, as
//! `yield` does; `pingpong_p2` on a multi-thread runtime with 2 workers.
//! Same definition as `bench/go/pingpong.go` and the goro and may versions,
//! except that the unbuffered channels are `tokio::sync::mpsc` of capacity 1
//! (no rendezvous channel in tokio; with one value in flight at a time this
//! changes nothing but the cost of the channel).

use std::time::Instant;

use tokio::sync::mpsc;

use crate::checks::pingpong_outcome;
use crate::harness::Outcome;
use crate::spec::PINGPONG_ROUND_TRIPS;

/// Run the benchmark once with `procs` (1 or 2, from the registry).
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let runtime = match procs {
        Some(1) => tokio::runtime::Builder::new_current_thread().build(),
        _ => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = procs {
                builder.worker_threads(n);
            }
            builder.build()
        }
    }
    .map_err(|e| format!("cannot build the tokio runtime: {e}"))?;
    let (elapsed, (round_trips, wrong)) = super::run_on(&runtime, || async {
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        let start = Instant::now();
        let pinger = tokio::spawn(async move {
            let (mut round_trips, mut wrong) = (0u64, 0u64);
            for i in 0..PINGPONG_ROUND_TRIPS {
                if ping_tx.send(i).await.is_err() {
                    break;
                }
                match pong_rx.recv().await {
                    Some(v) if v == i + 1 => {}
                    Some(_) => wrong += 1,
                    None => break,
                }
                round_trips += 1;
            }
            drop(ping_tx);
            (round_trips, wrong)
        });
        let ponger = tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                if pong_tx.send(v + 1).await.is_err() {
                    break;
                }
            }
        });
        let result = pinger
            .await
            .map_err(|e| format!("the pinger failed: {e}"))?;
        ponger
            .await
            .map_err(|e| format!("the ponger failed: {e}"))?;
        Ok::<_, String>((start.elapsed(), result))
    })??;
    pingpong_outcome(elapsed, round_trips, wrong)
}
