//! The loop's clock: real, or paused (virtual time).
//!
//! Running, the clock reads `origin_virtual + (Instant::now() - origin_real)`: real time, but
//! shifted by however far virtual time was moved while paused. Paused, it reads a frozen
//! instant that only [`Clock::advance`] (or the loop's auto-advance to the next timer) moves.
//! Either way it never goes backwards.

use std::cell::Cell;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum State {
    Running {
        origin_real: Instant,
        origin_virtual: Instant,
    },
    Paused {
        now: Instant,
    },
}

/// A loop's clock.
pub(crate) struct Clock {
    state: Cell<State>,
}

impl Clock {
    /// A running clock that reads real time.
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Clock {
            state: Cell::new(State::Running {
                origin_real: now,
                origin_virtual: now,
            }),
        }
    }

    /// The clock's current reading.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self.state.get() {
            State::Running {
                origin_real,
                origin_virtual,
            } => origin_virtual + origin_real.elapsed(),
            State::Paused { now } => now,
        }
    }

    /// True while the clock is paused.
    pub(crate) fn is_paused(&self) -> bool {
        matches!(self.state.get(), State::Paused { .. })
    }

    /// Freezes the clock at its current reading. Pausing a paused clock does nothing.
    pub(crate) fn pause(&self) {
        if !self.is_paused() {
            self.state.set(State::Paused { now: self.now() });
        }
    }

    /// Lets the clock run again from its current reading. Resuming a running clock does nothing.
    pub(crate) fn resume(&self) {
        if let State::Paused { now } = self.state.get() {
            self.state.set(State::Running {
                origin_real: Instant::now(),
                origin_virtual: now,
            });
        }
    }

    /// Moves a paused clock forward by `by` (saturating at the far future); a running clock is
    /// moved too, by shifting its origin.
    pub(crate) fn advance(&self, by: Duration) {
        let state = match self.state.get() {
            State::Paused { now } => State::Paused {
                now: add_saturating(now, by),
            },
            State::Running {
                origin_real,
                origin_virtual,
            } => State::Running {
                origin_real,
                origin_virtual: add_saturating(origin_virtual, by),
            },
        };
        self.state.set(state);
    }

    /// Moves a paused clock forward to `to` if that is later than its reading.
    pub(crate) fn advance_to(&self, to: Instant) {
        if let State::Paused { now } = self.state.get() {
            if to > now {
                self.state.set(State::Paused { now: to });
            }
        }
    }
}

/// `instant + by`, or the latest representable instant near it when that overflows.
pub(crate) fn add_saturating(instant: Instant, by: Duration) -> Instant {
    instant.checked_add(by).unwrap_or_else(|| far_future(instant))
}

/// An instant about 30 years after `from`: "never" for every practical purpose, and still
/// representable on every platform.
pub(crate) fn far_future(from: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
    from.checked_add(THIRTY_YEARS)
        .or_else(|| from.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_clock_only_moves_by_hand() {
        let clock = Clock::new();
        clock.pause();
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
        clock.advance_to(t0);
        assert_eq!(clock.now(), t0 + Duration::from_secs(3600), "never backwards");
    }

    #[test]
    fn resume_continues_from_the_virtual_reading() {
        let clock = Clock::new();
        clock.pause();
        let t0 = clock.now();
        clock.advance(Duration::from_secs(10));
        clock.resume();
        let t1 = clock.now();
        assert!(t1 >= t0 + Duration::from_secs(10));
        assert!(t1 < t0 + Duration::from_secs(11));
    }

    #[test]
    fn advance_saturates() {
        let clock = Clock::new();
        clock.pause();
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        assert!(clock.now() > Instant::now());
    }
}
