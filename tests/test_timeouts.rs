//! Issue 16, item 8: `timeout_scope` / `timeout_scope_at`, asyncio 3.11's `asyncio.timeout()` /
//! `asyncio.timeout_at()`, ported from CPython's Lib/test/test_asyncio/test_timeouts.py. Each
//! test is named after the upstream one it ports.
//!
//! The Rust form: `async with asyncio.timeout(d) as cm: body` is
//! `let cm = timeout_scope(d); cm.run(body).await`, whose `Err(TimeoutError)` is the raised
//! `TimeoutError`. Where asyncio throws `CancelledError` into the body, aioloop drops the body as
//! a cancellation: a `try/finally` in the body is a `Drop` guard, and an `except
//! CancelledError` with async cleanup is a task the body awaits that observes its cancellation
//! with `until_cancelled` (the scope waits for it, as `wait_for` does).
//!
//! Upstream tests with no Rust form:
//! - test_timeout_exception_context, test_foreign_exception_on_timeout_2,
//!   test_timeout_taskgroup: they check Python's implicit exception chains (`__context__`)
//!   through `finally` blocks and exception groups; Rust has no implicit chaining. What does
//!   carry over is ported: the error's cause is a cancellation (test_timeout_exception_cause),
//!   and a panic in the cleanup wins over the timeout (test_foreign_exception_on_timeout).
//! - test_timeout_without_task: the scope is a future, not bound to a task; it needs a
//!   running loop, and without one its first poll panics (ported as such).
//! - test_timeout_not_entered: aioloop allows `reschedule` before `run` (it sets the deadline
//!   the run will use); ported as that behaviour.
//! - test_timeout_in_cancelled_task is not in the CPython test file read (main, 2025).
//!
//! Busy-loop tests (test_nested_timeouts_concurrent, test_nested_timeouts_loop_busy) run on the
//! paused clock, with `time::advance` in place of `time.sleep`: the clock moves while the task
//! holds the loop, then the task yields.

use std::cell::Cell;
use std::error::Error;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{
    current_task, get_running_loop, sleep, spawn, timeout_scope, timeout_scope_at, until_cancelled,
    yield_now, CancelledError, Future, TimeoutError, TimeoutScope,
};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// Sets its flag when dropped: a `finally` / `except CancelledError` in the body.
struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[aioloop::test(start_paused)]
async fn test_timeout_basic() {
    let cm = timeout_scope(10 * MS);
    assert_eq!(cm.run(sleep(10 * SEC)).await, Err(TimeoutError));
    assert!(cm.expired());
}

#[aioloop::test(start_paused)]
async fn test_timeout_at_basic() {
    let deadline = get_running_loop().time() + 10 * MS;
    let cm = timeout_scope_at(deadline);
    assert_eq!(cm.run(sleep(10 * SEC)).await, Err(TimeoutError));
    assert!(cm.expired());
    assert_eq!(cm.when(), Some(deadline));
}

/// Only the topmost scope reports; the inner one was cancelled (dropped) and reads expired.
#[aioloop::test(start_paused)]
async fn test_nested_timeouts() {
    let deadline = get_running_loop().time() + 10 * MS;
    let cancelled = Rc::new(Cell::new(false));
    let inner_reported = Rc::new(Cell::new(false));
    let cm1 = timeout_scope_at(deadline);
    let cm2 = timeout_scope_at(deadline);
    let out = cm1
        .run({
            let (cm2, cancelled, inner_reported) = (cm2.clone(), cancelled.clone(), inner_reported.clone());
            async move {
                let _except = DropFlag(cancelled);
                let _ = cm2.run(sleep(10 * SEC)).await;
                inner_reported.set(true);
            }
        })
        .await;
    assert_eq!(out, Err(TimeoutError));
    assert!(cancelled.get());
    assert!(!inner_reported.get(), "only the topmost scope reports");
    assert!(cm1.expired());
    assert!(cm2.expired());
}

