//! Scaffolding the demos share: the log channel their goroutines print
//! through, and what a demo does when run as its own program (options,
//! errors).
//!
//! Each demo includes this file with
//! `#[macro_use] #[path = "demo/mod.rs"] mod demo;` (the path is relative to
//! the demo's own file, whether the demo is built as an example or included
//! into the `goro` binary by `src/main.rs`), so each demo has its own copy;
//! not every demo uses every item.

#![allow(dead_code, unused_macros)]

use std::io::{self, Write};

/// Prints a line through the demo's log channel (see [`run_logged`]).
macro_rules! say {
    ($log:expr, $($arg:tt)*) => {{
        let _ = $log.send(format!($($arg)*));
    }};
}

/// Runs `main` in a goroutine, handing it the sending side of a channel of
/// lines (`say!`), and writes the lines to `out`, on the calling thread, as
/// they arrive: channels connect goroutines and plain threads alike. The
/// loop ends when every sender of the log channel is gone, i.e. every
/// goroutine holding one is done; then `main`'s result is returned.
pub fn run_logged<F>(out: &mut dyn Write, main: F) -> io::Result<()>
where
    F: FnOnce(goro::Sender<String>) -> io::Result<()> + Send + 'static,
{
    let (log, lines) = goro::chan::<String>(64);
    let main = goro::go(move || main(log));
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    main.join().map_err(|e| io::Error::other(e.to_string()))?
}

/// The numeric options of a demo run as its own program: for each
/// `(flag, default)`, the value given as `--flag N` (the last one if
/// repeated), else `default`. A number may be written with `,` or `_`
/// between its digits (`1,000,000`). Anything else prints `usage` and exits
/// with status 2.
pub fn options<const N: usize>(usage: &str, flags: [(&str, u64); N]) -> [u64; N] {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut values = flags.map(|(_, default)| default);
    let mut i = 0;
    while i < args.len() {
        let value = args
            .get(i + 1)
            .and_then(|v| v.replace([',', '_'], "").parse::<u64>().ok());
        match (flags.iter().position(|(f, _)| *f == args[i]), value) {
            (Some(k), Some(v)) => values[k] = v,
            _ => {
                eprintln!("{usage}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    values
}

/// Runs a demo as its own program, on standard output; if it fails, prints
/// `name: error` and exits with status 1.
pub fn main(name: &str, run: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
    if let Err(e) = run(&mut io::stdout().lock()) {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}
