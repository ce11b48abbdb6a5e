//! `skynet` on tokio: a 10-ary tree of tasks (`tokio::spawn`) down to
//! 1,000,000 leaves; each leaf sends its number, each node makes a channel,
//! spawns its 10 children on it, sums what they send and sends the sum up.
//! The root's sum must be 499,999,500,000. Metric: wall ms. Same definition
//! as `bench/go/skynet.go` and the goro and may versions, except that the
//! "unbuffered" channels are `tokio::sync::mpsc` of capacity 1 (tokio has no
//! rendezvous channel).

use std::future::Future;
use std::time::Instant;

use tokio::sync::mpsc::{self, Sender};

use crate::checks::skynet_outcome;
use crate::harness::Outcome;
use crate::spec::{SKYNET_FANOUT, SKYNET_LEAVES};

// Not an `async fn` (which clippy prefers): an `async fn` that spawns its
// own future cannot be proven `Send` ("cannot satisfy `impl Future: Send`");
// the declared bound can, with no boxing.
#[allow(clippy::manual_async_fn)]
fn skynet(c: Sender<u64>, num: u64, size: u64) -> impl Future<Output = ()> + Send {
    async move {
        if size == 1 {
            let _ = c.send(num).await;
            return;
        }
        let (tx, mut rx) = mpsc::channel::<u64>(1);
        let child = size / SKYNET_FANOUT;
        for i in 0..SKYNET_FANOUT {
            // Dropping the JoinHandle detaches the task, like `go f()`.
            tokio::spawn(skynet(tx.clone(), num + i * child, child));
        }
        drop(tx);
        let mut sum: u64 = 0;
        for _ in 0..SKYNET_FANOUT {
            // A lost child poisons the sum, which the root then rejects.
            sum = sum.saturating_add(rx.recv().await.unwrap_or(u64::MAX));
        }
        let _ = c.send(sum).await;
    }
}

/// Run the benchmark once.
pub fn run(procs: Option<usize>) -> Result<Outcome, String> {
    let (elapsed, sum) = super::run_main(procs, || async {
        let start = Instant::now();
        let (tx, mut rx) = mpsc::channel::<u64>(1);
        tokio::spawn(skynet(tx, 0, SKYNET_LEAVES));
        let sum = rx.recv().await.unwrap_or(u64::MAX);
        (start.elapsed(), sum)
    })?;
    skynet_outcome(elapsed, sum)
}
