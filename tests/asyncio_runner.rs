//! `aioloop::Runner`, asyncio 3.11's `asyncio.Runner`: CPython's
//! Lib/test/test_asyncio/test_runners.py `RunnerTests` (the Ctrl-C ones are in
//! tests/run_interrupt.rs, which runs on a main thread).

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, until_cancelled, yield_now, ContextVar, EventLoop, Runner};

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn test_non_debug() {
    let mut runner = Runner::with_builder(EventLoop::builder().debug(false));
    assert!(!runner.get_loop().is_debug());
}

#[test]
fn test_debug() {
    let mut runner = Runner::with_builder(EventLoop::builder().debug(true));
    assert!(runner.get_loop().is_debug());
}

#[test]
fn test_run() {
    let mut runner = Runner::new();
    let out = runner.run(async {
        sleep(Duration::ZERO).await;
        "done"
    });
    assert_eq!(out, "done");
    let lp = runner.get_loop();
    drop(runner); // leaving the `with` block closes the runner
    assert!(lp.is_closed());
}

#[test]
fn test_explicit_close() {
    let mut runner = Runner::new();
    let lp = runner.get_loop();
    runner.close();
    assert!(runner.is_closed());
    assert!(lp.is_closed());
    let err = catch_unwind(AssertUnwindSafe(|| runner.get_loop())).unwrap_err();
    assert!(panic_message(err).contains("Runner is closed"));
}

#[test]
fn test_double_close() {
    let mut runner = Runner::new();
    let lp = runner.get_loop();
    runner.close();
    assert!(lp.is_closed());
    runner.close(); // the second call is a no-op
    assert!(lp.is_closed());
}

#[test]
fn test_close_before_the_loop_was_built() {
    let mut runner = Runner::new();
    runner.close();
    assert!(runner.is_closed());
    let err = catch_unwind(AssertUnwindSafe(|| runner.run(async {}))).unwrap_err();
    assert!(panic_message(err).contains("Runner is closed"));
}

#[test]
fn test_second_with_block_raises() {
    let ret = Rc::new(RefCell::new(Vec::new()));
    let mut runner = Runner::new();
    let r = ret.clone();
    runner.run(async move { r.borrow_mut().push(1) });
    runner.close();
    let r = ret.clone();
    let err = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async move { r.borrow_mut().push(2) })
    }))
    .unwrap_err();
    assert!(panic_message(err).contains("Runner is closed"));
    assert_eq!(*ret.borrow(), [1], "the second coroutine never ran");
}

#[test]
fn test_run_keeps_context() {
    static CVAR: ContextVar<i32> = ContextVar::with_default("cvar", -1);
    async fn f(val: i32) -> i32 {
        let old = CVAR.get().unwrap();
        sleep(Duration::ZERO).await;
        CVAR.set(val);
        old
    }
    let mut runner = Runner::new();
    assert_eq!(runner.run(f(1)), -1);
    assert_eq!(runner.run(f(2)), 1);
    let ctx = runner.run(async { aioloop::copy_context() });
    assert_eq!(ctx.get(&CVAR), Some(2));
    // The runner's context is its own: the thread outside it never saw the sets.
    assert_eq!(CVAR.get(), Some(-1));
}

/// asyncio's `Runner.run(coro, context=ctx)`: the main task runs in `ctx` itself (its sets
/// land there, and its tasks start from a copy of it); the runner's own context is untouched.
#[test]
fn run_with_context_runs_the_main_task_in_that_context() {
    static CVAR: ContextVar<i32> = ContextVar::with_default("cvar", -1);
    let mut runner = Runner::new();
    runner.run(async { CVAR.set(1) });
    let ctx = aioloop::Context::new();
    let (seen, child_saw) = runner.run_with_context(&ctx, async {
        let seen = CVAR.get();
        CVAR.set(7);
        let child = spawn(async { CVAR.get() });
        (seen, child.await.unwrap())
    });
    assert_eq!(seen, Some(-1), "an empty context: the default");
    assert_eq!(child_saw, Some(7), "a task made in the run copies ctx");
    assert_eq!(ctx.get(&CVAR), Some(7), "the main task's set landed in ctx");
    assert_eq!(
        runner.run(async { CVAR.get() }),
        Some(1),
        "the runner's context is as it was"
    );
    // The same context again: what the last run set is there.
    assert_eq!(runner.run_with_context(&ctx, async { CVAR.get() }), Some(7));
}

