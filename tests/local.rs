//! Goroutine-local storage (`goro::local!`) and `lock_os_thread`.

mod common;

use common::{eventually, runtime, watchdog, yield_times};
use goro::sync::WaitGroup;
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

goro::local! {
    static VALUE: Cell<u64> = Cell::new(u64::MAX);
}

/// Each goroutine has its own `local!` value, kept across yields, joins and
/// WaitGroup parks (which may resume it on another OS thread); a child
/// goroutine starts from the initial value and does not disturb its parent.
#[test]
fn locals_are_per_goroutine_across_parks() {
    const N: u64 = 50;
    const STEPS: u64 = 200;
    watchdog("locals_are_per_goroutine_across_parks", || {
        let rt = runtime(2);
        let migrations = rt.run(|| {
            let migrations = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..N)
                .map(|n| {
                    let migrations = migrations.clone();
                    goro::go(move || {
                        assert_eq!(VALUE.with(Cell::get), u64::MAX, "not fresh");
                        let base = n * 1_000_000;
                        VALUE.with(|v| v.set(base));
                        let mut thread = std::thread::current().id();
                        for step in 0..STEPS {
                            match step % 3 {
                                0 => goro::yield_now(),
                                1 => {
                                    let child = goro::go(|| {
                                        let fresh = VALUE.with(Cell::get);
                                        VALUE.with(|v| v.set(7));
                                        goro::yield_now();
                                        (fresh, VALUE.with(Cell::get))
                                    });
                                    assert_eq!(child.join().unwrap(), (u64::MAX, 7));
                                }
                                _ => {
                                    let wg = WaitGroup::new();
                                    wg.add(1);
                                    let w = wg.clone();
                                    goro::go(move || w.done());
                                    wg.wait();
                                }
                            }
                            let now = std::thread::current().id();
                            if now != thread {
                                migrations.fetch_add(1, Relaxed);
                                thread = now;
                            }
                            VALUE.with(|v| {
                                assert_eq!(v.get(), base + step, "goroutine {n} lost its value");
                                v.set(v.get() + 1);
                            });
                        }
                        VALUE.with(Cell::get)
                    })
                })
                .collect();
            for (n, h) in (0..N).zip(handles) {
                assert_eq!(h.join().unwrap(), n * 1_000_000 + STEPS);
            }
            migrations.load(Relaxed)
        });
        // Informational: the values survived `migrations` moves between
        // OS threads.
        println!("goroutines resumed on another OS thread {migrations} times");
    });
}

static LAZY_INITS: AtomicUsize = AtomicUsize::new(0);

goro::local! {
    static LAZY: Cell<u32> = {
        LAZY_INITS.fetch_add(1, SeqCst);
        Cell::new(5)
    };
}

/// A `local!` value is initialised on first use, once per goroutine, and
/// never for goroutines that do not touch it.
#[test]
fn locals_are_initialised_lazily() {
    watchdog("locals_are_initialised_lazily", || {
        runtime(2).run(|| {
            let before = LAZY_INITS.load(SeqCst);
            let untouched: Vec<_> = (0..20).map(|_| goro::go(goro::yield_now)).collect();
            for h in untouched {
                h.join().unwrap();
            }
            assert_eq!(LAZY_INITS.load(SeqCst), before, "initialised without use");

            let touched: Vec<_> = (0..20)
                .map(|_| {
                    goro::go(|| {
                        yield_times(2);
                        let first = LAZY.with(|v| {
                            v.set(v.get() + 1);
                            v.get()
                        });
                        goro::yield_now();
                        let second = LAZY.with(Cell::get);
                        (first, second)
                    })
                })
                .collect();
            for h in touched {
                assert_eq!(h.join().unwrap(), (6, 6));
            }
            assert_eq!(
                LAZY_INITS.load(SeqCst),
                before + 20,
                "one init per goroutine"
            );
        });
    });
}

static TRACKED_DROPS: AtomicUsize = AtomicUsize::new(0);

struct Tracked(u32);

impl Drop for Tracked {
    fn drop(&mut self) {
        TRACKED_DROPS.fetch_add(1, SeqCst);
    }
}

goro::local! {
    static TRACKED: Tracked = Tracked(1);
}

