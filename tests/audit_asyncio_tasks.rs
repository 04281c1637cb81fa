//! Audit against CPython's Lib/test/test_asyncio/test_tasks.py and test_waitfor.py: task
//! cancellation, shield, gather and wait_for behaviours a port of an asyncio program relies on
//! and that the task_model_* and combinators_* tests do not assert. Each test is named after
//! the CPython test it ports.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{gather, get_running_loop, shield, sleep, spawn, until_cancelled, wait_for, yield_now, Future};

/// test_tasks.py `test_uncancel_resets_must_cancel` (3.13): a cancel requested while the task
/// is runnable and taken back with `uncancel()` before it runs is forgotten: the task
/// completes normally.
#[aioloop::test]
async fn test_uncancel_resets_must_cancel() {
    let fut = Future::<()>::new();
    let task = spawn({
        let fut = fut.clone();
        async move {
            fut.await.unwrap();
            42
        }
    });
    yield_now().await; // the task waits for fut
    fut.set_result(()).unwrap(); // the task is runnable
    assert!(task.cancel());
    assert_eq!(task.cancelling(), 1);
    assert_eq!(task.uncancel(), 0);
    assert_eq!(task.cancelling(), 0);
    assert_eq!(task.await.unwrap(), 42);
}

/// test_tasks.py `test_cancel_with_message_before_starting_task`: a task cancelled with a
/// message before its first step never runs, and the message is kept.
#[aioloop::test]
async fn test_cancel_with_message_before_starting_task() {
    let started = Rc::new(Cell::new(false));
    let mut task = spawn({
        let started = started.clone();
        async move {
            started.set(true);
            sleep(Duration::from_secs(10)).await;
        }
    });
    assert!(task.cancel_with("key"));
    assert!((&mut task).await.unwrap_err().is_cancelled());
    assert!(!started.get());
    assert_eq!(task.cancel_message().as_deref(), Some("key"));
}

/// asyncio's `Task.cancel(msg)` passes `msg` on to the future the task awaits
/// (`self._fut_waiter.cancel(msg=msg)`; test_tasks.py `test_cancel_awaited_task` and
/// `test_cancellation_exception_context` rest on it): the awaited task gets the outer message.
#[aioloop::test]
async fn test_cancel_message_travels_to_the_awaited_task() {
    let inner = spawn(std::future::pending::<()>()).shared();
    let outer = spawn(inner.clone());
    yield_now().await;
    assert!(outer.cancel_with("stop"));
    assert!(outer.await.unwrap_err().is_cancelled());
    assert!(inner.clone().await.unwrap_err().is_cancelled());
    assert_eq!(inner.cancel_message().as_deref(), Some("stop"));
}

/// As above, down a chain of awaits (outer awaits middle awaits inner), and through a task
/// that observes the request with `until_cancelled` (its `except CancelledError:`).
#[aioloop::test]
async fn test_cancel_message_travels_down_a_chain_of_awaits() {
    let inner = spawn(std::future::pending::<()>()).shared();
    let observed = spawn(std::future::pending::<()>()).shared();
    let middle = spawn({
        let (inner, observed) = (inner.clone(), observed.clone());
        async move {
            if until_cancelled(observed).await.is_err() {
                let _ = inner.await;
            }
        }
    });
    let outer = spawn(middle);
    yield_now().await;
    yield_now().await;
    assert!(outer.cancel_with("shutdown"));
    assert!(outer.await.unwrap_err().is_cancelled());
    assert!(observed.clone().await.unwrap_err().is_cancelled());
    assert_eq!(observed.cancel_message().as_deref(), Some("shutdown"));
    assert!(!inner.is_done(), "the middle task's cleanup awaits it");
    inner.cancel();
    assert!(inner.clone().await.unwrap_err().is_cancelled());
}

/// test_tasks.py `test_cancel_yield`: `cancel()` on a pending task returns true, also when
/// repeated (each call counts in `cancelling()`); once the task is done it returns false.
#[aioloop::test]
async fn test_cancel_yield() {
    let task = spawn(sleep(Duration::from_secs(10)));
    yield_now().await;
    assert!(task.cancel());
    assert!(
        task.cancel(),
        "a second request on a task not done yet is accepted"
    );
    assert_eq!(task.cancelling(), 2);
    yield_now().await;
    yield_now().await;
    assert!(task.is_done() && task.is_cancelled());
    assert!(!task.cancel(), "a done task cannot be cancelled");
    assert!(task.await.unwrap_err().is_cancelled());
}

/// test_tasks.py `test_cancel_at_end`: a task that cancels itself and then returns without
/// awaiting anything ends cancelled, not with its value.
#[aioloop::test]
async fn test_cancel_at_end() {
    let task = spawn(async {
        assert!(aioloop::current_task().unwrap().cancel());
        12
    });
    assert!(task.await.unwrap_err().is_cancelled());
}

/// test_tasks.py `test_cancel_both_task_and_inner_future`: the awaited future and the task are
/// cancelled in the same iteration; both end cancelled.
#[aioloop::test]
async fn test_cancel_both_task_and_inner_future() {
    let fut = Future::<i32>::new();
    let task = spawn(fut.clone());
    yield_now().await;
    assert!(fut.cancel());
    assert!(task.cancel());
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(fut.is_cancelled());
}

