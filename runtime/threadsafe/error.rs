//! The errors of the threadsafe door: [`LoopClosed`] and [`ConcurrentError`].

use std::any::Any;
use std::fmt;

use crate::task::panic_message;

/// The loop a [`LoopHandle`](crate::LoopHandle) points to is closed: asyncio's `RuntimeError('Event loop is closed')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed;

impl fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is closed")
    }
}

impl std::error::Error for LoopClosed {}

/// Why a [`ConcurrentFuture`](crate::ConcurrentFuture) gave no output.
pub enum ConcurrentError {
    /// [`ConcurrentFuture::cancel`](crate::ConcurrentFuture::cancel) was called (or [`ConcurrentFuture::result_timeout`](crate::ConcurrentFuture::result_timeout) timed
    /// out and cancelled it) before the output was there; the loop drops the future.
    Cancelled,
    /// The future (or the closure that builds it) panicked on the loop; this is the payload.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The loop was closed before the future finished (or before it was even submitted); the
    /// future was dropped, unfinished, on the loop's thread.
    LoopClosed,
    /// [`ConcurrentFuture::result_timeout`](crate::ConcurrentFuture::result_timeout) ran out of time (and cancelled the future).
    Timeout,
}

impl ConcurrentError {
    /// True for [`ConcurrentError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ConcurrentError::Cancelled)
    }

    /// True for [`ConcurrentError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, ConcurrentError::Panicked(_))
    }

    /// True for [`ConcurrentError::LoopClosed`].
    pub fn is_loop_closed(&self) -> bool {
        matches!(self, ConcurrentError::LoopClosed)
    }

    /// True for [`ConcurrentError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, ConcurrentError::Timeout)
    }

    /// The panic message when the payload is a string (as `panic!("...")` makes it).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ConcurrentError::Panicked(payload) => panic_message(payload.as_ref()),
            _ => None,
        }
    }

    /// The panic payload, or `Err(self)` for the other kinds; resume it with
    /// [`std::panic::resume_unwind`] to propagate the panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, ConcurrentError> {
        match self {
            ConcurrentError::Panicked(payload) => Ok(crate::task::unname_panic(payload).1),
            other => Err(other),
        }
    }
}

impl From<LoopClosed> for ConcurrentError {
    fn from(_: LoopClosed) -> Self {
        ConcurrentError::LoopClosed
    }
}

impl fmt::Debug for ConcurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConcurrentError::Cancelled => f.write_str("Cancelled"),
            ConcurrentError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            ConcurrentError::LoopClosed => f.write_str("LoopClosed"),
            ConcurrentError::Timeout => f.write_str("Timeout"),
        }
    }
}

impl fmt::Display for ConcurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConcurrentError::Cancelled => f.write_str("the future was cancelled"),
            ConcurrentError::Panicked(_) => match self.panic_message() {
                Some(msg) => write!(f, "the future panicked: {msg}"),
                None => f.write_str("the future panicked"),
            },
            ConcurrentError::LoopClosed => f.write_str("the event loop is closed"),
            ConcurrentError::Timeout => f.write_str("timed out waiting for the future"),
        }
    }
}

impl std::error::Error for ConcurrentError {}
