//! Park/unpark races: joins and WaitGroups whose waker and waiter race, on
//! goroutines and plain threads, over many randomised iterations.

mod common;

use common::{
    eventually, on_one_and_two_procs, panic_text, runtime, seeded, seeded_on, spin_for, watchdog,
    yield_times, Rng,
};
use goro::sync::WaitGroup;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::Duration;

/// Spawn + immediate join never loses the wake-up, whether the child
/// finishes before the join starts, during it, or long after (the parent
/// parked), on one and on two Ps.
#[test]
fn spawn_join_race() {
    seeded("spawn_join_race", |seed| {
        on_one_and_two_procs(move |procs| {
            let mut rng = Rng::new(seed ^ procs as u64);
            for i in 0..10_000u64 {
                let child_yields = rng.below(4);
                let child_spin = rng.one_in(16);
                let parent_yields = rng.below(4);
                let h = goro::go(move || {
                    yield_times(child_yields);
                    if child_spin {
                        spin_for(Duration::from_micros(20));
                    }
                    i
                });
                yield_times(parent_yields);
                assert_eq!(h.join().unwrap(), i, "procs({procs}) iteration {i}");
            }
        });
    });
}

/// A join whose target is woken by a third goroutine (a wake-up chain
/// through a WaitGroup and a join) races correctly with the join itself.
#[test]
fn join_of_goroutine_woken_by_another() {
    seeded_on(2, "join_of_goroutine_woken_by_another", |seed| {
        let mut rng = Rng::new(seed);
        for i in 0..5_000u64 {
            let (y1, y2, y3) = (rng.below(3), rng.below(3), rng.below(3));
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            let waiter = goro::go(move || {
                yield_times(y1);
                g.wait();
                i
            });
            let opener = goro::go(move || {
                yield_times(y2);
                gate.done();
            });
            yield_times(y3);
            assert_eq!(waiter.join().unwrap(), i);
            opener.join().unwrap();
        }
    });
}

/// A WaitGroup with many waiters, goroutines and plain threads, is released
/// by many `done`s from goroutines and plain threads: every waiter wakes,
/// none early.
#[test]
fn waitgroup_many_waiters_and_doners() {
    const GOROUTINE_WAITERS: usize = 100;
    const THREAD_WAITERS: usize = 4;
    const GOROUTINE_DONES: usize = 150;
    const THREAD_DONERS: usize = 4;
    const DONES_PER_THREAD: usize = 25;
    const TOTAL: usize = GOROUTINE_DONES + THREAD_DONERS * DONES_PER_THREAD;
    seeded("waitgroup_many_waiters_and_doners", |seed| {
        let rt = Arc::new(runtime(2));
        let mut rng = Rng::new(seed);
        for iteration in 0..40 {
            let wg = WaitGroup::new();
            wg.add(TOTAL);
            let dones = Arc::new(AtomicUsize::new(0));
            let released = Arc::new(AtomicUsize::new(0));
            // A waiter checks that every `done` happened before it woke.
            let check = {
                let (dones, released) = (dones.clone(), released.clone());
                move || {
                    assert_eq!(dones.load(SeqCst), TOTAL, "woke before the count hit zero");
                    released.fetch_add(1, SeqCst);
                }
            };
            let mut threads = Vec::new();
            for _ in 0..THREAD_WAITERS {
                let (wg, check) = (wg.clone(), check.clone());
                threads.push(std::thread::spawn(move || {
                    wg.wait();
                    check();
                }));
            }
            for t in 0..THREAD_DONERS {
                let (wg, dones) = (wg.clone(), dones.clone());
                let mut rng = Rng::new(rng.next_u64() ^ t as u64);
                threads.push(std::thread::spawn(move || {
                    for _ in 0..DONES_PER_THREAD {
                        yield_times(rng.below(2));
                        dones.fetch_add(1, SeqCst);
                        wg.done();
                    }
                }));
            }
            let sub_seed = rng.next_u64();
            let (wg2, dones2, check2) = (wg.clone(), dones.clone(), check.clone());
            rt.run(move || {
                let mut rng = Rng::new(sub_seed);
                let mut handles = Vec::new();
                for _ in 0..GOROUTINE_WAITERS {
                    let (wg, check, y) = (wg2.clone(), check2.clone(), rng.below(3));
                    handles.push(goro::go(move || {
                        yield_times(y);
                        wg.wait();
                        check();
                    }));
                }
                for _ in 0..GOROUTINE_DONES {
                    let (wg, dones, y) = (wg2.clone(), dones2.clone(), rng.below(3));
                    handles.push(goro::go(move || {
                        yield_times(y);
                        dones.fetch_add(1, SeqCst);
                        wg.done();
                    }));
                }
                // The main goroutine waits too.
                wg2.wait();
                check2();
                for h in handles {
                    h.join().unwrap();
                }
            });
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(
                released.load(SeqCst),
                GOROUTINE_WAITERS + THREAD_WAITERS + 1,
                "iteration {iteration}"
            );
            assert_eq!(wg.count(), 0);
            // A zero WaitGroup does not block.
            wg.wait();
        }
    });
}

