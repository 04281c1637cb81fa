//! Second audit against CPython's Lib/test/test_asyncio/test_queues.py (3.13): the getter and
//! putter races, cancellations and shutdown cases the first audit (audit_asyncio_queues.rs)
//! and sync_queue.rs do not port. Each test is named after the CPython test.

mod sync_common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::sync::{Event, GetNowaitError, PutNowaitError, Queue, QueueShutDown};
use aioloop::{call_later, spawn, Task};
use sync_common::{
    finish, getter, joiner, put_task, puts_and_gets_fail_shut_down, queue_test_get_cancelled_race,
    queue_test_get_with_waiting_putters, queue_test_put_cancelled_race, ticks,
};

/// A queue of one slot that holds 1, and a [`put_task`] of `item` given one iteration to
/// start waiting for the slot.
async fn full_queue_and_a_waiting_putter(item: i32) -> (Queue<i32>, Task<Result<(), QueueShutDown<i32>>>) {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let put = put_task(&q, item);
    ticks(1).await;
    (q, put)
}

/// test_queues.py `test_blocking_get_wait`: a `get` on an empty queue waits until a timer's
/// `put_nowait` brings an item.
#[aioloop::test(start_paused)]
async fn test_blocking_get_wait() {
    let q = Queue::new(0);
    let started = Event::new();
    let finished = Rc::new(Cell::new(false));
    let queue_get = spawn({
        let (q, started, finished) = (q.clone(), started.clone(), finished.clone());
        async move {
            started.set();
            let res = q.get().await;
            finished.set(true);
            res
        }
    });
    started.wait().await;
    assert!(!finished.get());
    let q2 = q.clone();
    call_later(Duration::from_millis(10), move || q2.put_nowait(1).unwrap());
    assert_eq!(queue_get.await.unwrap(), Ok(1));
    assert!(finished.get());
}

/// test_queues.py `test_blocking_put_wait`: a `put` on a full queue waits until a timer's
/// `get_nowait` frees the slot.
#[aioloop::test(start_paused)]
async fn test_blocking_put_wait() {
    let q = Queue::new(1);
    let started = Event::new();
    let finished = Rc::new(Cell::new(false));
    let q2 = q.clone();
    call_later(Duration::from_millis(10), move || {
        q2.get_nowait().unwrap();
    });
    let queue_put = spawn({
        let (q, started, finished) = (q.clone(), started.clone(), finished.clone());
        async move {
            started.set();
            q.put(1).await.unwrap();
            q.put(2).await.unwrap();
            finished.set(true);
        }
    });
    started.wait().await;
    assert!(!finished.get());
    queue_put.await.unwrap();
    assert!(finished.get());
    assert_eq!(q.get_nowait(), Ok(2));
}

/// test_queues.py `test_get_cancelled_race`: the first of two getters is cancelled before any
/// item comes; the item put afterwards goes to the second.
#[aioloop::test]
async fn test_get_cancelled_race() {
    let (q, t2) = queue_test_get_cancelled_race().await;
    q.put("a").await.unwrap();
    ticks(1).await;
    assert_eq!(finish(t2).await.unwrap(), Ok("a"));
}

/// test_queues.py `test_get_with_waiting_putters`: two putters blocked on a queue of one
/// slot are served in order by two gets.
#[aioloop::test]
async fn test_get_with_waiting_putters() {
    queue_test_get_with_waiting_putters(0).await;
}

/// test_queues.py `test_get_cancel_drop_one_pending_reader`: a getter woken for an item and
/// cancelled before it ran does not lose the item: a new getter gets the first item, not
/// the second.
#[aioloop::test]
async fn test_get_cancel_drop_one_pending_reader() {
    let q = Queue::new(0);
    let reader = getter(&q);
    ticks(1).await;
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    reader.cancel();
    let result = match finish(reader).await {
        Ok(item) => item,
        Err(e) => {
            assert!(e.is_cancelled());
            finish(getter(&q)).await.unwrap()
        }
    };
    assert_eq!(result, Ok(1), "if we get 2, 1 got dropped or reordered");
}

