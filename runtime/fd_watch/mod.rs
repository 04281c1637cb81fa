//! Watching arbitrary descriptors: tokio's [`AsyncFd`] (edge-triggered readiness a task
//! awaits) and asyncio's `Loop::add_reader` / `add_writer` (level-triggered callbacks), one
//! mechanism: each registers the descriptor with the loop's reactor through the registration
//! every socket uses (runtime/io/registration.rs), on either io driver.
//!
//! - [`async_fd`]: [`AsyncFd`], the registration of a descriptor its caller owns.
//! - [`guard`]: the readiness guards an `AsyncFd` wait returns, [`TryIoError`].
//! - [`watch`]: the watches of `add_reader` / `add_writer`, an `AsyncFd` of a duplicate each,
//!   whose loop callbacks turn edges into asyncio's levels.
//! - [`level`]: the zero-timeout `poll(2)` that tells the level, and the duplicate's checks.
//! - [`loop_methods`]: the four methods on `Loop`.
//!
//! A descriptor this loop has registered already (a socket's) is refused with `AlreadyExists`
//! on both drivers (I6 in runtime/io/driver.rs).

mod async_fd;
mod guard;
mod level;
mod loop_methods;
mod watch;

pub use async_fd::{AsyncFd, AsyncFdTryNewError};
pub use guard::{AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};
