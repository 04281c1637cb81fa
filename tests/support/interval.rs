//! `Interval` on the paused clock, after tokio's tests/time_interval.rs: the checks shared by
//! tests/time_interval.rs and tests/audit_tokio_time.rs.

use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};

use aioloop::time::{advance, interval_at, Interval, MissedTickBehavior};

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `interval` once: `Ready(scheduled instant)` or `Pending`.
pub async fn poll_next(interval: &mut Interval) -> Poll<Instant> {
    poll_fn(|cx| Poll::Ready(interval.poll_tick(cx))).await
}

/// tokio's `check_interval_poll!`: each delta ticks at once, then the interval is pending.
pub async fn check_interval_poll(interval: &mut Interval, start: Instant, deltas: &[u64]) {
    for &delta in deltas {
        assert_eq!(poll_next(interval).await, Poll::Ready(start + ms(delta)));
    }
    assert_eq!(poll_next(interval).await, Poll::Pending);
}

/// The body of tokio's interval tests: for each `(by, deltas)` step the clock advances `by`
/// ms, then [`check_interval_poll`] expects exactly the ticks at `deltas` ms after `start`.
pub async fn advance_and_check(interval: &mut Interval, start: Instant, steps: &[(u64, &[u64])]) {
    for &(by, deltas) in steps {
        advance(ms(by)).await;
        check_interval_poll(interval, start, deltas).await;
    }
}

/// The common prefix of tokio's interval tests: a 300 ms interval from `start` (the clock's
/// reading), with `behavior` set before its first tick (`None`: the default left alone),
/// created 1 ms after `start` and polled through its ticks at 0 and 300 ms; the clock is left
/// at 301 ms.
pub async fn ticked_at_0_and_300ms(behavior: Option<MissedTickBehavior>) -> (Interval, Instant) {
    let start = aioloop::get_running_loop().time();
    advance(ms(1)).await;
    let mut i = interval_at(start, ms(300));
    if let Some(behavior) = behavior {
        i.set_missed_tick_behavior(behavior);
    }
    check_interval_poll(&mut i, start, &[0]).await;
    advance_and_check(&mut i, start, &[(100, &[]), (200, &[300])]).await;
    (i, start)
}
