//! Goroutine stacks: overflow reports, running out of kernel mappings
//! (`vm.max_map_count`), and many parked goroutines at once.
//!
//! Overflow and mapping exhaustion run in a child process (see
//! `common::run_child`).

mod common;

use common::{ensure_map_count, eventually, run_in_child, runtime, watchdog_for};
use goro::sync::WaitGroup;
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Infinite (but not provably so) non-tail recursion with 1 KiB frames.
#[inline(never)]
fn dive(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 1024]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    dive(depth + 1) + u64::from(black_box(&frame)[depth as usize % 1024])
}

/// A goroutine that runs off its 64 KiB stack kills the process with a
/// message naming the goroutine, its stack size and the knobs that raise
/// it — not a bare segfault, not silent corruption.
#[test]
fn stack_overflow_reports_goroutine_name_and_size() {
    const TEST: &str = "stack_overflow_reports_goroutine_name_and_size";
    let Some(out) = run_in_child(TEST, "overflow-named", &[], || {
        goro::run(|| {
            let h = goro::Builder::new()
                .name("deep-diver".into())
                .stack_size(64 * 1024)
                .spawn(|| dive(0))
                .unwrap();
            let _ = h.join();
        });
        panic!("child: the overflowing goroutine returned");
    }) else {
        return;
    };
    assert!(!out.status.success(), "{}", out.describe());
    assert!(
        out.status.signal().is_some(),
        "the child should die by a signal (abort): {}",
        out.describe()
    );
    assert!(
        out.stderr.contains("goroutine ")
            && out
                .stderr
                .contains("(deep-diver) overflowed its stack of 64 KiB"),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("GORO_STACK_SIZE"), "{}", out.describe());
    assert!(
        out.stderr.contains("Builder::stack_size"),
        "{}",
        out.describe()
    );
}

