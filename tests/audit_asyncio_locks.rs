//! Audit against CPython's Lib/test/test_asyncio/test_locks.py: Semaphore, Condition and
//! Barrier cases the sync_* tests do not port. Each test is named after the CPython test.

mod sync_common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::sync::{Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Lock, Semaphore};
use aioloop::{spawn, wait_for, Task, TimeoutError};
use sync_common::{assert_idle, finish, log, party, sorted_indices, ticks};

/// test_locks.py SemaphoreTests `test_acquire_fifo_order_4` (3.12): a waiter that gets its
/// permit wakes, in its `finally`, the waiters queued behind it while permits were free (they
/// had to queue because of FIFO), and a task spawned then runs after them.
#[aioloop::test]
async fn test_acquire_fifo_order_4() {
    let sem = Semaphore::new(0);
    let result = log();
    let t4: Rc<RefCell<Option<Task<()>>>> = Rc::default();
    let t1 = spawn({
        let (sem, result, t4) = (sem.clone(), result.clone(), t4.clone());
        async move {
            assert_eq!(sem.available(), 0);
            sem.acquire().await.forget();
            assert_eq!(sem.available(), 0, "the free permits went to the queued waiters");
            let r4 = result.clone();
            *t4.borrow_mut() = Some(spawn(async move { r4.borrow_mut().push(4) }));
            result.borrow_mut().push(1);
        }
    });
    let t2 = spawn({
        let (sem, result) = (sem.clone(), result.clone());
        async move {
            sem.release();
            sem.release();
            sem.release();
            assert_eq!(sem.available(), 2);
            assert!(sem.locked(), "t1 was woken but has not run yet");
            sem.acquire().await.forget();
            result.borrow_mut().push(2);
        }
    });
    let t3 = spawn({
        let (sem, result) = (sem.clone(), result.clone());
        async move {
            sem.acquire().await.forget();
            assert!(sem.locked());
            result.borrow_mut().push(3);
        }
    });
    for t in [t1, t2, t3] {
        finish(t).await.unwrap();
    }
    let t4 = t4.borrow_mut().take().unwrap();
    finish(t4).await.unwrap();
    assert_eq!(*result.borrow(), [1, 2, 3, 4]);
}

/// test_locks.py SemaphoreTests `test_acquire_hang`: a waiter cancelled in the iteration in
/// which a permit is released does not swallow it: the next waiter gets it.
#[aioloop::test]
async fn test_acquire_hang() {
    let sem = Semaphore::new(0);
    let acquirer = || {
        let sem = sem.clone();
        spawn(async move { sem.acquire().await.forget() })
    };
    let t1 = acquirer();
    let t2 = acquirer();
    ticks(1).await;
    t1.cancel();
    sem.release();
    assert!(finish(t1).await.unwrap_err().is_cancelled());
    finish(t2).await.unwrap();
    assert!(sem.locked());
    assert_eq!(sem.available(), 0);
}

/// test_locks.py ConditionTests `test_explicit_lock`: a condition over a lock given to it
/// shares that lock: holding the lock is holding the condition's, and `wait` takes its guard.
#[aioloop::test]
async fn test_explicit_lock() {
    let lock = Lock::new();
    let cond = Condition::with_lock(lock.clone());
    assert!(!cond.locked());
    let guard = lock.lock().await;
    assert!(cond.locked());
    let notifier = spawn({
        let cond = cond.clone();
        async move {
            let _guard = cond.lock().await;
            cond.notify(1);
        }
    });
    let guard = cond.wait(guard).await;
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
    finish(notifier).await.unwrap();
}

/// test_locks.py ConditionTests `test_notify` with more notifications than waiters: `notify(n)`
/// wakes those there are, and a notification is not kept for a later waiter.
#[aioloop::test]
async fn test_notify_more_than_waiters_is_not_kept() {
    let cond = Condition::new();
    let waiter = || {
        let cond = cond.clone();
        spawn(async move {
            let guard = cond.lock().await;
            drop(cond.wait(guard).await);
        })
    };
    let (a, b) = (waiter(), waiter());
    ticks(1).await;
    cond.notify(5);
    finish(a).await.unwrap();
    finish(b).await.unwrap();
    let late = waiter();
    ticks(3).await;
    assert!(!late.is_done(), "no notification was saved for it");
    cond.notify_all();
    finish(late).await.unwrap();
}

