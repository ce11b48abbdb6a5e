//! context: stop a whole pool of goroutines when a deadline passes (Go's
//! `context.WithTimeout`).
//!
//! A producer keeps making tasks and a few workers keep doing them, with no
//! end in sight. They all share one context with a timeout; each of them
//! waits in a `select!` that also has a case for the context's `done()`
//! channel, which closes when the deadline passes:
//!
//! ```text
//! goro::select! {
//!     recv(ctx.done()) -> _ => break,          // case <-ctx.Done(): return
//!     recv(tasks) -> task => work(&ctx, task), // case t := <-tasks:
//! }
//! ```
//!
//! Afterwards `ctx.err()` says why: `Some(DeadlineExceeded)` ("context
//! deadline exceeded"), or `Some(Canceled)` if someone cancelled it. The
//! work itself takes the context too, so a task in progress is cut short
//! instead of holding its worker past the deadline.
//!
//! Cancelling flows down the tree of contexts, never up: a child of a
//! cancelled context is cancelled too (even one made afterwards, or one
//! with a later deadline of its own), while cancelling a child leaves its
//! parent alone.
//!
//! Run it: `goro demo context [--timeout-ms T] [--workers W]` or
//! `cargo run --release --example context -- [--timeout-ms T] [--workers W]`.

use goro::context::{self, Context, ContextError};
use std::io::{self, Write};
use std::time::{Duration, Instant};

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// The timeout when no `--timeout-ms` is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(200);
/// Workers when no `--workers` is given.
pub const DEFAULT_WORKERS: usize = 4;
/// How long one task takes.
const TASK_TIME: Duration = Duration::from_millis(5);
/// The child context's own timeout, much later than its parent's.
const CHILD_TIMEOUT: Duration = Duration::from_secs(10);

/// Milliseconds since `start`, for printing.
fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// How a worker's day went.
struct Shift {
    done: u64,
    /// Tasks started but cut short by the deadline.
    cut_short: u64,
    stopped_at: Instant,
    err: Option<ContextError>,
}

/// The producer: sends task 1, 2, 3, ... until the context is done.
/// Returns how many tasks it handed over.
fn producer(
    ctx: Context,
    tasks: goro::Sender<u64>,
    start: Instant,
    log: goro::Sender<String>,
) -> u64 {
    let mut sent = 0;
    loop {
        goro::select! {
            send(tasks, sent + 1) -> res => {
                res.expect("main keeps the workers' receiver alive");
                sent += 1;
            },
            recv(ctx.done()) -> _ => break,
        }
    }
    say!(
        log,
        "  producer: ctx.done() closed at {:.1} ms; stopping after handing out {sent} tasks",
        ms(start)
    );
    sent
}

/// One task: takes [`TASK_TIME`] unless the context is done first.
/// Returns true if it finished.
fn work(ctx: &Context, _task: u64) -> bool {
    goro::select! {
        recv(ctx.done()) -> _ => false,
        after(TASK_TIME) => true,
    }
}

/// A worker: does tasks until the context is done.
fn worker(
    id: usize,
    ctx: Context,
    tasks: goro::Receiver<u64>,
    start: Instant,
    log: goro::Sender<String>,
) -> Shift {
    let (mut done, mut cut_short) = (0, 0);
    loop {
        goro::select! {
            recv(ctx.done()) -> _ => break,
            recv(tasks) -> task => {
                let task = task.expect("main keeps the producer's sender alive");
                if work(&ctx, task) {
                    done += 1;
                } else {
                    cut_short += 1;
                }
            },
        }
    }
    let stopped_at = Instant::now();
    let err = ctx.err();
    say!(
        log,
        "  worker {id}: ctx.done() closed at {:.1} ms; stopping after {done} tasks; ctx.err() = {err:?}",
        ms(start)
    );
    Shift {
        done,
        cut_short,
        stopped_at,
        err,
    }
}

