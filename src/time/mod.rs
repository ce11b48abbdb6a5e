//! Time: `sleep`, `after`, `tick`, `Timer`, `Ticker` (Go's `time`).
//!
//! Timers live in the scheduler (`runtime/timers.rs`): sleeping parks the
//! goroutine and no thread sleeps per timer. Outside the runtime, `sleep`
//! blocks the thread, and channel timers are served by the default runtime.

use crate::chan::{chan_held_open, Receiver, Sender};
use crate::runtime::g::WaitReason;
use crate::runtime::timers::{self, SleepFor, Timer as RawTimer};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `now + d`, or `None` when that lies beyond what `Instant` can represent:
/// a timeout that never fires (as `Duration::MAX` means in std and Go).
#[doc(hidden)]
pub fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

/// Pauses the current goroutine for at least `d` (the thread, outside the
/// runtime).
///
/// ```
/// let t = std::time::Instant::now();
/// goro::run(|| goro::time::sleep(std::time::Duration::from_millis(5)));
/// assert!(t.elapsed() >= std::time::Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) {
    if crate::runtime::current::g().is_none() {
        std::thread::sleep(d);
        return;
    }
    // In timer nanoseconds directly: no `Instant` arithmetic on the way;
    // the M adds the current time once we are parked.
    match u64::try_from(d.as_nanos()) {
        Ok(d) => sleep_goroutine(SleepFor::For(d)),
        // Longer than time can count: sleep for good.
        Err(_) => loop {
            crate::runtime::park::park(WaitReason::Sleep);
        },
    }
}

/// Pauses the current goroutine until `deadline`.
pub fn sleep_until(deadline: Instant) {
    if crate::runtime::current::g().is_none() {
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        return;
    }
    sleep_goroutine(SleepFor::Until(timers::to_nanos(deadline)));
}

/// Parks the current goroutine until its sleep timer fires.
fn sleep_goroutine(until: SleepFor) {
    timers::Sleep::sleep(until).expect("on a goroutine");
}

/// A channel that receives the time once, after `d` (Go's `time.After`).
///
/// ```
/// let rx = goro::time::after(std::time::Duration::from_millis(1));
/// assert!(rx.recv().is_ok());
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    Timer::new(d).into_receiver()
}

/// A channel that receives the time every `d` (Go's `time.Tick`). The
/// ticker stops when the receiver is dropped.
pub fn tick(d: Duration) -> Receiver<Instant> {
    Ticker::new(d).into_receiver()
}

/// Sends the time on `tx` without blocking (a slow reader misses ticks, as
/// in Go); false once nobody can receive.
fn deliver(tx: &Sender<Instant>, when: timers::Nanos) -> bool {
    match tx.try_send(timers::to_instant(when)) {
        Ok(()) | Err(crate::chan::TrySendError::Full(_)) => true,
        Err(crate::chan::TrySendError::Closed(_)) => false,
    }
}

/// What a channel timer's deliveries and its owner's `stop`/`reset` agree
/// on: deliveries happen under `generation`'s lock and only for the
/// current generation, and `stop`/`reset` bump it under the same lock. So
/// once `stop` or `reset` returns, no delivery from before can still land
/// (Go 1.23's guarantee: the next receive sees the new expiry).
struct Delivery {
    tx: Sender<Instant>,
    generation: Mutex<u64>,
}

impl Delivery {
    fn new(tx: Sender<Instant>) -> Arc<Delivery> {
        Arc::new(Delivery {
            tx,
            generation: Mutex::new(0),
        })
    }

    /// Delivers for `generation`, if it is still current; false once
    /// nobody can receive.
    fn deliver(&self, generation: u64, when: timers::Nanos) -> bool {
        let current = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        *current != generation || deliver(&self.tx, when)
    }

    /// Ends the current generation: stops `raw`, discards an undelivered
    /// value, and returns the next generation's number and whether `raw`
    /// was pending.
    fn retire(&self, raw: &RawTimer, rx: &Receiver<Instant>) -> (u64, bool) {
        let mut current = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        let was_pending = raw.stop();
        while rx.try_recv().is_ok() {}
        *current += 1;
        (*current, was_pending)
    }
}

