//! Panics: a goroutine's panic is delivered to its joiner, the main
//! goroutine's panic to the caller of `run`, and nothing takes the runtime
//! down.

mod common;

use common::{eventually, run_in_child, runtime, watchdog, watchdog_for, yield_times};
use goro::sync::WaitGroup;
use std::os::unix::process::ExitStatusExt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::Duration;

/// Calls `wg.done()` when dropped, including during a panic's unwinding.
struct DoneOnDrop(WaitGroup);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// `join` of a panicked goroutine is `Err` carrying the payload: `message()`
/// for string payloads, `into_panic()` for any payload; other goroutines,
/// before and after, are unaffected.
#[test]
fn goroutine_panic_becomes_join_error_with_payload() {
    watchdog("goroutine_panic_becomes_join_error_with_payload", || {
        let rt = runtime(2);
        rt.run(|| {
            let seven = std::hint::black_box(7);
            let formatted = goro::go(move || -> u32 { panic!("boom {seven}") });
            let literal = goro::go(|| -> u32 { panic!("static boom") });
            let custom = goro::go(|| -> u32 { std::panic::panic_any(42i32) });
            let fine = goro::go(|| 5u32);

            let e = formatted.join().unwrap_err();
            assert_eq!(e.message(), Some("boom 7"));
            assert_eq!(e.to_string(), "goroutine panicked: boom 7");
            assert_eq!(*e.into_panic().downcast::<String>().unwrap(), "boom 7");

            let e = literal.join().unwrap_err();
            assert_eq!(e.message(), Some("static boom"));
            assert_eq!(
                *e.into_panic().downcast::<&'static str>().unwrap(),
                "static boom"
            );

            let e = custom.join().unwrap_err();
            assert_eq!(e.message(), None);
            assert_eq!(e.to_string(), "goroutine panicked");
            assert_eq!(*e.into_panic().downcast::<i32>().unwrap(), 42);

            assert_eq!(fine.join().unwrap(), 5);

            // Many panicking and non-panicking goroutines interleaved, some
            // panicking after a park: each join gets exactly its own outcome.
            let handles: Vec<_> = (0..200u32)
                .map(|i| {
                    goro::go(move || {
                        yield_times(u64::from(i % 3));
                        if i % 2 == 1 {
                            panic!("odd {i}");
                        }
                        i
                    })
                })
                .collect();
            for (i, h) in (0..200u32).zip(handles) {
                match h.join() {
                    Ok(v) => assert_eq!(v, i),
                    Err(e) => {
                        assert_eq!(i % 2, 1);
                        assert_eq!(e.message(), Some(format!("odd {i}").as_str()));
                    }
                }
            }
            // The runtime still works.
            let sum: u32 = (0..100u32)
                .map(|i| goro::go(move || i))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum();
            assert_eq!(sum, 4950);
        });
    });
}

/// A re-raised panic (`resume_unwind(e.into_panic())`) travels up a chain of
/// joining goroutines with its original payload.
#[test]
fn panic_payload_propagates_through_join_chain() {
    watchdog("panic_payload_propagates_through_join_chain", || {
        let rt = runtime(2);
        let e = rt.run(|| {
            fn level(n: u32) -> u32 {
                if n == 0 {
                    std::panic::panic_any(vec![1u8, 2, 3]);
                }
                match goro::go(move || level(n - 1)).join() {
                    Ok(v) => v,
                    Err(e) => resume_unwind(e.into_panic()),
                }
            }
            goro::go(|| level(20)).join().unwrap_err()
        });
        assert_eq!(*e.into_panic().downcast::<Vec<u8>>().unwrap(), [1, 2, 3]);
    });
}