#[aioloop::test(start_paused)]
async fn test_waiter_cancelled() {
    let cancelled = Rc::new(Cell::new(false));
    let flag = DropFlag(cancelled.clone());
    let out = timeout_scope(10 * MS)
        .run(async move {
            let _except = flag;
            sleep(10 * SEC).await;
        })
        .await;
    assert_eq!(out, Err(TimeoutError));
    assert!(cancelled.get());
}

#[aioloop::test(start_paused)]
async fn test_timeout_not_called() {
    let cm = timeout_scope(10 * SEC);
    assert_eq!(cm.run(sleep(10 * MS)).await, Ok(()));
    let t1 = get_running_loop().time();
    assert!(!cm.expired());
    assert!(cm.when().unwrap() > t1);
    assert_eq!(
        get_running_loop().stats().pending_timers,
        0,
        "the scope's timer left the wheel with the run"
    );
}

#[aioloop::test(start_paused)]
async fn test_timeout_disabled() {
    let cm = timeout_scope(None);
    assert_eq!(cm.run(sleep(10 * MS)).await, Ok(()));
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
}

#[aioloop::test(start_paused)]
async fn test_timeout_at_disabled() {
    let cm = timeout_scope_at(None);
    assert_eq!(cm.run(sleep(10 * MS)).await, Ok(()));
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
}

#[aioloop::test(start_paused)]
async fn test_timeout_zero() {
    let t0 = get_running_loop().time();
    let cm = timeout_scope(Duration::ZERO);
    assert_eq!(cm.run(sleep(10 * SEC)).await, Err(TimeoutError));
    let t1 = get_running_loop().time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 <= when && when <= t1);
}

#[aioloop::test(start_paused)]
async fn test_timeout_zero_sleep_zero() {
    let t0 = get_running_loop().time();
    let cm = timeout_scope(Duration::ZERO);
    assert_eq!(cm.run(sleep(Duration::ZERO)).await, Err(TimeoutError));
    let t1 = get_running_loop().time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 <= when && when <= t1);
}

/// The same with a `yield_now` (aioloop's other "one iteration") in the body, and a body that
/// never suspends: it finishes (asyncio: `async with timeout(0): pass` does not raise).
#[aioloop::test(start_paused)]
async fn test_timeout_zero_yield_now() {
    let cm = timeout_scope(Duration::ZERO);
    assert_eq!(cm.run(yield_now()).await, Err(TimeoutError));
    assert!(cm.expired());
    let cm = timeout_scope(Duration::ZERO);
    assert_eq!(cm.run(async { 7 }).await, Ok(7));
    assert!(!cm.expired());
}

#[aioloop::test(start_paused)]
async fn test_timeout_in_the_past_sleep_zero() {
    let t0 = get_running_loop().time();
    let cm = timeout_scope_at(t0 - 11 * SEC);
    assert_eq!(cm.run(sleep(Duration::ZERO)).await, Err(TimeoutError));
    let t1 = get_running_loop().time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 >= when && when <= t1);
}

/// An error of the body passes through the scope, which did not expire.
#[aioloop::test(start_paused)]
async fn test_foreign_exception_passed() {
    let cm = timeout_scope(10 * MS);
    let out = cm.run(async { Err::<(), _>("KeyError") }).await;
    assert_eq!(out, Ok(Err("KeyError")));
    assert!(!cm.expired());
}

/// A panic in the body's cleanup (its drop on expiry) wins over the timeout: the task running
/// the scope ends panicked, not with `Err(TimeoutError)`.
#[aioloop::test(start_paused)]
async fn test_foreign_exception_on_timeout() {
    struct Crash;
    impl Drop for Crash {
        fn drop(&mut self) {
            panic!("ZeroDivisionError");
        }
    }
    let cm = timeout_scope(10 * MS);
    let task = spawn({
        let cm = cm.clone();
        async move {
            cm.run(async {
                let _finally = Crash;
                sleep(SEC).await;
            })
            .await
        }
    });
    let err = task.await.unwrap_err();
    assert_eq!(err.panic_message(), Some("ZeroDivisionError"));
    assert!(cm.expired());
}

