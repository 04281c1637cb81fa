//! Second audit against CPython's Lib/test/test_asyncio/test_taskgroups.py (3.13/main): the
//! tests the first audit (audit_asyncio_taskgroups.rs) and the task_model_task_group /
//! combinators_task_group tests do not port. Each test is named after the CPython test it ports
//! and says what it checks; where aioloop's documented model differs (docs/asyncio.md), the test
//! asserts aioloop's behaviour and says so.
//!
//! The Rust spelling: `async with TaskGroup() as g:` is `TaskGroup::run(|g| async move { .. })`,
//! `g.create_task(coro)` is `g.spawn(fut)` (a `Result` child: `Err` is the child's exception) or
//! `g.spawn_plain(fut)`, the `ExceptionGroup` is the `Vec<ChildError<E>>` of `run`'s `Err`,
//! `except CancelledError: ...; raise` is `until_cancelled` (awaited cleanup) or a `Drop` guard.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{
    current_task, get_running_loop, sleep, spawn, until_cancelled, yield_now, ChildError, GroupTask,
    TaskGroup,
};
use support::AddOnDrop;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

async fn crash_after(delay: Duration, tag: &'static str) -> Result<(), &'static str> {
    sleep(delay).await;
    Err(tag)
}

/// A child that sleeps `delay` and counts 1 into `num` if it is cancelled meanwhile.
async fn sleeper(delay: Duration, num: Rc<Cell<u32>>) -> Result<(), &'static str> {
    let guard = AddOnDrop(num, 1);
    sleep(delay).await;
    std::mem::forget(guard);
    Ok(())
}

fn only_failures<E: PartialEq + std::fmt::Debug>(errors: &[ChildError<E>], expected: &E) -> bool {
    !errors.is_empty()
        && errors
            .iter()
            .all(|e| matches!(e, ChildError::Failed(x) if x == expected))
}

/// test_taskgroups.py `test_taskgroup_01`: the group waits for its two children, whose values
/// their handles give afterwards, 0.2 s after the start (the longer child).
#[aioloop::test(start_paused)]
async fn test_taskgroup_01() {
    let start = get_running_loop().time();
    let (t1, t2) = TaskGroup::<()>::run(|g| async move {
        let t1 = g.spawn_plain(async {
            sleep(100 * MS).await;
            42
        });
        let t2 = g.spawn_plain(async {
            sleep(200 * MS).await;
            11
        });
        (t1.unwrap(), t2.unwrap())
    })
    .await
    .unwrap();
    assert_eq!(get_running_loop().time() - start, 200 * MS);
    assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (42, 11));
}

/// test_taskgroups.py `test_taskgroup_03`: a child cancelled explicitly by the body is no
/// failure: the group goes on, accepts a new child, and ends well; the cancelled child reads as
/// cancelled.
#[aioloop::test(start_paused)]
async fn test_taskgroup_03() {
    let (t1, t2) = TaskGroup::<()>::run(|g| async move {
        let t1 = g
            .spawn_plain(async {
                sleep(SEC).await;
                42
            })
            .unwrap();
        sleep(150 * MS).await;
        assert!(t1.cancel());
        let t2 = g
            .spawn_plain(async {
                sleep(200 * MS).await;
                11
            })
            .unwrap();
        (t1, t2)
    })
    .await
    .unwrap();
    assert!(t1.is_cancelled());
    assert_eq!(t2.await.unwrap(), 11);
}

/// test_taskgroups.py `test_taskgroup_04`: a failing child cancels its sleeping sibling (which
/// sees the cancellation), the group reports the failure only, and the runner's code after the
/// group does not run (`?` is the raise).
#[aioloop::test(start_paused)]
async fn test_taskgroup_04() {
    let num = Rc::new(Cell::new(0));
    let t2: Rc<RefCell<Option<GroupTask<()>>>> = Rc::default();
    let (n, t2s) = (num.clone(), t2.clone());
    let runner = spawn(async move {
        TaskGroup::<&str>::run(|g| async move {
            g.spawn(crash_after(100 * MS, "ZeroDivisionError")).unwrap();
            *t2s.borrow_mut() = Some(
                g.spawn(async move {
                    sleep(SEC).await;
                    Ok(())
                })
                .unwrap(),
            );
        })
        .await?;
        n.set(n.get() + 10);
        Ok::<(), Vec<ChildError<&str>>>(())
    });
    let errors = runner.await.unwrap().unwrap_err();
    assert!(only_failures(&errors, &"ZeroDivisionError"), "{errors:?}");
    assert_eq!(num.get(), 0);
    assert!(t2.borrow().as_ref().unwrap().is_cancelled());
}

