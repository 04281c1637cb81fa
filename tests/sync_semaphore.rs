//! `aioloop::sync::{Semaphore, BoundedSemaphore}`: asyncio's test_locks.SemaphoreTests, ported.

mod sync_common;

use aioloop::spawn;
use aioloop::sync::{BoundedSemaphore, Semaphore};
use sync_common::{finish, log, sem_taker, semaphore_test_acquire_cancel_before_awoken, ticks};

/// asyncio's `test_acquire`: permits go to waiters one per release, first come first served.
#[aioloop::test]
async fn permits_go_to_waiters_in_fifo_order() {
    let sem = Semaphore::new(3);
    let result = log();
    let first: Vec<_> = (1..=3).map(|i| sem_taker(&sem, &result, i)).collect();
    ticks(1).await;
    assert_eq!(*result.borrow(), [1, 2, 3]);
    assert!(sem.locked());

    let waiting: Vec<_> = (4..=6).map(|i| sem_taker(&sem, &result, i)).collect();
    ticks(1).await;
    assert_eq!(result.borrow().len(), 3);

    sem.release();
    ticks(1).await;
    assert_eq!(*result.borrow(), [1, 2, 3, 4]);
    assert!(sem.try_acquire().is_none(), "no permit is free while tasks wait");

    sem.release();
    sem.release();
    ticks(1).await;
    assert_eq!(*result.borrow(), [1, 2, 3, 4, 5, 6]);
    for t in first.into_iter().chain(waiting) {
        finish(t).await.unwrap();
    }
    assert_eq!(sem.available(), 0);
}

/// asyncio's `test_acquire_cancel_before_awoken`: two waiters cancelled in the iteration in
/// which a permit is released; the permit travels past both to the third, not the fourth.
#[aioloop::test]
async fn a_permit_handed_to_cancelled_waiters_is_passed_on() {
    let (sem, result, _tasks) = semaphore_test_acquire_cancel_before_awoken().await;
    assert_eq!(sem.available(), 0);
    sem.release();
    ticks(1).await;
    assert_eq!(*result.borrow(), [3, 4]);
}

/// A permit guard gives its permit back on drop; waiters are served in order, and a waiter
/// cancelled while queued is skipped.
#[aioloop::test]
async fn guards_release_fifo_skipping_a_cancelled_waiter() {
    let sem = Semaphore::new(1);
    let order = log();
    let permit = sem.acquire().await;
    let tasks: Vec<_> = (1..=3)
        .map(|i| {
            let (sem, order) = (sem.clone(), order.clone());
            spawn(async move {
                let _permit = sem.acquire().await;
                order.borrow_mut().push(i);
                ticks(2).await;
            })
        })
        .collect();
    ticks(1).await;
    tasks[1].cancel();
    ticks(1).await;
    drop(permit);
    assert!(sem.locked(), "handed to task 1, not freed");
    for t in tasks {
        let _ = finish(t).await;
    }
    assert_eq!(*order.borrow(), [1, 3]);
    assert_eq!(sem.available(), 1);
}

#[aioloop::test]
async fn try_acquire_available_and_locked() {
    let sem = Semaphore::new(2);
    let a = sem.try_acquire().unwrap();
    assert_eq!(sem.available(), 1);
    assert!(!sem.locked());
    let b = sem.try_acquire().unwrap();
    assert!(sem.locked());
    assert!(sem.try_acquire().is_none());
    drop((a, b));
    assert_eq!(sem.available(), 2);
    sem.release(); // a plain semaphore may grow
    assert_eq!(sem.available(), 3);
}

/// asyncio's `test_release_not_acquired` / `test_release_no_waiters` for BoundedSemaphore.
#[aioloop::test]
async fn bounded_semaphore_refuses_a_release_past_its_initial_value() {
    let sem = BoundedSemaphore::new(2);
    assert!(sem.release().is_err(), "nothing acquired yet");
    assert_eq!(sem.available(), 2, "the failed release changed nothing");

    sem.acquire().await.forget();
    sem.acquire().await.forget();
    assert!(sem.locked());
    sem.release().unwrap();
    sem.release().unwrap();
    let err = sem.release().unwrap_err();
    assert!(err.to_string().contains("released too many times"), "{err}");
    assert_eq!(sem.available(), 2);

    let permit = sem.acquire().await;
    drop(permit);
    assert_eq!(sem.available(), 2);
}

/// A bounded semaphore hands a released permit to a waiter like a plain one.
#[aioloop::test]
async fn bounded_semaphore_release_wakes_a_waiter() {
    let sem = BoundedSemaphore::new(1);
    sem.acquire().await.forget();
    let waiter = spawn({
        let sem = sem.clone();
        async move {
            sem.acquire().await.forget();
        }
    });
    ticks(1).await;
    sem.release().unwrap();
    finish(waiter).await.unwrap();
    assert!(sem.locked());
    assert!(sem.release().is_ok());
    assert!(sem.release().is_err());
}

