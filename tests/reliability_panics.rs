//! Panic combinations: where the panic happens (first poll, later poll, the future's Drop, the
//! output's Drop) × what happens to the task (awaited, detached, cancelled). The loop survives
//! every one and every awaiter sees the right outcome.

use std::cell::RefCell;
use std::rc::Rc;

use aioloop::{spawn, yield_now, EventLoop, TaskError};

#[derive(Clone, Copy, Debug)]
enum Where {
    FirstPoll,
    LaterPoll,
    FutureDrop,
    OutputDrop,
}

#[derive(Clone, Copy, Debug)]
enum Fate {
    Awaited,
    Detached,
    Cancelled,
}

struct PanicOnDrop(&'static str);
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// Builds the task's future for `place`; its output is a `PanicOnDrop` only for `OutputDrop`.
async fn body(place: Where) -> Option<PanicOnDrop> {
    match place {
        Where::FirstPoll => panic!("first poll"),
        Where::LaterPoll => {
            yield_now().await;
            panic!("later poll")
        }
        Where::FutureDrop => {
            let _bomb = PanicOnDrop("future drop");
            yield_now().await;
            None
        }
        Where::OutputDrop => {
            yield_now().await;
            Some(PanicOnDrop("output drop"))
        }
    }
}

/// Runs one combination; returns what the awaiter saw (if awaited) and what the handler got.
fn run_case(place: Where, fate: Fate) -> (Option<String>, Vec<String>) {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    let lp = EventLoop::builder()
        .exception_handler(move |ctx| {
            sink.borrow_mut().push(format!(
                "{}: {}",
                ctx.message(),
                ctx.panic_message().unwrap_or("-")
            ))
        })
        .build()
        .unwrap();
    let seen = lp.run_until_complete(async move {
        let task = spawn(body(place));
        let seen = match fate {
            Fate::Awaited => Some(match task.await {
                Ok(Some(output)) => {
                    std::mem::forget(output); // the awaiter owns it; not our panic to test
                    "ok".to_string()
                }
                Ok(None) => "ok".to_string(),
                Err(TaskError::Cancelled) => "cancelled".to_string(),
                Err(err) => format!("panicked: {}", err.panic_message().unwrap()),
            }),
            Fate::Detached => {
                drop(task);
                None
            }
            Fate::Cancelled => {
                yield_now().await; // let it start, so there is something to drop
                task.cancel();
                Some(match task.await {
                    Err(TaskError::Cancelled) => "cancelled".to_string(),
                    Err(err) => format!("panicked: {}", err.panic_message().unwrap()),
                    Ok(output) => {
                        std::mem::forget(output);
                        "ok".to_string()
                    }
                })
            }
        };
        for _ in 0..4 {
            yield_now().await;
        }
        seen
    });
    // The loop is still usable.
    assert_eq!(
        lp.run_until_complete(async { spawn(async { 1 }).await.unwrap() }),
        1
    );
    let reports = reports.borrow().clone();
    (seen, reports)
}

#[test]
fn every_combination_is_survived_and_reported_right() {
    use Fate::*;
    use Where::*;
    let expectations: &[(Where, Fate, Option<&str>, &[&str])] = &[
        (FirstPoll, Awaited, Some("panicked: first poll"), &[]),
        (
            FirstPoll,
            Detached,
            None,
            &["Task exception was never retrieved: first poll"],
        ),
        // The task already panicked on its first poll (before cancel), so that is its outcome.
        (FirstPoll, Cancelled, Some("panicked: first poll"), &[]),
        (LaterPoll, Awaited, Some("panicked: later poll"), &[]),
        (
            LaterPoll,
            Detached,
            None,
            &["Task exception was never retrieved: later poll"],
        ),
        (LaterPoll, Cancelled, Some("cancelled"), &[]),
        (FutureDrop, Awaited, Some("panicked: future drop"), &[]),
        (
            FutureDrop,
            Detached,
            None,
            &["Task exception was never retrieved: future drop"],
        ),
        // A panic while the cancelled task is dropped is its outcome (issue 16 item 6, tokio's
        // test_abort_task_that_panics_on_drop_returned).
        (FutureDrop, Cancelled, Some("panicked: future drop"), &[]),
        (OutputDrop, Awaited, Some("ok"), &[]),
        (
            OutputDrop,
            Detached,
            None,
            &["Dropping a task's output panicked: output drop"],
        ),
        (OutputDrop, Cancelled, Some("cancelled"), &[]),
    ];
    for &(place, fate, awaiter, handler) in expectations {
        let (seen, reports) = run_case(place, fate);
        assert_eq!(seen.as_deref(), awaiter, "awaiter, {place:?} × {fate:?}");
        assert_eq!(reports, handler, "handler, {place:?} × {fate:?}");
    }
}

#[test]
fn ten_thousand_panicking_tasks_among_ten_thousand_normal_ones() {
    let reported = Rc::new(RefCell::new(0u32));
    let sink = reported.clone();
    let lp = EventLoop::builder()
        .exception_handler(move |_| *sink.borrow_mut() += 1)
        .build()
        .unwrap();
    let (ok, panicked) = lp.run_until_complete(async {
        let mut normal = Vec::new();
        let mut failing = Vec::new();
        for i in 0..10_000u32 {
            normal.push(spawn(async move {
                yield_now().await;
                i
            }));
            let task = spawn(async move {
                yield_now().await;
                panic!("task {i}");
            });
            if i % 2 == 0 {
                failing.push(task);
            } else {
                drop(task); // detached: goes to the handler
            }
        }
        let mut ok = 0u64;
        for t in normal {
            ok += u64::from(t.await.unwrap());
        }
        let mut panicked = 0;
        for t in failing {
            panicked += u32::from(t.await.unwrap_err().is_panic());
        }
        (ok, panicked)
    });
    assert_eq!(ok, (0..10_000u64).sum());
    assert_eq!(panicked, 5_000);
    assert_eq!(*reported.borrow(), 5_000);
}
