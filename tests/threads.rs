//! Threads through the public API: LoopHandle, run_coroutine_threadsafe, ConcurrentFuture,
//! call_soon_threadsafe, LoopBound, to_thread; closing; misuse; a stress test.
//!
//! Every test that could hang on a lost wakeup runs under a watchdog, so a bug fails the test
//! instead of hanging the suite.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use aioloop::{EventLoop, LoopBound};

mod thread_support;

use thread_support::{watchdog, LoopThread};

#[test]
fn call_soon_threadsafe_runs_on_the_loop_thread_in_order() {
    watchdog(30, || {
        let lt = LoopThread::start();
        let loop_thread = lt.thread.as_ref().unwrap().thread().id();
        let (tx, rx) = mpsc::channel();
        for i in 0..100 {
            let tx = tx.clone();
            lt.handle
                .call_soon_threadsafe(move || tx.send((i, thread::current().id())).unwrap())
                .unwrap();
        }
        for i in 0..100 {
            let (got, on) = rx.recv().unwrap();
            assert_eq!(
                got, i,
                "callbacks from one thread run in the order they were sent"
            );
            assert_eq!(on, loop_thread);
        }
        lt.stop();
    });
}

#[test]
fn run_coroutine_threadsafe_blocks_awaits_and_resolves() {
    watchdog(30, || {
        let lt = LoopThread::start();
        let fut = lt.handle.run_future_threadsafe(async {
            aioloop::yield_now().await;
            "from the loop"
        });
        assert_eq!(fut.result().unwrap(), "from the loop");

        let fut = aioloop::run_coroutine_threadsafe(|| async { 5 }, &lt.handle);
        assert_eq!(fut.result_timeout(Duration::from_secs(10)).unwrap(), 5);

        // Awaited by another aioloop loop, and by tokio.
        let fut = lt.handle.run_future_threadsafe(async { 6 });
        assert_eq!(aioloop::run(fut).unwrap(), 6);
        let fut = lt.handle.run_future_threadsafe(async { 7 });
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(fut).unwrap(), 7);

        // A future that is not Send, built on the loop.
        let fut = lt.handle.run_coroutine_threadsafe(|| {
            let rc = Rc::new(Cell::new(1));
            async move {
                aioloop::yield_now().await;
                rc.set(rc.get() + 1);
                rc.get()
            }
        });
        assert_eq!(fut.result().unwrap(), 2);
        lt.stop();
    });
}

#[test]
fn panics_come_back_as_errors() {
    watchdog(30, || {
        let lt = LoopThread::start();
        let err = lt
            .handle
            .run_future_threadsafe(async { panic!("in the future") })
            .result()
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("in the future"));
        let err = lt
            .handle
            .run_coroutine_threadsafe(|| -> std::future::Ready<()> { panic!("in make") })
            .result()
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("in make"));
        // A panicking callback goes to the exception handler; the loop goes on.
        lt.handle
            .call_soon_threadsafe(|| panic!("in a callback"))
            .unwrap();
        assert_eq!(lt.handle.run_future_threadsafe(async { 1 }).result().unwrap(), 1);
        lt.stop();
    });
}

/// Counts its drops and records the thread they happened on.
struct DropProbe {
    drops: Arc<AtomicUsize>,
    on: Arc<Mutex<Option<thread::ThreadId>>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        *self.on.lock().unwrap() = Some(thread::current().id());
    }
}

