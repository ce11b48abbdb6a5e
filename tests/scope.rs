//! Scoped goroutines: borrowing from the caller's stack, waiting for all of
//! them, joining for borrowed values, panics, nesting.

mod common;

use common::{panic_text, runtime, seeded, watchdog, yield_times, Rng};
use goro::sync::WaitGroup;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::*};

/// Scoped goroutines write through disjoint `&mut` chunks of a local Vec,
/// from a goroutine and from a plain thread, and every write is visible when
/// `scope` returns.
#[test]
fn scoped_goroutines_write_borrowed_mut_slices() {
    fn fill(v: &mut [u64]) {
        goro::scope(|s| {
            for (n, chunk) in v.chunks_mut(100).enumerate() {
                s.go(move || {
                    for (j, x) in chunk.iter_mut().enumerate() {
                        if j == 50 {
                            goro::yield_now(); // park mid-way through the borrow
                        }
                        *x = (n * 100 + j) as u64 * 3;
                    }
                });
            }
        });
    }
    watchdog("scoped_goroutines_write_borrowed_mut_slices", || {
        let expected: Vec<u64> = (0..10_000u64).map(|i| i * 3).collect();
        // Inside a goroutine.
        let e = expected.clone();
        runtime(2).run(move || {
            let mut v = vec![0u64; 10_000];
            fill(&mut v);
            assert_eq!(v, e);
        });
        // On a plain thread: the scope's owner is a thread, not a goroutine.
        let mut v = vec![0u64; 10_000];
        fill(&mut v);
        assert_eq!(v, expected);
    });
}

/// `scope` returns only once every scoped goroutine has finished, even if
/// none is joined and they park and yield for random amounts of time.
#[test]
fn scope_returns_only_after_all_finished() {
    seeded("scope_returns_only_after_all_finished", |seed| {
        let rt = runtime(2);
        rt.run(move || {
            let mut rng = Rng::new(seed);
            for _ in 0..200 {
                let n = 1 + rng.below(40) as usize;
                let finished = AtomicUsize::new(0);
                let gate = WaitGroup::new();
                gate.add(1);
                let yields: Vec<u64> = (0..n).map(|_| rng.below(8)).collect();
                let opener = rng.below(n as u64) as usize;
                goro::scope(|s| {
                    for (i, &y) in yields.iter().enumerate() {
                        let (finished, gate) = (&finished, &gate);
                        s.go(move || {
                            yield_times(y);
                            if i == opener {
                                gate.done();
                            } else {
                                gate.wait();
                            }
                            yield_times(y % 3);
                            finished.fetch_add(1, SeqCst);
                        });
                    }
                    // The scope body itself returns at once.
                });
                assert_eq!(finished.load(SeqCst), n, "scope returned early");
            }
        });
    });
}

/// `ScopedJoinHandle::join` returns values that borrow from the enclosing
/// function, and `scope` can return such a value.
#[test]
fn scoped_join_returns_borrowing_values() {
    watchdog("scoped_join_returns_borrowing_values", || {
        runtime(2).run(|| {
            let words: Vec<String> = ["goroutines", "go", "scheduler", "p"]
                .map(String::from)
                .to_vec();
            let numbers: Vec<u32> = (1..=100).collect();
            let (longest, middle) = goro::scope(|s| {
                let longest = s.go(|| {
                    goro::yield_now();
                    words.iter().max_by_key(|w| w.len()).unwrap()
                });
                let middle = s.go(|| &numbers[40..60]);
                (longest.join().unwrap(), middle.join().unwrap())
            });
            assert_eq!(longest, "goroutines");
            assert!(std::ptr::eq(longest, &words[0]), "not a borrow of `words`");
            assert_eq!(middle, &(41..=60).collect::<Vec<u32>>()[..]);
            let first: &str = goro::scope(|s| s.go(|| &words[1][..]).join().unwrap());
            assert_eq!(first, "go");
        });
    });
}

/// An unjoined scoped goroutine that panicked makes `scope` panic, but only
/// after every other scoped goroutine has finished; a joined one does not
/// (its join gets the `Err`); a panic in the scope body itself is resumed
/// with its own payload after the goroutines finished.
#[test]
fn scoped_panics() {
    watchdog("scoped_panics", || {
        runtime(2).run(|| {
            // Unjoined panic.
            let finished = AtomicUsize::new(0);
            let result = catch_unwind(AssertUnwindSafe(|| {
                goro::scope(|s| {
                    s.go(|| panic!("scoped boom"));
                    for i in 0..20 {
                        let finished = &finished;
                        s.go(move || {
                            yield_times(i % 5 + 1);
                            finished.fetch_add(1, SeqCst);
                        });
                    }
                })
            }));
            let payload = result.expect_err("scope should panic");
            assert_eq!(
                finished.load(SeqCst),
                20,
                "scope panicked before all finished"
            );
            let msg = panic_text(&*payload);
            assert!(
                msg.contains("a scoped goroutine panicked"),
                "unexpected payload {msg:?}"
            );

            // Joined panic: the scope itself is fine.
            let v = goro::scope(|s| {
                let h = s.go(|| -> u8 { panic!("joined boom") });
                let e = h.join().unwrap_err();
                assert_eq!(e.message(), Some("joined boom"));
                s.go(|| 9).join().unwrap()
            });
            assert_eq!(v, 9);

            // Panic in the scope body: resumed after the goroutines finished.
            let finished = AtomicUsize::new(0);
            let result = catch_unwind(AssertUnwindSafe(|| {
                goro::scope(|s| {
                    for _ in 0..10 {
                        s.go(|| {
                            yield_times(3);
                            finished.fetch_add(1, SeqCst);
                        });
                    }
                    std::panic::panic_any(1234u32)
                })
            }));
            assert_eq!(finished.load(SeqCst), 10);
            assert_eq!(*result.unwrap_err().downcast::<u32>().unwrap(), 1234);
        });
    });
}

/// Scopes nest: goroutines of an outer scope open inner scopes that borrow
/// both the outer scope's data and their own locals.
#[test]
fn nested_scopes() {
    watchdog("nested_scopes", || {
        runtime(2).run(|| {
            let matrix: Vec<Vec<u64>> = (0..32)
                .map(|r| (0..64).map(|c| r * 64 + c).collect())
                .collect();
            let mut row_sums = vec![0u64; matrix.len()];
            goro::scope(|outer| {
                for (row, sum) in matrix.iter().zip(row_sums.iter_mut()) {
                    outer.go(move || {
                        let mut partial = [0u64; 4];
                        goro::scope(|inner| {
                            for (part, cells) in partial.iter_mut().zip(row.chunks(16)) {
                                inner.go(move || {
                                    goro::yield_now();
                                    *part = cells.iter().sum();
                                });
                            }
                        });
                        *sum = partial.iter().sum();
                    });
                }
            });
            for (r, &sum) in row_sums.iter().enumerate() {
                assert_eq!(sum, matrix[r].iter().sum::<u64>(), "row {r}");
            }
            assert_eq!(row_sums.iter().sum::<u64>(), (0..2048u64).sum::<u64>());
        });
    });
}
