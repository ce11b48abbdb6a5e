//! Integration tests for `goro::context`: cancellation trees, deadlines,
//! values, and `done()` inside `select!`, from goroutines and plain
//! threads.

mod common;

use common::{
    assert_took, run_in_child, runtime, seeded_on, serial, watchdog, yield_times, Rng, SLACK,
};
use goro::chan::TryRecvError;
use goro::context::{self, CancelHandle, Context, ContextError};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts the bytes each thread has allocated minus those it freed, to
/// find memory that outlives the contexts holding it (a thread-local
/// count, so tests running in parallel do not disturb each other).
struct CountingAlloc;

thread_local! {
    static NET_BYTES: Cell<isize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping touches only a
// const-initialised thread-local without destructor (no allocation).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = NET_BYTES.try_with(|n| n.set(n.get() + layout.size() as isize));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = NET_BYTES.try_with(|n| n.set(n.get() - layout.size() as isize));
        // SAFETY: as above; `ptr` came from `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Bytes this thread allocated and has not freed.
fn net_bytes() -> isize {
    NET_BYTES.with(Cell::get)
}

/// True if `ctx.done()` is closed right now.
fn is_done(ctx: &Context) -> bool {
    matches!(ctx.done().try_recv(), Err(TryRecvError::Closed))
}

fn assert_cancelled(ctx: &Context, err: ContextError, what: &str) {
    assert_eq!(ctx.err(), Some(err), "{what}: err()");
    assert!(ctx.is_cancelled(), "{what}: is_cancelled()");
    assert!(is_done(ctx), "{what}: done() is not closed");
}

fn assert_active(ctx: &Context, what: &str) {
    assert_eq!(ctx.err(), None, "{what}: err()");
    assert!(!ctx.is_cancelled(), "{what}: is_cancelled()");
    assert_eq!(
        ctx.done().try_recv(),
        Err(TryRecvError::Empty),
        "{what}: done() must be open"
    );
}

#[test]
fn background_is_never_done() {
    let bg = Context::background();
    assert_active(&bg, "background");
    assert_eq!(bg.deadline(), None);
    assert!(bg.value::<u32>("anything").is_none());
    assert_eq!(
        bg.done().recv_timeout(Duration::from_millis(10)),
        Err(goro::chan::RecvTimeoutError::Timeout)
    );
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
}

/// A goroutine parked in `select!` on `ctx.done()` (and a channel nobody
/// sends on) is woken by `cancel`, through the done case; the cancel races
/// the goroutine's arrival in the select.
#[test]
fn cancel_wakes_goroutine_parked_in_select() {
    seeded_on(2, "cancel_wakes_goroutine_parked_in_select", |seed| {
        let mut rng = Rng::new(seed);
        for i in 0..1_000 {
            let (ctx, cancel) = context::with_cancel(&Context::background());
            let (_work_tx, work_rx) = goro::chan::<u32>(0);
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let (ctx, work_rx) = (ctx.clone(), work_rx.clone());
                    goro::go(move || {
                        let via = goro::select! {
                            recv(work_rx) -> _ => "work",
                            recv(ctx.done()) -> msg => {
                                assert!(msg.is_err(), "done() carries no values");
                                "done"
                            },
                        };
                        (via, ctx.err())
                    })
                })
                .collect();
            // Usually the waiters are parked by now; sometimes not yet.
            match rng.below(3) {
                0 => {}
                1 => yield_times(rng.below(5)),
                _ => goro::time::sleep(Duration::from_micros(rng.below(500))),
            }
            // Cancel from this goroutine or from a plain thread.
            if i % 4 == 3 {
                std::thread::spawn(move || cancel.cancel()).join().unwrap();
            } else {
                cancel.cancel();
                drop(cancel);
            }
            for w in waiters {
                let (via, err) = w.join().unwrap();
                assert_eq!(via, "done", "iteration {i}");
                assert_eq!(err, Some(ContextError::Canceled), "iteration {i}");
            }
            assert_cancelled(&ctx, ContextError::Canceled, "ctx");
        }
    });
}

