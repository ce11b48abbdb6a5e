//! The demos as integration tests: each runs the built `goro` binary (with
//! small sizes where a demo takes one), under a deadline, and checks the
//! facts its output states — the ones that do not depend on how the
//! goroutines happened to interleave.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a finished `goro` run left behind.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Output {
    /// Panics, showing the whole output, unless stdout contains `needle`.
    #[track_caller]
    fn expect(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "expected the output to contain {needle:?}; it was:\n{}\n(stderr: {})",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The lines of stdout containing `needle`.
    fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.contains(needle)).collect()
    }

    /// The line starting with `summary: `.
    #[track_caller]
    fn summary(&self) -> &str {
        let lines: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| l.starts_with("summary: "))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one summary line in:\n{}",
            self.stdout
        );
        assert_eq!(
            self.stdout.lines().last(),
            Some(lines[0]),
            "the summary should be the last line:\n{}",
            self.stdout
        );
        lines[0]
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `goro` with `args`, killing it (and failing the test) if it is not
/// done within `limit`.
#[track_caller]
fn goro(args: &[&str], limit: Duration) -> Output {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_goro"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the goro binary");
    let out = reader(child.stdout.take().expect("stdout is piped"));
    let err = reader(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait for goro") {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
                panic!(
                    "`goro {}` did not finish within {limit:?} and was killed (hang or deadlock?)\n\
                     stdout so far:\n{stdout}\nstderr so far:\n{stderr}",
                    args.join(" ")
                );
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Runs a demo and checks that it succeeded.
#[track_caller]
fn demo(args: &[&str], limit: Duration) -> Output {
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    let out = goro(&all, limit);
    assert!(
        out.status.success(),
        "`goro {}` failed with {}\nstdout:\n{}\nstderr:\n{}",
        all.join(" "),
        out.status,
        out.stdout,
        out.stderr
    );
    out
}

const QUICK: Duration = Duration::from_secs(30);
const SLOW: Duration = Duration::from_secs(120);

const NAMES: [&str; 12] = [
    "ping-pong",
    "for-loop",
    "range",
    "select",
    "waitgroup",
    "multiplexing",
    "worker-pool",
    "mutex",
    "context",
    "sieve",
    "skynet",
    "spawn",
];

/// The number after `prefix` in `text` (e.g. `"after "` in `"after 12 ms"`).
#[track_caller]
fn number_after(text: &str, prefix: &str) -> u64 {
    let rest = &text[text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text:?}"))
        + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in {text:?}"))
}

#[test]
fn demo_without_a_name_lists_every_demo() {
    for args in [&["demo"][..], &["demo", "--list"][..]] {
        let out = goro(args, QUICK);
        assert!(out.status.success(), "goro {args:?}: {}", out.status);
        for name in NAMES {
            assert!(
                out.stdout.lines().any(|l| l.trim_start().starts_with(name)),
                "`goro {}` does not list {name}:\n{}",
                args.join(" "),
                out.stdout
            );
        }
    }
}

#[test]
fn unknown_demo_is_a_clear_error_with_exit_code_2() {
    let out = goro(&["demo", "no-such-demo"], QUICK);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", out.stderr);
    assert!(
        out.stderr.contains("unknown demo \"no-such-demo\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ping-pong"),
        "lists the demos: {}",
        out.stderr
    );
}

#[test]
fn bad_options_are_errors_with_exit_code_2() {
    for args in [
        &["demo", "sieve", "--n", "many"][..],
        &["demo", "sieve", "--n"][..],
        &["demo", "select", "--n", "3"][..],
        &["demo", "skynet", "--size", "12"][..],
    ] {
        let out = goro(args, QUICK);
        assert_eq!(
            out.status.code(),
            Some(2),
            "goro {args:?}: stdout {}\nstderr {}",
            out.stdout,
            out.stderr
        );
        assert!(!out.stderr.is_empty(), "goro {args:?} says why");
    }
}

#[test]
fn ping_pong_alternates_and_counts_every_hit() {
    let out = demo(&["ping-pong", "--n", "100"], QUICK);
    out.expect("hit 1: ping receives the ball")
        .expect("hit 2: pong receives the ball")
        .expect("hit 3: ping receives the ball")
        .expect("hit 100: pong receives the ball and makes the last hit")
        .expect("ping: my channel is closed");
    assert_eq!(out.summary(), "summary: 100 hits: ping 50, pong 50");

    let out = demo(&["ping-pong"], QUICK);
    assert_eq!(out.summary(), "summary: 1000 hits: ping 500, pong 500");
}

#[test]
fn for_loop_breaks_on_the_sentinel_and_on_the_condition() {
    let out = demo(&["for-loop"], QUICK);
    out.expect("main: received \"apple\"")
        .expect("main: received \"cherry\"")
        .expect("main: received \"STOP\": that is the sentinel, break")
        .expect("sending \"date\" failed because the reader is gone")
        .expect("main: received 10, sum is now 55 > 50: break")
        .expect("its send of 11 failed");
    assert!(out
        .lines_with("\"date\"")
        .iter()
        .all(|l| !l.contains("main: received")));
    assert_eq!(
        out.summary(),
        "summary: sentinel loop read 3 words before STOP; condition loop stopped at 10 with sum 55"
    );
}

#[test]
fn range_delivers_values_buffered_before_close() {
    let out = demo(&["range"], QUICK);
    out.expect("closed the channel while 5 values are still in its buffer");
    for v in [10, 20, 30, 40, 50] {
        out.expect(&format!("consumer: received {v} "));
    }
    out.expect("Err(SendError(60))")
        .expect("Err(RecvError)")
        .expect("main received, in order: 1 2 3 4 5 6 7 8 9 10");
    assert_eq!(
        out.summary(),
        "summary: received 5 of 5 values buffered before close, then 10 of 10 from a live producer (sum 55)"
    );
}

#[test]
fn select_shows_each_case_a_timeout_and_quit() {
    let out = demo(&["select"], QUICK);
    for n in 1..=3 {
        out.expect(&format!("case recv(numbers) fired: got {n}"));
    }
    out.expect("case recv(words) fired: got \"hello\"")
        .expect("case recv(words) fired: got \"world\"")
        .expect("case after(100ms) fired")
        .expect("case recv(quit) fired")
        .expect("main received: 0 1 1 2 3 5 8 13 21 34")
        .expect("returned after sending 10 values")
        .expect("default ran at once");
    // The quiet spell comes after "2" and before "world".
    let pos = |s: &str| out.stdout.find(s).unwrap();
    let timeout = pos("case after(100ms) fired");
    assert!(pos("got 2") < timeout && timeout < pos("got \"world\""));
    assert!(pos("got \"world\"") < pos("case recv(quit) fired"));
    let summary = out.summary();
    assert!(
        summary.starts_with("summary: received 3 numbers (sum 6) and 2 words, timeout fired "),
        "{summary}"
    );
    assert!(number_after(summary, "timeout fired ") >= 1, "{summary}");
    assert!(
        summary.contains("fibonacci stopped by quit after 10 values (last 34)"),
        "{summary}"
    );
    let a = number_after(summary, "a=");
    let b = number_after(summary, "b=");
    assert_eq!(a + b, 1000, "{summary}");
    assert!(a > 0 && b > 0, "both ready cases get picked: {summary}");
}

#[test]
fn waitgroup_waits_for_all_workers_running_at_once() {
    let out = demo(&["waitgroup"], QUICK);
    for i in 1..=10 {
        out.expect(&format!("start worker {i:>2} "))
            .expect(&format!("worker {i:>2}: woke up after"));
    }
    // wait() returns only after the last done().
    let last_done = out
        .stdout
        .rfind("calls wg.done()")
        .expect("workers call done");
    let returned = out.stdout.find("wg.wait() returned").expect("wait returns");
    assert!(last_done < returned, "{}", out.stdout);
    let summary = out.summary();
    assert!(
        summary.starts_with("summary: 10 of 10 workers finished"),
        "{summary}"
    );
    let waited = number_after(summary, "wait returned after ");
    assert!(
        (100..550).contains(&waited),
        "the workers ran concurrently: waited {waited} ms for sleeps of 10..100 ms: {summary}"
    );
}

#[test]
fn multiplexing_merges_every_message_and_nils_closed_inputs() {
    let out = demo(&["multiplexing"], QUICK);
    assert_eq!(out.lines_with("forwarding it to the output").len(), 12);
    assert_eq!(out.lines_with("fired with Err").len(), 3);
    for (name, count) in [("alice", 4), ("bob", 3), ("carol", 5)] {
        for k in 1..=count {
            out.expect(&format!("fired with \"{name} #{k}\""));
        }
        out.expect(&format!("case recv({name}) fired with Err"));
        assert!(!out.stdout.contains(&format!("{name} #{}", count + 1)));
    }
    out.expect("main read 12 messages");
    assert_eq!(
        out.summary(),
        "summary: 12 messages merged from 3 producers (alice 4, bob 3, carol 5); all inputs closed, then the output"
    );
}

/// Checks a worker-pool run: the total and the per-worker counts.
#[track_caller]
fn check_worker_pool(out: &Output, tasks: u64, workers: u64) {
    let expected = tasks * (tasks + 1) * (2 * tasks + 1) / 6;
    let summary = out.summary();
    assert!(
        summary.starts_with(&format!(
            "summary: {tasks} tasks, {tasks} results, total {expected} (expected {expected}, ok); "
        )),
        "{summary}"
    );
    let per_worker: u64 = (1..=workers)
        .map(|w| number_after(summary, &format!("worker {w}: ")))
        .sum();
    assert_eq!(per_worker, tasks, "{summary}");
    assert!(!summary.contains(&format!("worker {}: ", workers + 1)));
}

#[test]
fn worker_pool_totals_check_out() {
    let out = demo(&["worker-pool"], QUICK);
    out.expect("2 producers put the numbers 1..=100")
        .expect("4 workers square each number")
        .expect("total of all answers: 338350");
    check_worker_pool(&out, 100, 4);

    let out = demo(&["worker-pool", "--tasks", "200", "--workers", "3"], QUICK);
    check_worker_pool(&out, 200, 3);
}

#[test]
fn sieve_finds_the_first_primes() {
    let out = demo(&["sieve"], QUICK);
    out.expect("generate → filter(2) → filter(3) → main")
        .expect("2    3    5    7   11   13   17   19   23   29")
        .expect("31   37   41   43   47   53   59   61   67   71")
        .expect("all 21 goroutines have exited");
    assert_eq!(out.summary(), "summary: 20 primes, the last is 71");

    let out = demo(&["sieve", "--n", "1000"], SLOW);
    out.expect("all 1001 goroutines have exited");
    assert_eq!(out.summary(), "summary: 1000 primes, the last is 7919");
}

#[test]
fn skynet_sums_the_tree() {
    let out = demo(&["skynet", "--size", "10000"], SLOW);
    out.expect("11,111 goroutines in all")
        .expect("the root received 49995000 after");
    let summary = out.summary();
    assert!(
        summary.starts_with("summary: sum 49995000 (expected 49995000, ok) from 11,111 goroutines"),
        "{summary}"
    );

    let out = demo(&["skynet", "--size", "1"], QUICK);
    assert!(out.summary().starts_with("summary: sum 0 (expected 0, ok)"));
}

#[test]
fn spawn_runs_every_goroutine() {
    let out = demo(&["spawn", "--n", "100000"], SLOW);
    out.expect("spawning 100000 goroutines")
        .expect("all 100000 goroutines ran and finished");
    assert_eq!(out.summary(), "summary: 100000 of 100000 goroutines ran");
}

/// Checks a mutex run: the locked total is exact, the unlocked one is at
/// most that, and the lost count is the difference.
#[track_caller]
fn check_mutex(out: &Output, goroutines: u64, increments: u64) {
    let expected = goroutines * increments;
    out.expect(&format!(
        "{goroutines} goroutines each add 1 to a shared counter {increments} times"
    ));
    for id in 1..=goroutines {
        out.expect(&format!("goroutine {id} (with the mutex): done"))
            .expect(&format!("goroutine {id} (without a lock): done"));
    }
    let summary = out.summary();
    assert!(
        summary.starts_with(&format!(
            "summary: with the mutex {expected} of {expected}; without it "
        )),
        "{summary}"
    );
    let without = number_after(summary, "without it ");
    assert!(without <= expected, "{summary}");
    assert!(
        summary.ends_with(&format!(
            "without it {without} of {expected} ({} lost)",
            expected - without
        )),
        "{summary}"
    );
}

#[test]
fn mutex_keeps_every_update_and_the_race_loses_some() {
    let out = demo(&["mutex"], QUICK);
    out.expect("the counter is 800000 of 800000");
    check_mutex(&out, 8, 100_000);

    let out = demo(
        &["mutex", "--goroutines", "3", "--increments", "5000"],
        QUICK,
    );
    check_mutex(&out, 3, 5000);
}

/// Checks a context run: every worker stopped with the deadline error,
/// promptly, and the children went with the parent.
#[track_caller]
fn check_context(out: &Output, timeout_ms: u64, workers: u64) {
    for w in 1..=workers {
        let lines = out.lines_with(&format!("worker {w}: ctx.done() closed at "));
        assert_eq!(lines.len(), 1, "{}", out.stdout);
        assert!(
            lines[0].ends_with("ctx.err() = Some(DeadlineExceeded)"),
            "{}",
            lines[0]
        );
    }
    assert!(out
        .lines_with(&format!("worker {}:", workers + 1))
        .is_empty());
    out.expect("producer: ctx.done() closed at ")
        .expect("child.err() = Some(Canceled),")
        .expect("but ctx.err() = None: cancelling a child does not cancel its parent")
        .expect("child.err() = Some(DeadlineExceeded)")
        .expect("which prints as \"context deadline exceeded\"")
        .expect("is born cancelled: err() = Some(DeadlineExceeded)")
        .expect("returns at once with Err(RecvError)");
    // Every task handed out was either done or cut short.
    let line = out.lines_with("the producer handed out ");
    assert_eq!(line.len(), 1, "{}", out.stdout);
    let sent = number_after(line[0], "handed out ");
    let done = number_after(line[0], "tasks: ");
    let cut = number_after(line[0], " done + ");
    assert_eq!(sent, done + cut, "{}", line[0]);

    let summary = out.summary();
    assert!(
        summary.starts_with(&format!("summary: {done} tasks done; {workers} of {workers} workers stopped with \"context deadline exceeded\" ")),
        "{summary}"
    );
    assert!(
        summary.ends_with(&format!(
            " ms after the start (timeout {timeout_ms} ms); child contexts cancelled with the parent"
        )),
        "{summary}"
    );
    // Tasks take 5 ms each, so W workers get through about W × timeout / 5
    // of them; ask for a quarter of that, in case the machine is busy.
    assert!(done >= workers * timeout_ms / 5 / 4, "{summary}");
    let elapsed = number_after(summary, "exceeded\" ");
    assert!(
        (timeout_ms..timeout_ms + 500).contains(&elapsed),
        "everyone stops promptly at the deadline: {summary}"
    );
}

#[test]
fn context_deadline_stops_every_worker() {
    let out = demo(&["context"], QUICK);
    out.expect("4 worker goroutines keep doing them")
        .expect("a context with a 200 ms timeout");
    check_context(&out, 200, 4);

    let out = demo(&["context", "--timeout-ms", "100", "--workers", "7"], QUICK);
    check_context(&out, 100, 7);
}
