//! `aioloop::sync::Event`: asyncio's test_locks.EventTests, ported.

mod sync_common;

use aioloop::sync::Event;
use sync_common::{event_waiter, finish, ticks, with_waiters};

/// asyncio's `test_wait`: `set` wakes every waiter, in the order they started waiting.
#[aioloop::test]
async fn set_wakes_all_waiters_in_order() {
    let (ev, result, tasks) = with_waiters::<_, 2>(Event::new(), event_waiter).await;
    assert_eq!(*result.borrow(), []);

    let t3 = event_waiter(&ev, &result, 3);
    ev.set();
    ticks(1).await;
    assert_eq!(
        *result.borrow(),
        [3, 1, 2],
        "t3 had not started waiting: it passes straight"
    );
    for t in tasks {
        finish(t).await.unwrap();
    }
    finish(t3).await.unwrap();
    assert!(ev.is_set());
}

#[aioloop::test]
async fn waiters_wake_in_fifo_order() {
    let (ev, result, tasks) = with_waiters::<_, 5>(Event::new(), event_waiter).await;
    ev.set();
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(*result.borrow(), [1, 2, 3, 4, 5]);
}

/// asyncio's `test_wait_on_set`: a set event does not block.
#[aioloop::test]
async fn wait_on_a_set_event_returns_at_once() {
    let ev = Event::new();
    ev.set();
    ev.wait().await;
    assert!(ev.is_set());
}

/// asyncio's `test_clear_with_waiters`: a waiter woken by `set` returns even if the event is
/// cleared before it runs; a `clear` alone blocks later waits.
#[aioloop::test]
async fn a_woken_waiter_returns_even_if_cleared_before_it_runs() {
    let (ev, result, [t]) = with_waiters(Event::new(), event_waiter).await;
    assert_eq!(*result.borrow(), []);

    ev.set();
    ev.clear();
    assert!(!ev.is_set());
    ticks(1).await;
    assert_eq!(*result.borrow(), [1]);
    finish(t).await.unwrap();

    let t2 = event_waiter(&ev, &result, 2);
    ticks(3).await;
    assert_eq!(*result.borrow(), [1], "cleared: the new waiter blocks");
    ev.set();
    finish(t2).await.unwrap();
    assert_eq!(*result.borrow(), [1, 2]);
}

/// asyncio's `test_wait_cancel`: a cancelled waiter leaves; the others are still woken.
#[aioloop::test]
async fn a_cancelled_waiter_leaves_the_others_are_woken() {
    let (ev, result, [t1, t2, t3]) = with_waiters(Event::new(), event_waiter).await;
    t2.cancel();
    ticks(1).await;
    ev.set();
    finish(t1).await.unwrap();
    assert!(finish(t2).await.unwrap_err().is_cancelled());
    finish(t3).await.unwrap();
    assert_eq!(*result.borrow(), [1, 3]);
}