/// A plain or a bounded semaphore, for the ports below that run on both.
#[derive(Clone)]
enum AnySem {
    Plain(Semaphore),
    Bounded(BoundedSemaphore),
}

impl AnySem {
    fn both(permits: usize) -> [AnySem; 2] {
        [
            AnySem::Plain(Semaphore::new(permits)),
            AnySem::Bounded(BoundedSemaphore::new(permits)),
        ]
    }

    /// asyncio's bare `await sem.acquire()`.
    async fn acquire(&self) {
        match self {
            AnySem::Plain(sem) => sem.acquire().await.forget(),
            AnySem::Bounded(sem) => sem.acquire().await.forget(),
        }
    }

    fn release(&self) {
        match self {
            AnySem::Plain(sem) => sem.release(),
            AnySem::Bounded(sem) => sem.release().unwrap(),
        }
    }
}

/// asyncio's `test_acquire_fifo_order`: three tasks each take the permit twice, sleeping while
/// they hold it; the second round goes in the same order as the first.
#[aioloop::test(start_paused)]
async fn test_acquire_fifo_order() {
    for sem in AnySem::both(1) {
        let result = log::<String>();
        let tasks: Vec<_> = ["c1", "c2", "c3"]
            .into_iter()
            .map(|tag| {
                let (sem, result) = (sem.clone(), result.clone());
                spawn(async move {
                    for round in 1..=2 {
                        sem.acquire().await;
                        result.borrow_mut().push(format!("{tag}_{round}"));
                        aioloop::sleep(std::time::Duration::from_millis(10)).await;
                        sem.release();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*result.borrow(), ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
    }
}

/// asyncio 3.12's `test_acquire_fifo_order_2` (issue 16 item 2): a task that releases and
/// re-acquires queues behind a waiter that was already woken but has not run yet. Two releases
/// wake c2 and c3; c2 runs first, releases and acquires again: c3 must get the permit before
/// c2's second acquire, so the order is [1, 2, 3, 4], not [1, 2, 4, 3]. On a plain semaphore,
/// as CPython's: on a `BoundedSemaphore(1)` the second release is one too many (asyncio raises
/// ValueError, see audit_asyncio_locks.rs).
#[aioloop::test]
async fn test_acquire_fifo_order_2() {
    let sem = AnySem::Plain(Semaphore::new(1));
    let result = log();
    let task = |steps: &'static [i32]| {
        let (sem, result) = (sem.clone(), result.clone());
        spawn(async move {
            sem.acquire().await;
            result.borrow_mut().push(steps[0]);
            if let [_, again] = steps {
                sem.release();
                sem.acquire().await;
                result.borrow_mut().push(*again);
            }
        })
    };
    let tasks = [task(&[1]), task(&[2, 4]), task(&[3])];
    ticks(1).await;
    sem.release();
    sem.release();
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(*result.borrow(), [1, 2, 3, 4]);
}

/// asyncio 3.12's `test_acquire_fifo_order_3`: a waiter cancelled before the releases; the two
/// permits go to the two remaining waiters, in order.
#[aioloop::test]
async fn test_acquire_fifo_order_3() {
    let sem = Semaphore::new(0);
    let result = log();
    let tasks: Vec<_> = (1..=3).map(|i| sem_taker(&sem, &result, i)).collect();
    ticks(1).await;
    tasks[0].cancel();
    ticks(1).await;
    sem.release();
    sem.release();
    for t in tasks {
        let _ = finish(t).await;
    }
    assert_eq!(*result.borrow(), [2, 3]);
}

/// The 3.12 rule seen from `locked()` and `try_acquire()`: while a woken waiter has not run, a
/// free permit is not up for grabs, and it reaches the task queued behind the woken one.
#[aioloop::test]
async fn a_free_permit_waits_for_the_woken_waiter_to_run() {
    let sem = Semaphore::new(0);
    let result = log();
    let first = sem_taker(&sem, &result, 1);
    ticks(1).await;
    sem.release(); // handed to `first`, which has not run yet
    sem.release(); // nobody else waits: the permit is free
    assert_eq!(sem.available(), 1);
    assert!(sem.locked(), "a woken waiter has not run yet");
    assert!(sem.try_acquire().is_none());
    let second = sem_taker(&sem, &result, 2);
    finish(first).await.unwrap();
    finish(second).await.unwrap();
    assert_eq!(*result.borrow(), [1, 2]);
    assert_eq!(sem.available(), 0);
}

/// Misuse gets a clear panic, not a wrapped count: a release past `usize::MAX` free permits
/// would otherwise wrap to zero in a release build and lose every permit.
#[test]
#[should_panic(expected = "Semaphore released past usize::MAX permits")]
fn a_release_past_usize_max_permits_panics_clearly() {
    let sem = Semaphore::new(usize::MAX);
    sem.release();
}
