//! Tasks through the public API: order, yield, spawn from anywhere, cancellation.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use aioloop::{spawn, yield_now, TaskError};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn spawned_tasks_run_in_fifo_order() {
    let order = aioloop::run(async {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let seen = seen.clone();
                spawn(async move { seen.borrow_mut().push(i) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        Rc::try_unwrap(seen).unwrap().into_inner()
    });
    assert_eq!(order, (0..100).collect::<Vec<_>>());
}

#[test]
fn yield_now_interleaves_two_tasks_one_step_at_a_time() {
    let steps = log();
    let out = steps.clone();
    aioloop::run(async move {
        let make = |name: &'static str| {
            let steps = out.clone();
            spawn(async move {
                for i in 0..4 {
                    steps.borrow_mut().push(format!("{name}{i}"));
                    yield_now().await;
                }
            })
        };
        let a = make("a");
        let b = make("b");
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(*steps.borrow(), ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3"]);
}

#[test]
fn yield_now_gives_exactly_one_iteration_to_callbacks() {
    let steps = log();
    let out = steps.clone();
    aioloop::run(async move {
        let task = spawn({
            let out = out.clone();
            async move {
                out.borrow_mut().push("task-1".into());
                let cb = out.clone();
                // Scheduled now: runs in the next iteration, before the task's next step.
                aioloop::call_soon(move || cb.borrow_mut().push("callback".into()));
                yield_now().await;
                out.borrow_mut().push("task-2".into());
            }
        });
        task.await.unwrap();
    });
    assert_eq!(*steps.borrow(), ["task-1", "callback", "task-2"]);
}

#[test]
fn spawn_from_inside_a_task() {
    let out = aioloop::run(async {
        let outer = spawn(async {
            let inner = spawn(async { spawn(async { 3 }).await.unwrap() * 2 });
            inner.await.unwrap() + 1
        });
        outer.await.unwrap()
    });
    assert_eq!(out, 7);
}

#[test]
fn spawn_from_a_drop_impl() {
    struct SpawnOnDrop(Rc<Cell<bool>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let flag = self.0.clone();
            drop(spawn(async move { flag.set(true) }));
        }
    }
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    aioloop::run(async move {
        let task = spawn(async move {
            let _guard = SpawnOnDrop(flag);
            yield_now().await;
        });
        task.await.unwrap();
        // The guard dropped when the task finished; its spawned task runs now.
        yield_now().await;
        yield_now().await;
    });
    assert!(ran.get());
}

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancel_before_first_poll_never_runs_the_future() {
    aioloop::run(async {
        let started = Rc::new(Cell::new(false));
        let dropped = Rc::new(Cell::new(false));
        let (s, guard) = (started.clone(), DropFlag(dropped.clone()));
        let task = spawn(async move {
            let _guard = guard;
            s.set(true);
        });
        assert!(task.cancel());
        assert!(!task.is_done(), "cancellation happens at the next iteration");
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!started.get());
        assert!(dropped.get(), "the future (and what it owns) was dropped");
    });
}

#[test]
fn cancel_while_pending_drops_the_future() {
    aioloop::run(async {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let task = spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        assert!(!dropped.get());
        assert!(task.cancel());
        assert!(
            task.cancel(),
            "cancelling twice before it lands still reports not-done"
        );
        yield_now().await;
        assert!(dropped.get());
        assert!(task.is_done());
        assert!(task.is_cancelled());
        assert!(!task.cancel(), "cancelling a finished task returns false");
        assert!(matches!(task.await, Err(TaskError::Cancelled)));
    });
}

#[test]
fn cancel_after_completion_returns_false_and_keeps_the_output() {
    aioloop::run(async {
        let task = spawn(async { 5 });
        yield_now().await;
        assert!(task.is_done());
        assert!(!task.cancel());
        assert!(!task.is_cancelled());
        assert_eq!(task.await.unwrap(), 5);
    });
}

#[test]
fn a_task_can_cancel_itself() {
    aioloop::run(async {
        let after = Rc::new(Cell::new(false));
        let flag = after.clone();
        let task = spawn(async move {
            aioloop::current_task().unwrap().cancel();
            yield_now().await;
            flag.set(true);
        });
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(!after.get(), "code after the next await never ran");
    });
}

#[test]
fn dropping_a_task_detaches_it() {
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    aioloop::run(async move {
        drop(spawn(async move {
            yield_now().await;
            yield_now().await;
            flag.set(true);
        }));
        for _ in 0..4 {
            yield_now().await;
        }
    });
    assert!(done.get());
}

#[test]
fn names_ids_current_and_all_tasks() {
    aioloop::run(async {
        let a = aioloop::spawn_named("alpha", std::future::pending::<()>());
        let b = spawn(async { aioloop::current_task().map(|t| t.name()) });
        assert_eq!(a.name(), "alpha");
        assert_eq!(b.name(), format!("Task-{}", b.id()));
        assert_ne!(a.id(), b.id());
        let names: Vec<String> = aioloop::all_tasks().iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), 3, "main, alpha and b");
        assert!(names.contains(&"alpha".to_string()));
        let b_name = b.name();
        assert_eq!(b.await.unwrap(), Some(b_name));
        assert_eq!(aioloop::all_tasks().len(), 2);
        a.cancel();
        yield_now().await;
        assert_eq!(aioloop::all_tasks(), [aioloop::current_task().unwrap()]);
    });
}

