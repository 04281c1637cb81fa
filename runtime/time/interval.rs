//! [`interval`]: a periodic ticker with a policy for missed ticks.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::clock::add_saturating;
use super::driver::TimeDriver;
use super::sleep::Sleep;

/// How late a tick may be taken and still not count as missed (tokio's value): the policy
/// applies only to ticks taken later than this after their scheduled instant.
const MISSED_TOLERANCE: Duration = Duration::from_millis(5);

/// What an [`Interval`] does when ticks were missed (the loop was busy past a tick): taken
/// more than 5 ms after their scheduled instant, as tokio's (a tick taken within 5 ms keeps
/// the schedule, whatever the policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick()`, until caught up; the schedule keeps
    /// its original phase. (tokio's default.)
    #[default]
    Burst,
    /// Fire once now, then the next tick a full period after now (the phase shifts).
    Delay,
    /// Fire once now, then continue on the original phase, skipping the missed ticks.
    Skip,
}

/// Ticks every `period`, the first tick at once. See [`Interval::tick`]. Missed ticks are
/// handled by [`MissedTickBehavior::Burst`] (as tokio's default) unless
/// [`set_missed_tick_behavior`](Interval::set_missed_tick_behavior) says otherwise.
///
/// # Panics
/// If `period` is zero, or no loop is running on this thread.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     aioloop::time::pause();
///     let mut every = aioloop::time::interval(Duration::from_secs(10));
///     let first = every.tick().await;
///     let second = every.tick().await;
///     assert_eq!(second - first, Duration::from_secs(10));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    let now = TimeDriver::current("time::interval").now();
    interval_at(now, period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero, or no loop is running on this thread.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "aioloop::time::interval: the period must be greater than zero"
    );
    let driver = TimeDriver::current("time::interval_at");
    Interval {
        sleep: Sleep::new(driver, start),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// A periodic ticker made by [`interval`] or [`interval_at`].
///
/// [`tick`](Interval::tick) waits for the next tick; an `Interval` is also a
/// [`futures_core::Stream`] of the ticks' scheduled instants (it never ends). Ticks the loop
/// was too busy to take on time follow the [`MissedTickBehavior`], by default
/// [`Burst`](MissedTickBehavior::Burst): they fire at once, one per `tick()`, until the
/// schedule has caught up. The `reset*` methods move the next tick; later ticks follow it a
/// period apart.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// aioloop::run(async {
///     aioloop::time::pause();
///     let t0 = aioloop::get_running_loop().time();
///     let mut every = aioloop::time::interval(Duration::from_secs(1));
///     assert_eq!(every.next().await, Some(t0));
///     every.reset_after(Duration::from_millis(200));
///     assert_eq!(every.next().await, Some(t0 + Duration::from_millis(200)));
///     assert_eq!(every.next().await, Some(t0 + Duration::from_millis(1200)));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future before it completes takes no tick; the next call
    /// returns that tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick (for hand-written futures).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        let now = self.sleep.driver().now();
        if now < scheduled && Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        // As tokio's: a tick at most `MISSED_TOLERANCE` late is not missed, so the policy keeps
        // its phase (a `Delay` interval does not drift by the wake-up latency of every tick).
        let missed = if now > add_saturating(scheduled, MISSED_TOLERANCE) {
            self.missed
        } else {
            MissedTickBehavior::Burst
        };
        let next = match missed {
            MissedTickBehavior::Burst => add_saturating(scheduled, self.period),
            MissedTickBehavior::Delay => add_saturating(now, self.period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let periods = behind / self.period.as_nanos() + 1;
                let skip = self
                    .period
                    .saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX));
                add_saturating(scheduled, skip)
            }
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now (tokio's `reset`).
    pub fn reset(&mut self) {
        self.reset_after(self.period);
    }

    /// Restarts the schedule with a tick now: the next `tick()` returns at once, later ticks
    /// follow a period apart.
    pub fn reset_immediately(&mut self) {
        self.reset_after(Duration::ZERO);
    }

    /// Restarts the schedule with the next tick `after` from now; later ticks follow a period
    /// apart.
    pub fn reset_after(&mut self, after: Duration) {
        let now = self.sleep.driver().now();
        self.reset_at(add_saturating(now, after));
    }

    /// Restarts the schedule with the next tick at `deadline` (on the loop's clock; a past
    /// instant ticks at once); later ticks follow a period apart.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }
}

/// The ticks as a stream: each item is the instant the tick was scheduled for, as
/// [`Interval::tick`] returns it. The stream never ends.
impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

use std::future::Future as _;
