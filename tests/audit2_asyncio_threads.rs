//! Second audit against CPython's Lib/test/test_asyncio/test_threads.py (`to_thread`),
//! test_tasks.py's `RunCoroutineThreadsafeTests` and test_futures.py's `wrap_future` tests: the
//! ones threads*.rs, task_model_threads.rs and audit2_asyncio_tasks.rs do not port. Each test
//! is named after the CPython test it ports and says what it checks.
//!
//! The Rust spelling: `asyncio.to_thread(f, *args)` is `aioloop::to_thread(move || f(args))`,
//! `run_coroutine_threadsafe(coro, loop)` is `handle.run_coroutine_threadsafe(|| coro)` and
//! gives a `ConcurrentFuture` (`concurrent.futures.Future`), and `asyncio.wrap_future(cf)` is
//! awaiting that `ConcurrentFuture` on a loop (it is a `std::future::Future`).

use std::future::Future as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aioloop::{sleep, spawn, yield_now, EventLoop, LoopHandle};

/// Sets its flag when dropped: the `finally:` of a coroutine running on the other loop.
struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A loop running forever on a thread of its own; stopped and joined on drop.
struct OtherLoop {
    handle: LoopHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtherLoop {
    fn start() -> OtherLoop {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let event_loop = EventLoop::new().unwrap();
            tx.send(event_loop.handle()).unwrap();
            event_loop.run_forever();
        });
        OtherLoop {
            handle: rx.recv().unwrap(),
            thread: Some(thread),
        }
    }
}

impl Drop for OtherLoop {
    fn drop(&mut self) {
        let _ = self.handle.stop();
        let _ = self.thread.take().unwrap().join();
    }
}

