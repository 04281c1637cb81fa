//! wait(tasks, ReturnWhen, timeout): asyncio's wait behaviours, ported (virtual clock).

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, wait, wait_for, yield_now, ReturnWhen, Task};
use support::Drops;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A task that sleeps `s` seconds, logs its id and returns it.
fn sleeper(id: u32, s: u64, log: &Rc<RefCell<Vec<u32>>>) -> Task<u32> {
    let log = log.clone();
    spawn(async move {
        sleep(secs(s)).await;
        log.borrow_mut().push(id);
        id
    })
}

fn ids<T: 'static>(tasks: &[Task<T>]) -> Vec<String> {
    tasks.iter().map(|t| t.name()).collect()
}

#[aioloop::test(start_paused)]
async fn first_completed_splits_done_and_pending_and_leaves_pending_running() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = vec![sleeper(0, 3, &log), sleeper(1, 1, &log), sleeper(2, 2, &log)];
    let names = ids(&tasks);
    let t0 = aioloop::get_running_loop().time();
    let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(1));
    assert_eq!(ids(&done), [names[1].clone()]);
    assert_eq!(ids(&pending), [names[0].clone(), names[2].clone()]);
    assert!(pending.iter().all(|t| !t.is_done()));
    // The done task's outcome is still there; the pending ones were not cancelled.
    assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 1);
    let mut outs = Vec::new();
    for t in pending {
        outs.push(t.await.unwrap());
    }
    assert_eq!(outs, [0, 2]);
    assert_eq!(*log.borrow(), [1, 2, 0]);
}

#[aioloop::test(start_paused)]
async fn every_task_finished_in_the_same_iteration_is_done() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = vec![
        sleeper(0, 2, &log),
        sleeper(1, 1, &log),
        sleeper(2, 1, &log),
        sleeper(3, 1, &log),
    ];
    let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
    assert_eq!(done.len(), 3, "the three 1 s tasks finished together");
    assert_eq!(pending.len(), 1);
    for t in pending {
        t.cancel();
    }
}

#[aioloop::test(start_paused)]
async fn all_completed_waits_for_every_task() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..50).map(|i| sleeper(i, 50 - u64::from(i), &log)).collect();
    let (done, pending) = wait(tasks, ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (50, 0));
    assert_eq!(log.borrow().len(), 50);
    let outs: Vec<u32> = aioloop::gather(done)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outs,
        (0..50).collect::<Vec<_>>(),
        "done keeps the order of the input"
    );
}

/// A task that sleeps `s` seconds and panics.
fn panicker(s: u64) -> Task<u32> {
    spawn(async move {
        sleep(secs(s)).await;
        panic!("task failed after {s} s");
    })
}

#[aioloop::test(start_paused)]
async fn first_exception_returns_at_the_first_panic_not_the_first_completion() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = vec![sleeper(0, 1, &log), panicker(2), sleeper(2, 3, &log)];
    let t0 = aioloop::get_running_loop().time();
    let (done, pending) = wait(tasks, ReturnWhen::FirstException, None).await;
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(2));
    assert_eq!((done.len(), pending.len()), (2, 1));
    let mut done = done.into_iter();
    assert_eq!(done.next().unwrap().await.unwrap(), 0);
    let err = done.next().unwrap().await.unwrap_err();
    assert_eq!(err.panic_message(), Some("task failed after 2 s"));
    assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), 2);
}

#[aioloop::test(start_paused)]
async fn first_exception_ignores_cancellation_and_waits_for_all_without_a_panic() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = vec![sleeper(0, 5, &log), sleeper(1, 1, &log), sleeper(2, 2, &log)];
    tasks[0].cancel();
    let t0 = aioloop::get_running_loop().time();
    let (done, pending) = wait(tasks, ReturnWhen::FirstException, None).await;
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(2));
    assert_eq!((done.len(), pending.len()), (3, 0));
    assert!(done[0].is_cancelled());
}

