//! Second audit against CPython's Lib/test/test_asyncio/test_tasks.py (3.13/main): the task,
//! cancellation, gather, shield, wait and as_completed tests the first audit
//! (audit_asyncio_*.rs) and the task_model_* / combinators_* tests do not port. Each test is
//! named after the CPython test it ports and says what it checks; where aioloop's documented
//! model differs (docs/asyncio.md), the test asserts aioloop's behaviour and says so.
//!
//! The Rust spelling: `create_task` is `spawn`, `except CancelledError:` around an await is
//! `until_cancelled`, a `try/finally` is a `Drop` guard, `sleep(0)` is `yield_now`,
//! `return_exceptions=True` is a gather of tasks (each slot a `Result`), and a gather with
//! `return_exceptions=False` is `try_gather`.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{
    as_completed, call_later, call_soon, current_task, gather, get_running_loop, shield, sleep, spawn,
    try_gather, until_cancelled, wait, yield_now, ConcurrentFuture, EventLoop, Future, ReturnWhen, Task,
    TaskError,
};
use support::{outcome_from_a_thread, reports_of, stop_now, yields, AddOnDrop};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// The loop's clock, for the virtual-time assertions.
fn now() -> std::time::Instant {
    get_running_loop().time()
}

// ---------------------------------------------------------------------------------------------
// cancel(), cancelling(), uncancel()
// ---------------------------------------------------------------------------------------------

/// test_tasks.py `test_task_awaits_on_itself`: a task that awaits its own handle fails at
/// once (asyncio raises `RuntimeError: Task cannot await on itself` into it; a panic here,
/// reported since nobody else holds the handle) instead of waiting for itself forever.
#[test]
fn test_task_awaits_on_itself() {
    let reports = reports_of(async {
        let own = Rc::new(RefCell::new(None::<Task<()>>));
        let task = spawn({
            let own = own.clone();
            async move {
                let me = own.borrow_mut().take().unwrap();
                let _ = me.await;
            }
        });
        let task_ref = task.task_ref();
        *own.borrow_mut() = Some(task);
        sleep(SEC).await;
        assert!(task_ref.is_done(), "the task does not wait for itself");
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("cannot await itself"), "{reports:?}");

    // The same through a `SharedTask` holder: the other holder sees the panic.
    aioloop::run(async {
        let own = Rc::new(RefCell::new(None::<aioloop::SharedTask<()>>));
        let task = spawn({
            let own = own.clone();
            async move {
                let me = own.borrow_mut().take().unwrap();
                let _ = me.await;
            }
        })
        .shared();
        *own.borrow_mut() = Some(task.clone());
        let err = aioloop::wait_for(task, 10 * SEC).await.unwrap().unwrap_err();
        assert!(
            err.panic_message().unwrap().contains("cannot await itself"),
            "{err:?}"
        );
    });
}

/// test_tasks.py `test_task_cancel_message_getter`: the message given to `cancel(msg)` is
/// readable at once, before the task ran, and still after its cancelled outcome was taken.
#[aioloop::test]
async fn test_task_cancel_message_getter() {
    let mut task = spawn(async {});
    assert_eq!(task.cancel_message(), None);
    assert!(task.cancel_with("my message"));
    assert_eq!(task.cancel_message().as_deref(), Some("my message"));
    assert!((&mut task).await.unwrap_err().is_cancelled());
    assert_eq!(task.cancel_message().as_deref(), Some("my message"));
}

/// test_tasks.py `test_cancelling`: a task cancelled before it ever ran reports a pending
/// request (`cancelling()`), accepts a second `cancel()` (asyncio 3.11 returns true again), and
/// ends cancelled without having run.
#[aioloop::test]
async fn test_cancelling() {
    let ran = Rc::new(Cell::new(false));
    let task = spawn({
        let ran = ran.clone();
        async move {
            ran.set(true);
            sleep(10 * SEC).await;
        }
    });
    assert_eq!(task.cancelling(), 0);
    assert!(task.cancel());
    assert!(task.cancelling() > 0);
    assert!(task.cancel(), "a second request on a pending task is accepted");
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!ran.get());
}

/// test_tasks.py `test_uncancel_basic`: a task that catches the cancellation
/// (`until_cancelled`) and calls `uncancel()` is no longer being cancelled: `cancelling()` is
/// back to 0 and it runs on; a second `cancel()` then ends it cancelled, and `uncancel()` on
/// the finished task changes nothing.
#[aioloop::test(start_paused)]
async fn test_uncancel_basic() {
    let task = spawn(async {
        if until_cancelled(sleep(10 * SEC)).await.is_err() {
            current_task().unwrap().uncancel();
            sleep(10 * SEC).await;
        }
    });
    sleep(10 * MS).await;

    assert!(task.cancel()); // cancel the first sleep
    assert_eq!(task.cancelling(), 1);
    assert!(!task.is_cancelled(), "still running");
    sleep(10 * MS).await;

    assert_eq!(task.cancelling(), 0, "after uncancel()");
    assert!(!task.is_done() && !task.is_cancelled());

    assert!(task.cancel()); // cancel the second sleep
    assert_eq!(task.cancelling(), 1);
    assert!(!task.is_cancelled());
    sleep(10 * MS).await;
    assert!(task.is_done() && task.is_cancelled());

    assert_eq!(task.uncancel(), 0, "no effect once the task is complete");
    assert!(task.is_cancelled() && task.is_done());
    assert!(task.await.unwrap_err().is_cancelled());
}

