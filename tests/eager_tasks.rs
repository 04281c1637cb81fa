//! Eager tasks (`aioloop::spawn_eager`): asyncio's `create_task(coro, eager_start=True)` and
//! `eager_task_factory`. The first group ports CPython's
//! Lib/test/test_asyncio/test_eager_task_factory.py (each test named after its upstream one,
//! `loop.create_task` under the eager factory being `spawn_eager`); the rest check what the
//! nested first step sets aside and puts back (runtime/task/eager.rs): the current task, the
//! context, the coop budget, the cancel scopes, and a panic. Each test fails if `spawn_eager`
//! is replaced by `spawn`, unless its doc says the two agree there.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use aioloop::sync::Queue;
use aioloop::{
    all_tasks, call_soon, current_task, gather, sleep, spawn, spawn_eager, spawn_eager_named, yield_now,
    ContextVar, EventLoop, TaskGroup,
};

fn current_id() -> Option<aioloop::TaskId> {
    current_task().map(|task| task.id())
}

// --- test_eager_task_factory.py ---

/// Upstream: a coroutine that sets a future's result in its eager step finishes there (the
/// task is done when `create_task` returns), and awaiting the future gives the result.
#[test]
fn test_await_future_during_eager_step() {
    let out = aioloop::run(async {
        let fut = aioloop::Future::new();
        let setter = fut.clone();
        let t = spawn_eager(async move { setter.set_result("my message").unwrap() });
        assert!(t.is_done(), "the eager step completed the task");
        fut.await.unwrap()
    });
    assert_eq!(out, "my message");
}

/// Upstream: a coroutine that returns without awaiting is done when `create_task` returns,
/// and awaiting it gives its value.
#[test]
fn test_eager_completion() {
    let out = aioloop::run(async {
        let t = spawn_eager(async { "hello" });
        assert!(t.is_done(), "the eager step completed the task");
        t.await.unwrap()
    });
    assert_eq!(out, "hello");
}

/// Upstream: a coroutine that blocks (sleeps) in its first step is not done when
/// `create_task` returns and finishes later as a normal task. Here also: its first step did
/// run inside the call (which a plain spawn would not).
#[test]
fn test_block_after_eager_step() {
    let out = aioloop::run(async {
        let started = Rc::new(Cell::new(false));
        let flag = started.clone();
        let t = spawn_eager(async move {
            flag.set(true);
            sleep(Duration::from_millis(10)).await;
            "finished after blocking"
        });
        assert!(started.get(), "the first step ran inside spawn_eager");
        assert!(!t.is_done());
        let result = t.await.unwrap();
        result
    });
    assert_eq!(out, "finished after blocking");
}

/// Upstream: cancelling a task that finished in its eager step does nothing (`cancel()` is
/// false) and it keeps its result, not cancelled.
#[test]
fn test_cancellation_after_eager_completion() {
    let out = aioloop::run(async {
        let t = spawn_eager(async { "finished without blocking" });
        assert!(!t.cancel(), "a finished task cannot be cancelled");
        assert!(!t.is_cancelled());
        t.await.unwrap()
    });
    assert_eq!(out, "finished without blocking");
}

/// Upstream: a task that blocked in its eager step can be cancelled with a message; its
/// `cancelling()` count is above zero and awaiting it raises `CancelledError` with the
/// message. Here also: its first step ran before the cancel.
#[test]
fn test_cancellation_after_eager_step_blocks() {
    aioloop::run(async {
        let started = Rc::new(Cell::new(false));
        let flag = started.clone();
        let t = spawn_eager(async move {
            flag.set(true);
            sleep(Duration::from_millis(100)).await;
            "finished after blocking"
        });
        assert!(started.get(), "the first step ran inside spawn_eager");
        assert!(t.cancel_with("cancellation message"));
        assert!(t.cancelling() > 0);
        let message = t.cancel_message();
        let err = t.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(message.as_deref(), Some("cancellation message"));
    });
}

/// Upstream: `current_task()` in the eager step is the new task (captured before
/// `create_task` returns), and the same task after the coroutine blocked.
#[test]
fn test_current_task() {
    aioloop::run(async {
        let captured = Rc::new(Cell::new(None));
        let capture = captured.clone();
        let t = spawn_eager(async move {
            capture.set(current_id());
            sleep(Duration::from_millis(10)).await;
            assert_eq!(current_id(), capture.get(), "the same task after blocking");
        });
        assert_eq!(captured.get(), Some(t.id()), "current_task() in the eager step");
        t.await.unwrap();
    });
}