/// test_locks.py ConditionTests `test_timeout_in_block`: `wait_for(cond.wait(), t)` times out.
/// asyncio's `wait()` takes the lock back even when cancelled, so the `async with` block still
/// holds it; here the guard went into `wait` and is dropped with it, so the lock is free after
/// the timeout (documented on `Condition::wait` and in docs/asyncio.md).
#[aioloop::test(start_paused = true)]
async fn test_timeout_in_block() {
    let cond = Condition::new();
    let guard = cond.lock().await;
    let res = wait_for(cond.wait(guard), Duration::from_millis(500)).await;
    assert_eq!(res.err(), Some(TimeoutError));
    assert!(!cond.locked(), "the guard was dropped with the wait");
}

/// test_locks.py BarrierTests `test_filling_tasks_wait_twice`: the same parties pass the
/// barrier twice in a row.
#[aioloop::test]
async fn test_filling_tasks_wait_twice() {
    const N: usize = 5;
    let barrier = Barrier::new(N);
    let (results1, results2) = (log(), log());
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (barrier, results1, results2) = (barrier.clone(), results1.clone(), results2.clone());
            spawn(async move {
                barrier.wait().await.unwrap();
                results1.borrow_mut().push(1);
                barrier.wait().await.unwrap();
                results2.borrow_mut().push(1);
            })
        })
        .collect();
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(results1.borrow().len(), N);
    assert_eq!(results2.borrow().len(), N);
    assert_idle(&barrier);
}

/// test_locks.py BarrierTests `test_reset_barrier_while_tasks_waiting_and_waiting_again`: the
/// N-1 waiters fail on `reset()`, wait again, and pass with one more party.
#[aioloop::test]
async fn test_reset_barrier_while_tasks_waiting_and_waiting_again() {
    const N: usize = 5;
    let barrier = Barrier::new(N);
    let (results1, results2) = (log(), log());
    let tasks: Vec<_> = (0..N - 1)
        .map(|_| {
            let (barrier, results1, results2) = (barrier.clone(), results1.clone(), results2.clone());
            spawn(async move {
                if barrier.wait().await == Err(BrokenBarrierError) {
                    results1.borrow_mut().push(1);
                }
                barrier.wait().await.unwrap();
                results2.borrow_mut().push(1);
            })
        })
        .collect();
    ticks(1).await;
    barrier.reset();
    ticks(1).await;
    let last = spawn({
        let (barrier, results2) = (barrier.clone(), results2.clone());
        async move {
            barrier.wait().await.unwrap();
            results2.borrow_mut().push(1);
        }
    });
    for t in tasks.into_iter().chain([last]) {
        finish(t).await.unwrap();
    }
    assert!(!barrier.broken());
    assert_eq!(results1.borrow().len(), N - 1);
    assert_eq!(results2.borrow().len(), N);
}

/// test_locks.py BarrierTests `test_abort_barrier_when_exception_then_resetting`: after an
/// abort, `reset()` makes the barrier usable again by the same parties.
#[aioloop::test]
async fn test_abort_barrier_when_exception_then_resetting() {
    const N: usize = 3;
    let barrier = Barrier::new(N);
    let broken = log();
    let tasks: Vec<_> = (0..N - 1)
        .map(|_| {
            let (barrier, broken) = (barrier.clone(), broken.clone());
            spawn(async move {
                if barrier.wait().await.is_err() {
                    broken.borrow_mut().push(1);
                }
            })
        })
        .collect();
    ticks(1).await;
    barrier.abort(); // the last party "raised" instead of waiting
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(broken.borrow().len(), N - 1);
    assert!(barrier.broken());
    barrier.reset();
    assert!(!barrier.broken());
    let tasks: Vec<_> = (0..N).map(|_| party(&barrier)).collect();
    assert_eq!(sorted_indices(tasks).await, [0, 1, 2]);
}

