//! Second audit against CPython's Lib/test/test_asyncio/test_base_events.py, test_events.py
//! and test_runners.py, the loop-level parts the first audit (audit_asyncio_base_events.rs,
//! audit_asyncio_runners.rs) and lifecycle.rs do not port: closing, timers and their
//! cancellation, the exception handler's reports, `run_until_complete` after a panic,
//! `call_soon_threadsafe` order, and `asyncio.run` / `Runner`. Each test is named after the
//! CPython test. Divergences on purpose are said in the doc comment.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use aioloop::{call_soon, get_running_loop, sleep, spawn, yield_now, EventLoop, ExceptionContext};

type Log = Rc<RefCell<Vec<&'static str>>>;

/// What reached an exception handler: the message, and the panic message if any.
type Reports = Rc<RefCell<Vec<(String, Option<String>)>>>;

/// Installs an exception handler on `lp` that records each report.
fn record_reports(lp: &aioloop::Loop) -> Reports {
    let reports: Reports = Rc::default();
    let sink = reports.clone();
    lp.set_exception_handler(move |ctx: &ExceptionContext| {
        sink.borrow_mut()
            .push((ctx.message().to_owned(), ctx.panic_message().map(str::to_owned)))
    });
    reports
}

fn paused_loop() -> EventLoop {
    EventLoop::builder().start_paused(true).build().unwrap()
}

/// The message of a caught panic.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// test_base_events.py `test_close`: a loop is open until closed (dropped, here), closed
/// after; scheduling on a closed loop is refused (asyncio raises `RuntimeError`, aioloop
/// panics saying so, as documented on `Loop::call_soon`).
#[test]
fn test_close() {
    let event_loop = EventLoop::new().unwrap();
    let lp = event_loop.clone_handle();
    assert!(!lp.is_closed());
    drop(event_loop);
    assert!(lp.is_closed());
    let refused = catch_unwind(AssertUnwindSafe(|| {
        lp.call_soon(|| {});
    }));
    let text = panic_text(&*refused.unwrap_err());
    assert!(text.contains("closed event loop"), "{text}");
}

/// test_base_events.py `test_time_and_call_at`: `run_forever` until a `call_at` callback
/// 100 ms ahead stops it: at least 100 ms passed on the loop's clock (virtual here).
#[test]
fn test_time_and_call_at() {
    let event_loop = paused_loop();
    let lp = event_loop.clone_handle();
    let delay = Duration::from_millis(100);
    let when = lp.time() + delay;
    let stopper = lp.clone();
    lp.call_at(when, move || stopper.stop());
    let t0 = lp.time();
    event_loop.run_forever();
    assert!(lp.time() - t0 >= delay);
}

/// test_base_events.py `test__run_once`: of two timers, 5 s and 10 s ahead, the first
/// cancelled: the loop waits for the second (the cancelled one neither runs nor stays
/// counted as pending).
#[test]
#[allow(non_snake_case)] // the CPython name
fn test__run_once() {
    let event_loop = paused_loop();
    let lp = event_loop.clone_handle();
    let seen: Log = Rc::default();
    let s1 = seen.clone();
    let h1 = lp.call_later(Duration::from_secs(5), move || s1.borrow_mut().push("h1"));
    let (s2, stopper) = (seen.clone(), lp.clone());
    lp.call_later(Duration::from_secs(10), move || {
        s2.borrow_mut().push("h2");
        stopper.stop();
    });
    h1.cancel();
    assert_eq!(lp.stats().pending_timers, 1);
    let t0 = lp.time();
    event_loop.run_forever();
    assert!(lp.time() - t0 >= Duration::from_secs(10));
    assert_eq!(*seen.borrow(), ["h2"]);
}

/// test_base_events.py `test__run_once_cancelled_event_cleanup`: cancelled timers do not
/// linger among the scheduled ones (asyncio sweeps them once they are a large enough
/// fraction; aioloop takes each off its wheel when cancelled).
#[aioloop::test(start_paused)]
#[allow(non_snake_case)] // the CPython name
async fn test__run_once_cancelled_event_cleanup() {
    let lp = get_running_loop();
    let base = lp.stats().pending_timers;
    let _blocking = lp.call_later(Duration::from_secs(3000), || {});
    for delay in [3600, 3600, 100, 100] {
        lp.call_later(Duration::from_secs(delay), || {}).cancel();
    }
    yield_now().await;
    assert_eq!(lp.stats().pending_timers, base + 1);
    for _ in 0..100 {
        lp.call_later(Duration::from_secs(3600), || {}).cancel();
    }
    yield_now().await;
    assert_eq!(
        lp.stats().pending_timers,
        base + 1,
        "only the uncancelled timer remains"
    );
}