/// Upstream: `all_tasks()` in the eager step lists the new task; once it finished eagerly,
/// `all_tasks()` no longer does.
#[test]
fn test_all_tasks_with_eager_completion() {
    aioloop::run(async {
        let captured = Rc::new(RefCell::new(Vec::new()));
        let capture = captured.clone();
        let t = spawn_eager(async move {
            *capture.borrow_mut() = all_tasks().iter().map(|task| task.id()).collect();
        });
        assert!(captured.borrow().contains(&t.id()));
        assert!(!all_tasks().iter().any(|task| task.id() == t.id()));
        t.await.unwrap();
    });
}

/// Upstream: a task that blocks in its eager step is in `all_tasks()` during the step and
/// after it, and leaves it once it finished.
#[test]
fn test_all_tasks_with_blocking() {
    aioloop::run(async {
        let fut1 = aioloop::Future::<()>::new();
        let fut2 = aioloop::Future::<()>::new();
        let captured = Rc::new(RefCell::new(Vec::new()));
        let (capture, f1, f2) = (captured.clone(), fut1.clone(), fut2.clone());
        let t = spawn_eager(async move {
            *capture.borrow_mut() = all_tasks().iter().map(|task| task.id()).collect();
            f1.await.unwrap();
            f2.set_result(()).unwrap();
        });
        assert!(captured.borrow().contains(&t.id()));
        assert!(all_tasks().iter().any(|task| task.id() == t.id()));
        fut1.set_result(()).unwrap();
        fut2.await.unwrap();
        assert!(!all_tasks().iter().any(|task| task.id() == t.id()));
        t.await.unwrap();
    });
}

/// Upstream: the eager step sees the value set before `create_task` (1); its own `set(2)`
/// is seen by its later steps but not by the caller, which still reads 1 after the eager
/// step and after the task finished; the first step ran before `create_task` returned, the
/// second not.
#[test]
fn test_context_vars() {
    static CV: ContextVar<u32> = ContextVar::with_default("cv", 0);
    aioloop::run(async {
        let first = Rc::new(Cell::new(false));
        let second = Rc::new(Cell::new(false));
        let (f, s) = (first.clone(), second.clone());
        CV.set(1);
        let t = spawn_eager(async move {
            assert_eq!(CV.get(), Some(1));
            CV.set(2);
            assert_eq!(CV.get(), Some(2));
            f.set(true);
            sleep(Duration::from_millis(10)).await;
            assert_eq!(CV.get(), Some(2));
            CV.set(3);
            assert_eq!(CV.get(), Some(3));
            s.set(true);
        });
        assert!(first.get());
        assert!(!second.get());
        assert_eq!(CV.get(), Some(1));
        t.await.unwrap();
        assert!(second.get());
        assert_eq!(CV.get(), Some(1));
    });
}

/// Upstream: with `eager_start=False` the task does not run inside `create_task` (not done,
/// its coroutine not entered) and runs under its name once awaited. The control for the
/// eager tests: here `spawn_named` and a plain spawn agree by definition.
#[test]
fn test_eager_start_false() {
    aioloop::run(async {
        let name = Rc::new(RefCell::new(None));
        let seen = name.clone();
        let t = aioloop::spawn_named("example", async move {
            *seen.borrow_mut() = current_task().map(|task| task.name());
        });
        assert!(!t.is_done());
        assert!(name.borrow().is_none());
        t.await.unwrap();
        assert_eq!(name.borrow().as_deref(), Some("example"));
    });
}

/// Upstream (`DefaultTaskFactoryEagerStart`): `create_task(..., eager_start=True,
/// name="example")` without the eager factory: done at once, and the coroutine saw its name.
#[test]
fn test_eager_start_true_with_default_factory() {
    aioloop::run(async {
        let name = Rc::new(RefCell::new(None));
        let seen = name.clone();
        let t = spawn_eager_named("example", async move {
            *seen.borrow_mut() = current_task().map(|task| task.name());
        });
        assert!(t.is_done());
        assert_eq!(name.borrow().as_deref(), Some("example"));
        t.await.unwrap();
    });
}

/// Upstream (`CEagerTaskFactoryLoopTests.test_name`): the task's name is already its name
/// inside the eager step (seen before `create_task` returns).
#[test]
fn test_name() {
    aioloop::run(async {
        let name = Rc::new(RefCell::new(None));
        let seen = name.clone();
        let task = spawn_eager_named("test name", async move {
            *seen.borrow_mut() = current_task().map(|task| task.name());
        });
        assert_eq!(name.borrow().as_deref(), Some("test name"));
        task.await.unwrap();
    });
}

