//! Audit against CPython's Lib/test/test_asyncio/test_futures.py and test_tasks.py:
//! `aioloop::Future` states and callbacks, and a future under `wait_for`, `shield`-less
//! cancellation and `current_task`. Each test is named after the CPython test it ports.

use std::cell::{Cell, RefCell};
use std::future::Future as _;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{call_soon, current_task, spawn, wait_for, yield_now, Future, TimeoutError};

/// test_futures.py `test_cancel`: cancelling a pending future succeeds once; it is then done
/// and cancelled, a result cannot be set, awaiting it gives `CancelledError`.
#[aioloop::test]
async fn test_cancel() {
    let fut = Future::<i32>::new();
    assert!(fut.cancel());
    assert!(fut.is_cancelled() && fut.is_done());
    assert!(!fut.cancel(), "a second cancel fails");
    assert!(fut.set_result(1).is_err(), "InvalidStateError");
    assert!(fut.result().unwrap().is_err());
    assert!(fut.clone().await.is_err());
}

/// test_futures.py `test_future_cancel_message_getter`: a future cancelled with a message
/// keeps it (asyncio's `_cancel_message`); one cancelled without has none, and so does one
/// still pending or with a result.
#[aioloop::test]
async fn test_future_cancel_message_getter() {
    let fut = Future::<i32>::new();
    assert_eq!(fut.cancel_message(), None);
    assert!(fut.cancel_with("my message"));
    assert!(fut.clone().await.is_err(), "CancelledError");
    assert_eq!(fut.cancel_message().as_deref(), Some("my message"));
    assert!(!fut.cancel_with("another"), "done: the first message stays");
    assert_eq!(fut.cancel_message().as_deref(), Some("my message"));
    let plain = Future::<i32>::new();
    assert!(plain.cancel());
    assert_eq!(plain.cancel_message(), None);
    let set = Future::<i32>::new();
    set.set_result(1).unwrap();
    assert_eq!(set.cancel_message(), None);
}

/// test_tasks.py `test_cancel_with_message_then_future_result`, at the future: asyncio's
/// `Task.cancel(msg)` calls `_fut_waiter.cancel(msg=msg)`, so the future a task awaits is
/// cancelled with the task's message, which another awaiter of that future reads.
#[aioloop::test]
async fn test_task_cancel_with_message_cancels_the_awaited_future_with_it() {
    let fut = Future::<i32>::new();
    let task = spawn(fut.clone());
    yield_now().await;
    assert!(task.cancel_with("my message"));
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(fut.is_cancelled());
    assert_eq!(fut.cancel_message().as_deref(), Some("my message"));
}

/// test_futures.py `test_result`: a set future is done and not cancelled; `cancel()` then
/// fails and changes nothing.
#[aioloop::test]
async fn test_result() {
    let fut = Future::<i32>::new();
    assert!(fut.result().is_none(), "not done yet");
    fut.set_result(42).unwrap();
    assert!(fut.is_done() && !fut.is_cancelled());
    assert!(!fut.cancel());
    assert_eq!(fut.result(), Some(Ok(42)));
    assert_eq!(fut.clone().await, Ok(42));
}

/// test_futures.py `test_callbacks_invoked_on_set_result` / `..._on_cancel` and
/// `test_future_add_done_callback_after_done` (asyncio's `add_done_callback` on a done future
/// schedules it with `call_soon`): callbacks never run inside `set_result`/`cancel` or
/// `add_done_callback`; they run on the loop in registration order.
#[aioloop::test]
async fn test_callbacks_invoked_on_set_result_and_after_done() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let fut = Future::<i32>::new();
    for i in 0..2 {
        let seen = seen.clone();
        fut.add_done_callback(move |f| seen.borrow_mut().push((i, f.result())));
    }
    fut.set_result(10).unwrap();
    assert!(seen.borrow().is_empty(), "not run inside set_result");
    let late = seen.clone();
    fut.add_done_callback(move |f| late.borrow_mut().push((2, f.result())));
    assert_eq!(seen.borrow().len(), 0, "not run inside add_done_callback either");
    yield_now().await;
    assert_eq!(
        *seen.borrow(),
        [(0, Some(Ok(10))), (1, Some(Ok(10))), (2, Some(Ok(10)))]
    );

    let cancelled = Future::<i32>::new();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    cancelled.add_done_callback(move |f| flag.set(f.is_cancelled()));
    cancelled.cancel();
    assert!(!ran.get());
    yield_now().await;
    assert!(ran.get(), "callbacks run on cancel too");
}

/// test_waitfor.py `test_wait_for` with a future instead of a task: on timeout the future
/// `wait_for` waited on is cancelled (asyncio: `fut.cancelled()` is true afterwards).
#[aioloop::test(start_paused = true)]
async fn test_wait_for_cancels_the_future_on_timeout() {
    let fut = Future::<i32>::new();
    let res = wait_for(fut.clone(), Duration::from_millis(10)).await;
    assert_eq!(res, Err(TimeoutError));
    assert!(fut.is_cancelled());
}

/// asyncio's `Task.cancel()` cancels the future the task awaits (`_fut_waiter.cancel()`, as in
/// test_tasks.py `test_task_cancel_waiter_future`), so another task awaiting the same future
/// sees the cancellation.
#[aioloop::test]
async fn test_cancelling_the_awaiter_cancels_the_future_for_every_awaiter() {
    let fut = Future::<i32>::new();
    let a = spawn(fut.clone());
    let b = spawn(fut.clone());
    yield_now().await;
    assert!(a.cancel());
    assert!(a.await.unwrap_err().is_cancelled());
    assert!(fut.is_cancelled());
    assert!(b.await.unwrap().is_err(), "the other awaiter gets CancelledError");
}