/// test_tasks.py `test_task_cancel_sleeping_task`: cancelling a sleeping task removes its
/// timer: the (virtual) clock does not jump to the sleep's deadline.
#[aioloop::test(start_paused = true)]
async fn test_task_cancel_sleeping_task() {
    let lp = get_running_loop();
    let t0 = lp.time();
    let task = spawn(sleep(Duration::from_secs(5000)));
    sleep(Duration::from_millis(100)).await;
    assert!(task.cancel());
    assert!(task.await.unwrap_err().is_cancelled());
    sleep(Duration::from_millis(100)).await;
    assert_eq!(lp.time() - t0, Duration::from_millis(200));
}

/// test_tasks.py `test_shield_shortcut`: shielding a task that is already done gives its
/// result at once.
#[aioloop::test]
async fn test_shield_shortcut() {
    let task = spawn(async { 42 });
    yield_now().await;
    assert!(task.is_done());
    assert_eq!(shield(task).await.unwrap(), 42);
}

/// test_tasks.py GatherTests `test_one_cancellation` / `test_return_exceptions`: with
/// `return_exceptions=True` (the shape of a gather of tasks here), a child cancelled on its own
/// takes a `Cancelled` slot; the others finish and the awaiter is not cancelled.
#[aioloop::test(start_paused = true)]
async fn test_gather_one_cancellation_return_exceptions() {
    let a = spawn(async {
        sleep(Duration::from_secs(1)).await;
        1
    });
    let b = spawn(async {
        sleep(Duration::from_secs(10)).await;
        2
    });
    let c = spawn(async {
        sleep(Duration::from_secs(2)).await;
        3
    });
    let b_ref = b.task_ref();
    let outer = spawn(gather(vec![a, b, c]));
    sleep(Duration::from_millis(10)).await;
    assert!(b_ref.cancel());
    let results = outer.await.unwrap();
    assert_eq!(*results[0].as_ref().unwrap(), 1);
    assert!(results[1].as_ref().unwrap_err().is_cancelled());
    assert_eq!(*results[2].as_ref().unwrap(), 3);
}

/// test_waitfor.py `test_wait_for_race_condition`: the future completes before the deadline:
/// its result, not a timeout.
#[aioloop::test(start_paused = true)]
async fn test_wait_for_race_condition() {
    let fut = Future::<&str>::new();
    let setter = fut.clone();
    aioloop::call_later(Duration::from_millis(100), move || {
        setter.set_result("ok").unwrap()
    });
    assert_eq!(wait_for(fut, Duration::from_millis(200)).await, Ok(Ok("ok")));
}

/// test_waitfor.py `test_wait_for_blocking` (`timeout=None`): the nearest form is a timeout
/// too large to ever expire; it must neither overflow the clock nor time out.
#[aioloop::test(start_paused = true)]
async fn test_wait_for_blocking() {
    assert_eq!(wait_for(async { "done" }, Duration::MAX).await, Ok("done"));
    let slept = wait_for(sleep(Duration::from_secs(3600)), Duration::MAX).await;
    assert_eq!(slept, Ok(()));
}

/// test_waitfor.py `test_wait_for_issue86296`: a wait_for that finished does not shield the
/// task from a later cancellation.
#[aioloop::test(start_paused = true)]
async fn test_wait_for_issue86296() {
    let reached_end = Rc::new(Cell::new(false));
    let task = spawn({
        let reached_end = reached_end.clone();
        async move {
            wait_for(async {}, Duration::from_secs(100)).await.unwrap();
            sleep(Duration::from_secs(1)).await;
            reached_end.set(true);
        }
    });
    yield_now().await;
    assert!(!task.is_done());
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!reached_end.get());
}

/// test_waitfor.py `test_asyncio_wait_for_cancelled`: cancelling the task that runs a wait_for
/// cancels what it waits for and lets it finish its cleanup (here an awaited cleanup through
/// `until_cancelled`), and the wait_for task ends cancelled.
#[aioloop::test(start_paused = true)]
async fn test_asyncio_wait_for_cancelled() {
    let exited = Rc::new(Cell::new(false));
    let slow = spawn({
        let exited = exited.clone();
        async move {
            if until_cancelled(sleep(Duration::from_millis(200))).await.is_err() {
                sleep(Duration::from_millis(200)).await;
            }
            exited.set(true);
        }
    });
    let waiter = spawn(wait_for(slow, Duration::from_millis(400)));
    yield_now().await;
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    // The wait_for task ends as soon as it is dropped (documented); the slow task goes on
    // with its cleanup and finishes it.
    sleep(Duration::from_millis(300)).await;
    assert!(exited.get());
}

/// test_tasks.py `test_cancel_current_task` with a handler: a task that cancels itself and then
/// awaits observes the request at that await (asyncio raises `CancelledError` there), runs its
/// cleanup, and ends cancelled.
#[aioloop::test]
async fn test_cancel_current_task_then_observe() {
    let cleaned = Rc::new(Cell::new(false));
    let task = spawn({
        let cleaned = cleaned.clone();
        async move {
            assert!(aioloop::current_task().unwrap().cancel());
            if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
                yield_now().await;
                cleaned.set(true);
            }
        }
    });
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(cleaned.get());
}
