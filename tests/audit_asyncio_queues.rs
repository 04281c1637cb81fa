//! Audit against CPython's Lib/test/test_asyncio/test_queues.py: cases the sync_queue tests do
//! not port. Each test is named after the CPython test.

mod sync_common;

use std::time::Duration;

use aioloop::sync::{GetNowaitError, PriorityQueue, Queue, QueueShutDown};
use aioloop::{gather, spawn, wait_for, yield_now};
use sync_common::{
    finish, getter, joiner, put_task, puts_and_gets_fail_shut_down, putter, spawn_logging_putter,
    third_put_went_in, ticks,
};

/// test_queues.py `test_maxsize`: a putter blocks after `maxsize` items and resumes one
/// iteration after a `get` frees a slot.
#[aioloop::test]
async fn test_maxsize() {
    let q = Queue::new(2);
    let (have_been_put, putter) = spawn_logging_putter(&q);
    ticks(2).await;
    assert_eq!(*have_been_put.borrow(), [0, 1], "blocked after two items");
    assert!(q.full());
    assert_eq!(q.get().await, Ok(0));
    yield_now().await;
    third_put_went_in(&q, &have_been_put, putter).await;
}

/// test_queues.py `test_get_with_putters`: a `get` on a full queue wakes a blocked putter.
#[aioloop::test]
async fn test_get_with_putters() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let putter = spawn({
        let q = q.clone();
        async move { q.put(2).await }
    });
    ticks(1).await;
    assert_eq!(q.get().await, Ok(1));
    assert_eq!(finish(putter).await.unwrap(), Ok(()));
    assert_eq!(q.get_nowait(), Ok(2));
}

/// test_queues.py `test_why_are_putters_waiting` (gh-90927): several `get_nowait` calls in one
/// step each wake a blocked putter; nobody hangs.
#[aioloop::test(start_paused = true)]
async fn test_why_are_putters_waiting() {
    let q = Queue::new(2);
    let putter = |item: i32| {
        let q = q.clone();
        async move { q.put(item).await.unwrap() }
    };
    let getter = {
        let q = q.clone();
        async move {
            yield_now().await;
            let n = q.qsize();
            for _ in 0..n {
                q.get_nowait().unwrap();
            }
        }
    };
    let all = async {
        aioloop::gather!(getter, putter(0), putter(1), putter(2), putter(3)).await;
    };
    assert_eq!(
        wait_for(all, Duration::from_secs(10)).await,
        Ok(()),
        "a putter hung"
    );
    assert_eq!(q.qsize(), 2);
}

/// test_queues.py `test_why_are_getters_waiting` (gh-90927): a producer and a consumer
/// through a queue of one slot hand over every item.
#[aioloop::test(start_paused = true)]
async fn test_why_are_getters_waiting() {
    const N: i32 = 5;
    let q = Queue::new(1);
    let producer = {
        let q = q.clone();
        async move {
            for i in 0..N {
                q.put(i).await.unwrap();
            }
        }
    };
    let consumer = {
        let q = q.clone();
        async move {
            let mut got = Vec::new();
            for _ in 0..N {
                got.push(q.get().await.unwrap());
            }
            got
        }
    };
    let both = async { aioloop::gather!(producer, consumer).await.1 };
    assert_eq!(
        wait_for(both, Duration::from_secs(10)).await,
        Ok(vec![0, 1, 2, 3, 4])
    );
}

/// test_queues.py `test_shutdown_empty`: `join` of an empty queue returns after a
/// shutdown; a blocked `get` fails; every put and get fails.
#[aioloop::test]
async fn test_shutdown_empty() {
    let q: Queue<&str> = Queue::new(0);
    let get_task = getter(&q);
    yield_now().await;
    q.shutdown(false);
    assert_eq!(q.qsize(), 0);
    q.join().await;
    yield_now().await;
    assert!(get_task.is_done());
    assert_eq!(get_task.await.unwrap(), Err(QueueShutDown(())));
    puts_and_gets_fail_shut_down(&q).await;
}

