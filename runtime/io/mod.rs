//! The io driver and the glue between sockets and it: the [`IoDriver`](driver::IoDriver)
//! over the [`reactor`] (`mio::Poll`, the [`timerfd`]), the registration slab ([`slots`]), a
//! source's [`Registration`](registration::Registration) and the owning wrapper
//! [`PollEvented`](evented::PollEvented).

pub(crate) mod driver;
pub(crate) mod evented;
pub(crate) mod reactor;
pub(crate) mod registration;
pub(crate) mod slots;
pub(crate) mod timerfd;

pub(crate) use evented::PollEvented;
pub(crate) use slots::Direction;