/// test_tasks.py `test_current_task` outside a task: a callback run by `call_soon` is not a
/// task, so `current_task()` is None there (asyncio returns None outside a task).
#[aioloop::test]
async fn test_current_task_in_a_callback_is_none() {
    let seen = Rc::new(Cell::new(Some(true)));
    let flag = seen.clone();
    call_soon(move || flag.set(Some(current_task().is_some())));
    assert!(current_task().is_some(), "the test body is a task");
    yield_now().await;
    assert_eq!(seen.get(), Some(false));
}

/// test_futures.py `test_callbacks_invoked_on_set_result` with an awaiting task: asyncio runs a
/// future's callbacks, the awaiting tasks' wake-ups among them, in the order they were added
/// (here: "callback added first", "task awaiting since", "callback added last"), and so does
/// aioloop.
#[aioloop::test]
async fn test_done_callbacks_and_awaiters_run_in_registration_order() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let fut = Future::<()>::new();
    let s = seen.clone();
    fut.add_done_callback(move |_| s.borrow_mut().push("callback added first"));
    let task = spawn({
        let (fut, seen) = (fut.clone(), seen.clone());
        async move {
            fut.await.unwrap();
            seen.borrow_mut().push("task awaiting since");
        }
    });
    yield_now().await;
    let s = seen.clone();
    fut.add_done_callback(move |_| s.borrow_mut().push("callback added last"));
    fut.set_result(()).unwrap();
    task.await.unwrap();
    yield_now().await;
    assert_eq!(
        *seen.borrow(),
        [
            "callback added first",
            "task awaiting since",
            "callback added last"
        ]
    );
}

/// The same for a task: asyncio wakes a task awaiting another and runs that task's done
/// callbacks in the order they were added, and so does aioloop (here a `SharedTask` holder
/// awaiting since before the callback was added).
#[aioloop::test]
async fn test_task_done_callbacks_and_awaiters_run_in_registration_order() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let gate = Future::<()>::new();
    let inner = spawn({
        let gate = gate.clone();
        async move { gate.await.unwrap() }
    })
    .shared();
    let awaiter = spawn({
        let (inner, seen) = (inner.clone(), seen.clone());
        async move {
            inner.await.unwrap();
            seen.borrow_mut().push("task awaiting since");
        }
    });
    yield_now().await;
    let s = seen.clone();
    inner.add_done_callback(move |_| s.borrow_mut().push("callback added later"));
    gate.set_result(()).unwrap();
    awaiter.await.unwrap();
    yield_now().await;
    assert_eq!(*seen.borrow(), ["task awaiting since", "callback added later"]);
}

/// The same with the `Task` handle's own awaiter: c1 added, the handle awaited, c2 added:
/// asyncio's order c1, awaiter, c2. Awaited after every callback, the awaiter comes last.
#[aioloop::test]
async fn test_task_registration_order_with_the_handle_awaiter() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let push = |what: &'static str| {
        let s = seen.clone();
        move |_: &aioloop::TaskRef| s.borrow_mut().push(what)
    };
    for c2_after_the_await in [true, false] {
        seen.borrow_mut().clear();
        let gate = Future::<()>::new();
        let mut inner = spawn({
            let gate = gate.clone();
            async move { gate.await.unwrap() }
        });
        inner.add_done_callback(push("c1"));
        let c2 = push("c2");
        let awaiter = spawn({
            let seen = seen.clone();
            async move {
                if !c2_after_the_await {
                    inner.add_done_callback(c2);
                    inner.await.unwrap();
                } else {
                    // One poll of the handle: the await has begun (its waker is registered).
                    std::future::poll_fn(|cx| {
                        assert!(std::pin::Pin::new(&mut inner).poll(cx).is_pending());
                        std::task::Poll::Ready(())
                    })
                    .await;
                    inner.add_done_callback(c2);
                    inner.await.unwrap();
                }
                seen.borrow_mut().push("awaiter");
            }
        });
        yield_now().await;
        gate.set_result(()).unwrap();
        awaiter.await.unwrap();
        yield_now().await;
        let expected: &[&str] = match c2_after_the_await {
            true => &["c1", "awaiter", "c2"],
            false => &["c1", "c2", "awaiter"],
        };
        assert_eq!(*seen.borrow(), expected);
    }
}

/// The registration order holds with several awaiters and a callback removed in between
/// (asyncio's `remove_done_callback` takes it out of the one list): c1, A, B, c3.
#[aioloop::test]
async fn test_registration_order_with_a_removed_callback() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let fut = Future::<()>::new();
    let push = |what: &'static str| {
        let s = seen.clone();
        move |_: &Future<()>| s.borrow_mut().push(what)
    };
    fut.add_done_callback(push("c1"));
    let awaiter = |name: &'static str| {
        let (fut, seen) = (fut.clone(), seen.clone());
        spawn(async move {
            fut.await.unwrap();
            seen.borrow_mut().push(name);
        })
    };
    let a = awaiter("A");
    yield_now().await;
    let c2 = fut.add_done_callback(push("c2"));
    let b = awaiter("B");
    yield_now().await;
    fut.add_done_callback(push("c3"));
    assert!(fut.remove_done_callback(c2));
    fut.set_result(()).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    yield_now().await;
    assert_eq!(*seen.borrow(), ["c1", "A", "B", "c3"]);
}
