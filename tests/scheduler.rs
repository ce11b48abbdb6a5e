//! Scheduling behaviour: work spreads over Ps, `yield_now` is fair, hand-off
//! chains do not starve other goroutines, results do not depend on the
//! number of Ps, and goroutines interoperate with plain threads and other
//! runtimes.

mod common;

use common::{run_in_child, runtime, seeded, spin_for, watchdog, yield_times, Rng};
use goro::sync::WaitGroup;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// With two Ps, CPU-bound goroutines spawned from one goroutine are stolen
/// by the second P and run on a second OS thread, in parallel.
#[test]
fn work_spreads_over_both_ps() {
    watchdog("work_spreads_over_both_ps", || {
        let rt = runtime(2);
        let (threads, steals) = rt.run(|| {
            let before = goro::stats();
            let threads = Arc::new(Mutex::new(HashSet::new()));
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    let threads = threads.clone();
                    goro::go(move || {
                        spin_for(Duration::from_millis(2));
                        threads.lock().unwrap().insert(std::thread::current().id());
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            let n = threads.lock().unwrap().len();
            (n, goro::stats().steals - before.steals)
        });
        assert!(
            threads >= 2,
            "64 busy goroutines on 2 Ps all ran on {threads} OS thread(s)"
        );
        assert!(steals > 0, "no P ever stole work from the spawner's queue");
    });
}

/// With two Ps, goroutines queued behind one that keeps its P busy (no
/// yield, no preemption) are still taken by the other P — the one queued
/// alone and the one in `runnext`: thieves leave those to their own P only
/// for a short grace period.
#[test]
fn goroutines_queued_behind_a_busy_one_are_stolen() {
    watchdog("goroutines_queued_behind_a_busy_one_are_stolen", || {
        let rt = runtime(2);
        for round in 0..20 {
            let (lone_ran, next_ran) = rt.run(|| {
                let lone_ran = Arc::new(AtomicBool::new(false));
                let next_ran = Arc::new(AtomicBool::new(false));
                let busy = {
                    let (lone_ran, next_ran) = (lone_ran.clone(), next_ran.clone());
                    goro::go(move || {
                        // `lone` goes to our `runnext`, then `next` takes
                        // its place there and pushes it to the queue.
                        let lone = {
                            let ran = lone_ran.clone();
                            goro::go(move || ran.store(true, SeqCst))
                        };
                        let next = {
                            let ran = next_ran.clone();
                            goro::go(move || ran.store(true, SeqCst))
                        };
                        // Keep the P until both ran elsewhere (or give up
                        // after a while: the assertion says why).
                        let start = std::time::Instant::now();
                        while !(lone_ran.load(SeqCst) && next_ran.load(SeqCst))
                            && start.elapsed() < Duration::from_secs(2)
                        {
                            std::hint::spin_loop();
                        }
                        (lone, next)
                    })
                };
                let (lone, next) = busy.join().unwrap();
                let ran = (lone_ran.load(SeqCst), next_ran.load(SeqCst));
                lone.join().unwrap();
                next.join().unwrap();
                ran
            });
            assert!(
                lone_ran,
                "round {round}: a goroutine queued alone behind a busy one waited 2 s without being stolen"
            );
            assert!(
                next_ran,
                "round {round}: a goroutine in the runnext of a busy P waited 2 s without being stolen"
            );
        }
    });
}

/// On one P, two goroutines that each append their tag then `yield_now`
/// strictly alternate: a yield goes to the back of the run queue.
#[test]
fn yield_now_alternates_fairly_on_one_proc() {
    const N: usize = 500;
    watchdog("yield_now_alternates_fairly_on_one_proc", || {
        let rt = runtime(1);
        let seq = rt.run(|| {
            let seq = Arc::new(Mutex::new(Vec::with_capacity(2 * N)));
            let spawn = |tag: char| {
                let seq = seq.clone();
                goro::go(move || {
                    for _ in 0..N {
                        seq.lock().unwrap().push(tag);
                        goro::yield_now();
                    }
                })
            };
            let (a, b) = (spawn('a'), spawn('b'));
            a.join().unwrap();
            b.join().unwrap();
            let seq = seq.lock().unwrap().clone();
            seq
        });
        assert_eq!(seq.len(), 2 * N);
        assert_eq!(seq.iter().filter(|&&c| c == 'a').count(), N);
        let text: String = seq.iter().collect();
        for i in 3..seq.len() {
            assert_ne!(
                seq[i],
                seq[i - 1],
                "yield_now did not alternate at {i}: {}",
                &text[i.saturating_sub(10)..(i + 10).min(text.len())]
            );
        }
    });
}

/// A goroutine that spins on `yield_now` on one P does not keep the others
/// (runnable or being woken from parks) from completing.
#[test]
fn yield_spinner_does_not_starve_others_on_one_proc() {
    watchdog("yield_spinner_does_not_starve_others_on_one_proc", || {
        let rt = runtime(1);
        let spins = rt.run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let spins = Arc::new(AtomicU64::new(0));
            let spinner = {
                let (stop, spins) = (stop.clone(), spins.clone());
                goro::go(move || {
                    while !stop.load(Relaxed) {
                        spins.fetch_add(1, Relaxed);
                        goro::yield_now();
                    }
                })
            };
            // Workers: half compute and yield, half park on a WaitGroup that
            // the last compute worker opens.
            let (gate, done) = (WaitGroup::new(), WaitGroup::new());
            gate.add(1);
            let remaining = Arc::new(AtomicUsize::new(50));
            for i in 0..100 {
                done.add(1);
                let (gate, done, remaining) = (gate.clone(), done.clone(), remaining.clone());
                goro::go(move || {
                    if i % 2 == 0 {
                        for _ in 0..20 {
                            goro::yield_now();
                        }
                        if remaining.fetch_sub(1, SeqCst) == 1 {
                            gate.done();
                        }
                    } else {
                        gate.wait();
                    }
                    done.done();
                });
            }
            done.wait();
            stop.store(true, Relaxed);
            spinner.join().unwrap();
            spins.load(Relaxed)
        });
        assert!(spins > 0, "the spinner never ran");
    });
}