/// test_base_events.py `test_run_until_complete_loop_orphan_future_close_loop`: a callback
/// that fails while `run_until_complete` runs leaves the loop usable for the next
/// `run_until_complete`. asyncio's failure there is a `SystemExit`, which propagates out of
/// `run_until_complete`; Rust has no such class of exception: a panicking callback goes to
/// the exception handler and the run goes on (docs/asyncio.md, "Exceptions are panics").
#[test]
fn test_run_until_complete_loop_orphan_future_close_loop() {
    let event_loop = EventLoop::new().unwrap();
    let reports = record_reports(&event_loop);
    event_loop.call_soon(|| panic!("show stopper"));
    event_loop.run_until_complete(sleep(Duration::from_millis(10)));
    assert_eq!(
        *reports.borrow(),
        [(
            "Exception in callback".to_owned(),
            Some("show stopper".to_owned())
        )]
    );
    event_loop.run_until_complete(sleep(Duration::from_millis(20)));
}

/// test_base_events.py `test_default_exc_handler_callback`: a panic in a `call_soon` and in
/// a `call_later` callback is reported as "Exception in callback" with its panic, and the
/// loop keeps running: the future the callback set before failing stops it through its done
/// callback.
#[test]
fn test_default_exc_handler_callback() {
    let event_loop = EventLoop::new().unwrap();
    let lp = event_loop.clone_handle();
    let reports = record_reports(&lp);
    let zero_error = |fut: aioloop::Future<bool>| {
        move || {
            fut.set_result(true).unwrap();
            panic!("division by zero");
        }
    };

    let fut = aioloop::Future::with_loop(&lp);
    let stopper = lp.clone();
    fut.add_done_callback(move |_| stopper.stop());
    lp.call_soon(zero_error(fut));
    event_loop.run_forever();

    let fut = aioloop::Future::with_loop(&lp);
    let stopper = lp.clone();
    fut.add_done_callback(move |_| stopper.stop());
    lp.call_later(Duration::from_millis(10), zero_error(fut));
    event_loop.run_forever();

    let expected = (
        "Exception in callback".to_owned(),
        Some("division by zero".to_owned()),
    );
    assert_eq!(*reports.borrow(), [expected.clone(), expected]);
}

/// test_base_events.py `test_default_exc_handler_coro`: a task that panics, whose outcome
/// nobody takes, is reported as "Task exception was never retrieved", naming the task.
#[test]
fn test_default_exc_handler_coro() {
    let event_loop = EventLoop::new().unwrap();
    /// The message, the task's name and the panic message of each report.
    type TaskReports = Rc<RefCell<Vec<(String, Option<String>, Option<String>)>>>;
    let reports: TaskReports = Rc::default();
    let sink = reports.clone();
    event_loop.set_exception_handler(move |ctx| {
        sink.borrow_mut().push((
            ctx.message().to_owned(),
            ctx.task_name().map(str::to_owned),
            ctx.panic_message().map(str::to_owned),
        ))
    });
    event_loop.run_until_complete(async {
        let task = aioloop::spawn_named("zero_error_coro", async {
            sleep(Duration::from_millis(1)).await;
            panic!("division by zero");
        });
        while !task.is_done() {
            yield_now().await;
        }
        drop(task); // asyncio: the future is garbage-collected
        yield_now().await;
    });
    assert_eq!(
        *reports.borrow(),
        [(
            "Task exception was never retrieved".to_owned(),
            Some("zero_error_coro".to_owned()),
            Some("division by zero".to_owned())
        )]
    );
}

