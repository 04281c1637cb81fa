//! Audit against tokio's tests/sync_oneshot.rs and sync_semaphore.rs: the behaviour of each
//! upstream test that maps onto `aioloop::sync::oneshot` and `aioloop::sync::Semaphore`, under
//! the upstream test's name. (tests/sync_oneshot.rs ports `close_rx`, `async_rx_closed`,
//! `explicit_close_poll`, `explicit_close_try_recv` and `close_after_recv` already.)
//!
//! Not ported, for want of the API (aioloop's `Semaphore` is asyncio's: one permit per
//! acquire): `close`/`is_closed`, `add_permits(n)` (`release()` adds one), `forget_permits`,
//! `try_acquire_many`/`acquire_many`, `merge`/`split`/`num_permits` on permits, `MAX_PERMITS`
//! (`a_release_past_usize_max_permits_panics_clearly` in tests/sync_semaphore.rs covers the
//! overflow), `blocking_acquire*` (the semaphore is `!Send`: no other thread can wait on it);
//! tokio's `no_permits` is a wasm-only test.

mod support;

use std::future::Future as _;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use aioloop::sync::oneshot::{self, TryRecvError};
use aioloop::sync::Semaphore;
use futures::future::FusedFuture;
use support::yields;

/// A waker that counts its wakes; the `Arc`'s strong count is tokio-test's `waker_ref_count`.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// tokio-test's mock task: a waker of its own, `is_woken`, and its reference count.
struct MockTask(Arc<CountingWaker>, Waker);

impl MockTask {
    fn new() -> MockTask {
        let counter = Arc::new(CountingWaker::default());
        MockTask(counter.clone(), Waker::from(counter))
    }

    fn enter<R>(&self, f: impl FnOnce(&mut Context<'_>) -> R) -> R {
        f(&mut Context::from_waker(&self.1))
    }

    fn is_woken(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst) > 0
    }

    /// References to the waker: the task's own, and the clones stored elsewhere.
    fn waker_ref_count(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }
}

fn poll_rx<T>(task: &MockTask, rx: &mut oneshot::Receiver<T>) -> Poll<Result<T, oneshot::RecvError>> {
    task.enter(|cx| Pin::new(rx).poll(cx))
}

/// sync_oneshot.rs `send_recv`: a pending receiver is woken by the send and then ready.
#[test]
fn send_recv() {
    let (tx, mut rx) = oneshot::channel();
    let task = MockTask::new();
    assert!(poll_rx(&task, &mut rx).is_pending());
    tx.send(1).unwrap();
    assert!(task.is_woken());
    assert_eq!(poll_rx(&task, &mut rx), Poll::Ready(Ok(1)));
}

/// `async_send_recv`.
#[aioloop::test]
async fn async_send_recv() {
    let (tx, rx) = oneshot::channel();
    tx.send(1).unwrap();
    assert_eq!(1, rx.await.unwrap());
}

/// `close_tx`: dropping the sender wakes the pending receiver with an error.
#[test]
fn close_tx() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    let task = MockTask::new();
    assert!(poll_rx(&task, &mut rx).is_pending());
    drop(tx);
    assert!(task.is_woken());
    assert!(matches!(poll_rx(&task, &mut rx), Poll::Ready(Err(_))));
}

/// `close_try_recv_poll`, a divergence: tokio panics when a receiver that was closed and
/// gave `try_recv`'s error is polled again ("called after complete"). aioloop's poll gives
/// `RecvError` again, as every poll of a finished channel does.
#[test]
fn close_try_recv_poll() {
    let (_tx, mut rx) = oneshot::channel::<i32>();
    let task = MockTask::new();
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(matches!(poll_rx(&task, &mut rx), Poll::Ready(Err(_))));
}

/// `try_recv_after_completion`: the value is taken once, then `try_recv` reports `Closed`.
#[test]
fn try_recv_after_completion() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    tx.send(17).unwrap();
    assert_eq!(17, rx.try_recv().unwrap());
    assert_eq!(Err(TryRecvError::Closed), rx.try_recv());
    rx.close();
}

