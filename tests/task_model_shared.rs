//! Issue 17, item 5: a task can be awaited from several places ([`SharedTask`]), each awaiter
//! gets the outcome, and cancellation through one awaiter follows asyncio (it cancels the
//! task for everyone, unless that awaiter shields it).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{gather, shield, sleep, spawn, wait_for, yield_now, SharedTask, TaskError};

/// A task that sleeps `secs` on the paused clock and returns `value`, shared.
fn sleeper<T: Clone + 'static>(secs: u64, value: T) -> SharedTask<T> {
    spawn(async move {
        sleep(Duration::from_secs(secs)).await;
        value
    })
    .shared()
}

/// test_tasks: test_wait_duplicate_coroutines: one task awaited twice among others
/// (`wait([c, c, spam])`); every await of it gives its result.
#[aioloop::test(start_paused)]
async fn test_wait_duplicate_coroutines() {
    let c = sleeper(1, String::from("test"));
    let spam = sleeper(2, String::from("spam"));
    let out = gather([c.clone(), c.clone(), spam]).await;
    let out: Vec<String> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, ["test", "test", "spam"]);
    assert_eq!(c.await.unwrap(), "test", "awaited again after the gather");
}

/// Several tasks await one task; all are woken when it finishes (asyncio schedules every
/// awaiter's wakeup as a done callback of the task).
#[aioloop::test(start_paused)]
async fn test_several_tasks_await_one_task() {
    let shared = sleeper(5, 42u32);
    let woke = Rc::new(Cell::new(0));
    let awaiters: Vec<_> = (0..3)
        .map(|_| {
            let (shared, woke) = (shared.clone(), woke.clone());
            spawn(async move {
                let out = shared.await;
                woke.set(woke.get() + 1);
                out
            })
        })
        .collect();
    sleep(Duration::from_secs(6)).await;
    assert_eq!(woke.get(), 3, "every awaiter was woken");
    for awaiter in awaiters {
        assert_eq!(awaiter.await.unwrap().unwrap(), 42);
    }
    assert!(shared.is_done());
    assert_eq!(shared.result().unwrap().unwrap(), 42);
}

/// test_tasks: test_shield_effect, with the task awaited elsewhere too: cancelling the task
/// that awaits `shield(task)` leaves the task running, and another awaiter gets its result.
#[aioloop::test(start_paused)]
async fn test_shield_effect_while_another_awaits_the_task() {
    let shared = sleeper(10, "inner result");
    let shielded = {
        let shared = shared.clone();
        spawn(async move { shield(shared).await })
    };
    let plain = spawn(shared.clone());
    sleep(Duration::from_secs(1)).await;
    assert!(shielded.cancel());
    assert!(shielded.await.unwrap_err().is_cancelled());
    assert!(
        !shared.is_done(),
        "the shield kept the cancellation from the task"
    );
    assert_eq!(plain.await.unwrap().unwrap(), "inner result");
    assert!(!shared.is_cancelled());
}

/// test_tasks: test_cancel_awaited_task (cancellation reaches what the cancelled task
/// awaits): cancelling one of several awaiters cancels the task itself, as asyncio's
/// `Task.cancel()` cancels `_fut_waiter`; every other awaiter then sees the cancellation.
#[aioloop::test(start_paused)]
async fn test_cancel_awaited_task_cancels_it_for_every_awaiter() {
    let shared = sleeper(10, 7u8);
    let first = spawn(shared.clone());
    let second = spawn(shared.clone());
    sleep(Duration::from_secs(1)).await;
    assert!(first.cancel());
    assert!(first.await.unwrap_err().is_cancelled());
    assert!(second.await.unwrap().unwrap_err().is_cancelled());
    assert!(shared.is_cancelled());
    assert!(shared.await.unwrap_err().is_cancelled());
}

/// test_tasks: test_shield_cancel_inner: cancelling the task itself reaches the shielded
/// awaiter and every other holder; test_shield_result: the shield gives the result.
#[aioloop::test(start_paused)]
async fn test_shield_cancel_inner_and_result() {
    let shared = sleeper(10, 1u8);
    let shielded = shield(shared.clone());
    assert!(shielded.task().cancel_with("stop"));
    assert!(shielded.await.unwrap_err().is_cancelled());
    assert!(shared.clone().await.unwrap_err().is_cancelled());
    assert_eq!(shared.cancel_message().as_deref(), Some("stop"));

    let shared = sleeper(1, 2u8);
    assert_eq!(shield(shared.clone()).await.unwrap(), 2);
    assert_eq!(shared.await.unwrap(), 2);
}