/// test_base_events.py `test_set_exc_handler_custom`: a custom handler gets the report of a
/// failing callback (its message; no task); a handler set later replaces it, the first is
/// no longer called.
#[aioloop::test]
async fn test_set_exc_handler_custom() {
    let lp = get_running_loop();
    let first = record_reports(&lp);
    call_soon(|| panic!("zero_error"));
    yield_now().await;
    assert_eq!(
        *first.borrow(),
        [("Exception in callback".to_owned(), Some("zero_error".to_owned()))]
    );
    let tasks = Rc::new(Cell::new(0));
    let seen = tasks.clone();
    lp.set_exception_handler(move |ctx| {
        assert_eq!(ctx.task_name(), None, "a callback is no task");
        seen.set(seen.get() + 1);
    });
    call_soon(|| panic!("zero_error"));
    yield_now().await;
    assert_eq!(tasks.get(), 1);
    assert_eq!(first.borrow().len(), 1, "the replaced handler is not called");
}

/// test_base_events.py `test_set_exc_handler_broken`: a handler that itself panics does not
/// take the loop down (asyncio logs "Unhandled error in exception handler"; aioloop prints
/// it to stderr) and stays installed for the next report.
#[aioloop::test]
async fn test_set_exc_handler_broken() {
    let calls = Rc::new(Cell::new(0));
    let seen = calls.clone();
    get_running_loop().set_exception_handler(move |_| {
        seen.set(seen.get() + 1);
        panic!("spam");
    });
    call_soon(|| panic!("zero_error"));
    yield_now().await;
    call_soon(|| panic!("zero_error"));
    yield_now().await;
    assert_eq!(calls.get(), 2);
}

/// test_base_events.py `test_run_forever_keyboard_interrupt` (Python issue #22601): the
/// main coroutine's exception propagates out of `run_until_complete` (aioloop: its panic,
/// with the original payload) and is not also reported to the exception handler.
#[test]
fn test_run_forever_keyboard_interrupt() {
    let event_loop = EventLoop::new().unwrap();
    let reports = record_reports(&event_loop);
    let raised = catch_unwind(AssertUnwindSafe(|| {
        event_loop.run_until_complete(async {
            yield_now().await;
            panic!("keyboard interrupt");
        })
    }));
    assert_eq!(panic_text(&*raised.unwrap_err()), "keyboard interrupt");
    drop(event_loop);
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}

/// test_base_events.py `test_run_until_complete_baseexception` (Python issue #22429): a
/// `run_until_complete` that ended in a panic leaves no stop request behind: a following
/// `run_forever` runs until a callback scheduled by a callback stops it.
#[test]
fn test_run_until_complete_baseexception() {
    let event_loop = EventLoop::new().unwrap();
    let raised = catch_unwind(AssertUnwindSafe(|| {
        event_loop.run_until_complete(async { panic!("keyboard interrupt") })
    }));
    assert!(raised.is_err());

    let lp = event_loop.clone_handle();
    let called = Rc::new(Cell::new(false));
    let (flag, inner) = (called.clone(), lp.clone());
    lp.call_soon(move || {
        let stopper = inner.clone();
        inner.call_soon(move || {
            stopper.stop();
            flag.set(true);
        });
    });
    event_loop.run_forever();
    assert!(called.get());
}

/// test_base_events.py `test_run_once` (the `call_soon(loop.stop); run_forever()` idiom of
/// `test_utils.run_once`): the callback scheduled before runs exactly once.
#[test]
fn test_run_once() {
    let event_loop = EventLoop::new().unwrap();
    let lp = event_loop.clone_handle();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    lp.call_soon(move || c.set(c.get() + 1));
    let stopper = lp.clone();
    lp.call_soon(move || stopper.stop());
    event_loop.run_forever();
    assert_eq!(count.get(), 1);
}

/// test_base_events.py `test_set_debug`: debug mode can be turned on and off.
#[test]
fn test_set_debug() {
    let event_loop = EventLoop::new().unwrap();
    event_loop.set_debug(true);
    assert!(event_loop.is_debug());
    event_loop.set_debug(false);
    assert!(!event_loop.is_debug());
}

/// test_events.py HandleTests `test_handle`: a cancelled `call_soon` handle reads as
/// cancelled and its callback never runs.
#[aioloop::test]
async fn test_handle() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let h = call_soon(move || flag.set(true));
    assert!(!h.is_cancelled());
    h.cancel();
    assert!(h.is_cancelled());
    yield_now().await;
    yield_now().await;
    assert!(!ran.get());
}

/// What the callbacks of the `call_soon_threadsafe` tests push, from any thread.
type SharedLog = std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>;