/// test_queues.py `test_get_cancel_drop_many_pending_readers`: of three waiting getters the
/// first is cancelled in the step two items arrive; the other two get the two items.
#[aioloop::test]
async fn test_get_cancel_drop_many_pending_readers() {
    let q = Queue::new(0);
    let reader1 = getter(&q);
    let reader2 = getter(&q);
    let reader3 = getter(&q);
    ticks(1).await;
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    reader1.cancel();
    assert!(finish(reader1).await.unwrap_err().is_cancelled());
    let mut got = [
        finish(reader2).await.unwrap().unwrap(),
        finish(reader3).await.unwrap().unwrap(),
    ];
    got.sort();
    assert_eq!(got, [1, 2]);
    assert!(q.empty());
}

/// test_queues.py `test_put_cancel_drop`: a putter woken for a free slot and cancelled
/// before it ran does not put its item; put again, the item is the only one queued.
#[aioloop::test]
async fn test_put_cancel_drop() {
    let (q, writer) = full_queue_and_a_waiting_putter(2).await;
    assert_eq!(q.get_nowait(), Ok(1));
    writer.cancel();
    match finish(writer).await {
        Ok(res) => res.unwrap(),
        Err(e) => {
            assert!(e.is_cancelled());
            finish(put_task(&q, 2)).await.unwrap().unwrap();
        }
    }
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.qsize(), 0);
}

/// test_queues.py `test_put_cancelled_race`: of three putters on a queue of one slot, the
/// first puts at once, the third is cancelled while waiting; the slot freed by a get goes
/// to the second, and the cancelled one's item never enters.
#[aioloop::test]
async fn test_put_cancelled_race() {
    let (q, [_put_a, put_b, _put_c]) = queue_test_put_cancelled_race(put_task).await;
    finish(put_b).await.unwrap().unwrap();
    assert_eq!(q.get_nowait(), Err(GetNowaitError::QueueEmpty));
}

/// test_queues.py `test_put_with_waiting_getters`: a `put` goes to the waiting getter.
#[aioloop::test]
async fn test_put_with_waiting_getters() {
    let q = Queue::new(0);
    let t = getter(&q);
    ticks(1).await;
    q.put("a").await.unwrap();
    assert_eq!(finish(t).await.unwrap(), Ok("a"));
}

/// test_queues.py `test_cancelled_puts_not_being_held_in_self_putters`: a cancelled putter
/// leaves the putters: the slot freed afterwards is free for anyone (a `put_nowait`), not
/// kept for it.
#[aioloop::test]
async fn test_cancelled_puts_not_being_held_in_self_putters() {
    let (q, put) = full_queue_and_a_waiting_putter(1).await;
    put.cancel();
    assert!(finish(put).await.unwrap_err().is_cancelled());
    assert_eq!(q.get_nowait(), Ok(1));
    q.put_nowait(3).unwrap();
    assert_eq!(q.qsize(), 1);
}

/// test_queues.py `test_cancelled_put_silence_value_error_exception`: a putter woken by a
/// `get_nowait` and then cancelled ends cancelled (asyncio's bug raised `ValueError`), and
/// the slot it was woken for stays free.
#[aioloop::test]
async fn test_cancelled_put_silence_value_error_exception() {
    let (q, put) = full_queue_and_a_waiting_putter(2).await;
    assert_eq!(q.get_nowait(), Ok(1));
    put.cancel();
    assert!(finish(put).await.unwrap_err().is_cancelled());
    assert!(q.empty());
    q.put_nowait(3).unwrap();
    assert!(matches!(q.put_nowait(4), Err(PutNowaitError::QueueFull(4))));
}

/// test_queues.py `test_shutdown_immediate_with_unfinished` (3.13): an immediate shutdown
/// drops the queued item and counts it done, but not the item already taken: `join` waits
/// for its `task_done`, and one more `task_done` is an error.
#[aioloop::test]
async fn test_shutdown_immediate_with_unfinished() {
    let q = Queue::new(0);
    q.put_nowait("data").unwrap();
    q.put_nowait("data").unwrap();
    let join_task = joiner(&q);
    assert_eq!(q.get().await, Ok("data"));
    q.shutdown(true);
    assert_eq!(q.qsize(), 0);
    ticks(1).await;
    assert!(!join_task.is_done(), "the item taken is not done yet");

    puts_and_gets_fail_shut_down(&q).await;

    q.task_done().unwrap();
    assert!(q.task_done().is_err(), "every item is done");
    ticks(1).await;
    assert!(join_task.is_done());
    finish(join_task).await.unwrap();
}
