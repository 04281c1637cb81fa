//! Fifth audit against CPython's Lib/test/test_asyncio/test_taskgroups.py (3.13/3.14): the
//! cases the earlier ports (audit_asyncio_taskgroups.rs, audit2_asyncio_taskgroups.rs,
//! combinators_task_group.rs, task_model_task_group.rs) do not cover. Each test is named after
//! the CPython test.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{
    copy_context, current_task, get_running_loop, sleep, until_cancelled, yield_now, ChildError, ContextVar,
    TaskGroup, TaskGroupClosed,
};

static CVAR: ContextVar<i32> = ContextVar::new("cvar");

/// test_taskgroups.py `test_taskgroup_task_context`: `tg.create_task(coro, context=ctx)` runs
/// the child in `ctx` itself, so what the child sets is seen in `ctx` afterwards. aioloop's
/// form: the child's future is `ctx.scope(fut)`.
#[aioloop::test]
async fn test_taskgroup_task_context() {
    async fn coro(val: i32) {
        yield_now().await;
        CVAR.set(val);
    }
    TaskGroup::<()>::run(|g| async move {
        let ctx = copy_context();
        assert_eq!(ctx.get(&CVAR), None);
        let t1 = g.spawn_plain(ctx.scope(coro(1))).unwrap();
        t1.await.unwrap();
        assert_eq!(ctx.get(&CVAR), Some(1));
        let t2 = g.spawn_plain(ctx.scope(coro(2))).unwrap();
        t2.await.unwrap();
        assert_eq!(ctx.get(&CVAR), Some(2));
    })
    .await
    .unwrap();
    assert_eq!(CVAR.get(), None, "the awaiting task's own context is untouched");
}

/// A group child for the `tg.cancel()` tests: sleeps 10 s; if cancelled meanwhile, counts it in
/// `seen` (asyncio's `except CancelledError: seen += 1; raise`).
async fn sleeper(seen: Rc<Cell<u32>>) -> Result<(), &'static str> {
    if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
        seen.set(seen.get() + 1);
    }
    Ok(())
}

