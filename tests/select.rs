//! `select!` and the dynamic `Select`: ready cases, `default`, `after`,
//! nil (`None`) cases, fairness (checked against a binomial bound), exactly
//! one completion per select under races, send and receive cases together,
//! one channel in several cases, closed channels, and the nil-channel
//! fan-in idiom — on one and on two Ps, with randomised interleavings from
//! a printed seed.

mod common;

use common::{
    assert_took, everywhere, go_parked, on_one_and_two_procs, runtime, seeded, spin_for, watchdog,
    yield_times, Rng, SLACK,
};
use goro::chan::{RecvError, SendError, SendTimeoutError, TrySendError};
use goro::{Receiver, Select, Selected, Sender};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Asserts that `counts` (how often each of k equally likely cases was
/// chosen) is uniform: each count is within 6 standard deviations of
/// n/k under Binomial(n, 1/k) — a false alarm has probability ~1e-9 per
/// case, while a bias of a few percent over 10,000 selects fails.
fn assert_uniform(what: &str, counts: &[u64]) {
    let n: u64 = counts.iter().sum();
    let p = 1.0 / counts.len() as f64;
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    for (i, &c) in counts.iter().enumerate() {
        assert!(
            (c as f64 - mean).abs() <= 6.0 * sd,
            "{what}: case {i} chosen {c} times of {n}; expected {mean} ± {:.0} (6σ); all counts {counts:?}",
            6.0 * sd
        );
    }
}

fn closed_receiver<T>() -> Receiver<T> {
    let (tx, rx) = goro::chan(0);
    drop(tx);
    rx
}

/// A ready case is taken (only that one), with its value; recv and send
/// cases alike; a parked partner on an unbuffered channel makes its case
/// ready; `default` and `after` never win over a ready case.
#[test]
fn picks_the_ready_case() {
    seeded("picks_the_ready_case", |seed| {
        on_one_and_two_procs(move |_| {
            let mut rng = Rng::new(seed);
            let (ta, ra) = goro::chan::<u64>(1);
            let (tb, rb) = goro::chan::<u64>(1);
            let (tc, rc) = goro::chan::<u64>(1);
            for round in 0..300 {
                let which = rng.below(3);
                [&ta, &tb, &tc][which as usize].send(round).unwrap();
                let got = match rng.below(3) {
                    0 => goro::select! {
                        recv(ra) -> v => (0, v),
                        recv(rb) -> v => (1, v),
                        recv(rc) -> v => (2, v),
                    },
                    1 => goro::select! {
                        recv(ra) -> v => (0, v),
                        recv(rb) -> v => (1, v),
                        recv(rc) -> v => (2, v),
                        default => panic!("default with a ready case"),
                    },
                    _ => goro::select! {
                        recv(ra) -> v => (0, v),
                        recv(rb) -> v => (1, v),
                        recv(rc) -> v => (2, v),
                        after(Duration::ZERO) => panic!("timeout with a ready case"),
                    },
                };
                assert_eq!(got, (which, Ok(round)));
            }
            // A send case with room is ready; recv cases on empty channels are not.
            let sent = goro::select! {
                recv(ra) -> _ => panic!("empty channel fired"),
                send(tb, 5) -> r => { r.unwrap(); "sent" },
                default => "default",
            };
            assert_eq!(sent, "sent");
            assert_eq!(rb.try_recv(), Ok(5));
            // Unbuffered: a parked sender / receiver makes the case ready.
            let (tx, rx) = goro::chan::<u64>(0);
            let tx2 = tx.clone();
            let h = go_parked("parked-sender", "chan send", move || tx2.send(11));
            let v = goro::select! {
                recv(rx) -> v => v,
                default => panic!("a parked sender is not ready"),
            };
            assert_eq!(v, Ok(11));
            h.join().unwrap().unwrap();
            let rx2 = rx.clone();
            let h = go_parked("parked-receiver", "chan receive", move || rx2.recv());
            goro::select! {
                send(tx, 12) -> r => r.unwrap(),
                default => panic!("a parked receiver is not ready"),
            }
            assert_eq!(h.join().unwrap(), Ok(12));
        });
    });
}

/// `default` runs when nothing is ready, without waiting; the value of a
/// send case that did not fire is dropped, not sent.
#[test]
fn default_when_nothing_is_ready() {
    watchdog("default_when_nothing_is_ready", || {
        everywhere(|_| {
            let (_ta, ra) = goro::chan::<u64>(0);
            let (_tb, rb) = goro::chan::<u64>(3);
            let (tc, rc) = goro::chan::<Arc<()>>(1);
            let token = Arc::new(());
            tc.send(token.clone()).unwrap();
            let t = Instant::now();
            for _ in 0..1_000 {
                let d = goro::select! {
                    recv(ra) -> _ => false,
                    recv(rb) -> _ => false,
                    send(tc, token.clone()) -> _ => false,
                    default => true,
                };
                assert!(d);
            }
            assert!(t.elapsed() < SLACK, "default waited");
            assert_eq!(Arc::strong_count(&token), 2, "unsent values leaked");
            drop(rc.try_recv().unwrap());
            assert_eq!(Arc::strong_count(&token), 1);
            // A block body and an expression body, trailing comma or not.
            let x = goro::select! { recv(ra) -> _ => 1, default => { 2 } };
            let y = goro::select! { recv(ra) -> _ => { 1 } default => 3 };
            assert_eq!((x, y), (2, 3));
        });
    });
}

/// `after(d)` fires after at least `d` and within the slack when nothing
/// becomes ready; a case that becomes ready first wins without waiting for
/// it; `after(0)` with nothing ready times out at once. In goroutines and on
/// a plain thread.
#[test]
fn after_fires_within_slack() {
    watchdog("after_fires_within_slack", || {
        everywhere(|ctx| {
            let ms = Duration::from_millis;
            let (tx, rx) = goro::chan::<u64>(0);
            let (full_tx, _full_rx) = goro::chan::<u64>(1);
            full_tx.send(0).unwrap();
            for d in [ms(1), ms(20), ms(50)] {
                let t = Instant::now();
                let r = goro::select! {
                    recv(rx) -> _ => "recv",
                    send(full_tx, 1) -> _ => "send",
                    after(d) => "after",
                };
                assert_eq!(r, "after");
                assert_took(&format!("{ctx}: select after({d:?})"), t.elapsed(), d);
            }
            let t = Instant::now();
            let r = goro::select! { recv(rx) -> _ => "recv", after(Duration::ZERO) => "after" };
            assert_eq!(r, "after");
            assert!(t.elapsed() < SLACK);
            // A value arriving at 10 ms beats a 10 s timeout.
            let sender = std::thread::spawn(move || {
                std::thread::sleep(ms(10));
                tx.send(3)
            });
            let t = Instant::now();
            let r = goro::select! { recv(rx) -> v => v, after(Duration::from_secs(10)) => panic!("timeout") };
            assert_eq!(r, Ok(3));
            assert!(t.elapsed() < ms(10) + SLACK, "{ctx}: late wake-up");
            sender.join().unwrap().unwrap();
        });
    });
}

/// `None` cases (Go's nil channels) never fire: not with `after`, not with
/// `default`, not when every case is `None`, not as send cases, and not
/// when the other cases are ready; an `Option<Receiver>` works as well as
/// an `Option<&Receiver>`.
#[test]
fn nil_cases_never_fire() {
    watchdog("nil_cases_never_fire", || {
        everywhere(|ctx| {
            let none_rx: Option<&Receiver<u64>> = None;
            let none_tx: Option<&Sender<u64>> = None;
            let owned_none: Option<Receiver<u64>> = None;
            // All channel cases nil, with `after`: the timeout.
            let t = Instant::now();
            let r = goro::select! {
                recv(none_rx) -> _ => "recv",
                send(none_tx, 1) -> _ => "send",
                recv(owned_none) -> _ => "owned",
                after(Duration::from_millis(20)) => "after",
            };
            assert_eq!(r, "after");
            assert_took(
                &format!("{ctx}: all-nil select with after"),
                t.elapsed(),
                Duration::from_millis(20),
            );
            // All nil, with `default`: the default, at once.
            for _ in 0..100 {
                let r = goro::select! {
                    recv(none_rx) -> _ => "recv",
                    send(none_tx, 1) -> _ => "send",
                    default => "default",
                };
                assert_eq!(r, "default");
            }
            // A nil case next to ready ones (a closed channel is always
            // ready) never fires.
            let closed = closed_receiver::<u64>();
            let (tx, rx) = goro::chan::<u64>(1000);
            for _ in 0..2_000 {
                tx.try_send(1).ok();
                let r = goro::select! {
                    recv(none_rx) -> _ => "nil",
                    recv(Some(&closed)) -> v => { assert_eq!(v, Err(RecvError)); "closed" },
                    recv(rx) -> v => { assert_eq!(v, Ok(1)); "value" },
                    send(none_tx, 2) -> _ => "nil send",
                    recv(owned_none) -> _ => "owned nil",
                };
                assert!(r == "closed" || r == "value", "{ctx}: nil case {r} fired");
            }
            // Some(..) is a live case; its receiver's value arrives.
            while rx.try_recv().is_ok() {}
            let some_rx: Option<Receiver<u64>> = Some(rx);
            tx.send(9).unwrap();
            let r = goro::select! { recv(some_rx) -> v => v, recv(none_rx) -> _ => panic!("nil") };
            assert_eq!(r, Ok(9));
            // Dynamic Select: None cases too.
            let mut sel = Select::<u64>::new();
            sel.recv(none_rx);
            sel.send(none_tx, 3);
            sel.timeout(Duration::from_millis(10));
            assert_eq!(sel.select(), Selected::Timeout);
            let mut sel = Select::<u64>::new();
            sel.recv(none_rx);
            sel.default_case();
            assert_eq!(sel.select(), Selected::Default);
        });
    });
}

/// A select whose only case is nil and that has neither `after` nor
/// `default` blocks forever (Go's `select {}` on nil channels): it is still
/// parked after a while.
#[test]
fn all_nil_select_without_timeout_blocks() {
    watchdog("all_nil_select_without_timeout_blocks", || {
        let h = go_parked("forever", "select", || {
            let none: Option<&Receiver<u8>> = None;
            goro::select! { recv(none) -> _ => {} }
        });
        std::thread::sleep(Duration::from_millis(30));
        assert!(!h.is_finished(), "a select on nil channels returned");
        // Detached: it stays parked, as a Go goroutine in `select {}` would.
    });
}

/// Among ready cases each is equally likely (Go's random poll order):
/// always-ready closed channels, buffered channels with values, send cases
/// with room, a mix of send and receive, and the dynamic `Select` — over
/// 10,000 selects each, checked against a binomial bound (for two cases
/// that is 47%–53%, inside the 45%–55% one might eyeball).
#[test]
fn fairness_among_ready_cases() {
    watchdog("fairness_among_ready_cases", || {
        on_one_and_two_procs(move |procs| {
            const N: u64 = 10_000;
            let (c0, c1, c2, c3) = (
                closed_receiver::<u8>(),
                closed_receiver::<u8>(),
                closed_receiver::<u8>(),
                closed_receiver::<u8>(),
            );
            let mut two = [0u64; 2];
            for _ in 0..N {
                let i = goro::select! { recv(c0) -> _ => 0, recv(c1) -> _ => 1 };
                two[i] += 1;
            }
            assert_uniform(&format!("procs({procs}) two closed"), &two);
            let share = two[0] as f64 / N as f64;
            assert!((0.45..=0.55).contains(&share), "share {share}");

            let mut four = [0u64; 4];
            for _ in 0..N {
                let i = goro::select! {
                    recv(c0) -> _ => 0,
                    recv(c1) -> _ => 1,
                    recv(c2) -> _ => 2,
                    recv(c3) -> _ => 3,
                };
                four[i] += 1;
            }
            assert_uniform(&format!("procs({procs}) four closed"), &four);

            // Buffered channels kept non-empty.
            let (ta, ra) = goro::chan::<u64>(4);
            let (tb, rb) = goro::chan::<u64>(4);
            ta.send(0).unwrap();
            tb.send(0).unwrap();
            let mut buffered = [0u64; 2];
            for _ in 0..N {
                let i = goro::select! { recv(ra) -> _ => 0, recv(rb) -> _ => 1 };
                buffered[i] += 1;
                [&ta, &tb][i].send(0).unwrap();
            }
            assert_uniform(&format!("procs({procs}) buffered"), &buffered);

            // Send cases with room, and a send next to a receive.
            let (sa, sa_rx) = goro::chan::<u64>(2);
            let (sb, sb_rx) = goro::chan::<u64>(2);
            let mut sends = [0u64; 2];
            let mut mixed = [0u64; 2];
            for _ in 0..N {
                let i = goro::select! { send(sa, 1) -> _ => 0, send(sb, 1) -> _ => 1 };
                sends[i] += 1;
                [&sa_rx, &sb_rx][i].recv().unwrap();
                let j = goro::select! { send(sa, 1) -> _ => 0, recv(c0) -> _ => 1 };
                mixed[j] += 1;
                if j == 0 {
                    sa_rx.recv().unwrap();
                }
            }
            assert_uniform(&format!("procs({procs}) send cases"), &sends);
            assert_uniform(&format!("procs({procs}) send + recv"), &mixed);

            // The dynamic Select.
            let rxs = [&c0, &c1, &c2, &c3];
            let mut dynamic = [0u64; 4];
            for _ in 0..N {
                let mut sel = Select::new();
                for rx in rxs {
                    sel.recv(rx);
                }
                match sel.select() {
                    Selected::Recv { index, msg } => {
                        assert_eq!(msg, Err(RecvError));
                        dynamic[index] += 1;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_uniform(&format!("procs({procs}) dynamic"), &dynamic);
        });
    });
}

/// A receiving select over 2–4 channels (with `None` for the unused
/// slots), with short random `after` timeouts, races several senders using
/// `send_timeout`, `try_send` and `send` with short random delays: every
/// value whose send reported `Ok` is received exactly once, and no other.
#[test]
fn receiving_select_races_senders_without_loss_or_duplicates() {
    seeded(
        "receiving_select_races_senders_without_loss_or_duplicates",
        |seed| {
            on_one_and_two_procs(move |procs| {
                let mut rng = Rng::new(seed ^ procs as u64);
                for iteration in 0..200u64 {
                    let k = 2 + rng.below(3) as usize;
                    let mut txs = Vec::new();
                    let mut rxs: [Option<Receiver<u64>>; 4] = [None, None, None, None];
                    for slot in rxs.iter_mut().take(k) {
                        let (tx, rx) = goro::chan::<u64>(rng.below(3) as usize);
                        txs.push(tx);
                        *slot = Some(rx);
                    }
                    let txs = Arc::new(txs);
                    const SENDERS: u64 = 3;
                    const PER: u64 = 300;
                    let senders: Vec<_> = (0..SENDERS)
                        .map(|s| {
                            let txs = txs.clone();
                            let mut rng = Rng::new(rng.next_u64());
                            goro::go(move || {
                                let mut ok = Vec::new();
                                for i in 0..PER {
                                    let v = s * PER + i;
                                    let tx = &txs[rng.below(txs.len() as u64) as usize];
                                    yield_times(rng.below(2));
                                    let sent = match rng.below(3) {
                                        0 => tx
                                            .send_timeout(v, Duration::from_micros(rng.below(50)))
                                            .is_ok(),
                                        1 => tx.try_send(v).is_ok(),
                                        _ => tx.send(v).is_ok(),
                                    };
                                    if sent {
                                        ok.push(v);
                                    }
                                }
                                ok
                            })
                        })
                        .collect();
                    let closer = {
                        let txs = txs.clone();
                        goro::go(move || {
                            let sent: Vec<Vec<u64>> =
                                senders.into_iter().map(|h| h.join().unwrap()).collect();
                            for tx in txs.iter() {
                                assert!(tx.close());
                            }
                            sent
                        })
                    };
                    drop(txs);
                    let mut got = Vec::new();
                    while rxs.iter().any(Option::is_some) {
                        if rng.one_in(8) {
                            spin_for(Duration::from_micros(rng.below(20)));
                        }
                        let timeout = Duration::from_micros(rng.below(60));
                        let (slot, msg) = goro::select! {
                            recv(rxs[0]) -> m => (0, m),
                            recv(rxs[1]) -> m => (1, m),
                            recv(rxs[2]) -> m => (2, m),
                            recv(rxs[3]) -> m => (3, m),
                            after(timeout) => continue,
                        };
                        match msg {
                            Ok(v) => got.push(v),
                            Err(RecvError) => rxs[slot] = None,
                        }
                    }
                    let mut sent: Vec<u64> = closer.join().unwrap().concat();
                    sent.sort_unstable();
                    got.sort_unstable();
                    assert_eq!(
                        got, sent,
                        "procs({procs}) iteration {iteration} (k = {k}): received ≠ sent-Ok"
                    );
                }
            });
        },
    );
}

/// A sending select offers the same value on 2–4 channels (one per case),
/// with a short random `after`, while receivers race with `recv_timeout`:
/// a value the select reported as sent is received exactly once; a value
/// whose select timed out is never received.
#[test]
fn sending_select_delivers_each_value_at_most_once() {
    seeded("sending_select_delivers_each_value_at_most_once", |seed| {
        on_one_and_two_procs(move |procs| {
            let mut rng = Rng::new(seed ^ procs as u64);
            for iteration in 0..150u64 {
                let k = 2 + rng.below(3) as usize;
                let mut txs: [Option<Sender<u64>>; 4] = [None, None, None, None];
                let mut rxs = Vec::new();
                for slot in txs.iter_mut().take(k) {
                    let (tx, rx) = goro::chan::<u64>(rng.below(2) as usize);
                    *slot = Some(tx);
                    rxs.push(rx);
                }
                let receivers: Vec<_> = (0..3)
                    .map(|_| {
                        let rxs = rxs.clone();
                        let mut rng = Rng::new(rng.next_u64());
                        goro::go(move || {
                            let mut got = Vec::new();
                            let mut open = rxs.len();
                            let mut closed = vec![false; rxs.len()];
                            while open > 0 {
                                let i = rng.below(rxs.len() as u64) as usize;
                                if closed[i] {
                                    continue;
                                }
                                yield_times(rng.below(2));
                                match rxs[i].recv_timeout(Duration::from_micros(rng.below(50))) {
                                    Ok(v) => got.push(v),
                                    Err(goro::chan::RecvTimeoutError::Timeout) => {}
                                    Err(goro::chan::RecvTimeoutError::Closed) => {
                                        closed[i] = true;
                                        open -= 1;
                                    }
                                }
                            }
                            got
                        })
                    })
                    .collect();
                drop(rxs);
                let mut offered_ok = Vec::new();
                for v in 0..600u64 {
                    if rng.one_in(8) {
                        spin_for(Duration::from_micros(rng.below(20)));
                    }
                    let timeout = Duration::from_micros(rng.below(60));
                    let sent = goro::select! {
                        send(txs[0], v) -> r => r.is_ok(),
                        send(txs[1], v) -> r => r.is_ok(),
                        send(txs[2], v) -> r => r.is_ok(),
                        send(txs[3], v) -> r => r.is_ok(),
                        after(timeout) => false,
                    };
                    if sent {
                        offered_ok.push(v);
                    }
                }
                drop(txs);
                let mut got: Vec<u64> = receivers
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect();
                got.sort_unstable();
                assert_eq!(
                    got, offered_ok,
                    "procs({procs}) iteration {iteration} (k = {k}): received ≠ selected sends"
                );
            }
        });
    });
}

/// A select with a send case and a receive case follows a partner that
/// randomly either receives or sends: exactly the case matching the
/// partner's operation fires each time, and both see the same sequence.
#[test]
fn send_and_recv_cases_in_one_select() {
    seeded("send_and_recv_cases_in_one_select", |seed| {
        for procs in [1, 2] {
            for cap in [0, 1] {
                runtime(procs).run(move || {
                    const N: u64 = 3_000;
                    let (out_tx, out_rx) = goro::chan::<u64>(cap);
                    let (in_tx, in_rx) = goro::chan::<u64>(cap);
                    // The partner signals the end by dropping `done_tx`, and
                    // keeps its channel ends alive until joined.
                    let (done_tx, done_rx) = goro::chan::<()>(0);
                    let partner = goro::go(move || {
                        let mut rng = Rng::new(seed ^ cap as u64);
                        let mut log = Vec::new();
                        for i in 0..N {
                            yield_times(rng.below(3));
                            if rng.one_in(2) {
                                log.push(('r', out_rx.recv().unwrap()));
                            } else {
                                in_tx.send(i).unwrap();
                                log.push(('s', i));
                            }
                        }
                        drop(done_tx);
                        (log, out_rx, in_tx)
                    });
                    let mut next_out = 1_000_000;
                    let mut log = Vec::new();
                    let mut rng = Rng::new(!seed);
                    loop {
                        yield_times(rng.below(3));
                        let v = next_out;
                        let done = goro::select! {
                            send(out_tx, v) -> r => { r.unwrap(); next_out += 1; ('r', v) },
                            recv(in_rx) -> m => ('s', m.unwrap()),
                            recv(done_rx) -> _ => break,
                        };
                        log.push(done);
                    }
                    // Buffered: a value the partner sent may still wait.
                    log.extend(in_rx.try_iter().map(|v| ('s', v)));
                    let (partner_log, _out_rx, _in_tx) = partner.join().unwrap();
                    if cap == 0 {
                        // Unbuffered: each select matched the partner's op.
                        assert_eq!(log, partner_log, "procs({procs})");
                    } else {
                        // Buffered, the select may run ahead by one send:
                        // compare the values that went each way.
                        let pick = |l: &[(char, u64)], k: char| -> Vec<u64> {
                            l.iter().filter(|e| e.0 == k).map(|e| e.1).collect()
                        };
                        let mine_r = pick(&log, 'r');
                        let theirs_r = pick(&partner_log, 'r');
                        assert!(
                            mine_r.starts_with(&theirs_r) && mine_r.len() <= theirs_r.len() + 1
                        );
                        assert_eq!(pick(&log, 's'), pick(&partner_log, 's'));
                    }
                });
            }
        }
    });
}

/// One channel in two cases: two receive cases on it share the values
/// fairly; a send and a receive case on one unbuffered channel never match
/// each other (the select times out alone) but each matches a partner; on
/// a one-slot channel the send case fires when empty, the receive case when
/// full.
#[test]
fn same_channel_in_two_cases() {
    watchdog("same_channel_in_two_cases", || {
        on_one_and_two_procs(move |procs| {
            let closed = closed_receiver::<u8>();
            let mut counts = [0u64; 2];
            for _ in 0..10_000 {
                let i = goro::select! { recv(closed) -> _ => 0, recv(closed) -> _ => 1 };
                counts[i] += 1;
            }
            assert_uniform(&format!("procs({procs}) one channel, two cases"), &counts);

            let (tx, rx) = goro::chan::<u64>(0);
            let t = Instant::now();
            let r = goro::select! {
                send(tx, 1) -> _ => "send",
                recv(rx) -> _ => "recv",
                after(Duration::from_millis(20)) => "after",
            };
            assert_eq!(r, "after", "a select rendezvoused with itself");
            assert_took("self-select", t.elapsed(), Duration::from_millis(20));
            // A partner that receives matches the send case, one that
            // sends matches the receive case.
            for round in 0..200u64 {
                let partner_sends = round.is_multiple_of(2);
                let (ptx, prx) = (tx.clone(), rx.clone());
                let partner = goro::go(move || {
                    if partner_sends {
                        ptx.send(round).unwrap();
                        None
                    } else {
                        Some(prx.recv().unwrap())
                    }
                });
                let r = goro::select! {
                    send(tx, 7_000 + round) -> r => { r.unwrap(); None },
                    recv(rx) -> m => Some(m.unwrap()),
                };
                let p = partner.join().unwrap();
                if partner_sends {
                    assert_eq!((r, p), (Some(round), None));
                } else {
                    assert_eq!((r, p), (None, Some(7_000 + round)));
                }
            }

            let (tx, rx) = goro::chan::<u64>(1);
            for round in 0..100 {
                let r = goro::select! {
                    send(tx, round) -> r => { r.unwrap(); "send" },
                    recv(rx) -> _ => "recv",
                };
                assert_eq!(
                    r,
                    if round.is_multiple_of(2) {
                        "send"
                    } else {
                        "recv"
                    }
                );
            }
        });
    });
}

/// Closed channels: a receive case yields `Err(RecvError)` (after the
/// buffered values), a send case `Err(SendError(v))` with the value back;
/// closing wakes a parked select with the same results.
#[test]
fn closed_channels_in_select() {
    watchdog("closed_channels_in_select", || {
        on_one_and_two_procs(move |_| {
            let (tx, rx) = goro::chan::<String>(2);
            tx.send("a".into()).unwrap();
            tx.send("b".into()).unwrap();
            tx.close();
            let mut seen = Vec::new();
            for _ in 0..4 {
                let (_idle_tx, idle) = goro::chan::<String>(0);
                goro::select! {
                    recv(rx) -> m => seen.push(m),
                    recv(idle) -> _ => panic!("idle channel fired"),
                }
            }
            assert_eq!(
                seen,
                [
                    Ok("a".to_string()),
                    Ok("b".to_string()),
                    Err(RecvError),
                    Err(RecvError)
                ]
            );
            let r = goro::select! {
                send(tx, "back".to_string()) -> r => r,
                after(Duration::from_secs(10)) => panic!("timeout"),
            };
            assert_eq!(r, Err(SendError("back".to_string())));

            // Closing wakes parked selects.
            let (tx, rx) = goro::chan::<u64>(0);
            let (full_tx, full_rx) = goro::chan::<u64>(1);
            full_tx.send(0).unwrap();
            let (rx2, ftx2) = (rx.clone(), full_tx.clone());
            let receiver = go_parked("select-recv-close", "select", move || {
                let (_t, never) = goro::chan::<u64>(0);
                goro::select! { recv(never) -> _ => panic!("never"), recv(rx2) -> m => m }
            });
            let sender = go_parked("select-send-close", "select", move || {
                let _keep_open = full_rx;
                let (_t, never) = goro::chan::<u64>(0);
                goro::select! { recv(never) -> _ => panic!("never"), send(ftx2, 5) -> r => r }
            });
            tx.close();
            full_tx.close();
            assert_eq!(receiver.join().unwrap(), Err(RecvError));
            assert_eq!(sender.join().unwrap(), Err(SendError(5)));
        });
    });
}

/// The dynamic `Select` over 100 channels: a sender sends on a random one,
/// the select reports that index and value; send cases, `timeout` within
/// slack, `default_case`, closed channels, and an empty select.
#[test]
fn dynamic_select_over_a_hundred_channels() {
    seeded("dynamic_select_over_a_hundred_channels", |seed| {
        on_one_and_two_procs(move |_| {
            const CHANS: usize = 100;
            const ROUNDS: u64 = 2_000;
            let (txs, rxs): (Vec<Sender<u64>>, Vec<Receiver<u64>>) =
                (0..CHANS).map(|i| goro::chan::<u64>(i % 3)).unzip();
            let sender = goro::go(move || {
                let mut rng = Rng::new(seed);
                for r in 0..ROUNDS {
                    let i = rng.below(CHANS as u64);
                    yield_times(rng.below(2));
                    txs[i as usize].send(r * 1_000 + i).unwrap();
                }
                // Handed back, so the channels stay open (not ready
                // with Err) until every value has been received.
                txs
            });
            let mut by_channel = HashMap::new();
            let mut rounds = Vec::new();
            for _ in 0..ROUNDS {
                let mut sel = Select::new();
                for rx in &rxs {
                    sel.recv(rx);
                }
                match sel.select() {
                    Selected::Recv { index, msg: Ok(v) } => {
                        assert_eq!(v % 1_000, index as u64, "value from the wrong case");
                        rounds.push(v / 1_000);
                        *by_channel.entry(index).or_insert(0) += 1;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            drop(sender.join().unwrap());
            rounds.sort_unstable();
            assert_eq!(
                rounds,
                (0..ROUNDS).collect::<Vec<_>>(),
                "lost or duplicated"
            );
            assert!(
                by_channel.len() > 50,
                "the sender's random channels were not all seen"
            );
            // Every sender is gone now: all closed.
            let mut sel = Select::new();
            let idx: Vec<usize> = rxs.iter().map(|rx| sel.recv(rx)).collect();
            assert_eq!(
                idx,
                (0..CHANS).collect::<Vec<_>>(),
                "recv returns the case index"
            );
            assert!(matches!(
                sel.select(),
                Selected::Recv {
                    msg: Err(RecvError),
                    ..
                }
            ));

            // Timeout and default.
            let (txs, rxs): (Vec<Sender<u64>>, Vec<Receiver<u64>>) =
                (0..CHANS).map(|_| goro::chan::<u64>(0)).unzip();
            let mut sel = Select::new();
            for rx in &rxs {
                sel.recv(rx);
            }
            sel.timeout(Duration::from_millis(20));
            let t = Instant::now();
            assert_eq!(sel.select(), Selected::Timeout);
            assert_took(
                "dynamic select timeout",
                t.elapsed(),
                Duration::from_millis(20),
            );
            let mut sel = Select::new();
            for rx in &rxs {
                sel.recv(rx);
            }
            sel.default_case();
            assert_eq!(sel.select(), Selected::Default);

            // Send cases: a receiver parked on channel 37 takes the value
            // offered to it, and only that one.
            let rx37 = rxs[37].clone();
            let h = go_parked("dyn-receiver", "chan receive", move || rx37.recv());
            let mut sel = Select::new();
            for (i, tx) in txs.iter().enumerate() {
                assert_eq!(sel.send(tx, 10_000 + i as u64), i);
            }
            sel.timeout(Duration::from_secs(10));
            assert_eq!(
                sel.select(),
                Selected::Send {
                    index: 37,
                    result: Ok(())
                }
            );
            assert_eq!(h.join().unwrap(), Ok(10_037));
            // A send case on a closed channel gives the value back.
            txs[5].close();
            let mut sel = Select::default();
            sel.send(&txs[5], 55);
            sel.recv(&rxs[6]);
            assert_eq!(
                sel.select(),
                Selected::Send {
                    index: 0,
                    result: Err(SendError(55))
                }
            );
            // No cases at all.
            let mut sel = Select::<u64>::new();
            sel.timeout(Duration::from_millis(5));
            let t = Instant::now();
            assert_eq!(sel.select(), Selected::Timeout);
            assert_took(
                "empty select timeout",
                t.elapsed(),
                Duration::from_millis(5),
            );
            let mut sel = Select::<u64>::new();
            sel.default_case();
            assert_eq!(sel.select(), Selected::Default);
        });
    });
}

/// The fan-in idiom: a consumer selects over the producers' channels and
/// sets each to `None` once it is closed, until none is left; the total is
/// exact. With `select!` over `Option<Receiver>`s and with a `Select`
/// rebuilt over the open channels.
#[test]
fn fan_in_with_nil_channels() {
    seeded("fan_in_with_nil_channels", |seed| {
        on_one_and_two_procs(move |procs| {
            const N: u64 = 5_000;
            let producers = |caps: [usize; 4]| -> Vec<Receiver<u64>> {
                caps.iter()
                    .enumerate()
                    .map(|(p, &cap)| {
                        let (tx, rx) = goro::chan::<u64>(cap);
                        let mut rng = Rng::new(seed ^ p as u64);
                        goro::go(move || {
                            for i in 1..=N {
                                yield_times(rng.below(2));
                                tx.send(i * 4 + p as u64).unwrap();
                            }
                        });
                        rx
                    })
                    .collect()
            };
            let want: u64 = (0..4u64)
                .map(|p| (1..=N).map(|i| i * 4 + p).sum::<u64>())
                .sum();

            let mut rxs = producers([0, 0, 1, 8]).into_iter();
            let mut a = rxs.next();
            let mut b = rxs.next();
            let mut c = rxs.next();
            let mut d = rxs.next();
            let (mut total, mut count) = (0u64, 0u64);
            while a.is_some() || b.is_some() || c.is_some() || d.is_some() {
                goro::select! {
                    recv(a) -> m => match m { Ok(v) => { total += v; count += 1 } Err(_) => a = None },
                    recv(b) -> m => match m { Ok(v) => { total += v; count += 1 } Err(_) => b = None },
                    recv(c) -> m => match m { Ok(v) => { total += v; count += 1 } Err(_) => c = None },
                    recv(d) -> m => match m { Ok(v) => { total += v; count += 1 } Err(_) => d = None },
                }
            }
            assert_eq!((count, total), (4 * N, want), "procs({procs}) select!");

            let mut open: Vec<Option<Receiver<u64>>> =
                producers([0, 2, 0, 3]).into_iter().map(Some).collect();
            let (mut total, mut count) = (0u64, 0u64);
            while open.iter().any(Option::is_some) {
                let mut sel = Select::new();
                for rx in &open {
                    sel.recv(rx);
                }
                match sel.select() {
                    Selected::Recv { msg: Ok(v), .. } => {
                        total += v;
                        count += 1;
                    }
                    Selected::Recv {
                        index,
                        msg: Err(RecvError),
                    } => open[index] = None,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!((count, total), (4 * N, want), "procs({procs}) Select");
        });
    });
}

/// `select!` on plain threads, fed by goroutines and by other threads, with
/// a timeout, and a select whose send case is taken by a goroutine.
#[test]
fn select_on_plain_threads() {
    watchdog("select_on_plain_threads", || {
        let (ta, ra) = goro::chan::<u64>(0);
        let (tb, rb) = goro::chan::<u64>(0);
        let producer = goro::go(move || {
            for i in 0..1_000 {
                ta.send(i).unwrap();
            }
        });
        let thread = std::thread::spawn(move || {
            for i in 0..1_000 {
                tb.send(10_000 + i).unwrap();
            }
        });
        let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
        let (mut a, mut b) = (Some(ra), Some(rb));
        while a.is_some() || b.is_some() {
            goro::select! {
                recv(a) -> m => match m { Ok(v) => from_a.push(v), Err(_) => a = None },
                recv(b) -> m => match m { Ok(v) => from_b.push(v), Err(_) => b = None },
                after(Duration::from_secs(20)) => panic!("stuck"),
            }
        }
        producer.join().unwrap();
        thread.join().unwrap();
        assert_eq!(from_a, (0..1_000).collect::<Vec<_>>());
        assert_eq!(from_b, (10_000..11_000).collect::<Vec<_>>());

        let (tx, rx) = goro::chan::<u64>(0);
        let consumer = goro::go(move || rx.iter().sum::<u64>());
        for i in 0..500 {
            let r = goro::select! {
                send(tx, i) -> r => r,
                after(Duration::from_secs(20)) => panic!("stuck"),
            };
            r.unwrap();
        }
        drop(tx);
        assert_eq!(consumer.join().unwrap(), (0..500).sum());

        // A select send case that times out gives nothing away.
        let (tx, rx) = goro::chan::<u64>(0);
        let t = Instant::now();
        let r = goro::select! { send(tx, 1) -> _ => "sent", after(Duration::from_millis(20)) => "after" };
        assert_eq!(r, "after");
        assert_took(
            "thread select send timeout",
            t.elapsed(),
            Duration::from_millis(20),
        );
        assert_eq!(rx.try_recv(), Err(goro::chan::TryRecvError::Empty));
        assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
        assert!(matches!(
            tx.send_timeout(3, Duration::ZERO),
            Err(SendTimeoutError::Timeout(3))
        ));
    });
}

/// A select that finds nothing ready while its feeders are runnable on
/// the same P lets them run before it blocks: they queue their sends and
/// the select takes them without parking. With one P and four producers
/// (the benchmark's fan-in), N values then cost about N parks — the
/// senders' — where parking the select too costs nearly 2N.
#[test]
fn select_lets_its_local_feeders_run_before_parking() {
    const PRODUCERS: u64 = 4;
    const N: u64 = 20_000;
    watchdog("select_lets_its_local_feeders_run_before_parking", || {
        runtime(1).run(|| {
            let before = goro::stats().parks;
            let mut receivers = Vec::new();
            let mut producers = Vec::new();
            for p in 0..PRODUCERS {
                let (tx, rx) = goro::chan::<u64>(0);
                receivers.push(rx);
                producers.push(goro::go(move || {
                    for i in (p..N).step_by(PRODUCERS as usize) {
                        tx.send(i).unwrap();
                    }
                }));
            }
            let [r0, r1, r2, r3] = &receivers[..] else {
                unreachable!()
            };
            let mut sum = 0;
            for _ in 0..N {
                sum += goro::select! {
                    recv(r0) -> v => v.unwrap(),
                    recv(r1) -> v => v.unwrap(),
                    recv(r2) -> v => v.unwrap(),
                    recv(r3) -> v => v.unwrap(),
                };
            }
            for p in producers {
                p.join().unwrap();
            }
            let parks = goro::stats().parks - before;
            assert_eq!(sum, N * (N - 1) / 2);
            assert!(
                parks < N + N / 4,
                "{parks} parks for {N} values: the select parked instead of letting its feeders run"
            );
        })
    });
}
