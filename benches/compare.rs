//! The summary: every workload on tokio's current_thread runtime (`enable_all()`) and on
//! aioloop, run alternately in one process, then one table of median ns/op and the ratio
//! tokio ÷ aioloop (above 1: aioloop is faster). `cargo bench --bench compare`.
//! The criterion benches (core, time, sync, threads, combinators, net) give the same workloads
//! with confidence intervals; this is the one-screen view.

use std::time::{Duration, Instant};

#[path = "common/shapes.rs"]
mod shapes;
#[path = "common/tcp_echo.rs"]
mod tcp_echo;

type Run = Box<dyn FnMut() -> Duration>;

struct Workload {
    name: &'static str,
    ops: u64,
    tokio: Run,
    aioloop: Run,
}

fn tokio_rt(paused: bool) -> tokio::runtime::Runtime {
    let mut b = tokio::runtime::Builder::new_current_thread();
    b.enable_all().start_paused(paused);
    b.build().unwrap()
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// `tokio` and `aioloop` bodies for a workload that runs inside one block_on / run_until_complete.
macro_rules! workload {
    ($name:expr, $ops:expr, paused = $paused:expr, tokio = $t:expr, aioloop = $a:expr) => {{
        let rt = tokio_rt($paused);
        let lp = aioloop::EventLoop::builder()
            .start_paused($paused)
            .build()
            .unwrap();
        Workload {
            name: $name,
            ops: $ops,
            tokio: Box::new(move || timed(|| rt.block_on($t()))),
            aioloop: Box::new(move || timed(|| lp.run_until_complete($a()))),
        }
    }};
}

#[path = "compare/tasks.rs"]
mod tasks;
#[path = "compare/time_io.rs"]
mod time_io;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("COMPARE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    println!("| workload | tokio ns/op | aioloop ns/op | ratio tokio/aioloop |");
    println!("|---|---|---|---|");
    for mut w in tasks::workloads().into_iter().chain(time_io::workloads()) {
        let (mut t, mut a) = (Vec::new(), Vec::new());
        (w.tokio)();
        (w.aioloop)();
        for _ in 0..rounds {
            t.push((w.tokio)());
            a.push((w.aioloop)());
        }
        let (t, a) = (
            median(t).as_nanos() as f64 / w.ops as f64,
            median(a).as_nanos() as f64 / w.ops as f64,
        );
        println!("| {} | {:.1} | {:.1} | {:.2}x |", w.name, t, a, t / a);
    }
}
