//! Combinator workloads on aioloop and on tokio's current_thread runtime, side by side:
//! `aioloop::gather` against `futures::future::join_all` (the usual way to gather on tokio),
//! over futures that each yield once. Per-child cost should stay flat from 1k to 100k children.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn gather_yield_once(c: &mut Criterion) {
    let mut group = c.benchmark_group("gather_yield_once");
    for n in [1_000usize, 100_000] {
        group.throughput(Throughput::Elements(n as u64));
        let rt = tokio_rt();
        group.bench_with_input(BenchmarkId::new("tokio", n), &n, |b, &n| {
            b.iter(|| {
                rt.block_on(async {
                    let out = futures::future::join_all((0..n).map(|i| async move {
                        tokio::task::yield_now().await;
                        i
                    }))
                    .await;
                    black_box(out)
                })
            })
        });
        let lp = aioloop::EventLoop::new().unwrap();
        group.bench_with_input(BenchmarkId::new("aioloop", n), &n, |b, &n| {
            b.iter(|| {
                lp.run_until_complete(async {
                    let out = aioloop::gather((0..n).map(|i| async move {
                        aioloop::yield_now().await;
                        i
                    }))
                    .await;
                    black_box(out)
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, gather_yield_once);
criterion_main!(benches);
