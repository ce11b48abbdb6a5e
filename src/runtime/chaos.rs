//! Chaos points: random delays at the runtime's race windows, to shake out
//! rare interleavings in stress tests.
//!
//! A lost wake-up usually needs two threads to meet inside a window a few
//! instructions wide — between a claim and its `finish`, a park's status
//! and its commit, a P let go and the last look at the queues. Stress
//! tests run millions of operations and still hit such a window once in
//! hours. Built with `RUSTFLAGS="--cfg goro_chaos"`, every [`point`] in
//! those windows sometimes stalls its thread: a short spin now and then, a
//! longer one rarely, and rarely an OS yield (as if the thread had been
//! descheduled there). The windows then stay open thousands of times
//! longer. Without the cfg, `point` is an empty inline function. The stalls
//! are drawn from the clock, not from a test's seed: they shake the
//! interleavings, which no seed replays anyway.
//!
//! ```text
//! RUSTFLAGS="--cfg goro_chaos" cargo test --release --target-dir target/chaos --test chan_stress
//! ```

/// A place where a stall is most likely to expose a race. `_site` names it
/// (for reading the code; the delays do not depend on it).
#[inline(always)]
pub(crate) fn point(_site: &'static str) {
    #[cfg(goro_chaos)]
    stall();
}

#[cfg(goro_chaos)]
#[inline(never)]
fn stall() {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let local = 0u8;
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            (t ^ (&local as *const u8 as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
        });
    }
    let r = STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    });
    match r % 1024 {
        // About one point in eight: a short spin (up to a microsecond or so).
        0..=127 => spin((r >> 10) % 64),
        // One in a hundred: a long one (up to a few hundred microseconds, as
        // long as an OS time slice is short).
        128..=137 => spin((r >> 10) % 20_000),
        // One in a thousand: give the CPU away, as a preempted thread would.
        138 => std::thread::yield_now(),
        _ => {}
    }
}

#[cfg(goro_chaos)]
fn spin(n: u64) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}
