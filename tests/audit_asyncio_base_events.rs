//! Audit against CPython's Lib/test/test_asyncio/test_base_events.py and test_events.py:
//! callback order (call_soon, call_later, call_at), handles, and run_forever/stop. Each test
//! is named after the CPython test it ports.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{call_at, call_later, call_soon, get_running_loop, sleep, yield_now, EventLoop};

type Log = Rc<RefCell<Vec<&'static str>>>;

fn log() -> Log {
    Rc::default()
}

fn push(log: &Log, what: &'static str) -> impl FnOnce() + 'static {
    let log = log.clone();
    move || log.borrow_mut().push(what)
}

/// test_base_events.py `test__run_once_schedule_handle` / test_events.py `test_call_soon`:
/// callbacks run in the order they were scheduled, and one scheduled by a running callback
/// waits for the next iteration (`_run_once` runs only what was ready when it began).
#[aioloop::test]
async fn test_call_soon_fifo_and_next_iteration() {
    let seen = log();
    let inner = seen.clone();
    call_soon(move || {
        inner.borrow_mut().push("1");
        call_soon(push(&inner, "3"));
    });
    call_soon(push(&seen, "2"));
    yield_now().await;
    assert_eq!(*seen.borrow(), ["1", "2"], "3 waits for the next iteration");
    yield_now().await;
    assert_eq!(*seen.borrow(), ["1", "2", "3"]);
}

/// test_base_events.py `test_call_later` / `test_call_at` with equal deadlines: timers due at
/// the same instant run in the order they were set, whether by call_later or call_at; an
/// earlier deadline set later runs first.
#[aioloop::test(start_paused = true)]
async fn test_call_later_equal_deadlines_run_in_order_set() {
    let seen = log();
    let when = get_running_loop().time() + Duration::from_millis(10);
    call_later(Duration::from_millis(10), push(&seen, "a"));
    call_at(when, push(&seen, "b"));
    call_later(Duration::from_millis(10), push(&seen, "c"));
    call_later(Duration::from_millis(5), push(&seen, "early"));
    sleep(Duration::from_millis(20)).await;
    assert_eq!(*seen.borrow(), ["early", "a", "b", "c"]);
}

/// test_base_events.py `test_call_later_negative_delays`: deadlines already past run in
/// deadline order, not in the order they were set (`call_at` with past instants here, a
/// `Duration` cannot be negative).
#[aioloop::test(start_paused = true)]
async fn test_call_later_negative_delays() {
    let seen = log();
    // Let the virtual clock move so that instants before "now" exist.
    sleep(Duration::from_secs(5)).await;
    let now = get_running_loop().time();
    call_at(now - Duration::from_secs(1), push(&seen, "a"));
    call_at(now - Duration::from_secs(2), push(&seen, "b"));
    sleep(Duration::from_millis(1)).await;
    assert_eq!(*seen.borrow(), ["b", "a"]);
}

/// test_events.py `test_call_later` with `call_soon`: a zero-delay timer and a call_soon
/// callback scheduled in the same step both run before a later yield returns, the call_soon
/// one first (asyncio moves expired timers to the end of the ready queue).
#[aioloop::test(start_paused = true)]
async fn test_call_soon_runs_before_a_zero_delay_timer() {
    let seen = log();
    call_later(Duration::ZERO, push(&seen, "timer"));
    call_soon(push(&seen, "soon"));
    for _ in 0..3 {
        yield_now().await;
    }
    assert_eq!(*seen.borrow(), ["soon", "timer"]);
}

/// test_events.py `test_handle_cancel` / `test_timer_handle_cancel` and asyncio's
/// `TimerHandle.when()`: a cancelled handle never runs, `when()` is the scheduled time, and
/// cancelling after the callback ran changes nothing.
#[aioloop::test(start_paused = true)]
async fn test_timer_handle_cancel_and_when() {
    let seen = log();
    let t0 = get_running_loop().time();
    let cancelled = call_later(Duration::from_millis(10), push(&seen, "cancelled"));
    let kept = call_later(Duration::from_millis(20), push(&seen, "kept"));
    assert_eq!(cancelled.when(), t0 + Duration::from_millis(10));
    assert_eq!(kept.when(), t0 + Duration::from_millis(20));
    cancelled.cancel();
    call_soon(push(&seen, "soon")).cancel();
    sleep(Duration::from_millis(30)).await;
    kept.cancel(); // after it ran: nothing happens
    assert_eq!(*seen.borrow(), ["kept"]);
}

/// test_base_events.py `test_run_forever_pre_stopped` and `test_run_once` (the
/// `call_soon(loop.stop); run_forever()` idiom): `stop()` before `run_forever` runs the
/// callbacks already scheduled, one iteration, and returns; the loop can then run again (the
/// stop request was consumed).
#[test]
fn test_run_forever_pre_stopped_and_restart() {
    let seen = log();
    let event_loop = EventLoop::new().unwrap();
    let lp = event_loop.clone_handle();
    let inner = seen.clone();
    event_loop.call_soon(move || {
        inner.borrow_mut().push("first");
        call_soon(push(&inner, "next iteration"));
    });
    lp.stop();
    event_loop.run_forever();
    assert_eq!(*seen.borrow(), ["first"]);
    assert!(!lp.is_running());

    let stopper = lp.clone();
    event_loop.call_soon(move || stopper.stop());
    event_loop.run_forever();
    assert_eq!(*seen.borrow(), ["first", "next iteration"]);
    assert_eq!(event_loop.run_until_complete(async { 5 }), 5);
}

/// asyncio takes any float delay (`call_later(1e300, cb)`, `timeout(1e300)`): a delay too
/// large for the clock must mean "never", not overflow the `Instant` arithmetic.
#[aioloop::test(start_paused = true)]
async fn test_huge_delays_mean_never() {
    let seen = log();
    let handle = call_later(Duration::MAX, push(&seen, "never"));
    let scope = aioloop::timeout_scope(Duration::MAX);
    assert_eq!(scope.run(async { 3 }).await, Ok(3));
    assert!(!scope.expired());
    sleep(Duration::from_secs(3600)).await;
    handle.cancel();
    assert!(seen.borrow().is_empty());
}