#[test]
fn run_with_an_entered_context_panics_and_the_runner_stays_usable() {
    let mut runner = Runner::new();
    let ctx = aioloop::Context::new();
    let err = ctx.run(|| {
        catch_unwind(AssertUnwindSafe(|| runner.run_with_context(&ctx, async { 1 })))
            .expect_err("ctx is entered already")
    });
    let message = panic_message(err);
    assert!(message.contains("cannot enter context"), "{message}");
    assert_eq!(runner.run_with_context(&ctx, async { 2 }), 2);
    assert_eq!(runner.run(async { 3 }), 3);
}

#[test]
fn test_recursive_run() {
    let mut runner = Runner::new();
    let err = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async {
            let mut inner = Runner::new();
            inner.run(async {});
        })
    }))
    .unwrap_err();
    let message = panic_message(err);
    assert!(message.contains("already running"), "{message}");
    // The runner stays usable after the panic of a run.
    assert_eq!(runner.run(async { 5 }), 5);
}

/// Tasks a run leaves pending go on in the next run, on the same loop (a `Runner` is one
/// loop); `close` cancels those still pending and lets their async cleanup run.
#[test]
fn leftover_tasks_live_on_until_close() {
    let ticks = Rc::new(Cell::new(0));
    let cleaned = Rc::new(Cell::new(false));
    let mut runner = Runner::new();
    let (t, c) = (ticks.clone(), cleaned.clone());
    runner.run(async move {
        drop(spawn(async move {
            let counting = until_cancelled(async {
                loop {
                    t.set(t.get() + 1);
                    yield_now().await;
                }
            });
            if counting.await.is_err() {
                sleep(Duration::from_millis(1)).await; // async cleanup
                c.set(true);
            }
        }));
    });
    let after_first = ticks.get();
    runner.run(async {
        for _ in 0..10 {
            yield_now().await;
        }
    });
    assert!(ticks.get() > after_first, "the task ran during the second run");
    assert!(!cleaned.get());
    runner.close();
    assert!(cleaned.get(), "close cancelled it and ran its async cleanup");
}

#[test]
fn dropping_the_runner_closes_it() {
    let cleaned = Rc::new(Cell::new(false));
    let c = cleaned.clone();
    let mut runner = Runner::new();
    runner.run(async move {
        drop(spawn(async move {
            if until_cancelled(std::future::pending::<()>()).await.is_err() {
                c.set(true);
            }
        }));
        yield_now().await; // the task starts (a task cancelled before it started runs nothing)
    });
    drop(runner);
    assert!(cleaned.get());
}

#[test]
fn a_panic_in_a_run_leaves_the_runner_usable() {
    let mut runner = Runner::new();
    let err = catch_unwind(AssertUnwindSafe(|| runner.run(async { panic!("boom") }))).unwrap_err();
    assert_eq!(panic_message(err), "boom");
    assert_eq!(runner.run(async { 1 }), 1);
}

#[test]
fn get_loop_before_run_is_the_loop_run_uses() {
    let mut runner = Runner::new();
    let lp = runner.get_loop();
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    lp.call_soon(move || f.set(true));
    runner.run(async { yield_now().await });
    assert!(
        fired.get(),
        "the callback queued before the run ran on the runner's loop"
    );
    assert!(runner.run(async { aioloop::get_running_loop() }) == lp);
}

/// A cancelled main task makes `run` panic (asyncio's `CancelledError`) once its cleanup ran.
#[test]
fn a_cancelled_main_task_panics() {
    let mut runner = Runner::new();
    let err = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async {
            aioloop::current_task().unwrap().cancel();
            yield_now().await;
        })
    }))
    .unwrap_err();
    assert!(panic_message(err).contains("the main task was cancelled"));
    assert_eq!(runner.run(async { 2 }), 2);
}
