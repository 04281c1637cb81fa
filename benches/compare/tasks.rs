//! The summary's task workloads: spawning, yielding, hand-offs between tasks, remote spawns,
//! gather and a lock (included by benches/compare.rs). Each but the remote spawn runs on a warm
//! and on a fresh loop.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::shapes::{aioloop_chain, tokio_chain};
use crate::{tokio_rt, warm_and_fresh, Workload};

/// Remote spawns: 2 threads × 50k submissions to a loop running on its own thread; the time
/// until all have run. Both sides count with one atomic and signal through a std channel.
fn remote_spawn() -> Workload {
    const PER: usize = 50_000;
    fn round(submit: Arc<dyn Fn(Arc<AtomicUsize>, std::sync::mpsc::Sender<()>) + Send + Sync>) -> Duration {
        let count = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let start = Instant::now();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (submit, count, tx) = (submit.clone(), count.clone(), tx.clone());
                std::thread::spawn(move || {
                    for _ in 0..PER {
                        submit(count.clone(), tx.clone());
                    }
                })
            })
            .collect();
        rx.recv().unwrap();
        let elapsed = start.elapsed();
        for t in threads {
            t.join().unwrap();
        }
        elapsed
    }
    fn item(count: &AtomicUsize, tx: &std::sync::mpsc::Sender<()>) {
        if count.fetch_add(1, Ordering::Relaxed) + 1 == 2 * PER {
            let _ = tx.send(());
        }
    }
    let (ht, ha) = {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio_rt(false);
            tx.send(rt.handle().clone()).unwrap();
            rt.block_on(std::future::pending::<()>());
        });
        let tokio_handle = rx.recv().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let lp = aioloop::EventLoop::new().unwrap();
            tx.send(lp.handle()).unwrap();
            lp.run_forever();
        });
        (tokio_handle, rx.recv().unwrap())
    };
    Workload::new(
        "remote spawn (2 threads x 50k)",
        2 * PER as u64,
        Box::new(move || {
            let h = ht.clone();
            round(Arc::new(move |c, tx| drop(h.spawn(async move { item(&c, &tx) }))))
        }),
        Box::new(move || {
            let h = ha.clone();
            round(Arc::new(move |c, tx| {
                drop(h.run_future_threadsafe(async move { item(&c, &tx) }))
            }))
        }),
    )
}

