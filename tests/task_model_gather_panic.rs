//! Issue 17, item 2: a gathered coroutine is a task of its own, so its panic is reported with
//! its name, as a spawned task's is (asyncio: the exception handler's context names the task
//! whose exception was never retrieved; test_tasks: test_gather_shield / GatherTests, each
//! child is a task).

use std::cell::RefCell;
use std::rc::Rc;

use aioloop::{current_task, gather, spawn, yield_now, EventLoop, TaskId};

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
    let handle = event_loop.handle();
    let worker = std::thread::spawn(move || {
        let out = handle
            .run_coroutine_threadsafe(|| async {
                gather([async {
                    yield_now().await;
                    panic!("over there")
                }])
                .await
            })
            .result();
        handle.stop().unwrap();
        out
    });
    event_loop.run_forever();
    let err = worker.join().unwrap().unwrap_err();
    assert_eq!(err.panic_message(), Some("over there"));
    let payload = err.try_into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"over there"));
}