/// test_taskgroups.py `test_cancellation`: cancelling the task that runs the group, with a
/// message, cancels the five children (each sees it) and the task ends cancelled with the
/// message (its `cancel_message()`, asyncio's `CancelledError.args`). Documented difference: the
/// task ends as soon as its future (the group) is dropped, and the children are dropped at the
/// next iteration (asyncio's `__aexit__` awaits them first).
#[aioloop::test(start_paused)]
async fn test_cancellation() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let mut r = spawn(TaskGroup::<&str>::run(|g| async move {
        for _ in 0..5 {
            g.spawn(sleeper(5 * SEC, n.clone())).unwrap();
        }
    }));
    sleep(100 * MS).await;
    assert!(!r.is_done());
    assert!(r.cancel_with("test"));
    assert!((&mut r).await.unwrap_err().is_cancelled());
    assert_eq!(r.cancel_message().as_deref(), Some("test"));
    yield_now().await;
    assert_eq!(num.get(), 5);
}

/// test_taskgroups.py `test_taskgroup_07`: cancelling the runner cancels the five children and
/// the body's own await (5 + 10).
#[aioloop::test(start_paused)]
async fn test_taskgroup_07() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let r = spawn(TaskGroup::<&str>::run(|g| async move {
        for _ in 0..5 {
            g.spawn(sleeper(5 * SEC, n.clone())).unwrap();
        }
        let _guard = AddOnDrop(n, 10);
        sleep(10 * SEC).await;
    }));
    sleep(100 * MS).await;
    assert!(!r.is_done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    yield_now().await;
    assert_eq!(num.get(), 15);
}

/// test_taskgroups.py `test_cancellation_in_body`: the runner is cancelled (with a message) in
/// the iteration in which its five children fail: it ends cancelled with the message, not with
/// the children's errors.
#[aioloop::test(start_paused)]
async fn test_cancellation_in_body() {
    let mut r = spawn(TaskGroup::<&str>::run(|g| async move {
        for _ in 0..5 {
            g.spawn(crash_after(100 * MS, "ZeroDivisionError")).unwrap();
        }
        sleep(10 * SEC).await;
    }));
    sleep(100 * MS).await;
    assert!(!r.is_done());
    r.cancel_with("test");
    assert!((&mut r).await.unwrap_err().is_cancelled());
    assert_eq!(r.cancel_message().as_deref(), Some("test"));
}

/// test_taskgroups.py `test_taskgroup_09`: the body raises (here: panics) after a sleep while
/// both children still run: both are cancelled and the body's exception propagates (a body's
/// panic unwinds out of `run`, it is not one of the children's errors).
#[aioloop::test(start_paused)]
async fn test_taskgroup_09() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let runner = spawn(TaskGroup::<&str>::run(|g| async move {
        g.spawn(sleeper(SEC, n.clone())).unwrap();
        g.spawn(sleeper(2 * SEC, n)).unwrap();
        sleep(100 * MS).await;
        panic!("ZeroDivisionError");
    }));
    let err = runner.await.unwrap_err();
    assert_eq!(err.panic_message(), Some("ZeroDivisionError"));
    yield_now().await;
    assert_eq!(num.get(), 2, "both children were cancelled");
}