/// A goroutine blocked in a plain `recv()` on `done()` wakes on cancel;
/// so does a plain thread; cancel is idempotent and keeps the first cause.
#[test]
fn cancel_wakes_blocking_recv_on_done() {
    watchdog("cancel_wakes_blocking_recv_on_done", || {
        runtime(2).run(|| {
            let (ctx, cancel) = context::with_cancel(&Context::background());
            assert_active(&ctx, "fresh");
            let c1 = ctx.clone();
            let g = goro::go(move || c1.done().recv().is_err());
            let c2 = ctx.clone();
            let t = std::thread::spawn(move || c2.done().recv().is_err());
            goro::time::sleep(Duration::from_millis(10));
            assert_active(&ctx, "before cancel");
            let start = Instant::now();
            cancel.cancel();
            assert!(g.join().unwrap());
            assert!(t.join().unwrap());
            assert!(start.elapsed() < Duration::from_secs(1));
            cancel.cancel();
            drop(cancel);
            assert_cancelled(&ctx, ContextError::Canceled, "after cancel");
        });
    });
}

#[test]
fn timeout_fires_within_slack() {
    let _serial = serial();
    watchdog("timeout_fires_within_slack", || {
        runtime(2).run(|| {
            let start = Instant::now();
            let (ctx, _cancel) =
                context::with_timeout(&Context::background(), Duration::from_millis(30));
            let deadline = ctx.deadline().expect("a deadline");
            assert!(deadline >= start + Duration::from_millis(30));
            assert!(deadline <= Instant::now() + Duration::from_millis(30));
            assert_active(&ctx, "before the deadline");
            let fired = goro::select! {
                recv(ctx.done()) -> _ => true,
                after(Duration::from_secs(5)) => false,
            };
            let took = start.elapsed();
            assert!(fired, "done() did not close within 5 s");
            assert_took("with_timeout(30ms)", took, Duration::from_millis(30));
            assert!(Instant::now() >= deadline);
            assert_cancelled(&ctx, ContextError::DeadlineExceeded, "after the deadline");

            // with_deadline, waited on by a plain blocking recv.
            let start = Instant::now();
            let (ctx, _cancel) =
                context::with_deadline(&Context::background(), start + Duration::from_millis(40));
            assert!(ctx.done().recv().is_err());
            assert_took(
                "with_deadline(40ms)",
                start.elapsed(),
                Duration::from_millis(40),
            );
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        });
    });
}

/// Many timeouts at once, each fires on time (the timer heap orders
/// them, no thread per timer).
#[test]
fn many_timeouts_fire_in_order() {
    let _serial = serial();
    seeded_on(2, "many_timeouts_fire_in_order", |seed| {
        let mut rng = Rng::new(seed);
        let start = Instant::now();
        let hs: Vec<_> = (0..200)
            .map(|_| {
                let d = Duration::from_millis(5 + rng.below(60));
                goro::go(move || {
                    let before = Instant::now();
                    let (ctx, _cancel) = context::with_timeout(&Context::background(), d);
                    assert!(ctx.done().recv().is_err());
                    let took = before.elapsed();
                    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
                    (d, took)
                })
            })
            .collect();
        for h in hs {
            let (d, took) = h.join().unwrap();
            assert_took(&format!("with_timeout({d:?})"), took, d);
        }
        assert!(start.elapsed() < Duration::from_secs(2));
    });
}

