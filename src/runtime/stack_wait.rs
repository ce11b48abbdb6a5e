//! Goroutines waiting for a stack, when the mapping budget is spent.
//!
//! A goroutine holds no stack until it first runs. If, at that moment, no
//! pooled stack is at hand and `vm.max_map_count` forbids mapping another,
//! the goroutine does not fail: it waits on its runtime's stack-waiter list
//! and starts when a stack is freed. Stacks may be idling in other Ps'
//! caches (or other runtimes' pools), so a waiting goroutine also raises
//! *stack pressure*: while it is set, Ps hand their cached stacks to their
//! runtime's shared pool (where waiters can take them) and a runtime with
//! no waiters of its own unmaps its pooled stacks for the others.

use super::g::{GRef, Status};
use super::proc::runq_put;
use super::sched::{Shared, P};
use super::stack;
use std::sync::atomic::Ordering::*;

/// Parks a never-started `g` until a stack is freed. `p` is held.
pub(crate) fn wait_for_stack(rt: &'static Shared, p: &P, g: GRef) {
    g.set_status(Status::Runnable);
    {
        let mut waiters = rt.stack_waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.push_back(g);
        rt.n_stack_waiters.store(waiters.len(), Release);
    }
    stack::set_pressure(true);
    flush_idle_ps(rt);
    on_stack_freed(rt, p);
}

/// A stack went back to `p`'s cache, or stack pressure is on: move cached
/// stacks where waiters can get them, and start as many waiters as there
/// are stacks for. `p` is held.
pub(crate) fn on_stack_freed(rt: &'static Shared, p: &P) {
    // SAFETY: we hold `p`.
    let cache = unsafe { &mut p.local().stacks };
    rt.stacks.flush(cache);
    let available = rt.stacks.shared_len();
    if rt.n_stack_waiters.load(Acquire) == 0 {
        // Nothing waits here: give our idle mappings to whoever needs them.
        if stack::under_pressure() {
            rt.stacks.unmap_shared();
        }
        return;
    }
    let woken: Vec<GRef> = {
        let mut waiters = rt.stack_waiters.lock().unwrap_or_else(|e| e.into_inner());
        // One per pooled stack, plus one more if a fresh mapping is allowed.
        let fresh = usize::from(stack::BUDGET.can_map(rt.stacks.stack_size()));
        let n = (available + fresh).min(waiters.len());
        let woken = waiters.drain(..n).collect();
        rt.n_stack_waiters.store(waiters.len(), Release);
        if waiters.is_empty() {
            rt.stack_wait_warned.store(false, Relaxed);
            stack::set_pressure(false);
        }
        woken
    };
    for g in woken {
        runq_put(rt, p, g, false);
    }
}

/// Moves the stack caches of idle Ps (nobody runs them, so nobody else
/// will) into their runtime's shared pool.
fn flush_idle_ps(rt: &'static Shared) {
    let sched = rt.lock();
    for &pid in &sched.pidle {
        // SAFETY: an idle P is owned by the sched lock, which we hold.
        let cache = unsafe { &mut rt.ps[pid].local().stacks };
        rt.stacks.flush(cache);
    }
}

/// Said once when every P is idle while goroutines wait for stacks: they
/// will only start if something outside the runtime wakes a goroutine that
/// then exits, so the user should hear why nothing is happening.
pub(crate) fn warn_if_starved(rt: &'static Shared) {
    let waiting = rt.n_stack_waiters.load(Acquire);
    if waiting == 0 || rt.npidle.load(SeqCst) != rt.procs() {
        return;
    }
    if rt.stack_wait_warned.swap(true, Relaxed) {
        return;
    }
    eprintln!(
        "goro: {waiting} goroutines cannot start until running goroutines exit, and none is \
         running: {}",
        stack::mapping_exhausted(rt.live())
    );
}

/// Stacks held by started, unfinished goroutines, in every runtime.
pub(crate) fn stacks_in_use() -> usize {
    let (mut taken, mut returned) = (0u64, 0u64);
    for rt in super::sched::all_runtimes() {
        for p in rt.ps.iter() {
            taken += p.stats.stacks_taken.get();
            returned += p.stats.stacks_returned.get();
        }
    }
    taken.saturating_sub(returned) as usize
}
