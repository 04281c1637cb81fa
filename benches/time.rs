//! Timer workloads on aioloop and on tokio's current_thread runtime, side by side.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common/shapes.rs"]
mod shapes;
use shapes::poll_once;

fn tokio_rt(paused: bool) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all().start_paused(paused);
    builder.build().unwrap()
}

const REGISTER: u64 = 200_000;

/// Deadline `i` of a spread over 1..=1000 ms.
fn spread_ms(i: u64) -> Duration {
    Duration::from_millis(1 + (i * 7919) % 1000)
}

fn register_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_register_cancel_200k");
    group.sample_size(20);
    let rt = tokio_rt(false);
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for i in 0..REGISTER {
                    poll_once(tokio::time::sleep(spread_ms(i))).await;
                }
            })
        })
    });
    let lp = aioloop::EventLoop::new().unwrap();
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                for i in 0..REGISTER {
                    poll_once(aioloop::sleep(spread_ms(i))).await;
                }
            })
        })
    });
    group.finish();
}

const SLEEPERS: u64 = 100_000;

/// Deadline `i` of a spread over 20 ms (virtual time on both sides: this measures the timer
/// machinery, not the wall clock).
fn spread_20ms(i: u64) -> Duration {
    Duration::from_micros((i * 7919) % 20_000)
}

fn sleep_to_completion(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers_to_completion_100k");
    group.sample_size(10);
    let rt = tokio_rt(true);
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..SLEEPERS)
                    .map(|i| tokio::spawn(tokio::time::sleep(spread_20ms(i))))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    let lp = aioloop::EventLoop::builder().start_paused(true).build().unwrap();
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let tasks: Vec<_> = (0..SLEEPERS)
                    .map(|i| aioloop::spawn(aioloop::sleep(spread_20ms(i))))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

/// The actual wall-clock duration of one sleep: criterion's time per iteration.
fn sleep_actual(c: &mut Criterion) {
    for (name, asked) in [
        ("sleep_1ms_actual", Duration::from_millis(1)),
        ("sleep_100us_actual", Duration::from_micros(100)),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(30).measurement_time(Duration::from_secs(3));
        let rt = tokio_rt(false);
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        tokio::time::sleep(asked).await;
                    }
                    start.elapsed()
                })
            })
        });
        let lp = aioloop::EventLoop::new().unwrap();
        group.bench_function("aioloop", |b| {
            b.iter_custom(|iters| {
                lp.run_until_complete(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        aioloop::sleep(asked).await;
                    }
                    start.elapsed()
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, register_cancel, sleep_to_completion, sleep_actual);
criterion_main!(benches);
