//! A channel stress test with a checked total: producers (goroutines and a
//! plain thread) push uniquely numbered values into channels of mixed
//! capacities with every send flavour (`send`, `try_send`, `send_timeout`,
//! `select!` over two channels); a chaos closer closes some channels while
//! they are in use (failed sends give their value back and are retried
//! elsewhere); consumers drain with `recv`, `recv_timeout`, `try_recv`
//! polling, `select!` with the nil-channel idiom, a dynamic `Select`, and
//! `iter`; a final closer closes (or drops) the rest once the producers are
//! done. Every value must arrive exactly once: count, sum and a duplicate
//! check. Several rounds on one and on two Ps.

mod common;

use common::{runtime, seeded, spin_for, yield_times, Rng};
use goro::chan::{RecvError, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use goro::sync::WaitGroup;
use goro::{Receiver, Select, Selected, Sender};
use std::time::{Duration, Instant};

/// Capacities of the channels; channel 0 is never closed early, so a
/// producer can always fall back to it.
const CAPS: [usize; 6] = [8, 0, 1, 2, 64, 0];
/// Channels the chaos closer may close while producers still run.
const CHAOS: [usize; 3] = [1, 3, 4];
const PRODUCERS: u64 = 5; // the last one is a plain OS thread
const PER_PRODUCER: u64 = 10_000;
/// The plain-thread producer sends fewer: each of its blocking sends costs
/// an OS wake-up, which on a loaded machine can take milliseconds.
const THREAD_VALUES: u64 = 1_000;

/// Sends `v` somewhere, retrying on other channels when one is full, timed
/// out or closed. Returns how many attempts failed.
fn produce_one(txs: &[Sender<u64>], v: u64, rng: &mut Rng) -> u64 {
    let mut failures = 0;
    loop {
        if failures > 8 {
            // Channel 0 is never closed before the producers finish.
            txs[0].send(v).expect("channel 0 closed early");
            return failures;
        }
        let j = rng.below(txs.len() as u64) as usize;
        let tx = &txs[j];
        let sent = match rng.below(4) {
            0 => tx.send(v).is_ok(),
            1 => match tx.try_send(v) {
                Ok(()) => true,
                Err(TrySendError::Full(back) | TrySendError::Closed(back)) => {
                    assert_eq!(back, v, "try_send gave back another value");
                    false
                }
            },
            2 => match tx.send_timeout(v, Duration::from_micros(rng.below(100))) {
                Ok(()) => true,
                Err(SendTimeoutError::Timeout(back) | SendTimeoutError::Closed(back)) => {
                    assert_eq!(back, v, "send_timeout gave back another value");
                    false
                }
            },
            _ => {
                let other = &txs[rng.below(txs.len() as u64) as usize];
                let timeout = Duration::from_micros(rng.below(100));
                goro::select! {
                    send(tx, v) -> r => r.is_ok(),
                    send(other, v) -> r => r.is_ok(),
                    after(timeout) => false,
                }
            }
        };
        if sent {
            return failures;
        }
        failures += 1;
        yield_times(rng.below(2));
    }
}

fn producer(txs: Vec<Sender<u64>>, p: u64, count: u64, seed: u64) -> u64 {
    let mut rng = Rng::new(seed ^ (p << 40));
    let mut failures = 0;
    for i in 0..count {
        if rng.one_in(64) {
            yield_times(rng.below(4));
        }
        if rng.one_in(1_000) {
            spin_for(Duration::from_micros(50));
        }
        failures += produce_one(&txs, p * PER_PRODUCER + i, &mut rng);
    }
    failures
}

/// The consumers' strategies.
#[derive(Clone, Copy, Debug)]
enum Consumer {
    /// Blocking `recv` on one channel until it is closed.
    Recv(usize),
    /// `iter()` over one channel.
    Iter(usize),
    /// `recv_timeout` round-robin over every channel.
    RecvTimeout,
    /// `try_recv` polling over every channel.
    TryRecv,
    /// `select!` over channels 0..4 with the nil idiom, and `after`.
    SelectMacro,
    /// A dynamic `Select` over every open channel.
    Dynamic,
}

fn jitter(rng: &mut Rng) {
    if rng.one_in(32) {
        yield_times(rng.below(3));
    }
    if rng.one_in(2_000) {
        spin_for(Duration::from_micros(30));
    }
}

fn consume(kind: Consumer, rxs: Vec<Receiver<u64>>, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut got = Vec::new();
    match kind {
        Consumer::Recv(j) => {
            while let Ok(v) = rxs[j].recv() {
                got.push(v);
                jitter(&mut rng);
            }
        }
        Consumer::Iter(j) => {
            for v in &rxs[j] {
                got.push(v);
                jitter(&mut rng);
            }
        }
        Consumer::RecvTimeout => {
            let mut open: Vec<usize> = (0..rxs.len()).collect();
            while !open.is_empty() {
                let k = rng.below(open.len() as u64) as usize;
                match rxs[open[k]].recv_timeout(Duration::from_micros(rng.below(200))) {
                    Ok(v) => got.push(v),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Closed) => {
                        open.swap_remove(k);
                    }
                }
                jitter(&mut rng);
            }
        }
        Consumer::TryRecv => {
            let mut open: Vec<usize> = (0..rxs.len()).collect();
            let mut idle_polls = 0u64;
            while !open.is_empty() {
                let mut idle = true;
                let mut k = 0;
                while k < open.len() {
                    match rxs[open[k]].try_recv() {
                        Ok(v) => {
                            got.push(v);
                            idle = false;
                            k += 1;
                        }
                        Err(TryRecvError::Empty) => k += 1,
                        Err(TryRecvError::Closed) => {
                            open.swap_remove(k);
                        }
                    }
                }
                if idle {
                    idle_polls += 1;
                    if idle_polls.is_multiple_of(8) {
                        // Park now and then: a pure `yield_now` loop on one P
                        // starves goroutines woken from plain threads (see
                        // `chan.rs: yield_loop_does_not_starve_a_goroutine_woken_by_a_plain_thread`).
                        goro::time::sleep(Duration::from_micros(20));
                    } else {
                        goro::yield_now();
                    }
                }
                jitter(&mut rng);
            }
        }
        Consumer::SelectMacro => {
            let mut slots: Vec<Option<&Receiver<u64>>> = rxs.iter().take(4).map(Some).collect();
            while slots.iter().any(Option::is_some) {
                let timeout = Duration::from_micros(rng.below(500));
                let (slot, msg) = goro::select! {
                    recv(slots[0]) -> m => (0, m),
                    recv(slots[1]) -> m => (1, m),
                    recv(slots[2]) -> m => (2, m),
                    recv(slots[3]) -> m => (3, m),
                    after(timeout) => continue,
                };
                match msg {
                    Ok(v) => got.push(v),
                    Err(RecvError) => slots[slot] = None,
                }
                jitter(&mut rng);
            }
        }
        Consumer::Dynamic => {
            let mut open: Vec<Option<&Receiver<u64>>> = rxs.iter().map(Some).collect();
            while open.iter().any(Option::is_some) {
                let mut sel = Select::new();
                for rx in &open {
                    sel.recv(*rx);
                }
                if rng.one_in(3) {
                    sel.timeout(Duration::from_micros(rng.below(300)));
                }
                match sel.select() {
                    Selected::Recv { msg: Ok(v), .. } => got.push(v),
                    Selected::Recv {
                        index,
                        msg: Err(RecvError),
                    } => open[index] = None,
                    Selected::Timeout => {}
                    other => panic!("unexpected {other:?}"),
                }
                jitter(&mut rng);
            }
        }
    }
    got
}

