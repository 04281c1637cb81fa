//! Issue 18 item 4: `TaskSet`, tokio's `JoinSet` shape. The tests port tokio's
//! tests/task_join_set.rs where it applies to a single-threaded loop (no coop budget, no
//! multi-thread runtime), plus the behaviours that tell a `TaskSet` from a `TaskGroup`.

mod support;

use std::future::pending;
use std::pin::Pin;
use std::time::Duration;

use aioloop::sync::Event;
use aioloop::{sleep, yield_now, EventLoop, TaskError, TaskSet};
use futures_core::Stream;
use support::Drops;

// tokio: test_with_sleep
#[aioloop::test(start_paused)]
async fn test_with_sleep() {
    let mut set = TaskSet::new();
    for i in 0..10 {
        set.spawn(async move { i });
        assert_eq!(set.len(), 1 + i);
    }
    set.detach_all();
    assert_eq!(set.len(), 0);
    assert!(set.join_next().await.is_none());

    for _round in 0..2 {
        for i in 0..10 {
            set.spawn(async move {
                sleep(Duration::from_secs(i as u64)).await;
                i
            });
            assert_eq!(set.len(), 1 + i);
        }
        let mut seen = Vec::new();
        while let Some(res) = set.join_next().await.transpose().unwrap() {
            seen.push(res);
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>(), "completion order");
        assert!(set.join_next().await.is_none());
    }
}

// tokio: test_abort_on_drop
#[test]
fn dropping_the_set_cancels_every_task() {
    let drops = Drops::new();
    aioloop::run(async {
        let mut set = TaskSet::new();
        for _ in 0..16 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        yield_now().await;
        assert_eq!(drops.count(), 0);
        drop(set);
        yield_now().await;
        assert_eq!(drops.count(), 16);
    });
}

// tokio: alternating
#[test]
fn alternating() {
    aioloop::run(async {
        let mut set = TaskSet::new();
        assert_eq!(set.len(), 0);
        set.spawn(async {});
        assert_eq!(set.len(), 1);
        set.spawn(async {});
        assert_eq!(set.len(), 2);
        for _ in 0..16 {
            let () = set.join_next().await.unwrap().unwrap();
            assert_eq!(set.len(), 1);
            set.spawn(async {});
            assert_eq!(set.len(), 2);
        }
    });
}

// tokio: abort_tasks
#[aioloop::test(start_paused)]
async fn cancel_tasks() {
    let mut set = TaskSet::new();
    let (mut cancelled, mut completed) = (0, 0);
    for i in 0..16 {
        let task = set.spawn(async move {
            sleep(Duration::from_secs(i as u64)).await;
            i
        });
        if i % 2 != 0 {
            task.cancel();
        }
    }
    while let Some(outcome) = set.join_next().await {
        match outcome {
            Ok(i) => {
                completed += 1;
                assert_eq!(i % 2, 0);
            }
            Err(e) => {
                assert!(e.is_cancelled());
                cancelled += 1;
            }
        }
    }
    assert_eq!((cancelled, completed), (8, 8));
}

// tokio: runtime_gone
#[test]
fn loop_gone() {
    let mut set = TaskSet::new();
    {
        let event_loop = EventLoop::new().unwrap();
        event_loop.run_until_complete(async {
            set.spawn(pending::<u8>());
        });
        drop(event_loop);
    }
    let outcome = aioloop::run(set.join_next());
    assert!(outcome.unwrap().unwrap_err().is_cancelled());
    assert!(set.is_empty());
}

// tokio: task_panics — but a TaskSet is not fail-fast: the panic is that task's outcome and
// the other task runs on (tokio's join_all would panic).
#[aioloop::test(start_paused)]
async fn a_panic_is_one_outcome_and_the_others_run_on() {
    let mut set: TaskSet<&str> = TaskSet::new();
    set.spawn(async {
        sleep(Duration::from_secs(2)).await;
        "survivor"
    });
    set.spawn(async {
        sleep(Duration::from_secs(1)).await;
        panic!("boom");
    });
    let first = set.join_next().await.unwrap().unwrap_err();
    assert!(matches!(&first, TaskError::Panicked(_)));
    assert!(first.to_string().contains("boom"));
    assert_eq!(set.join_next().await.unwrap().unwrap(), "survivor");
    assert!(set.join_next().await.is_none());
}

// tokio: abort_all
#[aioloop::test(start_paused)]
async fn cancel_all() {
    let mut set: TaskSet<()> = TaskSet::new();
    for _ in 0..5 {
        set.spawn(pending());
    }
    for _ in 0..5 {
        set.spawn(sleep(Duration::from_secs(1)));
    }
    // Now 5 tasks are pending and 5 have finished.
    sleep(Duration::from_secs(2)).await;
    set.cancel_all();
    assert_eq!(set.len(), 10);
    let (mut count, mut ok) = (0, 0);
    while let Some(outcome) = set.join_next().await {
        match outcome {
            Ok(()) => ok += 1,
            Err(e) => assert!(e.is_cancelled()),
        }
        count += 1;
    }
    assert_eq!((count, ok), (10, 5));
    assert_eq!(set.len(), 0);
}