/// `GORO_STACK_SIZE` sets the default stack of plain `go` goroutines: with
/// 128K a goroutine can use 64 KiB of stack, and an unnamed one that
/// overflows is reported with the 128 KiB size.
#[test]
fn stack_overflow_with_goro_stack_size_env() {
    const TEST: &str = "stack_overflow_with_goro_stack_size_env";
    let Some(out) = run_in_child(TEST, "overflow-env", &[("GORO_STACK_SIZE", "128K")], || {
        goro::run(|| {
            let used = goro::go(|| {
                let mut buf = [0u8; 64 * 1024];
                black_box(&mut buf)[100] = 1;
                black_box(&buf).iter().map(|&b| b as u32).sum::<u32>()
            });
            assert_eq!(used.join().unwrap(), 1);
            println!("child: 64 KiB of locals fit");
            let _ = goro::go(|| dive(0)).join();
        });
        panic!("child: the overflowing goroutine returned");
    }) else {
        return;
    };
    assert!(out.status.signal().is_some(), "{}", out.describe());
    assert!(
        out.stdout.contains("child: 64 KiB of locals fit"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains(" overflowed its stack of 128 KiB; raise it with"),
        "{}",
        out.describe()
    );
}

/// Runs `child` in a child process of `test` whose stacks may use only a
/// simulated `vm.max_map_count` of 4596 (250 stacks with mprotect guard
/// pages); it must succeed and print `done`.
fn under_a_250_stack_budget(test: &'static str, child: fn(), done: &str) {
    let env = &[
        ("GORO_TEST_MAX_MAP_COUNT", "4596"),
        ("GORO_STACK_GUARD", "mprotect"),
    ];
    let Some(out) = run_in_child(test, "stack-budget", env, child) else {
        return;
    };
    assert!(out.status.success(), "{}", out.describe());
    assert!(out.stdout.contains(done), "{}", out.describe());
}

/// Spawns `n` goroutines that each count themselves into `started`, wait
/// for `gate` and return their index; a refused spawn panics.
fn spawn_gated(
    n: usize,
    gate: &WaitGroup,
    started: &Arc<AtomicUsize>,
) -> Vec<goro::JoinHandle<u64>> {
    (0..n)
        .map(|i| {
            let (gate, count) = (gate.clone(), started.clone());
            goro::Builder::new()
                .spawn(move || {
                    count.fetch_add(1, SeqCst);
                    gate.wait();
                    i as u64
                })
                .unwrap_or_else(|e| {
                    panic!(
                        "spawn {i} refused with {} goroutines started: {e}",
                        started.load(SeqCst)
                    )
                })
        })
        .collect()
}

/// Role of the child in [`mapping_exhaustion_is_a_clean_error_and_recovers`].
fn exhaust_mappings_child() {
    goro::run(|| {
        /// Spawns parked goroutines one at a time (each must have started,
        /// i.e. hold a stack, before the next) until spawn fails.
        fn fill(gate: &WaitGroup) -> (Vec<goro::JoinHandle<u64>>, std::io::Error) {
            let started = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            loop {
                let (gate, started2) = (gate.clone(), started.clone());
                match goro::Builder::new().spawn(move || {
                    started2.fetch_add(1, SeqCst);
                    gate.wait();
                    1u64
                }) {
                    Ok(h) => handles.push(h),
                    Err(e) => return (handles, e),
                }
                let n = handles.len();
                eventually("the new goroutine started", || started.load(SeqCst) == n);
                assert!(n <= 250, "spawned {n} goroutines under a 250-stack limit");
            }
        }

        let gate = WaitGroup::new();
        gate.add(1);
        let (handles, err) = fill(&gate);
        let live = handles.len();
        let msg = err.to_string();
        println!("child: {live} parked goroutines, then: {msg}");
        assert!(msg.contains("vm.max_map_count"), "{msg}");
        assert!(msg.contains("sysctl -w"), "{msg}");
        assert!(
            (240..250).contains(&live),
            "expected about 249 goroutines (250 stacks minus main's), got {live}"
        );
        // `go` cannot return an error: it panics with the same message.
        let payload = std::panic::catch_unwind(|| goro::go(|| ())).unwrap_err();
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            text.contains("vm.max_map_count"),
            "go panicked with {text:?}"
        );

        // The goroutines already running are unaffected and complete.
        gate.done();
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, live as u64);
        eventually("the released goroutines exited", || {
            goro::num_goroutines() == 1
        });
        println!("child: released goroutines completed");

        // Their stacks are free again: spawning works, as many as before.
        let again = goro::Builder::new().spawn(|| 5);
        let again = again
            .unwrap_or_else(|e| panic!("spawn still fails after {live} goroutines exited: {e}"));
        assert_eq!(again.join().unwrap(), 5);
        let gate = WaitGroup::new();
        gate.add(1);
        let (handles, err) = fill(&gate);
        assert!(
            handles.len() >= live,
            "only {} goroutines fit the second time, {live} the first: {err}",
            handles.len()
        );
        gate.done();
        for h in handles {
            h.join().unwrap();
        }
        println!("child: refilled and drained");
    });
}

/// When the mapped stacks reach the `vm.max_map_count` budget (simulated:
/// 4596 → 250 stacks), spawn fails cleanly with an error naming the sysctl;
/// the goroutines already running complete, and once they have exited,
/// spawning works again.
#[test]
fn mapping_exhaustion_is_a_clean_error_and_recovers() {
    under_a_250_stack_budget(
        "mapping_exhaustion_is_a_clean_error_and_recovers",
        exhaust_mappings_child,
        "child: refilled and drained",
    );
}

/// Role of the child in [`goroutines_beyond_the_stack_budget_wait_for_one`].
fn wait_for_stack_child() {
    runtime(2).run(|| {
        const N: usize = 400;
        // About 250 stacks (500 spare mappings at ~2 per stack with
        // mprotect guard pages, less the slabs they are carved from), one
        // of them main's. Two Ms starting goroutines at the same moment may
        // each take the last one: the budget is a soft limit (it keeps 4096
        // mappings in reserve), so allow one per P.
        const ROOM: usize = 230;
        const SLACK: usize = 22;
        let gate = WaitGroup::new();
        gate.add(1);
        let started = Arc::new(AtomicUsize::new(0));
        // Spawned faster than they can start: only stacks are limited, so
        // spawning succeeds past the budget.
        let handles = spawn_gated(N, &gate, &started);
        // The budget caps how many start; the others wait for a stack.
        eventually("the stack budget is used up", || {
            started.load(SeqCst) >= ROOM
        });
        std::thread::sleep(Duration::from_millis(50));
        let running = started.load(SeqCst);
        assert!(
            running <= ROOM + SLACK,
            "{running} goroutines started with stacks for {ROOM}"
        );
        println!("child: {N} spawned, {running} started, the rest wait for a stack");
        // As running goroutines exit, the waiting ones get their stacks.
        gate.done();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (N as u64) * (N as u64 - 1) / 2);
        assert_eq!(started.load(SeqCst), N);
        println!("child: all {N} completed");
    });
}

