//! [`AsyncFdReadyGuard`]: the readiness an [`AsyncFd`] wait found, and [`TryIoError`].

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;

use super::async_fd::AsyncFd;
use crate::io::Direction;

/// One direction of an [`AsyncFd`] found ready by [`readable`](AsyncFd::readable) or
/// [`writable`](AsyncFd::writable): tokio's `AsyncFdReadyGuard`. Dropping it keeps the
/// readiness (the next wait returns at once); [`clear_ready`](AsyncFdReadyGuard::clear_ready)
/// or a [`try_io`](AsyncFdReadyGuard::try_io) that meets `WouldBlock` clears it.
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use aioloop::net::AsyncFd;
///
/// aioloop::run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     let a = AsyncFd::new(a).unwrap();
///     b.write_all(b"x").unwrap();
///     let mut guard = a.readable().await.unwrap();
///     guard.clear_ready(); // the byte stays unread: the next wait is for the next edge
///     b.write_all(b"y").unwrap();
///     a.readable().await.unwrap().retain_ready();
/// });
/// ```
#[must_use = "a readiness guard does nothing unless its I/O runs (try_io) or it clears the readiness"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    dir: Direction,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    pub(super) fn new(fd: &'a AsyncFd<T>, dir: Direction) -> Self {
        AsyncFdReadyGuard { fd, dir }
    }

    /// Forgets the readiness: the next wait for this direction waits for the next edge. Call
    /// it only once an operation met `WouldBlock` (or drained the descriptor), or an edge the
    /// OS reported is lost and the wait may never end.
    pub fn clear_ready(&mut self) {
        self.fd.clear_ready(self.dir);
    }

    /// Keeps the readiness (what dropping the guard does): tokio's `retain_ready`.
    pub fn retain_ready(&mut self) {}

    /// Runs `f`, an operation on the descriptor. If it meets `WouldBlock`, clears the
    /// readiness and returns `Err(TryIoError)`: wait again. Any other outcome is `Ok`, the
    /// readiness kept.
    ///
    /// # Errors
    /// [`TryIoError`] when `f` met `WouldBlock`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let fd = self.fd;
        fd.try_io_in(self.dir, f)
    }

    /// The `AsyncFd` this guard is for.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd`'s inner object.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", self.fd)
            .field("direction", &self.dir)
            .finish()
    }
}

/// The operation of [`AsyncFdReadyGuard::try_io`] met `WouldBlock`: the readiness was
/// cleared, wait again. tokio's `TryIoError`.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use aioloop::net::AsyncFd;
///
/// aioloop::run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     let a = AsyncFd::new(a).unwrap();
///     b.write_all(b"x").unwrap();
///     let mut buf = [0; 8];
///     let mut guard = a.readable().await.unwrap();
///     assert_eq!(guard.try_io(|fd| fd.get_ref().read(&mut buf)).unwrap().unwrap(), 1);
///     // Still ready (nothing met WouldBlock yet); the next read does, and clears it.
///     let mut guard = a.readable().await.unwrap();
///     assert!(guard.try_io(|fd| fd.get_ref().read(&mut buf)).is_err());
/// });
/// ```
#[derive(Debug)]
pub struct TryIoError(());

impl TryIoError {
    pub(super) fn new() -> Self {
        TryIoError(())
    }
}

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block: the readiness was cleared")
    }
}

impl std::error::Error for TryIoError {}
