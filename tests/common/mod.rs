//! Helpers shared by the integration tests: a watchdog that turns a hang
//! into a clear failure, a small seeded xorshift for randomised
//! interleavings, and polling with a deadline.

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The default per-test deadline.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `body` on its own thread and returns its value, re-raising its
/// panic. If it takes longer than `limit`, panics with a message naming the
/// test and the deadline, plus the start of `goro::dump()` — so a lost
/// wake-up or a deadlock fails the test instead of hanging the suite.
pub fn watchdog_for<R, F>(name: &str, limit: Duration, body: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("watchdog:{name}"))
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = tx.send(result);
        })
        .expect("spawn the watchdog's test thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            let _ = thread.join();
            value
        }
        Ok(Err(payload)) => {
            let _ = thread.join();
            std::panic::resume_unwind(payload)
        }
        Err(_) => {
            let dump = goro::dump();
            let head: Vec<&str> = dump.lines().take(80).collect();
            panic!(
                "test `{name}` did not finish within {limit:?} (hang, deadlock or lost wake-up?); \
                 the test thread is left running.\nfirst lines of goro::dump():\n{}",
                head.join("\n")
            )
        }
    }
}

/// [`watchdog_for`] with the default 60 s deadline.
pub fn watchdog<R, F>(name: &str, body: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    watchdog_for(name, DEADLINE, body)
}

/// A seed for a randomised test: `GORO_TEST_SEED` if set (to replay a
/// failure), else derived from the clock.
pub fn seed() -> u64 {
    if let Some(s) = std::env::var("GORO_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return s;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Never zero: xorshift would stay at zero.
    (nanos ^ 0x9E37_79B9_7F4A_7C15) | 1
}

/// Prints the seed if the test panics while this guard is alive; keep one
/// in every randomised test body.
pub struct SeedReport {
    pub name: &'static str,
    pub seed: u64,
}

impl SeedReport {
    pub fn new(name: &'static str) -> SeedReport {
        SeedReport { name, seed: seed() }
    }
}

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "`{}` failed with seed {}; replay with GORO_TEST_SEED={}",
                self.name, self.seed, self.seed
            );
        }
    }
}

/// xorshift64*: a tiny deterministic generator for interleavings.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Mix the seed so that nearby seeds (seed + i) diverge at once.
        let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((x ^ (x >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Yields `n` times (to the goroutine scheduler inside a goroutine, to the
/// OS on a plain thread).
pub fn yield_times(n: u64) {
    for _ in 0..n {
        goro::yield_now();
    }
}

/// Busy-waits for about `d` without parking.
pub fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Polls `cond` until it holds, yielding between polls (so it works inside
/// a goroutine on one P as well as on a plain thread); panics with `what`
/// after 20 s.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut polls = 0u64;
    while !cond() {
        polls += 1;
        if start.elapsed() > Duration::from_secs(20) {
            panic!("timed out after {:?} waiting until {what}", start.elapsed());
        }
        goro::yield_now();
        if polls.is_multiple_of(256) {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// A runtime with `procs` processors.
pub fn runtime(procs: usize) -> goro::Runtime {
    goro::Runtime::builder()
        .procs(procs)
        .build()
        .expect("build a runtime")
}

/// Tells a re-executed test binary which child part to play.
pub const CHILD_ENV: &str = "GORO_TEST_CHILD_ROLE";

pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

pub struct ChildOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ChildOutput {
    pub fn describe(&self) -> String {
        format!(
            "child {:?}\n--- child stdout ---\n{}\n--- child stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Re-runs this test binary for `test` alone (`--exact`), with
/// [`CHILD_ENV`] set to `role` so that the test plays the child's part, and
/// with `env`; kills it if it runs longer than 60 s. For behaviour that
/// ends the process (aborts) or needs a process-wide setting.
pub fn run_child(test: &str, role: &str, env: &[(&str, &str)]) -> ChildOutput {
    let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; no core dump for a child that
    // is meant to abort.
    unsafe {
        cmd.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn the child test process");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "child `{test}` ({role}) did not finish within 60 s\n--- stdout ---\n{}\n--- stderr ---\n{}",
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    ChildOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
