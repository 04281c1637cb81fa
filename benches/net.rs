//! Network workloads on aioloop and on tokio's current_thread runtime (`enable_all()`), same
//! code shape, client and server on the same loop:
//! - `tcp_echo_50x64`: 50 persistent connections, each doing 100 round trips of 64 bytes
//!   concurrently (5,000 round trips per iteration; benches/common/tcp_echo.rs, which the
//!   summary in benches/compare.rs runs too);
//! - `tcp_connect_50`: 50 connections opened, one 64-byte round trip each, closed.

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common/tcp_echo.rs"]
mod tcp_echo;

use tcp_echo::{on_aioloop, on_tokio, tokio_rt, AioloopEcho, TokioEcho, CONNS};

fn tcp_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_echo_50x64");
    let echo = TokioEcho::new();
    group.bench_function("tokio", |b| b.iter(|| echo.run()));
    let echo = AioloopEcho::new();
    group.bench_function("aioloop", |b| b.iter(|| echo.run()));
    group.finish();
}

fn tcp_connect(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_connect_50");

    let rt = tokio_rt();
    let addr = rt.block_on(on_tokio::echo_server());
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONNS)
                    .map(|_| {
                        tokio::spawn(
                            async move { on_tokio::round_trips(on_tokio::connect(addr).await, 1).await },
                        )
                    })
                    .collect();
                for task in tasks {
                    drop(task.await.unwrap());
                }
            })
        })
    });

    let lp = aioloop::EventLoop::new().unwrap();
    let addr = lp.run_until_complete(on_aioloop::echo_server());
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let tasks: Vec<_> = (0..CONNS)
                    .map(|_| {
                        aioloop::spawn(async move {
                            on_aioloop::round_trips(on_aioloop::connect(addr).await, 1).await
                        })
                    })
                    .collect();
                for task in tasks {
                    drop(task.await.unwrap());
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, tcp_echo, tcp_connect);
criterion_main!(benches);
