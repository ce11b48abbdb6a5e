//! `Select`: a select over a set of cases known only at run time (Go's
//! `reflect.Select`), for channels of one element type.

use super::{select_core, CaseRef, Outcome, RecvCase, SendCase};
use crate::chan::{RecvError, SendError};
use std::time::{Duration, Instant};

/// A select over a run-time list of cases on channels of `T`.
///
/// ```
/// let chans: Vec<_> = (0..4).map(|_| goro::chan::<usize>(1)).collect();
/// chans[2].0.send(42).unwrap();
/// let mut sel = goro::Select::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// match sel.select() {
///     goro::Selected::Recv { index, msg } => assert_eq!((index, msg), (2, Ok(42))),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
pub struct Select<'a, T> {
    cases: Vec<DynCase<'a, T>>,
    deadline: Option<Instant>,
    has_default: bool,
}

enum DynCase<'a, T> {
    Recv(RecvCase<'a, T>),
    Send(SendCase<'a, T>),
}

/// What a [`Select`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Selected<T> {
    /// Receive case `index` happened.
    Recv {
        /// The case, in the order it was added.
        index: usize,
        /// The value, or `Err` if the channel was closed.
        msg: Result<T, RecvError>,
    },
    /// Send case `index` happened.
    Send {
        /// The case, in the order it was added.
        index: usize,
        /// `Err` (with the value) if the channel was closed.
        result: Result<(), SendError<T>>,
    },
    /// The timeout passed.
    Timeout,
    /// Nothing was ready (with [`Select::default`]).
    Default,
}

impl<T> Default for Select<'_, T> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a, T> Select<'a, T> {
    /// An empty select.
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            deadline: None,
            has_default: false,
        }
    }

    /// Adds a receive case; returns its index. `None` is a nil case.
    pub fn recv(&mut self, rx: impl super::RecvTarget<'a, T>) -> usize {
        self.cases.push(DynCase::Recv(RecvCase::new(rx)));
        self.cases.len() - 1
    }

    /// Adds a send case; returns its index. `None` is a nil case.
    pub fn send(&mut self, tx: impl super::SendTarget<'a, T>, value: T) -> usize {
        self.cases.push(DynCase::Send(SendCase::new(tx, value)));
        self.cases.len() - 1
    }

    /// Gives up after `timeout`.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.deadline = crate::time::deadline_after(timeout);
        self
    }

    /// Returns [`Selected::Default`] at once if nothing is ready.
    pub fn default_case(&mut self) -> &mut Self {
        self.has_default = true;
        self
    }

    /// Runs the select. Consumes the cases: build a new `Select` to run
    /// again.
    pub fn select(mut self) -> Selected<T> {
        let mut refs: Vec<CaseRef<'_>> = self
            .cases
            .iter_mut()
            .map(|c| match c {
                DynCase::Recv(r) => r.as_case(),
                DynCase::Send(s) => s.as_case(),
            })
            .collect();
        match select_core(&mut refs, self.deadline, self.has_default) {
            Outcome::Case(index) => match &mut self.cases[index] {
                DynCase::Recv(r) => Selected::Recv {
                    index,
                    msg: r.take(),
                },
                DynCase::Send(s) => Selected::Send {
                    index,
                    result: s.take(),
                },
            },
            Outcome::Timeout => Selected::Timeout,
            Outcome::Default => Selected::Default,
        }
    }
}
