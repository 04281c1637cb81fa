//! Issue 17, item 5: Task handles as asyncio's.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, yield_now};

/// test_tasks: test_cancel: `cancelled()` stays true after the task was awaited.
#[test]
fn test_cancel_is_cancelled_stays_true_after_await() {
    aioloop::run(async {
        let mut task = spawn(sleep(Duration::from_secs(10)));
        task.cancel();
        assert!((&mut task).await.unwrap_err().is_cancelled());
        assert!(task.is_done());
        assert!(task.is_cancelled(), "cancelled() is still true after awaiting");
    });
}

/// test_tasks: test_cancel_with_message_then_future_result: the awaiter reads the message.
#[test]
fn test_cancel_with_message_then_future_result() {
    aioloop::run(async {
        let mut task = spawn(sleep(Duration::from_secs(10)));
        yield_now().await;
        assert!(task.cancel_with("key"));
        let err = (&mut task).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(task.cancel_message().as_deref(), Some("key"));
    });
}

/// test_tasks: test_cancelling / test_uncancel: `cancelling()` counts the requests and
/// `uncancel()` takes one back (asyncio 3.11).
#[test]
fn test_cancelling_and_uncancel_count() {
    aioloop::run(async {
        let task = spawn(sleep(Duration::from_secs(10)));
        assert_eq!(task.cancelling(), 0);
        task.cancel();
        task.cancel();
        assert_eq!(task.cancelling(), 2);
        assert_eq!(task.uncancel(), 1);
        let _ = task.await;
    });
}

/// add_done_callback / remove_done_callback on Task (test_tasks: test_remove_done_callback
/// via the Future tests), and the non-blocking result accessor.
#[test]
fn test_task_done_callbacks_and_result() {
    aioloop::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut task = spawn(async { 5 });
        let l1 = log.clone();
        task.add_done_callback(move |t| l1.borrow_mut().push(format!("one {}", t.is_done())));
        let l2 = log.clone();
        let second = task.add_done_callback(move |_| l2.borrow_mut().push("two".into()));
        assert!(task.remove_done_callback(second));
        assert!(task.result().is_none(), "not done yet");
        yield_now().await;
        yield_now().await;
        assert_eq!(task.result().unwrap().unwrap(), 5);
        assert_eq!(*log.borrow(), ["one true"]);
    });
}
