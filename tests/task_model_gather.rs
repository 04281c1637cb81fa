//! Issue 17, item 2: gathered coroutines are tasks, as asyncio's gather wraps each awaitable
//! with ensure_future.

use std::time::Duration;

use aioloop::{all_tasks, current_task, gather, spawn, try_gather};

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