/// `try_recv_after_completion_await`: the same after the value was taken by a poll.
#[test]
fn try_recv_after_completion_await() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    let task = MockTask::new();
    tx.send(17).unwrap();
    assert_eq!(poll_rx(&task, &mut rx), Poll::Ready(Ok(17)));
    assert_eq!(Err(TryRecvError::Closed), rx.try_recv());
    rx.close();
}

/// `drops_tasks`: once both halves are dropped, neither holds a waker of the tasks that
/// polled them.
#[test]
fn drops_tasks() {
    let (mut tx, mut rx) = oneshot::channel::<i32>();
    let (tx_task, rx_task) = (MockTask::new(), MockTask::new());
    assert!(tx_task.enter(|cx| tx.poll_closed(cx)).is_pending());
    assert!(poll_rx(&rx_task, &mut rx).is_pending());
    drop(tx);
    drop(rx);
    assert_eq!(1, tx_task.waker_ref_count());
    assert_eq!(1, rx_task.waker_ref_count());
}

/// `receiver_changes_task`: a receiver polled by a second task drops the first task's waker,
/// and the send wakes only the second.
#[test]
fn receiver_changes_task() {
    let (tx, mut rx) = oneshot::channel();
    let (task1, task2) = (MockTask::new(), MockTask::new());
    assert!(poll_rx(&task1, &mut rx).is_pending());
    assert_eq!(2, task1.waker_ref_count());
    assert_eq!(1, task2.waker_ref_count());
    assert!(poll_rx(&task2, &mut rx).is_pending());
    assert_eq!(1, task1.waker_ref_count());
    assert_eq!(2, task2.waker_ref_count());
    tx.send(1).unwrap();
    assert!(!task1.is_woken());
    assert!(task2.is_woken());
    assert_eq!(poll_rx(&task2, &mut rx), Poll::Ready(Ok(1)));
}

/// `sender_changes_task`: the same for the sender's `poll_closed`, woken by the receiver's
/// drop.
#[test]
fn sender_changes_task() {
    let (mut tx, rx) = oneshot::channel::<i32>();
    let (task1, task2) = (MockTask::new(), MockTask::new());
    assert!(task1.enter(|cx| tx.poll_closed(cx)).is_pending());
    assert_eq!(2, task1.waker_ref_count());
    assert_eq!(1, task2.waker_ref_count());
    assert!(task2.enter(|cx| tx.poll_closed(cx)).is_pending());
    assert_eq!(1, task1.waker_ref_count());
    assert_eq!(2, task2.waker_ref_count());
    drop(rx);
    assert!(!task1.is_woken());
    assert!(task2.is_woken());
    assert!(task2.enter(|cx| tx.poll_closed(cx)).is_ready());
}

/// `receiver_is_terminated_send`: terminated (futures' `FusedFuture` too) only once the sent
/// value was taken by a poll.
#[test]
fn receiver_is_terminated_send() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert!(!rx.is_terminated(), "not terminated before the send");
    tx.send(17).unwrap();
    assert!(!rx.is_terminated(), "not terminated after the send");
    assert_eq!(poll_rx(&MockTask::new(), &mut rx), Poll::Ready(Ok(17)));
    assert!(rx.is_terminated() && FusedFuture::is_terminated(&rx));
}

/// `receiver_is_terminated_try_recv`: the same with `try_recv`; an empty `try_recv` does not
/// terminate it.
#[test]
fn receiver_is_terminated_try_recv() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_terminated());
    tx.send(17).unwrap();
    assert!(!rx.is_terminated());
    assert_eq!(rx.try_recv(), Ok(17));
    assert!(rx.is_terminated());
}

/// `receiver_is_terminated_drop`: a dropped sender terminates it once the error was given.
#[test]
fn receiver_is_terminated_drop() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    drop(tx);
    assert!(!rx.is_terminated(), "not terminated before the error was given");
    assert!(matches!(poll_rx(&MockTask::new(), &mut rx), Poll::Ready(Err(_))));
    assert!(rx.is_terminated());
}

