//! [`Interest`] and [`Ready`]: tokio's readiness sets, public as `aioloop::net::{Interest,
//! Ready}`, for [`AsyncFd`](crate::net::AsyncFd) and the sockets' `ready`.

use std::fmt;
use std::ops;

use super::slots::{Direction, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

/// The directions an [`AsyncFd`](crate::net::AsyncFd) is registered for, or waits for:
/// tokio's `Interest`. Combine them with `|`.
///
/// ```
/// use aioloop::net::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Readable: data to read, the read side closed, or an error.
    pub const READABLE: Interest = Interest(READABLE);
    /// Writable: room to write, the write side closed, or an error.
    pub const WRITABLE: Interest = Interest(WRITABLE);

    /// Both `self` and `other` (`|` in a `const` context).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// True if it includes [`Interest::READABLE`].
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// True if it includes [`Interest::WRITABLE`].
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// The mio interest to register.
    pub(crate) fn to_mio(self) -> mio::Interest {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => mio::Interest::READABLE | mio::Interest::WRITABLE,
            (false, true) => mio::Interest::WRITABLE,
            _ => mio::Interest::READABLE,
        }
    }

    /// The directions it includes.
    pub(crate) fn directions(self) -> impl Iterator<Item = Direction> {
        [
            (self.is_readable(), Direction::Read),
            (self.is_writable(), Direction::Write),
        ]
        .into_iter()
        .filter_map(|(on, dir)| on.then_some(dir))
    }

    /// Every readiness bit that answers it (the closed states included).
    pub(crate) fn mask(self) -> Ready {
        let mut mask = Ready::EMPTY;
        if self.is_readable() {
            mask = mask | Ready::READABLE | Ready::READ_CLOSED;
        }
        if self.is_writable() {
            mask = mask | Ready::WRITABLE | Ready::WRITE_CLOSED;
        }
        mask
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (false, true) => f.write_str("WRITABLE"),
            _ => f.write_str("READABLE"),
        }
    }
}

/// A set of readiness states an [`AsyncFd`](crate::net::AsyncFd) wait found: tokio's `Ready`.
/// "Closed" states (the peer's `FIN`, a hang-up) are final: clearing the readiness never
/// clears them, and they answer a wait for their direction.
///
/// ```
/// use aioloop::net::Ready;
///
/// let ready = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(ready.is_readable() && ready.is_read_closed());
/// assert!(!ready.is_writable());
/// assert!(Ready::READ_CLOSED.is_readable()); // a closed read side answers a read
/// assert!(Ready::EMPTY.is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ready(u8);

impl Ready {
    /// Nothing.
    pub const EMPTY: Ready = Ready(0);
    /// Readable.
    pub const READABLE: Ready = Ready(READABLE);
    /// Writable.
    pub const WRITABLE: Ready = Ready(WRITABLE);
    /// The read side is closed (the peer's `FIN`, a hang-up).
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);
    /// The write side is closed (the peer is gone).
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);
    /// Every state.
    pub const ALL: Ready = Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED);

    pub(crate) const fn from_bits(bits: u8) -> Ready {
        Ready(bits & Ready::ALL.0)
    }

    /// True if nothing is ready.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if readable or read closed (a read would not block).
    pub const fn is_readable(self) -> bool {
        self.0 & (READABLE | READ_CLOSED) != 0
    }

    /// True if writable or write closed (a write would not block).
    pub const fn is_writable(self) -> bool {
        self.0 & (WRITABLE | WRITE_CLOSED) != 0
    }

    /// True if the read side is closed.
    pub const fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// True if the write side is closed.
    pub const fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// The directions whose clearable bit this set holds (the closed states are never cleared).
    pub(crate) fn clearable(self) -> impl Iterator<Item = Direction> {
        [
            (self.0 & READABLE != 0, Direction::Read),
            (self.0 & WRITABLE != 0, Direction::Write),
        ]
        .into_iter()
        .filter_map(|(on, dir)| on.then_some(dir))
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;

    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;

    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;

    fn sub(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &(self.0 & READABLE != 0))
            .field("is_writable", &(self.0 & WRITABLE != 0))
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interest_answers_its_closed_state_too() {
        assert_eq!(Interest::READABLE.mask(), Ready::READABLE | Ready::READ_CLOSED);
        assert_eq!((Interest::READABLE | Interest::WRITABLE).mask(), Ready::ALL);
        assert_eq!(
            Interest::WRITABLE.directions().collect::<Vec<_>>(),
            [Direction::Write]
        );
    }

    #[test]
    fn only_the_clearable_bits_are_cleared() {
        let dirs: Vec<_> = (Ready::READ_CLOSED | Ready::WRITABLE).clearable().collect();
        assert_eq!(dirs, [Direction::Write]);
        assert_eq!(
            Ready::ALL - Ready::READABLE,
            Ready::WRITABLE | Ready::READ_CLOSED | Ready::WRITE_CLOSED
        );
    }
}