#[test]
fn many_tasks_complete() {
    let sum = aioloop::run(async {
        let n = if cfg!(miri) { 100 } else { 10_000u64 };
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..if cfg!(miri) { 100 } else { 10_000u64 }).sum());
}

#[test]
fn many_wakes_in_one_step_queue_the_task_once() {
    use std::future::poll_fn;
    use std::task::Poll;
    let polls = aioloop::run(async {
        let polls = Rc::new(Cell::new(0u32));
        let counter = polls.clone();
        let task = spawn(poll_fn(move |cx| {
            counter.set(counter.get() + 1);
            if counter.get() == 1 {
                for _ in 0..100 {
                    cx.waker().wake_by_ref();
                }
                let clone = cx.waker().clone();
                clone.wake();
                return Poll::Pending;
            }
            Poll::Ready(())
        }));
        task.await.unwrap();
        polls.get()
    });
    assert_eq!(polls, 2, "101 wakes in one step cause exactly one more poll");
}

#[test]
fn a_stale_waker_does_not_poll_a_finished_or_reused_slot() {
    use std::future::poll_fn;
    use std::task::{Poll, Waker};
    aioloop::run(async {
        let stash: Rc<RefCell<Option<Waker>>> = Rc::new(RefCell::new(None));
        let s = stash.clone();
        spawn(poll_fn(move |cx| {
            *s.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(())
        }))
        .await
        .unwrap();
        // The slot is free now; a new task may take the same key with a new generation.
        let polls = Rc::new(Cell::new(0u32));
        let counter = polls.clone();
        let reused = spawn(poll_fn(move |_| {
            counter.set(counter.get() + 1);
            Poll::<()>::Pending
        }));
        yield_now().await;
        assert_eq!(polls.get(), 1);
        stash.borrow_mut().take().unwrap().wake();
        yield_now().await;
        yield_now().await;
        assert_eq!(polls.get(), 1, "the stale waker did not poll the new occupant");
        reused.cancel();
    });
}

/// A task's name answers after its outcome was taken and after its loop was dropped, as
/// asyncio's `Task.get_name()` does on a finished task; an unnamed task is `Task-<id>`.
#[test]
fn a_task_name_outlives_the_outcome_and_the_loop() {
    let event_loop = aioloop::EventLoop::new().unwrap();
    let (mut done, pending) = event_loop.run_until_complete(async {
        let mut done = aioloop::spawn_named("done", async { 1 });
        let pending = aioloop::spawn_named("pending", std::future::pending::<()>());
        assert_eq!((&mut done).await.unwrap(), 1);
        (done, pending)
    });
    assert_eq!(done.name(), "done");
    assert!(done.result().is_none());
    assert_eq!(
        format!("{done:?}"),
        format!("Task {{ id: {:?}, name: Some(\"done\"), .. }}", done.id())
    );
    drop(event_loop);
    assert_eq!(pending.name(), "pending");
    let unnamed = aioloop::EventLoop::new().unwrap().spawn(async {});
    assert_eq!(unnamed.name(), format!("Task-{}", unnamed.id()));
    assert_eq!(
        format!("{unnamed:?}"),
        format!("Task {{ id: {:?}, name: None, .. }}", unnamed.id())
    );
}