// tokio: try_join_next
#[test]
fn try_join_next() {
    const TASKS: usize = 1000;
    aioloop::run(async {
        let event = Event::new();
        let mut set = TaskSet::new();
        for _ in 0..TASKS {
            let event = event.clone();
            set.spawn(async move { event.wait().await });
        }
        yield_now().await;
        assert!(set.try_join_next().is_none());
        event.set();
        yield_now().await;
        yield_now().await;
        let mut count = 0;
        while let Some(outcome) = set.try_join_next() {
            outcome.unwrap();
            count += 1;
        }
        assert_eq!(count, TASKS);
        assert!(set.is_empty());
    });
}

#[test]
fn outcomes_of_one_iteration_come_in_the_order_the_tasks_finished() {
    aioloop::run(async {
        let mut set = TaskSet::new();
        let event = Event::new();
        // Spawned in order 0..5, but task i waits for i yields after the event.
        for i in (0..5).rev() {
            let event = event.clone();
            set.spawn(async move {
                event.wait().await;
                for _ in 0..i {
                    yield_now().await;
                }
                i
            });
        }
        event.set();
        let mut order = Vec::new();
        while let Some(outcome) = set.join_next().await {
            order.push(outcome.unwrap());
        }
        assert_eq!(order, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn detached_tasks_that_finish_later_do_not_disturb_new_members() {
    aioloop::run(async {
        let mut set = TaskSet::new();
        let release = Event::new();
        for i in 0..4 {
            let release = release.clone();
            set.spawn(async move {
                release.wait().await;
                i
            });
        }
        set.detach_all();
        // New members reuse the same slab keys.
        for i in 10..14 {
            let release = release.clone();
            set.spawn(async move {
                release.wait().await;
                yield_now().await;
                i
            });
        }
        release.set();
        let mut got = Vec::new();
        while let Some(outcome) = set.join_next().await {
            got.push(outcome.unwrap());
        }
        got.sort();
        assert_eq!(got, [10, 11, 12, 13]);
    });
}

#[test]
fn join_next_is_cancel_safe_in_a_select_loop() {
    aioloop::run(async {
        let mut set = TaskSet::new();
        for ms in [5u64, 15, 25] {
            set.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        let mut got = Vec::new();
        let mut ticks = 0;
        while !set.is_empty() {
            aioloop::select! {
                biased;
                Some(outcome) = set.join_next() => got.push(outcome.unwrap()),
                _ = sleep(Duration::from_millis(1)) => ticks += 1,
            }
        }
        assert_eq!(got, [5, 15, 25]);
        assert!(ticks > 0);
    });
}

#[test]
fn spawn_named_and_the_task_ref() {
    aioloop::run(async {
        let mut set = TaskSet::new();
        let task = set.spawn_named("worker", pending::<()>());
        assert_eq!(task.name(), "worker");
        assert!(!task.is_done());
        assert!(task.cancel());
        assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
        assert!(task.is_done());
    });
}

#[test]
fn shutdown_cancels_and_waits() {
    let drops = Drops::new();
    aioloop::run(async {
        let mut set = TaskSet::new();
        for _ in 0..3 {
            let guard = drops.guard();
            set.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        set.spawn(async {});
        yield_now().await;
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(drops.count(), 3);
    });
}

#[test]
fn a_task_set_is_a_stream_of_outcomes() {
    aioloop::run(async {
        let mut set = TaskSet::new();
        for i in 0..3 {
            set.spawn(async move { i });
        }
        assert_eq!(set.size_hint(), (3, Some(3)));
        let mut sum = 0;
        while let Some(outcome) = std::future::poll_fn(|cx| Pin::new(&mut set).poll_next(cx)).await {
            sum += outcome.unwrap();
        }
        assert_eq!(sum, 3);
    });
}

#[test]
#[should_panic(expected = "aioloop::spawn called with no running event loop")]
fn spawn_without_a_running_loop_panics() {
    let mut set = TaskSet::new();
    set.spawn(async {});
}

// tokio: extend
#[test]
fn collect_and_extend() {
    aioloop::run(async {
        let mut set: TaskSet<usize> = (0..5).map(|i| async move { i }).collect();
        set.extend((5..10).map(|i| async move { i }));
        let mut seen = [false; 10];
        while let Some(outcome) = set.join_next().await {
            seen[outcome.unwrap()] = true;
        }
        assert!(seen.iter().all(|&s| s));
    });
}
