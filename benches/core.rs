//! Core scheduling workloads, each on aioloop and on tokio's current_thread runtime
//! (`enable_all()`), same code shape, same criterion group.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[path = "common/shapes.rs"]
mod shapes;
use shapes::{aioloop_chain, tokio_chain};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many");
    for n in [1_000usize, 100_000] {
        let rt = tokio_rt();
        group.bench_with_input(BenchmarkId::new("tokio", n), &n, |b, &n| {
            b.iter(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..n)
                        .map(|i| tokio::spawn(async move { black_box(i) }))
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                })
            })
        });
        let lp = aioloop::EventLoop::new().unwrap();
        group.bench_with_input(BenchmarkId::new("aioloop", n), &n, |b, &n| {
            b.iter(|| {
                lp.run_until_complete(async {
                    let handles: Vec<_> = (0..n)
                        .map(|i| aioloop::spawn(async move { black_box(i) }))
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                })
            })
        });
    }
    group.finish();
}

const YIELD_TASKS: usize = 200;
const YIELDS: usize = 1000;

fn yield_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_many");
    let rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..YIELDS {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    let lp = aioloop::EventLoop::new().unwrap();
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let handles: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        aioloop::spawn(async {
                            for _ in 0..YIELDS {
                                aioloop::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

const CHAIN: usize = 1000;

fn chained_spawn(c: &mut Criterion) {
    // Both sides signal completion through the same runtime-agnostic oneshot.
    let mut group = c.benchmark_group("chained_spawn");
    let rt = tokio_rt();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio_chain(tx, CHAIN);
                rx.await.unwrap();
            })
        })
    });
    let lp = aioloop::EventLoop::new().unwrap();
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                aioloop_chain(tx, CHAIN);
                rx.await.unwrap();
            })
        })
    });
    group.finish();
}

criterion_group!(benches, spawn_many, yield_many, chained_spawn);
criterion_main!(benches);