/// A deterministic concurrent program: recursive fork/join, scoped parallel
/// writes, a WaitGroup fan-in with yields.
fn program(seed: u64) -> (u64, u64, u64) {
    fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        if n < 12 {
            return fib(n - 1) + fib(n - 2);
        }
        let a = goro::go(move || fib(n - 1));
        let b = fib(n - 2);
        a.join().unwrap() + b
    }
    let f = fib(22);

    let mut rng = Rng::new(seed);
    let mut data: Vec<u64> = (0..20_000).map(|_| rng.below(1_000_000)).collect();
    goro::scope(|s| {
        for chunk in data.chunks_mut(1000) {
            s.go(move || {
                goro::yield_now();
                chunk.sort_unstable();
            });
        }
    });
    let checksum = data
        .chunks(1000)
        .enumerate()
        .map(|(i, c)| {
            assert!(c.windows(2).all(|w| w[0] <= w[1]));
            c.iter().map(|&x| x * (i as u64 + 1)).sum::<u64>()
        })
        .sum();

    let wg = WaitGroup::new();
    let total = Arc::new(AtomicU64::new(0));
    for i in 0..1000u64 {
        wg.add(1);
        let (wg, total) = (wg.clone(), total.clone());
        goro::go(move || {
            yield_times(i % 3);
            total.fetch_add(i * i, Relaxed);
            wg.done();
        });
    }
    wg.wait();
    (f, checksum, total.load(Relaxed))
}

/// The same program gives the same (correct) results on one and on two Ps.
#[test]
fn same_results_on_one_and_two_procs() {
    seeded("same_results_on_one_and_two_procs", |seed| {
        let results = [1, 2].map(|procs| runtime(procs).run(move || program(seed)));
        assert_eq!(results[0], results[1], "procs(1) vs procs(2)");
        assert_eq!(results[0].0, 17711, "fib(22)");
        assert_eq!(results[0].2, (0..1000u64).map(|i| i * i).sum::<u64>());
    });
}