/// test_taskgroups.py `test_taskgroup_cancel_*` (CPython main, 3.15: `TaskGroup.cancel()`,
/// gh-108951), the children and the body: `tg.cancel()` from the body cancels every child and
/// the body at its next await, and the group ends without an error (asyncio leaves the
/// `async with` block without raising `CancelledError`); the task running it is not cancelled.
/// (Ported from the documented semantics; the upstream test file was not at hand.)
#[aioloop::test(start_paused)]
async fn test_taskgroup_cancel_children_and_body() {
    let seen = Rc::new(Cell::new(0));
    let body_cancelled = Rc::new(Cell::new(false));
    let (s, bc) = (seen.clone(), body_cancelled.clone());
    let t0 = get_running_loop().time();
    let out = TaskGroup::<&str>::run(|tg| async move {
        for _ in 0..3 {
            tg.spawn(sleeper(s.clone())).unwrap();
        }
        sleep(Duration::from_millis(100)).await;
        tg.cancel();
        struct Flag(Rc<Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let _flag = Flag(bc);
        sleep(Duration::from_secs(10)).await;
        unreachable!("the body is cancelled at its next await");
    })
    .await;
    assert!(matches!(&out, Err(errors) if errors.is_empty()), "{out:?}");
    assert_eq!(seen.get(), 3, "every child saw the cancellation");
    assert!(body_cancelled.get());
    assert_eq!(get_running_loop().time() - t0, Duration::from_millis(100));
    assert_eq!(
        current_task().unwrap().cancelling(),
        0,
        "the parent task is not cancelled"
    );
    yield_now().await; // and goes on
}

/// `test_taskgroup_cancel_*` (3.15), from a child: a child calling `tg.cancel()` stops its
/// siblings and the body; the group ends without an error.
#[aioloop::test(start_paused)]
async fn test_taskgroup_cancel_from_child() {
    let seen = Rc::new(Cell::new(0));
    let s = seen.clone();
    let out = TaskGroup::<&str>::run(|tg| async move {
        tg.spawn(sleeper(s.clone())).unwrap();
        tg.spawn(sleeper(s.clone())).unwrap();
        let canceller = tg.clone();
        tg.spawn_plain(async move {
            sleep(Duration::from_millis(100)).await;
            canceller.cancel();
        })
        .unwrap();
        sleep(Duration::from_secs(10)).await;
        "never"
    })
    .await;
    assert!(matches!(&out, Err(errors) if errors.is_empty()), "{out:?}");
    assert_eq!(seen.get(), 2);
}

/// `test_taskgroup_cancel_*` (3.15): cancelling is idempotent, closes the group to new
/// children, and may be called after the group has ended (it does nothing then).
#[aioloop::test(start_paused)]
async fn test_taskgroup_cancel_idempotent_and_after_exit() {
    let seen = Rc::new(Cell::new(0));
    let s = seen.clone();
    let mut kept = None;
    let out = TaskGroup::<&str>::run(|tg| {
        kept = Some(tg.clone());
        async move {
            tg.spawn(sleeper(s)).unwrap();
            yield_now().await;
            tg.cancel();
            tg.cancel();
            assert!(matches!(
                tg.spawn_plain(async {}),
                Err(TaskGroupClosed::Cancelled)
            ));
            yield_now().await;
        }
    })
    .await;
    assert!(matches!(&out, Err(errors) if errors.is_empty()), "{out:?}");
    assert_eq!(seen.get(), 1);
    let tg = kept.unwrap();
    tg.cancel(); // after the group ended: nothing happens
    assert!(tg.spawn_plain(async {}).is_err());

    // A group whose body returned before a child cancelled it keeps the body's value.
    let out = TaskGroup::<&str>::run(|tg| async move {
        let canceller = tg.clone();
        tg.spawn_plain(async move {
            sleep(Duration::from_millis(10)).await;
            canceller.cancel();
        })
        .unwrap();
        tg.spawn(sleeper(Rc::default())).unwrap();
        42
    })
    .await;
    assert_eq!(out.unwrap(), 42);
}

/// `test_taskgroup_cancel_*` (3.15): an error a child raises while it is being cancelled still
/// propagates (asyncio raises the `ExceptionGroup` rather than exiting quietly).
#[aioloop::test(start_paused)]
async fn test_taskgroup_cancel_child_error_propagates() {
    let out = TaskGroup::<&str>::run(|tg| async move {
        tg.spawn::<_, ()>(async {
            if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
                sleep(Duration::from_millis(1)).await; // async cleanup
                return Err("ZeroDivisionError"); // crash in cleanup
            }
            Ok(())
        })
        .unwrap();
        sleep(Duration::from_millis(100)).await;
        tg.cancel();
        sleep(Duration::from_secs(10)).await;
    })
    .await;
    let errors = out.unwrap_err();
    assert!(
        matches!(&errors[..], [ChildError::Failed("ZeroDivisionError")]),
        "{errors:?}"
    );
}

/// `test_taskgroup_cancel_*` (3.15), at once: a body that cancels its group before its first
/// await (a child spawned just before is cancelled before it ran) is stopped at that await.
#[aioloop::test(start_paused)]
async fn test_taskgroup_cancel_before_the_body_awaits() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let out = TaskGroup::<&str>::run(|tg| async move {
        tg.spawn_plain(async move { r.set(true) }).unwrap();
        tg.cancel();
        sleep(Duration::from_secs(10)).await;
        unreachable!("cancelled at its first await");
    })
    .await;
    assert!(matches!(&out, Err(errors) if errors.is_empty()), "{out:?}");
    assert!(!ran.get(), "the child was cancelled before its first step");
}

/// test_taskgroups.py `test_taskgroup_without_parent_task`: a group entered outside a task
/// raises `RuntimeError` ("parent task"). aioloop's group needs a running loop to spawn into:
/// spawning with none panics (asyncio's `RuntimeError`), and the refused child's future is
/// dropped; the group is left empty and usable once a loop runs.
#[test]
fn test_taskgroup_without_parent_task() {
    let tg = TaskGroup::<()>::new();
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = tg.spawn_plain(async {});
    }));
    assert!(refused.is_err(), "no running loop: spawn panics");
    assert!(tg.is_empty());
    aioloop::run(async move {
        let child = tg.spawn_plain(async { 7 }).unwrap();
        tg.join().await.unwrap();
        assert_eq!(child.await.unwrap(), 7);
    });
}
