//! Threads through the public API: LoopHandle, run_coroutine_threadsafe, ConcurrentFuture,
//! call_soon_threadsafe, LoopBound, to_thread; closing; misuse; a stress test.
//!
//! Every test that could hang on a lost wakeup runs under a watchdog, so a bug fails the test
//! instead of hanging the suite.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use aioloop::{EventLoop, LoopBound, LoopHandle};

/// Runs `f` on a new thread and fails the test if it has not finished within `secs`.
fn watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("watchdog: the test hung for {secs} s"),
    }
}

/// A loop running `run_forever` on its own thread; `stop` stops and closes it.
struct LoopThread {
    handle: LoopHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl LoopThread {
    fn start() -> Self {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let event_loop = EventLoop::new().unwrap();
            tx.send(event_loop.handle()).unwrap();
            event_loop.run_forever();
        });
        LoopThread {
            handle: rx.recv().unwrap(),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.handle.stop().unwrap();
        self.thread.take().unwrap().join().unwrap();
        assert!(self.handle.is_closed());
    }
}

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
        let fut = lt.handle.run_coroutine_threadsafe(async {
            aioloop::yield_now().await;
            "from the loop"
        });
        assert_eq!(fut.result().unwrap(), "from the loop");

        let fut = aioloop::run_coroutine_threadsafe(async { 5 }, &lt.handle);
        assert_eq!(fut.result_timeout(Duration::from_secs(10)).unwrap(), 5);

        // Awaited by another aioloop loop, and by tokio.
        let fut = lt.handle.run_coroutine_threadsafe(async { 6 });
        assert_eq!(aioloop::run(fut).unwrap(), 6);
        let fut = lt.handle.run_coroutine_threadsafe(async { 7 });
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(fut).unwrap(), 7);

        // A future that is not Send, built on the loop.
        let fut = lt.handle.run_coroutine_threadsafe_with(|| {
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
            .run_coroutine_threadsafe(async { panic!("in the future") })
            .result()
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("in the future"));
        let err = lt
            .handle
            .run_coroutine_threadsafe_with(|| -> std::future::Ready<()> { panic!("in make") })
            .result()
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("in make"));
        // A panicking callback goes to the exception handler; the loop goes on.
        lt.handle
            .call_soon_threadsafe(|| panic!("in a callback"))
            .unwrap();
        assert_eq!(
            lt.handle.run_coroutine_threadsafe(async { 1 }).result().unwrap(),
            1
        );
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
        let fut = lt.handle.run_coroutine_threadsafe(async move {
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
            handle.run_coroutine_threadsafe(async move { flag.store(true, Ordering::SeqCst) })
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
        let fut = event_loop.handle().run_coroutine_threadsafe(async move {
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
            let queued = h.run_coroutine_threadsafe(async move {
                let _guard = guard;
                r1.store(true, Ordering::SeqCst);
            });
            h.call_soon_threadsafe(move || r2.store(true, Ordering::SeqCst))
                .unwrap();
            // A thread blocked in result() while the loop closes gets LoopClosed.
            let h2 = h.clone();
            let blocked = thread::spawn(move || h2.run_coroutine_threadsafe(async { 1 }).result());
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
            let fut = handle.run_coroutine_threadsafe(async { 1 });
            assert!(fut.is_done());
            assert!(fut.result().unwrap_err().is_loop_closed());
            let fut = handle.run_coroutine_threadsafe_with(|| async { 1 });
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
        let fut = handle.run_coroutine_threadsafe(std::future::pending::<()>());
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
            let task = aioloop::spawn(async move { handle.run_coroutine_threadsafe(async { 1 }).result() });
            task.await.unwrap_err().panic_message().unwrap().to_owned()
        });
        assert!(msg.contains("would deadlock"), "{msg}");

        // On the loop's own thread while it is not running.
        let event_loop = EventLoop::new().unwrap();
        let fut = event_loop.handle().run_coroutine_threadsafe(async { 1 });
        let err = catch_unwind(AssertUnwindSafe(move || fut.result())).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("wait forever"), "{msg}");

        // Awaiting it there is fine.
        let fut = event_loop.handle().run_coroutine_threadsafe(async { 2 });
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

#[test]
fn to_thread_runs_on_the_pool_and_keeps_the_loop_responsive() {
    watchdog(30, || {
        aioloop::run(async {
            let loop_thread = thread::current().id();
            let blocking = aioloop::to_thread(move || {
                thread::sleep(Duration::from_millis(50));
                thread::current().id()
            });
            // The loop keeps running tasks meanwhile.
            let mut turns = 0;
            while turns < 10 {
                aioloop::yield_now().await;
                turns += 1;
            }
            let ran_on = blocking.await.unwrap();
            assert_ne!(ran_on, loop_thread);

            let err = aioloop::run_in_executor(|| -> u8 { panic!("blocking boom") })
                .await
                .unwrap_err();
            assert_eq!(err.panic_message(), Some("blocking boom"));
        });
    });
}

#[test]
fn to_thread_is_bounded_by_the_builder() {
    watchdog(30, || {
        let builder = EventLoop::builder()
            .blocking_threads(2)
            .blocking_keep_alive(Duration::from_millis(100));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let start = Instant::now();
        builder.run(async move {
            let calls: Vec<_> = (0..6)
                .map(|i| {
                    let (running, peak) = (r.clone(), p.clone());
                    aioloop::to_thread(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();
            for (i, call) in calls.into_iter().enumerate() {
                assert_eq!(call.await.unwrap(), i);
            }
        });
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "6 calls × 30 ms on 2 threads"
        );
    });
}

/// The stress tests: 8 threads × 100,000 submissions each, in debug builds too (each of the two
/// takes about 1.5 s there on 2 cores).
const STRESS_THREADS: usize = 8;
const STRESS_PER_THREAD: usize = 100_000;

#[test]
fn stress_call_soon_threadsafe_none_lost_none_twice() {
    watchdog(120, || {
        let lt = LoopThread::start();
        let counts: Arc<Vec<AtomicUsize>> = Arc::new(
            (0..STRESS_THREADS * STRESS_PER_THREAD)
                .map(|_| AtomicUsize::new(0))
                .collect(),
        );
        let order_ok = Arc::new(AtomicBool::new(true));
        let total = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        let barrier = Arc::new(Barrier::new(STRESS_THREADS));
        let producers: Vec<_> = (0..STRESS_THREADS)
            .map(|t| {
                let handle = lt.handle.clone();
                let (counts, order_ok, total, done_tx, barrier) = (
                    counts.clone(),
                    order_ok.clone(),
                    total.clone(),
                    done_tx.clone(),
                    barrier.clone(),
                );
                // The loop-side view of this producer's last sequence number (FIFO check).
                let last = Arc::new(AtomicUsize::new(usize::MAX));
                thread::spawn(move || {
                    barrier.wait();
                    for i in 0..STRESS_PER_THREAD {
                        let (counts, order_ok, total, done_tx, last) = (
                            counts.clone(),
                            order_ok.clone(),
                            total.clone(),
                            done_tx.clone(),
                            last.clone(),
                        );
                        handle
                            .call_soon_threadsafe(move || {
                                counts[t * STRESS_PER_THREAD + i].fetch_add(1, Ordering::Relaxed);
                                let prev = last.swap(i, Ordering::Relaxed);
                                if prev.wrapping_add(1) != i {
                                    order_ok.store(false, Ordering::Relaxed);
                                }
                                if total.fetch_add(1, Ordering::Relaxed) + 1
                                    == STRESS_THREADS * STRESS_PER_THREAD
                                {
                                    done_tx.send(()).unwrap();
                                }
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("every callback ran");
        lt.stop();
        let ran_once = counts.iter().filter(|c| c.load(Ordering::Relaxed) == 1).count();
        assert_eq!(
            ran_once,
            STRESS_THREADS * STRESS_PER_THREAD,
            "each callback ran exactly once"
        );
        assert_eq!(total.load(Ordering::Relaxed), STRESS_THREADS * STRESS_PER_THREAD);
        assert!(
            order_ok.load(Ordering::Relaxed),
            "each thread's callbacks ran in order"
        );
    });
}

#[test]
fn stress_run_coroutine_threadsafe_none_lost_none_twice() {
    watchdog(120, || {
        let lt = LoopThread::start();
        let counts: Arc<Vec<AtomicUsize>> = Arc::new(
            (0..STRESS_THREADS * STRESS_PER_THREAD)
                .map(|_| AtomicUsize::new(0))
                .collect(),
        );
        let barrier = Arc::new(Barrier::new(STRESS_THREADS));
        let producers: Vec<_> = (0..STRESS_THREADS)
            .map(|t| {
                let handle = lt.handle.clone();
                let (counts, barrier) = (counts.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let futures: Vec<_> = (0..STRESS_PER_THREAD)
                        .map(|i| {
                            let counts = counts.clone();
                            handle.run_coroutine_threadsafe(async move {
                                let n = t * STRESS_PER_THREAD + i;
                                counts[n].fetch_add(1, Ordering::Relaxed);
                                n
                            })
                        })
                        .collect();
                    for (i, fut) in futures.into_iter().enumerate() {
                        assert_eq!(fut.result().unwrap(), t * STRESS_PER_THREAD + i);
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        lt.stop();
        let ran_once = counts.iter().filter(|c| c.load(Ordering::Relaxed) == 1).count();
        assert_eq!(
            ran_once,
            STRESS_THREADS * STRESS_PER_THREAD,
            "each future ran exactly once"
        );
    });
}

#[test]
fn concurrent_futures_from_many_threads_while_the_loop_closes() {
    // Submissions racing with the close: every ConcurrentFuture resolves (Ok or LoopClosed),
    // none hangs, and what ran, ran once.
    watchdog(60, || {
        for _ in 0..20 {
            let lt = LoopThread::start();
            let ran = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..4)
                .map(|_| {
                    let handle = lt.handle.clone();
                    let ran = ran.clone();
                    thread::spawn(move || {
                        let mut ok = 0;
                        for _ in 0..500 {
                            let ran = ran.clone();
                            match handle
                                .run_coroutine_threadsafe(async move {
                                    ran.fetch_add(1, Ordering::SeqCst);
                                })
                                .result()
                            {
                                Ok(()) => ok += 1,
                                Err(err) => assert!(err.is_loop_closed(), "{err:?}"),
                            }
                        }
                        ok
                    })
                })
                .collect();
            thread::sleep(Duration::from_micros(500));
            lt.stop();
            let ok: usize = producers.into_iter().map(|p| p.join().unwrap()).sum();
            assert_eq!(ok, ran.load(Ordering::SeqCst));
        }
    });
}
