//! Audit against tokio's tests/task_abort.rs, task_join_set.rs, task_blocking.rs and
//! macros_select.rs: task cancellation (tokio's `abort`), `TaskSet` (tokio's `JoinSet`),
//! `to_thread` (tokio's `spawn_blocking`) on the paused clock and `select!`, for the behaviours
//! tests/combinators_task_set.rs, tests/combinators_select.rs and tests/threads_to_thread.rs do
//! not assert already. Each test is named after the tokio test it ports.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use aioloop::{select, sleep, spawn, to_thread, wait_for, yield_now, Future, TaskSet};
use futures::FutureExt;

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("Well what did you expect would happen...");
    }
}

/// task_abort.rs `test_abort_without_panic_3157`: a task suspended on a timer is cancelled
/// cleanly and its handle reports the cancellation.
#[aioloop::test(start_paused)]
async fn test_abort_without_panic_3157() {
    let handle = spawn(async { sleep(Duration::from_secs(100)).await });
    sleep(Duration::from_millis(10)).await;
    assert!(handle.cancel());
    assert!(handle.await.unwrap_err().is_cancelled());
}

/// task_abort.rs `test_abort_wakes_task_3964`: a cancelled task whose handle is dropped at
/// once is still woken and dropped (what it owns is freed) without anyone awaiting it.
#[aioloop::test(start_paused)]
async fn test_abort_wakes_task_3964() {
    let notify_dropped = Rc::new(());
    let weak_notify_dropped = Rc::downgrade(&notify_dropped);
    let handle = spawn(async move {
        let _notify_dropped = notify_dropped;
        sleep(Duration::from_secs(100)).await
    });
    sleep(Duration::from_millis(10)).await;
    handle.cancel();
    drop(handle);
    sleep(Duration::from_millis(10)).await;
    assert!(weak_notify_dropped.upgrade().is_none());
}

/// task_abort.rs `test_abort_task_that_panics_on_drop_returned`: a cancelled task whose
/// future panics while it is dropped reports the panic to its awaiter.
#[aioloop::test(start_paused)]
async fn test_abort_task_that_panics_on_drop_returned() {
    let handle = spawn(async {
        let _panic_dropped = PanicOnDrop;
        sleep(Duration::from_secs(100)).await
    });
    sleep(Duration::from_millis(10)).await;
    handle.cancel();
    assert!(handle.await.unwrap_err().is_panic());
}

/// tokio's `JoinHandle::abort` on a task that already finished has no effect: the output is
/// still there (aioloop: `cancel()` says so by returning `false`), and `is_done` (tokio's
/// `is_finished`) is true from the moment it finished, before anyone awaits it.
#[aioloop::test]
async fn abort_of_a_finished_task_keeps_its_output() {
    let handle = spawn(async { 7 });
    assert!(!handle.is_done());
    yield_now().await;
    assert!(handle.is_done());
    assert!(!handle.cancel());
    assert!(!handle.is_cancelled());
    assert_eq!(handle.await.unwrap(), 7);
}

/// tokio: a task aborted before its first poll never runs, and its handle gives a cancelled
/// error; `is_finished` turns true once the cancellation has been processed.
#[aioloop::test]
async fn abort_before_the_first_poll_then_await_is_cancelled() {
    let ran = Rc::new(Cell::new(false));
    let mut handle = spawn({
        let ran = ran.clone();
        async move { ran.set(true) }
    });
    assert!(handle.cancel());
    let err = (&mut handle).await.unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic());
    assert!(handle.is_done() && handle.is_cancelled());
    assert!(!ran.get());
}

/// task_join_set.rs `join_set_coop`: `join_next` spends the task's budget, so draining a set of
/// a thousand finished tasks by `now_or_never` meets a forced `Pending` at least once, and
/// every outcome still comes out exactly once.
#[aioloop::test]
async fn join_set_coop() {
    const TASK_NUM: u32 = 1000;
    let finished = Rc::new(Cell::new(0));
    let mut set = TaskSet::new();
    for _ in 0..TASK_NUM {
        let finished = finished.clone();
        set.spawn(async move { finished.set(finished.get() + 1) });
    }
    while finished.get() < TASK_NUM {
        yield_now().await;
    }
    let mut count = 0;
    let mut coop_count = 0;
    loop {
        match set.join_next().now_or_never() {
            Some(Some(Ok(()))) => {}
            Some(Some(Err(err))) => panic!("failed: {err}"),
            None => {
                coop_count += 1;
                yield_now().await;
                continue;
            }
            Some(None) => break,
        }
        count += 1;
    }
    assert!(coop_count >= 1);
    assert_eq!(count, TASK_NUM);
}