/// A child's deadline is the earlier of its parent's and its own.
#[test]
fn child_deadline_is_min_of_parent_and_own() {
    let _serial = serial();
    watchdog("child_deadline_is_min_of_parent_and_own", || {
        runtime(2).run(|| {
            let bg = Context::background();

            // The parent's deadline is earlier: the child inherits it and
            // is cancelled with DeadlineExceeded when it passes.
            let start = Instant::now();
            let (parent, _pc) = context::with_timeout(&bg, Duration::from_millis(40));
            let (child, _cc) = context::with_timeout(&parent, Duration::from_secs(10));
            assert_eq!(child.deadline(), parent.deadline());
            let (grandchild, _gc) = context::with_cancel(&child);
            assert_eq!(grandchild.deadline(), parent.deadline());
            let v = context::with_value(&child, "k", Arc::new(1u8));
            assert_eq!(v.deadline(), parent.deadline());
            assert!(grandchild.done().recv().is_err());
            assert_took(
                "the parent's 40ms deadline",
                start.elapsed(),
                Duration::from_millis(40),
            );
            // Cancellation reaches the nodes of the tree one after
            // another (the grandchild may be done a moment before its
            // sibling): wait for each, then check.
            for (c, name) in [
                (&parent, "parent"),
                (&child, "child"),
                (&grandchild, "grandchild"),
                (&v, "value child"),
            ] {
                assert_eq!(
                    c.done().recv_timeout(SLACK),
                    Err(goro::chan::RecvTimeoutError::Closed),
                    "{name}: not cancelled with its ancestor"
                );
                assert_cancelled(c, ContextError::DeadlineExceeded, name);
            }

            // The child's own deadline is earlier: it fires alone.
            let start = Instant::now();
            let (parent, _pc) = context::with_timeout(&bg, Duration::from_secs(10));
            let (child, _cc) = context::with_timeout(&parent, Duration::from_millis(30));
            let pd = parent.deadline().unwrap();
            let cd = child.deadline().unwrap();
            assert!(cd < pd);
            assert!(cd >= start + Duration::from_millis(30));
            assert!(child.done().recv().is_err());
            assert_took(
                "the child's 30ms deadline",
                start.elapsed(),
                Duration::from_millis(30),
            );
            assert_cancelled(&child, ContextError::DeadlineExceeded, "child");
            assert_active(&parent, "parent of an expired child");

            // An absolute deadline later than the parent's is clamped.
            let (child2, _c2) = context::with_deadline(&parent, pd + Duration::from_secs(60));
            assert_eq!(child2.deadline(), Some(pd));
        });
    });
}

/// Cancelling a parent closes `done` for every descendant (children of
/// all kinds and grandchildren), with the parent's cause; cancelling a
/// child touches neither its parent nor its siblings.
#[test]
fn cancel_flows_down_the_tree_never_up() {
    watchdog("cancel_flows_down_the_tree_never_up", || {
        runtime(2).run(|| {
            let bg = Context::background();
            let (root, root_cancel) = context::with_cancel(&bg);
            let mut handles: Vec<CancelHandle> = Vec::new();
            let mut children = Vec::new();
            let mut grandchildren = Vec::new();
            for i in 0..3 {
                let child = match i {
                    0 => {
                        let (c, h) = context::with_cancel(&root);
                        handles.push(h);
                        c
                    }
                    1 => {
                        let (c, h) = context::with_timeout(&root, Duration::from_secs(60));
                        handles.push(h);
                        c
                    }
                    _ => context::with_value(&root, "child", Arc::new(i)),
                };
                for j in 0..3 {
                    let g = match j {
                        0 => {
                            let (g, h) = context::with_cancel(&child);
                            handles.push(h);
                            g
                        }
                        1 => {
                            let (g, h) = context::with_deadline(
                                &child,
                                Instant::now() + Duration::from_secs(60),
                            );
                            handles.push(h);
                            g
                        }
                        _ => context::with_value(&child, "grandchild", Arc::new(j)),
                    };
                    grandchildren.push(g);
                }
                children.push(child);
            }

            // A child's cancel: its subtree only.
            handles[0].cancel();
            assert_cancelled(&children[0], ContextError::Canceled, "cancelled child");
            for g in &grandchildren[..3] {
                assert_cancelled(
                    g,
                    ContextError::Canceled,
                    "grandchild of the cancelled child",
                );
            }
            assert_active(&root, "parent of a cancelled child");
            for c in &children[1..] {
                assert_active(c, "sibling of a cancelled child");
            }
            for g in &grandchildren[3..] {
                assert_active(g, "grandchild in another subtree");
            }
            // A grandchild's cancel: not its parent.
            handles[4].cancel(); // child 1's with_cancel grandchild
            assert_cancelled(&grandchildren[3], ContextError::Canceled, "grandchild");
            assert_active(&children[1], "parent of a cancelled grandchild");

            // Waiters on every descendant wake when the root is cancelled.
            let woke = Arc::new(AtomicUsize::new(0));
            let waiters: Vec<_> = children
                .iter()
                .chain(&grandchildren)
                .map(|c| {
                    let (c, woke) = (c.clone(), woke.clone());
                    goro::go(move || {
                        goro::select! {
                            recv(c.done()) -> _ => { woke.fetch_add(1, SeqCst); },
                            after(Duration::from_secs(10)) => {},
                        }
                    })
                })
                .collect();
            goro::time::sleep(Duration::from_millis(5));
            root_cancel.cancel();
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(woke.load(SeqCst), children.len() + grandchildren.len());
            assert_cancelled(&root, ContextError::Canceled, "root");
            for c in children.iter().chain(&grandchildren) {
                assert!(c.err().is_some() && is_done(c));
            }
            // The cause stays the first one: the grandchildren cancelled
            // on their own stay Canceled, the deadline children (cancelled
            // by the root) are Canceled too, not DeadlineExceeded.
            assert_eq!(children[1].err(), Some(ContextError::Canceled));
            assert_eq!(grandchildren[4].err(), Some(ContextError::Canceled));
            // The background context is untouched by all of this.
            assert_active(&bg, "background");
            drop(handles);
        });
    });
}

