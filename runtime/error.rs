//! Small error types shared by several modules (asyncio's exception names).

use std::fmt;

/// An operation was not allowed in the object's current state: asyncio's `InvalidStateError`,
/// e.g. setting the result of a [`Future`](crate::Future) that is already done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidStateError {
    pub(crate) what: &'static str,
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid state: {}", self.what)
    }
}

impl std::error::Error for InvalidStateError {}

/// The awaited thing was cancelled: asyncio's `CancelledError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CancelledError;

impl fmt::Display for CancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for CancelledError {}