/// Upstream (`BaseTaskCountingTests.test_recursive_gather`, eager): a gather tree of
/// coroutines that never block makes no task that is not eager (with the factory, every
/// task finishes in its eager step). Here the tree is of eager tasks, spawned from eager
/// tasks (recursion): each finishes inside its parent's `spawn_eager`, so the tree runs
/// depth first and is done when the root's `spawn_eager` returns; plain spawns would run
/// breadth first, over several iterations.
#[test]
fn test_recursive_gather() {
    fn node(
        log: Rc<RefCell<Vec<String>>>,
        path: String,
        width: usize,
        depth: usize,
    ) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(async move {
            log.borrow_mut().push(path.clone());
            if depth == 0 {
                return;
            }
            let children: Vec<_> = (0..width)
                .map(|i| {
                    let me = current_id();
                    let child = spawn_eager(node(log.clone(), format!("{path}{i}"), width, depth - 1));
                    assert_eq!(current_id(), me, "the parent is current again after each child");
                    child
                })
                .collect();
            for child in aioloop::gather(children).await {
                child.unwrap();
            }
        })
    }
    aioloop::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let root = spawn_eager(node(log.clone(), "r".into(), 3, 3));
        assert!(root.is_done(), "the whole tree finished in its eager steps");
        root.await.unwrap();
        let log = log.borrow();
        assert_eq!(log.len(), 1 + 3 + 9 + 27);
        assert_eq!(&log[..5], ["r", "r0", "r00", "r000", "r001"], "depth first");
    });
}

// --- the nested step ---

/// The eager step runs before everything queued earlier: a task spawned (plainly) before it
/// has not run when `spawn_eager` returns, and the eager task never goes through the queue.
#[test]
fn eager_step_runs_before_queued_work() {
    aioloop::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let (a, b) = (log.clone(), log.clone());
        let plain = spawn(async move { a.borrow_mut().push("plain") });
        let eager = spawn_eager(async move { b.borrow_mut().push("eager") });
        assert_eq!(*log.borrow(), ["eager"]);
        plain.await.unwrap();
        eager.await.unwrap();
        assert_eq!(*log.borrow(), ["eager", "plain"]);
    });
}

/// A task finishing in its eager step is done at once with its outcome ready to take
/// (`result()` without awaiting), and the caller's current task is back after the step.
#[test]
fn finished_eagerly_outcome_at_once_and_current_task_restored() {
    aioloop::run(async {
        let main = current_id();
        assert!(main.is_some());
        let inside = Rc::new(Cell::new(None));
        let seen = inside.clone();
        let mut t = spawn_eager(async move {
            seen.set(current_id());
            6 * 7
        });
        assert_eq!(inside.get(), Some(t.id()), "inside: the new task");
        assert_eq!(current_id(), main, "after: the caller again");
        assert_eq!(t.result().unwrap().unwrap(), 42);
        assert!(t.is_done() && !t.is_cancelled());
    });
}

/// A task that suspends in its eager step goes on as a task: woken by what it awaits, it
/// finishes later; cancelled while it waits, it ends cancelled and its future is dropped.
#[test]
fn suspended_eager_task_goes_on_and_can_be_cancelled() {
    struct Dropped(Rc<Cell<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    aioloop::run(async {
        let steps = Rc::new(Cell::new(0));
        let s = steps.clone();
        let woken = spawn_eager(async move {
            s.set(s.get() + 1);
            yield_now().await;
            s.set(s.get() + 1);
            "woken"
        });
        assert_eq!(steps.get(), 1);
        assert_eq!(woken.await.unwrap(), "woken");
        assert_eq!(steps.get(), 2);

        let dropped = Rc::new(Cell::new(false));
        let guard = Dropped(dropped.clone());
        let parked = spawn_eager(async move {
            let _guard = guard;
            pending::<()>().await
        });
        assert!(!parked.is_done());
        assert!(!dropped.get(), "the eager step left it pending, its future alive");
        assert!(parked.cancel());
        assert!(parked.await.unwrap_err().is_cancelled());
        assert!(dropped.get());
    });
}

/// A panic in the eager step ends the new task panicked; it does not unwind into the
/// caller, whose current task and context are as before the spawn.
#[test]
fn panic_in_eager_step_ends_the_task_not_the_caller() {
    static CV: ContextVar<&str> = ContextVar::new("cv");
    aioloop::run(async {
        CV.set("caller");
        let main = current_id();
        let t = spawn_eager(async {
            CV.set("child");
            if CV.get().is_some() {
                panic!("boom in the eager step");
            }
        });
        assert!(t.is_done() && t.is_panicked(), "it ended in the eager step");
        assert_eq!(current_id(), main);
        assert_eq!(CV.get(), Some("caller"));
        let err = t.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("boom in the eager step"));
    });
}

