//! `aioloop::sync::oneshot`: a value from one task to another, or an error if none comes.

mod sync_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use aioloop::spawn;
use aioloop::sync::oneshot::{self, RecvError, TryRecvError};
use sync_common::{finish, ticks};

#[aioloop::test]
async fn the_receiver_waits_for_the_value() {
    let (tx, rx) = oneshot::channel();
    let receiver = spawn(rx);
    ticks(2).await;
    assert!(!receiver.is_done());
    tx.send("hello").unwrap();
    assert_eq!(finish(receiver).await.unwrap(), Ok("hello"));
}

#[aioloop::test]
async fn a_dropped_sender_is_an_error() {
    let (tx, rx) = oneshot::channel::<i32>();
    let receiver = spawn(rx);
    ticks(1).await;
    drop(tx);
    assert_eq!(finish(receiver).await.unwrap(), Err(RecvError));
}

#[test]
fn send_to_a_dropped_receiver_gives_the_value_back() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(7), Err(7));
}

#[test]
fn try_recv_reports_empty_then_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// The request/reply pattern the combinators and examples use: a server task answers each
/// request through the oneshot that came with it.
#[aioloop::test]
async fn request_reply_through_a_queue() {
    let requests = aioloop::sync::Queue::new(10);
    let server = spawn({
        let requests = requests.clone();
        async move {
            while let Ok((n, reply)) = requests.get().await {
                let reply: oneshot::Sender<u64> = reply;
                reply.send(n * 2).unwrap();
            }
        }
    });
    let client = spawn({
        let requests = requests.clone();
        async move {
            let mut replies = Vec::new();
            for n in 0..100u64 {
                let (tx, rx) = oneshot::channel();
                requests.put((n, tx)).await.unwrap();
                replies.push(rx);
            }
            let mut sum = 0;
            for rx in replies {
                sum += rx.await.unwrap();
            }
            sum
        }
    });
    assert_eq!(finish(client).await.unwrap(), 2 * (0..100).sum::<u64>());
    requests.shutdown(false);
    finish(server).await.unwrap();
}

/// A waker that counts its wakes, for the ports of tokio's `is_woken` checks.
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The check tokio's tests make around each way of closing: `tx` waits in `poll_closed`;
/// `close` (dropping or closing the receiver) wakes it; it then reads closed.
fn closing_wakes_the_waiting_sender(tx: &mut oneshot::Sender<i32>, close: impl FnOnce()) {
    let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(tx.poll_closed(&mut cx).is_pending());
    close();
    assert!(wakes.0.load(Ordering::SeqCst) > 0, "the sender was woken");
    assert!(tx.is_closed());
    assert!(tx.poll_closed(&mut cx).is_ready());
}

/// tokio tests/sync_oneshot.rs `close_rx`: `poll_closed` is pending while the receiver lives;
/// dropping it wakes the sender, which then reads closed and cannot send.
#[test]
fn close_rx() {
    let (tx, rx) = oneshot::channel::<i32>();
    drop(rx);
    assert_eq!(tx.send(1), Err(1));

    let (mut tx, rx) = oneshot::channel::<i32>();
    closing_wakes_the_waiting_sender(&mut tx, || drop(rx));
    assert_eq!(tx.send(1), Err(1));
}

/// tokio tests/sync_oneshot.rs `async_rx_closed`: `Sender::closed` resolves once a task
/// drops the receiver.
#[aioloop::test]
async fn async_rx_closed() {
    let (mut tx, rx) = oneshot::channel::<()>();
    let dropper = spawn(async move { drop(rx) });
    aioloop::wait_for(tx.closed(), std::time::Duration::from_secs(10))
        .await
        .expect("closed() resolves when the receiver is dropped");
    finish(dropper).await.unwrap();
}

/// tokio tests/sync_oneshot.rs `explicit_close_poll`: `Receiver::close` keeps a value sent
/// before it; without one, it wakes and closes the sender, whose send fails, and the receiver
/// gives `RecvError`.
#[aioloop::test]
async fn explicit_close_poll() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.await, Ok(1));

    let (mut tx, mut rx) = oneshot::channel::<i32>();
    closing_wakes_the_waiting_sender(&mut tx, || rx.close());
    assert_eq!(tx.send(1), Err(1));
    assert_eq!(rx.await, Err(RecvError));

    let (mut tx, mut rx) = oneshot::channel::<i32>();
    closing_wakes_the_waiting_sender(&mut tx, || rx.close());
    assert_eq!(
        rx.await,
        Err(RecvError),
        "closed with the sender alive: no value comes"
    );
    drop(tx);
}

/// tokio tests/sync_oneshot.rs `explicit_close_try_recv`: the same through `try_recv`.
#[test]
fn explicit_close_try_recv() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));

    let (mut tx, mut rx) = oneshot::channel::<i32>();
    closing_wakes_the_waiting_sender(&mut tx, || rx.close());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// tokio tests/sync_oneshot.rs `close_after_recv` and `try_recv_after_completion`: closing
/// after the value was taken is harmless, and the channel then reads closed.
#[test]
fn close_after_recv() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    tx.send(17).unwrap();
    assert_eq!(rx.try_recv(), Ok(17));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}
