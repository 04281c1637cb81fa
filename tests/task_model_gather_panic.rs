//! Issue 17, item 2: a gathered coroutine is a task of its own, so its panic is reported with
//! its name, as a spawned task's is (asyncio: the exception handler's context names the task
//! whose exception was never retrieved; test_tasks: test_gather_shield / GatherTests, each
//! child is a task).

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use aioloop::{current_task, gather, spawn, yield_now, ConcurrentFuture, EventLoop, TaskId};
use support::{outcome_from_a_thread, stop_now};

/// A coroutine that records its task's identity, then panics with `message`.
async fn panics_as_task(seen: Rc<RefCell<Option<(TaskId, String)>>>, message: &'static str) -> u8 {
    let me = current_task().expect("a gathered coroutine is a task");
    *seen.borrow_mut() = Some((me.id(), me.name()));
    yield_now().await;
    panic!("{message}")
}

/// The exception handler's context for a panic nobody retrieved names the gathered coroutine
/// it came from (its id and name, as `current_task()` inside it reports them), not the task
/// that awaited the gather.
#[test]
fn test_gathered_panic_reported_with_the_child_name() {
    let reported = Rc::new(RefCell::new(Vec::new()));
    let sink = reported.clone();
    let event_loop = EventLoop::builder()
        .exception_handler(move |ctx| {
            sink.borrow_mut().push((
                ctx.task_id(),
                ctx.task_name().map(String::from),
                ctx.panic_message().map(String::from),
            ))
        })
        .build()
        .unwrap();
    let seen = Rc::new(RefCell::new(None));
    let child = seen.clone();
    event_loop.run_until_complete(async move {
        let outer = aioloop::spawn_named("outer", async move {
            gather([Box::pin(panics_as_task(child, "child failed"))]).await;
        });
        drop(outer); // detached: the panic is never retrieved
        for _ in 0..3 {
            yield_now().await;
        }
    });
    let (id, name) = seen.borrow().clone().expect("the child ran");
    assert_eq!(
        *reported.borrow(),
        [(Some(id), Some(name), Some(String::from("child failed")))]
    );
}

/// The awaiter of a task whose gathered coroutine panicked sees which one: the error names it
/// (and still gives the original message and payload).
#[test]
fn test_gathered_panic_seen_by_the_awaiter_names_the_child() {
    aioloop::run(async {
        let seen = Rc::new(RefCell::new(None));
        let child = seen.clone();
        let err = spawn(async move {
            let (a, _b) = aioloop::gather!(async { 1u8 }, panics_as_task(child, "boom")).await;
            a
        })
        .await
        .unwrap_err();
        let (id, name) = seen.borrow().clone().unwrap();
        assert_eq!(err.panic_message(), Some("boom"));
        assert_eq!(err.panicked_task_id(), Some(id));
        assert_eq!(err.panicked_task_name(), Some(name.as_str()));
        let text = err.to_string();
        assert!(text.contains(&name) && text.contains("boom"), "{text}");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("boom"));
    });
}

/// In nested gathers the innermost coroutine is named: that is where the panic happened.
#[test]
fn test_nested_gather_names_the_innermost_child() {
    aioloop::run(async {
        let seen = Rc::new(RefCell::new(None));
        let child = seen.clone();
        let err = spawn(async move {
            gather([async move { gather([panics_as_task(child, "deep")]).await }]).await;
        })
        .await
        .unwrap_err();
        let (id, _) = seen.borrow().clone().unwrap();
        assert_eq!(err.panicked_task_id(), Some(id));
    });
}

/// A spawned task's own panic names no gathered task (the awaiter knows which task it awaited).
#[test]
fn test_a_spawned_tasks_own_panic_names_no_child() {
    aioloop::run(async {
        let err = spawn(async { panic!("own") }).await.unwrap_err();
        assert_eq!(err.panicked_task_name(), None);
        assert_eq!(err.to_string(), "task panicked: own");
    });
}

/// The main coroutine is a task too, but its caller is not: a panic out of
/// `run_until_complete` (the main coroutine's, or a gathered child's) keeps the payload it was
/// raised with, so `#[should_panic]` and `catch_unwind` downcasts work.
#[test]
fn test_main_task_panic_keeps_its_payload() {
    let event_loop = EventLoop::new().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        event_loop.run_until_complete(async {
            gather([async {
                yield_now().await;
                panic!("from a child")
            }])
            .await
        })
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"from a child"));
}

