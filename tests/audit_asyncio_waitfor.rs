//! Audit against CPython's Lib/test/test_asyncio/test_waitfor.py and test_timeouts.py: the
//! races of a deadline with a result and with a cancellation, as asyncio 3.12 settles them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{
    get_running_loop, sleep, spawn, timeout_scope, until_cancelled, wait_for, yield_now, EventLoop, Future,
    TimeoutError,
};

/// The deadline and the result arrive in the same iteration (the result's timer was set
/// first, so its callback runs first): asyncio 3.12's `wait_for` is `async with timeout()`,
/// whose expiry callback cancels the task even though its future is done (`_must_cancel`), so
/// the caller gets `TimeoutError`. aioloop checks the deadline first and agrees.
/// (asyncio 3.11's `wait_for` and tokio's `timeout` return the result instead.)
#[aioloop::test(start_paused = true)]
async fn test_wait_for_result_and_deadline_in_the_same_iteration() {
    let fut = Future::<&str>::new();
    let setter = fut.clone();
    aioloop::call_later(Duration::from_millis(100), move || {
        setter.set_result("ok").unwrap()
    });
    let res = wait_for(fut.clone(), Duration::from_millis(100)).await;
    assert_eq!(res, Err(TimeoutError));
    assert_eq!(
        fut.result().unwrap(),
        Ok("ok"),
        "the result was set, and lost to the deadline"
    );
}

/// test_waitfor.py `test_wait_for_waits_for_task_cancellation_w_timeout_0`: a zero timeout on a
/// running task cancels it and waits for its (awaited) cleanup before reporting.
#[aioloop::test(start_paused = true)]
async fn test_wait_for_waits_for_task_cancellation_w_timeout_0() {
    let task_done = Rc::new(Cell::new(false));
    let inner = spawn({
        let task_done = task_done.clone();
        async move {
            if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
                sleep(Duration::from_millis(1)).await;
            }
            task_done.set(true);
        }
    });
    sleep(Duration::from_millis(1)).await;
    assert_eq!(wait_for(inner, Duration::ZERO).await.unwrap_err(), TimeoutError);
    assert!(task_done.get());
}

/// test_waitfor.py `test_wait_for_reraises_exception_during_cancellation`: the task that
/// `wait_for` cancels raises during its cleanup. asyncio re-raises that exception from
/// `wait_for`; aioloop reports `Err(TimeoutError)` and the panic, which nobody can retrieve
/// now (the `Task` handle went with the dropped future), goes to the loop's exception
/// handler. A documented divergence (docs/asyncio.md, wait_for).
#[test]
fn test_wait_for_reraises_exception_during_cancellation() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let lp = EventLoop::builder()
        .start_paused(true)
        .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
        .build()
        .unwrap();
    lp.run_until_complete(async {
        let inner = spawn(async {
            let _ = until_cancelled(sleep(Duration::from_millis(200))).await;
            panic!("FooException");
        });
        assert_eq!(
            wait_for(inner, Duration::from_millis(1)).await.unwrap_err(),
            TimeoutError
        );
        yield_now().await;
    });
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("FooException"), "{seen:?}");
}

/// test_timeouts.py `test_timeout_in_the_past_sleep_zero` with reschedule: moving the deadline
/// of a running scope into the past expires it at the next iteration.
#[aioloop::test(start_paused = true)]
async fn test_reschedule_into_the_past_expires() {
    let lp = get_running_loop();
    let cm = timeout_scope(Duration::from_secs(10));
    let inner = cm.clone();
    let t0 = lp.time();
    let res = cm
        .run(async move {
            yield_now().await;
            inner.reschedule(Some(get_running_loop().time() - Duration::from_secs(1)));
            sleep(Duration::from_secs(5)).await;
        })
        .await;
    assert_eq!(res, Err(TimeoutError));
    assert!(cm.expired());
    assert_eq!(lp.time(), t0, "no virtual time passed");
}

/// test_timeouts.py `test_reschedule` (the disabling half): `reschedule(None)` on a running scope
/// lets the body run past the old deadline.
#[aioloop::test(start_paused = true)]
async fn test_reschedule_none_disables_the_deadline() {
    let cm = timeout_scope(Duration::from_millis(10));
    let inner = cm.clone();
    let res = cm
        .run(async move {
            inner.reschedule(None);
            sleep(Duration::from_secs(1)).await;
            7
        })
        .await;
    assert_eq!(res, Ok(7));
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
}

/// test_timeouts.py, the race of test_waitfor.py's `test_wait_for_race_condition` inside a
/// scope: a result and the deadline in the same iteration end the scope as `wait_for` does
/// (asyncio 3.12's `timeout()`: the expiry cancels the task whose future is done), and the
/// scope reports itself expired.
#[aioloop::test(start_paused = true)]
async fn test_timeout_scope_result_and_deadline_in_the_same_iteration() {
    let fut = Future::<&str>::new();
    let setter = fut.clone();
    aioloop::call_later(Duration::from_millis(100), move || {
        setter.set_result("ok").unwrap()
    });
    let cm = timeout_scope(Duration::from_millis(100));
    let res = cm.run(fut.clone()).await;
    assert_eq!(res, Err(TimeoutError));
    assert!(cm.expired());
}

/// test_waitfor.py `test_wait_for_cancel_suppressed`: the task `wait_for` cancels suppresses
/// the cancellation and returns 42. asyncio's `wait_for` then returns 42; here the `Task`
/// handle went with the dropped future, so `wait_for` reports `Err(TimeoutError)` once the
/// task has finished, and the task's own outcome is its value. A documented divergence
/// (docs/asyncio.md: cancellation is dropping).
#[aioloop::test(start_paused = true)]
async fn test_wait_for_cancel_suppressed() {
    let inner = spawn(async {
        if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
            aioloop::current_task().unwrap().uncancel(); // except CancelledError: return 42
        }
        42
    })
    .shared();
    let res = wait_for(inner.clone(), Duration::from_millis(100)).await;
    assert_eq!(res.unwrap_err(), TimeoutError);
    assert!(inner.is_done(), "wait_for waited for the task to finish");
    assert_eq!(inner.clone().await.unwrap(), 42);
}
