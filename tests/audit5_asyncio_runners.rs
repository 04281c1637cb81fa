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
