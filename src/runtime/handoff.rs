//! Direct hand-off: a goroutine that parks continues the goroutine it has
//! just readied, without going through its M.
//!
//! Every goroutine switch through the M costs two context switches —
//! goroutine → M, M → goroutine — and the cost is less in the
//! instructions than in the returns after them: a switch leaves the CPU's
//! return-address predictor holding the other stack's return addresses,
//! so every function returning across a switch is a mispredicted branch
//! (a resume/suspend pair cost 17 ns with no frames to return through and
//! over 60 ns with a few on each side). In a hand-off — a goroutine readies
//! a partner into its P's `runnext` and parks, as every unbuffered send,
//! ping-pong and pipeline stage does — the M's part is always the same:
//! commit the park, take `runnext`, resume it.
//!
//! So the parking goroutine takes `runnext` itself and switches straight to
//! it (`switch::hand_off`); the goroutine it continues commits the parker's
//! park first thing, once the parker's registers are saved
//! (`switch::after_switch_in`). The parker is then switched out exactly as
//! if its M had done it: any M may resume it when it is woken.
//!
//! **When not to.** Whenever the M would do more than take `runnext`: when
//! it must look beyond its own queue (`proc::must_look_around`: the global
//! queue's turn, due timers, stack pressure), when the M is locked to a
//! goroutine (`lock_os_thread`: it runs no other), when the successor is
//! locked to another M, or when the successor has not run yet and no stack
//! can be had for it. The `runnext` chain limit (`INHERIT_LIMIT`) applies
//! as to any goroutine taken from `runnext`: a readier that has handed off
//! too often in a row readies to the tail, and its park goes through the M.

use super::current;
use super::g::{GRef, Switch};
use super::proc::{self, M};
use super::switch;
use std::sync::atomic::Ordering::*;

/// The switch-out of a goroutine `g` that parks: straight to its successor
/// if it has one, else to its M. Returns once `g` is continued.
///
/// # Safety
/// `g` is the goroutine running on this thread, parking (its waiter is
/// registered, its status `Waiting`).
#[inline]
pub(crate) unsafe fn park_switch(g: GRef) {
    let m = current::m().expect("a goroutine runs on an M");
    match successor(m) {
        // SAFETY: the caller's contract; `next` was taken from our P's
        // queue and has started.
        Some(next) => unsafe { switch::hand_off(m, g, next) },
        // SAFETY: the caller's contract.
        None => unsafe { switch::switch_out(m, g, Switch::Park) },
    }
}

/// Takes the goroutine the M would run next, if a hand-off may continue it
/// (see the module docs).
#[inline]
fn successor(m: &M) -> Option<GRef> {
    let p = m.try_p()?;
    if p.runnext.load(Relaxed).is_null() || m.locked_g.get().is_some() || proc::must_look_around(p)
    {
        return None;
    }
    let next = proc::take_runnext(p)?;
    // SAFETY: taken from our queue, the G is ours and not running.
    if !unsafe { next.owned_mut() }.locked && unsafe { switch::ensure_started(m, next) } {
        return Some(next);
    }
    // Back where it was (nobody else readies into our `runnext`).
    proc::runq_put(m.rt, p, next, true);
    None
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::runtime::current;
    use crate::runtime::hooks::{self, Event};
    use crate::runtime::park::Unparker;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::Duration;

    /// A parker woken after it decided to park but before its park is
    /// committed — here by the event hook, on the parker's own `Park`
    /// event — is readied by the goroutine it handed off to, and runs on:
    /// a ping-pong in which every other real park of the pinger is
    /// pre-empted that way still completes with the right values, through
    /// hand-offs. (Were the parker not readied, it would never run again.)
    #[test]
    fn parker_woken_before_its_park_is_committed_runs_on() {
        let _one_listener = hooks::LISTENER_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let pinger = Arc::new(AtomicUsize::new(0));
        let early_wakes = Arc::new(AtomicUsize::new(0));
        let (target, wakes) = (pinger.clone(), early_wakes.clone());
        let parks = AtomicUsize::new(0);
        hooks::set_listener(Some(Box::new(move |e: &Event| {
            if let Event::Park { g, .. } = e {
                // Every other park: when it goes through the M, the M runs
                // a parker woken this way again at once, and a pinger woken
                // on every park would never let the ponger run.
                if g.as_ptr() as usize == target.load(SeqCst)
                    && parks.fetch_add(1, SeqCst).is_multiple_of(2)
                {
                    wakes.fetch_add(1, SeqCst);
                    Unparker::Goroutine(*g).unpark();
                }
            }
        })));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = crate::Runtime::builder().procs(1).build().unwrap();
            let handoffs = rt.run(move || {
                const ROUNDS: u64 = 2_000;
                let (ping_tx, ping_rx) = crate::chan::<u64>(0);
                let (pong_tx, pong_rx) = crate::chan::<u64>(0);
                let before = crate::stats().handoffs;
                let ponger = crate::go(move || {
                    for v in ping_rx.iter() {
                        pong_tx.send(v + 1).unwrap();
                    }
                });
                let me = current::g().expect("a goroutine");
                pinger.store(me.as_ptr() as usize, SeqCst);
                for i in 0..ROUNDS {
                    ping_tx.send(i).unwrap();
                    assert_eq!(pong_rx.recv().unwrap(), i + 1);
                }
                pinger.store(0, SeqCst);
                drop(ping_tx);
                ponger.join().unwrap();
                crate::stats().handoffs - before
            });
            let _ = done_tx.send(handoffs);
        });
        let handoffs = done_rx.recv_timeout(Duration::from_secs(30));
        hooks::set_listener(None);
        let handoffs = handoffs.expect("a parker woken before its commit never ran again");
        assert!(
            early_wakes.load(SeqCst) > 100,
            "the pinger's parks were not woken early"
        );
        assert!(handoffs > 100, "only {handoffs} hand-offs");
    }
}