/// One round; returns (values received, failed send attempts, chaos closes).
fn round(procs: usize, seed: u64) -> (u64, u64, usize) {
    let result = runtime(procs).run(move || {
        let (txs, rxs): (Vec<Sender<u64>>, Vec<Receiver<u64>>) =
            CAPS.iter().map(|&c| goro::chan::<u64>(c)).unzip();

        let consumers: Vec<_> = [
            Consumer::Recv(0),
            Consumer::Recv(0),
            Consumer::Iter(5),
            Consumer::RecvTimeout,
            Consumer::TryRecv,
            Consumer::SelectMacro,
            Consumer::Dynamic,
        ]
        .into_iter()
        .enumerate()
        .map(|(c, kind)| {
            let rxs = rxs.clone();
            goro::go(move || consume(kind, rxs, seed ^ ((c as u64) << 20)))
        })
        .collect();
        drop(rxs);

        let producers_done = WaitGroup::new();
        let mut producers = Vec::new();
        for p in 0..PRODUCERS - 1 {
            let (txs, wg) = (txs.clone(), producers_done.clone());
            wg.add(1);
            producers.push(goro::go(move || {
                let f = producer(txs, p, PER_PRODUCER, seed);
                wg.done();
                f
            }));
        }
        // The plain-thread producer reports over a channel: joining an OS
        // thread from a goroutine would block its P.
        let (thread_result_tx, thread_result) = goro::chan::<u64>(1);
        let thread_producer = {
            let (txs, wg) = (txs.clone(), producers_done.clone());
            wg.add(1);
            std::thread::spawn(move || {
                let f = producer(txs, PRODUCERS - 1, THREAD_VALUES, seed);
                wg.done();
                thread_result_tx.send(f).unwrap();
            })
        };

        // Chaos: close some channels while they are in use.
        let chaos = {
            let txs = txs.clone();
            let mut rng = Rng::new(seed ^ 0xC105E);
            goro::go(move || {
                let mut closed = 0;
                for &j in &CHAOS {
                    goro::time::sleep(Duration::from_micros(rng.below(20_000)));
                    if rng.one_in(4) {
                        continue; // left for the final closer
                    }
                    // False if the final closer got there first.
                    if txs[j].close() {
                        closed += 1;
                    }
                }
                closed
            })
        };

        // The final closer: closes channels 0..5 once the producers are
        // done, and lets channel 5 close by dropping its last sender.
        let closer = goro::go(move || {
            producers_done.wait();
            let mut txs = txs;
            let last = txs.pop().expect("channel 5");
            for tx in &txs {
                tx.close(); // false for the ones chaos closed
            }
            drop(last);
        });

        let mut failures: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
        failures += thread_result.recv().unwrap();
        let chaos_closed = chaos.join().unwrap();
        closer.join().unwrap();

        // The thread producer is the last: the values are 0..total.
        let total = (PRODUCERS - 1) * PER_PRODUCER + THREAD_VALUES;
        let mut seen = vec![false; total as usize];
        let (mut count, mut sum) = (0u64, 0u64);
        for (c, h) in consumers.into_iter().enumerate() {
            for v in h.join().unwrap() {
                assert!(v < total, "consumer {c}: value {v} was never sent");
                assert!(!seen[v as usize], "consumer {c}: value {v} received twice");
                seen[v as usize] = true;
                count += 1;
                sum += v;
            }
        }
        let missing: Vec<usize> = seen
            .iter()
            .enumerate()
            .filter(|(_, s)| !**s)
            .map(|(v, _)| v)
            .take(10)
            .collect();
        assert_eq!(
            count, total,
            "procs({procs}): lost values, e.g. {missing:?}"
        );
        assert_eq!(sum, total * (total - 1) / 2, "procs({procs}): wrong sum");
        (count, failures, chaos_closed, thread_producer)
    });
    let (count, failures, chaos_closed, thread_producer) = result;
    thread_producer.join().unwrap();
    (count, failures, chaos_closed)
}

