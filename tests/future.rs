//! `aioloop::Future`, asyncio's settable future.

use std::cell::RefCell;
use std::rc::Rc;

use aioloop::{spawn, yield_now, CancelledError, Future};

#[test]
fn many_tasks_await_one_future() {
    let results = aioloop::run(async {
        let fut: Future<String> = Future::new();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let fut = fut.clone();
                spawn(fut)
            })
            .collect();
        yield_now().await;
        assert!(!fut.is_done());
        fut.set_result("ready".to_string()).unwrap();
        let mut results = Vec::new();
        for w in waiters {
            results.push(w.await.unwrap().unwrap());
        }
        results
    });
    assert_eq!(results, vec!["ready"; 5]);
}

#[test]
fn double_set_is_an_error_and_keeps_the_first_value() {
    aioloop::run(async {
        let fut = Future::new();
        fut.set_result(1).unwrap();
        let err = fut.set_result(2).unwrap_err();
        assert!(err.to_string().contains("already done"));
        assert_eq!(fut.result(), Some(Ok(1)));
        assert!(!fut.cancel(), "a done future cannot be cancelled");
        assert_eq!(fut.await, Ok(1));
    });
}

#[test]
fn callbacks_run_in_order_after_the_setter_returns() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let out = log.clone();
    aioloop::run(async move {
        let fut: Future<u8> = Future::new();
        for i in 0..3 {
            let log = out.clone();
            fut.add_done_callback(move |f| log.borrow_mut().push(format!("cb{i}={:?}", f.result())));
        }
        fut.set_result(7).unwrap();
        out.borrow_mut().push("setter returned".into());
        yield_now().await;
        // A callback added after completion is scheduled too.
        let log = out.clone();
        fut.add_done_callback(move |_| log.borrow_mut().push("late".into()));
        yield_now().await;
    });
    assert_eq!(
        *log.borrow(),
        [
            "setter returned",
            "cb0=Some(Ok(7))",
            "cb1=Some(Ok(7))",
            "cb2=Some(Ok(7))",
            "late"
        ]
    );
}

#[test]
fn cancel_wakes_awaiters_with_cancelled_error() {
    aioloop::run(async {
        let fut: Future<()> = Future::new();
        let waiter = spawn(fut.clone());
        yield_now().await;
        assert!(fut.cancel());
        assert!(fut.is_cancelled());
        assert_eq!(waiter.await.unwrap(), Err(CancelledError));
        assert!(fut.set_result(()).is_err());
    });
}

#[test]
fn a_dropped_waiter_is_forgotten() {
    aioloop::run(async {
        let fut: Future<u32> = Future::new();
        let waiter = spawn(fut.clone());
        yield_now().await;
        waiter.cancel();
        yield_now().await;
        // Cancelling the task that awaited the future cancelled the future too (asyncio's
        // test_task_cancel_waiter_future), and the waiter's slot was let go.
        assert!(fut.is_cancelled());
        assert!(fut.set_result(3).is_err());
        assert!(waiter.await.unwrap_err().is_cancelled());
    });
}
