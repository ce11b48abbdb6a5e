//! Deadlock reporting: when every goroutine is parked and nothing in the
//! runtime can wake one, sysmon says so (Go's "all goroutines are asleep -
//! deadlock!") with the goroutine dump, instead of a silent hang; with
//! `GORO_DEADLOCK=abort` the process aborts, as Go's does.

mod common;

use common::run_in_child;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

fn deadlocked_program() {
    goro::run(|| {
        let (_tx, rx) = goro::chan::<u32>(0);
        let _worker = goro::Builder::new()
            .name("stuck-worker".into())
            .spawn(|| {
                let (_t, r) = goro::chan::<u8>(0);
                let _ = r.recv();
            })
            .unwrap();
        let _ = rx.recv();
    });
}

/// A program whose goroutines all wait on channels nobody will send on is
/// reported, naming each goroutine and what it waits for, and aborted.
#[test]
fn deadlock_is_reported_and_aborts_on_request() {
    const TEST: &str = "deadlock_is_reported_and_aborts_on_request";
    let Some(out) = run_in_child(
        TEST,
        "deadlock",
        &[("GORO_DEADLOCK", "abort")],
        deadlocked_program,
    ) else {
        return;
    };
    assert_eq!(
        out.status.signal(),
        Some(libc_sigabrt()),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains("fatal error: all goroutines are asleep - deadlock!"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("(stuck-worker) [chan receive]"),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("[chan receive]"), "{}", out.describe());
}

/// Goroutines that wait for a plain thread are not deadlocked: the thread
/// sends after more than the report delay, and nothing is reported.
#[test]
fn waiting_on_a_plain_thread_is_not_aborted() {
    const TEST: &str = "waiting_on_a_plain_thread_is_not_aborted";
    let Some(out) = run_in_child(TEST, "thread", &[], || {
        let (tx, rx) = goro::chan::<u32>(0);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            tx.send(7).unwrap();
        });
        let got = goro::run(move || rx.recv().unwrap());
        t.join().unwrap();
        println!("child got {got}");
    }) else {
        return;
    };
    assert!(out.status.success(), "{}", out.describe());
    assert!(out.stdout.contains("child got 7"), "{}", out.describe());
    // Without GORO_DEADLOCK=abort the report is only a warning.
    assert!(!out.stderr.contains("fatal error"), "{}", out.describe());
}

fn libc_sigabrt() -> i32 {
    6 // SIGABRT on Linux
}
