//! asyncio's `Task.cancelling()` count outlives the task: `cancel()` adds to
//! `_num_cancels_requested`, only `uncancel()` takes from it, and nothing resets it when the
//! task ends (Lib/asyncio/tasks.py). test_tasks.py `test_uncancel_basic` ends on a finished
//! task whose `uncancel()` changes only the count. aioloop read 0 from a finished task, and
//! `uncancel()` on it did nothing.

use std::future::pending;
use std::time::Duration;

use aioloop::{current_task, sleep, spawn, until_cancelled, yield_now};

const SEC: Duration = Duration::from_secs(1);

/// Two requests, then the end: the count reads 2 on the finished task, before and after its
/// outcome is taken, through the handle and through a `TaskRef`; `cancel()` on it is refused
/// and adds nothing; `uncancel()` takes one back but the task stays cancelled.
#[aioloop::test]
async fn the_count_stays_after_the_task_ended_cancelled() {
    let mut task = spawn(pending::<()>());
    let view = task.task_ref();
    yield_now().await;
    assert!(task.cancel());
    assert!(task.cancel());
    assert_eq!(task.cancelling(), 2);
    while !task.is_done() {
        yield_now().await;
    }
    assert!(task.is_cancelled());
    assert_eq!(task.cancelling(), 2, "finished, outcome not taken yet");
    assert_eq!(view.cancelling(), 2);

    assert!(!task.cancel(), "a finished task refuses cancel()");
    assert_eq!(task.cancelling(), 2, "a refused cancel() does not count");

    assert!((&mut task).await.unwrap_err().is_cancelled());
    assert_eq!(task.cancelling(), 2, "outcome taken");
    assert_eq!(view.cancelling(), 2);

    assert_eq!(task.uncancel(), 1);
    assert_eq!(view.cancelling(), 1);
    assert!(task.is_cancelled(), "uncancel() does not undo the end");
    assert_eq!(view.uncancel(), 0);
    assert_eq!(task.uncancel(), 0, "never below zero");
}

/// A task that observed the request (`until_cancelled`), cleaned up, and ended: cancelled,
/// with its one request still counted.
#[aioloop::test]
async fn a_delivered_request_is_still_counted_after_the_cleanup() {
    let mut task = spawn(async {
        if until_cancelled(sleep(10 * SEC)).await.is_err() {
            yield_now().await; // the cleanup
        }
    });
    let view = task.task_ref();
    yield_now().await;
    assert!(task.cancel());
    while !task.is_done() {
        yield_now().await;
    }
    assert_eq!(view.cancelling(), 1);
    assert!((&mut task).await.unwrap_err().is_cancelled());
    assert_eq!(task.cancelling(), 1);
}

/// A task that took its request back (`uncancel()`) and ended normally reads 0, and a task
/// never cancelled reads 0 after its end too.
#[aioloop::test]
async fn a_request_taken_back_is_not_counted_after_the_end() {
    let mut task = spawn(async {
        if until_cancelled(sleep(10 * SEC)).await.is_err() {
            assert_eq!(current_task().unwrap().uncancel(), 0);
        }
        7
    });
    yield_now().await;
    assert!(task.cancel());
    assert_eq!((&mut task).await.unwrap(), 7);
    assert!(!task.is_cancelled());
    assert_eq!(task.cancelling(), 0);

    let mut plain = spawn(async { 1 });
    assert_eq!((&mut plain).await.unwrap(), 1);
    assert_eq!(plain.cancelling(), 0);
    assert_eq!(plain.uncancel(), 0);
}

/// A second request during the cleanup of a delivered one (asyncio: a second `cancel()` while
/// the task handles the first) counts too, and both stay counted after the end.
#[aioloop::test]
async fn requests_during_the_cleanup_are_counted_after_the_end() {
    let mut task = spawn(async {
        if until_cancelled(sleep(10 * SEC)).await.is_err() {
            let _ = until_cancelled(sleep(10 * SEC)).await;
        }
    });
    yield_now().await;
    assert!(task.cancel());
    yield_now().await;
    yield_now().await;
    assert!(!task.is_done(), "cleaning up");
    assert!(task.cancel());
    assert_eq!(task.cancelling(), 2);
    assert!((&mut task).await.unwrap_err().is_cancelled());
    assert_eq!(task.cancelling(), 2);
}