#[aioloop::test(start_paused)]
async fn first_completed_counts_a_task_already_done() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let quick = spawn(async { 7u32 });
    yield_now().await;
    assert!(quick.is_done());
    let t0 = aioloop::get_running_loop().time();
    let (done, pending) = wait(
        vec![sleeper(0, 60, &log), quick],
        ReturnWhen::FirstCompleted,
        None,
    )
    .await;
    assert_eq!(aioloop::get_running_loop().time(), t0);
    assert_eq!((done.len(), pending.len()), (1, 1));
    pending[0].cancel();
}

#[aioloop::test(start_paused)]
async fn a_timeout_returns_what_is_done_and_cancels_nothing() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = vec![sleeper(0, 1, &log), sleeper(1, 10, &log), sleeper(2, 3, &log)];
    let t0 = aioloop::get_running_loop().time();
    let (done, pending) = wait(tasks, ReturnWhen::AllCompleted, Some(secs(5))).await;
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(5));
    assert_eq!((done.len(), pending.len()), (2, 1));
    assert!(!pending[0].is_cancelled());
    assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), 1);
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(10));
}

#[aioloop::test(start_paused)]
async fn an_empty_wait_returns_at_once() {
    let (done, pending) = wait(Vec::<Task<()>>::new(), ReturnWhen::AllCompleted, Some(secs(1))).await;
    assert!(done.is_empty() && pending.is_empty());
}

#[aioloop::test(start_paused)]
async fn dropping_an_unfinished_wait_detaches_its_tasks() {
    let drops = Drops::new();
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let guard = drops.guard();
            spawn(async move {
                sleep(secs(10 + i)).await;
                drop(guard);
            })
        })
        .collect();
    let waiting = wait(tasks, ReturnWhen::FirstCompleted, None);
    assert!(wait_for(waiting, secs(1)).await.is_err());
    assert_eq!(drops.count(), 0, "the tasks were neither cancelled nor dropped");
    sleep(secs(20)).await;
    assert_eq!(drops.count(), 3, "they ran to completion");
}

#[aioloop::test]
async fn many_tasks_one_finishing_at_a_time() {
    // 2000 tasks finish one per iteration; a FirstCompleted wait over all of them returns
    // after the first, and repeated waits over the pending set see them in order.
    let tasks: Vec<Task<usize>> = (0..2000)
        .map(|i| {
            spawn(async move {
                for _ in 0..i {
                    yield_now().await;
                }
                i
            })
        })
        .collect();
    let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 0);
    let (second, pending) = wait(pending, ReturnWhen::FirstCompleted, None).await;
    assert_eq!(second.len(), 1, "one task finishes per iteration");
    assert_eq!(second.into_iter().next().unwrap().await.unwrap(), 1);
    let (rest, pending) = wait(pending, ReturnWhen::AllCompleted, None).await;
    assert_eq!((rest.len(), pending.len()), (1998, 0));
}

/// asyncio's `wait` never cancels the tasks it watches, also when the `wait` itself is dropped
/// by a zero `wait_for` (a scope where every dropped handle counts as awaited): they detach and
/// run on. Before, the watched task was cancelled with the `wait` (the same trap `shield` had).
#[aioloop::test(start_paused)]
async fn a_wait_dropped_by_a_zero_wait_for_leaves_its_tasks_running() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let task = sleeper(1, 1, &log);
    let id = task.id();
    let timed_out = wait_for(wait([task], ReturnWhen::AllCompleted, None), Duration::ZERO).await;
    assert!(timed_out.is_err());
    yield_now().await;
    let running = aioloop::all_tasks().iter().any(|t| t.id() == id && !t.is_done());
    assert!(running, "the watched task was cancelled with the wait");
    sleep(secs(2)).await;
    assert_eq!(*log.borrow(), [1], "the watched task ran to its end");
}
