//! Fifth audit against CPython's Lib/test/test_asyncio/test_runners.py (3.13/3.14): the cases
//! audit_asyncio_runners.rs does not cover. Each test is named after the CPython test.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, until_cancelled, yield_now, EventLoop, TaskRef};

/// test_runners.py `test_asyncio_run_closes_gens_after_hanging_tasks_errors`: the main
/// coroutine raises (here: panics) while a task it spawned still runs. `asyncio.run` still
/// cancels that task and runs the loop until it has finished (its cleanup runs, and the error
/// that cleanup raises goes to the exception handler), then the main coroutine's exception
/// propagates out of `run`, and the task is done.
#[test]
fn test_asyncio_run_closes_gens_after_hanging_tasks_errors() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let cleaned = Rc::new(Cell::new(false));
    let lazyboy: Rc<RefCell<Option<TaskRef>>> = Rc::default();
    let (sink, c, lb) = (seen.clone(), cleaned.clone(), lazyboy.clone());
    let out = catch_unwind(AssertUnwindSafe(move || {
        EventLoop::builder()
            .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
            .run(async move {
                let task = spawn(async move {
                    if until_cancelled(sleep(Duration::from_secs(3600))).await.is_err() {
                        sleep(Duration::from_millis(1)).await;
                        c.set(true);
                        panic!("ZeroDivisionError");
                    }
                });
                *lb.borrow_mut() = Some(task.task_ref());
                drop(task);
                yield_now().await;
                std::panic::panic_any("FancyExit");
            })
    }));
    let payload = out.expect_err("the main coroutine's panic propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"FancyExit"));
    assert!(
        cleaned.get(),
        "the hanging task's cleanup ran before run() returned"
    );
    assert!(lazyboy.borrow().as_ref().unwrap().is_done());
    let seen = seen.borrow();
    assert!(seen.iter().any(|s| s.contains("ZeroDivisionError")), "{seen:?}");
}

/// asyncio.run's `shutdown_default_executor` (bpo-34037, gh-78218; Lib/asyncio/runners.py): after
/// cancelling the leftover tasks, `asyncio.run` joins the default executor's threads, so a
/// `to_thread` call still running returns before `run` does; a call still queued whose awaiter
/// was cancelled never runs (the executor skips a cancelled work item). Here with one blocking
/// thread: the first call runs to its end, the second is dropped unrun.
#[test]
fn test_asyncio_run_joins_the_default_executor() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    /// Sets its flag when dropped.
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let ran = Arc::new(AtomicU32::new(0));
    let started = Arc::new(AtomicBool::new(false));
    let second_cancelled = Arc::new(AtomicBool::new(false));
    let (first, second, s, sc) = (
        ran.clone(),
        ran.clone(),
        started.clone(),
        second_cancelled.clone(),
    );
    EventLoop::builder().blocking_threads(1).run(async move {
        drop(spawn(aioloop::to_thread(move || {
            s.store(true, Ordering::SeqCst);
            // Runs until the second call's awaiter was cancelled (at most 10 s), so that call
            // is still queued behind this one then, whatever the machine's load.
            for _ in 0..10_000 {
                if sc.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(20));
            first.fetch_add(1, Ordering::SeqCst);
        })));
        let cancelled = SetOnDrop(second_cancelled);
        drop(spawn(async move {
            let _cancelled = cancelled;
            aioloop::to_thread(move || {
                second.fetch_add(10, Ordering::SeqCst);
            })
            .await
        }));
        yield_now().await; // the second task hands its call to the pool, behind the first
        while !started.load(Ordering::SeqCst) {
            sleep(Duration::from_millis(1)).await; // until the first call runs on the thread
        }
    });
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "run() returned after the running call finished, and the cancelled queued one never ran"
    );
}

// test_runners.py `test_interrupt_call_soon`, `test_interrupt_wait` and
// `test_interrupt_cancelled_task` (Ctrl-C during `run`) are ported in tests/run_interrupt.rs:
// asyncio handles SIGINT on the main thread only, which a test harness's tests never run on.