/// The context of an eager task: a copy of the caller's current one (sees a value set before
/// the spawn); a set in the eager step is the task's (seen in its later steps), not the
/// caller's, nor that of a task the caller spawns afterwards.
#[test]
fn context_var_copy_and_isolation() {
    static CV: ContextVar<u32> = ContextVar::with_default("cv", 0);
    aioloop::run(async {
        CV.set(1);
        let seen = Rc::new(Cell::new(0));
        let s = seen.clone();
        let t = spawn_eager(async move {
            s.set(CV.get().unwrap());
            CV.set(2);
            yield_now().await;
            CV.get().unwrap()
        });
        assert_eq!(seen.get(), 1, "the eager step saw the caller's value");
        assert_eq!(CV.get(), Some(1), "the eager step's set stayed in the task");
        let later = spawn(async { CV.get().unwrap() });
        assert_eq!(
            t.await.unwrap(),
            2,
            "the task kept its context past the eager step"
        );
        assert_eq!(later.await.unwrap(), 1);
    });
}

/// On a thread that never made a context, the first `set` in an eager step makes the first
/// context; it becomes the task's (seen in its later steps), never current for the caller,
/// which reads the default after the step, and a task spawned after sees nothing either.
#[test]
fn first_context_of_the_thread_made_in_eager_step() {
    static CV: ContextVar<u32> = ContextVar::with_default("cv", 0);
    // A fresh thread: no context was made on it (the test harness's thread may have one).
    std::thread::spawn(|| {
        aioloop::run(async {
            let set = Rc::new(Cell::new(false));
            let s = set.clone();
            let t = spawn_eager(async move {
                CV.set(7);
                s.set(true);
                yield_now().await;
                CV.get().unwrap()
            });
            assert!(set.get(), "the set ran in the eager step");
            assert_eq!(
                CV.get(),
                Some(0),
                "the caller does not run in the task's new context"
            );
            let sibling = spawn(async { CV.get().unwrap() });
            assert_eq!(
                t.await.unwrap(),
                7,
                "the context made in the eager step is the task's"
            );
            assert_eq!(sibling.await.unwrap(), 0);
            assert_eq!(CV.get(), Some(0));
        });
    })
    .join()
    .unwrap();
}

/// On a thread that never made a context, an eager step that makes the first one and then
/// panics: the context goes with the task, the caller still runs in none.
#[test]
fn first_context_made_in_a_panicking_eager_step() {
    static CV: ContextVar<u32> = ContextVar::with_default("cv", 0);
    std::thread::spawn(|| {
        aioloop::run(async {
            let t = spawn_eager(async {
                CV.set(7);
                if CV.get() == Some(7) {
                    panic!("after the first set");
                }
            });
            assert!(t.is_panicked());
            assert_eq!(CV.get(), Some(0), "the task's context did not stay current");
            let sibling = spawn(async { CV.get().unwrap() });
            assert_eq!(sibling.await.unwrap(), 0);
            assert!(t.await.is_err());
        });
    })
    .join()
    .unwrap();
}

/// Same as above from a caller that runs in no context while the thread made one (a task
/// spawned before any context existed): the context made in the eager step is the task's.
#[test]
fn context_made_in_eager_step_from_a_caller_without_one() {
    static CV: ContextVar<u32> = ContextVar::with_default("cv", 0);
    std::thread::spawn(|| {
        aioloop::run(async {
            let caller = spawn(async {
                yield_now().await; // by now the main task made the thread's first context
                let set = Rc::new(Cell::new(false));
                let s = set.clone();
                let t = spawn_eager(async move {
                    CV.set(9);
                    s.set(true);
                    yield_now().await;
                    CV.get().unwrap()
                });
                assert!(set.get(), "the set ran in the eager step");
                let after = CV.get().unwrap();
                (after, t.await.unwrap())
            });
            CV.set(1);
            let (after, child) = caller.await.unwrap();
            assert_eq!(after, 0, "the caller has no context: the default");
            assert_eq!(child, 9);
        });
    })
    .join()
    .unwrap();
}

