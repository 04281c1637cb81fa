//! Issue 17, item 1: the main coroutine is a task (asyncio.run, run_until_complete's
//! ensure_future), while a future that is already scheduled is awaited as it is.

use std::time::Duration;

use aioloop::{all_tasks, current_task, gather, spawn, EventLoop};

/// asyncio.run(main()): `current_task()` inside main is main's own task, listed by
/// `all_tasks()`, with an id and a name (test_tasks: test_current_task, and
/// test_runners' test_asyncio_run_only_coro's "main is a task" premise).
#[test]
fn test_current_task_in_main_coroutine() {
    aioloop::run(async {
        let me = current_task().expect("the main coroutine is a task");
        assert!(me.name().starts_with("Task-"), "{}", me.name());
        let all = all_tasks();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0], me);
        let child = spawn(async { current_task().unwrap() });
        let child_ref = child.await.unwrap();
        assert_ne!(child_ref, me, "the child is a task of its own");
        assert_eq!(current_task().unwrap(), me, "back in main after awaiting");
    });
}

/// `#[aioloop::test]` runs its body as a task too.
#[aioloop::test]
async fn test_current_task_in_test_body() {
    assert!(current_task().is_some());
    assert_eq!(all_tasks().len(), 1);
}

/// run_until_complete keeps accepting futures that borrow (no `'static` bound), and runs
/// them as a task (test_base_events: test_run_until_complete calls ensure_future).
#[test]
fn test_run_until_complete_borrowing_future_is_a_task() {
    let event_loop = EventLoop::new().unwrap();
    let mut local = String::from("borrowed");
    let seen = event_loop.run_until_complete(async {
        local.push('!');
        (current_task().is_some(), all_tasks().len())
    });
    assert_eq!(seen, (true, 1));
    assert_eq!(local, "borrowed!");
    // The main task is gone once run_until_complete returns.
    assert!(event_loop.run_until_complete(async { all_tasks().len() }) == 1);
}

/// ensure_future does not wrap what is already a future: run_until_complete(task) awaits the
/// task itself, so `all_tasks()` inside it holds that task alone (test_tasks:
/// test_ensure_future_task).
#[test]
fn test_ensure_future_task_is_not_wrapped() {
    let event_loop = EventLoop::new().unwrap();
    let task = event_loop.spawn(async {
        aioloop::yield_now().await;
        all_tasks().len()
    });
    assert_eq!(event_loop.run_until_complete(task).unwrap(), 1);
}

/// run_until_complete(gather(...)) awaits the gather object itself: the gathered coroutines
/// are the only tasks (test_tasks: GatherTests's run_until_complete(gather(...)), and
/// Listing 2 of the restaurant tutorial).
#[test]
fn test_gather_future_passed_to_run_until_complete_is_not_wrapped() {
    let event_loop = EventLoop::builder().start_paused(true).build().unwrap();
    let counts = event_loop.run_until_complete(gather!(
        async {
            aioloop::sleep(Duration::from_secs(1)).await;
            all_tasks().len()
        },
        async { all_tasks().len() },
    ));
    assert_eq!(counts, (1, 2));
}

/// A coroutine that awaits a gather is a task of its own beside the gathered ones.
#[test]
fn test_coroutine_awaiting_gather_is_a_task() {
    let counts = aioloop::run(async { gather!(async { all_tasks().len() }, async { 0 }).await });
    assert_eq!(counts.0, 3);
}
