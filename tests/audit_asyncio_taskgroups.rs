//! Audit against CPython's Lib/test/test_asyncio/test_taskgroups.py: cases the
//! task_model_task_group and combinators_task_group tests do not port. Each test is named
//! after the CPython test.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, until_cancelled, yield_now, ChildError, Future, TaskGroup, TaskGroupSpawner};

struct SetOnDrop(Rc<Cell<bool>>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

async fn crash_after(secs: f64, tag: &'static str) -> Result<(), &'static str> {
    sleep(Duration::from_secs_f64(secs)).await;
    Err(tag)
}

/// test_taskgroups.py `test_cancel_children_on_child_error`: three children fail in the same
/// iteration; the sibling and the body are cancelled and every error is a child's error.
/// (asyncio collects all three: the three steps run before the first failure's done
/// callback cancels anything.)
#[aioloop::test(start_paused = true)]
async fn test_cancel_children_on_child_error() {
    let t2_cancel = Rc::new(Cell::new(false));
    let runner_cancel = Rc::new(Cell::new(false));
    let (t2c, rc) = (t2_cancel.clone(), runner_cancel.clone());
    let out = TaskGroup::<&str>::run(|g| async move {
        for _ in 0..3 {
            g.spawn(crash_after(0.1, "ZeroDivisionError")).unwrap();
        }
        let guard = SetOnDrop(t2c);
        g.spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .unwrap();
        let _guard = SetOnDrop(rc);
        sleep(Duration::from_secs(10)).await;
    })
    .await;
    let errors = out.unwrap_err();
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, ChildError::Failed("ZeroDivisionError"))),
        "{errors:?}"
    );
    assert_eq!(
        errors.len(),
        3,
        "every child that failed in that iteration is reported: {errors:?}"
    );
    assert!(t2_cancel.get());
    assert!(runner_cancel.get());
}

/// In asyncio a sibling that returns in the iteration in which another child fails keeps its
/// value: the failure cancels the siblings from the task's done callback, after that step.
#[aioloop::test(start_paused = true)]
async fn test_sibling_returning_in_the_failing_iteration_keeps_its_value() {
    let g = TaskGroup::<&str>::new();
    g.spawn(crash_after(0.1, "boom")).unwrap();
    let t2 = g
        .spawn_plain(async {
            sleep(Duration::from_millis(100)).await;
            7
        })
        .unwrap();
    let t3 = g.spawn_plain(sleep(Duration::from_secs(1))).unwrap();
    let errors = g.join().await.unwrap_err();
    assert!(matches!(&errors[..], [ChildError::Failed("boom")]), "{errors:?}");
    assert_eq!(t2.await.unwrap(), 7);
    assert!(t3.await.unwrap_err().is_cancelled());
}

/// test_taskgroups.py `test_taskgroup_02`: a child spawned after the body slept still belongs
/// to the group, which waits for it.
#[aioloop::test(start_paused = true)]
async fn test_taskgroup_02() {
    let out = TaskGroup::<()>::run(|g| async move {
        let t1 = g.spawn_plain(async {
            sleep(Duration::from_millis(100)).await;
            42
        });
        sleep(Duration::from_millis(150)).await;
        let t2 = g.spawn_plain(async {
            sleep(Duration::from_millis(200)).await;
            11
        });
        (t1.unwrap(), t2.unwrap())
    })
    .await;
    let (t1, t2) = out.unwrap();
    assert!(t1.is_done() && t2.is_done(), "the group waited for both");
    assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (42, 11));
}

/// test_taskgroups.py `test_taskgroup_10`: the body raises (here: panics) before the children
/// finish: they are cancelled and the body's exception propagates.
#[test]
fn test_taskgroup_10() {
    let t1_cancelled = Rc::new(Cell::new(false));
    let flag = t1_cancelled.clone();
    let lp = aioloop::EventLoop::builder().start_paused(true).build().unwrap();
    lp.run_until_complete(async move {
        let runner = spawn(TaskGroup::<()>::run(|g| async move {
            let guard = SetOnDrop(flag);
            g.spawn_plain(async move {
                let _guard = guard;
                sleep(Duration::from_secs(1)).await;
                42
            })
            .unwrap();
            panic!("ZeroDivisionError");
        }));
        let err = runner.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("ZeroDivisionError"));
        yield_now().await;
    });
    assert!(t1_cancelled.get(), "the child was cancelled");
}

/// test_taskgroups.py `test_taskgroup_13`: the outer group's child fails while the body runs an
/// inner group: the inner group (the outer body) is cancelled with its children, and the outer
/// group reports the outer child's error only.
#[aioloop::test(start_paused = true)]
async fn test_taskgroup_13() {
    let inner_child_cancelled = Rc::new(Cell::new(false));
    let flag = inner_child_cancelled.clone();
    let out = TaskGroup::<&str>::run(|g1| async move {
        g1.spawn(crash_after(0.1, "ValueError(0.1)")).unwrap();
        let inner = TaskGroup::<&str>::run(|g2| async move {
            let guard = SetOnDrop(flag);
            g2.spawn(async move {
                let _guard = guard;
                crash_after(10.0, "ValueError(10)").await
            })
            .unwrap();
        })
        .await;
        inner.is_ok()
    })
    .await;
    let errors = out.unwrap_err();
    assert!(
        matches!(&errors[..], [ChildError::Failed("ValueError(0.1)")]),
        "{errors:?}"
    );
    assert!(inner_child_cancelled.get());
}