#[test]
fn mixed_senders_receivers_selects_and_closes_deliver_every_value_once() {
    seeded(
        "mixed_senders_receivers_selects_and_closes_deliver_every_value_once",
        |seed| {
            let start = Instant::now();
            for r in 0..10u64 {
                for procs in [1, 2] {
                    let t = Instant::now();
                    let (count, failures, closed) =
                        round(procs, seed.wrapping_add(r * 2 + procs as u64));
                    let took = t.elapsed();
                    println!(
                        "round {r} procs({procs}): {count} values, {failures} failed send attempts, \
                         {closed} channels closed mid-stream, {took:?}"
                    );
                }
            }
            println!("stress took {:?}", start.elapsed());
        },
    );
}

/// How a sender in `one_channel_round` offers a value: true if sent, false
/// if it timed out. The channel is closed only once every sender is done.
fn offer(tx: &Sender<u64>, dead: &Receiver<u64>, v: u64, rng: &mut Rng) -> bool {
    let sent = |r: Result<(), goro::chan::SendError<u64>>| match r {
        Ok(()) => true,
        Err(_) => panic!("the channel was closed while {v} was being sent"),
    };
    match rng.below(4) {
        0 => sent(tx.send(v)),
        1 => match tx.send_timeout(v, Duration::from_micros(rng.below(30))) {
            Err(SendTimeoutError::Timeout(_)) => false,
            r => sent(r.map_err(|e| goro::chan::SendError(e.into_inner()))),
        },
        2 => goro::select! {
            send(tx, v) -> r => sent(r),
            recv(dead) -> _ => unreachable!("nothing is ever sent on `dead`"),
            after(Duration::from_micros(rng.below(30))) => false,
        },
        _ => goro::select! {
            send(tx, v) -> r => sent(r),
            send(tx, v) -> r => sent(r), // the same channel twice
            after(Duration::from_micros(rng.below(30))) => false,
        },
    }
}

/// How a receiver in `one_channel_round` takes one value: `Some(Ok)` a
/// value, `Some(Err)` closed, `None` gave up this time.
fn take(rx: &Receiver<u64>, dead: &Receiver<u64>, rng: &mut Rng) -> Option<Result<u64, ()>> {
    let closed_or = |r: Result<u64, RecvError>| Some(r.map_err(|_| ()));
    match rng.below(4) {
        0 => closed_or(rx.recv()),
        1 => match rx.recv_timeout(Duration::from_micros(rng.below(30))) {
            Ok(v) => Some(Ok(v)),
            Err(RecvTimeoutError::Closed) => Some(Err(())),
            Err(RecvTimeoutError::Timeout) => None,
        },
        2 => goro::select! {
            recv(rx) -> m => closed_or(m),
            recv(dead) -> _ => unreachable!("nothing is ever sent on `dead`"),
            after(Duration::from_micros(rng.below(30))) => None,
        },
        _ => goro::select! {
            recv(rx) -> m => closed_or(m),
            recv(rx) -> m => closed_or(m), // the same channel twice
        },
    }
}

