//! Threads into a loop, aioloop against tokio's current_thread runtime, side by side:
//!
//! - `submit_2x50k`: two foreign threads each submit 50,000 pieces of work to a running loop;
//!   the time until the loop has run all 100,000. aioloop with `call_soon_threadsafe` (a
//!   callback) and `run_coroutine_threadsafe` (a task, its `ConcurrentFuture` dropped); tokio
//!   with `Handle::spawn` (a task, its `JoinHandle` dropped). tokio is built with
//!   `enable_all()`, so like aioloop its loop has an I/O driver to wake.
//! - `wake_latency_parked`: one-way latency from a foreign thread's submission to the callback
//!   running on a loop that was parked (blocked in epoll) when it was sent.
//!
//! After criterion, `--bench` runs also print p50/p99 of the one-way latency from 5,000 raw
//! samples per runtime.
//!
//! `cargo bench --bench threads -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aioloop::{EventLoop, LoopHandle};
use criterion::{criterion_group, BenchmarkId, Criterion};

const PRODUCERS: usize = 2;
const PER_PRODUCER: usize = 50_000;
const TOTAL: usize = PRODUCERS * PER_PRODUCER;

/// Work items run so far in the current round, and whom to tell when all have.
static COUNT: AtomicUsize = AtomicUsize::new(0);
static DONE: Mutex<Option<mpsc::Sender<()>>> = Mutex::new(None);

/// The body of every submitted piece of work: count, and signal the last one.
#[inline]
fn work_item() {
    if COUNT.fetch_add(1, Ordering::Relaxed) + 1 == TOTAL {
        if let Some(done) = DONE.lock().unwrap().as_ref() {
            done.send(()).unwrap();
        }
    }
}

/// An aioloop loop running `run_forever` on its own thread.
fn start_aioloop() -> (LoopHandle, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let event_loop = EventLoop::new().unwrap();
        tx.send(event_loop.handle()).unwrap();
        event_loop.run_forever();
    });
    (rx.recv().unwrap(), thread)
}

/// A tokio current_thread runtime (I/O and time enabled) running on its own thread until
/// the returned sender is used.
fn start_tokio() -> (
    tokio::runtime::Handle,
    tokio::sync::oneshot::Sender<()>,
    thread::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tx.send(rt.handle().clone()).unwrap();
        rt.block_on(async move {
            let _ = stop_rx.await;
        });
    });
    (rx.recv().unwrap(), stop_tx, thread)
}

/// One round: `PRODUCERS` threads each submit `PER_PRODUCER` items with `submit`; returns the
/// time until the loop has run all of them.
fn round(submit: &(dyn Fn() + Sync)) -> Duration {
    COUNT.store(0, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel();
    *DONE.lock().unwrap() = Some(tx);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..PRODUCERS {
            s.spawn(|| {
                for _ in 0..PER_PRODUCER {
                    submit();
                }
            });
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("every item ran");
    start.elapsed()
}

fn submit_throughput(c: &mut Criterion) {
    let (aio, aio_thread) = start_aioloop();
    let (tok, tok_stop, tok_thread) = start_tokio();
    let mut group = c.benchmark_group("submit_2x50k");
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("aioloop", "call_soon_threadsafe"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| round(&|| aio.call_soon_threadsafe(work_item).unwrap()))
                .sum()
        })
    });
    group.bench_function(BenchmarkId::new("aioloop", "run_coroutine_threadsafe"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round(&|| {
                        drop(aio.run_future_threadsafe(async { work_item() }));
                    })
                })
                .sum()
        })
    });
    group.bench_function(BenchmarkId::new("tokio", "Handle::spawn"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round(&|| {
                        drop(tok.spawn(async { work_item() }));
                    })
                })
                .sum()
        })
    });
    group.finish();
    aio.stop().unwrap();
    aio_thread.join().unwrap();
    tok_stop.send(()).unwrap();
    tok_thread.join().unwrap();
}

/// Waits long enough (busy, off the loop's core) for a loop that just ran a callback to park.
fn let_it_park() {
    let until = Instant::now() + Duration::from_micros(50);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// One one-way latency sample on a parked aioloop loop.
fn aioloop_wake(handle: &LoopHandle, tx: &mpsc::Sender<Duration>, rx: &mpsc::Receiver<Duration>) -> Duration {
    let_it_park();
    let tx = tx.clone();
    let start = Instant::now();
    handle
        .call_soon_threadsafe(move || tx.send(start.elapsed()).unwrap())
        .unwrap();
    rx.recv().unwrap()
}

/// One one-way latency sample on a parked tokio runtime.
fn tokio_wake(
    handle: &tokio::runtime::Handle,
    tx: &mpsc::Sender<Duration>,
    rx: &mpsc::Receiver<Duration>,
) -> Duration {
    let_it_park();
    let tx = tx.clone();
    let start = Instant::now();
    drop(handle.spawn(async move { tx.send(start.elapsed()).unwrap() }));
    rx.recv().unwrap()
}

fn wake_latency(c: &mut Criterion) {
    let (aio, aio_thread) = start_aioloop();
    let (tok, tok_stop, tok_thread) = start_tokio();
    let (tx, rx) = mpsc::channel();
    let mut group = c.benchmark_group("wake_latency_parked");
    group.bench_function("aioloop/call_soon_threadsafe", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| black_box(aioloop_wake(&aio, &tx, &rx))).sum())
    });
    group.bench_function("tokio/Handle::spawn", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| black_box(tokio_wake(&tok, &tx, &rx))).sum())
    });
    group.finish();
    aio.stop().unwrap();
    aio_thread.join().unwrap();
    tok_stop.send(()).unwrap();
    tok_thread.join().unwrap();
}

/// p50 and p99 of `n` one-way latency samples.
fn percentiles(mut sample: impl FnMut() -> Duration, n: usize) -> (Duration, Duration) {
    let mut all: Vec<Duration> = (0..n).map(|_| sample()).collect();
    all.sort();
    (all[n / 2], all[n * 99 / 100])
}

fn latency_percentiles() {
    const N: usize = 5_000;
    let (aio, aio_thread) = start_aioloop();
    let (tok, tok_stop, tok_thread) = start_tokio();
    let (tx, rx) = mpsc::channel();
    let (a50, a99) = percentiles(|| aioloop_wake(&aio, &tx, &rx), N);
    let (t50, t99) = percentiles(|| tokio_wake(&tok, &tx, &rx), N);
    println!("\nwake latency of a parked loop, one way, {N} samples each:");
    println!("  aioloop call_soon_threadsafe: p50 {a50:>9.2?}  p99 {a99:>9.2?}");
    println!("  tokio   Handle::spawn:        p50 {t50:>9.2?}  p99 {t99:>9.2?}");
    println!(
        "  p50 ratio tokio/aioloop: {:.2}",
        t50.as_secs_f64() / a50.as_secs_f64()
    );
    aio.stop().unwrap();
    aio_thread.join().unwrap();
    tok_stop.send(()).unwrap();
    tok_thread.join().unwrap();
}

criterion_group!(benches, submit_throughput, wake_latency);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    if std::env::args().any(|arg| arg == "--bench") {
        latency_percentiles();
    }
}