/// The `TimeoutError` is caused by the cancellation: its `source()` is a `CancelledError`
/// (asyncio: `raise TimeoutError from CancelledError`), and the body was cancelled.
#[aioloop::test(start_paused)]
async fn test_timeout_exception_cause() {
    let waiter: Future<()> = Future::new();
    let err = timeout_scope(Duration::ZERO)
        .run(waiter.clone())
        .await
        .unwrap_err();
    assert!(err.source().unwrap().is::<CancelledError>());
    assert!(waiter.is_cancelled(), "what the body awaited was cancelled");
}

/// A `task.cancel()` during the scope stays a cancellation: the task ends cancelled, and the
/// scope did not expire.
#[aioloop::test(start_paused)]
async fn test_foreign_cancel_doesnt_timeout_if_not_expired() {
    let cm = timeout_scope(10 * SEC);
    let task = spawn({
        let cm = cm.clone();
        async move {
            cm.run(async {
                current_task().unwrap().cancel();
                sleep(10 * SEC).await;
            })
            .await
        }
    });
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!cm.expired());

    // The same where the task observes the cancellation around the scope.
    let cm = timeout_scope(10 * SEC);
    let task = spawn({
        let cm = cm.clone();
        async move {
            until_cancelled(cm.run(async {
                current_task().unwrap().cancel();
                sleep(10 * SEC).await;
            }))
            .await
        }
    });
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!cm.expired());
}

/// The scope's expiry is not a cancel request: the task running it is not cancelled, and its
/// `cancelling()` count stays zero.
#[aioloop::test(start_paused)]
async fn test_outer_task_is_not_cancelled() {
    let task = spawn(async {
        let out = timeout_scope(MS).run(sleep(10 * SEC)).await;
        assert_eq!(out, Err(TimeoutError));
        current_task().unwrap().cancelling()
    });
    yield_now().await;
    assert_eq!(task.cancelling(), 0);
    let mut task = task;
    let cancelling = (&mut task).await.unwrap();
    assert_eq!(cancelling, 0);
    assert!(!task.is_cancelled());
    assert!(task.is_done());
}

/// An outer scope that expires while an inner one runs is the outer's: the inner is dropped
/// without reporting and did not expire.
#[aioloop::test(start_paused)]
async fn test_nested_timeouts_concurrent() {
    let inner = timeout_scope(100 * MS);
    let after_inner = Rc::new(Cell::new(false));
    let out = timeout_scope(2 * MS)
        .run({
            let (inner, after_inner) = (inner.clone(), after_inner.clone());
            async move {
                let _ = inner
                    .run(async {
                        // Pretend we crunch some numbers.
                        aioloop::time::advance(10 * MS).await;
                        sleep(SEC).await;
                    })
                    .await;
                after_inner.set(true);
            }
        })
        .await;
    assert_eq!(out, Err(TimeoutError));
    assert!(!after_inner.get());
    assert!(!inner.expired());
}

/// The loop busy past both deadlines: the outer scope reports (both timers fired; the inner
/// one reads expired), well before the body's ten-second sleep.
#[aioloop::test(start_paused)]
async fn test_nested_timeouts_loop_busy() {
    let t0 = get_running_loop().time();
    let inner = timeout_scope(10 * MS);
    let out = timeout_scope(100 * MS)
        .run({
            let inner = inner.clone();
            async move {
                let _ = inner
                    .run(async {
                        // Pretend the loop is busy for a while.
                        aioloop::time::advance(100 * MS).await;
                        sleep(SEC).await;
                    })
                    .await;
                sleep(10 * SEC).await; // interrupted by the outer scope
            }
        })
        .await;
    let t1 = get_running_loop().time();
    assert_eq!(out, Err(TimeoutError));
    assert!(inner.expired());
    assert!(t0 <= t1 && t1 <= t0 + SEC);
}

