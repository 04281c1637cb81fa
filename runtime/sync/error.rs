//! The errors of the synchronisation primitives and queues (asyncio's exception names).
//!
//! Misuse that asyncio reports with `ValueError` or `RuntimeError` (an extra
//! `BoundedSemaphore::release`, an extra `task_done`, releasing an unlocked `Lock`) is an
//! [`InvalidStateError`](crate::InvalidStateError).

use std::fmt;

/// The barrier was aborted or reset: asyncio's `BrokenBarrierError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken (aborted or reset)")
    }
}

impl std::error::Error for BrokenBarrierError {}

/// The queue was shut down: asyncio's `QueueShutDown`. The error of `put` carries the item
/// back (`QueueShutDown<T>`); the error of `get` carries nothing (`QueueShutDown<()>`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that could not be put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// Why `put_nowait` failed; both variants carry the item back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutNowaitError<T> {
    /// The queue holds `maxsize` items: asyncio's `QueueFull`.
    QueueFull(T),
    /// The queue was shut down: asyncio's `QueueShutDown`.
    QueueShutDown(T),
}

impl<T> PutNowaitError<T> {
    /// The item that could not be put.
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::QueueFull(item) | PutNowaitError::QueueShutDown(item) => item,
        }
    }

    /// True for [`PutNowaitError::QueueFull`].
    pub fn is_full(&self) -> bool {
        matches!(self, PutNowaitError::QueueFull(_))
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::QueueFull(_) => f.write_str("QueueFull(..)"),
            PutNowaitError::QueueShutDown(_) => f.write_str("QueueShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::QueueFull(_) => f.write_str("the queue is full"),
            PutNowaitError::QueueShutDown(_) => f.write_str("the queue is shut down"),
        }
    }
}

impl<T> std::error::Error for PutNowaitError<T> {}

/// Why `get_nowait` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetNowaitError {
    /// The queue holds no item: asyncio's `QueueEmpty`.
    QueueEmpty,
    /// The queue is empty and shut down (or was shut down with `immediate`): asyncio's
    /// `QueueShutDown`.
    QueueShutDown,
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::QueueEmpty => f.write_str("the queue is empty"),
            GetNowaitError::QueueShutDown => f.write_str("the queue is shut down"),
        }
    }
}

impl std::error::Error for GetNowaitError {}
