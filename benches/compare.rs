//! The summary: every workload on tokio's current_thread runtime (`enable_all()`) and on
//! aioloop, run alternately in one process, then one table of median ns/op and the ratio
//! tokio ÷ aioloop (above 1: aioloop is faster). `cargo bench --bench compare`.
//! The criterion benches (core, time, sync, threads, combinators, net) give the same workloads
//! with confidence intervals; this is the one-screen view.
//!
//! Each task row runs twice: on a warm runtime built once (as a server uses it) and on a fresh
//! runtime per round (as `aioloop::run` is used), built and dropped outside the timed region on
//! both sides. The order of the two sides alternates from round to round.
//! `COMPARE_ROUNDS=n` sets the rounds (11), `COMPARE_FILTER=text` runs only the rows whose name
//! contains `text` (`=text`: only the row named exactly `text`).

use std::time::{Duration, Instant};

#[path = "common/http_hello.rs"]
mod http_hello;
#[path = "common/shapes.rs"]
mod shapes;
#[path = "common/tcp_echo.rs"]
mod tcp_echo;

type Run = Box<dyn FnMut() -> Duration>;

struct Workload {
    name: String,
    ops: u64,
    tokio: Run,
    aioloop: Run,
    /// At most this many rounds (for rows whose round takes seconds).
    max_rounds: usize,
}

impl Workload {
    fn new(name: impl Into<String>, ops: u64, tokio: Run, aioloop: Run) -> Self {
        Workload {
            name: name.into(),
            ops,
            tokio,
            aioloop,
            max_rounds: usize::MAX,
        }
    }
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
        let rt = crate::tokio_rt($paused);
        let lp = aioloop::EventLoop::builder()
            .start_paused($paused)
            .build()
            .unwrap();
        Workload::new(
            $name,
            $ops,
            Box::new(move || crate::timed(|| rt.block_on($t()))),
            Box::new(move || crate::timed(|| lp.run_until_complete($a()))),
        )
    }};
}

/// A workload twice: on a warm runtime built once, and on a fresh runtime per round (built and
/// dropped outside the timed region on both sides), the second row named `name (fresh loop)`.
fn warm_and_fresh<T, TF, A, AF>(name: &str, ops: u64, tokio: T, aioloop: A) -> [Workload; 2]
where
    T: Fn() -> TF + Clone + 'static,
    TF: std::future::Future,
    A: Fn() -> AF + Clone + 'static,
    AF: std::future::Future,
{
    let rt = tokio_rt(false);
    let lp = aioloop::EventLoop::new().unwrap();
    let (t, a) = (tokio.clone(), aioloop.clone());
    let warm = Workload::new(
        name,
        ops,
        Box::new(move || timed(|| drop(rt.block_on(t())))),
        Box::new(move || timed(|| drop(lp.run_until_complete(a())))),
    );
    let fresh = Workload::new(
        format!("{name} (fresh loop)"),
        ops,
        Box::new(move || {
            let rt = tokio_rt(false);
            let d = timed(|| drop(rt.block_on(tokio())));
            drop(rt);
            d
        }),
        Box::new(move || {
            let lp = aioloop::EventLoop::new().unwrap();
            let d = timed(|| drop(lp.run_until_complete(aioloop())));
            drop(lp);
            d
        }),
    );
    [warm, fresh]
}

#[path = "compare/local.rs"]
mod local;
#[path = "compare/net.rs"]
mod net;
#[path = "compare/tasks.rs"]
mod tasks;
#[path = "compare/time_io.rs"]
mod time_io;
#[path = "compare/timers.rs"]
mod timers;

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
    let filter = std::env::var("COMPARE_FILTER").unwrap_or_default();
    println!("| workload | tokio ns/op | aioloop ns/op | ratio tokio/aioloop |");
    println!("|---|---|---|---|");
    let all: [fn() -> Vec<Workload>; 5] = [
        tasks::workloads,
        local::workloads,
        time_io::workloads,
        timers::workloads,
        net::workloads,
    ];
    for make in all {
        run_rows(make, &filter, rounds);
    }
}

/// Builds one group of rows and runs those whose name contains `filter` (each group's
/// runtimes and connections live only while its rows run).
fn run_rows(make: fn() -> Vec<Workload>, filter: &str, rounds: usize) {
    let wanted = |name: &str| match filter.strip_prefix('=') {
        Some(exact) => name == exact,
        None => name.contains(filter),
    };
    for mut w in make().into_iter().filter(|w| wanted(&w.name)) {
        let (mut t, mut a) = (Vec::new(), Vec::new());
        (w.tokio)();
        (w.aioloop)();
        for round in 0..rounds.min(w.max_rounds) {
            if round % 2 == 0 {
                t.push((w.tokio)());
                a.push((w.aioloop)());
            } else {
                a.push((w.aioloop)());
                t.push((w.tokio)());
            }
        }
        let (t, a) = (
            median(t).as_nanos() as f64 / w.ops as f64,
            median(a).as_nanos() as f64 / w.ops as f64,
        );
        println!("| {} | {:.1} | {:.1} | {:.2}x |", w.name, t, a, t / a);
    }
}
