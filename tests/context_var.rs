//! Python's `contextvars` as asyncio uses them, ported: CPython's Lib/test/test_context.py
//! (`ContextTest`) and the context tests of Lib/test/test_asyncio/test_tasks.py. Each test is
//! named after the upstream one; `LookupError` is `get()` returning `None`, the
//! `RuntimeError`/`ValueError` of `reset` are `ResetError`s, and "already entered" is a panic.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{copy_context, Context, ContextVar, ResetError};

/// A variable the tasks of a test can hold (`'static`), as Python's module-level variables.
fn var<T: 'static>(name: &'static str) -> &'static ContextVar<T> {
    kept(Box::leak(Box::new(ContextVar::new(name))))
}

fn var_default<T: 'static>(name: &'static str, default: T) -> &'static ContextVar<T> {
    kept(Box::leak(Box::new(ContextVar::with_default(name, default))))
}

/// The addresses of the variables the tests leaked, so that they stay reachable to the end:
/// CI's valgrind pass over this binary counts memory nothing points to as lost.
static KEPT: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

fn kept<T>(var: &'static ContextVar<T>) -> &'static ContextVar<T> {
    KEPT.lock().unwrap().push(var as *const ContextVar<T> as usize);
    var
}

/// Python's `isolated_context`: runs the test in a new empty context.
fn isolated<R>(f: impl FnOnce() -> R) -> R {
    Context::new().run(f)
}

// --- test_context.py ---

#[test]
fn test_context_var_new_1() {
    let c: ContextVar<u8> = ContextVar::new("aaa");
    assert_eq!(c.name(), "aaa");
}

#[test]
fn test_context_run_4() {
    isolated(|| {
        let ctx1 = Context::new();
        let ctx2 = Context::new();
        let var = var::<&str>("var");

        let returned_ctx = ctx1.run(|| {
            assert_eq!(var.get(), None);
            var.set("spam");
            ctx2.run(|| assert_eq!(var.get(), None));
            assert_eq!(var.get(), Some("spam"));

            let cur = copy_context();
            assert_eq!(cur.len(), 1);
            assert_eq!(cur.get(var), Some("spam"));
            cur
        });
        // Python's `ctx1 == returned_ctx` compares the mappings.
        assert_eq!(ctx1.get(var), returned_ctx.get(var));
        assert_eq!(returned_ctx.get(var), Some("spam"));
        assert!(returned_ctx.contains(var));
    });
}

#[test]
fn test_context_run_5() {
    let ctx = Context::new();
    let var = var::<&str>("var");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ctx.run(|| {
            assert_eq!(var.get(), None);
            var.set("spam");
            panic!("1 / 0");
        })
    }));
    assert!(result.is_err());
    assert_eq!(var.get(), None);
}

#[test]
fn test_context_run_6() {
    let ctx = Context::new();
    let c = var_default("a", 0);
    ctx.run(|| {
        assert_eq!(c.get(), Some(0));
        assert_eq!(ctx.get(c), None);
        c.set(42);
        assert_eq!(c.get(), Some(42));
        assert_eq!(ctx.get(c), Some(42));
    });
}

#[test]
fn test_context_run_7() {
    let ctx = Context::new();
    ctx.run(|| {
        let nested = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.run(|| ())));
        let panic = nested.unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("is already entered"), "{message}");
    });
    // Still usable after the refused nested run.
    ctx.run(|| ());
}

#[test]
fn test_context_getset_1() {
    isolated(|| {
        let c = var::<&str>("c");
        assert_eq!(c.get(), None);

        let t0 = c.set("42");
        assert_eq!(c.get(), Some("42"));
        assert_eq!(t0.old_value(), None, "Token.MISSING");

        let t = c.set("spam");
        assert_eq!(c.get(), Some("spam"));
        assert_eq!(t.old_value(), Some("42"));
        c.reset(&t).unwrap();
        assert_eq!(c.get(), Some("42"));

        c.set("spam2");
        assert_eq!(c.reset(&t), Err(ResetError::AlreadyUsed));
        assert_eq!(c.get(), Some("spam2"));

        let ctx1 = copy_context();
        assert!(ctx1.contains(c));

        c.reset(&t0).unwrap();
        assert_eq!(c.reset(&t0), Err(ResetError::AlreadyUsed));
        assert_eq!(c.get(), None);

        assert!(ctx1.contains(c));
        assert_eq!(ctx1.get(c), Some("spam2"));
        assert_eq!(ctx1.len(), 1);

        let ctx2 = copy_context();
        assert!(!ctx2.contains(c));
        assert_eq!(ctx2.get(c), None);
        assert_eq!(ctx2.len(), 0);
        assert!(ctx2.is_empty());
    });
}