/// test_waitfor: test_wait_for with a shared task: the timeout cancels the task it awaited
/// (cancellation travels through the await), and waits until it finished cancelling.
#[aioloop::test(start_paused)]
async fn test_wait_for_cancels_the_shared_task() {
    let shared = sleeper(10, ());
    let timed_out = wait_for(shared.clone(), Duration::from_secs(1)).await;
    assert!(timed_out.is_err());
    assert!(
        shared.is_cancelled(),
        "finished cancelling when wait_for returned"
    );

    // Shielded, the task runs on.
    let shared = sleeper(10, ());
    assert!(wait_for(shield(shared.clone()), Duration::from_secs(1))
        .await
        .is_err());
    assert!(!shared.is_done());
    assert!(shared.await.is_ok());
}

/// test_waitfor: test_wait_for_timeout_less_then_0_or_0 with a shield: a zero timeout cancels
/// the shield, never the shielded task (3.12's wait_for cancels `shield(task)`'s outer future).
#[aioloop::test(start_paused)]
async fn test_wait_for_zero_timeout_leaves_a_shielded_task_running() {
    let task = spawn(async {
        sleep(Duration::from_secs(1)).await;
        5
    });
    let id = task.id();
    assert!(wait_for(shield(task), Duration::ZERO).await.is_err());
    yield_now().await;
    let still_there = aioloop::all_tasks().iter().any(|t| t.id() == id && !t.is_done());
    assert!(still_there, "the shielded task was not cancelled");

    let shared = sleeper(1, 6);
    assert!(wait_for(shield(shared.clone()), Duration::ZERO).await.is_err());
    assert_eq!(shared.await.unwrap(), 6);
}

/// test_tasks: test_exception_traceback / a failed task's exception is seen by every
/// awaiter: a panic reaches each holder as a `TaskError::Panicked` with the message.
#[aioloop::test]
async fn test_every_awaiter_sees_the_panic() {
    let shared = spawn(async {
        yield_now().await;
        if true {
            panic!("boom");
        }
        0u8
    })
    .shared();
    let (a, b) = gather!(shared.clone(), shared.clone()).await;
    for err in [a.unwrap_err(), b.unwrap_err(), shared.await.unwrap_err()] {
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom"));
    }
}

/// A holder dropped without being awaited detaches nothing early: the task runs on for the
/// others, and with every holder gone it keeps running (fire-and-forget, as a `Task`).
#[aioloop::test(start_paused)]
async fn test_dropping_unawaited_holders_detaches() {
    let ran = Rc::new(Cell::new(false));
    let shared = {
        let ran = ran.clone();
        spawn(async move {
            sleep(Duration::from_secs(1)).await;
            ran.set(true);
        })
        .shared()
    };
    drop(shared.clone());
    drop(shared);
    sleep(Duration::from_secs(2)).await;
    assert!(ran.get());
}

/// A waiting holder dropped outside a cancellation (a select's loser) leaves the list of
/// joiners; the others are still woken.
#[aioloop::test(start_paused)]
async fn test_a_holder_leaving_early_does_not_disturb_the_others() {
    let shared = sleeper(2, 3u8);
    let mut early = Box::pin(shared.clone());
    assert!(futures_poll_once(early.as_mut()).await.is_none());
    drop(early);
    assert_eq!(shared.clone().await.unwrap(), 3);
    assert!(!shared.is_cancelled());
}

/// Polls `fut` once, in a task step.
async fn futures_poll_once<F: std::future::Future + Unpin>(mut fut: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut fut).poll(cx) {
        std::task::Poll::Ready(out) => std::task::Poll::Ready(Some(out)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

/// A plain `Task` takes its outcome once: awaiting it again panics with a clear message,
/// it never hangs; `shared()` after the outcome was taken panics too.
#[test]
#[should_panic(expected = "Task::shared called after the task's outcome was taken")]
fn test_shared_after_the_outcome_was_taken_panics() {
    aioloop::run(async {
        let mut task = spawn(async { 1 });
        yield_now().await;
        assert_eq!(task.result().unwrap().unwrap(), 1);
        drop(task.shared());
    });
}

#[test]
#[should_panic(expected = "a Task was polled after it returned its outcome")]
fn test_a_plain_task_awaited_twice_panics() {
    aioloop::run(async {
        let mut task = spawn(async { 1 });
        assert_eq!((&mut task).await.unwrap(), 1);
        let _: Result<i32, TaskError> = (&mut task).await;
    });
}

/// test_futures: test_future_add_done_callback on a done future: the callback is scheduled
/// with `call_soon`. Also once another holder (or the plain `Task`) took the outcome.
#[aioloop::test]
async fn test_done_callback_added_after_the_outcome_was_taken_runs() {
    let shared = spawn(async { 4 }).shared();
    assert_eq!(shared.clone().await.unwrap(), 4);
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    shared.add_done_callback(move |task| flag.set(task.is_done()));
    yield_now().await;
    assert!(ran.get());

    let mut task = spawn(async { 5 });
    assert_eq!((&mut task).await.unwrap(), 5);
    let flag = ran.clone();
    ran.set(false);
    task.add_done_callback(move |_| flag.set(true));
    yield_now().await;
    assert!(ran.get());
}
