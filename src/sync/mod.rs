//! Synchronisation primitives that park goroutines, not threads.
//!
//! Each works from goroutines and plain threads alike, and is built on the
//! runtime's one park/unpark primitive.

mod waitgroup;

pub use waitgroup::WaitGroup;