#[test]
fn test_context_getset_2() {
    isolated(|| {
        let v1 = var::<u32>("v1");
        let v2 = var::<u32>("v2");
        let t1 = v1.set(42);
        assert_eq!(v2.reset(&t1), Err(ResetError::OtherVar));
        assert_eq!(
            ResetError::OtherVar.to_string(),
            "the token was created by a different ContextVar"
        );
    });
}

#[test]
fn test_context_getset_3() {
    isolated(|| {
        let c = var_default("c", 42);
        let ctx = Context::new();
        ctx.run(|| {
            assert_eq!(c.get(), Some(42));
            assert_eq!(ctx.get(c), None);
            assert!(!ctx.contains(c));
            assert_eq!(ctx.len(), 0);

            let t = c.set(1);
            assert_eq!(ctx.len(), 1);
            assert_eq!(ctx.get(c), Some(1));

            c.reset(&t).unwrap();
            assert_eq!(ctx.len(), 0);
            assert_eq!(ctx.get(c), None);
        });
    });
}

#[test]
fn test_context_getset_4() {
    isolated(|| {
        let c = var_default("c", 42);
        let ctx = Context::new();
        let tok = ctx.run(|| c.set(1));
        assert_eq!(c.reset(&tok), Err(ResetError::OtherContext));
    });
}

#[test]
fn test_context_getset_5() {
    isolated(|| {
        let c = var_default::<Rc<RefCell<Vec<u32>>>>("c", Rc::default());
        c.set(Rc::default());
        copy_context().run(|| {
            c.set(Rc::default());
            c.get().unwrap().borrow_mut().push(42);
            assert_eq!(*c.get().unwrap().borrow(), [42]);
        });
        assert!(c.get().unwrap().borrow().is_empty());
    });
}

#[test]
fn test_context_copy_1() {
    let ctx1 = Context::new();
    let c = var_default("c", 42);
    ctx1.run(|| {
        c.set(10);
        let ctx2 = ctx1.copy();
        assert_eq!(ctx2.get(c), Some(10));

        c.set(20);
        assert_eq!(ctx1.get(c), Some(20));
        assert_eq!(ctx2.get(c), Some(10));

        ctx2.run(|| {
            assert_eq!(c.get(), Some(10));
            c.set(30);
            assert_eq!(c.get(), Some(30));
        });
        assert_eq!(ctx1.get(c), Some(20));
        assert_eq!(ctx2.get(c), Some(30));
    });
}

/// test_context_threads_1: each thread has its own context (with OS threads and a sleep per
/// step, as upstream).
#[test]
fn test_context_threads_1() {
    static CVAR: ContextVar<u32> = ContextVar::new("cvar");
    let threads: Vec<_> = (0..10)
        .map(|num| {
            std::thread::spawn(move || {
                for i in 0..10 {
                    CVAR.set(num + i);
                    std::thread::sleep(Duration::from_millis(1));
                    assert_eq!(CVAR.get(), Some(num + i));
                }
                num
            })
        })
        .collect();
    let results: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results, (0..10).collect::<Vec<_>>());
}

// --- test_asyncio/test_tasks.py ---

#[test]
fn test_context_1() {
    let cvar = var_default("cvar", "nope");
    aioloop::run(async move {
        assert_eq!(cvar.get(), Some("nope"));
        let subtask = aioloop::spawn(async move {
            aioloop::sleep(Duration::from_millis(10)).await;
            assert_eq!(cvar.get(), Some("nope"));
            cvar.set("something else");
        });
        cvar.set("yes");
        assert_eq!(cvar.get(), Some("yes"));
        subtask.await.unwrap();
        assert_eq!(cvar.get(), Some("yes"));
    });
}