/// Goroutines spawned beyond the stack budget (simulated `vm.max_map_count`
/// of 4596 → 250 stacks) do not fail: they wait for a stack, and start as
/// running goroutines exit.
#[test]
fn goroutines_beyond_the_stack_budget_wait_for_one() {
    under_a_250_stack_budget(
        "goroutines_beyond_the_stack_budget_wait_for_one",
        wait_for_stack_child,
        "child: all 400 completed",
    );
}

/// 100,000 goroutines can be parked at once (all started, each on its own
/// stack) and all complete when released. Needs `vm.max_map_count` ≥ about
/// 210,000; raises it with sysctl if it can, else skips.
#[test]
fn hundred_thousand_parked_goroutines() {
    const N: usize = 100_000;
    const NEEDED: u64 = 2 * N as u64 + 4096 + 6000;
    if !ensure_map_count(NEEDED, "100,000 parked goroutines") {
        return;
    }
    watchdog_for(
        "hundred_thousand_parked_goroutines",
        Duration::from_secs(90),
        || {
            let rt = runtime(2);
            let start = Instant::now();
            rt.run(move || {
                let started = Arc::new(AtomicUsize::new(0));
                let gate = WaitGroup::new();
                gate.add(1);
                let handles = spawn_gated(N, &gate, &started);
                eventually("all 100,000 goroutines started", || {
                    started.load(SeqCst) == N
                });
                assert_eq!(goro::num_goroutines(), N + 1);
                println!(
                    "{N} goroutines parked after {:?}; RSS {} MiB",
                    start.elapsed(),
                    rss_kib() / 1024
                );
                gate.done();
                let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
                assert_eq!(sum, (N as u64) * (N as u64 - 1) / 2);
            });
            println!("done after {:?}", start.elapsed());
        },
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Role of the child in [`a_hundred_thousand_started_goroutines_fit_the_default_map_count`].
fn default_map_count_child() {
    runtime(2).run(|| {
        const N: usize = 100_000;
        let gate = WaitGroup::new();
        gate.add(1);
        let started = Arc::new(AtomicUsize::new(0));
        let handles = spawn_gated(N, &gate, &started);
        eventually("all goroutines started", || started.load(SeqCst) == N);
        gate.done();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (N as u64) * (N as u64 - 1) / 2);
        println!("child: {N} goroutines started at once under vm.max_map_count 65530");
    });
}

/// Stacks are carved many to a kernel mapping, with guard pages that do
/// not split it (`MADV_GUARD_INSTALL`), so 100,000 goroutines can be
/// started at once under Linux's *default* `vm.max_map_count` (simulated in
/// a child: 65530). On a kernel without guard-page markers goro falls back
/// to mprotect guards (two mappings per stack) and this cannot hold: the
/// test then says it skips.
#[test]
fn a_hundred_thousand_started_goroutines_fit_the_default_map_count() {
    const TEST: &str = "a_hundred_thousand_started_goroutines_fit_the_default_map_count";
    let Some(out) = run_in_child(
        TEST,
        "default-map-count",
        &[("GORO_TEST_MAX_MAP_COUNT", "65530")],
        default_map_count_child,
    ) else {
        return;
    };
    if !out.status.success() && out.stderr.contains("guard pages by mprotect") {
        println!("skipping: this kernel has no MADV_GUARD_INSTALL (Linux < 6.13)");
        return;
    }
    assert!(out.status.success(), "{}", out.describe());
    assert!(
        out.stdout.contains("100000 goroutines started at once"),
        "{}",
        out.describe()
    );
}