/// test_taskgroups.py `test_taskgroup_11`: nested groups (the outer one without children); the
/// inner children fail in the iteration in which the runner is cancelled: the runner ends
/// cancelled.
#[aioloop::test(start_paused)]
async fn test_taskgroup_11() {
    let r = spawn(TaskGroup::<&str>::run(|_g1| async move {
        TaskGroup::<&str>::run(|g2| async move {
            for _ in 0..5 {
                g2.spawn(crash_after(100 * MS, "ZeroDivisionError")).unwrap();
            }
            sleep(10 * SEC).await;
        })
        .await
    }));
    sleep(100 * MS).await;
    assert!(!r.is_done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
}

/// test_taskgroups.py `test_taskgroup_12`: as `test_taskgroup_11` with a long child in the
/// outer group: the runner ends cancelled and the outer child is cancelled too.
#[aioloop::test(start_paused)]
async fn test_taskgroup_12() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let r = spawn(TaskGroup::<&str>::run(|g1| async move {
        g1.spawn(sleeper(10 * SEC, n)).unwrap();
        TaskGroup::<&str>::run(|g2| async move {
            for _ in 0..5 {
                g2.spawn(crash_after(100 * MS, "ZeroDivisionError")).unwrap();
            }
            sleep(10 * SEC).await;
        })
        .await
    }));
    sleep(100 * MS).await;
    assert!(!r.is_done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    yield_now().await;
    assert_eq!(num.get(), 1, "the outer child was cancelled");
}

/// test_taskgroups.py `test_taskgroup_14`: the inner group's child fails first. In asyncio the
/// inner group raises its `ExceptionGroup` out of the outer body, which cancels the outer child
/// at once. Documented difference (docs/asyncio.md, `TaskGroup` row): the body's output is a
/// plain value, so an inner group's `Err` returned by the outer body does not cancel the outer
/// children; the outer group waits for its child, whose own failure (at 10 s) is then its
/// error. A body that wants asyncio's behaviour cancels the group (here: `g1`'s sibling is
/// stopped with the group's `cancel` in the manual form) or panics.
#[aioloop::test(start_paused)]
async fn test_taskgroup_14() {
    let start = get_running_loop().time();
    let out = TaskGroup::<&str>::run(|g1| async move {
        g1.spawn(crash_after(10 * SEC, "ValueError(10)")).unwrap();
        TaskGroup::<&str>::run(|g2| async move {
            g2.spawn(crash_after(100 * MS, "ValueError(0.1)")).unwrap();
        })
        .await
    })
    .await;
    let errors = out.unwrap_err();
    assert!(only_failures(&errors, &"ValueError(10)"), "{errors:?}");
    assert_eq!(get_running_loop().time() - start, 10 * SEC);

    // The manual form: the inner failure cancels the outer group at once.
    let start = get_running_loop().time();
    let g1 = TaskGroup::<&str>::new();
    let outer_child = g1.spawn(crash_after(10 * SEC, "ValueError(10)")).unwrap();
    let inner = TaskGroup::<&str>::run(|g2| async move {
        g2.spawn(crash_after(100 * MS, "ValueError(0.1)")).unwrap();
    })
    .await;
    let inner_errors = inner.unwrap_err();
    assert!(only_failures(&inner_errors, &"ValueError(0.1)"));
    g1.cancel();
    assert!(g1.join().await.is_ok(), "a cancelled group has no child error");
    assert!(outer_child.is_cancelled());
    assert_eq!(get_running_loop().time() - start, 100 * MS);
}

/// test_taskgroups.py `test_taskgroup_16`: the group runs in a task awaited by the runner; the
/// runner is cancelled, which cancels the awaited task; its body runs an awaited cleanup during
/// which a child crashes; the runner ends cancelled, and so does the nested task.
#[aioloop::test(start_paused)]
async fn test_taskgroup_16() {
    let nested = Rc::new(RefCell::new(None));
    let slot = nested.clone();
    let r = spawn(async move {
        let t = spawn(async {
            let out = TaskGroup::<&str>::run(|g1| async move {
                g1.spawn(crash_after(300 * MS, "ZeroDivisionError")).unwrap();
                if until_cancelled(sleep(10 * SEC)).await.is_err() {
                    sleep(500 * MS).await;
                }
            })
            .await;
            out.is_ok()
        })
        .shared();
        *slot.borrow_mut() = Some(t.clone());
        let _ = t.await;
    });
    sleep(100 * MS).await;
    assert!(!r.is_done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    let nested = nested.borrow_mut().take().unwrap();
    assert!(nested.await.unwrap_err().is_cancelled());
}

/// test_taskgroups.py `test_taskgroup_17`: a group without children whose body is cancelled
/// (through its runner) runs the body's cleanup and the runner ends cancelled.
#[aioloop::test(start_paused)]
async fn test_taskgroup_17() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let r = spawn(TaskGroup::<()>::run(|_g| async move {
        if until_cancelled(sleep(10 * SEC)).await.is_err() {
            n.set(n.get() + 10);
        }
    }));
    sleep(100 * MS).await;
    assert!(!r.is_done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    assert_eq!(num.get(), 10);
}

/// test_taskgroups.py `test_taskgroup_22`: the runner is cancelled while both children still
/// sleep: it ends cancelled (and the children are cancelled with it).
#[aioloop::test(start_paused)]
async fn test_taskgroup_22() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let r = spawn(TaskGroup::<&str>::run(|g| async move {
        g.spawn(sleeper(SEC, n.clone())).unwrap();
        g.spawn(sleeper(2 * SEC, n)).unwrap();
    }));
    sleep(50 * MS).await;
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    yield_now().await;
    assert_eq!(num.get(), 2);
}

/// test_taskgroups.py `test_taskgroup_24`: a child adds two children to the group after a sleep;
/// the group waits for them too (it ends at 0.1 + 0.2 s).
#[aioloop::test(start_paused)]
async fn test_taskgroup_24() {
    let start = get_running_loop().time();
    let finished = Rc::new(Cell::new(0));
    let f = finished.clone();
    TaskGroup::<()>::run(|g| async move {
        let g2 = g.clone();
        g.spawn_plain(async move {
            sleep(100 * MS).await;
            for delay in [100 * MS, 200 * MS] {
                let f = f.clone();
                g2.spawn_plain(async move {
                    sleep(delay).await;
                    f.set(f.get() + 1);
                })
                .unwrap();
            }
        })
        .unwrap();
    })
    .await
    .unwrap();
    assert_eq!(finished.get(), 2);
    assert_eq!(get_running_loop().time() - start, 300 * MS);
}

/// test_taskgroups.py `test_taskgroup_no_create_task_after_failure`: a child that observes the
/// group's cancellation (after a sibling failed) cannot spawn into it any more; the group reports
/// the failure only.
#[aioloop::test(start_paused)]
async fn test_taskgroup_no_create_task_after_failure() {
    let refused = Rc::new(Cell::new(false));
    let flag = refused.clone();
    let out = TaskGroup::<&str>::run(|g| async move {
        g.spawn(crash_after(MS, "ZeroDivisionError")).unwrap();
        let g2 = g.clone();
        g.spawn(async move {
            if until_cancelled(sleep(SEC)).await.is_err() {
                flag.set(g2.spawn(crash_after(MS, "late")).is_err());
            }
            Ok(())
        })
        .unwrap();
    })
    .await;
    assert!(refused.get(), "spawn during the group's cancellation is refused");
    let errors = out.unwrap_err();
    assert!(only_failures(&errors, &"ZeroDivisionError"), "{errors:?}");
}

/// test_taskgroups.py `test_cancelling_level_preserved`: a group whose child failed leaves the
/// enclosing task's `cancelling()` count at 0 (asyncio uncancels what it cancelled; aioloop
/// drops the body without touching the task's count).
#[aioloop::test]
async fn test_cancelling_level_preserved() {
    let out = TaskGroup::<&str>::run(|g| async move {
        g.spawn(crash_after(Duration::ZERO, "RuntimeError")).unwrap();
    })
    .await;
    assert!(only_failures(&out.unwrap_err(), &"RuntimeError"));
    assert_eq!(current_task().unwrap().cancelling(), 0);
}

/// test_taskgroups.py `test_cancellation_does_not_leak_out_of_tg`: after a group whose child
/// failed at once, the enclosing task is not cancelled: it runs on across an iteration.
#[aioloop::test]
async fn test_cancellation_does_not_leak_out_of_tg() {
    let out = TaskGroup::<&str>::run(|g| async move {
        g.spawn(async { Err::<(), _>("MyError") }).unwrap();
    })
    .await;
    assert!(only_failures(&out.unwrap_err(), &"MyError"));
    yield_now().await;
    sleep(MS).await;
    assert_eq!(current_task().unwrap().cancelling(), 0);
}

/// test_taskgroups.py `test_nested_groups_both_cancelled`: an inner child and an outer child
/// (spawned from the inner body) fail in the same iteration. Both groups report their own
/// failure only, and the task's `cancelling()` is 0 afterwards. Documented model (cancellation
/// is dropping): the outer failure drops the outer body, with the inner group in it, at its
/// await, so the code after the inner group (where asyncio's test reads `cancelling() == 1`)
/// does not run and the inner group's errors are not seen by anyone.
#[aioloop::test]
async fn test_nested_groups_both_cancelled() {
    let after_inner = Rc::new(Cell::new(false));
    let flag = after_inner.clone();
    let out = TaskGroup::<&str>::run(|outer| async move {
        let inner = TaskGroup::<&str>::run(|inner| async move {
            inner.spawn(crash_after(Duration::ZERO, "RuntimeError")).unwrap();
            outer.spawn(crash_after(Duration::ZERO, "ValueError")).unwrap();
        })
        .await;
        flag.set(true);
        inner.is_err()
    })
    .await;
    let errors = out.unwrap_err();
    assert!(only_failures(&errors, &"ValueError"), "{errors:?}");
    assert!(!after_inner.get());
    assert_eq!(current_task().unwrap().cancelling(), 0);
}

/// test_taskgroups.py `test_error_and_cancel`: the task running a group is cancelled from
/// outside in the iteration in which a child fails: its `cancelling()` goes from 0 to 1 with
/// the `cancel()`, and it ends cancelled (the code after the group never runs).
#[aioloop::test(start_paused)]
async fn test_error_and_cancel() {
    let event = aioloop::Future::<()>::new();
    let after = Rc::new(Cell::new(false));
    let (ev, flag) = (event.clone(), after.clone());
    let t = spawn(async move {
        let out = TaskGroup::<&str>::run(|tg| async move {
            tg.spawn(async move {
                ev.set_result(()).unwrap();
                yield_now().await;
                Err::<(), _>("RuntimeError")
            })
            .unwrap();
            sleep(SEC).await;
            unreachable!("sleep in group should have been cancelled");
        })
        .await;
        flag.set(true);
        let _ = out;
        sleep(SEC).await;
    });
    event.await.unwrap();
    assert_eq!(t.cancelling(), 0);
    t.cancel();
    assert_eq!(t.cancelling(), 1);
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(
        !after.get(),
        "the cancel reached the task before the group returned"
    );
}

/// test_taskgroups.py `test_name`: a child spawned with a name sees it as its own
/// `current_task()` name.
#[aioloop::test]
async fn test_name() {
    let name = Rc::new(RefCell::new(String::new()));
    let n = name.clone();
    TaskGroup::<()>::run(|tg| async move {
        tg.spawn_named("example name", async move {
            *n.borrow_mut() = current_task().unwrap().name();
            Ok(())
        })
        .unwrap();
    })
    .await
    .unwrap();
    assert_eq!(*name.borrow(), "example name");
}

/// test_taskgroups.py `test_cancels_task_if_created_during_creation` (gh-128550): a child
/// spawns a sibling that fails in its first step; the spawning child is cancelled at an await
/// that follows (by its second `sleep(0)`, as asyncio's lazy tasks), observes it, and the group
/// reports the sibling's error.
#[aioloop::test]
async fn test_cancels_task_if_created_during_creation() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let out = TaskGroup::<&str>::run(|tg| async move {
        let tg2 = tg.clone();
        tg.spawn(async move {
            tg2.spawn(async { Err::<(), _>("third task failed") }).unwrap();
            let steps = until_cancelled(async {
                yield_now().await;
                yield_now().await;
            })
            .await;
            flag.set(steps.is_err());
            Ok(())
        })
        .unwrap();
    })
    .await;
    assert!(ran.get(), "the spawning child saw its cancellation");
    let errors = out.unwrap_err();
    assert!(only_failures(&errors, &"third task failed"), "{errors:?}");
}

