//! shield: the outer's cancellation does not reach the inner task; the inner's does reach the
//! outer.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{shield, sleep, spawn, wait_for, yield_now, TaskError};
use support::Drops;

#[aioloop::test(start_paused)]
async fn cancelling_the_outer_leaves_the_inner_running_to_completion() {
    let drops = Drops::new();
    let finished = Rc::new(Cell::new(false));
    let after_await = Rc::new(Cell::new(false));
    let inner = {
        let (guard, finished) = (drops.guard(), finished.clone());
        spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
            finished.set(true);
            "inner result"
        })
    };
    let outer = {
        let after_await = after_await.clone();
        spawn(async move {
            let out = shield(inner).await;
            after_await.set(true);
            out
        })
    };
    sleep(Duration::from_secs(1)).await;
    assert!(outer.cancel());
    assert!(matches!(outer.await, Err(TaskError::Cancelled)));
    assert!(!after_await.get());
    assert!(
        !finished.get() && drops.count() == 0,
        "the inner task is still running"
    );
    sleep(Duration::from_secs(10)).await;
    assert!(finished.get(), "the inner task ran to completion");
    assert_eq!(drops.count(), 1);
}

#[aioloop::test]
async fn cancelling_the_inner_makes_the_outer_see_the_cancellation() {
    let inner = spawn(std::future::pending::<()>());
    let shielded = shield(inner);
    assert!(shielded.task().cancel());
    assert!(matches!(shielded.await, Err(TaskError::Cancelled)));
}

#[aioloop::test(start_paused)]
async fn a_timeout_around_a_shield_gives_up_without_stopping_the_task() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let task = spawn(async move {
        sleep(Duration::from_secs(5)).await;
        d.set(true);
        5
    });
    let out = wait_for(shield(task), Duration::from_secs(1)).await;
    assert!(out.is_err());
    sleep(Duration::from_secs(5)).await;
    assert!(done.get());
}

#[aioloop::test]
async fn the_outer_gets_the_inner_outcome() {
    let ok = shield(spawn(async {
        yield_now().await;
        6 * 7
    }));
    assert_eq!(ok.await.unwrap(), 42);
    let panics = shield(spawn(async { panic!("inner") }));
    assert_eq!(panics.await.unwrap_err().panic_message(), Some("inner"));
    let back = shield(spawn(async { 1 })).into_task();
    assert_eq!(back.await.unwrap(), 1);
}