/// asyncio's `task.cancel()` cancels the task's waiter future at once, so a `release()` in the
/// same step skips it and `locked()` is false at once. Here the cancelled waiter leaves the
/// queue when its future is dropped, at the next iteration: a permit released meanwhile is
/// handed to it and passed on then, nothing is lost, one iteration later (docs/asyncio.md,
/// the sync row).
#[aioloop::test]
async fn test_a_permit_released_to_a_cancelled_waiter_is_free_one_iteration_later() {
    let sem = Semaphore::new(0);
    let waiter = spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.forget() }
    });
    ticks(1).await;
    waiter.cancel();
    sem.release();
    assert!(sem.try_acquire().is_none(), "asyncio would take it here");
    ticks(1).await;
    assert!(waiter.is_done());
    assert_eq!(sem.available(), 1);
    assert!(sem.try_acquire().is_some());
}

/// test_locks.py ConditionTests `test_cancelled_error_re_aquire` (3.13) and gh-112202's
/// `test_cancelled_wakeup`: a notified waiter cancelled while it waits to take the lock back
/// (the notifier still holds it) loses nothing: the lock is free once the notifier lets go, and
/// the notification goes on to the next waiter.
#[aioloop::test]
async fn test_cancelled_error_re_aquire() {
    let cond = Condition::new();
    let woken = log();
    let waiter = |i: i32| {
        let (cond, woken) = (cond.clone(), woken.clone());
        spawn(async move {
            let guard = cond.lock().await;
            let _guard = cond.wait(guard).await;
            woken.borrow_mut().push(i);
        })
    };
    let t1 = waiter(1);
    let t2 = waiter(2);
    ticks(1).await;
    {
        let _held = cond.lock().await;
        cond.notify(1);
        ticks(1).await; // t1 runs: notified, now waiting for the lock we hold
        t1.cancel();
        ticks(1).await; // t1 is dropped while re-acquiring
    }
    assert!(finish(t1).await.unwrap_err().is_cancelled());
    finish(t2).await.unwrap();
    assert_eq!(*woken.borrow(), [2]);
    assert!(!cond.locked());
}

/// test_locks.py LockTests `test_release_not_acquired`, during a hand-over: asyncio's
/// `release()` sets `_locked = False` and wakes the first waiter, so a second `release()` before
/// that waiter runs raises RuntimeError. It must not hand the lock to the next waiter too, which
/// would let two tasks hold it at once.
#[aioloop::test]
async fn test_release_not_acquired_while_handed_to_a_waiter() {
    let lock = Lock::new();
    lock.lock().await.forget();
    let holders = Rc::new(RefCell::new(0u32));
    let most = Rc::new(RefCell::new(0u32));
    let waiter = || {
        let (lock, holders, most) = (lock.clone(), holders.clone(), most.clone());
        spawn(async move {
            let _guard = lock.lock().await;
            *holders.borrow_mut() += 1;
            let now = *holders.borrow();
            most.replace_with(|most| (*most).max(now));
            ticks(2).await;
            *holders.borrow_mut() -= 1;
        })
    };
    let (first, second) = (waiter(), waiter());
    ticks(1).await;
    lock.release().unwrap();
    assert!(
        lock.release().is_err(),
        "not held by anyone: releasing again is an error"
    );
    assert!(
        lock.try_lock().is_none(),
        "a newcomer does not take it from the waiter"
    );
    finish(first).await.unwrap();
    finish(second).await.unwrap();
    assert_eq!(*most.borrow(), 1, "never two holders");
    assert!(!lock.locked());
    assert!(lock.release().is_err());
}

/// test_locks.py BoundedSemaphoreTests `test_release_not_acquired`, during a hand-over:
/// asyncio's `release()` adds the permit to `_value` and wakes a waiter, which takes it when it
/// runs; a second `release()` before then finds `_value` at the bound and raises ValueError.
/// The permit handed to the waiter counts against the bound: the semaphore never holds more
/// permits than it was made with.
#[aioloop::test]
async fn test_bounded_release_while_handed_to_a_waiter_is_too_many() {
    let sem = BoundedSemaphore::new(1);
    sem.acquire().await.forget();
    let waiter = spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.forget() }
    });
    ticks(1).await;
    sem.release().unwrap();
    assert!(
        sem.release().is_err(),
        "the one permit is the waiter's: released too many times"
    );
    finish(waiter).await.unwrap();
    assert_eq!(sem.available(), 0, "the waiter holds the only permit");
    sem.release().unwrap();
    assert_eq!(sem.available(), 1);
    assert!(sem.release().is_err());
}