/// task_join_set.rs `task_panics` (through `join_next`, aioloop having no `join_all`): a
/// panicking member is one `Err` outcome (`is_panic`); the others are not disturbed.
#[aioloop::test(start_paused)]
async fn task_panics() {
    let mut set = TaskSet::new();
    let slow_done = Rc::new(Cell::new(false));
    set.spawn({
        let slow_done = slow_done.clone();
        async move {
            sleep(Duration::from_secs(2)).await;
            slow_done.set(true);
        }
    });
    set.spawn(async {
        sleep(Duration::from_secs(1)).await;
        panic!();
    });
    assert_eq!(set.len(), 2);
    assert!(set.join_next().await.unwrap().unwrap_err().is_panic());
    assert!(!slow_done.get());
    assert_eq!(set.len(), 1);
    set.join_next().await.unwrap().unwrap();
    assert!(slow_done.get());
}

/// task_blocking.rs `blocking_when_paused`: the paused clock does not jump while blocking work
/// is running, even past a short timeout around it (system time is not paused).
#[aioloop::test(start_paused)]
async fn blocking_when_paused() {
    let lp = aioloop::get_running_loop();
    let t0 = lp.time();
    wait_for(
        to_thread(|| thread::sleep(Duration::from_millis(1))),
        Duration::from_secs(3),
    )
    .await
    .expect("timeout should not trigger")
    .expect("blocking task should finish");
    wait_for(
        to_thread(|| thread::sleep(Duration::from_millis(50))),
        Duration::from_millis(1),
    )
    .await
    .expect("timeout should not trigger")
    .expect("blocking task should finish");
    assert_eq!(lp.time(), t0);
}

/// task_blocking.rs `unawaited_blocking_task_wakes_paused_runtime`: blocking work that finishes
/// while the loop sleeps on the paused clock lets the clock move on (no hang), even unawaited.
#[aioloop::test(start_paused)]
async fn unawaited_blocking_task_wakes_paused_runtime() {
    let a = to_thread(|| thread::sleep(Duration::from_millis(1)));
    sleep(Duration::from_secs(15)).await;
    a.await.expect("blocking task should finish");
}

/// task_blocking.rs `panicking_blocking_task_wakes_paused_runtime`: a panic in blocking work is
/// an error of the awaiter (`is_panic`, with the message), not a panic of the loop.
#[aioloop::test(start_paused)]
async fn panicking_blocking_task_wakes_paused_runtime() {
    let result = wait_for(
        to_thread(|| {
            thread::sleep(Duration::from_millis(1));
            panic!("blocking task panicked");
        }),
        Duration::from_secs(15),
    )
    .await
    .expect("timeout should not trigger");
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("blocking task panicked"));
}

/// macros_select.rs `no_branch_else_only` and `no_branch_else_only_biased`.
#[aioloop::test]
async fn no_branch_else_only() {
    let foo = select! {
        else => 1,
    };
    assert_eq!(foo, 1);
    let foo = select! {
        biased;
        else => 1,
    };
    assert_eq!(foo, 1);
}

/// macros_select.rs `future_panics_after_poll`: a branch whose pattern did not match is
/// disabled and its future never polled again, while the select waits for the other.
#[aioloop::test]
async fn future_panics_after_poll() {
    let rx = Future::<i32>::new();
    let mut polled = false;
    let f = poll_fn(|_| {
        assert!(!polled);
        polled = true;
        Poll::Ready(None::<()>)
    });
    let setter = spawn({
        let rx = rx.clone();
        async move {
            yield_now().await;
            yield_now().await;
            rx.set_result(1).unwrap();
        }
    });
    let res = select! {
        Some(_) = f => unreachable!(),
        ret = rx => ret.unwrap(),
    };
    assert_eq!(res, 1);
    setter.await.unwrap();
}