/// On one P, two goroutines that keep waking each other (each wake-up puts
/// the other in `runnext`) do not starve a third runnable goroutine: it gets
/// turns while the ping-pong is still going on.
#[test]
fn ping_pong_pair_does_not_starve_a_third_goroutine_on_one_proc() {
    const ROUNDS: usize = 50_000;
    const THIRD_STEPS: usize = 20;
    watchdog(
        "ping_pong_pair_does_not_starve_a_third_goroutine_on_one_proc",
        || {
            let rt = runtime(1);
            let observed = rt.run(|| {
                // One-shot WaitGroups, one per half-round: `ping[i]` is opened
                // by A and awaited by B, `pong[i]` the other way round.
                let make = || {
                    (0..ROUNDS)
                        .map(|_| {
                            let wg = WaitGroup::new();
                            wg.add(1);
                            wg
                        })
                        .collect::<Vec<_>>()
                };
                let (ping, pong) = (Arc::new(make()), Arc::new(make()));
                let rounds = Arc::new(AtomicUsize::new(0));

                let third = {
                    let rounds = rounds.clone();
                    goro::go(move || {
                        let mut seen = Vec::new();
                        for _ in 0..THIRD_STEPS {
                            seen.push(rounds.load(SeqCst));
                            goro::yield_now();
                        }
                        seen.push(rounds.load(SeqCst));
                        seen
                    })
                };
                let a = {
                    let (ping, pong, rounds) = (ping.clone(), pong.clone(), rounds.clone());
                    goro::go(move || {
                        for i in 0..ROUNDS {
                            ping[i].done();
                            pong[i].wait();
                            rounds.store(i + 1, SeqCst);
                        }
                    })
                };
                let b = goro::go(move || {
                    for i in 0..ROUNDS {
                        ping[i].wait();
                        pong[i].done();
                    }
                });
                let seen = third.join().unwrap();
                a.join().unwrap();
                b.join().unwrap();
                seen
            });
            let last = *observed.last().unwrap();
            assert!(
                last < ROUNDS / 2,
                "the third goroutine only finished its {THIRD_STEPS} steps after {last} of \
                 {ROUNDS} ping-pong rounds (observed rounds at each step: {observed:?})"
            );
        },
    );
}

/// `goro::go` on a plain thread (outside any `run`) starts the default
/// runtime and runs the goroutine on one of its Ms; a plain thread can join it.
#[test]
fn spawn_from_plain_thread_runs_on_default_runtime() {
    watchdog("spawn_from_plain_thread_runs_on_default_runtime", || {
        let expected_ps = std::env::var("GORO_MAXPROCS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            as u64;
        let t = std::thread::spawn(|| {
            let h = goro::go(|| {
                let name = std::thread::current().name().map(str::to_owned);
                (goro::id(), name, goro::stats().ps)
            });
            h.join().unwrap()
        });
        let (id, thread_name, ps) = t.join().unwrap();
        assert!(id.is_some(), "not run as a goroutine");
        assert_ne!(
            thread_name.as_deref(),
            Some("watchdog:spawn_from_plain_thread_runs_on_default_runtime")
        );
        assert_eq!(ps, expected_ps, "not the default runtime's procs");
        // The same default runtime serves `goro::run`.
        assert_eq!(goro::run(|| goro::stats().ps), expected_ps);
    });
}

/// A plain OS thread can join a goroutine's handle, whether the goroutine
/// finishes before or after the join starts (the thread parks, then is woken
/// by the goroutine).
#[test]
fn join_goroutine_from_plain_thread() {
    seeded("join_goroutine_from_plain_thread", |seed| {
        let rt = runtime(2);
        let mut rng = Rng::new(seed);
        for i in 0..500u64 {
            let (child_yields, thread_yields) = (rng.below(4), rng.below(4));
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            let h = rt.run(move || {
                goro::go(move || {
                    g.wait();
                    yield_times(child_yields);
                    i * 2
                })
            });
            let joiner = std::thread::spawn(move || h.join().unwrap());
            yield_times(thread_yields);
            gate.done();
            assert_eq!(joiner.join().unwrap(), i * 2);
        }
    });
}

/// A goroutine can join a goroutine of another runtime (in both directions,
/// whichever finishes first), and each goroutine runs on its own runtime.
#[test]
fn join_across_runtimes() {
    seeded("join_across_runtimes", |seed| {
        let rts = [runtime(1), runtime(2)];
        let mut rng = Rng::new(seed);
        for i in 0..500u64 {
            let (from, to) = if i % 2 == 0 { (0, 1) } else { (1, 0) };
            let (y1, y2) = (rng.below(4), rng.below(4));
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            // A goroutine on runtime `to`, blocked until the gate opens.
            let h = rts[to].run(move || {
                goro::go(move || {
                    g.wait();
                    yield_times(y1);
                    (goro::stats().ps, i)
                })
            });
            // Joined from a goroutine of runtime `from`, which also opens the
            // gate at a random point.
            let (joined, own_ps) = rts[from].run(move || {
                let opener = goro::go(move || {
                    yield_times(y2);
                    gate.done();
                });
                let joined = h.join().unwrap();
                opener.join().unwrap();
                (joined, goro::stats().ps)
            });
            assert_eq!(joined, ((to + 1) as u64, i));
            assert_eq!(own_ps, (from + 1) as u64);
        }
    });
}

/// Dropping a `Runtime` stops its threads: building, using and dropping 50
/// runtimes leaves the process with as many threads as before.
#[test]
fn dropped_runtimes_stop_their_threads() {
    const TEST: &str = "dropped_runtimes_stop_their_threads";
    let threads = || std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count());
    let Some(out) = run_in_child(TEST, "drop-runtimes", &[], || {
        let before = threads();
        for i in 0..50u64 {
            let rt = runtime(2);
            let sum = rt.run(move || {
                let hs: Vec<_> = (0..50u64).map(|j| goro::go(move || j + i)).collect();
                hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
            });
            assert_eq!(sum, 1225 + 50 * i);
            drop(rt);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while threads() > before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            threads(),
            before,
            "threads of dropped runtimes are still alive"
        );
        println!("child: threads back to {before}");
    }) else {
        return;
    };
    assert!(out.status.success(), "{}", out.describe());
}

