//! `aioloop::sync::Lock`: asyncio's test_locks.LockTests, ported, plus the hand-off and
//! cancellation guarantees.

mod sync_common;

use aioloop::spawn;
use aioloop::sync::Lock;
use sync_common::{finish, lock_test_acquire, log, ticks};

/// asyncio's `test_acquire`: waiters get the lock one per release, in arrival order (manual
/// acquire/release style: the tasks keep the lock, the test releases it).
#[aioloop::test]
async fn one_waiter_per_release_in_fifo_order() {
    let (lock, [t1, t2, t3]) = lock_test_acquire().await;
    for t in [t1, t2, t3] {
        finish(t).await.unwrap();
    }
    assert!(lock.locked());
    lock.release().unwrap();
    assert!(!lock.locked());
}

/// Three waiters holding the lock in turn; the middle one is cancelled while it waits.
#[aioloop::test]
async fn fifo_with_three_waiters_and_a_cancelled_one() {
    let lock = Lock::new();
    let order = log();
    let guard = lock.lock().await;
    let tasks: Vec<_> = (1..=3)
        .map(|i| {
            let (lock, order) = (lock.clone(), order.clone());
            spawn(async move {
                let _guard = lock.lock().await;
                order.borrow_mut().push(i);
                ticks(2).await; // hold it while the others wait
            })
        })
        .collect();
    ticks(1).await;
    tasks[1].cancel();
    ticks(1).await; // task 2's future is dropped: it leaves the queue
    drop(guard);

    let mut tasks = tasks.into_iter();
    let (t1, t2, t3) = (
        tasks.next().unwrap(),
        tasks.next().unwrap(),
        tasks.next().unwrap(),
    );
    finish(t1).await.unwrap();
    assert!(finish(t2).await.unwrap_err().is_cancelled());
    finish(t3).await.unwrap();
    assert_eq!(*order.borrow(), [1, 3]);
    assert!(!lock.locked());
}

/// asyncio's `test_cancel_race`: B is cancelled in the iteration in which A releases; the lock
/// was handed to B, whose dropped future must pass it to C.
#[aioloop::test]
async fn a_waiter_cancelled_after_the_hand_off_passes_the_lock_on() {
    let lock = Lock::new();
    let got = log();
    let guard = lock.lock().await;
    let waiter = |name: &'static str| {
        let (lock, got) = (lock.clone(), got.clone());
        spawn(async move {
            lock.lock().await.forget();
            got.borrow_mut().push(name);
        })
    };
    let b = waiter("b");
    let c = waiter("c");
    ticks(1).await;

    b.cancel();
    drop(guard); // hands the lock to b, which will never run
    assert!(finish(b).await.unwrap_err().is_cancelled());
    finish(c).await.unwrap();
    assert_eq!(*got.borrow(), ["c"]);
    assert!(lock.locked(), "c holds the lock");
    lock.release().unwrap();
    assert!(!lock.locked());
}

/// A waiter cancelled while queued leaves the queue: the next release frees the lock instead
/// of handing it to a dead waiter.
#[aioloop::test]
async fn a_cancelled_waiter_leaves_the_queue() {
    let lock = Lock::new();
    let guard = lock.lock().await;
    let waiter = spawn({
        let lock = lock.clone();
        async move {
            lock.lock().await.forget();
        }
    });
    ticks(1).await;
    waiter.cancel();
    ticks(1).await;
    drop(guard);
    assert!(!lock.locked());
    assert!(lock.try_lock().is_some());
}

/// The released lock belongs to the first waiter at once: a newcomer cannot take it first.
#[aioloop::test]
async fn release_hands_the_lock_over_without_barging() {
    let lock = Lock::new();
    let guard = lock.lock().await;
    let waiter = spawn({
        let lock = lock.clone();
        async move {
            let _guard = lock.lock().await;
            "waiter had it"
        }
    });
    ticks(1).await;
    drop(guard);
    assert!(lock.locked(), "handed to the waiter, not freed");
    assert!(lock.try_lock().is_none());
    assert_eq!(finish(waiter).await.unwrap(), "waiter had it");
    assert!(!lock.locked());
}

