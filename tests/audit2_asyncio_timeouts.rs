//! Second audit against CPython's Lib/test/test_asyncio/test_waitfor.py (3.12+, and one 3.11
//! test): the `wait_for` cases that audit_asyncio_waitfor.rs, task_model_wait_for.rs,
//! time_wait_for.rs and task_model_shared.rs do not port yet. (test_timeouts.py is ported in
//! full by test_timeouts.rs.) Each test is named after the CPython test it ports.
//!
//! `wait_for(aw, None)` has no Rust form: `Duration::MAX` is a timeout that never expires.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{
    call_soon, get_running_loop, shield, sleep, spawn, until_cancelled, wait_for, yield_now, Future,
    TimeoutError,
};

const MS: Duration = Duration::from_millis(1);

/// test_waitfor.py `SlowTask`: runs for 200 ms of loop time whatever cancellation it is asked
/// (asyncio's loop `except CancelledError: pass` around each sleep; here the first request is
/// observed, and the rest of the time is slept in the cleanup), then sets `exited`.
async fn slow_task(exited: Rc<Cell<bool>>) {
    let lp = get_running_loop();
    let exit_at = lp.time() + 200 * MS;
    if until_cancelled(sleep(200 * MS)).await.is_err() {
        let left = exit_at.saturating_duration_since(lp.time());
        sleep(left).await;
    }
    exited.set(true);
}

/// test_waitfor.py `test_asyncio_wait_for_timeout`: on timeout `wait_for` cancels the inner
/// coroutine and waits until it has finished, even when it holds the cancellation up: the
/// `TimeoutError` comes once the slow task has exited, at its 200 ms.
#[aioloop::test(start_paused)]
async fn test_asyncio_wait_for_timeout() {
    let exited = Rc::new(Cell::new(false));
    let t0 = get_running_loop().time();
    let task = spawn(slow_task(exited.clone()));
    assert_eq!(wait_for(task, 100 * MS).await.err(), Some(TimeoutError));
    assert!(exited.get());
    assert_eq!(get_running_loop().time() - t0, 200 * MS);
}

/// test_waitfor.py `test_wait_for_timeout_less_then_0_or_0_future_done`: a zero timeout on a
/// future that is already done. asyncio returns its result; aioloop's zero timeout never
/// starts what it is given, done or not (documented divergence, docs/asyncio.md `wait_for`):
/// `Err(TimeoutError)`, and the future keeps its result.
#[aioloop::test]
async fn test_wait_for_timeout_less_then_0_or_0_future_done() {
    let fut = Future::new();
    fut.set_result("done").unwrap();
    assert_eq!(wait_for(fut.clone(), Duration::ZERO).await, Err(TimeoutError));
    assert!(fut.is_done() && !fut.is_cancelled());
    assert_eq!(fut.result(), Some(Ok("done")));
}

/// test_waitfor.py `test_cancel_blocking_wait_for` (`timeout=None`) and `test_cancel_wait_for`
/// (Python issue #23219): cancelling the task that runs `wait_for(task, ..)` cancels the task
/// it waits for, and what that task awaits, with the cancel message.
#[aioloop::test]
async fn test_cancel_blocking_wait_for() {
    for timeout in [Duration::MAX, Duration::from_secs(60)] {
        let blocked = Future::<()>::new();
        let task = spawn(blocked.clone()).shared();
        let wait = spawn(wait_for(task.clone(), timeout));
        let cancel = wait.task_ref();
        call_soon(move || {
            cancel.cancel_with("stop");
        });
        assert!(wait.await.unwrap_err().is_cancelled());
        assert!(task.clone().await.unwrap_err().is_cancelled());
        assert!(task.is_cancelled());
        assert!(blocked.is_cancelled());
        // The message goes along, as asyncio's `cancel(msg)` passes it to `_fut_waiter`.
        assert_eq!(task.cancel_message().as_deref(), Some("stop"));
        assert_eq!(blocked.cancel_message().as_deref(), Some("stop"));
    }
}

/// test_waitfor.py WaitForShieldTests `test_none_timeout`: with no timeout, `wait_for` of a
/// shielded task runs it to completion.
#[aioloop::test(start_paused)]
async fn test_none_timeout() {
    let task = spawn(async {
        sleep(100 * MS).await;
        "done"
    })
    .shared();
    let out = wait_for(shield(task.clone()), Duration::MAX).await;
    assert_eq!(out.unwrap().unwrap(), "done");
    assert!(task.is_done());
    assert_eq!(task.clone().await.unwrap(), "done");
}

/// test_waitfor.py `test_wait_for_self_cancellation` (3.11; 3.12 dropped it with the rewrite
/// of `wait_for`): the `wait_for` task stays cancellable while the inner task, cancelled by
/// the timeout, holds the cancellation up with its cleanup; the inner task then finishes its
/// cleanup and returns 42 (with `uncancel()`, the Rust form of swallowing the
/// `CancelledError`).
#[aioloop::test(start_paused)]
async fn test_wait_for_self_cancellation() {
    let inner_task = spawn(async {
        if until_cancelled(sleep(300 * MS)).await.is_err() {
            aioloop::current_task().unwrap().uncancel();
            sleep(300 * MS).await;
        }
        42
    })
    .shared();
    let task = spawn(wait_for(inner_task.clone(), 100 * MS));
    sleep(200 * MS).await;
    assert!(!task.is_done(), "wait_for waits for the inner task's cleanup");
    assert!(task.cancel());
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(inner_task.clone().await.unwrap(), 42);
}

/// test_waitfor.py `test_wait_for_cancellation_race_condition`: the inner coroutine catches
/// the timeout's cancellation and returns 1. asyncio's `wait_for` returns that 1; aioloop's
/// gives `Err(TimeoutError)` whatever the inner future's end (documented divergence,
/// docs/asyncio.md "Remaining differences"), after waiting for it.
#[aioloop::test(start_paused)]
async fn test_wait_for_cancellation_race_condition() {
    let returned = Rc::new(Cell::new(None));
    let inner = spawn({
        let returned = returned.clone();
        async move {
            assert!(until_cancelled(sleep(1000 * MS)).await.is_err());
            yield_now().await;
            returned.set(Some(1));
            1
        }
    });
    assert_eq!(wait_for(inner, 10 * MS).await.err(), Some(TimeoutError));
    assert_eq!(returned.get(), Some(1));
}