/// A thread that sends the loop a callback pushing `what` to `log`, then says so on the
/// returned channel (so a `recv` on it happens after the send).
fn push_from_a_thread(
    event_loop: &EventLoop,
    log: &SharedLog,
    what: &'static str,
) -> (std::thread::JoinHandle<()>, mpsc::Receiver<()>) {
    let (handle, log) = (event_loop.handle(), log.clone());
    let (sent_tx, sent_rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        handle
            .call_soon_threadsafe(move || log.lock().unwrap().push(what))
            .unwrap();
        sent_tx.send(()).unwrap();
    });
    (thread, sent_rx)
}

/// test_events.py `test_call_soon_threadsafe`: a callback another thread sent before the
/// loop's own `call_soon` (the thread's send happens before it, through a channel) runs
/// first: callbacks run in the order they were scheduled, whichever thread scheduled them.
#[test]
fn test_call_soon_threadsafe() {
    let event_loop = EventLoop::new().unwrap();
    let results = SharedLog::default();
    let (thread, sent_rx) = push_from_a_thread(&event_loop, &results, "hello");
    sent_rx.recv().unwrap();
    let lp = event_loop.clone_handle();
    let r = results.clone();
    lp.call_soon(move || {
        r.lock().unwrap().push("world");
        get_running_loop().stop();
    });
    event_loop.run_forever();
    thread.join().unwrap();
    assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
}

/// test_events.py `test_call_soon_threadsafe_same_thread`: `call_soon_threadsafe` from the
/// loop's own thread, then `call_soon`: they run in that order.
#[test]
fn test_call_soon_threadsafe_same_thread() {
    let event_loop = EventLoop::new().unwrap();
    let results = SharedLog::default();
    let r = results.clone();
    event_loop
        .handle()
        .call_soon_threadsafe(move || r.lock().unwrap().push("hello"))
        .unwrap();
    let (r, lp) = (results.clone(), event_loop.clone_handle());
    event_loop.call_soon(move || {
        r.lock().unwrap().push("world");
        lp.stop();
    });
    event_loop.run_forever();
    assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
}

/// test_events.py `test_call_soon_threadsafe`, with `create_task` in place of the loop's own
/// `call_soon`: asyncio's `create_task` schedules the task's first step with `call_soon`, so a
/// callback another thread sent before the spawn runs before the task's first step.
#[test]
fn test_call_soon_threadsafe_then_create_task() {
    let event_loop = EventLoop::new().unwrap();
    let results = SharedLog::default();
    let (thread, sent_rx) = push_from_a_thread(&event_loop, &results, "hello");
    let r = results.clone();
    event_loop.run_until_complete(async move {
        // The thread's send happens before the spawn (through the channel); the loop has not
        // looked at its remote queue since.
        sent_rx.recv().unwrap();
        spawn(async move { r.lock().unwrap().push("world") })
            .await
            .unwrap();
    });
    thread.join().unwrap();
    assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
}

/// test_runners.py `test_asyncio_run_return`: `run` returns the coroutine's value.
#[test]
fn test_asyncio_run_return() {
    let out = aioloop::run(async {
        yield_now().await;
        42
    });
    assert_eq!(out, 42);
}

/// test_runners.py `test_asyncio_run_raises`: the coroutine's failure reaches `run`'s
/// caller (a panic with its own payload, as documented).
#[test]
fn test_asyncio_run_raises() {
    let raised = catch_unwind(|| {
        aioloop::run(async {
            yield_now().await;
            panic!("spam");
        })
    });
    assert_eq!(panic_text(&*raised.unwrap_err()), "spam");
}

/// test_runners.py `test_asyncio_run_debug` (and `test_asyncio_run_loop_factory`: the
/// loop `Builder::run` builds is the running one): debug mode as asked for.
#[test]
fn test_asyncio_run_debug() {
    for debug in [false, true] {
        let seen = EventLoop::builder()
            .debug(debug)
            .run(async { get_running_loop().is_debug() });
        assert_eq!(seen, debug);
    }
}

/// test_runners.py RunnerTests `test_run`: a loop runs a coroutine to its value, and is
/// closed once dropped (asyncio's `Runner` closes its loop at the end of the `with`).
#[test]
fn test_run() {
    let event_loop = EventLoop::new().unwrap();
    let out = event_loop.run_until_complete(async {
        yield_now().await;
        "done"
    });
    assert_eq!(out, "done");
    let lp = event_loop.clone_handle();
    drop(event_loop);
    assert!(lp.is_closed());
}