fn probe() -> (DropProbe, Arc<AtomicUsize>, Arc<Mutex<Option<thread::ThreadId>>>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(Mutex::new(None));
    (
        DropProbe {
            drops: drops.clone(),
            on: on.clone(),
        },
        drops,
        on,
    )
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn result_timeout_cancels_the_task_on_the_loop() {
    watchdog(30, || {
        let lt = LoopThread::start();
        let loop_thread = lt.thread.as_ref().unwrap().thread().id();
        let (guard, drops, on) = probe();
        let started = Arc::new(AtomicBool::new(false));
        let flag = started.clone();
        let fut = lt.handle.run_future_threadsafe(async move {
            let _guard = guard;
            flag.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
        });
        wait_until("the task started", || started.load(Ordering::SeqCst));
        let err = fut.result_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        wait_until("the loop dropped the future", || {
            drops.load(Ordering::SeqCst) == 1
        });
        assert_eq!(
            *on.lock().unwrap(),
            Some(loop_thread),
            "dropped on the loop's thread"
        );
        lt.stop();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn cancel_before_and_after_start() {
    watchdog(30, || {
        // Cancelled before the loop ever ran it: the future is never polled.
        let event_loop = EventLoop::new().unwrap();
        let handle = event_loop.handle();
        let polled = Arc::new(AtomicBool::new(false));
        let flag = polled.clone();
        let fut = thread::spawn(move || {
            handle.run_future_threadsafe(async move { flag.store(true, Ordering::SeqCst) })
        })
        .join()
        .unwrap();
        assert!(fut.cancel());
        assert!(!fut.cancel(), "cancel is once");
        assert!(fut.is_done() && fut.is_cancelled());
        event_loop.run_until_complete(aioloop::yield_now());
        assert!(!polled.load(Ordering::SeqCst));
        assert!(fut.result().unwrap_err().is_cancelled());

        // Cancelled while it waits: awaited, it resolves to Cancelled at once.
        let (guard, drops, _) = probe();
        let fut = event_loop.handle().run_future_threadsafe(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let out = event_loop.run_until_complete(async move {
            aioloop::yield_now().await;
            aioloop::yield_now().await;
            assert!(fut.cancel());
            fut.await
        });
        assert!(out.unwrap_err().is_cancelled());
        event_loop.run_until_complete(aioloop::yield_now());
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the loop dropped the cancelled future"
        );
    });
}

#[test]
fn a_closed_loop_refuses_everything_and_resolves_queued_work() {
    watchdog(30, || {
        let event_loop = EventLoop::new().unwrap();
        let handle = event_loop.handle();
        // Queued while the loop is not running, then the loop closes: nothing runs, every
        // ConcurrentFuture resolves to LoopClosed, the futures are dropped.
        let (guard, drops, _) = probe();
        let ran = Arc::new(AtomicBool::new(false));
        let (r1, r2) = (ran.clone(), ran.clone());
        let h = handle.clone();
        let (queued, blocked) = thread::spawn(move || {
            let queued = h.run_future_threadsafe(async move {
                let _guard = guard;
                r1.store(true, Ordering::SeqCst);
            });
            h.call_soon_threadsafe(move || r2.store(true, Ordering::SeqCst))
                .unwrap();
            // A thread blocked in result() while the loop closes gets LoopClosed.
            let h2 = h.clone();
            let blocked = thread::spawn(move || h2.run_future_threadsafe(async { 1 }).result());
            (queued, blocked)
        })
        .join()
        .unwrap();
        thread::sleep(Duration::from_millis(20)); // let the blocked thread block
        drop(event_loop);
        assert!(handle.is_closed());
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(queued.result().unwrap_err().is_loop_closed());
        assert!(blocked.join().unwrap().unwrap_err().is_loop_closed());

        // After the close, from any thread.
        thread::spawn(move || {
            assert_eq!(handle.call_soon_threadsafe(|| {}), Err(aioloop::LoopClosed));
            assert_eq!(handle.stop(), Err(aioloop::LoopClosed));
            let fut = handle.run_future_threadsafe(async { 1 });
            assert!(fut.is_done());
            assert!(fut.result().unwrap_err().is_loop_closed());
            let fut = handle.run_coroutine_threadsafe(|| async { 1 });
            assert!(fut
                .result_timeout(Duration::from_secs(1))
                .unwrap_err()
                .is_loop_closed());
        })
        .join()
        .unwrap();
    });
}

#[test]
fn a_task_pending_at_close_resolves_to_loop_closed() {
    watchdog(30, || {
        let event_loop = EventLoop::new().unwrap();
        let handle = event_loop.handle();
        let fut = handle.run_future_threadsafe(std::future::pending::<()>());
        event_loop.run_until_complete(async {
            aioloop::yield_now().await;
            aioloop::yield_now().await;
        });
        assert!(!fut.is_done(), "the task is running");
        let waiter = thread::spawn(move || fut.result());
        drop(event_loop);
        assert!(waiter.join().unwrap().unwrap_err().is_loop_closed());
    });
}

#[test]
fn blocking_result_on_the_loop_thread_panics_instead_of_deadlocking() {
    watchdog(30, || {
        // From inside the running loop.
        let msg = aioloop::run(async {
            let handle = aioloop::get_running_loop().handle();
            let task = aioloop::spawn(async move { handle.run_future_threadsafe(async { 1 }).result() });
            task.await.unwrap_err().panic_message().unwrap().to_owned()
        });
        assert!(msg.contains("would deadlock"), "{msg}");

        // On the loop's own thread while it is not running.
        let event_loop = EventLoop::new().unwrap();
        let fut = event_loop.handle().run_future_threadsafe(async { 1 });
        let err = catch_unwind(AssertUnwindSafe(move || fut.result())).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("wait forever"), "{msg}");

        // Awaiting it there is fine.
        let fut = event_loop.handle().run_future_threadsafe(async { 2 });
        assert_eq!(event_loop.run_until_complete(fut).unwrap(), 2);
    });
}

#[test]
fn a_wake_from_another_thread_wakes_a_loop_blocked_in_poll() {
    watchdog(30, || {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let ready = Arc::new(AtomicBool::new(false));
        let (s, r) = (slot.clone(), ready.clone());
        let waker_thread = thread::spawn(move || {
            wait_until("the task stored its waker", || s.lock().unwrap().is_some());
            // Long enough for the loop to be parked in epoll_wait with no timeout.
            thread::sleep(Duration::from_millis(50));
            r.store(true, Ordering::SeqCst);
            let waker = s.lock().unwrap().take().unwrap();
            waker.wake();
        });
        let start = Instant::now();
        aioloop::run(async move {
            let task = aioloop::spawn(std::future::poll_fn(move |cx| {
                if ready.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }));
            task.await.unwrap();
        });
        assert!(start.elapsed() >= Duration::from_millis(50));
        waker_thread.join().unwrap();
    });
}

#[test]
fn stop_from_another_thread_stops_run_forever() {
    watchdog(30, || {
        let mut lt = LoopThread::start();
        thread::sleep(Duration::from_millis(20)); // parked in poll by now
        let handle = lt.handle.clone();
        thread::spawn(move || handle.stop().unwrap()).join().unwrap();
        lt.thread.take().unwrap().join().unwrap(); // run_forever returned, the loop closed
        assert!(lt.handle.is_closed());
    });
}

#[test]
fn loop_bound_goes_home_to_be_dropped() {
    watchdog(30, || {
        aioloop::run(async {
            let home = thread::current().id();
            let (p, drops, on) = probe();
            let bound = LoopBound::new(Rc::new(p)); // Rc: not Send
            assert!(bound.is_home());
            assert_eq!(bound.get().drops.load(Ordering::SeqCst), 0);
            let away = thread::spawn(move || {
                assert!(!bound.is_home());
                let Err(bound) = bound.try_into_inner() else {
                    panic!("try_into_inner away from home gives the wrapper back")
                };
                let get = catch_unwind(AssertUnwindSafe(|| {
                    let _ = bound.get();
                }));
                assert!(get.is_err(), "get away from home panics");
                drop(bound); // sent home
            });
            away.join().unwrap();
            for _ in 0..3 {
                aioloop::yield_now().await;
            }
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert_eq!(*on.lock().unwrap(), Some(home), "dropped on the loop's thread");
        });

        // Dropped away from home after its loop closed: leaked, never dropped on the wrong thread.
        let (p, drops, _) = probe();
        let bound = aioloop::run(async move { LoopBound::new(Rc::new(p)) });
        thread::spawn(move || drop(bound)).join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 0);
    });
}