/// Each goroutine's `local!` value is dropped when the goroutine ends,
/// whether it returned or panicked — and only values that were created.
#[test]
fn locals_are_dropped_when_goroutine_ends() {
    const N: usize = 100;
    watchdog("locals_are_dropped_when_goroutine_ends", || {
        let rt = runtime(2);
        rt.run(|| {
            let before = TRACKED_DROPS.load(SeqCst);
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    goro::go(move || {
                        if i % 4 != 3 {
                            assert_eq!(TRACKED.with(|t| t.0), 1);
                            goro::yield_now();
                        }
                        if i % 4 == 0 {
                            panic!("drop me while unwinding");
                        }
                    })
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.join().is_err(), i % 4 == 0);
            }
            let expected = before + N / 4 * 3;
            eventually("every created local was dropped", || {
                TRACKED_DROPS.load(SeqCst) >= expected
            });
            // Give stragglers a moment: no extra drops (untouched keys).
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(TRACKED_DROPS.load(SeqCst), expected);
        });
    });
}

static SLOW_DROPPED: AtomicBool = AtomicBool::new(false);

struct SlowDrop;

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(100));
        SLOW_DROPPED.store(true, SeqCst);
    }
}

goro::local! {
    static SLOW: SlowDrop = SlowDrop;
}

/// Like a thread-local for `std::thread::JoinHandle::join`: once `join`
/// returns, the goroutine has ended, so its `local!` values have been
/// dropped (a destructor that flushes or releases something is done).
#[test]
fn locals_are_dropped_before_join_returns() {
    watchdog("locals_are_dropped_before_join_returns", || {
        let h = goro::go(|| SLOW.with(|_| ()));
        h.join().unwrap();
        assert!(
            SLOW_DROPPED.load(SeqCst),
            "join returned before the goroutine's local! values were dropped"
        );
    });
}

static THREAD_DROPS: AtomicUsize = AtomicUsize::new(0);

struct ThreadTracked(Cell<u32>);

impl Drop for ThreadTracked {
    fn drop(&mut self) {
        THREAD_DROPS.fetch_add(1, SeqCst);
    }
}

goro::local! {
    static ON_THREAD: ThreadTracked = ThreadTracked(Cell::new(0));
}

/// On plain threads a `local!` behaves like a thread-local: one value per
/// thread, initialised on use, dropped when the thread exits.
#[test]
fn locals_on_plain_threads_are_thread_locals() {
    watchdog("locals_on_plain_threads_are_thread_locals", || {
        ON_THREAD.with(|v| v.0.set(100));
        let threads: Vec<_> = (1..=4u32)
            .map(|i| {
                std::thread::spawn(move || {
                    assert_eq!(ON_THREAD.with(|v| v.0.get()), 0, "not fresh");
                    for _ in 0..10 {
                        ON_THREAD.with(|v| v.0.set(v.0.get() + i));
                        std::thread::yield_now();
                    }
                    ON_THREAD.with(|v| v.0.get())
                })
            })
            .collect();
        for (i, t) in (1..=4u32).zip(threads) {
            assert_eq!(t.join().unwrap(), 10 * i);
        }
        assert_eq!(THREAD_DROPS.load(SeqCst), 4, "dropped at thread exit");
        assert_eq!(
            ON_THREAD.with(|v| v.0.get()),
            100,
            "this thread's own value"
        );
        // A goroutine does not see the spawning thread's value.
        assert_eq!(
            goro::go(|| ON_THREAD.with(|v| v.0.get())).join().unwrap(),
            0
        );
    });
}

thread_local! {
    static THREAD_STATE: Cell<u64> = const { Cell::new(0) };
}