/// test_taskgroups.py `test_taskgroup_15`: the parent is cancelled while the body awaits; the
/// body runs an awaited cleanup (`except CancelledError: await sleep(0.5); raise`), a child
/// crashes meanwhile; the parent ends cancelled.
#[aioloop::test(start_paused = true)]
async fn test_taskgroup_15() {
    let runner = spawn(TaskGroup::<&str>::run(|g1| async move {
        g1.spawn(crash_after(0.3, "ZeroDivisionError")).unwrap();
        if until_cancelled(sleep(Duration::from_secs(10))).await.is_err() {
            sleep(Duration::from_millis(500)).await;
        }
    }));
    sleep(Duration::from_millis(100)).await;
    assert!(!runner.is_done());
    runner.cancel();
    assert!(runner.await.unwrap_err().is_cancelled());
}

/// test_taskgroups.py `test_taskgroup_23`: finished children leave the group (its `len` is the
/// number still running), so a long-lived group does not accumulate them.
#[aioloop::test(start_paused = true)]
async fn test_taskgroup_23() {
    let g = TaskGroup::<()>::new();
    for count in 0..10 {
        sleep(Duration::from_millis(100)).await;
        g.spawn_plain(sleep(Duration::from_millis(300))).unwrap();
        if count == 5 {
            assert!(g.len() < 5, "{}", g.len());
        }
    }
    sleep(Duration::from_millis(1350)).await;
    assert_eq!(g.len(), 0);
    g.join().await.unwrap();
}

/// test_taskgroups.py `test_taskgroup_25`: children spawn siblings (hydra) until another child
/// fails; the failure stops them all and is the group's only error.
#[aioloop::test(start_paused = true)]
async fn test_taskgroup_25() {
    fn hydra(
        g: TaskGroupSpawner<&'static str>,
        heads: Rc<Cell<u32>>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), &'static str>>>> {
        Box::pin(async move {
            heads.set(heads.get() + 1);
            sleep(Duration::from_millis(10)).await;
            // The group may be closed by now (a sibling failed): then no new head.
            let _ = g.spawn(hydra(g.clone(), heads.clone()));
            let _ = g.spawn(hydra(g.clone(), heads.clone()));
            Ok(())
        })
    }
    let heads = Rc::new(Cell::new(0));
    let h = heads.clone();
    let out = TaskGroup::<&str>::run(|g| async move {
        g.spawn(hydra(g.clone(), h.clone())).unwrap();
        g.spawn::<_, ()>(async move {
            while h.get() < 10 {
                sleep(Duration::from_millis(15)).await;
            }
            Err("ZeroDivisionError")
        })
        .unwrap();
    })
    .await;
    let errors = out.unwrap_err();
    assert!(
        matches!(&errors[..], [ChildError::Failed("ZeroDivisionError")]),
        "{errors:?}"
    );
    assert!(heads.get() >= 10);
}

/// test_taskgroups.py `test_taskgroup_task_name`: a child spawned with a name has it.
#[aioloop::test]
async fn test_taskgroup_task_name() {
    let out = TaskGroup::<()>::run(|g| async move {
        let t = g
            .spawn_named("yolo", async {
                yield_now().await;
                Ok(())
            })
            .unwrap();
        t.name()
    })
    .await;
    assert_eq!(out.unwrap(), "yolo");
}

/// asyncio cancels the parent task when a child fails, and that cancels what the body awaits
/// (`_fut_waiter.cancel()`): a plain task or a future the body awaits is cancelled too, not
/// left running (test_taskgroups.py `test_taskgroup_04`'s cancellation, one level down).
#[aioloop::test(start_paused = true)]
async fn test_child_failure_cancels_what_the_body_awaits() {
    let outside = spawn(sleep(Duration::from_secs(3600))).shared();
    let fut = Future::<()>::new();
    let (o, f) = (outside.clone(), fut.clone());
    let out = TaskGroup::<&str>::run(|g| async move {
        g.spawn(crash_after(0.1, "boom")).unwrap();
        let _ = aioloop::gather!(o, f).await;
    })
    .await;
    assert!(matches!(&out.unwrap_err()[..], [ChildError::Failed("boom")]));
    yield_now().await;
    assert!(fut.is_cancelled(), "the future the body awaited was cancelled");
    assert!(outside.is_cancelled(), "the task the body awaited was cancelled");
}

/// test_taskgroups.py `test_taskgroup_finished` (3.12: `create_task` on a finished group
/// raises `RuntimeError`): a spawner kept past the group's end is refused.
#[aioloop::test]
async fn test_taskgroup_finished() {
    let kept = Rc::new(std::cell::RefCell::new(None));
    let k = kept.clone();
    let out = TaskGroup::<()>::run(|g| async move {
        *k.borrow_mut() = Some(g.clone());
    })
    .await;
    assert!(out.is_ok());
    let spawner = kept.borrow_mut().take().unwrap();
    assert!(spawner.spawn_plain(async {}).is_err());
}

/// test_taskgroups.py `test_cancel_children_on_child_error`'s `except CancelledError:` with an
/// await in it: a sibling that observes the group's cancellation runs its awaited cleanup, and
/// the group waits for it before reporting (asyncio's `__aexit__` awaits every child).
#[aioloop::test(start_paused = true)]
async fn test_group_waits_for_a_siblings_async_cleanup() {
    let cleaned = Rc::new(Cell::new(false));
    let flag = cleaned.clone();
    let out = TaskGroup::<&str>::run(|g| async move {
        g.spawn(async move {
            if until_cancelled(sleep(Duration::from_secs(5))).await.is_err() {
                sleep(Duration::from_millis(500)).await;
                flag.set(true);
            }
            Ok(())
        })
        .unwrap();
        g.spawn(crash_after(0.1, "ZeroDivisionError")).unwrap();
    })
    .await;
    assert!(cleaned.get(), "the group returned only after the cleanup");
    assert!(matches!(
        &out.unwrap_err()[..],
        [ChildError::Failed("ZeroDivisionError")]
    ));
}