#[test]
fn with_cancel_of_cancelled_parent_is_cancelled_at_once() {
    watchdog(
        "with_cancel_of_cancelled_parent_is_cancelled_at_once",
        || {
            let (parent, cancel) = context::with_cancel(&Context::background());
            cancel.cancel();
            let (child, _h) = context::with_cancel(&parent);
            assert_cancelled(
                &child,
                ContextError::Canceled,
                "child of a cancelled parent",
            );
            let (child2, _h2) = context::with_timeout(&parent, Duration::from_secs(60));
            assert_cancelled(
                &child2,
                ContextError::Canceled,
                "timeout child of a cancelled parent",
            );
            let v = context::with_value(&parent, "k", Arc::new(()));
            assert_cancelled(
                &v,
                ContextError::Canceled,
                "value child of a cancelled parent",
            );
            let (grandchild, _h3) = context::with_cancel(&v);
            assert_cancelled(&grandchild, ContextError::Canceled, "grandchild");

            // Expired by deadline: children inherit DeadlineExceeded.
            let (expired, _e) =
                context::with_timeout(&Context::background(), Duration::from_millis(1));
            assert!(expired.done().recv().is_err());
            let (child, _h) = context::with_cancel(&expired);
            assert_cancelled(
                &child,
                ContextError::DeadlineExceeded,
                "child of an expired parent",
            );
        },
    );
}

/// Go's `WithDeadline` with a deadline already past returns a context that
/// is already done (`DeadlineExceeded`), synchronously.
#[test]
fn past_deadline_is_exceeded_at_once() {
    watchdog("past_deadline_is_exceeded_at_once", || {
        runtime(2).run(|| {
            let bg = Context::background();
            let (ctx, _h) = context::with_timeout(&bg, Duration::ZERO);
            assert_cancelled(&ctx, ContextError::DeadlineExceeded, "with_timeout(0)");
            let (ctx, _h) = context::with_deadline(&bg, Instant::now() - Duration::from_millis(5));
            assert_cancelled(&ctx, ContextError::DeadlineExceeded, "with_deadline(past)");
        });
    });
}

/// A past deadline still expires (at the latest very soon).
#[test]
fn past_deadline_expires_promptly() {
    watchdog("past_deadline_expires_promptly", || {
        runtime(2).run(|| {
            let start = Instant::now();
            let (ctx, _h) = context::with_timeout(&Context::background(), Duration::ZERO);
            assert!(ctx.done().recv().is_err());
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
            assert!(start.elapsed() < SLACK);
        });
    });
}