/// `lock_os_thread` pins a goroutine to its OS thread across 1000 park
/// points (yields, joins, WaitGroup waits, sleeps) while other goroutines keep
/// running — never on the locked thread; after `unlock_os_thread` it parks
/// and migrates normally again. On one and on two Ps.
#[test]
fn lock_os_thread_pins_goroutine_across_parks() {
    watchdog("lock_os_thread_pins_goroutine_across_parks", || {
        for procs in [1, 2] {
            let rt = runtime(procs);
            rt.run(move || {
                let locked_now = Arc::new(AtomicBool::new(false));
                let locked_thread: Arc<Mutex<Option<ThreadId>>> = Arc::new(Mutex::new(None));
                let stop = Arc::new(AtomicBool::new(false));
                let progress = Arc::new(AtomicUsize::new(0));
                let violations = Arc::new(AtomicUsize::new(0));

                // Workers run throughout and check they never run on the
                // locked goroutine's thread while it is locked.
                let workers: Vec<_> = (0..8)
                    .map(|_| {
                        let (locked_now, locked_thread) =
                            (locked_now.clone(), locked_thread.clone());
                        let (stop, progress, violations) =
                            (stop.clone(), progress.clone(), violations.clone());
                        goro::go(move || {
                            while !stop.load(SeqCst) {
                                if locked_now.load(SeqCst) {
                                    let me = std::thread::current().id();
                                    if *locked_thread.lock().unwrap() == Some(me)
                                        && locked_now.load(SeqCst)
                                    {
                                        violations.fetch_add(1, SeqCst);
                                    }
                                }
                                progress.fetch_add(1, SeqCst);
                                goro::yield_now();
                            }
                        })
                    })
                    .collect();

                let locked = {
                    let (locked_now, locked_thread, progress) =
                        (locked_now.clone(), locked_thread.clone(), progress.clone());
                    goro::go(move || {
                        goro::lock_os_thread();
                        let home = std::thread::current().id();
                        *locked_thread.lock().unwrap() = Some(home);
                        locked_now.store(true, SeqCst);
                        THREAD_STATE.with(|s| s.set(0xC0FFEE));
                        let progress_before = progress.load(SeqCst);
                        for i in 0..1000 {
                            match i % 4 {
                                0 => goro::yield_now(),
                                3 => goro::time::sleep(std::time::Duration::from_micros(20)),
                                1 => {
                                    let v = goro::go(move || i * 2).join().unwrap();
                                    assert_eq!(v, i * 2);
                                }
                                _ => {
                                    let wg = WaitGroup::new();
                                    wg.add(1);
                                    let w = wg.clone();
                                    goro::go(move || {
                                        goro::yield_now();
                                        w.done();
                                    });
                                    wg.wait();
                                }
                            }
                            assert_eq!(
                                std::thread::current().id(),
                                home,
                                "procs({procs}): locked goroutine moved at park {i}"
                            );
                            assert_eq!(THREAD_STATE.with(Cell::get), 0xC0FFEE);
                        }
                        let others_ran = progress.load(SeqCst) - progress_before;
                        locked_now.store(false, SeqCst);
                        goro::unlock_os_thread();
                        // Unlocked: parking keeps working.
                        for i in 0..300 {
                            if i % 2 == 0 {
                                goro::yield_now();
                            } else {
                                assert_eq!(goro::go(move || i).join().unwrap(), i);
                            }
                        }
                        others_ran
                    })
                };
                let others_ran = locked.join().unwrap();
                stop.store(true, SeqCst);
                for w in workers {
                    w.join().unwrap();
                }
                assert!(
                    others_ran > 0,
                    "procs({procs}): other goroutines made no progress while one was locked"
                );
                assert_eq!(
                    violations.load(SeqCst),
                    0,
                    "procs({procs}): another goroutine ran on the locked thread"
                );
            });
        }
    });
}

/// A goroutine that exits while still locked does not wedge its thread or
/// its P: many goroutines run afterwards, on one and on two Ps.
#[test]
fn goroutine_exiting_while_locked_leaves_runtime_usable() {
    watchdog(
        "goroutine_exiting_while_locked_leaves_runtime_usable",
        || {
            for procs in [1, 2] {
                let rt = runtime(procs);
                let threads = rt.run(|| {
                    let mut threads = HashSet::new();
                    for _ in 0..20 {
                        goro::go(|| {
                            goro::lock_os_thread();
                            goro::yield_now();
                            // Returns still locked.
                        })
                        .join()
                        .unwrap();
                        let handles: Vec<_> = (0..50)
                            .map(|i| {
                                goro::go(move || {
                                    goro::yield_now();
                                    (i, std::thread::current().id())
                                })
                            })
                            .collect();
                        for (i, h) in (0..50).zip(handles) {
                            let (v, t) = h.join().unwrap();
                            assert_eq!(v, i);
                            threads.insert(t);
                        }
                    }
                    threads.len()
                });
                assert!(threads >= 1);
            }
        },
    );
}
