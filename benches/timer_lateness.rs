//! How late sleeps end, and what their wake-ups cost, on tokio current_thread and on aioloop
//! (its default slack, a fixed 2 ms slack, exact wake-ups), side by side in one process.
//! Two shapes, 10,000 sleeps each, one task per sleep:
//! - random durations of 1-20 ms;
//! - durations 200 µs apart over 2 s (compare's "10k over 2 s" row): dense timers, the loop
//!   really sleeps between them, so the thread's CPU time is mostly its wake-ups.
//!
//! Each line gives the lateness of every sleep against its own deadline (p50, p99, max; the
//! count that ended early must be 0) and the thread's CPU time per sleep. A measurement, not a
//! test: `cargo bench --bench timer_lateness`.

#[path = "common/shapes.rs"]
mod shapes;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use shapes::cpu_timed;

const SLEEPS: usize = 10_000;

/// Lateness of each sleep (ns, negative if early) and the CPU time of the whole run.
struct Run {
    late: Vec<i128>,
    cpu: Duration,
}

fn report(runtime: &str, shape: &str, mut run: Run) {
    let early = run.late.iter().filter(|&&ns| ns < 0).count();
    run.late.sort_unstable();
    let pct = |p: f64| run.late[((run.late.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!(
        "{runtime:26} {shape:18} lateness p50 {:8.1} us  p99 {:8.1} us  max {:8.1} us  early: {early}  CPU {:7.0} ns/sleep",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        run.cpu.as_nanos() as f64 / SLEEPS as f64,
    );
}

/// A shape: how long the `i`-th sleep asks for.
type Delay = fn(usize) -> Duration;

/// The records of one run: each sleep pushes how late it ended.
type Late = Rc<RefCell<Vec<i128>>>;

fn lateness(deadline: Instant) -> i128 {
    let now = Instant::now();
    match now.checked_duration_since(deadline) {
        Some(late) => late.as_nanos() as i128,
        None => -((deadline - now).as_nanos() as i128),
    }
}

/// Sleeps until `deadline` (`sleep` ends then) and records how late it ended.
async fn timed(sleep: impl Future<Output = ()>, deadline: Instant, late: Late) {
    sleep.await;
    late.borrow_mut().push(lateness(deadline));
}

fn on_tokio(delay: Delay) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let late: Late = Rc::new(RefCell::new(Vec::with_capacity(SLEEPS)));
    let local = tokio::task::LocalSet::new();
    let cpu = cpu_timed(|| {
        local.block_on(&rt, async {
            let tasks: Vec<_> = (0..SLEEPS)
                .map(|i| {
                    let sleep = tokio::time::sleep(delay(i));
                    let deadline = sleep.deadline().into_std();
                    tokio::task::spawn_local(timed(sleep, deadline, late.clone()))
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
    let late = late.take();
    Run { late, cpu }
}

fn on_aioloop(delay: Delay, slack: Option<Duration>) -> Run {
    let builder = aioloop::EventLoop::builder();
    let lp = match slack {
        Some(slack) => builder.timer_slack(slack),
        None => builder,
    }
    .build()
    .unwrap();
    let late: Late = Rc::new(RefCell::new(Vec::with_capacity(SLEEPS)));
    let cpu = cpu_timed(|| {
        lp.run_until_complete(async {
            let tasks: Vec<_> = (0..SLEEPS)
                .map(|i| {
                    let sleep = aioloop::sleep(delay(i));
                    let deadline = sleep.deadline();
                    aioloop::spawn(timed(sleep, deadline, late.clone()))
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
    let late = late.take();
    Run { late, cpu }
}

/// 1-20 ms, scattered.
fn random_1_to_20ms(i: usize) -> Duration {
    Duration::from_micros(1_000 + ((i * 7919) % 19_000) as u64)
}

/// 0-2 s, 200 µs apart, scattered (7919 is prime, so `i * 7919 % SLEEPS` visits each step).
fn dense_over_2s(i: usize) -> Duration {
    Duration::from_micros(200) * ((i * 7919) % SLEEPS) as u32
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let shapes: [(&str, Delay); 2] = [
        ("1-20 ms", random_1_to_20ms),
        ("200 us apart, 2 s", dense_over_2s),
    ];
    for (shape, delay) in shapes {
        report("tokio current_thread", shape, on_tokio(delay));
        report("aioloop (default slack)", shape, on_aioloop(delay, None));
        report(
            "aioloop timer_slack(2 ms)",
            shape,
            on_aioloop(delay, Some(Duration::from_millis(2))),
        );
        report(
            "aioloop timer_slack(0)",
            shape,
            on_aioloop(delay, Some(Duration::ZERO)),
        );
    }
}