#[test]
fn dropping_the_handle_cancels() {
    watchdog("dropping_the_handle_cancels", || {
        runtime(2).run(|| {
            let (ctx, handle) = context::with_cancel(&Context::background());
            let (child, _ch) = context::with_cancel(&ctx);
            let c = ctx.clone();
            let waiter = goro::go(move || c.done().recv().is_err());
            goro::time::sleep(Duration::from_millis(5));
            assert_active(&ctx, "while the handle lives");
            drop(handle);
            assert!(waiter.join().unwrap());
            assert_cancelled(&ctx, ContextError::Canceled, "after dropping the handle");
            assert_cancelled(&child, ContextError::Canceled, "child");

            // Dropping a timeout's handle cancels it early (Canceled) and
            // releases its timer: it never becomes DeadlineExceeded.
            let (ctx, handle) =
                context::with_timeout(&Context::background(), Duration::from_millis(20));
            drop(handle);
            assert_cancelled(&ctx, ContextError::Canceled, "timeout dropped early");
            goro::time::sleep(Duration::from_millis(40));
            assert_eq!(ctx.err(), Some(ContextError::Canceled));

            // Dropping a handle moved to another goroutine.
            let (ctx, handle) = context::with_cancel(&Context::background());
            goro::go(move || drop(handle)).join().unwrap();
            assert_cancelled(&ctx, ContextError::Canceled, "handle dropped elsewhere");
        });
    });
}

#[test]
fn values_are_found_through_the_chain() {
    let bg = Context::background();
    let a = context::with_value(&bg, "user", Arc::new(String::from("ann")));
    let (b, _hb) = context::with_cancel(&a);
    let c = context::with_value(&b, "request", Arc::new(42u64));
    let (d, _hd) = context::with_timeout(&c, Duration::from_secs(60));
    let e = context::with_value(&d, "user", Arc::new(String::from("bob")));

    assert_eq!(
        d.value::<String>("user").as_deref().map(String::as_str),
        Some("ann")
    );
    assert_eq!(d.value::<u64>("request").as_deref(), Some(&42));
    // The nearest value shadows an ancestor's under the same key.
    assert_eq!(
        e.value::<String>("user").as_deref().map(String::as_str),
        Some("bob")
    );
    assert_eq!(e.value::<u64>("request").as_deref(), Some(&42));
    // Ancestors do not see their descendants' values.
    assert!(a.value::<u64>("request").is_none());
    assert!(bg.value::<String>("user").is_none());
    // Missing key, or the wrong type.
    assert!(e.value::<u64>("missing").is_none());
    assert!(e.value::<u32>("request").is_none());
    // Values are shared, not copied.
    let shared = Arc::new(vec![1, 2, 3]);
    let f = context::with_value(&bg, "vec", shared.clone());
    assert!(Arc::ptr_eq(&f.value::<Vec<i32>>("vec").unwrap(), &shared));
    // Values cross goroutines with the context.
    let e2 = e.clone();
    let seen = goro::run(move || {
        goro::go(move || e2.value::<u64>("request").map(|v| *v))
            .join()
            .unwrap()
    });
    assert_eq!(seen, Some(42));
}