/// The case the upstream comments describe: the loop busy past the inner deadline only. The
/// inner scope reports inside, and the outer one interrupts the sleep that follows.
#[aioloop::test(start_paused)]
async fn test_nested_timeouts_loop_busy_inner_only() {
    let t0 = get_running_loop().time();
    let inner_out = Rc::new(Cell::new(None));
    let out = timeout_scope(100 * MS)
        .run({
            let inner_out = inner_out.clone();
            async move {
                let out = timeout_scope(10 * MS)
                    .run(async {
                        aioloop::time::advance(50 * MS).await;
                        sleep(SEC).await;
                    })
                    .await;
                inner_out.set(Some(out));
                sleep(10 * SEC).await;
            }
        })
        .await;
    assert_eq!(out, Err(TimeoutError));
    assert_eq!(inner_out.get(), Some(Err(TimeoutError)));
    assert_eq!(get_running_loop().time() - t0, 100 * MS);
}

/// Issue 16, item 8: a scope whose body catches the cancellation still reports expiry. The
/// Rust form of the catch: a task the body awaits observes its cancellation, takes the request
/// back and returns normally; the scope waits for it and reports the timeout all the same.
#[aioloop::test(start_paused)]
async fn item8_a_body_that_catches_the_cancellation_still_reports_expiry() {
    let caught = Rc::new(Cell::new(false));
    let work = spawn({
        let caught = caught.clone();
        async move {
            if until_cancelled(sleep(10 * SEC)).await.is_err() {
                caught.set(true);
                current_task().unwrap().uncancel(); // except CancelledError: pass
            }
            "swallowed"
        }
    });
    let cm = timeout_scope(10 * MS);
    assert!(matches!(cm.run(work).await, Err(TimeoutError)));
    assert!(caught.get());
    assert!(cm.expired());
}

/// Another task reads and moves the deadline of a running scope, then cancels its task.
#[aioloop::test(start_paused)]
async fn test_reschedule() {
    let fut: Future<TimeoutScope> = Future::new();
    let deadline1 = get_running_loop().time() + 10 * SEC;
    let deadline2 = deadline1 + 20 * SEC;
    let task = spawn({
        let fut = fut.clone();
        async move {
            let cm = timeout_scope_at(deadline1);
            cm.run(async {
                fut.set_result(cm.clone()).unwrap();
                sleep(50 * SEC).await;
            })
            .await
        }
    });
    let cm = fut.await.unwrap();
    assert_eq!(cm.when(), Some(deadline1));
    cm.reschedule(deadline2);
    assert_eq!(cm.when(), Some(deadline2));
    cm.reschedule(None);
    assert_eq!(cm.when(), None);
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!cm.expired());
}

/// `reschedule` moves the running scope's timer: later from outside (the scope outlives its
/// first deadline), earlier from inside, and a new deadline after `None`.
#[aioloop::test(start_paused)]
async fn test_reschedule_moves_the_timer() {
    let lp = get_running_loop();
    let t0 = lp.time();

    // Later, from another task: the scope expires at the new deadline, not the first. The
    // timer moves: the wheel holds the scope's and the body's sleep's, before and after.
    let cm = timeout_scope(10 * SEC);
    let task = spawn({
        let cm = cm.clone();
        async move { cm.run(sleep(3600 * SEC)).await }
    });
    yield_now().await;
    assert_eq!(lp.stats().pending_timers, 2);
    cm.reschedule(t0 + 30 * SEC);
    assert_eq!(lp.stats().pending_timers, 2);
    assert_eq!(task.await.unwrap(), Err(TimeoutError));
    assert_eq!(lp.time() - t0, 30 * SEC);

    // Earlier, from inside the scope.
    let t1 = lp.time();
    let cm = timeout_scope(3600 * SEC);
    let out = cm
        .run(async {
            cm.reschedule(lp.time() + 5 * SEC);
            sleep(3600 * SEC).await;
        })
        .await;
    assert_eq!(out, Err(TimeoutError));
    assert_eq!(lp.time() - t1, 5 * SEC);

    // Removed, then set again from another task: the run sets the new timer.
    let t2 = lp.time();
    let cm = timeout_scope(SEC);
    let task = spawn({
        let cm = cm.clone();
        async move { cm.run(sleep(3600 * SEC)).await }
    });
    yield_now().await;
    cm.reschedule(None);
    assert_eq!(lp.stats().pending_timers, 1, "the scope's timer left the wheel");
    sleep(5 * SEC).await;
    assert!(!cm.expired() && !task.is_done(), "no deadline");
    cm.reschedule(lp.time() + 2 * SEC);
    assert_eq!(task.await.unwrap(), Err(TimeoutError));
    assert_eq!(lp.time() - t2, 7 * SEC);
}