/// Eager spawn from a `call_soon` callback: inside the step the new task is current, after
/// it none is (a callback runs outside tasks); the task finished in the callback.
#[test]
fn eager_spawn_from_a_callback() {
    aioloop::run(async {
        let record = Rc::new(RefCell::new(None));
        let r = record.clone();
        call_soon(move || {
            let inside = Rc::new(Cell::new(None));
            let seen = inside.clone();
            let t = spawn_eager(async move { seen.set(current_id()) });
            *r.borrow_mut() = Some((t.is_done(), inside.get() == Some(t.id()), current_id()));
        });
        yield_now().await;
        let (done, inside_is_task, after) = record.borrow_mut().take().expect("the callback ran");
        assert!(done);
        assert!(inside_is_task);
        assert_eq!(after, None, "no task current in the callback after the step");
    });
}

/// Eager spawn from a spawned task, and eager spawns nested three deep: each level sees
/// itself as `current_task()` and its parent current again after its step, and the order of
/// the steps is depth first.
#[test]
fn eager_spawn_from_a_task_and_nested() {
    aioloop::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let outer = spawn(async move {
            let me = current_id();
            let l2 = l.clone();
            let mid = spawn_eager(async move {
                let mid_id = current_id();
                l2.borrow_mut().push("mid in");
                let l3 = l2.clone();
                let inner = spawn_eager(async move {
                    l3.borrow_mut().push("inner");
                    current_id()
                });
                assert_eq!(current_id(), mid_id, "mid is current again after inner's step");
                l2.borrow_mut().push("mid out");
                let inner_id = inner.id();
                assert_eq!(inner.await.unwrap(), Some(inner_id));
                mid_id
            });
            assert_eq!(current_id(), me, "outer is current again after mid's step");
            l.borrow_mut().push("outer");
            let mid_id = mid.id();
            assert_eq!(mid.await.unwrap(), Some(mid_id));
        });
        outer.await.unwrap();
        assert_eq!(*log.borrow(), ["mid in", "inner", "mid out", "outer"]);
    });
}

/// Eager tasks given to `gather!` are awaited as they are (done already); an eager spawn
/// inside a gathered coroutine (a task polled in place) puts that coroutine back as the
/// current task after the step.
#[test]
fn eager_spawn_in_gather() {
    aioloop::run(async {
        let a = spawn_eager(async { 1 });
        let b = spawn_eager(async { 2 });
        assert!(a.is_done() && b.is_done());
        let (a, b) = gather!(a, b).await;
        assert_eq!((a.unwrap(), b.unwrap()), (1, 2));

        let child = || async {
            let me = current_id();
            let inside = Rc::new(Cell::new(None));
            let seen = inside.clone();
            let t = spawn_eager(async move { seen.set(current_id()) });
            assert!(t.is_done());
            assert_eq!(inside.get(), Some(t.id()));
            assert_eq!(current_id(), me, "the gathered coroutine is current again");
            me
        };
        let (x, y) = gather!(child(), child()).await;
        assert_ne!(x, y, "each gathered coroutine is a task of its own");
    });
}

/// Eager spawn in a `TaskGroup` body: the body is current again after the step, and the
/// eager task (not a group child) ran inside the call.
#[test]
fn eager_spawn_in_task_group_body() {
    aioloop::run(async {
        let out = TaskGroup::<()>::run(|tg| async move {
            let me = current_id();
            let t = spawn_eager(async { 5 });
            assert!(t.is_done());
            assert_eq!(current_id(), me);
            let child = tg.spawn_plain(async { 6 }).unwrap();
            t.await.unwrap() + child.await.unwrap()
        })
        .await;
        assert_eq!(out.unwrap(), 11);
    });
}