/// A goroutine parked when its `Runtime` is dropped still runs to
/// completion when it is woken later.
#[test]
fn parked_goroutine_completes_after_its_runtime_is_dropped() {
    watchdog(
        "parked_goroutine_completes_after_its_runtime_is_dropped",
        || {
            let rt = runtime(2);
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            let h = rt.run(move || {
                goro::go(move || {
                    g.wait();
                    goro::go(|| 5).join().unwrap()
                })
            });
            std::thread::sleep(Duration::from_millis(20));
            drop(rt);
            std::thread::sleep(Duration::from_millis(20));
            gate.done();
            assert_eq!(h.join().unwrap(), 5);
        },
    );
}

/// A thief leaves a short queue to its P while the P switches quickly
/// (goroutines talking through channels gain nothing from two CPUs), but
/// not when its goroutines keep the CPU for microseconds between yields:
/// here two goroutines that each spin 5 µs, then yield, must end up
/// running at the same time on two Ps.
#[test]
fn goroutines_yielding_every_few_microseconds_run_in_parallel() {
    watchdog(
        "goroutines_yielding_every_few_microseconds_run_in_parallel",
        || {
            let rt = runtime(2);
            for round in 0..5 {
                let together = rt.run(|| {
                    let inside = Arc::new(AtomicUsize::new(0));
                    let together = Arc::new(AtomicBool::new(false));
                    let handles: Vec<_> = (0..2)
                        .map(|_| {
                            let (inside, together) = (inside.clone(), together.clone());
                            goro::go(move || {
                                for _ in 0..20_000 {
                                    if inside.fetch_add(1, SeqCst) == 1 {
                                        together.store(true, SeqCst);
                                    }
                                    spin_for(Duration::from_micros(5));
                                    inside.fetch_sub(1, SeqCst);
                                    if together.load(SeqCst) {
                                        break;
                                    }
                                    goro::yield_now();
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.join().unwrap();
                    }
                    together.load(SeqCst)
                });
                assert!(
                    together,
                    "round {round}: two goroutines spinning 5 µs between yields never ran \
                     at the same time on two Ps"
                );
            }
        },
    );
}
