//! `aioloop::sync::oneshot`: a value from one task to another, or an error if none comes.

mod sync_common;

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
