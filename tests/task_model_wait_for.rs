//! Issue 17, item 4: wait_for as asyncio 3.12 (Lib/test/test_asyncio/test_waitfor.py).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, until_cancelled, wait_for, Future, TimeoutError};

/// test_wait_for: on timeout the awaited future is cancelled.
#[aioloop::test(start_paused)]
async fn test_wait_for() {
    let fut: Future<()> = Future::new();
    let out = wait_for(fut.clone(), Duration::from_millis(100)).await;
    assert_eq!(out, Err(TimeoutError));
    assert!(fut.is_done() && fut.is_cancelled());
}

/// test_wait_for_timeout_less_then_0_or_0: a zero timeout on a task cancels the task and
/// waits for it to finish cancelling.
#[aioloop::test(start_paused)]
async fn test_wait_for_timeout_less_then_0_or_0() {
    let task = spawn(sleep(Duration::from_secs(10)));
    let task_ref = task.task_ref();
    aioloop::yield_now().await;
    assert!(wait_for(task, Duration::ZERO).await.is_err());
    assert!(
        task_ref.is_done(),
        "wait_for returned after the task finished cancelling"
    );
}

/// test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: with a zero timeout a
/// coroutine is never started.
#[aioloop::test(start_paused)]
async fn test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started() {
    let started = Rc::new(Cell::new(false));
    let flag = started.clone();
    let out = wait_for(async move { flag.set(true) }, Duration::ZERO).await;
    assert_eq!(out, Err(TimeoutError));
    assert!(!started.get());
}

/// test_wait_for_waits_for_task_cancellation: the timed-out task catches its cancellation,
/// sleeps, and only then finishes; wait_for returns after that.
#[aioloop::test(start_paused)]
async fn test_wait_for_waits_for_task_cancellation() {
    let task_done = Rc::new(Cell::new(false));
    let inner_task = spawn({
        let task_done = task_done.clone();
        async move {
            if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
                sleep(Duration::from_millis(1)).await;
            }
            task_done.set(true);
        }
    });
    let out = wait_for(inner_task, Duration::from_millis(1)).await;
    assert!(out.is_err());
    assert!(task_done.get());
}