#[aioloop::test]
async fn try_lock_locked_and_release_errors() {
    let lock = Lock::new();
    assert!(!lock.locked());
    assert!(
        lock.release().is_err(),
        "asyncio: release of an unlocked lock is an error"
    );
    let guard = lock.try_lock().expect("free");
    assert!(lock.locked());
    assert!(lock.try_lock().is_none());
    drop(guard);
    assert!(!lock.locked());
    let clone = lock.clone();
    let _guard = clone.lock().await;
    assert!(lock.locked(), "clones share the lock");
}

/// A lock future that is dropped before it is polled takes nothing.
#[aioloop::test]
async fn an_unpolled_lock_future_takes_nothing() {
    let lock = Lock::new();
    drop(lock.lock());
    assert!(!lock.locked());
}

/// Issue 16 item 2 for `Lock` (asyncio 3.12's rule of test_acquire_fifo_order_2): a task that
/// releases and locks again queues behind the waiter its release woke, which has not run yet.
#[aioloop::test]
async fn test_acquire_fifo_order_2_lock() {
    let lock = Lock::new();
    let result = log();
    lock.lock().await.forget();
    let task = |steps: &'static [i32]| {
        let (lock, result) = (lock.clone(), result.clone());
        spawn(async move {
            lock.lock().await.forget();
            result.borrow_mut().push(steps[0]);
            if let [_, again] = steps {
                lock.release().unwrap();
                lock.lock().await.forget();
                result.borrow_mut().push(*again);
            }
            lock.release().unwrap();
        })
    };
    let tasks = [task(&[1, 3]), task(&[2])];
    ticks(1).await;
    lock.release().unwrap();
    for t in tasks {
        finish(t).await.unwrap();
    }
    assert_eq!(*result.borrow(), [1, 2, 3]);
    assert!(!lock.locked());
}

/// asyncio's `test_cancel_release_race` (bpo-32734): with three waiters, the first is cancelled
/// in the iteration in which the lock is released; exactly one waiter (the second) gets it.
#[aioloop::test]
async fn test_cancel_release_race() {
    let lock = Lock::new();
    let (calls, locks) = (log(), log());
    lock.lock().await.forget();
    let lockit = |i: i32| {
        let (lock, calls, locks) = (lock.clone(), calls.clone(), locks.clone());
        spawn(async move {
            calls.borrow_mut().push(i);
            lock.lock().await.forget();
            locks.borrow_mut().push(i);
        })
    };
    let (t1, t2, t3) = (lockit(1), lockit(2), lockit(3));
    ticks(1).await;
    t1.cancel();
    lock.release().unwrap();
    assert!(finish(t1).await.unwrap_err().is_cancelled());
    ticks(1).await;
    assert_eq!(
        *locks.borrow(),
        [2],
        "only one lock was taken, by the second waiter"
    );
    assert_eq!(*calls.borrow(), [1, 2, 3]);
    finish(t2).await.unwrap();
    t3.cancel();
    assert!(finish(t3).await.unwrap_err().is_cancelled());
    assert!(lock.locked(), "t2 keeps the lock");
}

/// asyncio's `test_finished_waiter_cancelled`: the first waiter is cancelled as the lock is
/// released to it; the second, which had not even run yet, gets the lock.
#[aioloop::test]
async fn test_finished_waiter_cancelled() {
    let lock = Lock::new();
    lock.lock().await.forget();
    let acquire = || {
        let lock = lock.clone();
        spawn(async move { lock.lock().await.forget() })
    };
    let tb = acquire();
    ticks(1).await;
    let tc = acquire();
    tb.cancel();
    lock.release().unwrap();
    ticks(1).await;
    assert!(lock.locked());
    assert!(finish(tb).await.unwrap_err().is_cancelled());
    finish(tc).await.unwrap();
    assert!(lock.locked());
}