/// Waits for `child` to be cancelled; returns when, and why.
fn watch_child(
    child: Context,
    start: Instant,
    log: goro::Sender<String>,
) -> (Instant, Option<ContextError>) {
    let _ = child.done().recv(); // returns Err when `done` closes
    let stopped_at = Instant::now();
    let err = child.err();
    say!(
        log,
        "  watcher: the child's done() closed at {:.1} ms, long before its own {CHILD_TIMEOUT:?}; child.err() = {err:?}",
        ms(start)
    );
    (stopped_at, err)
}

fn main_goroutine(timeout: Duration, workers: usize, log: goro::Sender<String>) -> io::Result<()> {
    let t = timeout.as_millis();
    say!(
        log,
        "context: a producer goroutine keeps making tasks and {workers} worker goroutines keep doing them"
    );
    say!(
        log,
        "({} ms each: the work waits in a select! on ctx.done() and a {} ms timer).",
        TASK_TIME.as_millis(),
        TASK_TIME.as_millis()
    );
    say!(
        log,
        "Nobody tells them when to stop: they share a context with a {t} ms timeout, and each loops"
    );
    say!(
        log,
        "on a select! with a recv(ctx.done()) case. When the deadline passes, done() closes and they all stop."
    );
    say!(log, "");

    let start = Instant::now();
    let (ctx, _cancel) = context::with_timeout(&Context::background(), timeout);
    let deadline = ctx.deadline().expect("with_timeout sets a deadline");
    let first_err = ctx.err();
    say!(
        log,
        "main: ctx = with_timeout(background, {t} ms); ctx.err() = {first_err:?} ({})",
        if first_err.is_none() {
            "still active"
        } else {
            "already expired"
        }
    );

    // A child that its own handle cancels: the parent is not affected.
    let (early, cancel_early) = context::with_cancel(&ctx);
    cancel_early.cancel();
    let early_err = early.err();
    let parent_after_child = ctx.err();
    say!(
        log,
        "main: a child made with with_cancel(&ctx) and cancelled at once: child.err() = {early_err:?},"
    );
    say!(
        log,
        "      but ctx.err() = {parent_after_child:?}: cancelling a child does not cancel its parent{}",
        if parent_after_child.is_some() {
            " (this one's deadline had already passed)"
        } else {
            ""
        }
    );

    // A child with a later deadline of its own: the parent's comes first.
    let (child, _cancel_child) = context::with_timeout(&ctx, CHILD_TIMEOUT);
    say!(
        log,
        "main: a second child, with_timeout(&ctx, {CHILD_TIMEOUT:?}); a watcher goroutine waits on its done()"
    );
    let watcher = {
        let log = log.clone();
        goro::go(move || watch_child(child, start, log))
    };
    say!(log, "");

    let (tasks_tx, tasks) = goro::chan::<u64>(0);
    let producer = {
        let (ctx, tasks_tx, log) = (ctx.clone(), tasks_tx.clone(), log.clone());
        goro::go(move || producer(ctx, tasks_tx, start, log))
    };
    let pool: Vec<_> = (1..=workers)
        .map(|id| {
            let (ctx, tasks, log) = (ctx.clone(), tasks.clone(), log.clone());
            goro::go(move || worker(id, ctx, tasks, start, log))
        })
        .collect();

    let sent = producer.join().expect("producer panicked");
    let shifts: Vec<Shift> = pool
        .into_iter()
        .map(|w| w.join().expect("worker panicked"))
        .collect();
    let (child_stopped, child_err) = watcher.join().expect("watcher panicked");
    let elapsed = start.elapsed();
    // main kept a sender and a receiver until now, so that the channel
    // never closed under anyone: the only way to stop was ctx.done().
    drop((tasks_tx, tasks));

    let done: u64 = shifts.iter().map(|s| s.done).sum();
    let cut_short: u64 = shifts.iter().map(|s| s.cut_short).sum();
    let stopped = shifts
        .iter()
        .filter(|s| s.err == Some(ContextError::DeadlineExceeded))
        .count();
    let last_stop = shifts
        .iter()
        .map(|s| s.stopped_at)
        .chain([child_stopped])
        .max()
        .unwrap_or(deadline);
    let late = last_stop.saturating_duration_since(deadline);
    let err = ctx.err();
    say!(log, "");
    say!(
        log,
        "main: everyone returned {:.1} ms after the start (timeout {t} ms); the last one stopped {:.1} ms",
        elapsed.as_secs_f64() * 1e3,
        late.as_secs_f64() * 1e3
    );
    say!(
        log,
        "      after the deadline. ctx.err() = {err:?}, which prints as \"{}\".",
        err.map_or("none".to_string(), |e| e.to_string())
    );
    let counts: Vec<String> = shifts
        .iter()
        .enumerate()
        .map(|(i, s)| format!("worker {}: {}", i + 1, s.done))
        .collect();
    say!(
        log,
        "tasks done per worker (varies from run to run): {}",
        counts.join(", ")
    );
    say!(
        log,
        "the producer handed out {sent} tasks: {done} done + {cut_short} cut short by the deadline"
    );

    // Made after the deadline: cancelled from the start.
    let (late_child, _cancel_late) = context::with_cancel(&ctx);
    let late_err = late_child.err();
    let late_recv = late_child.done().recv();
    say!(
        log,
        "main: a child made now, with_cancel(&ctx), is born cancelled: err() = {late_err:?},"
    );
    say!(
        log,
        "      and done().recv() returns at once with {late_recv:?}"
    );
    say!(log, "");

    // Had the early child's cancel reached the parent, ctx.err() would be
    // Canceled, not DeadlineExceeded. (With a tiny timeout the parent may
    // already have expired when the early child was made.)
    let children_ok = early_err.is_some()
        && parent_after_child != Some(ContextError::Canceled)
        && child_err == Some(ContextError::DeadlineExceeded)
        && late_err == Some(ContextError::DeadlineExceeded)
        && late_recv.is_err();
    if err != Some(ContextError::DeadlineExceeded)
        || stopped != workers
        || elapsed < timeout
        || sent != done + cut_short
        || !children_ok
    {
        return Err(io::Error::other(format!(
            "unexpected: ctx.err() {err:?}, {stopped} of {workers} workers stopped by the deadline, \
             elapsed {elapsed:?} for a timeout of {timeout:?}, {sent} tasks sent but {done} done + \
             {cut_short} cut short; children: early {early_err:?} (parent {parent_after_child:?}), \
             child {child_err:?}, late {late_err:?} {late_recv:?}"
        )));
    }
    say!(
        log,
        "summary: {done} tasks done; {stopped} of {workers} workers stopped with \"{}\" \
         {} ms after the start (timeout {t} ms); child contexts cancelled with the parent",
        ContextError::DeadlineExceeded,
        elapsed.as_millis()
    );
    Ok(())
}

/// Runs the demo with a context that times out after `timeout`, and
/// `workers` workers (at least 1).
///
/// What its goroutines print is written to `out` (see
/// [`demo::run_logged`]).
pub fn run_with(out: &mut dyn Write, timeout: Duration, workers: usize) -> io::Result<()> {
    let workers = workers.max(1);
    demo::run_logged(out, move |log| main_goroutine(timeout, workers, log))
}

#[allow(dead_code)]
fn main() {
    let [timeout_ms, workers] = demo::options(
        "usage: context [--timeout-ms T] [--workers W]",
        [
            ("--timeout-ms", DEFAULT_TIMEOUT.as_millis() as u64),
            ("--workers", DEFAULT_WORKERS as u64),
        ],
    );
    let timeout = Duration::from_millis(timeout_ms);
    demo::main("context", |out| run_with(out, timeout, workers as usize));
}
