//! Issue 17, item 2: gathered coroutines are tasks, as asyncio's gather wraps each awaitable
//! with ensure_future.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{all_tasks, current_task, gather, spawn, try_gather, yield_now};

/// Inside a gathered coroutine, `current_task()` is that coroutine's task, and each has its
/// own (test_tasks: GatherTests, each child is a task; test_current_task).
#[test]
fn test_gather_children_are_tasks() {
    aioloop::run(async {
        let main = current_task().unwrap();
        let ids =
            gather((0..3).map(|_| async { current_task().expect("a gathered coroutine is a task") })).await;
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        assert!(ids.iter().all(|id| *id != main));
        assert_eq!(current_task().unwrap(), main);
    });
}

/// `all_tasks()` lists the gathered coroutines while they run, and drops each once it ends.
#[aioloop::test(start_paused)]
async fn test_all_tasks_lists_gathered_children() {
    let (a, b, c) = gather!(
        async {
            aioloop::sleep(Duration::from_secs(1)).await;
            all_tasks().len()
        },
        async {
            aioloop::sleep(Duration::from_secs(2)).await;
            all_tasks().len()
        },
        async { all_tasks().len() },
    )
    .await;
    // main + 3 children at first; main + the slow child at the end.
    assert_eq!((c, a, b), (4, 3, 2));
    assert_eq!(all_tasks().len(), 1);
}

/// try_gather's children are tasks too.
#[test]
fn test_try_gather_children_are_tasks() {
    let out: Result<Vec<bool>, ()> =
        aioloop::run(try_gather((0..2).map(|_| async { Ok(current_task().is_some()) })));
    assert_eq!(out, Ok(vec![true, true]));
}

/// A Task given to gather is awaited as it is, not wrapped in another task
/// (test_tasks: test_gather_shield / ensure_future(task) is task).
#[test]
fn test_gather_of_a_task_does_not_wrap_it() {
    aioloop::run(async {
        let task = spawn(async {
            aioloop::yield_now().await;
            current_task().unwrap()
        });
        let id = task.id();
        let (inner, count) = gather!(task, async { all_tasks().len() }).await;
        assert_eq!(inner.unwrap().id(), id);
        // main, the spawned task and the coroutine: no fourth wrapper task.
        assert_eq!(count, 3);
    });
}

/// A gathered coroutine that cancels itself (its identity made by `current_task()` after its
/// first poll) is dropped, and the task awaiting the gather is cancelled with it, as asyncio's
/// gather raises `CancelledError` when a child is cancelled.
#[test]
fn test_gathered_child_cancelled_through_current_task() {
    aioloop::run(async {
        let outer = spawn(async {
            gather!(
                async {
                    yield_now().await;
                    current_task().unwrap().cancel();
                    yield_now().await;
                    unreachable!("a cancelled child is not resumed");
                },
                async {
                    aioloop::sleep(Duration::from_secs(3600)).await;
                },
            )
            .await
        });
        assert!(outer.await.unwrap_err().is_cancelled());
    });
}

/// A gathered coroutine found through `all_tasks()` before it ran can be cancelled: its
/// identity exists from the start, as asyncio's gather makes every task first.
#[test]
fn test_gathered_child_cancelled_through_all_tasks_before_it_ran() {
    let resumed = Rc::new(Cell::new(false));
    let seen = resumed.clone();
    aioloop::run(async move {
        let main = current_task().unwrap().id();
        let outer = spawn(async move {
            let outer = current_task().unwrap().id();
            gather!(
                async move {
                    let me = current_task().unwrap().id();
                    let others: Vec<_> = all_tasks()
                        .into_iter()
                        .filter(|t| ![main, outer, me].contains(&t.id()))
                        .collect();
                    assert_eq!(others.len(), 1, "the sibling is listed before its first poll");
                    assert!(others[0].cancel());
                },
                async move {
                    yield_now().await;
                    seen.set(true);
                },
            )
            .await
        });
        assert!(outer.await.unwrap_err().is_cancelled());
    });
    assert!(!resumed.get(), "the cancelled sibling was dropped, not resumed");
}

/// A gathered coroutine keeps one identity across its polls, whenever it first asks for it.
#[test]
fn test_gathered_child_identity_is_stable() {
    aioloop::run(async {
        let ids = gather((0..3).map(|_| async {
            yield_now().await;
            let first = current_task().unwrap().id();
            yield_now().await;
            assert_eq!(current_task().unwrap().id(), first);
            first
        }))
        .await;
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
        assert_eq!(all_tasks().len(), 1, "every child's identity is gone");
    });
}

/// A gather dropped while its children run takes their identities with it, whether a child
/// was looked at (it has a slot) or not: `all_tasks()` lists none of them afterwards.
#[test]
fn test_dropped_gather_takes_its_childrens_identities() {
    aioloop::run(async {
        let looked_at = gather((0..3).map(|i| async move {
            if i == 1 {
                let _ = current_task();
            }
            aioloop::sleep(Duration::from_secs(3600)).await;
        }));
        let timed_out = aioloop::wait_for(looked_at, Duration::from_millis(5)).await;
        assert!(timed_out.is_err());
        assert_eq!(all_tasks().len(), 1, "only the main task is left");
        let unseen = gather((0..3).map(|_| aioloop::sleep(Duration::from_secs(3600))));
        assert!(aioloop::wait_for(unseen, Duration::from_millis(5)).await.is_err());
        assert_eq!(all_tasks().len(), 1, "only the main task is left");
    });
}