/// test_queues.py `test_shutdown_nonempty`: a non-immediate shutdown keeps the items and the
/// unfinished count: `join` waits until the last item taken is marked done.
#[aioloop::test]
async fn test_shutdown_nonempty() {
    let q = Queue::new(1);
    q.put_nowait("data").unwrap();
    let join_task = joiner(&q);
    let put_task = put_task(&q, "data2");
    yield_now().await;
    assert!(!put_task.is_done());
    q.shutdown(false);
    assert_eq!(q.qsize(), 1);
    yield_now().await;
    assert!(put_task.is_done());
    assert_eq!(put_task.await.unwrap(), Err(QueueShutDown("data2")));
    assert_eq!(q.get().await, Ok("data"));
    yield_now().await;
    assert!(!join_task.is_done(), "the item taken is not done yet");
    assert_eq!(q.get().await, Err(QueueShutDown(())));
    assert_eq!(q.get_nowait(), Err(GetNowaitError::QueueShutDown));
    q.task_done().unwrap();
    yield_now().await;
    assert!(join_task.is_done());
    join_task.await.unwrap();
    assert!(q.task_done().is_err(), "every item is done");
}

/// test_queues.py `test_shutdown_immediate`: the queued item is dropped and counts as done, so
/// `join` returns; a further `task_done` is an error.
#[aioloop::test]
async fn test_shutdown_immediate() {
    let q = Queue::new(0);
    q.put_nowait("data").unwrap();
    let join_task = joiner(&q);
    q.shutdown(true);
    assert_eq!(q.qsize(), 0);
    yield_now().await;
    assert!(join_task.is_done());
    join_task.await.unwrap();
    assert_eq!(q.put("data").await, Err(QueueShutDown("data")));
    assert_eq!(q.get().await, Err(QueueShutDown(())));
    assert!(q.task_done().is_err());
}

/// test_queues.py PriorityQueueTests `test_order`, with equal priorities given in a mixed
/// order: the smallest first, as `heapq` does.
#[aioloop::test]
async fn test_priority_order() {
    let q = PriorityQueue::new(0);
    for i in [3, 1, 2, 1, 3] {
        q.put_nowait(i).unwrap();
    }
    let mut out = Vec::new();
    while let Ok(i) = q.get_nowait() {
        out.push(i);
    }
    assert_eq!(out, [1, 1, 2, 3, 3]);
}

/// test_queues.py `test_cancelled_getters_not_being_held_in_self_getters` and the gather form:
/// a gather of getters cancelled as a whole leaves no getter behind: a later `put_nowait` is
/// not swallowed.
#[aioloop::test]
async fn test_cancelled_gathered_getters_leave_no_getter_behind() {
    let q: Queue<i32> = Queue::new(0);
    let getters = spawn({
        let q = q.clone();
        async move { gather((0..3).map(|_| q.get())).await }
    });
    ticks(1).await;
    getters.cancel();
    assert!(finish(getters).await.unwrap_err().is_cancelled());
    q.put_nowait(7).unwrap();
    assert_eq!(q.get_nowait(), Ok(7));
}

/// asyncio 3.12's `Queue.put` (`while self.full(): ... self._putters.append(putter)`): a putter
/// woken for a free slot that a `put_nowait` took first waits again, queued anew behind the
/// putters that were waiting: the next free slot goes to the one behind it.
#[aioloop::test]
async fn test_a_putter_outrun_by_put_nowait_queues_again_at_the_end() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let p1 = putter(&q, 1);
    ticks(1).await;
    let p2 = putter(&q, 2);
    ticks(1).await;
    assert_eq!(q.get_nowait(), Ok(0)); // wakes p1...
    q.put_nowait(9).unwrap(); // ...but this takes the slot first
    ticks(2).await;
    assert!(!p1.is_done() && !p2.is_done(), "both wait again");
    assert_eq!(q.get_nowait(), Ok(9));
    ticks(2).await;
    assert!(p2.is_done() && !p1.is_done(), "p2 is now ahead of p1");
    assert_eq!(q.get_nowait(), Ok(2));
    finish(p1).await.unwrap();
    assert_eq!(q.get_nowait(), Ok(1));
    finish(p2).await.unwrap();
}