#[test]
fn test_context_2() {
    let cvar = var_default::<String>("cvar", "nope".into());
    aioloop::run(async move {
        assert_eq!(cvar.get().unwrap(), "nope");
        for j in 0..2 {
            let fut = aioloop::Future::<()>::new();
            // This change must not pollute the context of the main task.
            fut.add_done_callback(move |_| {
                cvar.set("something else".into());
            });
            cvar.set(format!("yes{j}"));
            let setter = fut.clone();
            aioloop::call_soon(move || {
                setter.set_result(()).unwrap();
            });
            fut.clone().await.unwrap();
            assert_eq!(cvar.get().unwrap(), format!("yes{j}"));

            for i in 0..3 {
                // The task passed its context to add_done_callback.
                cvar.set(format!("yes{i}-{j}"));
                aioloop::sleep(Duration::from_millis(1)).await;
                assert_eq!(cvar.get().unwrap(), format!("yes{i}-{j}"));
            }
        }
    });
    assert_eq!(cvar.get().unwrap(), "nope");
}

#[test]
fn test_context_3() {
    // 100 tasks at once, each changing cvar.
    let cvar = var_default::<i64>("cvar", -1);
    aioloop::run(async move {
        let tasks: Vec<_> = (0..100)
            .map(|n| {
                let num = (n * 7) % 11;
                aioloop::spawn(async move {
                    for i in 0..10 {
                        cvar.set(num + i);
                        aioloop::sleep(Duration::from_micros(((num * 13 + i * 7) % 50) as u64 * 100)).await;
                        assert_eq!(cvar.get(), Some(num + i));
                    }
                })
            })
            .collect();
        for result in aioloop::gather(tasks).await {
            result.unwrap();
        }
    });
    assert_eq!(cvar.get(), Some(-1));
}

/// test_context_4, test_context_5 and test_context_6 (three spellings of
/// `create_task(coro, context=ctx)`): the task runs in `ctx` itself.
#[test]
fn test_context_4() {
    let cvar = var::<u32>("cvar");
    let ret = aioloop::run(async move {
        let mut ret = Vec::new();
        let ctx = copy_context();
        ret.push(ctx.get(cvar));
        for val in [1, 2] {
            let task = ctx.spawn(async move {
                aioloop::yield_now().await;
                cvar.set(val);
            });
            task.await.unwrap();
            ret.push(ctx.get(cvar));
        }
        ret
    });
    assert_eq!(ret, [None, Some(1), Some(2)]);
}

/// A `call_later` callback runs in the context current when it was scheduled, and its sets
/// stay in its copy (asyncio's `TimerHandle`; test_tasks.py's test_context_2 for call_soon).
#[test]
fn call_later_runs_in_the_scheduling_context() {
    let cvar = var::<u32>("cvar");
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    aioloop::run(async move {
        cvar.set(1);
        let l1 = log.clone();
        aioloop::call_later(Duration::from_millis(1), move || {
            l1.borrow_mut().push(cvar.get());
            cvar.set(99);
        });
        let l2 = log.clone();
        aioloop::call_soon(move || l2.borrow_mut().push(cvar.get()));
        cvar.set(2);
        aioloop::sleep(Duration::from_millis(5)).await;
        assert_eq!(cvar.get(), Some(2));
    });
    assert_eq!(*seen.borrow(), [Some(1), Some(1)]);
}

/// A task spawned before any context existed still keeps what it sets across its steps,
/// apart from its siblings (the lazily made context of a task).
#[test]
fn first_set_inside_a_task_stays_in_that_task() {
    std::thread::spawn(|| {
        let cvar = var::<u32>("cvar");
        aioloop::run(async move {
            let a = aioloop::spawn(async move {
                cvar.set(1);
                aioloop::yield_now().await;
                assert_eq!(cvar.get(), Some(1));
                let child = aioloop::spawn(async move { cvar.get() });
                child.await.unwrap()
            });
            let b = aioloop::spawn(async move {
                aioloop::yield_now().await;
                assert_eq!(cvar.get(), None);
            });
            assert_eq!(a.await.unwrap(), Some(1));
            b.await.unwrap();
            assert_eq!(cvar.get(), None);
        });
        assert_eq!(cvar.get(), None);
    })
    .join()
    .unwrap();
}

/// Runs `f` on a thread of its own, where no context was made yet (the thread's first context
/// then comes into being inside the loop's run, in the middle of one of its iterations).
fn on_a_fresh_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(f).join().unwrap();
}

/// The thread's first context, made by a `set` in a task's step, is that task's at once: a
/// task stepping after it in the same loop iteration runs in none.
#[test]
fn first_set_is_not_seen_by_a_task_stepping_after_it() {
    on_a_fresh_thread(|| {
        let cvar = var::<u32>("cvar");
        aioloop::run(async move {
            let a = aioloop::spawn(async move {
                cvar.set(1);
            });
            let b = aioloop::spawn(async move { cvar.get() });
            a.await.unwrap();
            assert_eq!(b.await.unwrap(), None);
        });
    });
}

