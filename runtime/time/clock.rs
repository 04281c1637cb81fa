//! The loop's clock: real, or paused (virtual time).
//!
//! Running, the clock reads `origin_virtual + (Instant::now() - origin_real)`: real time, but
//! shifted by however far virtual time was moved while paused. Paused, it reads a frozen
//! instant that only [`Clock::advance`] (or the loop's auto-advance to the next timer) moves.
//! Either way it never goes backwards.
//!
//! It also reads as nanoseconds since its start ([`Clock::nanos`]), the time driver's ticks:
//! one subtraction of `Instant`s instead of the three that `now()` and a conversion to ticks
//! take (a sleep reads the clock once per creation).

use std::cell::Cell;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum State {
    Running {
        origin_real: Instant,
        origin_virtual: Instant,
        /// `origin_virtual` in nanoseconds since the clock's start.
        origin_nanos: u64,
    },
    Paused {
        now: Instant,
        /// `now` in nanoseconds since the clock's start.
        nanos: u64,
    },
}

/// A loop's clock.
pub(crate) struct Clock {
    state: Cell<State>,
    /// The first reading.
    start: Instant,
}

impl Clock {
    /// A running clock that reads real time.
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Clock {
            state: Cell::new(State::Running {
                origin_real: now,
                origin_virtual: now,
                origin_nanos: 0,
            }),
            start: now,
        }
    }

    /// The clock's first reading (it never reads earlier).
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// The clock's current reading in nanoseconds since [`Clock::start`] (saturating after
    /// 584 years): the same instant as [`Clock::now`], exactly.
    #[inline]
    pub(crate) fn nanos(&self) -> u64 {
        match self.state.get() {
            State::Running {
                origin_real,
                origin_nanos,
                ..
            } => origin_nanos.saturating_add(nanos_of(origin_real.elapsed())),
            State::Paused { nanos, .. } => nanos,
        }
    }

    /// `instant` (not before the start) in nanoseconds since the start.
    fn nanos_since_start(&self, instant: Instant) -> u64 {
        nanos_of(instant.saturating_duration_since(self.start))
    }

    /// A paused state at `now`.
    fn paused_at(&self, now: Instant) -> State {
        State::Paused {
            now,
            nanos: self.nanos_since_start(now),
        }
    }

    /// The clock's current reading.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self.state.get() {
            State::Running {
                origin_real,
                origin_virtual,
                ..
            } => origin_virtual + origin_real.elapsed(),
            State::Paused { now, .. } => now,
        }
    }

    /// True while the clock is paused.
    pub(crate) fn is_paused(&self) -> bool {
        matches!(self.state.get(), State::Paused { .. })
    }

    /// Freezes the clock at its current reading. Pausing a paused clock does nothing.
    pub(crate) fn pause(&self) {
        if !self.is_paused() {
            self.state.set(self.paused_at(self.now()));
        }
    }

    /// Lets the clock run again from its current reading. Resuming a running clock does nothing.
    pub(crate) fn resume(&self) {
        if let State::Paused { now, nanos } = self.state.get() {
            self.state.set(State::Running {
                origin_real: Instant::now(),
                origin_virtual: now,
                origin_nanos: nanos,
            });
        }
    }

    /// Moves a paused clock forward by `by` (saturating at the far future); a running clock is
    /// moved too, by shifting its origin.
    pub(crate) fn advance(&self, by: Duration) {
        let state = match self.state.get() {
            State::Paused { now, .. } => self.paused_at(add_saturating(now, by)),
            State::Running {
                origin_real,
                origin_virtual,
                ..
            } => {
                let origin_virtual = add_saturating(origin_virtual, by);
                State::Running {
                    origin_real,
                    origin_virtual,
                    origin_nanos: self.nanos_since_start(origin_virtual),
                }
            }
        };
        self.state.set(state);
    }

    /// Moves a paused clock forward to `to` if that is later than its reading.
    pub(crate) fn advance_to(&self, to: Instant) {
        if let State::Paused { now, .. } = self.state.get() {
            if to > now {
                self.state.set(self.paused_at(to));
            }
        }
    }
}

/// `duration` in nanoseconds, saturating at `u64::MAX` (584 years).
#[inline]
pub(crate) fn nanos_of(duration: Duration) -> u64 {
    duration
        .as_secs()
        .checked_mul(1_000_000_000)
        .and_then(|nanos| nanos.checked_add(u64::from(duration.subsec_nanos())))
        .unwrap_or(u64::MAX)
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
    fn nanos_read_the_same_instant_as_now() {
        let clock = Clock::new();
        let nanos_at = |clock: &Clock| {
            let (before, now, after) = (clock.nanos(), clock.now(), clock.nanos());
            let exact = clock.nanos_since_start(now);
            assert!(before <= exact && exact <= after, "{before} {exact} {after}");
        };
        nanos_at(&clock);
        clock.pause();
        clock.advance(Duration::from_nanos(1_234_567));
        assert_eq!(clock.nanos(), clock.nanos_since_start(clock.now()));
        clock.advance_to(clock.now() + Duration::from_secs(3));
        assert_eq!(clock.nanos(), clock.nanos_since_start(clock.now()));
        clock.resume();
        nanos_at(&clock);
        clock.advance(Duration::from_millis(7));
        nanos_at(&clock);
        assert_eq!(nanos_of(Duration::MAX), u64::MAX);
        assert_eq!(nanos_of(Duration::new(3, 5)), 3_000_000_005);
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
