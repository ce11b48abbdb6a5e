//! Helpers shared by the integration tests: a watchdog that turns a hang
//! into a clear failure, a small seeded xorshift for randomised
//! interleavings, polling with a deadline, named goroutines waited on until
//! they park, timing checks, and child processes.

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, MutexGuard};
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
            let trace = goro::sched_trace();
            let dump = goro::dump();
            let head: Vec<&str> = dump.lines().take(400).collect();
            panic!(
                "test `{name}` did not finish within {limit:?} (hang, deadlock or lost wake-up?); \
                 the test thread is left running.\ngoro::sched_trace():\n{trace}\n\
                 goro::dump() (first 400 lines):\n{}",
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

/// The body of a randomised test: a [`SeedReport`] named `name` and the
/// [`watchdog`] of that name around `body`, which is handed the seed. If
/// the test fails, the seed is printed to replay it.
pub fn seeded<R, F>(name: &'static str, body: F) -> R
where
    F: FnOnce(u64) -> R + Send + 'static,
    R: Send + 'static,
{
    let report = SeedReport::new(name);
    let seed = report.seed;
    // `report` is dropped after the watchdog has re-raised a panic, so
    // that it sees the test failing.
    watchdog(name, move || body(seed))
}

/// [`seeded`], with `body` as the main goroutine of a runtime with `procs`
/// processors.
pub fn seeded_on<R, F>(procs: usize, name: &'static str, body: F) -> R
where
    F: FnOnce(u64) -> R + Send + 'static,
    R: Send + 'static,
{
    seeded(name, move |seed| runtime(procs).run(move || body(seed)))
}

/// Tests that burn CPU or measure latencies take this lock, so that on a
/// small machine they do not run alongside each other (the test harness
/// runs the tests of a file in parallel). Taken outside the watchdog.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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

/// Runs `body(procs)` as the main goroutine of a runtime with one P, then
/// of a runtime with two.
pub fn on_one_and_two_procs<F>(body: F)
where
    F: Fn(usize) + Clone + Send + 'static,
{
    for procs in [1, 2] {
        let body = body.clone();
        runtime(procs).run(move || body(procs));
    }
}

/// Runs `check` in a goroutine on one P, on two Ps, and on a plain thread;
/// it is told which ("procs(1)", "procs(2)", "plain thread").
pub fn everywhere(check: fn(&'static str)) {
    runtime(1).run(move || check("procs(1)"));
    runtime(2).run(move || check("procs(2)"));
    check("plain thread");
}

/// How late a timed operation may return, on a loaded 2-CPU machine.
pub const SLACK: Duration = Duration::from_millis(200);

/// Asserts that `elapsed` is at least `want` and at most `want + SLACK`.
pub fn assert_took(what: &str, elapsed: Duration, want: Duration) {
    assert!(
        elapsed >= want,
        "{what}: returned after {elapsed:?}, earlier than {want:?}"
    );
    assert!(
        elapsed < want + SLACK,
        "{what}: returned after {elapsed:?}, more than {SLACK:?} later than {want:?}"
    );
}

/// A name no other goroutine in this process has, for [`wait_parked`].
pub fn unique_name(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("test-{what}-{}", NEXT.fetch_add(1, Relaxed))
}

/// Spawns a goroutine called `name`.
pub fn go_named<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> goro::JoinHandle<T> {
    goro::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .expect("spawn a goroutine")
}

/// Waits until the goroutine called `name` is parked for `reason` (as
/// `goro::dump` words it: "chan send", "chan receive", "select"). A
/// goroutine is marked parked only after its waiter is queued on the
/// channel, so after this returns the operation is queued.
pub fn wait_parked(name: &str, reason: &str) {
    let needle = format!("({name}) [{reason}]");
    eventually(&format!("goroutine {name} is parked in {reason}"), || {
        goro::dump().contains(&needle)
    });
}

/// Spawns `f` in a goroutine with a [`unique_name`] made of `what`, and
/// returns once it is parked for `reason` (see [`wait_parked`]).
pub fn go_parked<T: Send + 'static>(
    what: &str,
    reason: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> goro::JoinHandle<T> {
    let name = unique_name(what);
    let handle = go_named(&name, f);
    wait_parked(&name, reason);
    handle
}

/// The text of a panic payload (a `&str` or a `String`).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// `vm.max_map_count`, if it can be read.
pub fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether `vm.max_map_count` is at least `needed` (what `what` needs),
/// raising it with `sysctl` if it is not; if that fails, says why the
/// caller skips.
pub fn ensure_map_count(needed: u64, what: &str) -> bool {
    if max_map_count().is_some_and(|n| n >= needed) {
        return true;
    }
    let raised = Command::new("sysctl")
        .args(["-w", "vm.max_map_count=2500000"])
        .output();
    match max_map_count() {
        Some(n) if n >= needed => true,
        now => {
            let now = now.map_or("unreadable".to_string(), |n| n.to_string());
            let why = match raised {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                Err(e) => e.to_string(),
            };
            println!(
                "skipping: vm.max_map_count is {now}, {what} need {needed}, and \
                 `sysctl -w vm.max_map_count=2500000` did not raise it ({why})"
            );
            false
        }
    }
}

/// Tells a re-executed test binary which child part to play.
pub const CHILD_ENV: &str = "GORO_TEST_CHILD_ROLE";

pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Whether this process is the re-executed child playing `role` (see
/// [`run_child`]).
pub fn is_child(role: &str) -> bool {
    child_role().as_deref() == Some(role)
}

/// The two halves of a test that needs a process of its own: in the
/// re-executed child playing `role`, runs `child` and returns `None` (the
/// test has nothing more to do); otherwise re-runs the test `test` as that
/// child, with `env` (see [`run_child`]), under the [`watchdog`], and
/// returns the child's output to check.
pub fn run_in_child(
    test: &'static str,
    role: &'static str,
    env: &'static [(&'static str, &'static str)],
    child: impl FnOnce(),
) -> Option<ChildOutput> {
    if is_child(role) {
        child();
        return None;
    }
    Some(watchdog(test, move || run_child(test, role, env)))
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
