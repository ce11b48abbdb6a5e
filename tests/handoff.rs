//! Direct hand-offs (`runtime/handoff.rs`): a goroutine that parks
//! switches straight to the goroutine it has just readied. They must happen
//! where they pay (channel ping-pong), and nothing about them may be
//! visible: values, wake-ups from other threads, `lock_os_thread` and exits
//! behave as through the scheduler.

mod common;

use common::{runtime, seeded, watchdog, Rng};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

/// A ping-pong over unbuffered channels is a chain of hand-offs: most of
/// its switches are made by the parking goroutine, not by the M (the rest
/// go through the scheduler for fairness: the global queue's turn, the
/// `runnext` chain limit). On one and on two Ps.
#[test]
fn ping_pong_switches_are_hand_offs() {
    watchdog("ping_pong_switches_are_hand_offs", || {
        for procs in [1, 2] {
            let (switches, handoffs) = runtime(procs).run(|| {
                const ROUNDS: u64 = 20_000;
                let (ping_tx, ping_rx) = goro::chan::<u64>(0);
                let (pong_tx, pong_rx) = goro::chan::<u64>(0);
                let before = goro::stats();
                let ponger = goro::go(move || {
                    for v in ping_rx.iter() {
                        pong_tx.send(v + 1).unwrap();
                    }
                });
                for i in 0..ROUNDS {
                    ping_tx.send(i).unwrap();
                    assert_eq!(pong_rx.recv().unwrap(), i + 1);
                }
                drop(ping_tx);
                ponger.join().unwrap();
                let after = goro::stats();
                (
                    after.context_switches - before.context_switches,
                    after.handoffs - before.handoffs,
                )
            });
            assert!(
                handoffs * 4 >= switches * 3,
                "procs({procs}): {handoffs} hand-offs in {switches} switches"
            );
        }
    });
}

/// With two Ps, a goroutine woken right after it handed off is run by the
/// other P: here the goroutine it handed off to spins until the parker —
/// woken meanwhile by a plain thread — sets a flag. A hand-off leaves the
/// parker switched out like any parked goroutine, free to run anywhere; a
/// parker tied to its successor (run on the parker's stack, say) would
/// never set the flag. The hand-offs are counted, so the test knows it
/// took that path.
#[test]
fn woken_goroutine_runs_while_its_successor_spins() {
    watchdog("woken_goroutine_runs_while_its_successor_spins", || {
        let handoffs = runtime(2).run(|| {
            let before = goro::stats().handoffs;
            for _ in 0..50 {
                let flag = Arc::new(AtomicBool::new(false));
                let (start_tx, start_rx) = goro::chan::<()>(0);
                let (wake_tx, wake_rx) = goro::chan::<()>(0);
                let spinner = {
                    let flag = flag.clone();
                    goro::go(move || {
                        start_rx.recv().unwrap();
                        while !flag.load(SeqCst) {
                            std::hint::spin_loop();
                        }
                    })
                };
                let waker = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_micros(200));
                    wake_tx.send(()).unwrap();
                });
                goro::yield_now(); // let the spinner park in `recv`
                start_tx.send(()).unwrap(); // readies it into our runnext
                wake_rx.recv().unwrap(); // parks: hands off to the spinner
                flag.store(true, SeqCst);
                spinner.join().unwrap();
                waker.join().unwrap();
            }
            goro::stats().handoffs - before
        });
        assert!(handoffs >= 25, "only {handoffs} hand-offs in 50 rounds");
    });
}

/// A goroutine that locks its thread right after a hand-off gets a thread
/// of its own all the same: it stays on it across parks, and its partner
/// never runs there while it is locked (no hand-offs on a locked M).
#[test]
fn handed_off_goroutine_can_lock_its_thread() {
    watchdog("handed_off_goroutine_can_lock_its_thread", || {
        for procs in [1, 2] {
            runtime(procs).run(move || {
                const ROUNDS: u64 = 300;
                let (ping_tx, ping_rx) = goro::chan::<(u64, ThreadId)>(0);
                let (pong_tx, pong_rx) = goro::chan::<u64>(0);
                let locker = goro::go(move || {
                    let mut home = None;
                    for (i, partner_thread) in ping_rx.iter() {
                        let me = std::thread::current().id();
                        if i == 100 {
                            goro::lock_os_thread();
                            home = Some(std::thread::current().id());
                        } else if let Some(home) = home {
                            assert_eq!(me, home, "procs({procs}): locked goroutine moved");
                            assert_ne!(
                                partner_thread, home,
                                "procs({procs}): another goroutine ran on a locked thread"
                            );
                        }
                        if i == 250 {
                            goro::unlock_os_thread();
                            home = None;
                        }
                        pong_tx.send(i).unwrap();
                    }
                });
                for i in 0..ROUNDS {
                    ping_tx.send((i, std::thread::current().id())).unwrap();
                    assert_eq!(pong_rx.recv().unwrap(), i);
                }
                drop(ping_tx);
                locker.join().unwrap();
            });
        }
    });
}