#[aioloop::test(start_paused)]
async fn test_repr_active() {
    let cm = timeout_scope(10 * SEC);
    let repr = cm.run(async { format!("{cm:?}") }).await.unwrap();
    assert!(
        repr.contains("\"active\"") && repr.contains("when: Some("),
        "{repr}"
    );
}

#[aioloop::test(start_paused)]
async fn test_repr_expired() {
    let cm = timeout_scope(10 * MS);
    assert_eq!(cm.run(sleep(10 * SEC)).await, Err(TimeoutError));
    assert!(format!("{cm:?}").contains("\"expired\""), "{cm:?}");
}

#[aioloop::test(start_paused)]
async fn test_repr_finished() {
    let cm = timeout_scope(10 * SEC);
    cm.run(sleep(Duration::ZERO)).await.unwrap();
    assert!(format!("{cm:?}").contains("\"finished\""), "{cm:?}");
}

#[aioloop::test(start_paused)]
async fn test_repr_disabled() {
    let cm = timeout_scope(None);
    let repr = cm.run(async { format!("{cm:?}") }).await.unwrap();
    assert!(
        repr.contains("\"active\"") && repr.contains("when: None"),
        "{repr}"
    );
}

/// The `finally` of an expired scope's body runs its own scope, which expires in turn. The Rust
/// form of async cleanup: a task the body awaits observes its cancellation and, cleaning up,
/// runs a nested scope; the outer scope reports once that cleanup has finished.
#[aioloop::test(start_paused)]
async fn test_nested_timeout_in_finally() {
    let cleanup_out = Rc::new(Cell::new(None));
    let work = spawn({
        let cleanup_out = cleanup_out.clone();
        async move {
            if until_cancelled(sleep(SEC)).await.is_err() {
                let out = timeout_scope(10 * MS).run(sleep(10 * SEC)).await;
                cleanup_out.set(Some(out));
            }
        }
    });
    let t0 = get_running_loop().time();
    let out = timeout_scope(10 * MS).run(work).await;
    assert!(matches!(out, Err(TimeoutError)));
    assert_eq!(cleanup_out.get(), Some(Err(TimeoutError)));
    assert_eq!(
        get_running_loop().time() - t0,
        20 * MS,
        "the outer waited for the cleanup"
    );
}

/// A task whose cancellation was observed runs a zero scope in its cleanup: the scope expires
/// as anywhere else (the pending cancel request is not the scope's).
#[aioloop::test(start_paused)]
async fn test_timeout_after_cancellation() {
    let task = spawn(async {
        current_task().unwrap().cancel();
        let work = until_cancelled(sleep(SEC)).await; // work which will be cancelled
        assert!(work.is_err());
        timeout_scope(Duration::ZERO).run(sleep(SEC)).await // some cleanup
    });
    let mut task = task;
    assert!(
        (&mut task).await.unwrap_err().is_cancelled(),
        "the task still ends cancelled"
    );
    // The cleanup ran to its end: a task whose cancel was delivered runs until it returns.
    let task = spawn(async {
        current_task().unwrap().cancel();
        let _ = until_cancelled(sleep(SEC)).await;
        let out = timeout_scope(Duration::ZERO).run(sleep(SEC)).await;
        current_task().unwrap().uncancel();
        out
    });
    assert_eq!(task.await.unwrap(), Err(TimeoutError));
}