/// `receiver_is_terminated_rx_close`: so does a close.
#[test]
fn receiver_is_terminated_rx_close() {
    let (_tx, mut rx) = oneshot::channel::<i32>();
    rx.close();
    assert!(!rx.is_terminated());
    assert!(matches!(poll_rx(&MockTask::new(), &mut rx), Poll::Ready(Err(_))));
    assert!(rx.is_terminated());
}

/// `receiver_is_empty_send`: empty before the send and after the value was taken, not between.
#[test]
fn receiver_is_empty_send() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert!(rx.is_empty());
    tx.send(17).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(poll_rx(&MockTask::new(), &mut rx), Poll::Ready(Ok(17)));
    assert!(rx.is_empty());
}

/// `receiver_is_empty_try_recv`: the same with `try_recv`.
#[test]
fn receiver_is_empty_try_recv() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    tx.send(17).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(rx.try_recv(), Ok(17));
    assert!(rx.is_empty());
}

/// `receiver_is_empty_drop`: a dropped sender leaves it empty.
#[test]
fn receiver_is_empty_drop() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    drop(tx);
    assert!(rx.is_empty());
    assert!(matches!(poll_rx(&MockTask::new(), &mut rx), Poll::Ready(Err(_))));
    assert!(rx.is_empty());
}

/// `receiver_is_empty_rx_close`: so does a close.
#[test]
fn receiver_is_empty_rx_close() {
    let (_tx, mut rx) = oneshot::channel::<i32>();
    assert!(rx.is_empty());
    rx.close();
    assert!(rx.is_empty());
}

/// sync_semaphore.rs `try_acquire`: one permit, taken once; back when the permit is dropped.
#[test]
fn try_acquire() {
    let sem = Semaphore::new(1);
    {
        let p1 = sem.try_acquire();
        assert!(p1.is_some());
        assert!(sem.try_acquire().is_none());
    }
    assert!(sem.try_acquire().is_some());
}

/// `acquire`: a task waiting in `acquire` gets the permit dropped by its holder.
#[aioloop::test]
async fn acquire() {
    let sem = Rc::new(Semaphore::new(1));
    let p1 = sem.try_acquire().unwrap();
    let sem_clone = sem.clone();
    let j = aioloop::spawn(async move {
        let _p2 = sem_clone.acquire().await;
    });
    yields(2).await;
    assert!(!j.is_done());
    drop(p1);
    support::sockets::within(j).await.unwrap();
}

/// `add_permits`: a permit added (`release()`, asyncio's name) goes to the waiting task.
#[aioloop::test]
async fn add_permits() {
    let sem = Rc::new(Semaphore::new(0));
    let sem_clone = sem.clone();
    let j = aioloop::spawn(async move {
        let _p2 = sem_clone.acquire().await;
    });
    yields(2).await;
    sem.release();
    support::sockets::within(j).await.unwrap();
    assert_eq!(sem.available(), 1);
}

/// `add_permits_open`: each permit added counts.
#[test]
fn add_permits_open() {
    for size in 0..4 {
        for add in 0..4 {
            let sem = Semaphore::new(size);
            for _ in 0..add {
                sem.release();
            }
            assert_eq!(sem.available(), size + add);
        }
    }
}

/// `forget`: a forgotten permit stays taken.
#[test]
fn forget() {
    let sem = Semaphore::new(1);
    {
        let p = sem.try_acquire().unwrap();
        assert_eq!(sem.available(), 0);
        p.forget();
        assert_eq!(sem.available(), 0);
    }
    assert_eq!(sem.available(), 0);
    assert!(sem.try_acquire().is_none());
}

/// `stress_test`: 1000 tasks take and give back one of 5 permits; all 5 are free at the end.
#[aioloop::test]
async fn stress_test() {
    let sem = Rc::new(Semaphore::new(5));
    let mut join_handles = Vec::new();
    for _ in 0..1000 {
        let sem_clone = sem.clone();
        join_handles.push(aioloop::spawn(async move {
            let _p = sem_clone.acquire().await;
            aioloop::yield_now().await;
        }));
    }
    for j in join_handles {
        support::sockets::within(j).await.unwrap();
    }
    let _permits: Vec<_> = (0..5).map(|_| sem.try_acquire().unwrap()).collect();
    assert!(sem.try_acquire().is_none());
}
