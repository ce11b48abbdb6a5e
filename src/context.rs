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
use crate::runtime::timers::{self, Action, Timer};
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
    parent: Option<Arc<Node>>,
    /// False for the background context and value-only children of it:
    /// nothing can cancel them, so their parents need not track them.
    cancellable: bool,
    deadline: Option<Instant>,
    value: Option<(&'static str, Arc<dyn Any + Send + Sync>)>,
    done_rx: Receiver<()>,
    state: Mutex<State>,
}

struct State {
    /// Dropped (closing `done`) on cancellation.
    done_tx: Option<Sender<()>>,
    err: Option<ContextError>,
    children: Vec<Weak<Node>>,
    timer: Option<Arc<Timer>>,
}

impl Node {
    fn new(
        parent: Option<Arc<Node>>,
        cancellable: bool,
        deadline: Option<Instant>,
        value: Option<(&'static str, Arc<dyn Any + Send + Sync>)>,
    ) -> Arc<Node> {
        let (tx, rx) = chan(0);
        let node = Arc::new(Node {
            parent,
            cancellable,
            deadline,
            value,
            done_rx: rx,
            state: Mutex::new(State {
                done_tx: Some(tx),
                err: None,
                children: Vec::new(),
                timer: None,
            }),
        });
        if let Some(parent) = &node.parent {
            if parent.cancellable {
                parent.adopt(&node);
            }
        }
        node
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
        if let Some(parent) = &self.parent {
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

impl Context {
    /// The root context: never cancelled, no deadline, no values.
    pub fn background() -> Context {
        // One shared root; its sender is kept forever, so `done` never closes.
        static ROOT: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
        ROOT.get_or_init(|| Context {
            node: Node::new(None, false, None, None),
        })
        .clone()
    }

    /// A channel that is closed when the context is cancelled: receive on
    /// it (usually in `select!`) to wait for cancellation.
    pub fn done(&self) -> &Receiver<()> {
        &self.node.done_rx
    }

    /// `None` while active; why it was cancelled afterwards.
    pub fn err(&self) -> Option<ContextError> {
        self.node.lock().err
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
    let node = Node::new(Some(parent.node.clone()), true, parent.node.deadline, None);
    (Context { node: node.clone() }, CancelHandle { node })
}

/// A child of `parent` that is also cancelled at `deadline` (or at the
/// parent's, if earlier).
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelHandle) {
    let deadline = parent.node.deadline.map_or(deadline, |d| d.min(deadline));
    let node = Node::new(Some(parent.node.clone()), true, Some(deadline), None);
    if node.lock().err.is_none() {
        let weak = Arc::downgrade(&node);
        let timer = Timer::new(Action::Call(Box::new(move |_| {
            if let Some(node) = weak.upgrade() {
                node.cancel(ContextError::DeadlineExceeded);
            }
            None
        })));
        node.lock().timer = Some(timer.clone());
        let rt = crate::runtime::current_or_default();
        rt.timers.add(rt, timer, timers::to_nanos(deadline));
    }
    (Context { node: node.clone() }, CancelHandle { node })
}

/// A child of `parent` that is also cancelled after `timeout`.
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelHandle) {
    with_deadline(parent, Instant::now() + timeout)
}

/// A child of `parent` carrying `value` under `key` (request-scoped data,
/// as Go's `WithValue`). It is cancelled with its parent.
pub fn with_value(
    parent: &Context,
    key: &'static str,
    value: Arc<dyn Any + Send + Sync>,
) -> Context {
    let node = Node::new(
        Some(parent.node.clone()),
        parent.node.cancellable,
        parent.node.deadline,
        Some((key, value)),
    );
    Context { node }
}
