//! A snapshot of the schedulers' state, for diagnosing hangs (Go's
//! `GODEBUG=schedtrace=1,scheddetail=1`): per runtime its idle Ps and Ms,
//! spinning Ms, global queue and timer watcher; per P its queue, `runnext`,
//! timers and switch count.
//!
//! Read racily, without stopping anything: each figure is true at the
//! moment it was read. Locks are only tried, never waited for — a hang may
//! be holding one, and saying so is part of the picture.

use super::sched::all_runtimes;
use super::timers::{now, NEVER};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

/// See the module docs.
pub(crate) fn sched_trace() -> String {
    let mut out = String::new();
    let now = now();
    for (i, rt) in all_runtimes().into_iter().enumerate() {
        let _ = write!(
            out,
            "runtime {i}: procs {}, idle Ps {}, Ms {}, spinning {}, global queue {}",
            rt.procs(),
            rt.npidle.load(Relaxed),
            rt.nm.load(Relaxed),
            rt.nmspinning.load(Relaxed),
            rt.runq_len.load(Relaxed),
        );
        match rt.sched.try_lock() {
            Ok(sched) => {
                let _ = write!(out, ", idle Ms {}", sched.midle.len());
            }
            Err(_) => out.push_str(", sched lock held"),
        }
        let _ = write!(
            out,
            ", timer watcher: {}",
            relative(rt.timers.watch_at(), now)
        );
        if rt.shutdown.load(Relaxed) {
            out.push_str(", shut down");
        }
        out.push('\n');
        for p in rt.ps.iter() {
            let timers = match p.timers.try_len() {
                Some(n) => n.to_string(),
                None => "(heap locked)".to_string(),
            };
            let _ = writeln!(
                out,
                "  P{}: queue {}, runnext {}, switches {}, timers {timers}, next timer {}",
                p.id,
                p.runq.len(),
                if p.runnext.load(Relaxed).is_null() {
                    "empty"
                } else {
                    "set"
                },
                p.stats.switches.get(),
                relative(p.timers.next_deadline(), now),
            );
        }
    }
    out
}

/// A deadline as seen from `now`.
fn relative(deadline: u64, now: u64) -> String {
    if deadline == NEVER {
        "none".to_string()
    } else if deadline >= now {
        format!("in {} µs", (deadline - now) / 1_000)
    } else {
        format!("overdue by {} µs", (now - deadline) / 1_000)
    }
}
