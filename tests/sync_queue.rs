//! `aioloop::sync::{Queue, LifoQueue, PriorityQueue}`: asyncio's test_queues, ported (3.13,
//! shutdown included), plus the cancellation guarantees.

mod sync_common;

use std::cell::Cell;
use std::rc::Rc;

use aioloop::spawn;
use aioloop::sync::{GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueShutDown};
use sync_common::{
    finish, getter, joiner, log, putter, queue_test_get_cancelled_race, queue_test_get_with_waiting_putters,
    queue_test_put_cancelled_race, spawn_logging_putter, third_put_went_in, ticks,
};

#[aioloop::test]
async fn fifo_order() {
    let q = Queue::new(0);
    for i in [1, 3, 2] {
        q.put(i).await.unwrap();
    }
    let mut items = Vec::new();
    for _ in 0..3 {
        items.push(q.get().await.unwrap());
    }
    assert_eq!(items, [1, 3, 2]);
}

#[aioloop::test]
async fn lifo_order() {
    let q = LifoQueue::new(0);
    for i in [1, 3, 2] {
        q.put(i).await.unwrap();
    }
    let mut items = Vec::new();
    for _ in 0..3 {
        items.push(q.get().await.unwrap());
    }
    assert_eq!(items, [2, 3, 1]);
}

#[aioloop::test]
async fn priority_order() {
    let q = PriorityQueue::new(0);
    for i in [1, 3, 2] {
        q.put(i).await.unwrap();
    }
    let mut items = Vec::new();
    for _ in 0..3 {
        items.push(q.get().await.unwrap());
    }
    assert_eq!(items, [1, 2, 3]);
}

/// asyncio's `test_empty`, `test_full`, `test_nonblocking_*_exception`.
#[test]
fn nowait_errors_and_sizes() {
    let q = Queue::new(1);
    assert!(q.empty() && !q.full());
    assert_eq!(q.get_nowait(), Err(GetNowaitError::QueueEmpty));
    q.put_nowait("a").unwrap();
    assert!(q.full() && !q.empty());
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.maxsize(), 1);
    let err = q.put_nowait("b").unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), "b", "the item comes back");
    assert_eq!(q.get_nowait(), Ok("a"));

    let unbounded = Queue::new(0);
    for i in 0..1000 {
        unbounded.put_nowait(i).unwrap();
    }
    assert!(!unbounded.full());
}

/// asyncio's `test_maxsize`: put blocks at maxsize and resumes when a slot frees.
#[aioloop::test]
async fn put_blocks_at_maxsize() {
    let q = Queue::new(2);
    let (have_been_put, putter) = spawn_logging_putter(&q);
    ticks(3).await;
    assert_eq!(*have_been_put.borrow(), [0, 1], "blocked after two items");
    assert!(!putter.is_done());

    assert_eq!(q.get_nowait(), Ok(0));
    ticks(1).await;
    third_put_went_in(&q, &have_been_put, putter).await;
}

/// asyncio's `test_get_with_waiting_putters`: putters resume in order as items are taken.
#[aioloop::test]
async fn waiting_putters_resume_in_order() {
    queue_test_get_with_waiting_putters(1).await;
}

