//! Fifth audit against CPython's Lib/test/test_asyncio/test_timeouts.py (3.13/3.14): the cases
//! the earlier ports (test_timeouts.rs, audit2_asyncio_timeouts.rs) do not cover. Each test is
//! named after the CPython test.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

mod support;

use aioloop::{sleep, timeout_scope, until_cancelled, EventLoop, TaskGroup};

/// test_timeouts.py `test_timeout_taskgroup` (3.13): a `timeout(0.01)` around a `TaskGroup`
/// whose child has an async cleanup that crashes (`finally: 1/0`). The expiry cancels the body
/// and the child; the group waits for the child's cleanup before anything is reported.
/// asyncio then raises the group's `ExceptionGroup([ZeroDivisionError])` (in the context of the
/// `TimeoutError`). aioloop's expiry drops the group as a cancellation, so the scope reports
/// `TimeoutError` (documented: cancellation is dropping, a dropped future returns nothing) and
/// the child's crash, which nobody can retrieve any more, goes to the exception handler. What
/// both share and this test asserts: the child's cleanup ran to its end before the scope
/// reported, and its crash is not lost.
#[test]
fn test_timeout_taskgroup() {
    let reported = Rc::new(RefCell::new(Vec::<String>::new()));
    let event_loop = EventLoop::builder().start_paused(true).build().unwrap();
    {
        let reported = reported.clone();
        event_loop.set_exception_handler(move |ctx| {
            reported.borrow_mut().push(format!("{ctx:?}"));
        });
    }
    let cleaned = Rc::new(Cell::new(false));
    let c = cleaned.clone();
    let seen = cleaned.clone();
    let (out, cleaned_at_report) = event_loop.run_until_complete(async move {
        let out = timeout_scope(Duration::from_millis(10))
            .run(TaskGroup::<&str>::run(|tg| async move {
                tg.spawn_plain(async move {
                    if until_cancelled(sleep(Duration::from_secs(2))).await.is_err() {
                        sleep(Duration::from_millis(1)).await; // async cleanup
                        c.set(true);
                        panic!("ZeroDivisionError"); // crash in cleanup
                    }
                })
                .unwrap();
                sleep(Duration::from_secs(1)).await;
            }))
            .await;
        (out, seen.get())
    });
    assert!(out.is_err(), "TimeoutError");
    assert!(
        cleaned_at_report,
        "the scope reported only after the child's async cleanup"
    );
    assert!(cleaned.get());
    let reported = reported.borrow();
    assert!(
        reported.iter().any(|r| r.contains("ZeroDivisionError")),
        "the crash in cleanup reached the exception handler: {reported:?}"
    );
}

/// test_timeouts.py `test_timeout_taskgroup`, under `wait_for` (asyncio's `wait_for` is
/// `async with timeout(..)` since 3.12), with the child's crash an `Err`: the timed-out group's
/// child finishes its async cleanup before `wait_for` reports `TimeoutError`, and the `Err`
/// it returned, which nobody can retrieve, reaches the exception handler (asyncio raises it
/// in the `ExceptionGroup`); it used to be dropped unseen.
#[test]
fn test_timeout_taskgroup_under_wait_for() {
    let reported = support::reports_of(timeout_taskgroup_under_wait_for());
    assert!(
        reported
            .iter()
            .any(|r| r.contains("TaskGroup child error was never retrieved")),
        "the Err returned in cleanup reached the exception handler: {reported:?}"
    );
}

async fn timeout_taskgroup_under_wait_for() {
    let cleaned = Rc::new(Cell::new(false));
    let c = cleaned.clone();
    let out = aioloop::wait_for(
        TaskGroup::<&str>::run(|tg| async move {
            tg.spawn(async move {
                if until_cancelled(sleep(Duration::from_secs(2))).await.is_err() {
                    sleep(Duration::from_millis(1)).await;
                    c.set(true);
                    return Err("ZeroDivisionError");
                }
                Ok(())
            })
            .unwrap();
            sleep(Duration::from_secs(1)).await;
        }),
        Duration::from_millis(10),
    )
    .await;
    assert!(out.is_err(), "TimeoutError");
    assert!(
        cleaned.get(),
        "wait_for reported only after the child's async cleanup"
    );
}