/// test_runners.py RunnerTests `test_run_future`: `run_until_complete` of a future that is
/// done already returns its result.
#[test]
fn test_run_future() {
    let event_loop = EventLoop::new().unwrap();
    let fut = aioloop::Future::with_loop(&event_loop);
    fut.set_result("done").unwrap();
    assert_eq!(event_loop.run_until_complete(fut), Ok("done"));
}

/// test_runners.py RunnerTests `test_interrupt_cancelled_task`: a main task cancelled by
/// another task ends the run with a cancellation (asyncio raises `CancelledError`; aioloop's
/// `run_until_complete` panics saying so, as documented).
#[test]
fn test_interrupt_cancelled_task() {
    let event_loop = EventLoop::new().unwrap();
    let raised = catch_unwind(AssertUnwindSafe(|| {
        event_loop.run_until_complete(async {
            let main = aioloop::current_task().unwrap();
            drop(spawn(async move {
                yield_now().await;
                main.cancel();
            }));
            sleep(Duration::from_secs(10)).await;
        })
    }));
    let text = panic_text(&*raised.unwrap_err());
    assert!(text.contains("main task was cancelled"), "{text}");
}

/// test_events.py `test_run_until_complete`: `run_until_complete` of a 100 ms sleep returns
/// once at least 100 ms passed on the loop's clock (virtual here).
#[test]
fn test_run_until_complete() {
    let event_loop = paused_loop();
    let delay = Duration::from_millis(100);
    let t0 = event_loop.time();
    event_loop.run_until_complete(sleep(delay));
    assert!(event_loop.time() - t0 >= delay);
}

/// test_events.py `test_run_until_complete_stopped`: `stop()` inside `run_until_complete`.
/// asyncio raises `RuntimeError` ("Event loop stopped before Future completed");
/// deliberately, aioloop's `stop` does not interrupt `run_until_complete`, which runs its
/// future to its output (documented on `Loop::stop`), and the request does not outlive the
/// run: a later `run_forever` runs until its own stop.
#[test]
fn test_run_until_complete_stopped() {
    let event_loop = paused_loop();
    let out = event_loop.run_until_complete(async {
        get_running_loop().stop();
        sleep(Duration::from_millis(100)).await;
        7
    });
    assert_eq!(out, 7);
    let seen: Log = Rc::default();
    let (s, lp) = (seen.clone(), event_loop.clone_handle());
    event_loop.call_later(Duration::from_millis(10), move || {
        s.borrow_mut().push("timer");
        lp.stop();
    });
    event_loop.run_forever();
    assert_eq!(*seen.borrow(), ["timer"]);
}

/// test_events.py `test_call_later`: `run_forever` runs until a `call_later` callback
/// 100 ms ahead stops it, and that callback ran once.
#[test]
fn test_call_later() {
    let event_loop = paused_loop();
    let results: Log = Rc::default();
    let (r, lp) = (results.clone(), event_loop.clone_handle());
    let t0 = event_loop.time();
    event_loop.call_later(Duration::from_millis(100), move || {
        r.borrow_mut().push("hello world");
        lp.stop();
    });
    event_loop.run_forever();
    assert_eq!(*results.borrow(), ["hello world"]);
    assert!(event_loop.time() - t0 >= Duration::from_millis(100));
}

/// test_events.py `test_run_in_executor_cancel`: a blocking job cancelled while it runs on
/// its thread, and the loop closed behind it: when the job ends, nothing is delivered to the
/// closed loop (nothing panics, nothing runs there).
#[test]
fn test_run_in_executor_cancel() {
    use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
    let event_loop = EventLoop::new().unwrap();
    // 0: not started, 1: running, 2: ended.
    let state = std::sync::Arc::new(AtomicU8::new(0));
    let job_state = state.clone();
    let watched = state.clone();
    event_loop.run_until_complete(async move {
        let job = spawn(aioloop::run_in_executor(move || {
            job_state.store(1, SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            job_state.store(2, SeqCst);
        }));
        while watched.load(SeqCst) == 0 {
            sleep(Duration::from_millis(1)).await;
        }
        job.cancel();
        assert!(job.await.unwrap_err().is_cancelled());
    });
    drop(event_loop);
    for _ in 0..400 {
        if state.load(SeqCst) == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(20)); // the job's thread hands back its result
}