/// The structured block of `test_uncancel_structured_blocks`: a hand-made timeout of `timeout`
/// (a `call_later` that cancels the task) around a sleep of `sleep_for`; a timeout the block
/// caused is taken back with `uncancel()` and turned into a `TimeoutError` the code after the
/// block handles. Returns (timed_out, structured_block_finished, outer_code_reached).
async fn make_request_with_timeout(sleep_for: Duration, timeout: Duration) -> (bool, bool, bool) {
    let task = current_task().unwrap();
    let timed_out = Rc::new(Cell::new(false));
    let timeout_handle = call_later(timeout, {
        let (timed_out, task) = (timed_out.clone(), task.clone());
        move || {
            timed_out.set(true);
            task.cancel();
        }
    });
    let mut structured_block_finished = false;
    let timeout_error = match until_cancelled(sleep(sleep_for)).await {
        Ok(()) => {
            structured_block_finished = true;
            timeout_handle.cancel();
            false
        }
        // `finally:` with the five rules: our flag, our cancel, the count down to 0.
        Err(_) => {
            timeout_handle.cancel();
            timed_out.get() && task.uncancel() == 0
        }
    };
    if timeout_error {
        assert!(timed_out.get()); // `except TimeoutError:`
    }
    // Outer code not affected by the timeout.
    let outer_code_reached = true;
    yield_now().await;
    (timed_out.get(), structured_block_finished, outer_code_reached)
}

/// test_tasks.py `test_uncancel_structured_blocks`: a timeout built from `cancel()` and
/// `uncancel()` (what `asyncio.timeout` does) interrupts only its block: the task goes on after
/// it, completes normally, and has no cancellation left pending; without the timeout firing
/// the block finishes and nothing is cancelled.
#[aioloop::test(start_paused)]
async fn test_uncancel_structured_blocks() {
    let t1 = spawn(make_request_with_timeout(10 * SEC, 100 * MS));
    let t1_ref = t1.task_ref();
    assert_eq!(t1.await.unwrap(), (true, false, true));
    assert_eq!(
        t1_ref.cancelling(),
        0,
        "no pending cancellation of the outer task"
    );

    let t2 = spawn(make_request_with_timeout(Duration::ZERO, 10 * SEC));
    let t2_ref = t2.task_ref();
    assert_eq!(t2.await.unwrap(), (false, true, true));
    assert_eq!(t2_ref.cancelling(), 0);
}

/// test_tasks.py `test_cancellation_exception_context`: a task awaiting another task that is
/// cancelled (here by a `call_soon(inner.cancel, "msg")`) is not cancelled itself: it gets the
/// cancellation as a value (asyncio's `except CancelledError as ex:`), with its message, and
/// goes on to return its own error.
#[aioloop::test]
async fn test_cancellation_exception_context() {
    let fut = Future::<()>::new();
    let outer = spawn({
        let fut = fut.clone();
        async move {
            let mut inner = spawn({
                let fut = fut.clone();
                async move {
                    fut.set_result(()).unwrap();
                    sleep(10 * SEC).await;
                }
            });
            fut.await.unwrap();
            let cancel = inner.task_ref();
            call_soon(move || {
                cancel.cancel_with("msg");
            });
            match (&mut inner).await {
                Err(TaskError::Cancelled) => Err(format!("cancelled: {}", inner.cancel_message().unwrap())),
                other => Ok(other.is_ok()),
            }
        }
    });
    let outer_ref = outer.task_ref();
    assert_eq!(outer.await.unwrap(), Err("cancelled: msg".to_string()));
    assert!(outer_ref.is_done());
}

/// test_tasks.py `test_cancel_inner_future`: the future a task awaits is cancelled. In asyncio
/// the `CancelledError` propagates and the task ends cancelled; in Rust the awaited future's
/// cancellation is a value, `Err(CancelledError)` (docs/asyncio.md, "Exceptions are panics or
/// `Result`s"): a task that passes it on returns it, and one that wants to end cancelled, as
/// asyncio's does, cancels itself (documented behaviour, asserted as such).
#[aioloop::test]
async fn test_cancel_inner_future() {
    let f = Future::<i32>::new();
    let passes_it_on = spawn({
        let f = f.clone();
        async move { f.await.map(|_| 12) }
    });
    let ends_cancelled = spawn({
        let f = f.clone();
        async move {
            if f.await.is_err() {
                current_task().unwrap().cancel();
                yield_now().await; // the task is dropped here, as `raise` would end it
            }
            12
        }
    });
    yield_now().await; // start the tasks
    assert!(f.cancel());
    assert_eq!(passes_it_on.await.unwrap(), Err(aioloop::CancelledError));
    assert!(ends_cancelled.await.unwrap_err().is_cancelled());
    assert!(f.is_cancelled());
}

