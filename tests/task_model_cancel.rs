//! Issue 17, item 3: cancellation travels through awaits, as asyncio's `Task.cancel()` cancels
//! the future the task waits on (`_fut_waiter`), and `shield` stops it.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{as_completed, gather, shield, sleep, spawn, wait_for, yield_now, Future, TaskGroup};

/// test_tasks: test_cancel_awaited_task (bpo-34872): a task that cancels itself and then
/// blocks on a nested task cancels that nested task.
#[test]
fn test_cancel_awaited_task() {
    aioloop::run(async {
        let fut: Future<()> = Future::new();
        let nested = Rc::new(Cell::new(None));
        let task = Rc::new(Cell::new(None::<aioloop::TaskRef>));
        let outer = spawn({
            let (fut, nested, task) = (fut.clone(), nested.clone(), task.clone());
            async move {
                let nested_task = spawn(async move { fut.await.is_ok() });
                nested.set(Some(nested_task.task_ref()));
                yield_now().await;
                task.take().unwrap().cancel();
                let _ = nested_task.await;
            }
        });
        task.set(Some(outer.task_ref()));
        assert!(outer.await.unwrap_err().is_cancelled());
        let nested = nested.take().unwrap();
        yield_now().await;
        assert!(
            nested.is_done(),
            "the awaited task was cancelled with its awaiter"
        );
        assert!(fut.is_cancelled(), "and what that task awaited, in turn");
    });
}

/// test_tasks: test_task_cancel_waiter_future: cancelling a task that awaits a Future cancels
/// the Future.
#[test]
fn test_task_cancel_waiter_future() {
    aioloop::run(async {
        let fut: Future<u8> = Future::new();
        let task = spawn({
            let fut = fut.clone();
            async move { fut.await.ok() }
        });
        yield_now().await;
        assert!(task.cancel());
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(fut.is_cancelled());
    });
}

/// test_tasks: GatherTests test_cancellation_broadcast: cancelling the task that awaits a
/// gather of tasks cancels every child.
#[test]
fn test_cancellation_broadcast() {
    aioloop::run(async {
        let waiter: Future<()> = Future::new();
        let proof = Rc::new(Cell::new(0));
        let inner = |waiter: Future<()>, proof: Rc<Cell<u32>>| async move {
            let _ = waiter.await;
            proof.set(proof.get() + 1);
        };
        let child1 = spawn(inner(waiter.clone(), proof.clone()));
        let child2 = spawn(inner(waiter.clone(), proof.clone()));
        let (r1, r2) = (child1.task_ref(), child2.task_ref());
        let outer = spawn({
            let proof = proof.clone();
            async move {
                let _ = gather!(child1, child2).await;
                proof.set(proof.get() + 100);
            }
        });
        yield_now().await;
        assert!(outer.cancel());
        assert!(outer.await.unwrap_err().is_cancelled());
        yield_now().await;
        assert!(waiter.is_cancelled());
        assert!(r1.is_done() && r2.is_done());
        assert_eq!(proof.get(), 0);
    });
}

/// Cancelling a task that awaits wait_for(task) cancels the inner task (test_waitfor:
/// test_cancel_wait_for, Python issue #23219).
#[test]
fn test_cancel_wait_for() {
    aioloop::run(async {
        let inner = spawn(sleep(Duration::from_secs(3600)));
        let inner_ref = inner.task_ref();
        let outer = spawn(async move { wait_for(inner, Duration::from_secs(7200)).await });
        yield_now().await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        yield_now().await;
        assert!(inner_ref.is_done());
    });
}

/// Cancelling a task that reads an as_completed stream of tasks cancels them.
#[test]
fn test_cancel_as_completed_cancels_its_tasks() {
    aioloop::run(async {
        let tasks: Vec<_> = (0..2).map(|_| spawn(sleep(Duration::from_secs(3600)))).collect();
        let refs: Vec<_> = tasks.iter().map(|t| t.task_ref()).collect();
        let outer = spawn(async move {
            let mut done = as_completed(tasks);
            while done.next().await.is_some() {}
        });
        yield_now().await;
        outer.cancel();
        let _ = outer.await;
        yield_now().await;
        assert!(refs.iter().all(|r| r.is_done()));
    });
}

/// Cancelling the task that joins a TaskGroup cancels the group's children.
#[test]
fn test_cancel_task_group_owner_cancels_children() {
    aioloop::run(async {
        let child = Rc::new(Cell::new(None));
        let outer = spawn({
            let child = child.clone();
            async move {
                let tg = TaskGroup::<()>::new();
                let t = tg
                    .spawn(async {
                        sleep(Duration::from_secs(3600)).await;
                        Ok(())
                    })
                    .unwrap();
                child.set(Some(t.task_ref()));
                let _ = tg.join().await;
            }
        });
        yield_now().await;
        outer.cancel();
        let _ = outer.await;
        yield_now().await;
        assert!(child.take().unwrap().is_done());
    });
}

/// shield stops the cancellation: the shielded task runs on (test_tasks: test_shield_cancel_outer).
#[test]
fn test_shield_cancel_outer() {
    // The paused clock keeps the 5 ms sleep from ending while the machine is slow (valgrind).
    aioloop::Builder::new().start_paused(true).run(async {
        let inner = spawn(async {
            sleep(Duration::from_millis(5)).await;
            7
        });
        let inner_ref = inner.task_ref();
        let outer = spawn(async move { shield(inner).await });
        yield_now().await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        yield_now().await;
        assert!(!inner_ref.is_done(), "the shielded task runs on");
        sleep(Duration::from_millis(20)).await;
        assert!(inner_ref.is_done());
    });
}

/// A Task handle never awaited and dropped keeps running (fire-and-forget), even when it is
/// dropped because its owner was cancelled.
#[test]
fn test_dropped_unawaited_handle_detaches() {
    aioloop::run(async {
        let ran = Rc::new(Cell::new(false));
        let detached = spawn({
            let ran = ran.clone();
            async move {
                sleep(Duration::from_millis(2)).await;
                ran.set(true);
            }
        });
        let owner = spawn(async move {
            let _handle = detached;
            sleep(Duration::from_secs(3600)).await;
        });
        yield_now().await;
        owner.cancel();
        let _ = owner.await;
        sleep(Duration::from_millis(10)).await;
        assert!(ran.get());
    });
}
