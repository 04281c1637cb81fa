//! Audit of tokio-bound code on aioloop: tokio's runtime-agnostic `sync` types between aioloop
//! tasks (no tokio runtime anywhere), and, with the `tokio-compat` feature, tokio's
//! `time::timeout`, `spawn_blocking` and `JoinHandle::abort` inside `with_tokio` behaving as in
//! tokio's tests/time_timeout.rs, task_blocking.rs and task_abort.rs. tests/compat_tokio.rs
//! covers reqwest, sleeps and `tokio::spawn` already.

use aioloop::{spawn, yield_now};

/// tokio's `sync::oneshot`, `mpsc` (bounded: a full channel makes the sender wait), `watch` and
/// `Notify` need no tokio runtime: they wake aioloop tasks through the wakers they are given.
#[aioloop::test]
async fn tokio_sync_types_between_aioloop_tasks() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (mtx, mut mrx) = tokio::sync::mpsc::channel::<u32>(2);
    let (wtx, mut wrx) = tokio::sync::watch::channel(0u32);
    let notify = std::rc::Rc::new(tokio::sync::Notify::new());
    let producer = spawn({
        let notify = notify.clone();
        async move {
            for i in 0..10 {
                mtx.send(i).await.unwrap(); // waits while two are queued
            }
            wtx.send(7).unwrap();
            notify.notify_one();
            tx.send("done").unwrap();
        }
    });
    let mut got = Vec::new();
    while let Some(i) = mrx.recv().await {
        got.push(i);
        yield_now().await;
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    wrx.changed().await.unwrap();
    assert_eq!(*wrx.borrow(), 7);
    notify.notified().await; // the permit stored by notify_one
    assert_eq!(rx.await.unwrap(), "done");
    producer.await.unwrap();
}

/// A tokio `oneshot` receiver awaited by an aioloop task that is cancelled is dropped with it:
/// the sender sees the channel closed, as when a tokio task is aborted.
#[aioloop::test]
async fn a_cancelled_aioloop_task_drops_its_tokio_receiver() {
    let (mut tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let waiter = spawn(rx);
    yield_now().await;
    assert!(!tx.is_closed());
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    tx.closed().await;
    assert!(tx.send(1).is_err());
}

#[cfg(feature = "tokio-compat")]
mod with_tokio {
    use super::*;
    use aioloop::compat::with_tokio;
    use std::time::Duration;

    /// time_timeout.rs `deadline_future_elapses` through `with_tokio`: tokio's `timeout` gives
    /// its `Elapsed`, and a zero duration still polls a ready future once (tokio's semantics,
    /// where aioloop's own `wait_for` follows asyncio).
    #[aioloop::test]
    async fn tokio_timeout_inside_with_tokio() {
        let out = with_tokio(async {
            let elapsed = tokio::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
            let ready = tokio::time::timeout(Duration::ZERO, async { 7 }).await;
            (elapsed.is_err(), ready)
        })
        .await;
        assert!(out.0);
        assert_eq!(out.1.unwrap(), 7);
    }

    /// task_blocking.rs `basic_blocking` and a panicking closure, through `with_tokio`: the
    /// result comes back, and a panic is a `JoinError` with `is_panic`.
    #[aioloop::test]
    async fn tokio_spawn_blocking_inside_with_tokio() {
        let (ok, panicked) = with_tokio(async {
            let ok = tokio::task::spawn_blocking(|| 6 * 7).await.unwrap();
            let err = tokio::task::spawn_blocking(|| -> u8 { panic!("blocking boom") })
                .await
                .unwrap_err();
            (ok, err.is_panic())
        })
        .await;
        assert_eq!(ok, 42);
        assert!(panicked);
    }

    /// task_abort.rs `test_abort_without_panic_3157` through `with_tokio`: a tokio task aborted
    /// while it sleeps gives a cancelled `JoinError`.
    #[aioloop::test]
    async fn tokio_abort_inside_with_tokio() {
        let cancelled = with_tokio(async {
            let handle = tokio::spawn(async { tokio::time::sleep(Duration::from_secs(100)).await });
            tokio::time::sleep(Duration::from_millis(5)).await;
            handle.abort();
            handle.await.unwrap_err().is_cancelled()
        })
        .await;
        assert!(cancelled);
    }

    /// An aioloop task cancelled while it awaits a tokio sleep inside `with_tokio` ends at
    /// once: the tokio future is dropped with it.
    #[aioloop::test]
    async fn cancelling_a_task_in_with_tokio_drops_the_tokio_future() {
        let task = spawn(with_tokio(async {
            tokio::time::sleep(Duration::from_secs(100)).await
        }));
        aioloop::sleep(Duration::from_millis(5)).await;
        task.cancel();
        let out = aioloop::wait_for(task, Duration::from_secs(10)).await;
        assert!(out
            .expect("the cancellation is prompt")
            .unwrap_err()
            .is_cancelled());
    }
}
