//! The cost of one `call_later` and of one `spawn` while the loop's stores grow: on a fresh
//! loop, `N` live timers (or pending tasks) are added one at a time and each call is timed
//! alone; `REPS` fresh loops give `REPS * N` samples. Prints p50, p99, p99.9 and max, and the
//! live counts at which the median call (over the loops) was slowest: a store that doubles
//! shows up there, at its powers of two. tokio's `spawn` runs beside for reference.
//! `cargo bench --bench growth` (`GROWTH_N`, `GROWTH_REPS` to change 65,536 and 30).

use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Times `op(i)` for `i in 0..n`, one sample per call (the `Instant` pair costs ~20-40 ns,
/// included in every sample alike).
fn samples(n: usize, mut op: impl FnMut(usize)) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        op(i);
        out.push(start.elapsed().as_nanos().min(u32::MAX as u128) as u32);
    }
    out
}

fn report(name: &str, runs: &[Vec<u32>]) {
    let mut all: Vec<u32> = runs.iter().flatten().copied().collect();
    all.sort_unstable();
    let q = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
    let over_10us = all.iter().filter(|&&v| v > 10_000).count();
    // Per live count, the median over the loops: where growth happens on every run.
    let n = runs[0].len();
    let mut by_index: Vec<(u32, usize)> = (0..n)
        .map(|i| {
            let mut v: Vec<u32> = runs.iter().map(|r| r[i]).collect();
            v.sort_unstable();
            (v[v.len() / 2], i)
        })
        .collect();
    by_index.sort_unstable_by(|a, b| b.cmp(a));
    let worst: Vec<String> = by_index
        .iter()
        .take(8)
        .map(|(ns, i)| format!("{} live: {:.1} µs", i, *ns as f64 / 1000.0))
        .collect();
    println!(
        "| {name} | {} | {} | {} | {:.1} | {:.1} | {over_10us} of {} | {} |",
        q(0.5),
        q(0.99),
        q(0.999),
        q(1.0) as f64 / 1000.0,
        by_index[0].0 as f64 / 1000.0,
        all.len(),
        worst.join(", ")
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env("GROWTH_N", 65_536);
    let reps = env("GROWTH_REPS", 30);
    let far = Duration::from_secs(3600);

    let (mut call_later, mut spawn, mut tokio_spawn) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let lp = aioloop::EventLoop::new().unwrap();
        call_later.push(lp.run_until_complete(async {
            let mut handles = Vec::with_capacity(n);
            let s = samples(n, |_| handles.push(aioloop::call_later(far, || {})));
            for h in handles {
                h.cancel();
            }
            s
        }));
        drop(lp);

        let lp = aioloop::EventLoop::new().unwrap();
        spawn.push(lp.run_until_complete(async {
            let mut tasks = Vec::with_capacity(n);
            let s = samples(n, |_| tasks.push(aioloop::spawn(async {})));
            for t in tasks {
                t.await.unwrap();
            }
            s
        }));
        drop(lp);

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio_spawn.push(rt.block_on(async {
            let mut tasks = Vec::with_capacity(n);
            let s = samples(n, |_| tasks.push(tokio::spawn(async {})));
            for t in tasks {
                t.await.unwrap();
            }
            s
        }));
    }
    println!(
        "{reps} fresh loops x {n} calls, ns per call (one `Instant` pair included)\n\n\
         | call | p50 ns | p99 ns | p99.9 ns | max µs | slowest median µs | calls > 10 µs | slowest live counts (median over loops) |\n\
         |---|---|---|---|---|---|---|---|"
    );
    report("aioloop call_later", &call_later);
    report("aioloop spawn", &spawn);
    report("tokio spawn (current_thread)", &tokio_spawn);
}
