//! [`BoundedSemaphore`]: asyncio's `BoundedSemaphore`, a semaphore that refuses to be released
//! past its initial value.

use std::fmt;

use super::semaphore::{Semaphore, SemaphoreAcquire, SemaphorePermit};
use crate::InvalidStateError;

/// A [`Semaphore`] that cannot hold more permits than it started with: asyncio's
/// `asyncio.BoundedSemaphore`. An extra [`release`](BoundedSemaphore::release) (one that no
/// acquire matches) is an error instead of silently growing the semaphore, which catches
/// release bugs.
///
/// ```
/// use aioloop::sync::BoundedSemaphore;
///
/// aioloop::run(async {
///     let sem = BoundedSemaphore::new(1);
///     sem.acquire().await.forget(); // asyncio style: acquire now, release by hand later
///     assert!(sem.release().is_ok());
///     assert!(sem.release().is_err(), "released more often than acquired");
/// });
/// ```
///
/// Waiters are served in FIFO order and cancellation is handled as for [`Semaphore`]. A
/// [`SemaphorePermit`] dropped while the semaphore is already at its bound (because of an
/// extra manual `release`) is discarded. Clones share the permits; the type is `!Send`.
#[derive(Clone)]
pub struct BoundedSemaphore {
    sem: Semaphore,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its bound.
    pub fn new(permits: usize) -> Self {
        BoundedSemaphore {
            sem: Semaphore::with_bound(permits, Some(permits)),
        }
    }

    /// Waits for a permit and takes it, as [`Semaphore::acquire`].
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        self.sem.acquire()
    }

    /// Takes a permit if one is free, without waiting.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.sem.try_acquire()
    }

    /// Gives back a permit taken with [`SemaphorePermit::forget`]: asyncio's `release()`.
    ///
    /// # Errors
    /// If every permit is already free (asyncio raises `ValueError: BoundedSemaphore released
    /// too many times`); nothing changes then.
    pub fn release(&self) -> Result<(), InvalidStateError> {
        self.sem.add_permit()
    }

    /// True if [`acquire`](BoundedSemaphore::acquire) would wait.
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// The number of free permits.
    pub fn available(&self) -> usize {
        self.sem.available()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}
