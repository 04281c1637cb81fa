//! Issue 17, item 4: wait_for as asyncio 3.12 (Lib/test/test_asyncio/test_waitfor.py).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{wait_for, TimeoutError};

/// test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started: with a zero timeout a
/// coroutine is never started.
#[aioloop::test(start_paused)]
async fn test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started() {
    let started = Rc::new(Cell::new(false));
    let flag = started.clone();
    let out = wait_for(async move { flag.set(true) }, Duration::ZERO).await;
    assert_eq!(out, Err(TimeoutError));
    assert!(!started.get());
}