/// A chain of 10,000 goroutines, each joining the one spawned before it,
/// all parked at once, unwinds in order once the first is released.
#[test]
fn chain_of_10k_goroutines_each_joining_the_previous() {
    const N: u64 = 10_000;
    watchdog("chain_of_10k_goroutines_each_joining_the_previous", || {
        let rt = runtime(2);
        let total = rt.run(|| {
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            let started = Arc::new(AtomicUsize::new(0));
            let mut prev = goro::go(move || {
                g.wait();
                0u64
            });
            for i in 1..N {
                let started = started.clone();
                prev = goro::go(move || {
                    started.fetch_add(1, SeqCst);
                    prev.join().unwrap() + i
                });
            }
            // Every link is parked in its join before the first is released.
            eventually("the whole chain started", || {
                started.load(SeqCst) == N as usize - 1
            });
            gate.done();
            prev.join().unwrap()
        });
        assert_eq!(total, N * (N - 1) / 2);
    });
}

/// A chain of 10,000 nested goroutines, each spawning the next and joining
/// it, returns through every level.
#[test]
fn nested_chain_of_10k_spawn_and_join() {
    fn dive(depth: u64) -> u64 {
        if depth == 0 {
            return 0;
        }
        goro::go(move || dive(depth - 1)).join().unwrap() + 1
    }
    watchdog("nested_chain_of_10k_spawn_and_join", || {
        assert_eq!(runtime(2).run(|| dive(10_000)), 10_000);
    });
}

/// A WaitGroup counter going negative panics with "negative WaitGroup
/// counter", on a plain thread and in a goroutine.
#[test]
fn waitgroup_negative_counter_panics() {
    watchdog("waitgroup_negative_counter_panics", || {
        let wg = WaitGroup::new();
        let payload = catch_unwind(|| wg.done()).unwrap_err();
        let msg = panic_text(&*payload);
        assert!(msg.contains("negative WaitGroup counter"), "{msg:?}");

        let e = runtime(1)
            .run(|| {
                goro::go(|| {
                    let wg = WaitGroup::new();
                    wg.add(1);
                    wg.done();
                    wg.done();
                })
                .join()
            })
            .unwrap_err();
        assert!(
            e.message()
                .is_some_and(|m| m.contains("negative WaitGroup counter")),
            "{e:?}"
        );
    });
}

/// Counts the nodes of a random tree, fanning out with joined goroutines,
/// WaitGroup-tracked detached goroutines and plain calls; with
/// `concurrent == false` the same tree is counted sequentially.
fn tree(seed: u64, depth: u32, concurrent: bool) -> u64 {
    let mut rng = Rng::new(seed);
    let kids = if depth == 0 { 0 } else { rng.below(5) };
    let wg = WaitGroup::new();
    let acc = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..kids {
        let (child, how, yields) = (rng.next_u64(), rng.below(3), rng.below(3));
        if !concurrent {
            acc.fetch_add(tree(child, depth - 1, false), Relaxed);
            continue;
        }
        match how {
            0 => handles.push(goro::go(move || {
                yield_times(yields);
                tree(child, depth - 1, true)
            })),
            1 => {
                wg.add(1);
                let (wg, acc) = (wg.clone(), acc.clone());
                goro::go(move || {
                    yield_times(yields);
                    acc.fetch_add(tree(child, depth - 1, true), Relaxed);
                    wg.done();
                });
            }
            _ => {
                yield_times(yields);
                acc.fetch_add(tree(child, depth - 1, true), Relaxed);
            }
        }
    }
    let joined: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    wg.wait();
    1 + joined + acc.load(Relaxed)
}

/// Random fork/join trees mixing joins, WaitGroups, detached goroutines and
/// yields count every node exactly once on 1, 2 and 3 Ps.
#[test]
fn random_fork_join_trees() {
    seeded("random_fork_join_trees", |seed| {
        let mut rng = Rng::new(seed);
        for procs in 1..=3 {
            let rt = runtime(procs);
            for _ in 0..40 {
                let tree_seed = rng.next_u64();
                let expected = tree(tree_seed, 8, false);
                let got = rt.run(move || tree(tree_seed, 8, true));
                assert_eq!(got, expected, "procs({procs}) tree seed {tree_seed}");
            }
        }
    });
}