/// One channel, many goroutines and one plain thread on each side, every
/// blocking flavour with deadlines of a few microseconds: timed-out sends,
/// receives and selects leave their stale waiters in the queues all the
/// time, and the rest must still meet. Returns (values, timeouts).
fn one_channel_round(procs: usize, cap: usize, seed: u64) -> (u64, u64) {
    const SENDERS: u64 = 4;
    const PER_SENDER: u64 = 3_000;
    const RECEIVERS: u64 = 4;
    runtime(procs).run(move || {
        let (tx, rx) = goro::chan::<u64>(cap);
        // Never sent on, never closed while in use: a case that never fires.
        let (dead_tx, dead) = goro::chan::<u64>(0);
        let sent_all = WaitGroup::new();
        let mut senders = Vec::new();
        for s in 0..=SENDERS {
            let (tx, dead, wg) = (tx.clone(), dead.clone(), sent_all.clone());
            wg.add(1);
            let body = move || {
                let mut rng = Rng::new(seed ^ (s << 32));
                let mut timeouts = 0;
                let count = if s == SENDERS {
                    PER_SENDER / 10
                } else {
                    PER_SENDER
                };
                for i in 0..count {
                    let v = s * PER_SENDER + i;
                    while !offer(&tx, &dead, v, &mut rng) {
                        timeouts += 1;
                    }
                }
                wg.done();
                timeouts
            };
            if s == SENDERS {
                // The last sender is a plain OS thread.
                let (done_tx, done) = goro::chan::<u64>(1);
                std::thread::spawn(move || done_tx.send(body()).unwrap());
                senders.push(goro::go(move || done.recv().unwrap()));
            } else {
                senders.push(goro::go(body));
            }
        }
        let receive = |r: u64| {
            let (rx, dead) = (rx.clone(), dead.clone());
            move || {
                let mut rng = Rng::new(seed ^ (r << 48) ^ 0x5EED);
                let (mut got, mut timeouts) = (Vec::new(), 0u64);
                loop {
                    match take(&rx, &dead, &mut rng) {
                        Some(Ok(v)) => got.push(v),
                        Some(Err(())) => return (got, timeouts),
                        None => timeouts += 1,
                    }
                }
            }
        };
        let mut receivers: Vec<_> = (0..RECEIVERS).map(|r| goro::go(receive(r))).collect();
        let (thread_tx, thread_got) = goro::chan(1);
        let thread_receiver = receive(RECEIVERS);
        std::thread::spawn(move || thread_tx.send(thread_receiver()).unwrap());
        receivers.push(goro::go(move || thread_got.recv().unwrap()));
        drop((rx, dead));

        let closer = goro::go(move || {
            sent_all.wait();
            tx.close();
        });
        let mut timeouts: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
        closer.join().unwrap();
        let total = SENDERS * PER_SENDER + PER_SENDER / 10;
        let mut seen = vec![false; (SENDERS + 1) as usize * PER_SENDER as usize];
        let mut count = 0;
        for h in receivers {
            let (got, t) = h.join().unwrap();
            timeouts += t;
            for v in got {
                assert!(!seen[v as usize], "cap {cap}: value {v} received twice");
                seen[v as usize] = true;
                count += 1;
            }
        }
        assert_eq!(count, total, "cap {cap}, procs {procs}: values lost");
        drop(dead_tx);
        (count, timeouts)
    })
}

#[test]
fn one_channel_with_timeouts_and_selects_loses_nothing() {
    seeded(
        "one_channel_with_timeouts_and_selects_loses_nothing",
        |seed| {
            let mut rng = Rng::new(seed);
            let start = Instant::now();
            let (mut values, mut timeouts) = (0, 0);
            // Chaos stalls (`--cfg goro_chaos`) make a round ~40 times slower.
            let rounds: u64 = if cfg!(goro_chaos) { 25 } else { 150 };
            for r in 0..rounds {
                let cap = [0, 1, 4][rng.below(3) as usize];
                // More Ps than this machine has CPUs in every third round: Ms
                // are then preempted anywhere, which is how the lost wake-up
                // fixed in `park::take_parked` was found.
                let procs = [1, 2, 4][(r % 3) as usize];
                let (v, t) = one_channel_round(procs, cap, seed.wrapping_add(r));
                values += v;
                timeouts += t;
            }
            println!(
                "{rounds} rounds: {values} values, {timeouts} timed-out attempts, {:?}",
                start.elapsed()
            );
            // The premise: operations did time out, leaving stale waiters.
            assert!(timeouts > 0, "no send, receive or select ever timed out");
        },
    );
}
