//! The scheduler's event hook: the one place the tracer will listen.
//!
//! Every scheduling event goes through [`emit`]. With no listener installed
//! it is one relaxed load and a predictable branch, so the scheduler pays
//! nothing measurable for it.

use super::g::{GRef, WaitReason};
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::RwLock;

/// A scheduling event.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // Fields are read by listeners (the tracer, tests).
pub(crate) enum Event {
    /// `g` was spawned by `parent` (None: from a plain thread).
    Create { g: GRef, parent: Option<GRef> },
    /// `g` started (or resumed) running on M `m`, P `p`.
    Start { g: GRef, m: usize, p: usize },
    /// `g` parked for `reason`.
    Park { g: GRef, reason: WaitReason },
    /// `g` was made runnable by `by` (None: by a plain thread or the runtime).
    Unpark { g: GRef, by: Option<GRef> },
    /// `g` yielded its P.
    Yield { g: GRef },
    /// `g` finished.
    Exit { g: GRef },
}

type Listener = Box<dyn Fn(&Event) + Send + Sync>;

static ENABLED: AtomicBool = AtomicBool::new(false);
static LISTENER: RwLock<Option<Listener>> = RwLock::new(None);

/// Reports `event` to the listener, if any.
#[inline]
pub(crate) fn emit(event: Event) {
    if ENABLED.load(Relaxed) {
        emit_slow(&event);
    }
}

#[cold]
fn emit_slow(event: &Event) {
    if let Some(listener) = LISTENER.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        listener(event);
    }
}

/// Installs (or with `None` removes) the listener.
#[allow(dead_code)] // Used by the tests now and by the tracer later.
pub(crate) fn set_listener(listener: Option<Listener>) {
    let on = listener.is_some();
    *LISTENER.write().unwrap_or_else(|e| e.into_inner()) = listener;
    ENABLED.store(on, SeqCst);
}
