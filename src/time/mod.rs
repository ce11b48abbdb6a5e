//! Time: `sleep`, `after`, `tick`, `Timer`, `Ticker` (Go's `time`).
//!
//! Timers live in the scheduler (`runtime/timers.rs`): sleeping parks the
//! goroutine and no thread sleeps per timer. Outside the runtime, `sleep`
//! blocks the thread, and channel timers are served by the default runtime.

use crate::chan::{chan_held_open, Receiver, Sender};
use crate::runtime::g::WaitReason;
use crate::runtime::park::Unparker;
use crate::runtime::timers::{self, Action, Timer as RawTimer};
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
    match deadline_after(d) {
        Some(deadline) => sleep_until(deadline),
        // Longer than time can count: sleep for good.
        None => loop {
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
    let rt = crate::runtime::current_or_default();
    let timer = RawTimer::new(Action::Unpark(Unparker::current()));
    rt.timers.add(rt, timer.clone(), timers::to_nanos(deadline));
    while !timer.fired() {
        crate::runtime::park::park(WaitReason::Sleep);
    }
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
    tx: Sender<Instant>,
    raw: Arc<RawTimer>,
}

impl Timer {
    /// A timer that fires once after `d`.
    pub fn new(d: Duration) -> Timer {
        let (tx, rx) = chan_held_open(1);
        let raw = arm_once(&tx, d);
        Timer { rx, tx, raw }
    }

    /// The channel the time is delivered on (Go's `t.C`).
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer; true if it had not fired yet.
    pub fn stop(&mut self) -> bool {
        self.raw.stop()
    }

    /// Re-arms the timer to fire after `d`; true if it had been pending.
    /// A value already delivered and not received is discarded (Go 1.23's
    /// semantics), so the next receive sees the new expiry.
    pub fn reset(&mut self, d: Duration) -> bool {
        let was_pending = self.raw.stop();
        while self.rx.try_recv().is_ok() {}
        self.raw = arm_once(&self.tx, d);
        was_pending
    }

    fn into_receiver(self) -> Receiver<Instant> {
        self.rx
    }
}

fn arm_once(tx: &Sender<Instant>, d: Duration) -> Arc<RawTimer> {
    let tx = tx.clone();
    let raw = RawTimer::new(Action::Call(Box::new(move |when| {
        deliver(&tx, when);
        None
    })));
    if let Some(when) = deadline_after(d) {
        let rt = crate::runtime::current_or_default();
        rt.timers.add(rt, raw.clone(), timers::to_nanos(when));
    }
    raw
}

/// Delivers the time on a channel every period (Go's `time.Ticker`).
pub struct Ticker {
    rx: Receiver<Instant>,
    tx: Sender<Instant>,
    raw: Arc<RawTimer>,
    period: Arc<Mutex<Duration>>,
}

impl Ticker {
    /// A ticker with period `d`.
    ///
    /// # Panics
    /// If `d` is zero (as Go's `NewTicker`).
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "goro::time::Ticker: non-positive interval");
        let (tx, rx) = chan_held_open(1);
        let period = Arc::new(Mutex::new(d));
        let raw = arm_ticker(&tx, &period);
        Ticker {
            rx,
            tx,
            raw,
            period,
        }
    }

    /// The channel ticks are delivered on (Go's `t.C`).
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticker.
    pub fn stop(&mut self) {
        self.raw.stop();
    }

    /// Stops and restarts the ticker with period `d`.
    pub fn reset(&mut self, d: Duration) {
        assert!(!d.is_zero(), "goro::time::Ticker: non-positive interval");
        self.raw.stop();
        *self.period.lock().unwrap_or_else(|e| e.into_inner()) = d;
        self.raw = arm_ticker(&self.tx, &self.period);
    }

    fn into_receiver(self) -> Receiver<Instant> {
        self.rx
    }
}

fn arm_ticker(tx: &Sender<Instant>, period: &Arc<Mutex<Duration>>) -> Arc<RawTimer> {
    let d = *period.lock().unwrap_or_else(|e| e.into_inner());
    // Dropping the ticker's receiver (e.g. the one `tick` returns) closes
    // the channel, and a failed delivery stops the ticks.
    let tx = tx.clone();
    let period = period.clone();
    let raw = RawTimer::new(Action::Call(Box::new(move |when| {
        if !deliver(&tx, when) {
            return None;
        }
        let d = *period.lock().unwrap_or_else(|e| e.into_inner());
        Some(when + d.as_nanos() as u64)
    })));
    if let Some(when) = deadline_after(d) {
        let rt = crate::runtime::current_or_default();
        rt.timers.add(rt, raw.clone(), timers::to_nanos(when));
    }
    raw
}
