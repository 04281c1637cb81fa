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

/// The ready list against the textbook per-child `Arc` waker + `Mutex<Vec>`, both on aioloop.
fn gather_scheme(c: &mut Criterion) {
    let mut group = c.benchmark_group("gather_scheme");
    let lp = aioloop::EventLoop::new().unwrap();
    for n in [1_000usize, 100_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("arc_mutex", n), &n, |b, &n| {
            b.iter(|| {
                lp.run_until_complete(async {
                    let out = arc_mutex::gather((0..n).map(|i| async move {
                        aioloop::yield_now().await;
                        i
                    }))
                    .await;
                    black_box(out)
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("ready_list", n), &n, |b, &n| {
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

criterion_group!(benches, gather_yield_once, gather_scheme);
criterion_main!(benches);

/// The textbook scheme the ready list replaces, for comparison on the same loop: one
/// `Arc` waker per child (`std::task::Wake`) and a mutex-protected `Vec` of ready indices.
mod arc_mutex {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Wake, Waker};

    struct Shared {
        ready: Mutex<Vec<usize>>,
        parent: Mutex<Option<Waker>>,
    }

    struct ChildWaker {
        index: usize,
        queued: AtomicBool,
        shared: Arc<Shared>,
    }

    impl Wake for ChildWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref()
        }

        fn wake_by_ref(self: &Arc<Self>) {
            if self.queued.swap(true, Ordering::AcqRel) {
                return;
            }
            let was_empty = {
                let mut ready = self.shared.ready.lock().unwrap();
                ready.push(self.index);
                ready.len() == 1
            };
            if was_empty {
                if let Some(parent) = self.shared.parent.lock().unwrap().clone() {
                    parent.wake();
                }
            }
        }
    }

    pub struct Gather<F: Future> {
        children: Vec<Option<F>>,
        outputs: Vec<Option<F::Output>>,
        wakers: Vec<(Arc<ChildWaker>, Waker)>,
        shared: Arc<Shared>,
        pending: usize,
        started: bool,
        spare: Vec<usize>,
    }

    impl<F: Future> Unpin for Gather<F> {}

    pub fn gather<F: Future>(futures: impl IntoIterator<Item = F>) -> Gather<F> {
        let children: Vec<Option<F>> = futures.into_iter().map(Some).collect();
        let shared = Arc::new(Shared {
            ready: Mutex::new(Vec::new()),
            parent: Mutex::new(None),
        });
        let wakers = (0..children.len())
            .map(|index| {
                let child = Arc::new(ChildWaker {
                    index,
                    queued: AtomicBool::new(false),
                    shared: shared.clone(),
                });
                (child.clone(), Waker::from(child))
            })
            .collect();
        Gather {
            outputs: children.iter().map(|_| None).collect(),
            pending: children.len(),
            children,
            wakers,
            shared,
            started: false,
            spare: Vec::new(),
        }
    }

    impl<F: Future> Gather<F> {
        fn poll_child(&mut self, index: usize) {
            let (node, waker) = &self.wakers[index];
            node.queued.store(false, Ordering::Release);
            let Some(child) = self.children[index].as_mut() else {
                return;
            };
            // SAFETY: children are never moved; a finished one is dropped in place.
            let child = unsafe { Pin::new_unchecked(child) };
            if let Poll::Ready(output) = child.poll(&mut Context::from_waker(waker)) {
                self.children[index] = None;
                self.outputs[index] = Some(output);
                self.pending -= 1;
            }
        }
    }

    impl<F: Future> Future for Gather<F> {
        type Output = Vec<F::Output>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
            let this = self.get_mut();
            *this.shared.parent.lock().unwrap() = Some(cx.waker().clone());
            if !this.started {
                this.started = true;
                for index in 0..this.children.len() {
                    this.poll_child(index);
                }
            } else {
                let mut woken = std::mem::take(&mut this.spare);
                std::mem::swap(&mut woken, &mut *this.shared.ready.lock().unwrap());
                for &index in &woken {
                    this.poll_child(index);
                }
                woken.clear();
                this.spare = woken;
            }
            if this.pending > 0 {
                return Poll::Pending;
            }
            Poll::Ready(this.outputs.iter_mut().map(|o| o.take().unwrap()).collect())
        }
    }
}
