//! The loop's timers: a [`Wheel`] of entries keyed by nanoseconds since the loop started, and
//! the conversions between `Instant`s and ticks.
//!
//! Deadlines round up and "now" rounds down, so a timer never fires early. An instant before
//! the origin is tick 0; one more than 584 years away saturates at `u64::MAX`.

use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::wheel::{TimerKey, Wheel};
use crate::task::CallbackCell;

/// What a timer does when it fires.
pub(crate) enum TimerEntry {
    /// Wake a sleeping future.
    Wake(Waker),
    /// Queue a `call_later` callback.
    Call(Rc<CallbackCell>),
}

/// A loop's timers.
pub(crate) struct TimerDriver {
    pub(crate) wheel: Wheel<TimerEntry>,
    origin: Instant,
}

impl TimerDriver {
    /// An empty driver whose tick 0 is `origin`.
    pub(crate) fn new(origin: Instant) -> Self {
        TimerDriver {
            wheel: Wheel::new(),
            origin,
        }
    }

    /// `instant` as a deadline tick (rounded up).
    pub(crate) fn deadline_tick(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        // Instants have nanosecond resolution, so the nanosecond count is exact.
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }

    /// `now` as a clock tick (rounded down; the same value, as ticks are nanoseconds).
    pub(crate) fn now_tick(&self, now: Instant) -> u64 {
        self.deadline_tick(now)
    }

    /// The instant of a tick.
    pub(crate) fn instant_of(&self, tick: u64) -> Instant {
        super::clock::add_saturating(self.origin, Duration::from_nanos(tick))
    }

    /// Registers a timer.
    pub(crate) fn insert(&mut self, deadline: Instant, entry: TimerEntry) -> TimerKey {
        let tick = self.deadline_tick(deadline);
        self.wheel.insert(tick, entry)
    }
}
