//! Interval: tokio's tests/time_interval.rs (reset, reset_immediately, reset_after, reset_at,
//! reset_at_bigger_than_interval) on the paused clock, and `Interval` as a `Stream`.

mod support;

use std::time::{Duration, Instant};

use aioloop::time::{interval, Interval, MissedTickBehavior};
use futures::StreamExt;
use support::interval::{advance_and_check, check_interval_poll, ms, ticked_at_0_and_300ms};

/// The common prefix of tokio's reset tests: ticks at 0 and 300 ms, clock at 401 ms.
async fn ticking_at_300ms() -> (Interval, Instant) {
    let (mut i, start) = ticked_at_0_and_300ms(None).await;
    advance_and_check(&mut i, start, &[(100, &[])]).await;
    (i, start)
}

#[aioloop::test(start_paused)]
async fn reset() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset();
    advance_and_check(&mut i, start, &[(250, &[]), (50, &[701]), (300, &[1001])]).await;
}

#[aioloop::test(start_paused)]
async fn reset_immediately() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_immediately();
    check_interval_poll(&mut i, start, &[401]).await;
    advance_and_check(&mut i, start, &[(100, &[]), (200, &[701])]).await;
}

#[aioloop::test(start_paused)]
async fn reset_after() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_after(ms(20));
    advance_and_check(&mut i, start, &[(20, &[421]), (100, &[]), (200, &[721])]).await;
}

#[aioloop::test(start_paused)]
async fn reset_at() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_at(aioloop::get_running_loop().time() + ms(40));
    advance_and_check(&mut i, start, &[(40, &[441]), (100, &[]), (200, &[741])]).await;
}

#[aioloop::test(start_paused)]
async fn reset_at_bigger_than_interval() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_at(aioloop::get_running_loop().time() + ms(1000));
    for _ in 0..3 {
        advance_and_check(&mut i, start, &[(300, &[])]).await;
    }
    advance_and_check(&mut i, start, &[(100, &[1401]), (300, &[1701])]).await;
}

/// The default policy is `Burst`, as documented (and as tokio's).
#[aioloop::test(start_paused)]
async fn default_missed_tick_behavior_is_burst() {
    let i = interval(ms(10));
    assert_eq!(i.missed_tick_behavior(), MissedTickBehavior::Burst);
    assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
}

/// `Interval` is a `futures_core::Stream` of tick instants; waiting on it sleeps on the
/// (paused) clock.
#[aioloop::test(start_paused)]
async fn interval_as_a_stream() {
    let start = aioloop::get_running_loop().time();
    let ticks: Vec<Instant> = interval(ms(10)).take(4).collect().await;
    let offsets: Vec<Duration> = ticks.iter().map(|t| *t - start).collect();
    assert_eq!(offsets, [ms(0), ms(10), ms(20), ms(30)]);
    assert_eq!(aioloop::get_running_loop().time() - start, ms(30));
}

/// `Interval::tick` is cancel-safe, as documented: a cancelled call takes no tick.
#[aioloop::test(start_paused)]
async fn tick_is_cancel_safe() {
    let start = aioloop::get_running_loop().time();
    let mut i = interval(ms(100));
    assert_eq!(i.tick().await, start);
    assert!(aioloop::wait_for(i.tick(), ms(50)).await.is_err());
    assert_eq!(i.tick().await, start + ms(100));
}