/// Children created concurrently with the parent's cancellation all end
/// up cancelled: none is adopted after the parent's children were taken.
#[test]
fn children_created_while_parent_is_cancelled_are_cancelled() {
    seeded_on(
        2,
        "children_created_while_parent_is_cancelled_are_cancelled",
        |seed| {
            let mut rng = Rng::new(seed);
            for _ in 0..500 {
                let (parent, cancel) = context::with_cancel(&Context::background());
                let makers: Vec<_> = (0..3u64)
                    .map(|m| {
                        let parent = parent.clone();
                        let mut rng = Rng::new(rng.next_u64() ^ m);
                        goro::go(move || {
                            let mut made = Vec::new();
                            for k in 0..20 {
                                let made_one = match k % 3 {
                                    0 => context::with_cancel(&parent),
                                    1 => context::with_timeout(&parent, Duration::from_secs(60)),
                                    _ => {
                                        let v = context::with_value(&parent, "k", Arc::new(k));
                                        context::with_cancel(&v)
                                    }
                                };
                                made.push(made_one);
                                yield_times(rng.below(2));
                            }
                            made
                        })
                    })
                    .collect();
                yield_times(rng.below(20));
                cancel.cancel();
                for m in makers {
                    // Keep the handles alive (dropping them would cancel).
                    let made = m.join().unwrap();
                    for (ctx, _handle) in &made {
                        assert_cancelled(ctx, ContextError::Canceled, "child made during cancel");
                    }
                }
            }
        },
    );
}

/// N workers loop on `select! { recv(tasks), recv(ctx.done()) }` fed by a
/// producer; a deadline stops them all promptly.
#[test]
fn worker_pool_stops_at_deadline() {
    let _serial = serial();
    watchdog("worker_pool_stops_at_deadline", || {
        runtime(2).run(|| {
            const WORKERS: usize = 8;
            let start = Instant::now();
            let (ctx, _cancel) =
                context::with_timeout(&Context::background(), Duration::from_millis(60));
            let (task_tx, task_rx) = goro::chan::<u64>(16);
            let processed = Arc::new(AtomicUsize::new(0));
            let producer = {
                let ctx = ctx.clone();
                goro::go(move || {
                    let mut next = 0u64;
                    loop {
                        goro::select! {
                            send(task_tx, next) -> res => {
                                res.expect("workers hold the receiver");
                                next += 1;
                            },
                            recv(ctx.done()) -> _ => break,
                        }
                    }
                    next
                })
            };
            let workers: Vec<_> = (0..WORKERS)
                .map(|_| {
                    let (ctx, tasks, processed) = (ctx.clone(), task_rx.clone(), processed.clone());
                    goro::go(move || {
                        let mut mine = 0u64;
                        loop {
                            goro::select! {
                                recv(tasks) -> t => {
                                    // The producer stops (closing `tasks`)
                                    // at the deadline too.
                                    if t.is_err() {
                                        break;
                                    }
                                    // Some work that parks.
                                    goro::time::sleep(Duration::from_micros(200));
                                    processed.fetch_add(1, Relaxed);
                                    mine += 1;
                                },
                                recv(ctx.done()) -> _ => break,
                            }
                        }
                        (mine, Instant::now())
                    })
                })
                .collect();
            drop(task_rx);
            let deadline = ctx.deadline().unwrap();
            let mut total = 0;
            for w in workers {
                let (mine, exited) = w.join().unwrap();
                total += mine;
                assert!(exited >= deadline, "a worker exited before the deadline");
                let late = exited - deadline;
                assert!(late < SLACK, "a worker exited {late:?} after the deadline");
            }
            let sent = producer.join().unwrap();
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
            assert!(total > 0, "no task was processed before the deadline");
            assert!(total <= sent);
            assert_eq!(total as usize, processed.load(Relaxed));
            assert!(start.elapsed() < Duration::from_secs(2));
        });
    });
}

/// Contexts from a plain thread, in a fresh process where no runtime has
/// started: the deadline still fires (a timer needs some M to run it).
#[test]
fn timeout_on_plain_thread_in_fresh_process() {
    let Some(out) = run_in_child(
        "timeout_on_plain_thread_in_fresh_process",
        "plain-thread-timeout",
        &[],
        || {
            let start = Instant::now();
            let (ctx, _h) =
                context::with_timeout(&Context::background(), Duration::from_millis(30));
            let r = ctx.done().recv_timeout(Duration::from_secs(5));
            let took = start.elapsed();
            assert_eq!(
                r,
                Err(goro::chan::RecvTimeoutError::Closed),
                "done() did not close"
            );
            assert_took(
                "with_timeout(30ms) on a plain thread",
                took,
                Duration::from_millis(30),
            );
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
            // Cancel from the plain thread wakes a goroutine parked on done().
            let (ctx, cancel) = context::with_cancel(&Context::background());
            let c = ctx.clone();
            let h = std::thread::spawn(move || goro::run(move || c.done().recv().is_err()));
            std::thread::sleep(Duration::from_millis(10));
            cancel.cancel();
            assert!(h.join().unwrap());
            println!("CHILD-OK");
        },
    ) else {
        return;
    };
    assert!(
        out.status.success() && out.stdout.contains("CHILD-OK"),
        "{}",
        out.describe()
    );
}

