//! Issue 7: aioloop::sync against tokio's `Send` primitives on a current_thread runtime, side
//! by side in one criterion group per workload (ids `tokio` and `aioloop`).
//!
//! Every measurement runs inside an already running loop/runtime (`iter_custom`), so loop
//! creation is not timed. Run: `cargo bench --bench sync -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

const ROUND_TRIPS: u64 = 100_000;
const REQUESTS: u64 = 1_000;
const REQUEST_QUEUE: usize = 10;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn aioloop_loop() -> aioloop::EventLoop {
    aioloop::EventLoop::new().expect("aioloop loop")
}

/// A token bounced between two tasks through two unbounded queues, 100k round trips.
fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync/ping_pong_100k");
    group.sample_size(10);

    group.bench_function("tokio", |b| {
        let rt = tokio_rt();
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (to_b, mut b_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                    let (to_a, mut a_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                    let ponger = tokio::spawn(async move {
                        while let Some(n) = b_rx.recv().await {
                            to_a.send(n + 1).unwrap();
                        }
                    });
                    for i in 0..ROUND_TRIPS {
                        to_b.send(i).unwrap();
                        black_box(a_rx.recv().await.unwrap());
                    }
                    drop(to_b);
                    ponger.await.unwrap();
                }
                start.elapsed()
            })
        })
    });

    group.bench_function("aioloop", |b| {
        let event_loop = aioloop_loop();
        b.iter_custom(|iters| {
            event_loop.run_until_complete(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let to_b = aioloop::sync::Queue::new(0);
                    let to_a = aioloop::sync::Queue::new(0);
                    let ponger = aioloop::spawn({
                        let (rx, tx) = (to_b.clone(), to_a.clone());
                        async move {
                            while let Ok(n) = rx.get().await {
                                tx.put_nowait(n + 1).unwrap();
                            }
                        }
                    });
                    for i in 0..ROUND_TRIPS {
                        to_b.put_nowait(i).unwrap();
                        black_box(to_a.get().await.unwrap());
                    }
                    to_b.shutdown(false);
                    ponger.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// 1000 requests per round, each with a oneshot for its reply, sent through a bounded queue of
/// 10 to a server task; the client then awaits the replies.
fn request_reply(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync/request_reply_1000");
    group.sample_size(20);

    group.bench_function("tokio", |b| {
        let rt = tokio_rt();
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (requests, mut inbox) =
                        tokio::sync::mpsc::channel::<(u64, tokio::sync::oneshot::Sender<u64>)>(REQUEST_QUEUE);
                    let server = tokio::spawn(async move {
                        while let Some((n, reply)) = inbox.recv().await {
                            let _ = reply.send(n * 2);
                        }
                    });
                    let mut replies = Vec::with_capacity(REQUESTS as usize);
                    for n in 0..REQUESTS {
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        requests.send((n, tx)).await.unwrap();
                        replies.push(rx);
                    }
                    for rx in replies {
                        black_box(rx.await.unwrap());
                    }
                    drop(requests);
                    server.await.unwrap();
                }
                start.elapsed()
            })
        })
    });

    group.bench_function("aioloop", |b| {
        let event_loop = aioloop_loop();
        b.iter_custom(|iters| {
            event_loop.run_until_complete(async move {
                use aioloop::sync::oneshot;
                let start = Instant::now();
                for _ in 0..iters {
                    let requests = aioloop::sync::Queue::<(u64, oneshot::Sender<u64>)>::new(REQUEST_QUEUE);
                    let server = aioloop::spawn({
                        let inbox = requests.clone();
                        async move {
                            while let Ok((n, reply)) = inbox.get().await {
                                let _ = reply.send(n * 2);
                            }
                        }
                    });
                    let mut replies = Vec::with_capacity(REQUESTS as usize);
                    for n in 0..REQUESTS {
                        let (tx, rx) = oneshot::channel();
                        requests.put((n, tx)).await.unwrap();
                        replies.push(rx);
                    }
                    for rx in replies {
                        black_box(rx.await.unwrap());
                    }
                    requests.shutdown(false);
                    server.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// Lock then unlock with nobody else around, per iteration.
fn lock_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync/lock_uncontended");

    group.bench_function("tokio", |b| {
        let rt = tokio_rt();
        let mutex = tokio::sync::Mutex::new(());
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    drop(black_box(mutex.lock().await));
                }
                start.elapsed()
            })
        })
    });

    group.bench_function("aioloop", |b| {
        let event_loop = aioloop_loop();
        let lock = aioloop::sync::Lock::new();
        b.iter_custom(|iters| {
            event_loop.run_until_complete(async {
                let start = Instant::now();
                for _ in 0..iters {
                    drop(black_box(lock.lock().await));
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = ping_pong, request_reply, lock_uncontended
}
criterion_main!(benches);
