//! ping-pong: two goroutines pass a ball back and forth over two unbuffered
//! channels.
//!
//! "ping" reads the ball from its channel, hits it (adds one to its count)
//! and writes it to pong's channel; "pong" does the same the other way. An
//! unbuffered channel is a rendezvous: a send waits until the other side has
//! received, so exactly one player holds the ball at any time. The player
//! who makes the last hit keeps the ball and leaves; leaving drops its
//! sender, which closes the other player's channel and ends its loop too.
//!
//! Run it: `goro demo ping-pong [--n HITS]` or
//! `cargo run --release --example ping_pong -- [--n HITS]`.

use std::io::{self, Write};
use std::time::Instant;

#[macro_use]
#[path = "demo/mod.rs"]
mod demo;

/// Hits in the game when no `--n` is given.
pub const DEFAULT_HITS: u64 = 1000;

/// How many hits at the start and at the end are printed one by one.
const SHOWN: u64 = 6;

/// The ball: it counts how often it was hit.
struct Ball {
    hits: u64,
}

/// One player: receive the ball, hit it, send it to the other player.
/// Returns how many times this player hit the ball.
fn player(
    name: &'static str,
    other: &'static str,
    table: goro::Receiver<Ball>,
    to_other: goro::Sender<Ball>,
    last_hit: u64,
    log: goro::Sender<String>,
) -> u64 {
    let mut my_hits = 0;
    // `for ball in &table` is Go's `for ball := range table`: it ends once
    // the channel is closed (here: when the other player leaves).
    for mut ball in &table {
        ball.hits += 1;
        my_hits += 1;
        let hit = ball.hits;
        if hit == last_hit {
            say!(
                log,
                "  hit {hit}: {name} receives the ball and makes the last hit: game over"
            );
            say!(
                log,
                "{name} keeps the ball and leaves; dropping its sender closes {other}'s channel"
            );
            return my_hits;
        }
        if hit <= SHOWN || hit + SHOWN > last_hit {
            say!(
                log,
                "  hit {hit}: {name} receives the ball, hits it, sends it to {other}"
            );
        } else if hit == SHOWN + 1 {
            say!(
                log,
                "  ... (hits {} to {} go the same way, not printed)",
                SHOWN + 1,
                last_hit - SHOWN
            );
        }
        if to_other.send(ball).is_err() {
            say!(log, "{name}: {other} has left, so I leave too");
            return my_hits;
        }
    }
    say!(
        log,
        "{name}: my channel is closed, so my receive loop ends and I leave too"
    );
    my_hits
}

/// The main goroutine: set up the table, serve, wait for both players.
fn game(hits: u64, log: goro::Sender<String>) -> io::Result<()> {
    let (to_ping, ping_table) = goro::chan::<Ball>(0); // unbuffered
    let (to_pong, pong_table) = goro::chan::<Ball>(0); // unbuffered

    say!(
        log,
        "ping-pong: two goroutines, \"ping\" and \"pong\", pass a ball back and forth"
    );
    say!(
        log,
        "{hits} times over two unbuffered channels: a send waits until the other player"
    );
    say!(
        log,
        "has received, so exactly one player holds the ball at any moment."
    );
    say!(log, "");

    let ping = goro::go({
        let (to_pong, log) = (to_pong.clone(), log.clone());
        move || player("ping", "pong", ping_table, to_pong, hits, log)
    });
    let pong = goro::go({
        let (to_ping, log) = (to_ping.clone(), log.clone());
        move || player("pong", "ping", pong_table, to_ping, hits, log)
    });
    // The players hold the only senders now; when one of them leaves, the
    // other's channel closes.
    drop(to_pong);

    let start = Instant::now();
    say!(log, "main serves the ball to ping");
    if to_ping.send(Ball { hits: 0 }).is_err() {
        return Err(io::Error::other("ping left before the serve"));
    }
    drop(to_ping);

    let ping_hits = ping.join().expect("ping panicked");
    let pong_hits = pong.join().expect("pong panicked");
    let elapsed = start.elapsed();

    say!(log, "");
    say!(
        log,
        "both players have left: ping hit the ball {ping_hits} times, pong {pong_hits} times"
    );
    say!(
        log,
        "{} hits took {:.2} ms ({:.0} ns per hit, printing included)",
        ping_hits + pong_hits,
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / (ping_hits + pong_hits).max(1) as f64
    );
    if ping_hits + pong_hits != hits || ping_hits != hits.div_ceil(2) {
        return Err(io::Error::other(format!(
            "expected {hits} hits alternating from ping, got ping {ping_hits} pong {pong_hits}"
        )));
    }
    say!(
        log,
        "summary: {hits} hits: ping {ping_hits}, pong {pong_hits}"
    );
    Ok(())
}

/// Runs the demo with `hits` hits (at least 1).
///
/// What its goroutines print is written to `out` (see
/// [`demo::run_logged`]).
pub fn run_with(out: &mut dyn Write, hits: u64) -> io::Result<()> {
    let hits = hits.max(1);
    demo::run_logged(out, move |log| game(hits, log))
}

#[allow(dead_code)]
fn main() {
    let [hits] = demo::options("usage: ping_pong [--n HITS]", [("--n", DEFAULT_HITS)]);
    demo::main("ping-pong", |out| run_with(out, hits));
}
