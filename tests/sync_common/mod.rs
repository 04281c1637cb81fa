//! Helpers shared by the sync_* integration tests.

#![allow(dead_code)] // each test file uses a subset

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use aioloop::sync::{
    Barrier, BrokenBarrierError, Condition, Event, GetNowaitError, Lock, PutNowaitError, Queue,
    QueueShutDown, Semaphore,
};
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

/// `x`, a log, and `N` tasks made by `make` on them (tagged 1 to `N`: [`lock_taker`],
/// [`sem_taker`], [`event_waiter`], [`cond_waiter`]...), given one iteration to start
/// waiting.
pub async fn with_waiters<T, const N: usize>(
    x: T,
    make: fn(&T, &Log, i32) -> Task<bool>,
) -> (T, Log, [Task<bool>; N]) {
    let result = log();
    let tasks = std::array::from_fn(|i| make(&x, &result, i as i32 + 1));
    ticks(1).await;
    (x, result, tasks)
}

/// A new condition, a log, and `N` [`cond_waiter`]s, given one iteration to start waiting.
pub async fn cond_with_waiters<const N: usize>() -> (Condition, Log, [Task<bool>; N]) {
    with_waiters(Condition::new(), cond_waiter).await
}

/// asyncio SemaphoreTests `test_acquire_cancel_before_awoken`, shared by its ports: of four
/// [`sem_taker`]s waiting on a semaphore of no permit, the first two are cancelled in the
/// step that releases one permit: within two iterations it reaches the third waiter, not
/// the fourth. Answers the semaphore, the log and the takers.
pub async fn semaphore_test_acquire_cancel_before_awoken() -> (Semaphore, Log, [Task<bool>; 4]) {
    let (sem, result, t) = with_waiters(Semaphore::new(0), sem_taker).await;
    t[0].cancel();
    t[1].cancel();
    sem.release();
    ticks(2).await;
    assert!(t[2].is_done());
    assert!(!t[3].is_done());
    assert_eq!(*result.borrow(), [3]);
    (sem, result, t)
}

/// A task that takes `cond`'s lock, waits once, logs `tag` and keeps the lock (asyncio's
/// `c1` in `test_wait`, which returns without releasing).
pub fn cond_waiter_keeping_the_lock(cond: &Condition, result: &Log, tag: i32) -> Task<bool> {
    logging_task(cond, result, tag, |cond| async move {
        let guard = cond.lock().await;
        cond.wait(guard).await.forget();
    })
}

/// asyncio LockTests `test_acquire`, shared by its ports: with the lock held by the test, two
/// [`lock_taker`]s queue; each `release` lets exactly the first waiter in, one iteration
/// later; a third taker that comes while the lock is handed over queues behind the waiter it
/// was handed to. Answers the lock (held by the third taker) and the three takers.
pub async fn lock_test_acquire() -> (Lock, [Task<bool>; 3]) {
    let lock = Lock::new();
    let result = log();
    lock.lock().await.forget();
    let t1 = lock_taker(&lock, &result, 1);
    let t2 = lock_taker(&lock, &result, 2);
    ticks(1).await;
    assert!(result.borrow().is_empty());

    lock.release().unwrap();
    ticks(1).await;
    assert_eq!(*result.borrow(), [1]);
    ticks(1).await;
    assert_eq!(*result.borrow(), [1]);

    let t3 = lock_taker(&lock, &result, 3);
    lock.release().unwrap();
    ticks(1).await;
    assert_eq!(*result.borrow(), [1, 2]);

    lock.release().unwrap();
    ticks(1).await;
    assert_eq!(*result.borrow(), [1, 2, 3]);
    (lock, [t1, t2, t3])
}

/// asyncio ConditionTests `test_wait`, shared by its ports: three
/// [`cond_waiter_keeping_the_lock`]s on a condition over a lock of its own; then the test
/// takes the lock and notifies one, releases the lock, notifies two, releases, releases.
/// After the waiters started and after each of these five steps, given one iteration each,
/// the log is what asyncio expects (each release lets exactly one notified waiter resume, in
/// FIFO order), and where `locked[i]` is `Some` the condition's `locked()` is that. Answers
/// the waiters.
pub async fn condition_test_wait(locked: [Option<bool>; 6]) -> [Task<bool>; 3] {
    let lock = Lock::new();
    let cond = Condition::with_lock(lock.clone());
    let result = log();
    let tasks = std::array::from_fn(|i| cond_waiter_keeping_the_lock(&cond, &result, i as i32 + 1));
    let check = |step: usize, expected: &[i32]| {
        assert_eq!(*result.borrow(), expected, "after step {step}");
        if let Some(locked) = locked[step] {
            assert_eq!(cond.locked(), locked, "after step {step}");
        }
    };
    ticks(1).await;
    check(0, &[]);
    cond.lock().await.forget();
    cond.notify(1);
    ticks(1).await;
    check(1, &[]); // notified, but the lock is held
    lock.release().unwrap();
    ticks(1).await;
    check(2, &[1]);
    cond.notify(2);
    ticks(1).await;
    check(3, &[1]);
    lock.release().unwrap();
    ticks(1).await;
    check(4, &[1, 2]);
    lock.release().unwrap();
    ticks(1).await;
    check(5, &[1, 2, 3]);
    tasks
}