/// Rings of goroutines pass tokens over unbuffered channels (every hop a
/// hand-off) while plain threads wake the same goroutines through a second
/// channel each, at random moments: a goroutine can be woken by another
/// thread while it hands off. Every token hop and every message arrives
/// exactly once, in bounded time. Many seeded rounds, on one and two Ps.
#[test]
fn hand_offs_race_with_wakeups_from_threads() {
    seeded("hand_offs_race_with_wakeups_from_threads", |seed| {
        let mut rng = Rng::new(seed);
        for round in 0..20 {
            let procs = 1 + round % 2;
            let ring = 2 + rng.below(5) as usize;
            let hops = 500 + rng.below(1500);
            let pokes = 200 + rng.below(400);
            let spacing = rng.below(20);
            let thread_seed = rng.next_u64();
            let (hopped, poked) =
                runtime(procs).run(move || run_ring(ring, hops, pokes, spacing, thread_seed));
            assert_eq!(hopped, hops, "ring of {ring}: token hops");
            assert_eq!(
                poked,
                pokes * ring as u64,
                "ring of {ring}: thread messages"
            );
        }
    });
}

/// One round of `hand_offs_race_with_wakeups_from_threads`: returns the
/// token hops made and the thread messages received.
fn run_ring(ring: usize, hops: u64, pokes: u64, spacing: u64, seed: u64) -> (u64, u64) {
    let hopped = Arc::new(AtomicU64::new(0));
    let poked = Arc::new(AtomicU64::new(0));
    let links: Vec<_> = (0..ring).map(|_| goro::chan::<u64>(0)).collect();
    let (first_tx, _) = links[0].clone();
    let mut members = Vec::new();
    let mut poke_txs = Vec::new();
    for i in 0..ring {
        let inbound = links[i].1.clone();
        let outbound = links[(i + 1) % ring].0.clone();
        let (poke_tx, poke_rx) = goro::chan::<u64>(0);
        poke_txs.push(poke_tx);
        let (hopped, poked) = (hopped.clone(), poked.clone());
        members.push(goro::go(move || {
            // The ring ends by closing: the member that receives the last
            // hop drops its sender, and each next one in turn.
            let mut outbound = Some(outbound);
            let mut pokes_left = pokes;
            while outbound.is_some() || pokes_left > 0 {
                let inbound = outbound.is_some().then_some(&inbound);
                let poke = (pokes_left > 0).then_some(&poke_rx);
                goro::select! {
                    recv(inbound) -> t => match (t, &outbound) {
                        (Ok(t), Some(next)) if t < hops => {
                            hopped.fetch_add(1, SeqCst);
                            next.send(t + 1).expect("the next member listens");
                        }
                        _ => outbound = None,
                    },
                    recv(poke) -> v => {
                        v.expect("a poke");
                        poked.fetch_add(1, SeqCst);
                        pokes_left -= 1;
                    },
                }
            }
        }));
    }
    drop(links);
    let poker = std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        for _ in 0..pokes {
            for tx in &poke_txs {
                if spacing > 0 && rng.one_in(4) {
                    std::thread::sleep(Duration::from_micros(rng.below(spacing)));
                }
                tx.send(1).unwrap();
            }
        }
    });
    first_tx.send(0).unwrap();
    drop(first_tx);
    for m in members {
        m.join().unwrap();
    }
    // Only now: joining a thread blocks the M (and, with one P, everyone).
    poker.join().unwrap();
    (hopped.load(SeqCst), poked.load(SeqCst))
}
