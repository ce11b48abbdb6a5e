//! Cancellation and deadlines across goroutines (Go's `context`).
//!
//! A [`Context`] is cancelled when its [`CancelHandle`] is cancelled (or
//! dropped), when its deadline passes, or when its parent is cancelled —
//! cancellation flows down the tree, never up. Its [`done`](Context::done)
//! channel closes on cancellation, so it can sit in a `select!`:
//!
//! ```
//! use std::time::Duration;
//! use goro::context::{self, Context, ContextError};
//! let (ctx, _cancel) = context::with_timeout(&Context::background(), Duration::from_millis(20));
//! let (_tx, work) = goro::chan::<u32>(0);
//! let outcome = goro::select! {
//!     recv(work) -> _ => "work",
//!     recv(ctx.done()) -> _ => "cancelled",
//! };
//! assert_eq!(outcome, "cancelled");
//! assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
//! ```

use crate::chan::{chan, Receiver, Sender};
use crate::runtime::timers::{self, Timer};
use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Why a context was cancelled (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextError {
    /// Cancelled by its (or an ancestor's) cancel handle.
    Canceled,
    /// Its (or an ancestor's) deadline passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// A cancellation scope; cheap to clone (clones share it).
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

struct Node {
    /// The context this one was made from (values are looked up through
    /// this chain).
    parent: Option<Arc<Node>>,
    deadline: Option<Instant>,
    value: Option<(&'static str, Arc<dyn Any + Send + Sync>)>,
    cancel: Cancel,
}

/// Where a context's cancellation lives.
enum Cancel {
    /// Its own: the background context and `with_cancel`/`with_deadline`
    /// children.
    Own(CancelState),
    /// A value context reports the nearest ancestor's cancellation and is
    /// not registered anywhere (as Go's `WithValue`), so making one costs
    /// its parent nothing.
    Inherited(Arc<Node>),
}

struct CancelState {
    /// False for the background context: nothing can cancel it, so its
    /// children need not be tracked.
    cancellable: bool,
    done_rx: Receiver<()>,
    state: Mutex<State>,
    /// The canceller this node registered with as a child.
    registered_with: Option<Arc<Node>>,
}

struct State {
    /// Dropped (closing `done`) on cancellation.
    done_tx: Option<Sender<()>>,
    err: Option<ContextError>,
    children: Vec<Weak<Node>>,
    timer: Option<Arc<Timer>>,
}

impl Node {
    /// A context with its own cancellation, child of `parent`.
    fn new_cancellable(
        parent: Option<&Arc<Node>>,
        cancellable: bool,
        deadline: Option<Instant>,
    ) -> Arc<Node> {
        let (tx, rx) = chan(0);
        let registered_with = parent
            .map(canceller)
            .filter(|c| c.own().cancellable)
            .cloned();
        let node = Arc::new(Node {
            parent: parent.cloned(),
            deadline,
            value: None,
            cancel: Cancel::Own(CancelState {
                cancellable,
                done_rx: rx,
                state: Mutex::new(State {
                    done_tx: Some(tx),
                    err: None,
                    children: Vec::new(),
                    timer: None,
                }),
                registered_with: registered_with.clone(),
            }),
        });
        if let Some(c) = registered_with {
            c.adopt(&node);
        }
        node
    }

    /// The cancellation state of a node that has its own.
    fn own(&self) -> &CancelState {
        match &self.cancel {
            Cancel::Own(c) => c,
            Cancel::Inherited(_) => unreachable!("a canceller has its own state"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.own().state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels this node and its subtree; a no-op if already cancelled.
    fn cancel(self: &Arc<Self>, err: ContextError) {
        let (children, timer) = {
            let mut s = self.lock();
            if s.err.is_some() {
                return;
            }
            s.err = Some(err);
            s.done_tx = None; // closes `done`
            (std::mem::take(&mut s.children), s.timer.take())
        };
        if let Some(t) = timer {
            t.stop();
        }
        for child in children.iter().filter_map(Weak::upgrade) {
            child.cancel(err);
        }
        // Leave the parent's child list so long-lived parents don't
        // accumulate dead children.
        if let Some(parent) = &self.own().registered_with {
            parent
                .lock()
                .children
                .retain(|c| !std::ptr::eq(c.as_ptr(), Arc::as_ptr(self)));
        }
    }

    /// Links a new child; if we are already cancelled, so is it.
    fn adopt(&self, child: &Arc<Node>) {
        let err = {
            let mut s = self.lock();
            if s.err.is_none() {
                s.children.push(Arc::downgrade(child));
            }
            s.err
        };
        if let Some(err) = err {
            child.cancel(err);
        }
    }
}

/// The node whose cancellation `node` reports.
fn canceller(node: &Arc<Node>) -> &Arc<Node> {
    match &node.cancel {
        Cancel::Own(_) => node,
        Cancel::Inherited(c) => c,
    }
}

impl Context {
    /// The root context: never cancelled, no deadline, no values.
    pub fn background() -> Context {
        // One shared root; its sender is kept forever, so `done` never closes.
        static ROOT: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
        ROOT.get_or_init(|| Context {
            node: Node::new_cancellable(None, false, None),
        })
        .clone()
    }

    /// A channel that is closed when the context is cancelled: receive on
    /// it (usually in `select!`) to wait for cancellation.
    pub fn done(&self) -> &Receiver<()> {
        &canceller(&self.node).own().done_rx
    }

    /// `None` while active; why it was cancelled afterwards.
    pub fn err(&self) -> Option<ContextError> {
        let c = canceller(&self.node);
        let err = c.lock().err;
        if err.is_none() && c.deadline.is_some_and(|d| Instant::now() >= d) {
            // The deadline passed but its timer has not run (yet, or ever:
            // its runtime may be gone): cancel now, as Go's would be.
            c.cancel(ContextError::DeadlineExceeded);
            return c.lock().err;
        }
        err
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.err().is_some()
    }

    /// The deadline, if this context or an ancestor has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// The value stored under `key` by [`with_value`] here or in an
    /// ancestor, if it has type `T`.
    pub fn value<T: Any + Send + Sync>(&self, key: &str) -> Option<Arc<T>> {
        let mut node = Some(&self.node);
        while let Some(n) = node {
            if let Some((k, v)) = &n.value {
                if *k == key {
                    return v.clone().downcast::<T>().ok();
                }
            }
            node = n.parent.as_ref();
        }
        None
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish()
    }
}

/// Cancels its context; dropping it cancels too (Go's `defer cancel()`),
/// which also releases the context's timer.
pub struct CancelHandle {
    node: Arc<Node>,
}

impl CancelHandle {
    /// Cancels the context and all its descendants.
    pub fn cancel(&self) {
        self.node.cancel(ContextError::Canceled);
    }
}

impl Drop for CancelHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelHandle")
    }
}

/// A child of `parent` cancelled by the returned handle (or with the
/// parent).
pub fn with_cancel(parent: &Context) -> (Context, CancelHandle) {
    let node = Node::new_cancellable(Some(&parent.node), true, parent.node.deadline);
    (Context { node: node.clone() }, CancelHandle { node })
}

/// A child of `parent` that is also cancelled at `deadline` (or at the
/// parent's, if earlier). A deadline already past cancels it at once.
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelHandle) {
    let deadline = parent.node.deadline.map_or(deadline, |d| d.min(deadline));
    let node = Node::new_cancellable(Some(&parent.node), true, Some(deadline));
    if Instant::now() >= deadline {
        node.cancel(ContextError::DeadlineExceeded);
    } else if node.lock().err.is_none() {
        let weak = Arc::downgrade(&node);
        let timer = Timer::new(Box::new(move |_| {
            if let Some(node) = weak.upgrade() {
                node.cancel(ContextError::DeadlineExceeded);
            }
            None
        }));
        node.lock().timer = Some(timer.clone());
        // On the default runtime, which lives as long as the process: a
        // context may outlive the runtime it was made in.
        let rt = crate::runtime::default_runtime();
        rt.timers.add(rt, timer, timers::to_nanos(deadline));
    }
    (Context { node: node.clone() }, CancelHandle { node })
}

/// A child of `parent` that is also cancelled after `timeout` (a timeout
/// too long to represent never fires).
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelHandle) {
    match crate::time::deadline_after(timeout) {
        Some(deadline) => with_deadline(parent, deadline),
        None => with_cancel(parent),
    }
}

/// A child of `parent` carrying `value` under `key` (request-scoped data,
/// as Go's `WithValue`). It reports its parent's cancellation and costs the
/// parent nothing.
pub fn with_value(
    parent: &Context,
    key: &'static str,
    value: Arc<dyn Any + Send + Sync>,
) -> Context {
    let node = Arc::new(Node {
        parent: Some(parent.node.clone()),
        deadline: parent.node.deadline,
        value: Some((key, value)),
        cancel: Cancel::Inherited(canceller(&parent.node).clone()),
    });
    Context { node }
}
