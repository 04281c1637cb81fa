//! The io driver and the glue between sockets and it: the [`IoDriver`](driver::IoDriver)
//! over the [`reactor`] (`mio::Poll`, the [`timerfd`]), the registration slab ([`slots`]), a
//! source's [`Registration`](registration::Registration) and the owning wrapper
//! [`PollEvented`]; tokio's readiness sets ([`interest`]).

pub(crate) mod driver;
pub(crate) mod evented;
pub(crate) mod interest;
pub(crate) mod kind;
pub(crate) mod reactor;
pub(crate) mod registration;
pub(crate) mod slots;
pub(crate) mod source;
mod stream_read;
mod stream_write;
pub(crate) mod timerfd;
#[cfg(all(feature = "io-uring", target_os = "linux"))]
pub(crate) mod uring;

pub(crate) use evented::PollEvented;
pub use interest::{Interest, Ready};
pub use kind::IoDriverKind;
pub(crate) use slots::Direction;
pub(crate) use source::{FdSource, Source};