/// A task that takes one item from `q`.
pub fn getter<T: 'static>(q: &Queue<T>) -> Task<Result<T, QueueShutDown>> {
    let q = q.clone();
    spawn(async move { q.get().await })
}

/// A task that puts `item` into `q`, giving the answer back.
pub fn put_task<T: 'static>(q: &Queue<T>, item: T) -> Task<Result<(), QueueShutDown<T>>> {
    let q = q.clone();
    spawn(async move { q.put(item).await })
}

/// A task that waits for `q.join()`.
pub fn joiner<T: 'static>(q: &Queue<T>) -> Task<()> {
    let q = q.clone();
    spawn(async move { q.join().await })
}

/// asyncio's checks after a `shutdown` (with nothing left to get): every put and get, waiting
/// or not, fails with `QueueShutDown`.
pub async fn puts_and_gets_fail_shut_down(q: &Queue<&'static str>) {
    assert_eq!(q.put("data").await, Err(QueueShutDown("data")));
    assert!(matches!(
        q.put_nowait("data"),
        Err(PutNowaitError::QueueShutDown("data"))
    ));
    assert_eq!(q.get().await, Err(QueueShutDown(())));
    assert_eq!(q.get_nowait(), Err(GetNowaitError::QueueShutDown));
}

/// A task that puts `item` into `q` (waiting for a slot if need be) and unwraps the answer.
pub fn putter<T: 'static>(q: &Queue<T>, item: T) -> Task<()> {
    let q = q.clone();
    spawn(async move { q.put(item).await.unwrap() })
}

/// asyncio `test_get_cancelled_race`, shared by its ports, up to the put: of two [`getter`]s
/// on an empty queue, the first is cancelled before any item comes, and is done one
/// iteration later. Answers the queue and the second getter.
pub async fn queue_test_get_cancelled_race(
) -> (Queue<&'static str>, Task<Result<&'static str, QueueShutDown>>) {
    let q = Queue::new(0);
    let t1 = getter(&q);
    let t2 = getter(&q);
    ticks(1).await;
    t1.cancel();
    ticks(1).await;
    assert!(t1.is_done());
    (q, t2)
}

/// asyncio `test_get_with_waiting_putters`, shared by its ports: two [`putter`]s of "a" and
/// "b" on a queue of one slot, given `n_ticks` iterations first (0: the gets come before
/// they ran); two gets take "a" then "b", and both putters finish.
pub async fn queue_test_get_with_waiting_putters(n_ticks: usize) {
    let q = Queue::new(1);
    let a = putter(&q, "a");
    let b = putter(&q, "b");
    ticks(n_ticks).await;
    assert_eq!(q.get().await, Ok("a"));
    assert_eq!(q.get().await, Ok("b"));
    finish(a).await.unwrap();
    finish(b).await.unwrap();
}

/// asyncio `test_put_cancelled_race`, shared by its ports, up to the second get: of three
/// putters (made by `put`) of "a", "b" and "X" on a queue of one slot, "a" puts at once and
/// "b" waits; "X" is cancelled while it waits and is done one iteration later; a `get_nowait`
/// takes "a", and one iteration later "b" is in and taken. Answers the queue and the putters.
pub async fn queue_test_put_cancelled_race<O: 'static>(
    put: impl Fn(&Queue<&'static str>, &'static str) -> Task<O>,
) -> (Queue<&'static str>, [Task<O>; 3]) {
    let q = Queue::new(1);
    let put_a = put(&q, "a");
    let put_b = put(&q, "b");
    let put_x = put(&q, "X");
    ticks(1).await;
    assert!(put_a.is_done());
    assert!(!put_b.is_done());

    put_x.cancel();
    ticks(1).await;
    assert!(put_x.is_done());
    assert_eq!(q.get_nowait(), Ok("a"));
    ticks(1).await;
    assert_eq!(q.get_nowait(), Ok("b"));
    (q, [put_a, put_b, put_x])
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

/// A [`party`] that arrives at `barrier`, given one iteration to get there.
pub async fn arrive(barrier: &Barrier) -> Task<Result<usize, BrokenBarrierError>> {
    let party = party(barrier);
    ticks(1).await;
    party
}

/// Asserts that no party waits on `barrier` and that it is not broken: a round went through
/// cleanly.
#[track_caller]
pub fn assert_idle(barrier: &Barrier) {
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
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
