//! sysmon: the runtime's monitor thread (Go's `sysmon`).
//!
//! One per runtime, running without a P. Today it watches for deadlock,
//! fires overdue timers, probes pooled stacks for depth and gives back
//! stacks that idle in the pool (`StackPool::probe_pooled`,
//! `release_idle`); it is also where retaking Ps from Ms stuck in blocking calls and
//! preempting long-running goroutines belong (DESIGN §2).
//!
//! **Overdue timers.** Timers are fired by Ms as they schedule, and by the
//! idle M watching them. When every P is held by a goroutine that does not
//! yield, no M schedules, and with no M idle nobody watches: sysmon fires
//! timers that are [`OVERDUE`] late itself (the goroutines they wake wait
//! in the global queue for a P; channel timers deliver at once).
//!
//! **Deadlock.** When every goroutine of the runtime is parked — no P is
//! running or has work queued, no timer is pending, no goroutine waits for
//! a stack — and the scheduler has not switched a goroutine for a second,
//! nothing inside the runtime can ever wake one. Go then dies with "all
//! goroutines are asleep - deadlock!". A goro program may still be woken by
//! a plain OS thread (channels connect the two), so sysmon prints Go's
//! message with the goroutine dump — never a silent hang — and, with
//! `GORO_DEADLOCK=abort`, aborts as Go does.

use super::sched::Shared;
use super::timers;
use std::sync::atomic::Ordering::*;
use std::time::{Duration, Instant};

/// How often sysmon looks.
const TICK: Duration = Duration::from_millis(10);
/// Every this many ticks (1 s), idle pooled stacks are given back.
const POOL_TRIM_TICKS: u64 = 100;
/// How late a timer must be before sysmon fires it.
const OVERDUE: Duration = Duration::from_millis(5);
/// How long nothing may happen before a deadlock is reported.
const DEADLOCK_AFTER: Duration = Duration::from_secs(1);

pub(crate) fn start(rt: &'static Shared) {
    let spawned = std::thread::Builder::new()
        .name("goro-sysmon".into())
        .stack_size(64 * 1024)
        .spawn(move || run(rt));
    if let Err(e) = spawned {
        // The runtime works without it; only the deadlock report is lost.
        eprintln!("goro: cannot start the monitor thread: {e}");
    }
}

fn run(rt: &'static Shared) {
    let abort = std::env::var("GORO_DEADLOCK").is_ok_and(|v| v == "abort");
    let mut quiet_since: Option<(Instant, u64)> = None;
    let mut reported = false;
    let mut ticks: u64 = 0;
    while !rt.shutdown.load(Relaxed) {
        std::thread::sleep(TICK);
        ticks += 1;
        if ticks.is_multiple_of(POOL_TRIM_TICKS) {
            rt.stacks.probe_pooled();
            rt.stacks.release_idle();
        }
        let next_timer = timers::next_deadline(rt);
        if next_timer != timers::NEVER
            && next_timer.saturating_add(OVERDUE.as_nanos() as u64) < timers::now()
        {
            timers::run_due(rt);
        }
        let switches = total_switches(rt);
        if !all_asleep(rt) {
            quiet_since = None;
            reported = false;
            continue;
        }
        match quiet_since {
            Some((since, at)) if at == switches => {
                if !reported && since.elapsed() >= DEADLOCK_AFTER && all_asleep(rt) {
                    report_deadlock(rt, abort);
                    reported = true;
                }
            }
            _ => {
                quiet_since = Some((Instant::now(), switches));
                reported = false;
            }
        }
    }
}

/// Every goroutine is parked and nothing in the runtime can wake one.
fn all_asleep(rt: &Shared) -> bool {
    rt.live() > 0
        && rt.npidle.load(SeqCst) == rt.procs()
        && rt.nmspinning.load(SeqCst) == 0
        && rt.runq_len.load(SeqCst) == 0
        && timers::next_deadline(rt) == timers::NEVER
        && rt.n_stack_waiters.load(SeqCst) == 0
        && rt.ps.iter().all(|p| p.has_no_work())
}

fn total_switches(rt: &Shared) -> u64 {
    rt.ps.iter().map(|p| p.stats.switches.get()).sum()
}

fn report_deadlock(rt: &Shared, abort: bool) {
    let prefix = if abort { "fatal error" } else { "goro" };
    eprintln!(
        "{prefix}: all goroutines are asleep - deadlock!\n\n\
         goro: {} goroutine(s) of this runtime are parked, none is runnable and no timer is \
         pending, so nothing inside the runtime can wake them (a plain OS thread still could; \
         set GORO_DEADLOCK=abort to abort here, as Go does).\n\n{}",
        rt.live(),
        crate::dump()
    );
    if abort {
        std::process::abort();
    }
}