/// Waits (at most 10 s, on the loop) until `flag` is set.
async fn until_set(flag: &AtomicBool) {
    for _ in 0..1000 {
        if flag.load(Ordering::SeqCst) {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("not set after 10 s");
}

/// test_threads.py `test_to_thread`: the function's result comes back.
#[aioloop::test]
async fn test_to_thread() {
    let result = aioloop::to_thread(|| [40, 2].iter().sum::<i32>()).await.unwrap();
    assert_eq!(result, 42);
}

/// test_threads.py `test_to_thread_exception`: the function's exception (here: panic) is the
/// awaiter's error, with its message.
#[aioloop::test]
async fn test_to_thread_exception() {
    let err = aioloop::to_thread(|| -> i32 { panic!("test") })
        .await
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("test"));
}

/// test_threads.py `test_to_thread_once`: the function is called exactly once.
#[aioloop::test]
async fn test_to_thread_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    aioloop::to_thread(move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .await
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// test_threads.py `test_to_thread_concurrent`: ten calls gathered all run, once each.
#[aioloop::test]
async fn test_to_thread_concurrent() {
    let calls = Arc::new(AtomicUsize::new(0));
    let futs = (0..10).map(|_| {
        let c = calls.clone();
        aioloop::to_thread(move || {
            c.fetch_add(1, Ordering::SeqCst);
        })
    });
    let outs = aioloop::gather(futs).await;
    assert!(outs.iter().all(Result::is_ok));
    assert_eq!(calls.load(Ordering::SeqCst), 10);
}

/// test_futures.py `test_wrap_future`: a function run in the executor (`run_in_executor`, then
/// awaited on the loop) returns its value, from another thread than the loop's.
#[aioloop::test]
async fn test_wrap_future() {
    let (res, ident) = aioloop::run_in_executor(|| ("oi", std::thread::current().id()))
        .await
        .unwrap();
    assert_eq!(res, "oi");
    assert_ne!(ident, std::thread::current().id());
}

/// test_tasks.py `test_run_coroutine_threadsafe`: a thread of the loop's executor submits a
/// coroutine (sleep 50 ms, then `1 + 2`) to the loop and blocks on its result, while the loop
/// awaits that thread: the loop runs the coroutine meanwhile and the thread gets 3.
#[aioloop::test]
async fn test_run_coroutine_threadsafe() {
    let handle = aioloop::get_running_loop().handle();
    let target = move || {
        let future = handle.run_coroutine_threadsafe(|| async {
            sleep(Duration::from_millis(50)).await;
            1 + 2
        });
        future.result()
    };
    let result = aioloop::run_in_executor(target).await.unwrap();
    assert_eq!(result.unwrap(), 3);
}

/// test_futures.py `test_wrap_future_cancel`: cancelling the loop-side future that waits for a
/// `concurrent.futures.Future` cancels that one too (asyncio's `_chain_future`), and so the
/// coroutine behind it on the other loop. Here: a task awaiting a `ConcurrentFuture` is
/// cancelled, which drops the `ConcurrentFuture` as a cancellation while it is awaited: it is
/// cancelled, and the other loop drops the coroutine (as a `Task` handle awaited by a
/// cancelled task cancels its task).
#[aioloop::test]
async fn test_wrap_future_cancel() {
    let other = OtherLoop::start();
    let (started, dropped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (s, d) = (started.clone(), dropped.clone());
    let f1 = other.handle.run_coroutine_threadsafe(move || async move {
        let _guard = SetOnDrop(d);
        s.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
    });
    let f2 = spawn(f1);
    until_set(&started).await;
    yield_now().await; // f2 is awaiting f1
    assert!(f2.cancel());
    assert!(f2.await.unwrap_err().is_cancelled());
    until_set(&dropped).await;
}

/// test_futures.py `test_wrap_future_cancel2`: once the `concurrent.futures.Future` has its
/// result, cancelling the loop-side waiter does not cancel it: the coroutine on the other loop
/// finished normally (its `finally` ran without a cancellation) and its result stays.
#[aioloop::test]
async fn test_wrap_future_cancel2() {
    let other = OtherLoop::start();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let f1 = other.handle.run_coroutine_threadsafe(move || async move {
        f.store(true, Ordering::SeqCst);
        42
    });
    until_set(&finished).await;
    let f2 = spawn(f1);
    assert!(f2.cancel(), "cancelled before its first step");
    assert!(f2.await.unwrap_err().is_cancelled());
    let again = other.handle.run_coroutine_threadsafe(|| async { 7 });
    assert_eq!(again.await.unwrap(), 7, "the other loop runs on");
}

/// test_tasks.py `test_run_coroutine_threadsafe_with_timeout`, awaited from a loop instead of
/// blocked on: `wait_for(wrap_future(cf), t)` times out, which cancels the
/// `concurrent.futures.Future` and so the coroutine on the other loop (asyncio's "no pending
/// task").
#[aioloop::test]
async fn test_run_coroutine_threadsafe_with_timeout_awaited_on_a_loop() {
    let other = OtherLoop::start();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let cf = other.handle.run_coroutine_threadsafe(move || async move {
        let _guard = SetOnDrop(d);
        sleep(Duration::from_secs(3600)).await;
        1 + 2
    });
    assert!(aioloop::wait_for(cf, Duration::from_millis(10)).await.is_err());
    until_set(&dropped).await;
}

/// The rule's other half (docs/asyncio.md): a `ConcurrentFuture` dropped without a
/// cancellation (never awaited, or dropped by ordinary code) detaches its coroutine, which runs
/// to its end on the other loop, as a dropped `concurrent.futures.Future` does.
#[aioloop::test]
async fn test_run_coroutine_threadsafe_dropped_future_detaches() {
    let other = OtherLoop::start();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let cf = other.handle.run_coroutine_threadsafe(move || async move {
        sleep(Duration::from_millis(20)).await;
        f.store(true, Ordering::SeqCst);
    });
    let mut cf = Box::pin(cf);
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(cf.as_mut().poll(cx))).await;
    assert!(polled.is_pending(), "awaited once");
    drop(cf);
    until_set(&finished).await;
}

/// test_futures.py `test_wrap_future_cancel` with an executor's future, as `to_thread` makes
/// it (`run_in_executor` wraps `executor.submit(f)`): the task awaiting it is cancelled while
/// `f` still waits for a free thread, which cancels the submitted future, so `f` never runs
/// (`ThreadPoolExecutor` skips a cancelled work item). One that has started runs to its end.
#[test]
fn test_wrap_future_cancel_run_in_executor() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    EventLoop::builder().blocking_threads(1).run(async move {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let busy = aioloop::to_thread(move || rx.recv().is_ok()); // the only thread
        let queued = spawn(aioloop::to_thread(move || r.store(true, Ordering::SeqCst)));
        yield_now().await;
        yield_now().await; // `queued` awaits its ToThread
        assert!(queued.cancel());
        assert!(queued.await.unwrap_err().is_cancelled());
        tx.send(()).unwrap();
        assert!(busy.await.unwrap(), "the started call ran to its end");
        aioloop::to_thread(|| ()).await.unwrap(); // the queue went past the cancelled one
    });
    assert!(!ran.load(Ordering::SeqCst), "the cancelled call never ran");
}

/// test_tasks.py `test_run_coroutine_threadsafe_with_timeout`'s cancellation, one level down:
/// `future.cancel()` from the other thread cancels the task on the loop (asyncio chains the
/// `concurrent.futures.Future` to it), and that cancellation travels on into the task the
/// coroutine awaits, as any `Task.cancel()` does.
#[test]
fn test_run_coroutine_threadsafe_cancel_travels_into_awaited_task() {
    let other = OtherLoop::start();
    let (started, dropped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (s, d) = (started.clone(), dropped.clone());
    let cf = other.handle.run_coroutine_threadsafe(move || async move {
        let inner = spawn(async move {
            let _guard = SetOnDrop(d);
            s.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
        });
        inner.await.unwrap();
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(cf.cancel());
    assert!(cf.result().unwrap_err().is_cancelled());
    for _ in 0..1000 {
        if dropped.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the task the cancelled coroutine awaited is still running");
}