/// The task workloads, in table order.
pub(crate) fn workloads() -> Vec<Workload> {
    let rows = [
        warm_and_fresh(
            "spawn+join 1k",
            1_000,
            || async {
                for h in (0..1_000)
                    .map(|i| tokio::spawn(async move { i }))
                    .collect::<Vec<_>>()
                {
                    h.await.unwrap();
                }
            },
            || async {
                for h in (0..1_000)
                    .map(|i| aioloop::spawn(async move { i }))
                    .collect::<Vec<_>>()
                {
                    h.await.unwrap();
                }
            },
        ),
        warm_and_fresh(
            "spawn+join 100k",
            100_000,
            || async {
                for h in (0..100_000)
                    .map(|i| tokio::spawn(async move { i }))
                    .collect::<Vec<_>>()
                {
                    h.await.unwrap();
                }
            },
            || async {
                for h in (0..100_000)
                    .map(|i| aioloop::spawn(async move { i }))
                    .collect::<Vec<_>>()
                {
                    h.await.unwrap();
                }
            },
        ),
        warm_and_fresh(
            "yield (200 tasks x 1000)",
            200_000,
            || async {
                for h in (0..200)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..1000 {
                                tokio::task::yield_now().await
                            }
                        })
                    })
                    .collect::<Vec<_>>()
                {
                    h.await.unwrap();
                }
            },
            || async {
                for h in (0..200)
                    .map(|_| {
                        aioloop::spawn(async {
                            for _ in 0..1000 {
                                aioloop::yield_now().await
                            }
                        })
                    })
                    .collect::<Vec<_>>()
                {
                    h.await.unwrap();
                }
            },
        ),
        warm_and_fresh(
            "chained spawn (1000)",
            1_000,
            || async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio_chain(tx, 1000);
                rx.await.unwrap();
            },
            || async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                aioloop_chain(tx, 1000);
                rx.await.unwrap();
            },
        ),
        warm_and_fresh(
            "chained spawn (10,000)",
            10_000,
            || async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio_chain(tx, 10000);
                rx.await.unwrap();
            },
            || async {
                let (tx, rx) = tokio::sync::oneshot::channel();
                aioloop_chain(tx, 10000);
                rx.await.unwrap();
            },
        ),
        warm_and_fresh(
            "ping-pong (1000 pairs, 2 oneshots)",
            1_000,
            || async {
                let hs: Vec<_> = (0..1000)
                    .map(|_| {
                        tokio::spawn(async {
                            let (tx1, rx1) = tokio::sync::oneshot::channel::<u8>();
                            let (tx2, rx2) = tokio::sync::oneshot::channel::<u8>();
                            tokio::spawn(async move {
                                let v = rx1.await.unwrap();
                                tx2.send(v).unwrap();
                            });
                            tx1.send(1).unwrap();
                            rx2.await.unwrap();
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            },
            || async {
                let hs: Vec<_> = (0..1000)
                    .map(|_| {
                        aioloop::spawn(async {
                            let (tx1, rx1) = aioloop::sync::oneshot::channel::<u8>();
                            let (tx2, rx2) = aioloop::sync::oneshot::channel::<u8>();
                            drop(aioloop::spawn(async move {
                                let v = rx1.await.unwrap();
                                tx2.send(v).unwrap();
                            }));
                            tx1.send(1).unwrap();
                            rx2.await.unwrap();
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            },
        ),
        warm_and_fresh(
            "request/reply (1000 via queue of 10)",
            1_000,
            || async {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<(u32, tokio::sync::oneshot::Sender<u32>)>(10);
                let server = tokio::spawn(async move {
                    while let Some((v, reply)) = rx.recv().await {
                        let _ = reply.send(v + 1);
                    }
                });
                for i in 0..1000 {
                    let (rtx, rrx) = tokio::sync::oneshot::channel();
                    tx.send((i, rtx)).await.unwrap();
                    rrx.await.unwrap();
                }
                drop(tx);
                server.await.unwrap();
            },
            || async {
                let queue = aioloop::sync::Queue::<(u32, aioloop::sync::oneshot::Sender<u32>)>::new(10);
                let q = queue.clone();
                let server = aioloop::spawn(async move {
                    while let Ok((v, reply)) = q.get().await {
                        let _ = reply.send(v + 1);
                    }
                });
                for i in 0..1000 {
                    let (rtx, rrx) = aioloop::sync::oneshot::channel();
                    queue.put((i, rtx)).await.ok().unwrap();
                    rrx.await.unwrap();
                }
                queue.shutdown(false);
                server.await.unwrap();
            },
        ),
        warm_and_fresh(
            "gather 100k (yield once) vs join_all",
            100_000,
            || async {
                futures::future::join_all((0..100_000).map(|_| async { tokio::task::yield_now().await }))
                    .await;
            },
            || async {
                aioloop::gather((0..100_000).map(|_| async { aioloop::yield_now().await })).await;
            },
        ),
        warm_and_fresh(
            "uncontended lock (1M)",
            1_000_000,
            || async {
                let m = tokio::sync::Mutex::new(0u64);
                for _ in 0..1_000_000 {
                    *m.lock().await += 1;
                }
            },
            || async {
                let l = aioloop::sync::Lock::new();
                for _ in 0..1_000_000 {
                    drop(l.lock().await);
                }
            },
        ),
    ];
    let mut rows: Vec<Workload> = rows.into_iter().flatten().collect();
    rows.push(remote_spawn());
    rows
}