/// test_taskgroups.py `test_coro_closed_when_tg_closed`: a future handed to a finished group is
/// refused and dropped at once, never run (asyncio closes the coroutine).
#[aioloop::test]
async fn test_coro_closed_when_tg_closed() {
    let kept = Rc::new(RefCell::new(None));
    let k = kept.clone();
    TaskGroup::<()>::run(|tg| async move {
        *k.borrow_mut() = Some(tg.clone());
    })
    .await
    .unwrap();
    let dropped = Rc::new(Cell::new(0));
    let guard = AddOnDrop(dropped.clone(), 1);
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let tg = kept.borrow_mut().take().unwrap();
    assert!(tg
        .spawn_plain(async move {
            let _guard = guard;
            r.set(true);
        })
        .is_err());
    assert_eq!(dropped.get(), 1, "the refused future was dropped at once");
    yield_now().await;
    assert!(!ran.get());
}

/// test_taskgroups.py `test_exception_refcycles_propagate_cancellation_error`, its behaviour
/// without the refcount check: a group inside an expired `timeout` scope has its body (and its
/// child) cancelled and the scope reports `TimeoutError`, whose cause is a `CancelledError`.
#[aioloop::test(start_paused)]
async fn test_exception_refcycles_propagate_cancellation_error() {
    let num = Rc::new(Cell::new(0));
    let n = num.clone();
    let scope = aioloop::timeout_scope(Duration::ZERO);
    let out = scope
        .run(TaskGroup::<&str>::run(|tg| async move {
            tg.spawn(sleeper(SEC, n)).unwrap();
            yield_now().await;
        }))
        .await;
    let err = out.unwrap_err();
    let cause = std::error::Error::source(&err).expect("a cause");
    assert!(cause.is::<aioloop::CancelledError>(), "{cause:?}");
    yield_now().await;
    assert_eq!(num.get(), 1, "the child was cancelled");
}