/// test_tasks.py `test_cancel_task_catching`: a task that catches the cancellation of its
/// second await and returns a value. asyncio ends it with that value (not cancelled); here the
/// task that caught the request ends cancelled unless it calls `uncancel()` (docs/asyncio.md:
/// "it still ends cancelled", the implicit `raise`), and with `uncancel()` it returns 42. The
/// awaited future is cancelled by the task's cancellation (at the task's next step here, where
/// asyncio's `cancel()` cancels it at once: "cancelling is dropping").
#[aioloop::test]
async fn test_cancel_task_catching() {
    for take_back in [true, false] {
        let fut1 = Future::<()>::new();
        let fut2 = Future::<()>::new();
        let task = spawn({
            let (fut1, fut2) = (fut1.clone(), fut2.clone());
            async move {
                fut1.await.unwrap();
                match until_cancelled(fut2).await {
                    Err(_) => {
                        if take_back {
                            current_task().unwrap().uncancel();
                        }
                        42
                    }
                    Ok(_) => 0,
                }
            }
        });
        yield_now().await;
        fut1.set_result(()).unwrap();
        yield_now().await;
        yield_now().await;
        assert!(task.cancel());
        let outcome = task.await;
        assert!(fut2.is_cancelled());
        if take_back {
            assert_eq!(outcome.unwrap(), 42, "not cancelled");
        } else {
            assert!(outcome.unwrap_err().is_cancelled());
        }
    }
}

/// test_tasks.py `test_cancel_task_ignoring`: a task that catches the cancellation of one
/// await and goes on awaiting another future: that future is not cancelled, and the task
/// returns its value (with `uncancel()`, see `test_cancel_task_catching`).
#[aioloop::test]
async fn test_cancel_task_ignoring() {
    let (fut1, fut2, fut3) = (Future::<()>::new(), Future::<()>::new(), Future::<i32>::new());
    let task = spawn({
        let (fut1, fut2, fut3) = (fut1.clone(), fut2.clone(), fut3.clone());
        async move {
            fut1.await.unwrap();
            if until_cancelled(fut2).await.is_err() {
                current_task().unwrap().uncancel();
            }
            fut3.await.unwrap()
        }
    });
    yield_now().await;
    fut1.set_result(()).unwrap();
    yield_now().await;
    yield_now().await;
    assert!(task.cancel());
    yield_now().await;
    assert!(fut2.is_cancelled());
    assert!(!task.is_done());
    fut3.set_result(42).unwrap();
    let task_ref = task.task_ref();
    assert_eq!(task.await.unwrap(), 42);
    assert!(!fut3.is_cancelled());
    assert!(task_ref.is_done());
}

/// test_tasks.py `test_cancel_current_task`: a task that cancels itself ends at its next await:
/// the 100 s sleep is cut short at once (no virtual time passes), and `cancel()` on the
/// finished task returns false.
#[aioloop::test(start_paused)]
async fn test_cancel_current_task() {
    let t0 = now();
    let task = spawn(async {
        assert!(current_task().unwrap().cancel());
        sleep(100 * SEC).await;
        12
    });
    let task_ref = task.task_ref();
    assert!(!task.is_cancelled());
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(now(), t0);
    assert!(!task_ref.cancel());
}

/// test_tasks.py `test_baseexception_during_cancel`: a task whose cleanup after a cancellation
/// raises (panics here) ends with that error, not cancelled.
#[aioloop::test(start_paused)]
async fn test_baseexception_during_cancel() {
    let task = spawn(async {
        if until_cancelled(sleep(10 * SEC)).await.is_err() {
            panic!("base_exc");
        }
    });
    yield_now().await;
    assert!(task.cancel());
    assert!(!task.is_done());
    yield_now().await;
    assert!(task.is_done());
    assert!(!task.is_cancelled());
    assert!(task.is_panicked());
    assert_eq!(task.await.unwrap_err().panic_message(), Some("base_exc"));
}

/// test_tasks.py `test_tb_logger_not_called_after_cancel`: a task that failed and whose
/// handle's `cancel()` was then called (it returns false: the task is done) is not reported as
/// "exception never retrieved" when the handle goes: asyncio's `cancel()` marks the outcome as
/// seen.
#[test]
fn test_tb_logger_not_called_after_cancel() {
    let reports = reports_of(async {
        let task = spawn(async { panic!("TypeError") });
        sleep(50 * MS).await;
        assert!(!task.cancel());
        drop(task);
        yield_now().await;
    });
    assert!(reports.is_empty(), "{reports:?}");
}

