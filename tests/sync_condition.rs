//! `aioloop::sync::Condition`: asyncio's test_locks.ConditionTests, ported.

mod sync_common;

use std::cell::Cell;
use std::rc::Rc;

use aioloop::spawn;
use aioloop::sync::{Condition, Lock};
use sync_common::{cond_with_waiters, condition_test_wait, finish, ticks};

/// asyncio's `test_notify`: notify(1) wakes exactly one waiter, notify(2) two, in order.
#[aioloop::test]
async fn notify_one_wakes_exactly_one() {
    let (cond, result, tasks) = cond_with_waiters::<3>().await;
    assert!(!cond.locked(), "waiting releases the lock");

    cond.notify(1);
    ticks(3).await;
    assert_eq!(*result.borrow(), [1]);

    cond.notify(1);
    cond.notify(2048);
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(*result.borrow(), [1, 2, 3]);
    assert!(!cond.locked());
}

/// asyncio's `test_wait`: a notified waiter resumes only once it has the lock back (the tasks
/// keep the lock; the test releases it by hand).
#[aioloop::test]
async fn a_notified_waiter_takes_the_lock_back_before_resuming() {
    let tasks = condition_test_wait([Some(false), Some(true), Some(true), None, None, Some(true)]).await;
    for t in tasks {
        finish(t).await.unwrap();
    }
}

/// asyncio's `test_notify_all`.
#[aioloop::test]
async fn notify_all_wakes_every_waiter_in_order() {
    let (cond, result, tasks) = cond_with_waiters::<4>().await;
    cond.notify_all();
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(*result.borrow(), [1, 2, 3, 4]);
}

/// asyncio's `test_wait_for`: the predicate is re-checked at each notification.
#[aioloop::test]
async fn wait_for_returns_once_the_predicate_holds() {
    let cond = Condition::new();
    let presult = Rc::new(Cell::new(false));
    let calls = Rc::new(Cell::new(0));
    let t = spawn({
        let (cond, presult, calls) = (cond.clone(), presult.clone(), calls.clone());
        async move {
            let guard = cond.lock().await;
            let _guard = cond
                .wait_for(guard, || {
                    calls.set(calls.get() + 1);
                    presult.get()
                })
                .await;
        }
    });
    ticks(1).await;
    assert_eq!(calls.get(), 1);

    cond.notify(1);
    ticks(2).await;
    assert_eq!(calls.get(), 2);
    assert!(!t.is_done(), "the predicate is still false");

    presult.set(true);
    cond.notify(1);
    finish(t).await.unwrap();
    assert_eq!(calls.get(), 3);
}

/// asyncio 3.13 (gh-112202): a waiter cancelled after it was notified passes the notification
/// on, so the other waiter is not left waiting.
#[aioloop::test]
async fn a_notified_waiter_that_is_cancelled_passes_the_notification_on() {
    let (cond, result, [t1, t2]) = cond_with_waiters().await;

    cond.notify(1); // t1's notification...
    t1.cancel(); // ...but t1 is dropped before it runs
    assert!(finish(t1).await.unwrap_err().is_cancelled());
    finish(t2).await.unwrap();
    assert_eq!(*result.borrow(), [2]);
}

/// A waiter cancelled before any notification simply leaves: notify(1) goes to the next one.
#[aioloop::test]
async fn a_cancelled_waiter_does_not_absorb_a_notification() {
    let (cond, result, [t1, t2]) = cond_with_waiters().await;
    t1.cancel();
    ticks(1).await;
    cond.notify(1);
    finish(t2).await.unwrap();
    assert_eq!(*result.borrow(), [2]);
}

#[aioloop::test]
#[should_panic(expected = "guard of another lock")]
async fn waiting_with_the_guard_of_another_lock_panics() {
    let cond = Condition::new();
    let other = Lock::new();
    let guard = other.lock().await;
    drop(cond.wait(guard));
}

/// Issue 16 item 2 for `Condition` (asyncio 3.12's rule of test_acquire_fifo_order_2): a
/// notified waiter that queued to take the lock back gets it before the notifier, which
/// released the lock and locks again meanwhile. (A notified waiter that has not run yet is not
/// queued on the lock, in asyncio as here: the notifier may then lock again first.)
#[aioloop::test]
async fn test_acquire_fifo_order_2_condition() {
    let (cond, result, [w]) = cond_with_waiters().await;
    let guard = cond.lock().await;
    cond.notify(1);
    ticks(2).await; // the waiter runs and queues for the lock
    drop(guard); // hands the lock to the waiter, which has not run since
    assert!(cond.locked());
    let _guard = cond.lock().await;
    result.borrow_mut().push(2);
    assert_eq!(*result.borrow(), [1, 2]);
    finish(w).await.unwrap();
}
