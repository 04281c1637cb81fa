//! aioloop beside the other single-threaded runtimes, alternating in one process: each shape
//! (spawn+join, yield, real-clock sleeps, TCP echo at 50 and 500 connections) runs for
//! `PEERS_ROUNDS` rounds (7) on every runtime, the order rotating from round to round, then a
//! table of median ns per op and the ratio peer / aioloop (above 1: aioloop is faster).
//! A runtime that cannot start here (io_uring refused, locked-memory limit) is reported and
//! skipped. See README.md.

mod shapes;

mod aioloop_peer;
mod compio_peer;
mod glommio_peer;
mod monoio_peer;
mod smol_peer;
mod tokio_peer;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use shapes::Shape;

/// One runtime, built once and kept for the whole run (its echo connections too).
pub trait Peer {
    /// Runs `shape` once; returns the time of the timed part (echo set-up is not timed).
    fn run(&mut self, shape: Shape) -> Duration;
}

type Maker = fn() -> std::io::Result<Box<dyn Peer>>;

/// The runtimes, aioloop first (the ratios' base).
const PEERS: [(&str, Maker); 10] = [
    ("aioloop", aioloop_peer::new),
    ("aioloop io_uring", aioloop_peer::new_uring),
    ("tokio current_thread", tokio_peer::new),
    ("smol (async-executor LocalExecutor + async-io)", smol_peer::new),
    ("monoio io_uring", monoio_peer::new_uring),
    ("monoio legacy (epoll)", monoio_peer::new_legacy),
    ("compio io_uring", compio_peer::new_uring),
    ("compio poll", compio_peer::new_poll),
    ("glommio", glommio_peer::new),
    ("aioloop (2nd instance)", aioloop_peer::new),
];

/// Measures `f`'s wall time.
pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn main() {
    let rounds: usize = std::env::var("PEERS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let filter = std::env::var("PEERS_FILTER").unwrap_or_default();
    // For profiling: only the runtimes whose name contains this (aioloop too only if it
    // matches; ratios are then to the first one listed), and only the shapes whose name
    // contains `PEERS_SHAPE`.
    let only = std::env::var("PEERS_ONLY").ok();
    let shape_filter = std::env::var("PEERS_SHAPE").unwrap_or_default();
    raise_limits();

    let mut peers: Vec<(&str, Box<dyn Peer>)> = Vec::new();
    for (name, make) in PEERS {
        let wanted = match &only {
            Some(only) => name.contains(only.as_str()),
            None => name.starts_with("aioloop") || name.contains(filter.as_str()),
        };
        if !wanted {
            continue;
        }
        match catch_unwind(make) {
            Ok(Ok(p)) => peers.push((name, p)),
            Ok(Err(e)) => println!("skipped {name}: cannot start here: {e}"),
            Err(_) => println!("skipped {name}: panicked while starting"),
        }
    }

    let mut table: Vec<(Shape, Vec<Option<Duration>>)> = Vec::new();
    for shape in Shape::ALL
        .into_iter()
        .filter(|s| s.name().contains(shape_filter.as_str()))
    {
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); peers.len()];
        let mut failed = vec![false; peers.len()];
        for round in 0..=rounds {
            for k in 0..peers.len() {
                let i = (k + round) % peers.len();
                if failed[i] {
                    continue;
                }
                match catch_unwind(AssertUnwindSafe(|| peers[i].1.run(shape))) {
                    // Round 0 warms up (and sets up the echo connections).
                    Ok(d) if round > 0 => times[i].push(d),
                    Ok(_) => {}
                    Err(_) => {
                        println!(
                            "{}: {} panicked; its row cell is left empty",
                            peers[i].0,
                            shape.name()
                        );
                        failed[i] = true;
                    }
                }
            }
        }
        table.push((shape, times.into_iter().map(median).collect()));
        eprintln!("done: {}", shape.name());
    }

    println!();
    println!("{rounds} rounds, median ns/op (ratio peer / first column: above 1, the first is faster)");
    println!();
    let names: Vec<&str> = peers.iter().map(|p| p.0).collect();
    println!("| workload | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for (shape, medians) in table {
        let base = medians[0].map(|d| d.as_nanos() as f64 / shape.ops() as f64);
        let cells: Vec<String> = medians
            .iter()
            .map(|m| match (m, base) {
                (Some(d), Some(b)) => {
                    let ns = d.as_nanos() as f64 / shape.ops() as f64;
                    format!("{ns:.1} ({:.2})", ns / b)
                }
                _ => "-".to_string(),
            })
            .collect();
        println!("| {} | {} |", shape.name(), cells.join(" | "));
    }
}

/// Raises the open-file limit (1,000 sockets per echo runtime) and, for glommio's rings, the
/// locked-memory limit, as far as the process may.
fn raise_limits() {
    for res in [libc::RLIMIT_NOFILE, libc::RLIMIT_MEMLOCK] {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit.
        if unsafe { libc::getrlimit(res, &mut lim) } != 0 {
            continue;
        }
        let want = if res == libc::RLIMIT_NOFILE {
            65_536
        } else {
            libc::RLIM_INFINITY
        };
        let try_set = |cur, max| {
            let l = libc::rlimit {
                rlim_cur: cur,
                rlim_max: max,
            };
            // SAFETY: `l` is a valid rlimit.
            unsafe { libc::setrlimit(res, &l) == 0 }
        };
        if !try_set(want, want.max(lim.rlim_max)) {
            try_set(lim.rlim_max, lim.rlim_max);
        }
    }
}