/// test_tasks.py `test_current_task_with_interleaving_tasks`: `current_task()` is the task
/// whose step runs, across awaits of two tasks that wake each other.
#[aioloop::test]
async fn test_current_task_with_interleaving_tasks() {
    let (fut1, fut2) = (Future::<bool>::new(), Future::<bool>::new());
    let ids = Rc::new(RefCell::new(Vec::new()));
    let task1 = spawn({
        let (fut1, fut2, ids) = (fut1.clone(), fut2.clone(), ids.clone());
        async move {
            ids.borrow_mut().push((1, current_task().unwrap().id()));
            fut1.await.unwrap();
            ids.borrow_mut().push((1, current_task().unwrap().id()));
            fut2.set_result(true).unwrap();
        }
    });
    let task2 = spawn({
        let (fut1, fut2, ids) = (fut1.clone(), fut2.clone(), ids.clone());
        async move {
            ids.borrow_mut().push((2, current_task().unwrap().id()));
            fut1.set_result(true).unwrap();
            fut2.await.unwrap();
            ids.borrow_mut().push((2, current_task().unwrap().id()));
        }
    });
    let (id1, id2) = (task1.id(), task2.id());
    let main = current_task().unwrap().id();
    let (done, pending) = wait([task1, task2], ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_eq!(*ids.borrow(), [(1, id1), (2, id2), (1, id1), (2, id2)]);
    assert_eq!(current_task().unwrap().id(), main);
}

// ---------------------------------------------------------------------------------------------
// cancellation travelling through coroutines, tasks and wait()
// ---------------------------------------------------------------------------------------------

/// test_tasks.py `test_yield_future_passes_cancel`: cancelling outer() cancels inner() (its
/// `except CancelledError: proof += 1; raise` is a drop guard here) which cancels the future it
/// awaits; outer() catches the cancellation (`proof += 100`) and returns normally (with
/// `uncancel()`, see `test_cancel_task_catching`).
#[aioloop::test]
async fn test_yield_future_passes_cancel() {
    let proof = Rc::new(Cell::new(0));
    let waiter = Future::<()>::new();
    let inner = {
        let (proof, waiter) = (proof.clone(), waiter.clone());
        async move {
            let _except = AddOnDrop(proof.clone(), 1);
            waiter.await.unwrap();
            panic!("got past the wait in inner()");
        }
    };
    let f = spawn({
        let proof = proof.clone();
        async move {
            match until_cancelled(inner).await {
                Err(_) => {
                    proof.set(proof.get() + 100); // expect this path
                    current_task().unwrap().uncancel();
                }
                Ok(()) => proof.set(proof.get() + 10),
            }
        }
    });
    yield_now().await;
    assert!(f.cancel());
    f.await.unwrap();
    assert_eq!(proof.get(), 101);
    assert!(waiter.is_cancelled());
}

/// test_tasks.py `test_yield_wait_does_not_shield_cancel`: cancelling the task that awaits a
/// `wait()` ends it at once and leaves the task it waited for running (wait never cancels what
/// it watches): that one finishes when its future is set.
#[aioloop::test]
async fn test_yield_wait_does_not_shield_cancel() {
    let proof = Rc::new(Cell::new(0));
    let waiter = Future::<()>::new();
    let inner = spawn({
        let (proof, waiter) = (proof.clone(), waiter.clone());
        async move {
            waiter.await.unwrap();
            proof.set(proof.get() + 1);
        }
    });
    let inner_ref = inner.task_ref();
    let f = spawn({
        let proof = proof.clone();
        async move {
            let _ = wait([inner], ReturnWhen::AllCompleted, None).await;
            proof.set(proof.get() + 100);
        }
    });
    yield_now().await;
    assert!(f.cancel());
    assert!(f.await.unwrap_err().is_cancelled());
    assert!(!inner_ref.is_done());
    waiter.set_result(()).unwrap();
    yield_now().await;
    yield_now().await;
    assert_eq!(proof.get(), 1);
    assert!(inner_ref.is_done());
}

// ---------------------------------------------------------------------------------------------
// shield
// ---------------------------------------------------------------------------------------------

/// test_tasks.py `test_shield_gather`: a shielded gather (spawned as a task, the Rust way to
/// shield a future) keeps running when the awaiter of the shield is cancelled, and gets every
/// child's result.
#[aioloop::test]
async fn test_shield_gather() {
    let (child1, child2) = (Future::<i32>::new(), Future::<i32>::new());
    let parent = spawn(gather([child1.clone(), child2.clone()])).shared();
    let outer = spawn(shield(parent.clone()));
    yield_now().await;
    assert!(outer.cancel());
    yield_now().await;
    assert!(outer.is_cancelled());
    assert!(!parent.is_done() && !child1.is_done());
    child1.set_result(1).unwrap();
    child2.set_result(2).unwrap();
    let results = parent.clone().await.unwrap();
    assert_eq!(results, [Ok(1), Ok(2)]);
}

/// test_tasks.py `test_shield_duplicate_log_once`: two shields of one task, each cancelled;
/// the task then fails: the exception handler hears of it once.
#[test]
fn test_shield_duplicate_log_once() {
    let reports = reports_of(async {
        let inner = spawn(async {
            sleep(10 * MS).await;
            panic!("foo");
        })
        .shared();
        for _ in 0..2 {
            let outer = spawn(shield(inner.clone()));
            yield_now().await;
            assert!(outer.cancel());
            assert!(outer.await.unwrap_err().is_cancelled());
        }
        drop(inner);
        sleep(20 * MS).await;
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("foo"), "{reports:?}");
}

// ---------------------------------------------------------------------------------------------
// wait
// ---------------------------------------------------------------------------------------------

/// A task that sleeps `d` and returns `out`.
fn sleeper<T: 'static>(d: Duration, out: T) -> Task<T> {
    spawn(async move {
        sleep(d).await;
        out
    })
}

/// test_tasks.py `test_wait`: ALL_COMPLETED returns when the last task is done (at 0.15 s), with
/// both in `done`; waiting again for the finished tasks takes no time.
#[aioloop::test(start_paused)]
async fn test_wait() {
    let t0 = now();
    let a = sleeper(100 * MS, 'a');
    let b = sleeper(150 * MS, 'b');
    let (done, pending) = wait([b, a], ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert!(done.iter().all(Task::is_done));
    assert_eq!(now() - t0, 150 * MS);

    // Doing it again takes no time and exercises the already-done path.
    let (done, pending) = wait(done, ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_eq!(now() - t0, 150 * MS);
    let outs: Vec<char> = gather(done).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(outs, ['b', 'a']);
}

/// test_tasks.py `test_wait_errors` / `test_wait_invalid_args`: asyncio raises `ValueError` for
/// an empty set (and `TypeError`/`ValueError` for arguments Rust's types rule out). aioloop's
/// wait of nothing returns `([], [])` at once, with or without a timeout (documented
/// divergence, `wait` and docs/asyncio.md).
#[aioloop::test(start_paused)]
async fn test_wait_errors() {
    let t0 = now();
    for timeout in [None, Some(10 * SEC)] {
        let (done, pending) = wait(Vec::<Task<()>>::new(), ReturnWhen::FirstCompleted, timeout).await;
        assert!(done.is_empty() && pending.is_empty());
    }
    assert_eq!(now(), t0);
}

/// test_tasks.py `test_wait_really_done`: FIRST_COMPLETED puts in `done` every task that has
/// finished by the time wait() returns, not just the first: `b`, which finishes in the same
/// iteration as `a`, is done too.
///
/// Documented divergence (docs/asyncio.md, `wait`): asyncio's test has `b` finish one
/// iteration *after* `a` and still finds it done, because asyncio's wait() wakes its caller two
/// iterations after the first task finished (the task's done callback sets a waiter future,
/// whose own callback wakes the caller). aioloop wakes the caller in the next iteration, as
/// awaiting the task itself does: `b` is still pending then.
#[aioloop::test]
async fn test_wait_really_done() {
    let a = spawn(yield_now());
    let b = spawn(yield_now());
    let (done, pending) = wait([b, a], ReturnWhen::FirstCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert!(done.iter().all(Task::is_done));

    // asyncio's exact case: `b` needs one more iteration than `a`.
    let a = spawn(yield_now());
    let b = spawn(async {
        yield_now().await;
        yield_now().await;
    });
    let (done, pending) = wait([b, a], ReturnWhen::FirstCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (1, 1), "asyncio: (2, 0)");
    assert!(done[0].is_done() && !pending[0].is_done());
    let (done, _) = wait(pending, ReturnWhen::AllCompleted, None).await;
    assert!(done[0].is_done());
}

/// test_tasks.py `test_wait_first_exception`: FIRST_EXCEPTION with a task that has already
/// failed returns at once (no time passes) with it done and the sleeping task pending.
#[aioloop::test(start_paused)]
async fn test_wait_first_exception() {
    let t0 = now();
    let a = sleeper(10 * SEC, ());
    let b = spawn(async { panic!("err") });
    let (done, pending) = wait([b, a], ReturnWhen::FirstException, None).await;
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert!(done[0].is_panicked());
    assert!(!pending[0].is_done());
    assert_eq!(now(), t0);
    pending[0].cancel();
}

/// test_tasks.py `test_wait_with_exception`: ALL_COMPLETED with one failing task: both are
/// done, one with an error; a second wait for them takes no time.
#[aioloop::test(start_paused)]
async fn test_wait_with_exception() {
    let t0 = now();
    let a = sleeper(100 * MS, ());
    let b = spawn(async {
        sleep(150 * MS).await;
        panic!("really");
    });
    let (done, pending) = wait([b, a], ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_eq!(done.iter().filter(|t| t.is_panicked()).count(), 1);
    assert_eq!(now() - t0, 150 * MS);
    let (done, pending) = wait(done, ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_eq!(now() - t0, 150 * MS);
}

/// test_tasks.py `test_wait_concurrent_complete`: a timeout that falls in the same instant as
/// a task's end: that task is done, the other pending. As in asyncio's
/// `run_until_complete(wait(...))`, the wait runs in a task of its own created after the two
/// (so its timer is set after theirs).
#[aioloop::test(start_paused)]
async fn test_wait_concurrent_complete() {
    let t0 = now();
    let a = sleeper(100 * MS, 'a');
    let b = sleeper(150 * MS, 'b');
    let (done, pending) = spawn(wait([b, a], ReturnWhen::AllCompleted, Some(100 * MS)))
        .await
        .unwrap();
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert_eq!(now() - t0, 100 * MS);
    assert!(!pending[0].is_done());
    let mut done = done;
    assert_eq!(done.pop().unwrap().await.unwrap(), 'a');
    pending[0].cancel();
}

/// test_tasks.py `test_wait_with_iterator_of_tasks` and `test_wait_generator`: wait() takes any
/// iterator of tasks, also a lazy one that spawns them as it goes.
#[aioloop::test]
async fn test_wait_generator() {
    let tasks = (0..10).map(|i| spawn(async move { i }));
    let (done, pending) = wait(tasks, ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (10, 0));
    let outs: Vec<i32> = gather(done).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(outs, (0..10).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// as_completed
// ---------------------------------------------------------------------------------------------

/// test_tasks.py `test_as_completed_resume_iterator`: an iteration stopped after two results
/// resumes where it stopped and gives the rest.
#[aioloop::test]
async fn test_as_completed_resume_iterator() {
    let mut iterator = as_completed((0..4).map(|i| async move { i }));
    let mut collected = Vec::new();
    while let Some(v) = iterator.next().await {
        collected.push(v);
        if collected.len() == 2 {
            break;
        }
    }
    assert_eq!(collected.len(), 2);
    while let Some(v) = iterator.next().await {
        collected.push(v);
    }
    collected.sort_unstable();
    assert_eq!(collected, [0, 1, 2, 3]);
}

// ---------------------------------------------------------------------------------------------
// gather
// ---------------------------------------------------------------------------------------------

/// test_tasks.py `test_cancel_gather_1` (Python issue #26923): a cancel that arrives once every
/// child of a gathering task is done, from a done callback of the future the child awaited, is
/// refused: the gather completes with the result.
#[aioloop::test]
async fn test_cancel_gather_1() {
    let fut = Future::<i32>::new();
    let gather_task = spawn(gather([{
        let fut = fut.clone();
        async move { fut.await.unwrap() }
    }]));
    yield_now().await; // the child awaits fut
    let cancel_result = Rc::new(Cell::new(None));
    let (cancel, result) = (gather_task.task_ref(), cancel_result.clone());
    fut.add_done_callback(move |_| result.set(Some(cancel.cancel())));
    fut.set_result(42).unwrap();
    let task_ref = gather_task.task_ref();
    assert_eq!(gather_task.await.unwrap(), [42]);
    yield_now().await;
    assert_eq!(cancel_result.get(), Some(false));
    assert!(task_ref.is_done());
}

/// test_tasks.py `test_cancel_gather_2`: a task that loops on a gather (with
/// `return_exceptions=True`) is cancelled with a message: the cancellation reaches the awaiter
/// of the task, with the message; the gather's `return_exceptions` does not swallow it. The
/// gathered child is cancelled with the same message (asyncio's gather passes `msg` on to its
/// children, whose `CancelledError` is the one the awaiter sees).
#[aioloop::test(start_paused)]
async fn test_cancel_gather_2() {
    for message in [None, Some("my message")] {
        let child = Rc::new(RefCell::new(None));
        let mut qwe = spawn({
            let child = child.clone();
            async move {
                let mut time = Duration::ZERO;
                loop {
                    time += 50 * MS;
                    let inner = spawn(sleep(50 * MS)).shared();
                    *child.borrow_mut() = Some(inner.clone());
                    let _ = gather([inner]).await;
                    if time > SEC {
                        return;
                    }
                }
            }
        });
        sleep(225 * MS).await;
        match message {
            Some(m) => assert!(qwe.cancel_with(m)),
            None => assert!(qwe.cancel()),
        }
        assert!((&mut qwe).await.unwrap_err().is_cancelled());
        assert_eq!(qwe.cancel_message().as_deref(), message);
        let child = child.borrow_mut().take().unwrap();
        assert!(child.clone().await.unwrap_err().is_cancelled());
        assert_eq!(child.cancel_message().as_deref(), message);
    }
}

/// test_tasks.py GatherTests `test_success` / `test_result_exception_success`: the gather is not
/// done while a child runs, whatever order the others finished in; then its results come in
/// argument order.
#[aioloop::test]
async fn test_gather_success() {
    let (a, b, c) = (Future::<i32>::new(), Future::<i32>::new(), Future::<i32>::new());
    let fut = spawn(gather([a.clone(), b.clone(), c.clone()]));
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    fut.add_done_callback(move |_| counter.set(counter.get() + 1));
    b.set_result(1).unwrap();
    a.set_result(2).unwrap();
    yields(3).await;
    assert_eq!(calls.get(), 0);
    assert!(!fut.is_done());
    c.set_result(3).unwrap();
    assert_eq!(fut.await.unwrap(), [Ok(2), Ok(1), Ok(3)]);
    yield_now().await;
    assert_eq!(calls.get(), 1);
}

/// What a [`child`] waits for: its value, or the message it panics with.
type ChildFuture = Future<Result<i32, &'static str>>;

/// A task that waits for `f` and then returns its value, or panics with `panic` if it is set.
fn child(f: &ChildFuture) -> Task<i32> {
    let f = f.clone();
    spawn(async move {
        match f.await.unwrap() {
            Ok(v) => v,
            Err(message) => panic!("{message}"),
        }
    })
}

/// `n` futures, not set yet, and for each a [`child`] task waiting for it.
fn children(n: usize) -> (Vec<ChildFuture>, Vec<Task<i32>>) {
    let futs: Vec<_> = (0..n).map(|_| Future::new()).collect();
    let tasks = futs.iter().map(child).collect();
    (futs, tasks)
}

/// test_tasks.py GatherTests `test_one_exception`: with `return_exceptions=False`
/// (`try_gather`), the first failing child ends the gather at once with that error; the other
/// children (tasks) are left running, and what they do later does not touch the gather.
#[aioloop::test]
async fn test_one_exception() {
    let (futs, tasks) = children(5);
    let refs: Vec<_> = tasks.iter().map(Task::task_ref).collect();
    let fut = spawn(try_gather(tasks));
    futs[0].set_result(Ok(1)).unwrap();
    futs[1].set_result(Err("ZeroDivisionError")).unwrap();
    let err = fut.await.unwrap().unwrap_err();
    assert_eq!(err.panic_message(), Some("ZeroDivisionError"));
    assert!(refs[2..].iter().all(|t| !t.is_done()), "the others run on");
    // Does nothing to the gather.
    futs[2].set_result(Ok(3)).unwrap();
    refs[3].cancel();
    futs[4].set_result(Err("RuntimeError")).unwrap();
    yields(3).await;
    assert!(refs.iter().all(aioloop::TaskRef::is_done));
}

/// test_tasks.py GatherTests `test_return_exceptions`: with `return_exceptions=True` (a gather
/// of tasks) the gather waits for every child and each slot holds that child's result or
/// error.
#[aioloop::test]
async fn test_return_exceptions() {
    let (futs, tasks) = children(4);
    let fut = spawn(gather(tasks));
    futs[1].set_result(Ok(1)).unwrap();
    futs[2].set_result(Err("exc")).unwrap();
    futs[0].set_result(Ok(3)).unwrap();
    yields(3).await;
    assert!(!fut.is_done());
    futs[3].set_result(Err("exc2")).unwrap();
    let res = fut.await.unwrap();
    assert_eq!(*res[0].as_ref().unwrap(), 3);
    assert_eq!(*res[1].as_ref().unwrap(), 1);
    assert_eq!(res[2].as_ref().unwrap_err().panic_message(), Some("exc"));
    assert_eq!(res[3].as_ref().unwrap_err().panic_message(), Some("exc2"));
}

/// test_tasks.py FutureGatherTests `test_one_cancellation`: with `return_exceptions=False`
/// (`try_gather`), a child cancelled on its own ends the gather with the cancellation as its
/// error; the task awaiting the gather is not cancelled, and the other children run on.
#[aioloop::test]
async fn test_one_cancellation() {
    let (futs, tasks) = children(5);
    let refs: Vec<_> = tasks.iter().map(Task::task_ref).collect();
    let fut = spawn(try_gather(tasks));
    let fut_ref = fut.task_ref();
    futs[0].set_result(Ok(1)).unwrap();
    refs[1].cancel();
    let outcome = fut.await.unwrap();
    assert!(outcome.unwrap_err().is_cancelled());
    assert!(fut_ref.is_done());
    assert!(refs[2..].iter().all(|t| !t.is_done()), "the others run on");
    futs[2].set_result(Ok(3)).unwrap();
    refs[3].cancel();
    futs[4].set_result(Ok(5)).unwrap();
    yields(3).await;
    assert!(refs.iter().all(aioloop::TaskRef::is_done));
}

/// test_tasks.py FutureGatherTests `test_result_exception_one_cancellation`: with
/// `return_exceptions=True`, cancelled children and failing children each take their slot and
/// the gather waits for the rest.
#[aioloop::test]
async fn test_result_exception_one_cancellation() {
    let (futs, tasks) = children(6);
    let refs: Vec<_> = tasks.iter().map(Task::task_ref).collect();
    let fut = spawn(gather(tasks));
    futs[0].set_result(Ok(1)).unwrap();
    futs[1].set_result(Err("zde")).unwrap();
    refs[2].cancel();
    yields(3).await;
    assert!(!fut.is_done());
    futs[3].set_result(Ok(3)).unwrap();
    refs[4].cancel();
    futs[5].set_result(Err("rte")).unwrap();
    let res = fut.await.unwrap();
    assert_eq!(*res[0].as_ref().unwrap(), 1);
    assert_eq!(res[1].as_ref().unwrap_err().panic_message(), Some("zde"));
    assert!(res[2].as_ref().unwrap_err().is_cancelled());
    assert_eq!(*res[3].as_ref().unwrap(), 3);
    assert!(res[4].as_ref().unwrap_err().is_cancelled());
    assert_eq!(res[5].as_ref().unwrap_err().panic_message(), Some("rte"));
}

/// test_tasks.py CoroutineGatherTests `test_exception_marking`: two children fail one after
/// the other; the awaiter of the gather gets the first error, and the second child's later
/// failure is not reported as never retrieved (asyncio's gather marks it retrieved).
#[test]
fn test_exception_marking() {
    let reports = reports_of(async {
        let (a, b) = (Future::new(), Future::new());
        let outer = spawn(try_gather([child(&a), child(&b)]));
        yield_now().await;
        a.set_result(Err("should not be ignored")).unwrap();
        yield_now().await;
        b.set_result(Err("second")).unwrap();
        yield_now().await;
        let err = outer.await.unwrap().unwrap_err();
        assert_eq!(err.panic_message(), Some("should not be ignored"));
        yield_now().await;

        // The same with `try_gather!`.
        let (a, b) = (Future::new(), Future::new());
        let outer = spawn({
            let (a, b) = (child(&a), child(&b));
            async move { aioloop::try_gather!(a, b).await }
        });
        yield_now().await;
        a.set_result(Err("first")).unwrap();
        yield_now().await;
        b.set_result(Err("second")).unwrap();
        yield_now().await;
        let err = outer.await.unwrap().unwrap_err();
        assert_eq!(err.panic_message(), Some("first"));
        yield_now().await;
    });
    assert!(reports.is_empty(), "{reports:?}");
}

// ---------------------------------------------------------------------------------------------
// the loop around tasks
// ---------------------------------------------------------------------------------------------

/// test_tasks.py `test_stop_while_run_in_complete`: `loop.stop()` called by a task while
/// `run_until_complete` runs. asyncio raises `RuntimeError` ("Event loop stopped before Future
/// completed.") and leaves the task pending; aioloop's `run_until_complete` has no early
/// return for a Rust future's output, so `stop()` does not interrupt it (documented
/// divergence, `Loop::stop` and docs/asyncio.md): the task runs to its end, and the request
/// does not linger to stop a later `run_forever`.
#[test]
fn test_stop_while_run_in_complete() {
    let event_loop = EventLoop::builder().start_paused(true).build().unwrap();
    let x = Rc::new(Cell::new(0));
    let t0 = event_loop.time();
    let task = event_loop.spawn({
        let x = x.clone();
        async move {
            while x.get() < 10 {
                sleep(100 * MS).await;
                x.set(x.get() + 1);
                if x.get() == 2 {
                    get_running_loop().stop();
                }
            }
        }
    });
    event_loop.run_until_complete(task).unwrap();
    assert_eq!(x.get(), 10);
    assert_eq!(event_loop.time() - t0, SEC);

    // A lingering request would end this run_forever after one iteration, before the second
    // callback.
    let ran = Rc::new(Cell::new(false));
    let (flag, lp) = (ran.clone(), event_loop.clone_handle());
    event_loop.call_soon(move || {
        aioloop::call_soon(move || {
            flag.set(true);
            lp.stop();
        });
    });
    event_loop.run_forever();
    assert!(
        ran.get(),
        "run_forever ran until the new stop(), not stopped by the old one"
    );
}

/// test_tasks.py RunCoroutineThreadsafeTests `test_run_coroutine_threadsafe_with_exception`:
/// the coroutine's failure (a panic here) reaches the thread waiting for its result.
#[test]
fn test_run_coroutine_threadsafe_with_exception() {
    let event_loop = EventLoop::new().unwrap();
    let err = outcome_from_a_thread(
        &event_loop,
        || async {
            sleep(50 * MS).await;
            if true {
                panic!("Fail!");
            }
            3
        },
        ConcurrentFuture::result,
        stop_now,
    )
    .unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(err.panic_message(), Some("Fail!"));
}

/// test_tasks.py RunCoroutineThreadsafeTests `test_run_coroutine_threadsafe_with_timeout`: the
/// thread's wait for the result times out: it gets a timeout error, and the coroutine's task
/// on the loop is cancelled (no task is left pending).
#[test]
fn test_run_coroutine_threadsafe_with_timeout() {
    let event_loop = EventLoop::new().unwrap();
    let err = outcome_from_a_thread(
        &event_loop,
        || async {
            sleep(50 * MS).await;
            3
        },
        |fut| fut.result_timeout(Duration::ZERO),
        |handle| {
            handle
                .call_soon_threadsafe(|| {
                    let lp = get_running_loop();
                    aioloop::call_later(10 * MS, move || lp.stop());
                })
                .unwrap()
        },
    )
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    event_loop.run_until_complete(async {
        yield_now().await;
        let main = current_task().unwrap();
        let others: Vec<_> = aioloop::all_tasks().into_iter().filter(|t| *t != main).collect();
        assert!(
            others.iter().all(|t| t.is_done()),
            "the task was cancelled: {others:?}"
        );
    });
}

/// test_tasks.py RunCoroutineThreadsafeTests `test_run_coroutine_threadsafe_task_cancelled`, in
/// CPython's form: the coroutine cancels its own task and awaits (task_model_threads.rs cancels
/// it from outside): the waiting thread gets a cancellation, not a result.
#[test]
fn test_run_coroutine_threadsafe_task_cancelled_by_itself() {
    let event_loop = EventLoop::new().unwrap();
    let err = outcome_from_a_thread(
        &event_loop,
        || async {
            sleep(5 * MS).await;
            current_task().unwrap().cancel();
            yield_now().await;
            3
        },
        ConcurrentFuture::result,
        stop_now,
    )
    .unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
}

/// test_tasks.py SleepTests `test_sleep_zero`: `sleep(0)` gives the loop exactly one iteration:
/// a callback scheduled before it has run when it returns (`sleep(Duration::ZERO)` as
/// `yield_now`).
#[aioloop::test]
async fn test_sleep_zero() {
    let result = Rc::new(Cell::new(0));
    let inc = result.clone();
    call_soon(move || inc.set(inc.get() + 1));
    assert_eq!(result.get(), 0);
    sleep(Duration::ZERO).await;
    assert_eq!(result.get(), 1, "inc'ed by call_soon");
}

/// test_tasks.py CurrentLoopTests `test_current_task_no_running_loop`: outside a running loop
/// there is no current task and no task at all (asyncio's `current_task(loop)` is `None`; its
/// implicit form raises `RuntimeError`, an `Option` here).
#[test]
fn test_current_task_no_running_loop() {
    let event_loop = EventLoop::new().unwrap();
    let _pending = event_loop.spawn(std::future::pending::<()>());
    assert!(current_task().is_none());
    assert!(aioloop::all_tasks().is_empty());
    let inside = event_loop.run_until_complete(async { current_task().is_some() });
    assert!(inside);
    assert!(current_task().is_none(), "none again once the loop stopped");
}

/// test_tasks.py IntrospectionTests `test__register_task_3`: a task that is done is not in
/// `all_tasks()`, even while its handle (and outcome) is still held; a pending one is.
#[aioloop::test]
async fn test_register_task_3() {
    let main = current_task().unwrap();
    let done = spawn(async { 1 });
    let pending = spawn(std::future::pending::<()>());
    yield_now().await;
    assert!(done.is_done());
    let mut ids: Vec<_> = aioloop::all_tasks().iter().map(aioloop::TaskRef::id).collect();
    ids.sort_unstable();
    let mut expected = vec![main.id(), pending.id()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(!ids.contains(&done.id()));
    pending.cancel();
    assert_eq!(done.await.unwrap(), 1);
}
