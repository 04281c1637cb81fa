//! The loop's timers: a [`Wheel`] of entries keyed by nanoseconds since the loop started, and
//! the conversions between `Instant`s and ticks.
//!
//! Deadlines round up and "now" rounds down, so a timer never fires early. The origin is tick
//! [`ORIGIN_TICK`], not 0, so that instants before the loop started (`call_at(now - 1 s)`)
//! keep their order on the wheel: up to 146 years back are exact, older ones saturate at tick
//! 0; 438 years ahead saturate at `u64::MAX`.

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

/// The tick of the origin: 2^62 ns (146 years) of room for deadlines in the past.
const ORIGIN_TICK: u64 = 1 << 62;

/// A loop's timers.
pub(crate) struct TimerDriver {
    pub(crate) wheel: Wheel<TimerEntry>,
    origin: Instant,
}

impl TimerDriver {
    /// An empty driver whose tick 0 is `origin`.
    pub(crate) fn new(origin: Instant) -> Self {
        let mut wheel = Wheel::new();
        // Starts the wheel's clock at the origin (nothing is pending, so nothing fires).
        let fired = wheel.poll_expired(ORIGIN_TICK);
        debug_assert!(fired.is_none());
        TimerDriver { wheel, origin }
    }

    /// `instant` as a deadline tick (rounded up).
    pub(crate) fn deadline_tick(&self, instant: Instant) -> u64 {
        // Instants have nanosecond resolution, so the nanosecond counts are exact.
        match instant.checked_duration_since(self.origin) {
            Some(since) => {
                u64::try_from(since.as_nanos()).map_or(u64::MAX, |since| ORIGIN_TICK.saturating_add(since))
            }
            None => {
                let before = (self.origin - instant).as_nanos();
                u64::try_from(before).map_or(0, |before| ORIGIN_TICK.saturating_sub(before))
            }
        }
    }

    /// `now` as a clock tick (rounded down; the same value, as ticks are nanoseconds).
    pub(crate) fn now_tick(&self, now: Instant) -> u64 {
        self.deadline_tick(now)
    }

    /// The instant of a tick.
    pub(crate) fn instant_of(&self, tick: u64) -> Instant {
        match tick.checked_sub(ORIGIN_TICK) {
            Some(after) => super::clock::add_saturating(self.origin, Duration::from_nanos(after)),
            None => {
                let before = Duration::from_nanos(ORIGIN_TICK - tick);
                self.origin.checked_sub(before).unwrap_or(self.origin)
            }
        }
    }

    /// Registers a timer.
    pub(crate) fn insert(&mut self, deadline: Instant, entry: TimerEntry) -> TimerKey {
        let tick = self.deadline_tick(deadline);
        self.wheel.insert(tick, entry)
    }
}
