//! The glue between sockets and the reactor: the registration slab ([`slots`]), a source's
//! [`Registration`](registration::Registration) and the owning wrapper
//! [`PollEvented`](evented::PollEvented).

pub(crate) mod evented;
pub(crate) mod registration;
pub(crate) mod slots;

pub(crate) use evented::PollEvented;
pub(crate) use slots::Direction;
