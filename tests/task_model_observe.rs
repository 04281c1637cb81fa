//! Issue 17, item 6: a task observes a cancel request and finishes async cleanup before it
//! ends, the Rust form of asyncio's `except CancelledError: await cleanup(); raise`
//! (test_tasks: test_cancel_yield / test_cancel_inner_future's "cleanup runs" premise).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{cancelled, sleep, spawn, until_cancelled, yield_now};

/// until_cancelled(work): on a cancel request the work is dropped and the task runs its
/// async cleanup; the task still ends cancelled (the `raise`).
#[aioloop::test(start_paused)]
async fn test_cancel_request_runs_async_cleanup() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let task = spawn({
        let log = log.clone();
        async move {
            match until_cancelled(sleep(Duration::from_secs(3600))).await {
                Ok(()) => log.borrow_mut().push("finished"),
                Err(_) => {
                    log.borrow_mut().push("cancel seen");
                    sleep(Duration::from_millis(5)).await; // await conn.close()
                    log.borrow_mut().push("cleaned up");
                }
            }
        }
    });
    yield_now().await;
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled(), "the task ends cancelled");
    assert_eq!(*log.borrow(), ["cancel seen", "cleaned up"]);
}

/// `cancelled()` resolves when the current task is asked to cancel; a second cancel during
/// the cleanup drops the task (the fallback).
#[aioloop::test(start_paused)]
async fn test_cancelled_future_and_second_cancel_drops() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let task = spawn({
        let log = log.clone();
        async move {
            cancelled().await;
            log.borrow_mut().push("cancel seen");
            sleep(Duration::from_secs(3600)).await;
            log.borrow_mut().push("never");
        }
    });
    yield_now().await;
    task.cancel();
    yield_now().await;
    yield_now().await;
    assert_eq!(*log.borrow(), ["cancel seen"]);
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(*log.borrow(), ["cancel seen"]);
}

/// The main coroutine observes a cancel too.
#[test]
fn test_main_task_sees_its_cancel_request() {
    let seen = aioloop::run(async {
        let me = aioloop::current_task().unwrap();
        aioloop::call_soon(move || {
            me.cancel();
        });
        until_cancelled(sleep(Duration::from_secs(3600))).await.is_err()
    });
    assert!(seen);
}
