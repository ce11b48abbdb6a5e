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

/// Reports the event `make` builds to the listener, if any. The event is
/// only built when someone listens: some fields cost a thread-local lookup
/// (`current::g()`), which the scheduler's hot paths should not pay.
#[inline]
pub(crate) fn emit(make: impl FnOnce() -> Event) {
    if ENABLED.load(Relaxed) {
        emit_slow(&make());
    }
}

#[cold]
fn emit_slow(event: &Event) {
    if let Some(listener) = LISTENER.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        listener(event);
    }
}

/// Tests that install a listener take this first: there is one listener
/// for the whole process, and the test harness runs tests in parallel.
#[cfg(test)]
pub(crate) static LISTENER_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Installs (or with `None` removes) the listener.
#[cfg_attr(not(test), allow(dead_code))] // The tracer (a later issue) will call it.
pub(crate) fn set_listener(listener: Option<Listener>) {
    let on = listener.is_some();
    *LISTENER.write().unwrap_or_else(|e| e.into_inner()) = listener;
    ENABLED.store(on, SeqCst);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A listener sees a goroutine's whole life: created, started, parked
    /// (with its reason), unparked, started again, exited.
    #[test]
    fn listener_sees_a_goroutines_life() {
        let _one_listener = LISTENER_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let rt = crate::Runtime::builder().procs(1).build().unwrap();
        let ours: &'static crate::runtime::sched::Shared = rt.shared();
        let log: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
        let sink = log.clone();
        set_listener(Some(Box::new(move |e: &Event| {
            let (g, what) = match e {
                Event::Create { g, .. } => (*g, "create".to_string()),
                Event::Start { g, .. } => (*g, "start".to_string()),
                Event::Park { g, reason } => (*g, format!("park {}", reason.as_str())),
                Event::Unpark { g, .. } => (*g, "unpark".to_string()),
                Event::Yield { g } => (*g, "yield".to_string()),
                Event::Exit { g } => (*g, "exit".to_string()),
            };
            // Only this test's runtime: other tests run in parallel.
            if std::ptr::eq(g.runtime(), ours) {
                let id = g.id.load(std::sync::atomic::Ordering::Relaxed);
                sink.lock().unwrap().push((id, what));
            }
        })));
        let child_id = rt.run(|| {
            let (tx, rx) = crate::chan::<u64>(0);
            let child = crate::go(move || {
                let id = crate::id().unwrap();
                rx.recv().unwrap();
                id
            });
            crate::yield_now(); // let the child start and park
            tx.send(1).unwrap();
            child.join().unwrap()
        });
        set_listener(None);
        let seen: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| *id == child_id)
            .map(|(_, what)| what.clone())
            .collect();
        assert_eq!(
            seen,
            [
                "create",
                "start",
                "park chan receive",
                "unpark",
                "start",
                "exit"
            ],
            "events of goroutine {child_id}"
        );
    }
}
