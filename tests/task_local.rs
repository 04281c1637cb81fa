//! tokio's tests/task_local.rs, ported: `aioloop::task_local!` and `LocalKey` (a value scoped to
//! one future, swapped in around each of its polls). tokio's `local` runs on the multi-thread
//! runtime; here the three tasks share one loop, which also checks that a scope is not seen by
//! the tasks interleaved with it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aioloop::sync::oneshot;

#[aioloop::test]
async fn local() {
    aioloop::task_local! {
        static REQ_ID: u32;
        pub static FOO: bool;
    }

    let j1 = aioloop::spawn(REQ_ID.scope(1, async move {
        assert_eq!(REQ_ID.get(), 1);
        assert_eq!(REQ_ID.get(), 1);
    }));

    let j2 = aioloop::spawn(REQ_ID.scope(2, async move {
        REQ_ID.with(|v| {
            assert_eq!(REQ_ID.get(), 2);
            assert_eq!(*v, 2);
        });

        aioloop::sleep(Duration::from_millis(10)).await;

        assert_eq!(REQ_ID.get(), 2);
    }));

    let j3 = aioloop::spawn(FOO.scope(true, async move {
        assert!(FOO.get());
    }));

    j1.await.unwrap();
    j2.await.unwrap();
    j3.await.unwrap();
    // Not ours: the awaiting task runs outside every scope.
    assert!(REQ_ID.try_get().is_err());
}

#[aioloop::test]
async fn task_local_available_on_abort() {
    aioloop::task_local! {
        static KEY: u32;
    }

    struct MyFuture {
        tx_poll: Option<oneshot::Sender<()>>,
        tx_drop: Option<oneshot::Sender<u32>>,
    }
    impl Future for MyFuture {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            if let Some(tx_poll) = self.tx_poll.take() {
                let _ = tx_poll.send(());
            }
            Poll::Pending
        }
    }
    impl Drop for MyFuture {
        fn drop(&mut self) {
            let _ = self.tx_drop.take().unwrap().send(KEY.get());
        }
    }

    let (tx_drop, rx_drop) = oneshot::channel();
    let (tx_poll, rx_poll) = oneshot::channel();

    let h = aioloop::spawn(KEY.scope(
        42,
        MyFuture {
            tx_poll: Some(tx_poll),
            tx_drop: Some(tx_drop),
        },
    ));

    rx_poll.await.unwrap();
    h.cancel();
    assert_eq!(rx_drop.await.unwrap(), 42);

    let err = h.await.unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
}

#[aioloop::test]
async fn task_local_available_on_completion_drop() {
    aioloop::task_local! {
        static KEY: u32;
    }

    struct MyFuture {
        tx: Option<oneshot::Sender<u32>>,
    }
    impl Future for MyFuture {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }
    impl Drop for MyFuture {
        fn drop(&mut self) {
            let _ = self.tx.take().unwrap().send(KEY.get());
        }
    }

    let (tx, rx) = oneshot::channel();

    let h = aioloop::spawn(KEY.scope(42, MyFuture { tx: Some(tx) }));

    assert_eq!(rx.await.unwrap(), 42);
    h.await.unwrap();
}

#[aioloop::test]
async fn take_value() {
    aioloop::task_local! {
        static KEY: u32
    }
    let fut = KEY.scope(1, async {});
    let mut pinned = Box::pin(fut);
    assert_eq!(pinned.as_mut().take_value(), Some(1));
    assert_eq!(pinned.as_mut().take_value(), None);
}

#[aioloop::test]
async fn poll_after_take_value_should_fail() {
    aioloop::task_local! {
        static KEY: u32
    }
    let fut = KEY.scope(1, async {
        let result = KEY.try_with(|_| {});
        // The task local value no longer exists.
        assert!(result.is_err());
    });
    let mut fut = Box::pin(fut);
    fut.as_mut().take_value();

    // Poll the future after `take_value` has been called
    fut.await;
}

#[aioloop::test]
async fn get_value() {
    aioloop::task_local! {
        static KEY: u32
    }

    KEY.scope(1, async {
        assert_eq!(KEY.get(), 1);
        assert_eq!(KEY.try_get().unwrap(), 1);
    })
    .await;

    let fut = KEY.scope(1, async {
        let result = KEY.try_get();
        // The task local value no longer exists.
        assert!(result.is_err());
    });
    let mut fut = Box::pin(fut);
    fut.as_mut().take_value();

    // Poll the future after `take_value` has been called
    fut.await;
}

/// tokio's doc tests of `LocalKey::sync_scope` and `with`: nested scopes hide the outer value,
/// which comes back when they end; reading outside a scope panics with tokio's message.
#[test]
fn sync_scope_nests_and_with_panics_outside() {
    aioloop::task_local! {
        static KEY: u32;
    }
    KEY.sync_scope(1, || {
        assert_eq!(KEY.get(), 1);
        KEY.sync_scope(2, || assert_eq!(KEY.get(), 2));
        assert_eq!(KEY.get(), 1);
    });
    let panic = std::panic::catch_unwind(|| KEY.get()).unwrap_err();
    let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(
        message,
        "cannot access a task-local storage value without setting it first"
    );
    assert_eq!(KEY.try_get().unwrap_err().to_string(), "task-local value not set");
}

/// The scope of a task does not leak into the tasks that run between its polls (each poll
/// swaps its value in and back out).
#[aioloop::test]
async fn scope_is_not_seen_between_polls() {
    aioloop::task_local! {
        static KEY: u32;
    }
    let a = aioloop::spawn(KEY.scope(1, async {
        for _ in 0..3 {
            assert_eq!(KEY.get(), 1);
            aioloop::yield_now().await;
        }
    }));
    let b = aioloop::spawn(async {
        for _ in 0..3 {
            assert!(KEY.try_get().is_err());
            aioloop::yield_now().await;
        }
    });
    a.await.unwrap();
    b.await.unwrap();
}
