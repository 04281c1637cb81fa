//! wait_for / timeout_at: value in time, cancellation on timeout, nesting.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, timeout_at, wait_for, TimeoutError};

struct DropFlag(Rc<Cell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[aioloop::test(start_paused)]
async fn a_future_that_finishes_in_time_returns_its_value() {
    let out = wait_for(
        async {
            sleep(Duration::from_secs(1)).await;
            "done"
        },
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(out, Ok("done"));
}

#[aioloop::test(start_paused)]
async fn timeout_drops_the_inner_future_before_returning() {
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(dropped.clone());
    let t0 = aioloop::get_running_loop().time();
    let out = wait_for(
        async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
        },
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(out, Err(TimeoutError));
    assert!(
        dropped.get(),
        "the inner future was dropped by the time wait_for returned"
    );
    assert_eq!(aioloop::get_running_loop().time() - t0, Duration::from_secs(3));
}

#[aioloop::test(start_paused)]
async fn nested_wait_fors_with_the_same_deadline_report_the_outermost() {
    let deadline = aioloop::get_running_loop().time() + Duration::from_secs(5);
    let inner_result = Rc::new(Cell::new(None));
    let seen = inner_result.clone();
    let outer = timeout_at(deadline, async move {
        let inner = timeout_at(deadline, sleep(Duration::from_secs(60))).await;
        seen.set(Some(inner.is_err()));
    })
    .await;
    assert_eq!(outer, Err(TimeoutError));
    assert_eq!(inner_result.get(), None, "the inner timeout never reported");
}

#[aioloop::test(start_paused)]
async fn an_inner_shorter_timeout_reports_inside() {
    let outer = wait_for(
        async { wait_for(sleep(Duration::from_secs(60)), Duration::from_secs(1)).await },
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outer, Ok(Err(TimeoutError)));
}

/// asyncio 3.12 (test_waitfor: test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started):
/// with a zero timeout the future is never started, even one that would be ready at once.
#[aioloop::test]
async fn zero_timeout_never_starts_the_future() {
    assert_eq!(wait_for(async { 1 }, Duration::ZERO).await, Err(TimeoutError));
    assert_eq!(
        wait_for(std::future::pending::<()>(), Duration::ZERO).await,
        Err(TimeoutError)
    );
}

#[aioloop::test]
async fn real_clock_timeout() {
    let start = std::time::Instant::now();
    let out = wait_for(sleep(Duration::from_secs(30)), Duration::from_millis(20)).await;
    assert_eq!(out, Err(TimeoutError));
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(start.elapsed() < Duration::from_secs(10));
}
