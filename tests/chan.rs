//! Channels (`goro::chan`): rendezvous, FIFO order (also with blocked
//! senders and receivers), close and drop semantics on every capacity,
//! non-blocking and timed operations, iterators, goroutine ↔ thread traffic
//! and the error types — on one and on two Ps, with randomised
//! interleavings from a printed seed.

mod common;

use common::{
    assert_took, everywhere, go_named, go_parked, on_one_and_two_procs, runtime, seeded, spin_for,
    unique_name, watchdog, yield_times, Rng, SLACK,
};
use goro::chan::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use goro::{Receiver, Sender};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Capacities every semantic test runs on.
const CAPS: [usize; 7] = [0, 1, 2, 3, 4, 5, 64];

/// A channel of capacity `cap` whose buffer is full, of 0..cap.
fn full_chan(cap: usize) -> (Sender<u64>, Receiver<u64>) {
    let (tx, rx) = goro::chan::<u64>(cap);
    for v in 0..cap as u64 {
        tx.send(v).unwrap();
    }
    (tx, rx)
}

/// The rendezvous probe: a sender goroutine sends 0..rounds and records,
/// after each `send` returns, how many sends have completed; the receiver,
/// right before receiving value `i` — after waiting a random while, so that
/// a `send` that returned early would have had time to record it — checks
/// that at most `i` sends have completed. Returns how many times the check
/// failed. Sends and receives use every API (send, send_timeout, select!).
fn rendezvous_violations(procs: usize, cap: usize, rounds: u64, seed: u64) -> u64 {
    runtime(procs).run(move || {
        let (tx, rx) = goro::chan::<u64>(cap);
        let completed = Arc::new(AtomicU64::new(0));
        let c = completed.clone();
        let sender = goro::go(move || {
            let mut rng = Rng::new(seed);
            for i in 0..rounds {
                yield_times(rng.below(3));
                if rng.one_in(16) {
                    // Let the receiver park first.
                    goro::time::sleep(Duration::from_micros(50));
                }
                match rng.below(3) {
                    0 => tx.send(i).unwrap(),
                    1 => tx.send_timeout(i, Duration::from_secs(30)).unwrap(),
                    _ => goro::select! { send(tx, i) -> r => r.unwrap() },
                }
                c.store(i + 1, SeqCst);
            }
        });
        let mut rng = Rng::new(seed ^ 0x5EED);
        let mut violations = 0;
        for i in 0..rounds {
            yield_times(rng.below(4));
            match rng.below(8) {
                0 => goro::time::sleep(Duration::from_micros(100)),
                1 => spin_for(Duration::from_micros(30)),
                _ => {}
            }
            if completed.load(SeqCst) > i {
                violations += 1;
            }
            let v = match rng.below(3) {
                0 => rx.recv().unwrap(),
                1 => rx.recv_timeout(Duration::from_secs(30)).unwrap(),
                _ => goro::select! { recv(rx) -> v => v.unwrap() },
            };
            assert_eq!(v, i, "procs({procs}) cap {cap}: values out of order");
        }
        sender.join().unwrap();
        violations
    })
}

/// An unbuffered `send` returns only after a receiver has taken the value:
/// the receiver never sees a send of a value it has not received yet as
/// completed. The same probe on a buffered channel does see it (so the
/// probe can fail).
#[test]
fn unbuffered_send_returns_only_after_receiver_took_the_value() {
    seeded(
        "unbuffered_send_returns_only_after_receiver_took_the_value",
        |seed| {
            for procs in [1, 2] {
                let v = rendezvous_violations(procs, 0, 10_000, seed.wrapping_add(procs as u64));
                assert_eq!(
                    v, 0,
                    "procs({procs}): an unbuffered send returned {v} times before the receiver took its value"
                );
            }
            // Control: with a buffer, send returns at once, and the probe sees it.
            let v = rendezvous_violations(2, 1, 300, seed);
            assert!(v > 0, "the rendezvous probe cannot detect an early return");
        },
    );
}

/// One producer, one consumer: values arrive in order on every capacity,
/// with random yields and sleeps on both sides, on one and two Ps.
#[test]
fn fifo_single_producer_every_capacity() {
    seeded("fifo_single_producer_every_capacity", |seed| {
        on_one_and_two_procs(move |procs| {
            for cap in CAPS {
                const N: u64 = 10_000;
                let (tx, rx) = goro::chan::<u64>(cap);
                let s = seed ^ ((cap as u64) << 8) ^ procs as u64;
                let producer = goro::go(move || {
                    let mut rng = Rng::new(s);
                    for i in 0..N {
                        yield_times(rng.below(3));
                        if rng.one_in(200) {
                            goro::time::sleep(Duration::from_micros(200));
                        }
                        tx.send(i).unwrap();
                    }
                });
                let mut rng = Rng::new(!s);
                for i in 0..N {
                    yield_times(rng.below(3));
                    if rng.one_in(200) {
                        goro::time::sleep(Duration::from_micros(200));
                    }
                    assert_eq!(rx.recv(), Ok(i), "procs({procs}) cap {cap}");
                }
                producer.join().unwrap();
                // The producer's Sender is gone: closed and drained.
                assert_eq!(rx.recv(), Err(RecvError));
            }
        });
    });
}