/// The thread's first context, made by a `set` in a callback, is dropped after it: a task
/// stepping after it in the same loop iteration runs in none.
#[test]
fn first_set_in_a_callback_is_dropped_after_it() {
    on_a_fresh_thread(|| {
        let cvar = var::<u32>("cvar");
        aioloop::run(async move {
            aioloop::call_soon(move || {
                cvar.set(1);
            });
            let b = aioloop::spawn(async move { cvar.get() });
            assert_eq!(b.await.unwrap(), None);
        });
    });
}

/// A task spawned in the step that made the thread's first context (a `set` in a task) takes
/// a copy of it, and the setting task keeps its value.
#[test]
fn first_set_then_spawn_in_the_same_task_step() {
    on_a_fresh_thread(|| {
        let cvar = var::<u32>("cvar");
        aioloop::run(async move {
            let a = aioloop::spawn(async move {
                cvar.set(1);
                let child = aioloop::spawn(async move {
                    let seen = cvar.get();
                    cvar.set(2);
                    seen
                });
                (child.await.unwrap(), cvar.get())
            });
            assert_eq!(a.await.unwrap(), (Some(1), Some(1)));
            assert_eq!(cvar.get(), None);
        });
    });
}

/// A task spawned by the main future in the step that made the thread's first context takes a
/// copy of it.
#[test]
fn first_set_then_spawn_in_the_same_main_step() {
    on_a_fresh_thread(|| {
        let cvar = var::<u32>("cvar");
        aioloop::run(async move {
            cvar.set(1);
            let child = aioloop::spawn(async move { cvar.get() });
            assert_eq!(child.await.unwrap(), Some(1));
        });
    });
}

/// A cancelled task's future is dropped in the task's context (asyncio throws
/// `CancelledError` into the coroutine in its context).
#[test]
fn cancelled_task_is_dropped_in_its_context() {
    let cvar = var::<u32>("cvar");
    let seen = Rc::new(RefCell::new(None));
    let log = seen.clone();
    aioloop::run(async move {
        struct OnDrop(&'static ContextVar<u32>, Rc<RefCell<Option<Option<u32>>>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                *self.1.borrow_mut() = Some(self.0.get());
            }
        }
        let task = aioloop::spawn(async move {
            cvar.set(5);
            let _guard = OnDrop(cvar, log);
            std::future::pending::<()>().await;
        });
        aioloop::yield_now().await;
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
    });
    assert_eq!(*seen.borrow(), Some(Some(5)));
}

/// The documented choice for in-place children: a gathered coroutine runs in the awaiting
/// task's context (a spawned task gets its own copy).
#[test]
fn gathered_coroutines_share_the_awaiting_tasks_context() {
    let cvar = var::<u32>("cvar");
    aioloop::run(async move {
        aioloop::gather!(async move { cvar.set(1) }, async move {}).await;
        assert_eq!(cvar.get(), Some(1));
        aioloop::spawn(async move { cvar.set(2) }).await.unwrap();
        assert_eq!(cvar.get(), Some(1));
    });
}

/// `Context::scope` runs a future in a context (here a copy: the gathered coroutine's set stays
/// in it).
#[test]
fn context_scope_runs_a_future_in_a_context() {
    let cvar = var::<u32>("cvar");
    aioloop::run(async move {
        cvar.set(1);
        let ctx = copy_context();
        ctx.scope(async move {
            assert_eq!(cvar.get(), Some(1));
            cvar.set(2);
            aioloop::yield_now().await;
            assert_eq!(cvar.get(), Some(2));
        })
        .await;
        assert_eq!(cvar.get(), Some(1));
        assert_eq!(ctx.get(cvar), Some(2));
    });
}

/// A task spawned with `run_coroutine_threadsafe` keeps its sets across its steps.
#[test]
fn run_coroutine_threadsafe_task_keeps_its_context() {
    static CVAR: ContextVar<u32> = ContextVar::new("cvar");
    let event_loop = aioloop::EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let sender = std::thread::spawn(move || {
        aioloop::run_coroutine_threadsafe(
            || async {
                CVAR.set(3);
                aioloop::yield_now().await;
                CVAR.get()
            },
            &handle,
        )
        .result()
        .unwrap()
    });
    event_loop.run_until_complete(async {
        aioloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(CVAR.get(), None);
    });
    assert_eq!(sender.join().unwrap(), Some(3));
}