/// macros_select.rs `join_with_select`: borrowed futures and `, if` conditions in a loop join
/// two results that arrive one after the other.
#[aioloop::test]
async fn join_with_select() {
    let (tx1, tx2) = (Future::<i32>::new(), Future::<i32>::new());
    let (mut rx1, mut rx2) = (tx1.clone(), tx2.clone());
    let sender = spawn(async move {
        yield_now().await;
        tx1.set_result(123).unwrap();
        yield_now().await;
        tx2.set_result(456).unwrap();
    });
    let mut a = None;
    let mut b = None;
    while a.is_none() || b.is_none() {
        select! {
            v1 = &mut rx1, if a.is_none() => a = Some(v1.unwrap()),
            v2 = &mut rx2, if b.is_none() => b = Some(v2.unwrap()),
        }
    }
    assert_eq!((a.unwrap(), b.unwrap()), (123, 456));
    sender.await.unwrap();
}

/// macros_select.rs `use_future_in_if_condition` and `_biased`: a branch disabled by its
/// condition never has its future polled.
#[aioloop::test]
async fn use_future_in_if_condition() {
    for _ in 0..8 {
        select! {
            _ = sleep(Duration::from_millis(10)), if false => panic!("if condition ignored"),
            _ = async { 1u32 } => {}
        }
        select! {
            biased;
            _ = sleep(Duration::from_millis(10)), if false => panic!("if condition ignored"),
            _ = async { 1u32 } => {}
        }
    }
}

/// macros_select.rs `biased_one_not_ready`: with `biased;`, the first ready branch in source
/// order wins even when a later one is ready too.
#[aioloop::test]
async fn biased_one_not_ready() {
    let rx1 = Future::<i32>::new();
    let (rx2, rx3) = (Future::new(), Future::new());
    rx2.set_result(2).unwrap();
    rx3.set_result(3).unwrap();
    let v = select! {
        biased;
        _ = rx1 => unreachable!(),
        res = rx2 => res.unwrap(),
        _ = rx3 => panic!("rx2 is polled before rx3 under `biased;`"),
    };
    assert_eq!(2, v);
}

/// macros_select.rs `biased_eventually_ready`: futures that become ready later are taken in
/// turn, each branch disabled by its condition once taken, then `else`.
#[aioloop::test]
async fn biased_eventually_ready() {
    let mut one = std::pin::pin!(async {});
    let mut two = std::pin::pin!(async { yield_now().await });
    let mut three = std::pin::pin!(async { yield_now().await });
    let mut count = 0u8;
    loop {
        select! {
            biased;
            _ = &mut two, if count < 2 => {
                count += 1;
                assert_eq!(count, 2);
            }
            _ = &mut three, if count < 3 => {
                count += 1;
                assert_eq!(count, 3);
            }
            _ = &mut one, if count < 1 => {
                count += 1;
                assert_eq!(count, 1);
            }
            else => break,
        }
    }
    assert_eq!(count, 3);
}

/// macros_select.rs `select_is_budget_aware`: a `select!` checks the task's budget before it
/// polls any branch, so a loop of selects over futures that are always ready (not aioloop's, so
/// spending no budget themselves) still yields to the loop once the budget is spent by aioloop
/// futures. Here 128 ready queue gets spend the step's budget; the `select!` that follows
/// yields (a sibling task runs) although its branch is ready.
#[aioloop::test]
async fn select_is_budget_aware() {
    let queue = aioloop::sync::Queue::new(0);
    for i in 0..128 {
        queue.put_nowait(i).unwrap();
    }
    yield_now().await; // a fresh step: a full budget
    let sibling_ran = Rc::new(Cell::new(false));
    let sibling = spawn({
        let sibling_ran = sibling_ran.clone();
        async move { sibling_ran.set(true) }
    });
    for _ in 0..128 {
        queue.get().await.unwrap(); // ready: one unit each, no yield
    }
    assert!(!sibling_ran.get());
    select! {
        biased;
        () = std::future::ready(()) => {}
    }
    assert!(sibling_ran.get(), "the select yielded once the budget was spent");
    sibling.await.unwrap();
}