/// asyncio's `test_task_done`: join waits until each of 100 items was marked done.
#[aioloop::test]
async fn join_waits_for_100_task_done() {
    let q = Queue::new(0);
    for i in 0..100 {
        q.put_nowait(i).unwrap();
    }
    let accumulator = Rc::new(Cell::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (q, accumulator) = (q.clone(), accumulator.clone());
            spawn(async move {
                while let Ok(item) = q.get().await {
                    aioloop::yield_now().await; // processing takes a while
                    accumulator.set(accumulator.get() + item);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    q.join().await;
    assert_eq!(accumulator.get(), (0..100).sum::<i32>());
    q.shutdown(false);
    for w in workers {
        finish(w).await.unwrap();
    }
}

/// asyncio's `test_task_done_underflow` and `test_join_empty_queue`.
#[aioloop::test]
async fn task_done_too_often_is_an_error_and_join_of_nothing_returns() {
    let q: Queue<i32> = Queue::new(0);
    assert!(q.task_done().is_err());
    q.join().await;
    q.put_nowait(1).unwrap();
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    assert!(q.task_done().is_err());
    q.join().await;
}

/// join blocks until the last task_done, not before.
#[aioloop::test]
async fn join_blocks_until_the_last_task_done() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    let joined = joiner(&q);
    q.get_nowait().unwrap();
    q.get_nowait().unwrap();
    q.task_done().unwrap();
    ticks(3).await;
    assert!(!joined.is_done(), "one item is not done yet");
    q.task_done().unwrap();
    finish(joined).await.unwrap();
}

/// Waiting getters are served in the order they started waiting.
#[aioloop::test]
async fn waiting_getters_are_served_in_fifo_order() {
    let q = Queue::new(0);
    let got = log();
    let getters: Vec<_> = (1..=3)
        .map(|i| {
            let (q, got) = (q.clone(), got.clone());
            spawn(async move {
                let item = q.get().await.unwrap();
                got.borrow_mut().push((i, item));
            })
        })
        .collect();
    ticks(1).await;
    for item in ["a", "b", "c"] {
        q.put(item).await.unwrap();
    }
    for g in getters {
        finish(g).await.unwrap();
    }
    assert_eq!(*got.borrow(), [(1, "a"), (2, "b"), (3, "c")]);
}

/// asyncio's `test_get_cancelled_race`: a getter cancelled before an item arrives leaves; the
/// next one gets the item.
#[aioloop::test]
async fn a_cancelled_getter_leaves_the_queue() {
    let (q, t2) = queue_test_get_cancelled_race().await;
    q.put_nowait("a").unwrap();
    assert_eq!(finish(t2).await.unwrap(), Ok("a"));
}

/// A getter woken for an item and cancelled before it runs does not lose the item: the next
/// getter is woken for it.
#[aioloop::test]
async fn a_cancelled_woken_getter_does_not_lose_the_item() {
    let q = Queue::new(0);
    let got = log();
    let getters: Vec<_> = (1..=2)
        .map(|i| {
            let (q, got) = (q.clone(), got.clone());
            spawn(async move {
                let item = q.get().await.unwrap();
                got.borrow_mut().push((i, item));
            })
        })
        .collect();
    ticks(1).await;
    q.put_nowait(42).unwrap(); // wakes getter 1...
    getters[0].cancel(); // ...which is dropped before it can take the item
    let mut getters = getters.into_iter();
    assert!(finish(getters.next().unwrap()).await.unwrap_err().is_cancelled());
    finish(getters.next().unwrap()).await.unwrap();
    assert_eq!(*got.borrow(), [(2, 42)]);
    assert!(q.empty());
}

/// asyncio's `test_put_cancelled_race`: a putter cancelled while it waits leaves the queue; the
/// putters before it are served in order.
#[aioloop::test]
async fn a_cancelled_putter_leaves_the_queue() {
    let (q, [put_a, put_b, put_x]) = queue_test_put_cancelled_race(putter).await;
    ticks(2).await;
    assert!(q.empty(), "X was cancelled: nothing more is put");
    finish(put_a).await.unwrap();
    finish(put_b).await.unwrap();
    assert!(finish(put_x).await.unwrap_err().is_cancelled());
}

/// A putter woken for a free slot and cancelled before it runs passes the wake-up on.
#[aioloop::test]
async fn a_cancelled_woken_putter_passes_the_slot_on() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let p1 = putter(&q, 1);
    let p2 = putter(&q, 2);
    ticks(1).await;
    assert_eq!(q.get_nowait(), Ok(0)); // wakes p1...
    p1.cancel(); // ...which never runs
    assert!(finish(p1).await.unwrap_err().is_cancelled());
    finish(p2).await.unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
}

/// asyncio 3.13 `shutdown()`: puts fail, remaining items can still be taken, then gets fail;
/// blocked getters and putters are woken with the error.
#[aioloop::test]
async fn shutdown_fails_puts_and_drains_before_failing_gets() {
    let q = Queue::new(2);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    let blocked_putter = spawn({
        let q = q.clone();
        async move { q.put(3).await }
    });
    ticks(1).await;
    q.shutdown(false);
    assert!(q.is_shutdown());
    assert_eq!(
        finish(blocked_putter).await.unwrap(),
        Err(QueueShutDown(3)),
        "the item comes back"
    );
    assert!(matches!(q.put_nowait(4), Err(PutNowaitError::QueueShutDown(4))));
    assert_eq!(q.put(5).await, Err(QueueShutDown(5)));

    assert_eq!(q.get().await, Ok(1));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get().await, Err(QueueShutDown(())));
    assert_eq!(q.get_nowait(), Err(GetNowaitError::QueueShutDown));
}

#[aioloop::test]
async fn shutdown_wakes_blocked_getters() {
    let q: Queue<i32> = Queue::new(0);
    let getters: Vec<_> = (0..3).map(|_| getter(&q)).collect();
    ticks(1).await;
    q.shutdown(false);
    for g in getters {
        assert_eq!(finish(g).await.unwrap(), Err(QueueShutDown(())));
    }
}

/// `shutdown(immediate=True)`: queued items are dropped and count as done for join; items
/// already taken but not marked done still hold join.
#[aioloop::test]
async fn immediate_shutdown_drops_items_and_releases_join() {
    let q = Queue::new(0);
    let dropped = Rc::new(Cell::new(0));
    struct Counted(Rc<Cell<i32>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    for _ in 0..3 {
        q.put_nowait(Counted(dropped.clone())).unwrap();
    }
    let taken = q.get_nowait().unwrap();
    let joined = joiner(&q);
    ticks(1).await;
    q.shutdown(true);
    assert_eq!(dropped.get(), 2, "the two queued items are dropped");
    assert_eq!(q.qsize(), 0);
    assert!(matches!(q.get_nowait(), Err(GetNowaitError::QueueShutDown)));
    ticks(2).await;
    assert!(!joined.is_done(), "the taken item is not done yet");
    drop(taken);
    q.task_done().unwrap();
    finish(joined).await.unwrap();
    assert!(q.task_done().is_err());
}

/// Clones are handles to one queue, usable from several tasks.
#[aioloop::test]
async fn ping_pong_between_two_tasks() {
    let (to_b, to_a) = (Queue::new(0), Queue::new(0));
    let b = spawn({
        let (rx, tx) = (to_b.clone(), to_a.clone());
        async move {
            while let Ok(n) = rx.get().await {
                tx.put(n + 1).await.unwrap();
            }
        }
    });
    let mut n = 0;
    for _ in 0..1000 {
        to_b.put(n).await.unwrap();
        n = to_a.get().await.unwrap() + 1;
    }
    assert_eq!(n, 2000);
    to_b.shutdown(false);
    finish(b).await.unwrap();
}