/// The eager step has a fresh coop budget of its own, and the caller gets its own back: a
/// caller that spent most of its budget spawns a task that spends more than what was left
/// (it finishes in its step, so it did not get the caller's remainder), then spends a little
/// more without yielding (it did not get the task's remainder, which is smaller).
#[test]
fn eager_step_has_its_own_coop_budget_and_the_caller_keeps_its() {
    aioloop::run(async {
        let queue = Rc::new(Queue::new(0));
        for i in 0..1000 {
            queue.put_nowait(i).unwrap();
        }
        let ticks = Rc::new(Cell::new(0));
        let t = ticks.clone();
        let ticker = spawn(async move {
            loop {
                t.set(t.get() + 1);
                yield_now().await;
            }
        });
        // A fresh step: the ticker has ticked once.
        yield_now().await;
        let before = ticks.get();
        for _ in 0..100 {
            queue.get().await.unwrap();
        }
        let q = queue.clone();
        let eager = spawn_eager(async move {
            for _ in 0..120 {
                q.get().await.unwrap();
            }
        });
        assert!(eager.is_done(), "120 ready gets fit a fresh budget of 128");
        for _ in 0..20 {
            queue.get().await.unwrap();
        }
        assert_eq!(
            ticks.get(),
            before,
            "the caller did not yield: 28 units were left it"
        );
        ticker.cancel();
    });
}

/// A task spawned eagerly from a destructor that runs as a cancellation (a cancelled task's
/// future dropped) steps outside that cancel scope, as any step: a task handle it awaits and
/// drops is detached (its task runs on), not cancelled.
#[test]
fn eager_step_runs_outside_the_cancel_scope() {
    struct SpawnOnDrop(Rc<Cell<bool>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let finished = self.0.clone();
            let t = spawn_eager(async move {
                let mut inner = spawn(async move {
                    yield_now().await;
                    finished.set(true);
                });
                // Awaited once (pending), then dropped: in a cancel scope, that cancels it.
                poll_fn(|cx| {
                    assert!(Pin::new(&mut inner).poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
                drop(inner);
            });
            assert!(t.is_done());
        }
    }
    aioloop::run(async {
        let finished = Rc::new(Cell::new(false));
        let guard = SpawnOnDrop(finished.clone());
        let victim = spawn(async move {
            let _guard = guard;
            pending::<()>().await
        });
        yield_now().await;
        assert!(victim.cancel());
        assert!(victim.await.unwrap_err().is_cancelled());
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(
            finished.get(),
            "the handle dropped in the eager step detached its task"
        );
    });
}

/// `Loop::spawn_eager` on a loop that is not running is a plain spawn (asyncio's
/// `eager_start` needs a running loop); on the running loop it is eager.
#[test]
fn loop_spawn_eager_before_and_during_the_run() {
    let event_loop = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let before = event_loop.spawn_eager(async move { r.set(true) });
    assert!(!ran.get() && !before.is_done());
    let lp = event_loop.clone_handle();
    event_loop.run_until_complete(async move {
        let during = lp.spawn_eager(async { 2 });
        assert!(during.is_done());
        before.await.unwrap();
        during.await.unwrap();
    });
    assert!(ran.get());
}

/// Outside a running loop `spawn_eager` panics as `spawn` does.
#[test]
#[should_panic(expected = "aioloop::spawn_eager called with no running event loop")]
fn spawn_eager_without_a_running_loop_panics() {
    drop(spawn_eager(async {}));
}

/// On a closed loop `Loop::spawn_eager` panics as `Loop::spawn` does.
#[test]
#[should_panic(expected = "on a closed event loop")]
fn spawn_eager_on_a_closed_loop_panics() {
    let event_loop = EventLoop::new().unwrap();
    let lp = event_loop.clone_handle();
    drop(event_loop);
    drop(lp.spawn_eager(async {}));
}

/// Debug mode times the eager step as a step of its own: a slow one is reported naming the
/// new task and its spawn location (the caller's step, which includes it, may be reported
/// too). A plain spawn reports the task as well, but only once the loop ran it: here the
/// report is there when `spawn_eager` returns.
#[test]
fn slow_eager_step_is_reported_by_name_in_debug_mode() {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    let event_loop = EventLoop::builder()
        .debug(true)
        .exception_handler(move |ctx| {
            sink.borrow_mut().push((
                ctx.task_name().map(String::from),
                ctx.spawn_location().map(|l| format!("{}:{}", l.file(), l.line())),
            ))
        })
        .build()
        .unwrap();
    let line = line!() + 2;
    let seen = event_loop.run_until_complete(async {
        let t = spawn_eager_named("sluggish", async {
            std::thread::sleep(Duration::from_millis(150))
        });
        let seen = reports.borrow().clone();
        t.await.unwrap();
        seen
    });
    let location = format!("tests/eager_tasks.rs:{line}");
    assert!(
        seen.contains(&(Some("sluggish".to_string()), Some(location))),
        "{seen:?}"
    );
}