/// Senders that block on a full channel are served in the order they
/// blocked, after the buffered values: a receiver sees the buffer's
/// contents, then the blocked senders' values in blocking order. Blocked
/// `send`, `send_timeout` and `select!` send cases queue alike.
#[test]
fn fifo_with_blocked_senders() {
    watchdog("fifo_with_blocked_senders", || {
        on_one_and_two_procs(move |procs| {
            for cap in [0, 1, 2, 3, 4] {
                const BLOCKED: u64 = 6;
                let cap64 = cap as u64;
                let (tx, rx) = full_chan(cap);
                assert_eq!(tx.try_send(999), Err(TrySendError::Full(999)));
                let mut senders = Vec::new();
                for k in 0..BLOCKED {
                    let tx = tx.clone();
                    let v = cap64 + k;
                    let what = "blocked-sender";
                    senders.push(match k % 3 {
                        0 => go_parked(what, "chan send", move || tx.send(v).is_ok()),
                        1 => go_parked(what, "chan send", move || {
                            tx.send_timeout(v, Duration::from_secs(30)).is_ok()
                        }),
                        _ => go_parked(what, "select", move || {
                            goro::select! { send(tx, v) -> r => r.is_ok() }
                        }),
                    });
                }
                // Still full: the blocked senders are queued, not buffered.
                assert_eq!(tx.len(), cap);
                let got: Vec<u64> = (0..cap64 + BLOCKED).map(|_| rx.recv().unwrap()).collect();
                let want: Vec<u64> = (0..cap64 + BLOCKED).collect();
                assert_eq!(got, want, "procs({procs}) cap {cap}");
                for h in senders {
                    assert!(h.join().unwrap(), "a blocked send failed");
                }
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
        });
    });
}

/// Receivers that block on an empty channel are served in the order they
/// blocked (plain `recv`, `recv_timeout` and `select!` alike).
#[test]
fn fifo_with_blocked_receivers() {
    watchdog("fifo_with_blocked_receivers", || {
        on_one_and_two_procs(move |procs| {
            for cap in [0, 1, 4] {
                const BLOCKED: u64 = 6;
                let (tx, rx) = goro::chan::<u64>(cap);
                let mut receivers = Vec::new();
                for k in 0..BLOCKED {
                    let rx = rx.clone();
                    let what = "blocked-receiver";
                    receivers.push(match k % 3 {
                        0 => go_parked(what, "chan receive", move || rx.recv().unwrap()),
                        1 => go_parked(what, "chan receive", move || {
                            rx.recv_timeout(Duration::from_secs(30)).unwrap()
                        }),
                        _ => go_parked(what, "select", move || {
                            goro::select! { recv(rx) -> v => v.unwrap() }
                        }),
                    });
                }
                for v in 0..BLOCKED {
                    tx.send(v).unwrap();
                }
                for (k, h) in receivers.into_iter().enumerate() {
                    assert_eq!(h.join().unwrap(), k as u64, "procs({procs}) cap {cap}");
                }
                assert_eq!(tx.len(), 0);
            }
        });
    });
}

/// Close on every capacity: buffered values are still delivered, then every
/// receive reports closed; every send gives its value back; `close` says
/// false the second time; `is_closed` is seen from both ends.
#[test]
fn close_semantics_every_capacity() {
    watchdog("close_semantics_every_capacity", || {
        everywhere(|_| {
            for cap in CAPS {
                for filled in [0, cap / 2, cap] {
                    let (tx, rx) = goro::chan::<String>(cap);
                    for i in 0..filled {
                        tx.send(format!("v{i}")).unwrap();
                    }
                    assert!(!tx.is_closed() && !rx.is_closed());
                    assert!(tx.close(), "first close");
                    assert!(!tx.close(), "second close");
                    assert!(!tx.clone().close(), "close through a clone");
                    assert!(tx.is_closed() && rx.is_closed());
                    assert_eq!(rx.len(), filled, "close keeps the buffer");
                    assert_eq!(tx.send("late".into()), Err(SendError("late".to_string())));
                    assert_eq!(
                        tx.try_send("late".into()),
                        Err(TrySendError::Closed("late".to_string()))
                    );
                    assert_eq!(
                        tx.send_timeout("late".into(), Duration::from_secs(10)),
                        Err(SendTimeoutError::Closed("late".to_string()))
                    );
                    for i in 0..filled {
                        let v = match i % 3 {
                            0 => rx.recv().unwrap(),
                            1 => rx.try_recv().unwrap(),
                            _ => rx.recv_timeout(Duration::from_secs(10)).unwrap(),
                        };
                        assert_eq!(v, format!("v{i}"), "cap {cap}");
                    }
                    assert_eq!(rx.len(), 0);
                    for _ in 0..3 {
                        assert_eq!(rx.recv(), Err(RecvError));
                        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
                        let t = Instant::now();
                        assert_eq!(
                            rx.recv_timeout(Duration::from_secs(10)),
                            Err(RecvTimeoutError::Closed)
                        );
                        assert!(
                            t.elapsed() < SLACK,
                            "recv_timeout on a closed channel waited"
                        );
                    }
                    assert_eq!(rx.iter().count(), 0);
                }
            }
        });
    });
}

/// `close` wakes every parked sender — plain, timed and `select!` — and
/// each gets its own value back; values buffered before the close are
/// still delivered. A sender on a plain thread gets its value back too.
#[test]
fn close_wakes_every_parked_sender() {
    watchdog("close_wakes_every_parked_sender", || {
        on_one_and_two_procs(move |procs| {
            for cap in [0, 1, 2, 3] {
                let cap64 = cap as u64;
                let (tx, rx) = full_chan(cap);
                let mut senders = Vec::new();
                for k in 0..6u64 {
                    let tx = tx.clone();
                    let v = 100 + k;
                    let what = "sender-closed";
                    let h = match k % 3 {
                        0 => go_parked(what, "chan send", move || tx.send(v).map_err(|e| e.0)),
                        1 => go_parked(what, "chan send", move || {
                            tx.send_timeout(v, Duration::from_secs(30))
                                .map_err(|e| match e {
                                    SendTimeoutError::Closed(v) => v,
                                    SendTimeoutError::Timeout(_) => panic!("timed out"),
                                })
                        }),
                        _ => go_parked(what, "select", move || {
                            goro::select! { send(tx, v) -> r => r.map_err(|e| e.into_inner()) }
                        }),
                    };
                    senders.push((v, h));
                }
                // A plain thread too (parked or not yet: the outcome is the same).
                let ttx = tx.clone();
                let thread = std::thread::spawn(move || ttx.send(777).map_err(|e| e.0));
                goro::time::sleep(Duration::from_millis(5));
                assert!(tx.close());
                for (v, h) in senders {
                    assert_eq!(h.join().unwrap(), Err(v), "procs({procs}) cap {cap}");
                }
                assert_eq!(thread.join().unwrap(), Err(777));
                let drained: Vec<u64> = rx.iter().collect();
                assert_eq!(
                    drained,
                    (0..cap64).collect::<Vec<_>>(),
                    "buffer after close"
                );
            }
        });
    });
}

/// `close` wakes every parked receiver — plain, timed, `select!`, an
/// iterator, and a plain thread — with "closed".
#[test]
fn close_wakes_every_parked_receiver() {
    watchdog("close_wakes_every_parked_receiver", || {
        on_one_and_two_procs(move |procs| {
            for cap in [0, 1, 4] {
                let (tx, rx) = goro::chan::<u64>(cap);
                let mut receivers: Vec<goro::JoinHandle<bool>> = Vec::new();
                for k in 0..8 {
                    let rx = rx.clone();
                    let what = "receiver-closed";
                    receivers.push(match k % 4 {
                        0 => go_parked(what, "chan receive", move || rx.recv() == Err(RecvError)),
                        1 => go_parked(what, "chan receive", move || {
                            rx.recv_timeout(Duration::from_secs(30))
                                == Err(RecvTimeoutError::Closed)
                        }),
                        2 => go_parked(what, "select", move || {
                            goro::select! { recv(rx) -> v => v == Err(RecvError) }
                        }),
                        _ => go_parked(what, "chan receive", move || rx.iter().count() == 0),
                    });
                }
                let trx = rx.clone();
                let thread = std::thread::spawn(move || trx.recv());
                goro::time::sleep(Duration::from_millis(5));
                assert!(tx.close());
                for h in receivers {
                    assert!(h.join().unwrap(), "procs({procs}) cap {cap}: wrong wake-up");
                }
                assert_eq!(thread.join().unwrap(), Err(RecvError));
            }
        });
    });
}

/// Dropping every `Sender` (clones in several goroutines) closes the
/// channel: receivers get everything sent, then the end — including a
/// receiver parked at the time of the last drop.
#[test]
fn dropping_every_sender_closes() {
    watchdog("dropping_every_sender_closes", || {
        on_one_and_two_procs(move |procs| {
            for cap in CAPS {
                let (tx, rx) = goro::chan::<u64>(cap);
                let rx2 = rx.clone();
                let ranger = go_named(&unique_name("ranger"), move || rx2.iter().sum::<u64>());
                let producers: Vec<_> = (0..4u64)
                    .map(|p| {
                        let tx = tx.clone();
                        goro::go(move || {
                            for i in 0..100 {
                                tx.send(p * 1000 + i).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                for p in producers {
                    p.join().unwrap();
                }
                let want: u64 = (0..4u64)
                    .map(|p| (0..100).map(|i| p * 1000 + i).sum::<u64>())
                    .sum();
                assert_eq!(ranger.join().unwrap(), want, "procs({procs}) cap {cap}");
                assert!(rx.is_closed());
                assert_eq!(rx.recv(), Err(RecvError));
            }
            // A receiver parked when the last sender goes.
            let (tx, rx) = goro::chan::<u64>(0);
            let h = go_parked("parked-until-drop", "chan receive", move || rx.recv());
            let tx2 = tx.clone();
            drop(tx);
            assert!(!tx2.is_closed(), "a live clone keeps the channel open");
            drop(tx2);
            assert_eq!(h.join().unwrap(), Err(RecvError));
        });
    });
}

/// Dropping every `Receiver` makes parked sends fail with their value, and
/// later sends fail at once instead of blocking; a live clone of the
/// receiver keeps the channel open.
#[test]
fn dropping_every_receiver_fails_sends() {
    watchdog("dropping_every_receiver_fails_sends", || {
        on_one_and_two_procs(move |procs| {
            for cap in [0, 1, 2, 4] {
                let (tx, rx) = full_chan(cap);
                let rx2 = rx.clone();
                let mut senders = Vec::new();
                for k in 0..3u64 {
                    let tx = tx.clone();
                    let what = "sender-no-receiver";
                    let h = match k {
                        0 => go_parked(what, "chan send", move || tx.send(50).map_err(|e| e.0)),
                        1 => go_parked(what, "chan send", move || {
                            tx.send_timeout(51, Duration::from_secs(30))
                                .map_err(|e| e.into_inner())
                        }),
                        _ => go_parked(what, "select", move || {
                            goro::select! { send(tx, 52) -> r => r.map_err(|e| e.0) }
                        }),
                    };
                    senders.push((50 + k, h));
                }
                drop(rx);
                assert!(!tx.is_closed(), "a live receiver clone keeps it open");
                goro::time::sleep(Duration::from_millis(2));
                for (_, h) in &senders {
                    assert!(!h.is_finished(), "a sender gave up while a receiver lives");
                }
                drop(rx2);
                for (v, h) in senders {
                    assert_eq!(h.join().unwrap(), Err(v), "procs({procs}) cap {cap}");
                }
                assert!(tx.is_closed());
                let t = Instant::now();
                assert_eq!(tx.send(9), Err(SendError(9)));
                assert_eq!(tx.try_send(9), Err(TrySendError::Closed(9)));
                assert_eq!(
                    tx.send_timeout(9, Duration::from_secs(10)),
                    Err(SendTimeoutError::Closed(9))
                );
                assert!(t.elapsed() < SLACK, "sends without receivers blocked");
            }
        });
    });
}

/// `try_send` / `try_recv`: Full and Empty on an unbuffered channel with
/// nobody waiting, success with a parked partner, Full on a full buffer,
/// and Closed after close (the value comes back).
#[test]
fn try_send_and_try_recv() {
    watchdog("try_send_and_try_recv", || {
        on_one_and_two_procs(move |_| {
            let (tx, rx) = goro::chan::<u64>(0);
            assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // A parked receiver makes try_send succeed (direct hand-off).
            let rx2 = rx.clone();
            let h = go_parked("try-partner-recv", "chan receive", move || rx2.recv());
            assert_eq!(tx.try_send(2), Ok(()));
            assert_eq!(h.join().unwrap(), Ok(2));
            // A parked sender makes try_recv succeed.
            let tx2 = tx.clone();
            let h = go_parked("try-partner-send", "chan send", move || tx2.send(3));
            assert_eq!(rx.try_recv(), Ok(3));
            assert_eq!(h.join().unwrap(), Ok(()));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

            for cap in [1, 2, 5] {
                let (tx, rx) = goro::chan::<u64>(cap);
                for i in 0..cap as u64 {
                    assert_eq!(tx.try_send(i), Ok(()));
                }
                assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
                assert!(tx.try_send(99).unwrap_err().is_full());
                assert_eq!(rx.try_recv(), Ok(0));
                assert_eq!(tx.try_send(100), Ok(()));
                assert_eq!(tx.try_send(101), Err(TrySendError::Full(101)));
                tx.close();
                let e = tx.try_send(102).unwrap_err();
                assert!(e.is_closed() && !e.is_full());
                assert_eq!(e.into_inner(), 102);
                let rest: Vec<u64> = rx.try_iter().collect();
                let mut want: Vec<u64> = (1..cap as u64).collect();
                want.push(100);
                assert_eq!(rest, want);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            }
        });
    });
}

/// Timed operations time out after at least their timeout and not much
/// later, give the value back, and leave nothing behind (a timed-out send's
/// value is never received later); a value arriving in time is taken.
/// In goroutines on one and two Ps, and on a plain thread.
#[test]
fn timeouts_within_slack() {
    watchdog("timeouts_within_slack", || {
        everywhere(|ctx| {
            let ms = Duration::from_millis;
            for cap in [0, 1, 3] {
                let (tx, rx) = goro::chan::<u64>(cap);
                let t = Instant::now();
                assert_eq!(rx.recv_timeout(ms(20)), Err(RecvTimeoutError::Timeout));
                assert_took(
                    &format!("{ctx} cap {cap} recv_timeout"),
                    t.elapsed(),
                    ms(20),
                );

                let t = Instant::now();
                let deadline = t + ms(15);
                assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
                assert_took(
                    &format!("{ctx} cap {cap} recv_deadline"),
                    t.elapsed(),
                    ms(15),
                );
                assert!(Instant::now() >= deadline);

                for i in 0..cap as u64 {
                    tx.send(i).unwrap();
                }
                let t = Instant::now();
                assert_eq!(
                    tx.send_timeout(42, ms(20)),
                    Err(SendTimeoutError::Timeout(42))
                );
                assert_took(
                    &format!("{ctx} cap {cap} send_timeout"),
                    t.elapsed(),
                    ms(20),
                );
                let t = Instant::now();
                let e = tx.send_deadline(43, t + ms(10)).unwrap_err();
                assert_took(
                    &format!("{ctx} cap {cap} send_deadline"),
                    t.elapsed(),
                    ms(10),
                );
                assert_eq!(e, SendTimeoutError::Timeout(43));
                assert_eq!(e.into_inner(), 43);

                // Zero and past timeouts act like try_*.
                let t = Instant::now();
                assert_eq!(
                    tx.send_timeout(44, Duration::ZERO),
                    Err(SendTimeoutError::Timeout(44))
                );
                assert_eq!(
                    tx.send_deadline(45, Instant::now() - ms(1)),
                    Err(SendTimeoutError::Timeout(45))
                );
                assert!(t.elapsed() < SLACK);

                // Nothing of the timed-out sends was left in the channel.
                let drained: Vec<u64> = rx.try_iter().collect();
                assert_eq!(
                    drained,
                    (0..cap as u64).collect::<Vec<_>>(),
                    "{ctx} cap {cap}"
                );
                assert_eq!(
                    rx.recv_timeout(Duration::ZERO),
                    Err(RecvTimeoutError::Timeout)
                );
                assert_eq!(rx.recv_timeout(ms(1)), Err(RecvTimeoutError::Timeout));
                assert_eq!(tx.len(), 0);

                // A value that arrives in time is received, without waiting
                // for the timeout.
                let tx2 = tx.clone();
                let sender = std::thread::spawn(move || {
                    std::thread::sleep(ms(10));
                    tx2.send(7)
                });
                let t = Instant::now();
                assert_eq!(rx.recv_timeout(Duration::from_secs(20)), Ok(7));
                assert!(t.elapsed() < ms(10) + SLACK, "{ctx}: slow delivery");
                sender.join().unwrap().unwrap();
                // A receiver that arrives in time takes a timed send.
                let rx2 = rx.clone();
                let receiver = std::thread::spawn(move || {
                    std::thread::sleep(ms(10));
                    rx2.recv()
                });
                let t = Instant::now();
                for i in 0..=cap as u64 {
                    tx.send_timeout(i, Duration::from_secs(20)).unwrap();
                }
                assert!(t.elapsed() < ms(10) + SLACK, "{ctx}: slow hand-off");
                assert_eq!(receiver.join().unwrap(), Ok(0));
                assert_eq!(rx.try_iter().count(), cap);
            }
        });
    });
}

/// Timeouts racing deliveries: a producer uses `send_timeout` with tiny
/// random timeouts, a consumer `recv_timeout` with tiny random timeouts.
/// Exactly the values whose send reported `Ok` arrive, each once, in order.
#[test]
fn timeouts_racing_deliveries_lose_and_duplicate_nothing() {
    seeded(
        "timeouts_racing_deliveries_lose_and_duplicate_nothing",
        |seed| {
            for procs in [1, 2] {
                for cap in [0, 1, 4] {
                    runtime(procs).run(move || {
                        const N: u64 = 20_000;
                        let (tx, rx) = goro::chan::<u64>(cap);
                        let s = seed ^ ((procs as u64) << 4) ^ cap as u64;
                        let producer = goro::go(move || {
                            let mut rng = Rng::new(s);
                            let mut sent = Vec::new();
                            for i in 0..N {
                                yield_times(rng.below(2));
                                if rng.one_in(4) {
                                    spin_for(Duration::from_micros(rng.below(30)));
                                }
                                let timeout = Duration::from_micros(rng.below(40));
                                match tx.send_timeout(i, timeout) {
                                    Ok(()) => sent.push(i),
                                    Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, i),
                                    Err(SendTimeoutError::Closed(_)) => panic!("closed"),
                                }
                            }
                            tx.close();
                            sent
                        });
                        let mut rng = Rng::new(!s);
                        let mut got = Vec::new();
                        loop {
                            yield_times(rng.below(2));
                            if rng.one_in(4) {
                                spin_for(Duration::from_micros(rng.below(30)));
                            }
                            match rx.recv_timeout(Duration::from_micros(rng.below(40))) {
                                Ok(v) => got.push(v),
                                Err(RecvTimeoutError::Timeout) => {}
                                Err(RecvTimeoutError::Closed) => break,
                            }
                        }
                        let sent = producer.join().unwrap();
                        assert_eq!(got, sent, "procs({procs}) cap {cap}: received ≠ sent-Ok");
                    });
                }
            }
        },
    );
}

/// `len`, `capacity`, `is_empty`, `is_closed` on both ends; `Debug` shows
/// them.
#[test]
fn len_capacity_is_closed() {
    watchdog("len_capacity_is_closed", || {
        for cap in CAPS {
            let (tx, rx) = goro::chan::<u8>(cap);
            assert_eq!((tx.capacity(), rx.capacity()), (cap, cap));
            assert!(tx.is_empty() && rx.is_empty());
            for i in 0..cap {
                assert_eq!((tx.len(), rx.len()), (i, i));
                tx.send(i as u8).unwrap();
            }
            assert_eq!((tx.len(), rx.len()), (cap, cap));
            assert_eq!(tx.is_empty(), cap == 0);
            let dbg = format!("{tx:?} {rx:?}");
            assert!(dbg.contains(&format!("capacity: {cap}")), "{dbg}");
            assert!(dbg.contains("closed: false"), "{dbg}");
            rx.try_recv().ok();
            assert_eq!(rx.len(), cap.saturating_sub(1));
            assert!(!tx.is_closed() && !rx.is_closed());
            tx.close();
            assert!(tx.is_closed() && rx.is_closed());
            assert!(format!("{rx:?}").contains("closed: true"));
            assert_eq!(rx.len(), cap.saturating_sub(1));
            assert_eq!(tx.capacity(), cap);
            let (tx2, rx2) = goro::chan::<u8>(cap);
            assert!(tx.same_channel(&tx.clone()) && !tx.same_channel(&tx2));
            assert!(rx.same_channel(&rx.clone()) && !rx.same_channel(&rx2));
        }
    });
}

/// `iter` (blocking, ends at close), `try_iter` (what is there now), and
/// `IntoIterator` for `&Receiver` and `Receiver`.
#[test]
fn iterators() {
    watchdog("iterators", || {
        goro::run(|| {
            let spawn_producer = |tx: Sender<u64>, n: u64| {
                goro::go(move || {
                    for i in 0..n {
                        tx.send(i).unwrap();
                        if i.is_multiple_of(7) {
                            goro::yield_now();
                        }
                    }
                })
            };
            for cap in [0, 1, 8] {
                let (tx, rx) = goro::chan::<u64>(cap);
                spawn_producer(tx, 100);
                assert_eq!(rx.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());

                let (tx, rx) = goro::chan::<u64>(cap);
                spawn_producer(tx, 50);
                let mut n = 0;
                for v in &rx {
                    assert_eq!(v, n);
                    n += 1;
                }
                assert_eq!(n, 50);

                let (tx, rx) = goro::chan::<u64>(cap);
                spawn_producer(tx, 30);
                let rx: Receiver<u64> = rx;
                assert_eq!(rx.into_iter().sum::<u64>(), (0..30).sum());
            }
            // try_iter takes what is buffered, then stops without blocking,
            // even though the channel stays open.
            let (tx, rx) = goro::chan::<u64>(10);
            for i in 0..6 {
                tx.send(i).unwrap();
            }
            assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
            assert_eq!(rx.try_iter().count(), 0);
            tx.send(9).unwrap();
            assert_eq!(rx.try_iter().next(), Some(9));
            // iter over a closed channel with buffered values drains them.
            tx.send(10).unwrap();
            tx.send(11).unwrap();
            drop(tx);
            assert_eq!(rx.iter().collect::<Vec<_>>(), [10, 11]);
            assert_eq!(rx.iter().next(), None);
        });
    });
}

/// Many producers and consumers on every capacity: every value is received
/// exactly once (sum, count and a duplicate check), on one and two Ps.
#[test]
fn mpmc_every_capacity_delivers_each_value_once() {
    seeded("mpmc_every_capacity_delivers_each_value_once", |seed| {
        on_one_and_two_procs(move |procs| {
            for cap in CAPS {
                const P: u64 = 4;
                const C: u64 = 3;
                const N: u64 = 5_000;
                let (tx, rx) = goro::chan::<u64>(cap);
                let producers: Vec<_> = (0..P)
                    .map(|p| {
                        let tx = tx.clone();
                        let mut rng = Rng::new(seed ^ p ^ ((cap as u64) << 16));
                        goro::go(move || {
                            for i in 0..N {
                                yield_times(rng.below(2));
                                tx.send(p * N + i).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let consumers: Vec<_> = (0..C)
                    .map(|c| {
                        let rx = rx.clone();
                        let mut rng = Rng::new(!seed ^ c);
                        goro::go(move || {
                            let mut got = Vec::new();
                            loop {
                                yield_times(rng.below(2));
                                let r = if rng.one_in(4) {
                                    match rx.try_recv() {
                                        Err(TryRecvError::Empty) => continue,
                                        Err(TryRecvError::Closed) => break,
                                        Ok(v) => v,
                                    }
                                } else {
                                    match rx.recv() {
                                        Ok(v) => v,
                                        Err(RecvError) => break,
                                    }
                                };
                                got.push(r);
                            }
                            got
                        })
                    })
                    .collect();
                for p in producers {
                    p.join().unwrap();
                }
                let mut all: Vec<u64> = Vec::new();
                for c in consumers {
                    let got = c.join().unwrap();
                    // Each producer's values reach each consumer in order.
                    for p in 0..P {
                        let mine: Vec<u64> = got.iter().copied().filter(|v| v / N == p).collect();
                        assert!(mine.windows(2).all(|w| w[0] < w[1]), "per-producer order");
                    }
                    all.extend(got);
                }
                assert_eq!(all.len() as u64, P * N, "procs({procs}) cap {cap}: count");
                let unique: HashSet<u64> = all.iter().copied().collect();
                assert_eq!(
                    unique.len() as u64,
                    P * N,
                    "procs({procs}) cap {cap}: duplicates"
                );
                assert_eq!(all.iter().sum::<u64>(), (0..P * N).sum::<u64>());
            }
        });
    });
}

/// A plain OS thread sends to a goroutine (it parks the thread when the
/// goroutine is slow, and the goroutine parks when the thread is slow).
#[test]
fn plain_thread_sends_to_goroutine() {
    seeded("plain_thread_sends_to_goroutine", |seed| {
        for procs in [1, 2] {
            for cap in [0, 1, 16] {
                let (tx, rx) = goro::chan::<u64>(cap);
                const N: u64 = 2_000;
                let thread = std::thread::spawn(move || {
                    let mut rng = Rng::new(seed ^ cap as u64);
                    for i in 0..N {
                        if rng.one_in(100) {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        tx.send(i).unwrap();
                    }
                });
                let got = runtime(procs).run(move || {
                    let mut rng = Rng::new(!seed);
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv() {
                        if rng.one_in(100) {
                            goro::time::sleep(Duration::from_micros(200));
                        }
                        got.push(v);
                    }
                    got
                });
                thread.join().unwrap();
                assert_eq!(got, (0..N).collect::<Vec<_>>(), "procs({procs}) cap {cap}");
            }
        }
    });
}

/// A goroutine sends to a plain OS thread, and they ping-pong over two
/// unbuffered channels.
#[test]
fn goroutine_sends_to_plain_thread() {
    watchdog("goroutine_sends_to_plain_thread", || {
        for procs in [1, 2] {
            for cap in [0, 1, 16] {
                let (tx, rx) = goro::chan::<u64>(cap);
                let thread = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
                runtime(procs).run(move || {
                    for i in 0..2_000 {
                        tx.send(i).unwrap();
                        if i.is_multiple_of(500) {
                            goro::time::sleep(Duration::from_millis(1));
                        }
                    }
                });
                assert_eq!(thread.join().unwrap(), (0..2_000).collect::<Vec<_>>());
            }
            // Ping-pong: a thread and a goroutine take turns.
            let (ping_tx, ping_rx) = goro::chan::<u64>(0);
            let (pong_tx, pong_rx) = goro::chan::<u64>(0);
            let thread = std::thread::spawn(move || {
                for v in &ping_rx {
                    pong_tx.send(v + 1).unwrap();
                }
            });
            runtime(procs).run(move || {
                for i in 0..2_000 {
                    ping_tx.send(i * 2).unwrap();
                    assert_eq!(pong_rx.recv(), Ok(i * 2 + 1));
                }
            });
            thread.join().unwrap();
        }
    });
}

/// Two plain threads talk over goro channels with no goroutine involved:
/// unbuffered ping-pong, a buffered stream, and timeouts.
#[test]
fn plain_threads_without_goroutines() {
    watchdog("plain_threads_without_goroutines", || {
        let (ping_tx, ping_rx) = goro::chan::<u64>(0);
        let (pong_tx, pong_rx) = goro::chan::<u64>(0);
        let echo = std::thread::spawn(move || {
            let mut n = 0;
            while let Ok(v) = ping_rx.recv() {
                pong_tx.send(v * 3).unwrap();
                n += 1;
            }
            n
        });
        for i in 0..3_000 {
            ping_tx.send(i).unwrap();
            assert_eq!(pong_rx.recv(), Ok(i * 3));
        }
        drop(ping_tx);
        assert_eq!(echo.join().unwrap(), 3_000);

        let (tx, rx) = goro::chan::<u64>(4);
        let producer = std::thread::spawn(move || {
            for i in 0..10_000 {
                tx.send(i).unwrap();
            }
        });
        assert_eq!(rx.iter().sum::<u64>(), (0..10_000).sum());
        producer.join().unwrap();

        let (tx, rx) = goro::chan::<u64>(0);
        let t = Instant::now();
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
        assert_took(
            "thread recv_timeout",
            t.elapsed(),
            Duration::from_millis(20),
        );
        let waiter = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(20)));
        std::thread::sleep(Duration::from_millis(10));
        tx.send(5).unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(5));
    });
}

/// Values are neither leaked nor dropped twice: values buffered in a
/// dropped channel, given back by failed sends, and taken by receivers are
/// each dropped exactly once.
#[test]
fn values_are_dropped_exactly_once() {
    watchdog("values_are_dropped_exactly_once", || {
        on_one_and_two_procs(move |_| {
            let token = Arc::new(());
            for cap in [0, 1, 4] {
                let (tx, rx) = goro::chan::<Arc<()>>(cap);
                for _ in 0..cap {
                    tx.send(token.clone()).unwrap();
                }
                // Timed-out and failed sends give the value back.
                let back = tx.send_timeout(token.clone(), Duration::from_millis(1));
                drop(back);
                let back = tx.try_send(token.clone());
                drop(back);
                // Parked senders released by close hand their value back.
                let hs: Vec<_> = (0..3)
                    .map(|_| {
                        let (tx, v) = (tx.clone(), token.clone());
                        go_parked("arc-sender", "chan send", move || tx.send(v).is_err())
                    })
                    .collect();
                assert_eq!(Arc::strong_count(&token), 1 + cap + 3);
                tx.close();
                for h in hs {
                    assert!(h.join().unwrap());
                }
                assert_eq!(Arc::strong_count(&token), 1 + cap);
                if cap > 0 {
                    drop(rx.recv().unwrap());
                }
                // Dropping the channel drops what is still buffered.
                drop((tx, rx));
                assert_eq!(Arc::strong_count(&token), 1, "cap {cap}");
            }
        });
    });
}

/// The error types: `Display`, `Debug` (without needing `T: Debug`),
/// `std::error::Error`, `into_inner`, and the conversions.
#[test]
fn error_types() {
    watchdog("error_types", || {
        struct Opaque(u8);

        let e = SendError(Opaque(1));
        assert_eq!(e.to_string(), "sending on a closed channel");
        assert_eq!(format!("{e:?}"), "SendError { .. }");
        assert_eq!(e.into_inner().0, 1);

        let full = TrySendError::Full(Opaque(2));
        let closed = TrySendError::Closed(Opaque(3));
        assert_eq!(full.to_string(), "sending on a full channel");
        assert_eq!(closed.to_string(), "sending on a closed channel");
        assert_eq!(format!("{full:?} {closed:?}"), "Full(..) Closed(..)");
        assert!(full.is_full() && !full.is_closed() && closed.is_closed() && !closed.is_full());
        assert_eq!(full.into_inner().0 + closed.into_inner().0, 5);

        let timeout = SendTimeoutError::Timeout(Opaque(4));
        let closed = SendTimeoutError::Closed(Opaque(5));
        assert_eq!(timeout.to_string(), "timed out sending on a channel");
        assert_eq!(closed.to_string(), "sending on a closed channel");
        assert_eq!(format!("{timeout:?} {closed:?}"), "Timeout(..) Closed(..)");
        assert_eq!(timeout.into_inner().0 + closed.into_inner().0, 9);

        assert_eq!(
            RecvError.to_string(),
            "receiving on a closed and empty channel"
        );
        assert_eq!(format!("{RecvError:?}"), "RecvError");
        assert_eq!(
            TryRecvError::Empty.to_string(),
            "receiving on an empty channel"
        );
        assert_eq!(
            TryRecvError::Closed.to_string(),
            "receiving on a closed and empty channel"
        );
        assert_eq!(format!("{:?}", TryRecvError::Empty), "Empty");
        assert_eq!(
            RecvTimeoutError::Timeout.to_string(),
            "timed out receiving on a channel"
        );
        assert_eq!(
            RecvTimeoutError::Closed.to_string(),
            "receiving on a closed and empty channel"
        );
        assert_eq!(format!("{:?}", RecvTimeoutError::Timeout), "Timeout");

        // All are std errors, usable with `?` into Box<dyn Error + Send + Sync>.
        fn boxed<E: std::error::Error + Send + Sync + 'static>(
            e: E,
        ) -> Box<dyn std::error::Error + Send + Sync> {
            Box::new(e)
        }
        let all = [
            boxed(SendError(Opaque(0))),
            boxed(TrySendError::Full(Opaque(0))),
            boxed(SendTimeoutError::Timeout(Opaque(0))),
            boxed(RecvError),
            boxed(TryRecvError::Closed),
            boxed(RecvTimeoutError::Timeout),
        ];
        assert!(all
            .iter()
            .all(|e| e.source().is_none() && !e.to_string().is_empty()));
        fn question_mark() -> Result<(), Box<dyn std::error::Error>> {
            let (tx, rx) = goro::chan::<u8>(0);
            drop(rx);
            tx.send(1)?;
            Ok(())
        }
        assert_eq!(
            question_mark().unwrap_err().to_string(),
            "sending on a closed channel"
        );

        // Conversions and equality.
        assert_eq!(TrySendError::from(SendError(7)), TrySendError::Closed(7));
        assert_eq!(TryRecvError::from(RecvError), TryRecvError::Closed);
        assert_eq!(RecvTimeoutError::from(RecvError), RecvTimeoutError::Closed);
        assert_ne!(TrySendError::Full(1), TrySendError::Closed(1));
        let copy = SendTimeoutError::Timeout(3);
        assert_eq!(copy, copy.clone());
    });
}

/// A goroutine polling with `try_recv` + `yield_now` on one P must not
/// starve a goroutine that a plain OS thread's `send` woke (such wake-ups
/// go to the global run queue, which the scheduler must look at now and
/// then, Go's every-61st-schedule check). Bounded: fails after 5 s.
#[test]
fn yield_loop_does_not_starve_a_goroutine_woken_by_a_plain_thread() {
    watchdog(
        "yield_loop_does_not_starve_a_goroutine_woken_by_a_plain_thread",
        || {
            let thread = runtime(1).run(|| {
                let (wake_tx, wake_rx) = goro::chan::<()>(0);
                let (done_tx, done_rx) = goro::chan::<()>(1);
                go_parked("woken-by-thread", "chan receive", move || {
                    wake_rx.recv().unwrap();
                    let _ = done_tx.send(());
                });
                // No timer is pending; the plain thread's send readies the
                // goroutine from outside the runtime.
                let thread = std::thread::spawn(move || wake_tx.send(()).unwrap());
                let start = Instant::now();
                let mut polls = 0u64;
                loop {
                    match done_rx.try_recv() {
                        Ok(()) => break,
                        Err(TryRecvError::Empty) => goro::yield_now(),
                        Err(TryRecvError::Closed) => panic!("closed"),
                    }
                    polls += 1;
                    assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "procs(1): after {polls} polls with yield_now over 5 s, the goroutine woken \
                     by a plain thread's send has still not run"
                );
                }
                thread
            });
            thread.join().unwrap();
        },
    );
}

/// Sends racing a close lose nothing: every send that returned `Ok` is
/// received, every value that came back as an error was not, and nothing
/// arrives twice — on buffered channels, whose lock-free sends must land
/// before receivers can see "closed and empty". Senders are goroutines and
/// a plain thread; the close comes at a random moment.
#[test]
fn sends_racing_close_lose_nothing() {
    seeded("sends_racing_close_lose_nothing", |seed| {
        on_one_and_two_procs(move |procs| {
            let mut rng = Rng::new(seed ^ procs as u64);
            for round in 0..200u64 {
                let cap = [1, 2, 4, 64][rng.below(4) as usize];
                let (tx, rx) = goro::chan::<u64>(cap);
                let sent = Arc::new(AtomicU64::new(0));
                let mut senders = Vec::new();
                for s in 0..3u64 {
                    let (tx, sent) = (tx.clone(), sent.clone());
                    let mut rng = Rng::new(rng.next_u64());
                    senders.push(goro::go(move || {
                        for i in 0..200 {
                            yield_times(rng.below(2));
                            let v = (s << 32) | i;
                            match if rng.one_in(3) {
                                tx.try_send(v).map_err(|_| ())
                            } else {
                                tx.send(v).map_err(|_| ())
                            } {
                                Ok(()) => {
                                    sent.fetch_add(v + 1, SeqCst);
                                }
                                Err(()) if tx.is_closed() => break,
                                Err(()) => {}
                            }
                        }
                    }));
                }
                let thread = {
                    let (tx, sent) = (tx.clone(), sent.clone());
                    std::thread::spawn(move || {
                        for i in 0..200u64 {
                            let v = (9 << 32) | i;
                            match tx.send(v) {
                                Ok(()) => {
                                    sent.fetch_add(v + 1, SeqCst);
                                }
                                Err(_) => break,
                            }
                        }
                    })
                };
                let closer = {
                    let tx = tx.clone();
                    let wait = rng.below(300);
                    goro::go(move || {
                        yield_times(wait);
                        tx.close();
                    })
                };
                drop(tx);
                let mut received = 0u64;
                let mut seen = HashSet::new();
                for v in &rx {
                    assert!(seen.insert(v), "round {round}: {v:#x} arrived twice");
                    received += v + 1;
                }
                closer.join().unwrap();
                for s in senders {
                    s.join().unwrap();
                }
                thread.join().unwrap();
                assert_eq!(
                    received,
                    sent.load(SeqCst),
                    "procs({procs}) round {round} cap {cap}: values sent before the close went missing"
                );
            }
        });
    });
}
