//! Helpers shared by the sync_* integration tests.

#![allow(dead_code)] // each test file uses a subset

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use aioloop::sync::{Barrier, BrokenBarrierError, Condition, Event, Lock, Queue, Semaphore};
use aioloop::{spawn, yield_now, Task, TaskError};

/// A log the tasks of a test append to.
pub type Log<T = i32> = Rc<RefCell<Vec<T>>>;

pub fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

/// Gives the loop `n` iterations (asyncio's `await asyncio.sleep(0)`, `n` times).
pub async fn ticks(n: usize) {
    for _ in 0..n {
        yield_now().await;
    }
}

/// Awaits `task`, failing the test instead of hanging if it has not finished within 100
/// iterations (a lost wake-up or a deadlock).
pub async fn finish<T: 'static>(task: Task<T>) -> Result<T, TaskError> {
    for _ in 0..100 {
        if task.is_done() {
            return task.await;
        }
        yield_now().await;
    }
    panic!("{} did not finish: a lost wake-up or a deadlock", task.name());
}

/// A task that runs `step` on its own clone of `x`, then logs `tag` to `result` and answers
/// true: asyncio's test coroutines that `result.append(tag)` and `return True` once they
/// got through.
pub fn logging_task<T, F, Fut>(x: &T, result: &Log, tag: i32, step: F) -> Task<bool>
where
    T: Clone,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let (step, result) = (step(x.clone()), result.clone());
    spawn(async move {
        step.await;
        result.borrow_mut().push(tag);
        true
    })
}

/// A task that takes `lock` and keeps it (asyncio's `await lock.acquire()` without a
/// release), logs `tag` and returns true.
pub fn lock_taker(lock: &Lock, result: &Log, tag: i32) -> Task<bool> {
    logging_task(
        lock,
        result,
        tag,
        |lock| async move { lock.lock().await.forget() },
    )
}

/// A task that takes a permit of `sem` for good (asyncio's bare `await sem.acquire()`), logs
/// `tag` and returns true.
pub fn sem_taker(sem: &Semaphore, result: &Log, tag: i32) -> Task<bool> {
    logging_task(
        sem,
        result,
        tag,
        |sem| async move { sem.acquire().await.forget() },
    )
}

/// A task that waits for `ev`, logs `tag` and returns true.
pub fn event_waiter(ev: &Event, result: &Log, tag: i32) -> Task<bool> {
    logging_task(ev, result, tag, |ev| async move { ev.wait().await })
}

/// A task that takes `cond`'s lock, waits once, releases the lock, logs `tag` and returns
/// true (the release and the log come in the same step: no other task runs between).
pub fn cond_waiter(cond: &Condition, result: &Log, tag: i32) -> Task<bool> {
    logging_task(cond, result, tag, |cond| async move {
        let guard = cond.lock().await;
        let _guard = cond.wait(guard).await;
    })
}

/// A new condition, a log, and `N` [`cond_waiter`]s tagged 1 to `N`, given one iteration to
/// start waiting.
pub async fn cond_with_waiters<const N: usize>() -> (Condition, Log, [Task<bool>; N]) {
    let cond = Condition::new();
    let result = log();
    let tasks = std::array::from_fn(|i| cond_waiter(&cond, &result, i as i32 + 1));
    ticks(1).await;
    (cond, result, tasks)
}

/// A task that takes `cond`'s lock, waits once, logs `tag` and keeps the lock (asyncio's
/// `c1` in `test_wait`, which returns without releasing).
pub fn cond_waiter_keeping_the_lock(cond: &Condition, result: &Log, tag: i32) -> Task<bool> {
    logging_task(cond, result, tag, |cond| async move {
        let guard = cond.lock().await;
        cond.wait(guard).await.forget();
    })
}

/// A task that puts `item` into `q` (waiting for a slot if need be) and unwraps the answer.
pub fn putter<T: 'static>(q: &Queue<T>, item: T) -> Task<()> {
    let q = q.clone();
    spawn(async move { q.put(item).await.unwrap() })
}

/// asyncio `test_maxsize`'s putter: a task that puts 0, 1 and 2 into `q` in turn and logs each
/// once its `put` returned. Returns the log and the task.
pub fn spawn_logging_putter(q: &Queue<i32>) -> (Log, Task<()>) {
    let have_been_put = log();
    let putter = spawn({
        let (q, have_been_put) = (q.clone(), have_been_put.clone());
        async move {
            for i in 0..3 {
                q.put(i).await.unwrap();
                have_been_put.borrow_mut().push(i);
            }
        }
    });
    (have_been_put, putter)
}

/// The end of asyncio `test_maxsize`, once the putter of [`spawn_logging_putter`] was given
/// the slot `0` left: its third item is in, `q` holds 1 then 2, and the putter finishes.
pub async fn third_put_went_in(q: &Queue<i32>, have_been_put: &Log, putter: Task<()>) {
    assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(q.get_nowait(), Ok(2));
    finish(putter).await.unwrap();
}

/// A task that waits on `barrier` once and answers what `wait` answered (its arrival index).
pub fn party(barrier: &Barrier) -> Task<Result<usize, BrokenBarrierError>> {
    let barrier = barrier.clone();
    spawn(async move { barrier.wait().await })
}

/// Awaits each of `parties` (in turn, with [`finish`]), which must all pass the barrier, and
/// answers their arrival indices, sorted.
pub async fn sorted_indices(parties: Vec<Task<Result<usize, BrokenBarrierError>>>) -> Vec<usize> {
    let mut indices = Vec::new();
    for t in parties {
        indices.push(finish(t).await.unwrap().unwrap());
    }
    indices.sort();
    indices
}