/// A panic in the main goroutine of `run` (default runtime or a built one)
/// propagates to the caller with its payload, and the runtime can run again.
#[test]
fn main_goroutine_panic_propagates_to_run_caller() {
    watchdog("main_goroutine_panic_propagates_to_run_caller", || {
        let payload = catch_unwind(|| goro::run(|| -> u8 { panic!("main boom") })).unwrap_err();
        assert_eq!(*payload.downcast::<&'static str>().unwrap(), "main boom");

        let rt = runtime(1);
        let payload = catch_unwind(AssertUnwindSafe(|| {
            rt.run(|| {
                // Panics after a park, with other goroutines around.
                let h = goro::go(|| 1);
                let v = h.join().unwrap();
                panic!("main boom {v}")
            })
        }))
        .unwrap_err();
        assert_eq!(*payload.downcast::<String>().unwrap(), "main boom 1");

        // Both runtimes are still usable.
        assert_eq!(goro::run(|| goro::go(|| 2).join().unwrap()), 2);
        assert_eq!(rt.run(|| goro::go(|| 3).join().unwrap()), 3);
    });
}

/// Detached goroutines that panic (immediately, or after parking) do not
/// take the runtime down: everything else completes and new goroutines run.
#[test]
fn detached_panicking_goroutines_do_not_take_runtime_down() {
    const N: usize = 200;
    watchdog(
        "detached_panicking_goroutines_do_not_take_runtime_down",
        || {
            let rt = runtime(2);
            rt.run(|| {
                let (all_done, gate) = (WaitGroup::new(), WaitGroup::new());
                gate.add(1);
                let survivors = Arc::new(AtomicUsize::new(0));
                for i in 0..N {
                    all_done.add(1);
                    let guard = DoneOnDrop(all_done.clone());
                    let (gate, survivors) = (gate.clone(), survivors.clone());
                    // The handle is dropped at once: detached, like `go f()`.
                    drop(goro::go(move || {
                        let _guard = guard;
                        match i % 4 {
                            0 => panic!("detached {i}"),
                            1 => {
                                gate.wait();
                                panic!("detached after park {i}");
                            }
                            _ => {
                                gate.wait();
                                goro::yield_now();
                                survivors.fetch_add(1, SeqCst);
                            }
                        }
                    }));
                }
                gate.done();
                all_done.wait();
                assert_eq!(survivors.load(SeqCst), N / 2);
                eventually("panicked goroutines are gone", || {
                    goro::num_goroutines() == 1
                });
                let h = goro::go(|| goro::go(|| 40).join().unwrap() + 2);
                assert_eq!(h.join().unwrap(), 42);
            });
            // And from outside, the runtime runs new work too.
            assert_eq!(rt.run(|| 7), 7);
        },
    );
}

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

goro::local! {
    static PANICKY: PanicOnDrop = PanicOnDrop("goroutine-local destructor panicked");
}

/// A destructor that panics outside user code — the runtime drops it — may
/// end the process loudly (std aborts for thread-locals and for unjoined
/// thread results) or be survived, but must not silently wedge the runtime.
/// A child of `test` has `provoke` such a panic (`what`) on a one-P runtime,
/// then proves the runtime still works, under a 5 s watchdog of its own.
fn survived_or_aborted(test: &'static str, what: &str, provoke: fn(&goro::Runtime)) {
    let Some(out) = run_in_child(test, "drop-panic", &[], || {
        watchdog_for(test, Duration::from_secs(5), move || {
            let rt = runtime(1);
            provoke(&rt);
            std::thread::sleep(Duration::from_millis(100));
            assert_eq!(rt.run(|| goro::go(|| 3).join().unwrap()), 3);
            println!("child: runtime still works");
        });
    }) else {
        return;
    };
    if out.status.success() {
        assert!(
            out.stdout.contains("child: runtime still works"),
            "{}",
            out.describe()
        );
        return;
    }
    assert!(
        out.status.signal().is_some(),
        "after {what}, the runtime neither kept working nor aborted: the child failed \
         (a hang shows as `did not finish within`):\n{}",
        out.describe()
    );
}

/// A `goro::local!` value whose destructor panics (run by the runtime at
/// goroutine exit) does not leave a one-P runtime unable to run goroutines.
#[test]
fn panicking_local_destructor_does_not_wedge_runtime() {
    survived_or_aborted(
        "panicking_local_destructor_does_not_wedge_runtime",
        "a goroutine-local destructor panicked",
        |rt| {
            let joined = rt.run(|| goro::go(|| PANICKY.with(|_| ())).join());
            println!("child: join returned {:?}", joined.is_ok());
        },
    );
}

/// A detached goroutine whose return value panics when the runtime drops it
/// (nobody joined it) does not leave a one-P runtime unable to run
/// goroutines.
#[test]
fn panicking_drop_of_unjoined_result_does_not_wedge_runtime() {
    survived_or_aborted(
        "panicking_drop_of_unjoined_result_does_not_wedge_runtime",
        "an unjoined goroutine's result panicked on drop",
        |rt| {
            rt.run(|| {
                let gate = WaitGroup::new();
                gate.add(1);
                let g = gate.clone();
                drop(goro::go(move || {
                    g.wait();
                    PanicOnDrop("unjoined result's destructor panicked")
                }));
                gate.done();
            });
        },
    );
}