/// A single event in the future, delivered on a channel (Go's
/// `time.Timer`).
///
/// ```
/// use std::time::Duration;
/// let mut t = goro::time::Timer::new(Duration::from_secs(60));
/// assert!(t.stop()); // it had not fired
/// t.reset(Duration::from_millis(1));
/// assert!(t.receiver().recv().is_ok());
/// ```
pub struct Timer {
    rx: Receiver<Instant>,
    delivery: Arc<Delivery>,
    raw: Arc<RawTimer>,
}

impl Timer {
    /// A timer that fires once after `d`.
    pub fn new(d: Duration) -> Timer {
        let (tx, rx) = chan_held_open(1);
        let delivery = Delivery::new(tx);
        let raw = arm_once(&delivery, 0, d);
        Timer { rx, delivery, raw }
    }

    /// The channel the time is delivered on (Go's `t.C`).
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer; true if it had not fired yet. A value delivered
    /// and not yet received is discarded (Go 1.23's semantics).
    pub fn stop(&mut self) -> bool {
        self.delivery.retire(&self.raw, &self.rx).1
    }

    /// Re-arms the timer to fire after `d`; true if it had been pending.
    /// A value already delivered and not received is discarded (Go 1.23's
    /// semantics), so the next receive sees the new expiry.
    pub fn reset(&mut self, d: Duration) -> bool {
        let (generation, was_pending) = self.delivery.retire(&self.raw, &self.rx);
        self.raw = arm_once(&self.delivery, generation, d);
        was_pending
    }

    fn into_receiver(self) -> Receiver<Instant> {
        self.rx
    }
}

fn arm_once(delivery: &Arc<Delivery>, generation: u64, d: Duration) -> Arc<RawTimer> {
    let delivery = delivery.clone();
    let raw = RawTimer::new(Box::new(move |when| {
        delivery.deliver(generation, when);
        None
    }));
    if let Some(when) = deadline_after(d) {
        let rt = crate::runtime::current_or_default();
        rt.timers.add(rt, raw.clone(), timers::to_nanos(when));
    }
    raw
}

/// Delivers the time on a channel every period (Go's `time.Ticker`).
pub struct Ticker {
    rx: Receiver<Instant>,
    delivery: Arc<Delivery>,
    raw: Arc<RawTimer>,
}

impl Ticker {
    /// A ticker with period `d`.
    ///
    /// # Panics
    /// If `d` is zero (as Go's `NewTicker`).
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "goro::time::Ticker: non-positive interval");
        let (tx, rx) = chan_held_open(1);
        let delivery = Delivery::new(tx);
        let raw = arm_ticker(&delivery, 0, d);
        Ticker { rx, delivery, raw }
    }

    /// The channel ticks are delivered on (Go's `t.C`).
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticker; no tick arrives after this returns.
    pub fn stop(&mut self) {
        self.delivery.retire(&self.raw, &self.rx);
    }

    /// Stops and restarts the ticker with period `d`.
    pub fn reset(&mut self, d: Duration) {
        assert!(!d.is_zero(), "goro::time::Ticker: non-positive interval");
        let (generation, _) = self.delivery.retire(&self.raw, &self.rx);
        self.raw = arm_ticker(&self.delivery, generation, d);
    }

    fn into_receiver(self) -> Receiver<Instant> {
        self.rx
    }
}

fn arm_ticker(delivery: &Arc<Delivery>, generation: u64, d: Duration) -> Arc<RawTimer> {
    // Dropping the ticker's receiver (e.g. the one `tick` returns) closes
    // the channel, and a failed delivery stops the ticks.
    let delivery = delivery.clone();
    let period = d.as_nanos().min(u64::MAX as u128) as u64;
    let raw = RawTimer::new(Box::new(move |when| {
        delivery
            .deliver(generation, when)
            .then(|| when.saturating_add(period))
    }));
    if let Some(when) = deadline_after(d) {
        let rt = crate::runtime::current_or_default();
        rt.timers.add(rt, raw.clone(), timers::to_nanos(when));
    }
    raw
}
