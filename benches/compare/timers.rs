//! Timers on the real clock (included by benches/compare.rs):
//! - 100k tasks, each sleeping a distinct duration in [0, 20 ms) (200 ns apart, spawned in
//!   scattered order), run to completion: the deadlines are mostly due by the time the loop
//!   looks, so this measures the processing per timer; warm and fresh loop;
//! - 10k tasks over 2 s (200 µs apart): the loop really sleeps between deadlines, so the wall
//!   time is the timers' span on both sides; the row reports the thread's CPU time per timer
//!   with aioloop's default slack (dense timers: about one wake-up per millisecond, as
//!   tokio's wheel); a second row makes aioloop wake for every deadline exactly
//!   (`timer_slack(Duration::ZERO)`), the default before session 11; a third gives aioloop a
//!   fixed 2 ms slack (tokio's worst-case lateness), what a program that wants the CPU back
//!   can choose.

use std::time::Duration;

use crate::shapes::cpu_timed;
use crate::{tokio_rt, warm_and_fresh, Workload};

/// The `i`-th of `n` distinct delays `step` apart, in scattered order (7919 is prime and
/// divides neither `n`).
fn delay(i: u64, n: u64, step: Duration) -> Duration {
    step * ((i * 7919 % n) as u32)
}

async fn tokio_sleeps(n: u64, step: Duration) {
    let ts: Vec<_> = (0..n)
        .map(|i| tokio::spawn(tokio::time::sleep(delay(i, n, step))))
        .collect();
    for t in ts {
        t.await.unwrap();
    }
}

async fn aioloop_sleeps(n: u64, step: Duration) {
    let ts: Vec<_> = (0..n)
        .map(|i| aioloop::spawn(aioloop::sleep(delay(i, n, step))))
        .collect();
    for t in ts {
        t.await.unwrap();
    }
}

/// 10k sleeps 200 µs apart, CPU time per timer, aioloop with `slack` (`None`: the default)
/// (3 rounds: 4 s each).
fn ten_k_over_2s(name: &'static str, slack: Option<Duration>) -> Workload {
    const STEP_2S: Duration = Duration::from_micros(200);
    let rt = tokio_rt(false);
    let builder = aioloop::EventLoop::builder();
    let builder = match slack {
        Some(slack) => builder.timer_slack(slack),
        None => builder,
    };
    let lp = builder.build().unwrap();
    let mut row = Workload::new(
        name,
        10_000,
        Box::new(move || cpu_timed(|| rt.block_on(tokio_sleeps(10_000, STEP_2S)))),
        Box::new(move || cpu_timed(|| lp.run_until_complete(aioloop_sleeps(10_000, STEP_2S)))),
    );
    row.max_rounds = 3;
    row
}

/// The real-clock timer rows, in table order.
pub(crate) fn workloads() -> Vec<Workload> {
    const STEP_20MS: Duration = Duration::from_nanos(200);
    let mut rows: Vec<Workload> = warm_and_fresh(
        "timers to completion (100k over 20 ms, real clock)",
        100_000,
        || tokio_sleeps(100_000, STEP_20MS),
        || aioloop_sleeps(100_000, STEP_20MS),
    )
    .into();
    rows.push(ten_k_over_2s(
        "timers to completion (10k over 2 s, real clock, CPU ns/timer)",
        None,
    ));
    // The same with aioloop waking for every deadline exactly (Builder::timer_slack(ZERO)):
    // 10,000 wake-ups against tokio's 2,000.
    rows.push(ten_k_over_2s(
        "timers to completion (10k over 2 s, real clock, aioloop exact wake-ups, CPU ns/timer)",
        Some(Duration::ZERO),
    ));
    // The same with a fixed 2 ms slack (`Builder::timer_slack(2 ms)`): tokio's worst-case
    // lateness (its 1 ms ticks plus the poll's rounding up), half its wake-ups; the default
    // keeps dense timers within 1 ms, as asyncio's millisecond poll timeout.
    rows.push(ten_k_over_2s(
        "timers to completion (10k over 2 s, real clock, aioloop timer_slack(2 ms), CPU ns/timer)",
        Some(Duration::from_millis(2)),
    ));
    rows
}
