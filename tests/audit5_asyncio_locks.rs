//! Fifth audit against CPython's Lib/test/test_asyncio/test_locks.py (3.13/3.14): the cases
//! the earlier ports (audit_asyncio_locks.rs, audit2_asyncio_locks.rs, sync_*.rs) do not
//! cover. Each test is named after the CPython test.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::sync::{Barrier, Condition, Semaphore};
use aioloop::{gather, spawn, timeout_scope, yield_now, Task};

/// A consumer of test_locks.py's `test_cancelled_wakeup*`: under the condition's lock, waits
/// until `state != 0`, returns once it is negative, and otherwise takes one item (`state -= 1`).
fn consumer(cond: &Condition, state: &Rc<Cell<i32>>) -> Task<()> {
    let (cond, state) = (cond.clone(), state.clone());
    spawn(async move {
        let mut guard = cond.lock().await;
        loop {
            guard = cond.wait_for(guard, || state.get() != 0).await;
            if state.get() < 0 {
                return;
            }
            state.set(state.get() - 1);
        }
    })
}

/// The body of test_locks.py's `test_cancelled_wakeup*`: two consumers wait on the condition;
/// one item is produced and one waiter notified, which is then cancelled (before it ran, or,
/// with `let_it_run`, once it ran and waits to take the lock back). The notification is not
/// lost with it: the other consumer takes the item within the 10 ms the producer then waits
/// under a `timeout`.
async fn cancelled_wakeup(let_it_run: bool) {
    let cond = Condition::new();
    let state = Rc::new(Cell::new(0));
    let c = [consumer(&cond, &state), consumer(&cond, &state)];
    yield_now().await;
    let guard = cond.lock().await;
    state.set(state.get() + 1);
    cond.notify(1);
    if let_it_run {
        yield_now().await; // the notified waiter runs and waits for the lock we hold
    }
    c[0].cancel();
    let s = state.clone();
    let cond2 = cond.clone();
    let _ = timeout_scope(Duration::from_millis(10))
        .run(async move {
            let _guard = cond2.wait_for(guard, || s.get() == 0).await;
        })
        .await;
    assert_eq!(
        state.get(),
        0,
        "the notification was not lost with the cancelled waiter"
    );
    state.set(-1);
    cond.notify_all();
    let [c0, c1] = c;
    c1.await.unwrap();
    assert!(c0.await.unwrap_err().is_cancelled());
}

/// test_locks.py ConditionTests `test_cancelled_wakeup` (gh-112202, 3.13): a waiter notified
/// and cancelled in the same step, before it ran (it is still on the wake-up queue), does not
/// swallow the notification.
#[aioloop::test(start_paused)]
async fn test_cancelled_wakeup() {
    cancelled_wakeup(false).await;
}

/// test_locks.py ConditionTests `test_cancelled_wakeup_relock` (gh-112202, 3.13): as
/// `test_cancelled_wakeup`, but the notified waiter has run and waits to take the lock back
/// when it is cancelled.
#[aioloop::test(start_paused)]
async fn test_cancelled_wakeup_relock() {
    cancelled_wakeup(true).await;
}

/// test_locks.py SemaphoreTests `test_acquire`: with 3 permits, two taken, three tasks ask for
/// one: the first gets it at once and the others queue. A fourth task is spawned and two
/// permits are released in the same step: after one iteration the two queued waiters hold them
/// (FIFO: the newcomer does not take a permit from them), all permits are out and one task (the
/// newcomer) still waits.
#[aioloop::test]
async fn test_acquire() {
    let sem = Semaphore::new(3);
    let result = Rc::new(RefCell::new(Vec::new()));
    sem.acquire().await.forget();
    sem.acquire().await.forget();
    assert!(!sem.locked());
    let taker = |tag: i32| {
        let (sem, result) = (sem.clone(), result.clone());
        spawn(async move {
            sem.acquire().await.forget();
            result.borrow_mut().push(tag);
            true
        })
    };
    let t1 = taker(1);
    let t2 = taker(2);
    let t3 = taker(3);
    yield_now().await;
    assert_eq!(*result.borrow(), [1]);
    assert!(sem.locked());
    assert_eq!(sem.available(), 0);
    let t4 = taker(4);
    sem.release();
    sem.release();
    assert_eq!(
        sem.available(),
        0,
        "the released permits are handed to the waiters"
    );
    yield_now().await;
    assert_eq!(sem.available(), 0);
    assert_eq!(result.borrow().len(), 3);
    assert!(sem.locked());
    assert!(t1.is_done());
    let done = [&t2, &t3, &t4].iter().filter(|t| t.is_done()).count();
    assert_eq!(done, 2);
    assert_eq!(*result.borrow(), [1, 2, 3], "FIFO: the queued waiters first");
    sem.release();
    for t in [t1, t2, t3, t4] {
        assert!(t.await.unwrap());
    }
}

/// test_locks.py BarrierTests `test_draining_state`: N parties pass the barrier; each reads the
/// barrier's state (asyncio's `repr`) as it leaves: the barrier drains while parties are still
/// to leave, and the last one out finds it filling again (not broken, nobody waiting).
#[aioloop::test]
async fn test_draining_state() {
    const N: usize = 5;
    let barrier = Barrier::new(N);
    let results = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<Task<()>> = (0..N)
        .map(|_| {
            let (barrier, results) = (barrier.clone(), results.clone());
            spawn(async move {
                barrier.wait().await.unwrap();
                let state = format!("{barrier:?}");
                results.borrow_mut().push(state.contains("Draining"));
            })
        })
        .collect();
    for out in gather(tasks).await {
        out.unwrap();
    }
    let results = results.borrow();
    assert_eq!(results.len(), N);
    assert!(!results[N - 1], "the last party out finds the barrier filling");
    assert!(results[..N - 1].iter().all(|&d| d), "{results:?}");
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}