/// A second cancel during the cleanup's scope is a cancellation, not a timeout: the task ends
/// cancelled and the scope did not expire.
#[aioloop::test(start_paused)]
async fn test_cancel_in_timeout_after_cancellation() {
    let cm = timeout_scope(SEC);
    let reported = Rc::new(Cell::new(false));
    let task = spawn({
        let (cm, reported) = (cm.clone(), reported.clone());
        async move {
            current_task().unwrap().cancel();
            let _ = until_cancelled(sleep(SEC)).await; // work which will be cancelled
            let _ = cm
                .run(async {
                    current_task().unwrap().cancel();
                    sleep(2 * SEC).await; // some cleanup
                })
                .await;
            reported.set(true);
        }
    });
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!reported.get());
    assert!(!cm.expired());
}

#[aioloop::test(start_paused)]
#[should_panic(expected = "has already been entered")]
async fn test_timeout_already_entered() {
    let cm = timeout_scope(10 * MS);
    let _ = cm.run(async { cm.run(async {}).await }).await;
}

#[aioloop::test(start_paused)]
#[should_panic(expected = "has already been entered")]
async fn test_timeout_double_enter() {
    let cm = timeout_scope(10 * MS);
    cm.run(async {}).await.unwrap();
    let _ = cm.run(async {}).await;
}

#[aioloop::test(start_paused)]
#[should_panic(expected = "has finished")]
async fn test_timeout_finished() {
    let cm = timeout_scope(10 * MS);
    cm.run(async {}).await.unwrap();
    cm.reschedule(get_running_loop().time() + 20 * MS);
}

#[aioloop::test(start_paused)]
#[should_panic(expected = "has expired")]
async fn test_timeout_expired() {
    let cm = timeout_scope(10 * MS);
    assert_eq!(cm.run(sleep(SEC)).await, Err(TimeoutError));
    cm.reschedule(get_running_loop().time() + 20 * MS);
}

/// Rescheduling while the scope expires (asyncio: in the body's `except CancelledError`) is
/// refused. The Rust form: the cleanup of a task the body awaited, cancelled by the expiry.
#[aioloop::test(start_paused)]
async fn test_timeout_expiring() {
    let cm = timeout_scope(10 * MS);
    let refused = Rc::new(Cell::new(None));
    let work = spawn({
        let (cm, refused) = (cm.clone(), refused.clone());
        async move {
            assert!(until_cancelled(sleep(SEC)).await.is_err());
            let when = get_running_loop().time() + 20 * MS;
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cm.reschedule(when)));
            let payload = attempt.unwrap_err();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned());
            refused.set(Some(message.unwrap().contains("is expiring")));
        }
    });
    assert!(matches!(cm.run(work).await, Err(TimeoutError)));
    assert_eq!(refused.get(), Some(true));
}

/// aioloop allows `reschedule` before the scope runs (asyncio raises "has not been entered"):
/// it sets the deadline that the run uses.
#[aioloop::test(start_paused)]
async fn test_timeout_not_entered() {
    let lp = get_running_loop();
    let t0 = lp.time();
    let cm = timeout_scope(None);
    cm.reschedule(t0 + 3 * SEC);
    assert_eq!(cm.when(), Some(t0 + 3 * SEC));
    assert_eq!(cm.run(sleep(10 * SEC)).await, Err(TimeoutError));
    assert_eq!(lp.time() - t0, 3 * SEC);
}

/// The scope needs a running loop (not a task): its first poll without one panics.
#[test]
#[should_panic(expected = "no running event loop")]
fn test_timeout_without_task() {
    let cm = timeout_scope(10 * MS);
    let mut run = std::pin::pin!(cm.run(async {}));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let _ = std::future::Future::poll(run.as_mut(), &mut cx);
}
