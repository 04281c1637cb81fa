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
