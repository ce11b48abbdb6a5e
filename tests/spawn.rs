//! Spawning and joining goroutines: scale, `go!`, `Builder` options, and the
//! introspection functions (`id`, `num_goroutines`, `stats`, `dump`).

mod common;

use common::{child_role, eventually, run_child, runtime, watchdog};
use goro::sync::WaitGroup;
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};

/// A million goroutines each run exactly once (every atomic add lands) and
/// the WaitGroup releases the spawner only after all of them.
#[test]
fn spawn_one_million_goroutines_with_waitgroup() {
    const N: u64 = 1_000_000;
    let count = watchdog("spawn_one_million_goroutines_with_waitgroup", || {
        goro::run(|| {
            let wg = WaitGroup::new();
            let count = Arc::new(AtomicU64::new(0));
            wg.add(N as usize);
            for _ in 0..N {
                let (wg, count) = (wg.clone(), count.clone());
                goro::go(move || {
                    count.fetch_add(1, Relaxed);
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(wg.count(), 0);
            count.load(Relaxed)
        })
    });
    assert_eq!(count, N);
}

/// 100,000 join handles each deliver their own goroutine's return value.
#[test]
fn join_100k_handles_and_sum_their_values() {
    const N: u64 = 100_000;
    let sum = watchdog("join_100k_handles_and_sum_their_values", || {
        goro::run(|| {
            let handles: Vec<_> = (0..N).map(|i| goro::go(move || i * 3)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        })
    });
    assert_eq!(sum, 3 * N * (N - 1) / 2);
}

/// `go!(expr)` and `go!(move || expr)` both spawn a goroutine evaluating the
/// expression (with moved captures) and hand back its value.
#[test]
fn go_macro_spawns_expressions() {
    watchdog("go_macro_spawns_expressions", || {
        goro::run(|| {
            let x = 20;
            let words = ["a".to_string(), "bc".to_string()];
            let a = goro::go!(x + 22);
            let b = goro::go!(words.iter().map(String::len).sum::<usize>());
            let c = goro::go!(move || goro::id().is_some());
            assert_eq!(a.join().unwrap(), 42);
            assert_eq!(b.join().unwrap(), 3);
            assert!(c.join().unwrap(), "go! body did not run in a goroutine");
        })
    });
}

/// A `Builder` name shows up in `dump()` with the goroutine's wait reason
/// and spawn location while it is parked, and disappears once it has exited.
#[test]
fn builder_name_visible_in_dump_while_parked() {
    watchdog("builder_name_visible_in_dump_while_parked", || {
        let rt = runtime(2);
        rt.run(|| {
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            let inner = goro::Builder::new()
                .name("dump-inner-waiter".into())
                .spawn(move || {
                    g.wait();
                    7
                })
                .unwrap();
            let outer = goro::Builder::new()
                .name("dump-outer-joiner".into())
                .spawn(move || inner.join().unwrap() + 1)
                .unwrap();

            let mut dump = String::new();
            eventually("both named goroutines are parked in dump()", || {
                dump = goro::dump();
                dump.contains("(dump-outer-joiner) [join]:")
                    && dump.contains("(dump-inner-waiter) [sync.WaitGroup.Wait]:")
            });
            // Each named goroutine's header is followed by where it was spawned:
            // this test file.
            for name in ["dump-outer-joiner", "dump-inner-waiter"] {
                let mut lines = dump.lines().skip_while(|l| !l.contains(name));
                let header = lines.next().unwrap();
                assert!(header.starts_with("goroutine "), "{header:?}\n{dump}");
                let id: u64 = header["goroutine ".len()..]
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap_or_else(|e| panic!("bad id in {header:?}: {e}"));
                assert!(id > 0);
                let spawned_at = lines.next().unwrap_or_default();
                assert!(
                    spawned_at.starts_with("\tspawned at ") && spawned_at.contains("spawn.rs:"),
                    "{name}: expected a spawn location in this file, got {spawned_at:?}\n{dump}"
                );
            }
            // The main goroutine is running while it calls dump().
            assert!(dump.contains("[running]:"), "{dump}");

            gate.done();
            assert_eq!(outer.join().unwrap(), 8);
            eventually("finished goroutines leave dump()", || {
                let d = goro::dump();
                !d.contains("dump-outer-joiner") && !d.contains("dump-inner-waiter")
            });
        });
    });
}

/// Uses about `BYTES` of the current stack (the array really is on the
/// stack: it is written and read through `black_box`).
#[inline(never)]
fn use_stack<const BYTES: usize>() -> u64 {
    let mut buf = [0u8; BYTES];
    let buf = black_box(&mut buf);
    for (i, b) in buf.iter_mut().enumerate().step_by(512) {
        *b = i as u8 | 1;
    }
    black_box(&*buf).iter().map(|&b| b as u64).sum()
}

/// `Builder::stack_size` gives the goroutine that much usable stack: 40 KiB
/// of locals fit in a 64 KiB stack, 512 KiB in a 1 MiB one (the default,
/// 256 KiB, could not hold the latter).
#[test]
fn builder_stack_size_is_respected() {
    watchdog("builder_stack_size_is_respected", || {
        goro::run(|| {
            let small = goro::Builder::new()
                .name("small-stack".into())
                .stack_size(64 * 1024)
                .spawn(use_stack::<{ 40 * 1024 }>)
                .unwrap();
            let big = goro::Builder::new()
                .name("big-stack".into())
                .stack_size(1024 * 1024)
                .spawn(use_stack::<{ 512 * 1024 }>)
                .unwrap();
            assert!(small.join().unwrap() > 0);
            assert!(big.join().unwrap() > 0);
        });
        // The runtime-wide default set by the builder applies to goroutines
        // spawned without a Builder.
        let rt = goro::Runtime::builder()
            .procs(1)
            .stack_size(1024 * 1024)
            .build()
            .unwrap();
        let used = rt.run(|| goro::go(use_stack::<{ 512 * 1024 }>).join().unwrap());
        assert!(used > 0);
    });
}

/// `id()` is `Some` in every goroutine and stable across parks, distinct
/// among goroutines alive at the same time, and `None` on a plain thread.
#[test]
fn ids_are_unique_among_live_goroutines_and_none_on_threads() {
    const N: usize = 2_000;
    watchdog(
        "ids_are_unique_among_live_goroutines_and_none_on_threads",
        || {
            assert_eq!(goro::id(), None, "the test thread is not a goroutine");
            assert_eq!(std::thread::spawn(goro::id).join().unwrap(), None);
            let rt = runtime(2);
            rt.run(|| {
                let main_id = goro::id().expect("the main goroutine has an id");
                let (ready, release) = (WaitGroup::new(), WaitGroup::new());
                ready.add(N);
                release.add(1);
                let handles: Vec<_> = (0..N)
                    .map(|_| {
                        let (ready, release) = (ready.clone(), release.clone());
                        goro::go(move || {
                            let before = goro::id();
                            ready.done();
                            release.wait(); // everyone is alive at once here
                            goro::yield_now();
                            let after = goro::id();
                            assert_eq!(before, after, "id changed across a park");
                            before.expect("a goroutine has an id")
                        })
                    })
                    .collect();
                ready.wait();
                release.done();
                let ids: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
                let unique: HashSet<u64> = ids.iter().copied().chain([main_id]).collect();
                assert_eq!(unique.len(), N + 1, "duplicate ids among live goroutines");
            });
        },
    );
}

/// `num_goroutines()` counts goroutines that are parked (not just running
/// ones) and drops back once they finish.
#[test]
fn num_goroutines_counts_parked_goroutines() {
    const N: usize = 300;
    watchdog("num_goroutines_counts_parked_goroutines", || {
        let rt = runtime(2);
        rt.run(|| {
            assert_eq!(goro::num_goroutines(), 1, "only the main goroutine");
            let (started, gate) = (Arc::new(AtomicUsize::new(0)), WaitGroup::new());
            gate.add(1);
            let handles: Vec<_> = (0..N)
                .map(|_| {
                    let (started, gate) = (started.clone(), gate.clone());
                    goro::Builder::new()
                        .name("counted-waiter".into())
                        .spawn(move || {
                            started.fetch_add(1, SeqCst);
                            gate.wait();
                        })
                        .unwrap()
                })
                .collect();
            eventually("all goroutines started", || started.load(SeqCst) == N);
            eventually("all goroutines parked", || {
                goro::dump()
                    .matches("(counted-waiter) [sync.WaitGroup.Wait]")
                    .count()
                    == N
            });
            assert_eq!(goro::num_goroutines(), N + 1);
            assert_eq!(goro::stats().running, (N + 1) as u64);
            gate.done();
            for h in handles {
                h.join().unwrap();
            }
            eventually("finished goroutines are no longer counted", || {
                goro::num_goroutines() == 1
            });
        });
    });
}

/// `stats()` counts spawns, context switches and parks as they happen, and
/// reports the configured number of Ps and at least one M.
#[test]
fn stats_counters_increase_and_ps_is_configured_procs() {
    const N: usize = 200;
    watchdog("stats_counters_increase_and_ps_is_configured_procs", || {
        for procs in [1, 3] {
            let rt = runtime(procs);
            let (before, after) = rt.run(move || {
                let before = goro::stats();
                let (started, gate) = (Arc::new(AtomicUsize::new(0)), WaitGroup::new());
                gate.add(1);
                let name = format!("stats-waiter-{procs}");
                let handles: Vec<_> = (0..N)
                    .map(|_| {
                        let (started, gate) = (started.clone(), gate.clone());
                        goro::Builder::new()
                            .name(name.clone())
                            .spawn(move || {
                                started.fetch_add(1, SeqCst);
                                gate.wait(); // the gate is closed: this parks
                                goro::yield_now();
                            })
                            .unwrap()
                    })
                    .collect();
                eventually("all started", || started.load(SeqCst) == N);
                let parked = format!("({name}) [sync.WaitGroup.Wait]");
                eventually("all parked", || goro::dump().matches(&parked).count() == N);
                gate.done();
                for h in handles {
                    h.join().unwrap();
                }
                (before, goro::stats())
            });
            assert_eq!(before.ps, procs as u64, "{before:?}");
            assert_eq!(after.ps, procs as u64, "{after:?}");
            assert!(after.ms >= 1, "{after:?}");
            assert!(
                before.running >= 1,
                "the main goroutine is live: {before:?}"
            );
            assert!(
                after.spawned >= before.spawned + N as u64,
                "spawned: {before:?} -> {after:?}"
            );
            // Each goroutine ran at least three times: its start, after the
            // park, after the yield.
            assert!(
                after.context_switches >= before.context_switches + 3 * N as u64,
                "context_switches: {before:?} -> {after:?}"
            );
            assert!(
                after.parks >= before.parks + N as u64,
                "parks: {before:?} -> {after:?}"
            );
        }
    });
}

/// Goroutines spawned from a plain thread outside any `run` go to the
/// default runtime, whose counters see them.
#[test]
fn stats_from_plain_thread_see_default_runtime_spawns() {
    watchdog("stats_from_plain_thread_see_default_runtime_spawns", || {
        let before = goro::stats();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let seen = seen.clone();
                goro::go(move || seen.lock().unwrap().push(i))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let after = goro::stats();
        assert!(
            after.spawned >= before.spawned + 10,
            "{before:?} -> {after:?}"
        );
        assert_eq!(seen.lock().unwrap().len(), 10);
    });
}

/// `is_finished` is false while the goroutine is parked and true once it
/// has returned (or panicked); a join after that returns its outcome.
#[test]
fn is_finished_tracks_completion() {
    watchdog("is_finished_tracks_completion", || {
        runtime(2).run(|| {
            let gate = WaitGroup::new();
            gate.add(1);
            let g = gate.clone();
            let h = goro::go(move || {
                g.wait();
                11
            });
            for _ in 0..100 {
                goro::yield_now();
                assert!(!h.is_finished(), "finished while parked on a closed gate");
            }
            gate.done();
            eventually("the released goroutine is finished", || h.is_finished());
            assert_eq!(h.join().unwrap(), 11);

            let p = goro::go(|| -> u8 { panic!("finished by panicking") });
            eventually("the panicked goroutine is finished", || p.is_finished());
            assert!(p.join().is_err());

            goro::scope(|s| {
                let h = s.go(|| 1);
                eventually("the scoped goroutine is finished", || h.is_finished());
                assert_eq!(h.join().unwrap(), 1);
            });
        });
    });
}

/// `GORO_MAXPROCS` and `GORO_STACK_SIZE` configure the default runtime (and
/// builder settings override them); invalid values, and `procs(0)`, are
/// rejected with an error naming the setting.
#[test]
fn runtime_configuration_from_environment() {
    const TEST: &str = "runtime_configuration_from_environment";
    match child_role().as_deref() {
        Some("env-valid") => {
            assert_eq!(goro::run(|| goro::stats().ps), 3);
            assert_eq!(goro::Runtime::builder().build().unwrap().procs(), 3);
            assert_eq!(
                goro::Runtime::builder().procs(2).build().unwrap().procs(),
                2
            );
            // 1M default stacks hold 512 KiB of locals (256 KiB ones would not).
            let used = goro::run(|| goro::go(use_stack::<{ 512 * 1024 }>).join().unwrap());
            assert!(used > 0);
            println!("child: environment applied");
            return;
        }
        Some(role @ ("env-invalid-procs" | "env-invalid-stack")) => {
            let var = if role.ends_with("procs") {
                "GORO_MAXPROCS"
            } else {
                "GORO_STACK_SIZE"
            };
            let e = goro::Runtime::builder().build().err();
            let e = e.unwrap_or_else(|| panic!("an invalid {var} was accepted"));
            assert!(e.to_string().contains(var), "{e}");
            println!("child: invalid {var} rejected");
            return;
        }
        _ => {}
    }
    let e = goro::Runtime::builder().procs(0).build().err();
    assert!(e.is_some(), "procs(0) was accepted");
    watchdog(TEST, || {
        let env = [("GORO_MAXPROCS", "3"), ("GORO_STACK_SIZE", "1M")];
        let out = run_child(TEST, "env-valid", &env);
        assert!(
            out.status.success() && out.stdout.contains("child: environment applied"),
            "{}",
            out.describe()
        );
        for (role, var, value) in [
            ("env-invalid-procs", "GORO_MAXPROCS", "0"),
            ("env-invalid-stack", "GORO_STACK_SIZE", "lots"),
        ] {
            let out = run_child(TEST, role, &[(var, value)]);
            assert!(
                out.status.success()
                    && out
                        .stdout
                        .contains(&format!("child: invalid {var} rejected")),
                "{}",
                out.describe()
            );
        }
    });
}