/// A gathered panic that crosses to another thread (run_coroutine_threadsafe's result) gives
/// back the payload as it was raised (test_tasks: test_run_coroutine_threadsafe_with_exception).
#[test]
fn test_run_coroutine_threadsafe_gathered_panic_keeps_its_payload() {
    let event_loop = EventLoop::new().unwrap();
    let err = outcome_from_a_thread(
        &event_loop,
        || async {
            gather([async {
                yield_now().await;
                panic!("over there")
            }])
            .await
        },
        ConcurrentFuture::result,
        stop_now,
    )
    .unwrap_err();
    assert_eq!(err.panic_message(), Some("over there"));
    let payload = err.try_into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"over there"));
}

/// A gathered panic caught by user code inside a gathered coroutine leaves nothing behind:
/// when that coroutine panics itself right after (in the same step), its own task is named,
/// not the inner child whose panic was caught.
#[test]
fn test_a_caught_inner_panic_does_not_name_a_later_one() {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;

    aioloop::run(async {
        let (inner_seen, outer_seen) = (Rc::new(RefCell::new(None)), Rc::new(RefCell::new(None)));
        let (inner, outer) = (inner_seen.clone(), outer_seen.clone());
        let err = spawn(async move {
            gather([async move {
                *outer.borrow_mut() = Some(current_task().unwrap().id());
                let caught = AssertUnwindSafe(gather([panics_as_task(inner, "inner")]))
                    .catch_unwind()
                    .await;
                assert!(caught.is_err());
                panic!("outer")
            }])
            .await;
        })
        .await
        .unwrap_err();
        assert_eq!(err.panic_message(), Some("outer"));
        let outer_id = outer_seen.borrow().expect("the outer child ran");
        let (inner_id, _) = inner_seen.borrow().clone().expect("the inner child ran");
        assert_ne!(outer_id, inner_id);
        assert_eq!(err.panicked_task_id(), Some(outer_id));
    });
}

/// A task that caught a gathered panic and then panics itself (at once, or after a yield) is
/// named by nobody: its awaiter knows which task it awaited.
#[test]
fn test_a_caught_gathered_panic_names_no_later_panic_of_the_task() {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;

    for yield_first in [false, true] {
        aioloop::run(async move {
            let err = spawn(async move {
                let caught = AssertUnwindSafe(gather([async {
                    yield_now().await;
                    panic!("caught")
                }]))
                .catch_unwind()
                .await;
                assert!(caught.is_err());
                if yield_first {
                    yield_now().await;
                }
                panic!("own")
            })
            .await
            .unwrap_err();
            assert_eq!(err.panic_message(), Some("own"));
            assert_eq!(err.panicked_task_name(), None, "yield first: {yield_first}");
        });
    }
}

/// The main coroutine catches a gathered panic, then panics itself: the caller of
/// `run_until_complete` gets the main coroutine's own payload.
#[test]
fn test_main_task_own_panic_after_a_caught_one_keeps_its_payload() {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;

    let event_loop = EventLoop::new().unwrap();
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
        event_loop.run_until_complete(async {
            let inner = AssertUnwindSafe(gather([async {
                yield_now().await;
                panic!("inner")
            }]))
            .catch_unwind()
            .await;
            assert!(inner.is_err());
            std::panic::panic_any(7u32)
        })
    }));
    assert_eq!(caught.unwrap_err().downcast_ref::<u32>(), Some(&7));
}

/// Nested gathers of both kinds (a `gather!` inside a `gather`, the outer child with a task
/// slot made by `current_task()`, the inner without one) name the innermost child.
#[test]
fn test_nested_gathers_of_both_kinds_name_the_innermost_child() {
    aioloop::run(async {
        let outer_seen = Rc::new(RefCell::new(None));
        let outer = outer_seen.clone();
        let err = spawn(async move {
            gather([async move {
                *outer.borrow_mut() = Some(current_task().unwrap().id());
                aioloop::gather!(yield_now(), async {
                    yield_now().await;
                    panic!("deep")
                })
                .await;
            }])
            .await;
        })
        .await
        .unwrap_err();
        assert_eq!(err.panic_message(), Some("deep"));
        let named = err.panicked_task_id().expect("a gathered child is named");
        let outer_id = outer_seen.borrow().expect("the outer child ran");
        assert_ne!(named, outer_id, "the outer child is not the innermost");
    });
}
