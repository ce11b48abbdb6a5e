//! worker-pool: producers put tasks on a `tasks` channel, a fixed pool of
//! worker goroutines takes them off and puts answers on a `results` channel,
//! and consumers add the answers up.
//!
//! Shutting down is done by closing, in order: when the producers are done
//! (each drops its sender) the tasks channel closes; each worker's
//! `for task in &tasks` loop then ends once the tasks are used up, and the
//! worker drops its results sender; when the last worker is gone the
//! results channel closes and the consumers' loops end. No counters and no
//! "stop" messages are needed.
//!
//! Run it: `goro demo worker-pool [--tasks N] [--workers W]` or
//! `cargo run --release --example worker_pool -- [--tasks N] [--workers W]`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// Tasks when no `--tasks` is given.
pub const DEFAULT_TASKS: u64 = 100;
/// Workers when no `--workers` is given.
pub const DEFAULT_WORKERS: usize = 4;
/// Producers (they share the tasks: producer p sends p+1, p+1+PRODUCERS, ...).
const PRODUCERS: u64 = 2;
/// Consumers.
const CONSUMERS: usize = 2;
/// How many results are printed one by one.
const SHOWN: u64 = 8;

/// A worker's answer: who computed it, for which task, and the answer.
struct Answer {
    worker: usize,
    task: u64,
    square: u64,
}

/// What one consumer saw.
struct Tally {
    results: u64,
    sum: u64,
    per_worker: Vec<u64>,
}

/// A producer: sends its share of the tasks 1..=n, then returns, dropping
/// its sender.
fn producer(first: u64, n: u64, tasks: goro::Sender<u64>) -> u64 {
    let mut sent = 0;
    for task in (first..=n).step_by(PRODUCERS as usize) {
        tasks.send(task).expect("workers are running");
        sent += 1;
    }
    sent
}

/// A worker: takes tasks until the tasks channel is closed and empty.
fn worker(id: usize, tasks: goro::Receiver<u64>, results: goro::Sender<Answer>) {
    for task in &tasks {
        // Pretend the work takes a moment, so that every worker gets some.
        goro::time::sleep(Duration::from_millis(1));
        let answer = Answer {
            worker: id,
            task,
            square: task * task,
        };
        results.send(answer).expect("consumers are running");
    }
}

/// A consumer: adds up answers until the results channel is closed and
/// empty.
fn consumer(
    id: usize,
    workers: usize,
    results: goro::Receiver<Answer>,
    printed: Arc<AtomicU64>,
    log: goro::Sender<String>,
) -> Tally {
    let mut tally = Tally {
        results: 0,
        sum: 0,
        per_worker: vec![0; workers],
    };
    for a in &results {
        let k = printed.fetch_add(1, Ordering::Relaxed);
        if k < SHOWN {
            say!(
                log,
                "  consumer {id}: worker {} says {}² = {}",
                a.worker + 1,
                a.task,
                a.square
            );
        } else if k == SHOWN {
            say!(log, "  ... (the other results are not printed)");
        }
        tally.results += 1;
        tally.sum += a.square;
        tally.per_worker[a.worker] += 1;
    }
    tally
}

fn main_goroutine(n: u64, workers: usize, log: goro::Sender<String>) -> io::Result<()> {
    say!(log, "worker-pool: {PRODUCERS} producers put the numbers 1..={n} on a tasks channel (capacity 10);");
    say!(
        log,
        "{workers} workers square each number (taking 1 ms each: a sleep stands in for real work)"
    );
    say!(log, "and put the answer on a results channel (capacity 10); {CONSUMERS} consumers add the answers up.");
    say!(
        log,
        "Which worker gets which task, and which consumer gets which answer, depends on timing."
    );
    say!(log, "");

    let start = Instant::now();
    let (tasks_tx, tasks) = goro::chan::<u64>(10);
    let (results_tx, results) = goro::chan::<Answer>(10);

    let producers: Vec<_> = (1..=PRODUCERS)
        .map(|first| {
            let tasks_tx = tasks_tx.clone();
            goro::go(move || producer(first, n, tasks_tx))
        })
        .collect();
    for id in 0..workers {
        let (tasks, results_tx) = (tasks.clone(), results_tx.clone());
        goro::go(move || worker(id, tasks, results_tx));
    }
    let printed = Arc::new(AtomicU64::new(0));
    let consumers: Vec<_> = (1..=CONSUMERS)
        .map(|id| {
            let (results, printed, log) = (results.clone(), printed.clone(), log.clone());
            goro::go(move || consumer(id, workers, results, printed, log))
        })
        .collect();
    // main keeps no senders (so the channels close when the producers and
    // workers finish) and no receivers.
    drop((tasks_tx, tasks, results_tx, results));

    let sent: u64 = producers
        .into_iter()
        .map(|p| p.join().expect("producer panicked"))
        .sum();
    let tallies: Vec<Tally> = consumers
        .into_iter()
        .map(|c| c.join().expect("consumer panicked"))
        .collect();
    let elapsed = start.elapsed();

    say!(log, "");
    say!(
        log,
        "the producers sent {sent} tasks and closed the tasks channel; the workers drained it"
    );
    say!(
        log,
        "and left, closing the results channel; the consumers drained that and returned."
    );
    let mut per_worker = vec![0u64; workers];
    for (i, t) in tallies.iter().enumerate() {
        say!(
            log,
            "consumer {}: {} results, sum {}",
            i + 1,
            t.results,
            t.sum
        );
        for (w, c) in t.per_worker.iter().enumerate() {
            per_worker[w] += c;
        }
    }
    let counts: Vec<String> = per_worker
        .iter()
        .enumerate()
        .map(|(w, c)| format!("worker {}: {c}", w + 1))
        .collect();
    say!(
        log,
        "tasks done per worker (varies from run to run): {}",
        counts.join(", ")
    );
    let results: u64 = tallies.iter().map(|t| t.results).sum();
    let total: u64 = tallies.iter().map(|t| t.sum).sum();
    let expected = n * (n + 1) * (2 * n + 1) / 6;
    say!(
        log,
        "total of all answers: {total}; 1² + 2² + ... + {n}² = {n}·{}·{}/6 = {expected}",
        n + 1,
        2 * n + 1
    );
    say!(log, "took {:.1} ms", elapsed.as_secs_f64() * 1e3);
    say!(log, "");
    if sent != n || results != n || total != expected || per_worker.iter().sum::<u64>() != n {
        return Err(io::Error::other(format!(
            "expected {n} results summing to {expected}, got {results} summing to {total} ({sent} sent)"
        )));
    }
    say!(
        log,
        "summary: {results} tasks, {results} results, total {total} (expected {expected}, ok); {}",
        counts.join(", ")
    );
    Ok(())
}

/// Runs the demo with `tasks` tasks (the numbers 1..=tasks) and `workers`
/// workers (at least 1).
///
/// What its goroutines print is written to `out` (see
/// [`demo::run_logged`]).
pub fn run_with(out: &mut dyn Write, tasks: u64, workers: usize) -> io::Result<()> {
    let workers = workers.max(1);
    demo::run_logged(out, move |log| main_goroutine(tasks, workers, log))
}

#[allow(dead_code)]
fn main() {
    let [tasks, workers] = demo::options(
        "usage: worker_pool [--tasks N] [--workers W]",
        [
            ("--tasks", DEFAULT_TASKS),
            ("--workers", DEFAULT_WORKERS as u64),
        ],
    );
    demo::main("worker-pool", |out| run_with(out, tasks, workers as usize));
}
