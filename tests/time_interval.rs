//! Interval: tokio's tests/time_interval.rs (reset, reset_immediately, reset_after, reset_at,
//! reset_at_bigger_than_interval) on the paused clock, and `Interval` as a `Stream`.

use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};

use aioloop::time::{advance, interval, interval_at, Interval, MissedTickBehavior};
use futures::StreamExt;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `interval` once: `Ready(scheduled instant)` or `Pending`.
async fn poll_next(interval: &mut Interval) -> Poll<Instant> {
    poll_fn(|cx| Poll::Ready(interval.poll_tick(cx))).await
}

/// tokio's `check_interval_poll!`: each delta ticks at once, then the interval is pending.
async fn check_interval_poll(interval: &mut Interval, start: Instant, deltas: &[u64]) {
    for &delta in deltas {
        assert_eq!(poll_next(interval).await, Poll::Ready(start + ms(delta)));
    }
    assert_eq!(poll_next(interval).await, Poll::Pending);
}

/// The common prefix of tokio's reset tests: ticks at 0 and 300 ms, clock at 401 ms.
async fn ticking_at_300ms() -> (Interval, Instant) {
    let start = aioloop::get_running_loop().time();
    advance(ms(1)).await;
    let mut i = interval_at(start, ms(300));
    check_interval_poll(&mut i, start, &[0]).await;
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]).await;
    advance(ms(200)).await;
    check_interval_poll(&mut i, start, &[300]).await;
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]).await;
    (i, start)
}

#[aioloop::test(start_paused)]
async fn reset() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset();
    advance(ms(250)).await;
    check_interval_poll(&mut i, start, &[]).await;
    advance(ms(50)).await;
    check_interval_poll(&mut i, start, &[701]).await;
    advance(ms(300)).await;
    check_interval_poll(&mut i, start, &[1001]).await;
}

#[aioloop::test(start_paused)]
async fn reset_immediately() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_immediately();
    check_interval_poll(&mut i, start, &[401]).await;
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]).await;
    advance(ms(200)).await;
    check_interval_poll(&mut i, start, &[701]).await;
}

#[aioloop::test(start_paused)]
async fn reset_after() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_after(ms(20));
    advance(ms(20)).await;
    check_interval_poll(&mut i, start, &[421]).await;
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]).await;
    advance(ms(200)).await;
    check_interval_poll(&mut i, start, &[721]).await;
}

#[aioloop::test(start_paused)]
async fn reset_at() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_at(aioloop::get_running_loop().time() + ms(40));
    advance(ms(40)).await;
    check_interval_poll(&mut i, start, &[441]).await;
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[]).await;
    advance(ms(200)).await;
    check_interval_poll(&mut i, start, &[741]).await;
}

#[aioloop::test(start_paused)]
async fn reset_at_bigger_than_interval() {
    let (mut i, start) = ticking_at_300ms().await;
    i.reset_at(aioloop::get_running_loop().time() + ms(1000));
    for _ in 0..3 {
        advance(ms(300)).await;
        check_interval_poll(&mut i, start, &[]).await;
    }
    advance(ms(100)).await;
    check_interval_poll(&mut i, start, &[1401]).await;
    advance(ms(300)).await;
    check_interval_poll(&mut i, start, &[1701]).await;
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