/// Go's `WithTimeout` accepts any duration (a huge one never fires);
/// goro panics with "overflow when adding duration to instant".
#[test]
fn huge_timeout_does_not_panic() {
    let (ctx, _h) = context::with_timeout(&Context::background(), Duration::MAX);
    assert_active(&ctx, "with_timeout(MAX)");
    let (child, _c) = context::with_timeout(&ctx, Duration::from_secs(3600));
    assert!(child.deadline().is_some());
}

/// A context created inside a runtime that is later dropped: its deadline
/// timer sits in the dead runtime's heap and never fires, so `done()`
/// never closes and `err()` stays `None` long past the deadline. (Checking
/// the deadline in `err()`, or arming the timer on a runtime that lives,
/// would fix it.)
#[test]
fn deadline_fires_after_its_runtime_is_dropped() {
    watchdog("deadline_fires_after_its_runtime_is_dropped", || {
        let rt = runtime(2);
        let (ctx, _h) =
            rt.run(|| context::with_timeout(&Context::background(), Duration::from_millis(30)));
        drop(rt);
        let r = ctx.done().recv_timeout(Duration::from_secs(1));
        assert_eq!(
            r,
            Err(goro::chan::RecvTimeoutError::Closed),
            "done() still open 1 s after a 30 ms deadline; err() = {:?}",
            ctx.err()
        );
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    });
}

/// A long-lived parent (a server's root context) with many short-lived
/// children: a cancelled child unlinks itself, so nothing accumulates.
#[test]
fn cancelled_children_do_not_accumulate_in_a_long_lived_parent() {
    let (root, _root_cancel) = context::with_cancel(&Context::background());
    for _ in 0..100 {
        let (c, h) = context::with_cancel(&root);
        drop(h);
        drop(c);
    }
    let before = net_bytes();
    for _ in 0..10_000 {
        let (c, h) = context::with_cancel(&root);
        let (grandchild, gh) = context::with_cancel(&c);
        drop(h);
        drop((c, grandchild, gh));
    }
    let grown = net_bytes() - before;
    assert!(
        grown < 16 * 1024,
        "10,000 cancelled children of a live context still hold {grown} bytes"
    );
    assert_active(&root, "root");
}

/// `with_value` children of a cancellable context are linked into the
/// parent's child list (so that they are cancelled with it) but never
/// unlinked: they have no handle, and nothing prunes dead entries. So a
/// long-lived parent keeps a `Weak` — and with it the child's whole `Arc`
/// allocation (~160 bytes) — for every value child ever made, until the
/// parent itself is cancelled. Per-request `with_value` under a server's
/// root `with_cancel` context grows without bound. (Go's `WithValue` is not
/// registered with its parent at all.)
#[test]
fn value_children_do_not_accumulate_in_a_long_lived_parent() {
    let (root, _root_cancel) = context::with_cancel(&Context::background());
    for i in 0..100u64 {
        drop(context::with_value(&root, "request", Arc::new(i)));
    }
    let before = net_bytes();
    for i in 0..10_000u64 {
        let v = context::with_value(&root, "request", Arc::new(i));
        assert_eq!(v.value::<u64>("request").as_deref(), Some(&i));
        drop(v);
    }
    let grown = net_bytes() - before;
    assert!(
        grown < 64 * 1024,
        "10,000 dropped with_value children of a live cancellable context still hold {grown} \
         bytes"
    );
}
