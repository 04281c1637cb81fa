//! [`AsyncFdReadyGuard`] and [`AsyncFdReadyMutGuard`]: the readiness an [`AsyncFd`] wait
//! found, and [`TryIoError`].

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;

use super::async_fd::AsyncFd;
use crate::io::Ready;

/// The readiness of an [`AsyncFd`] found by [`readable`](AsyncFd::readable),
/// [`writable`](AsyncFd::writable) or [`ready`](AsyncFd::ready): tokio's `AsyncFdReadyGuard`.
/// Dropping it keeps the readiness (the next wait returns at once); [`clear_ready`](AsyncFdReadyGuard::clear_ready)
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
    ready: Ready,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    pub(super) fn new(fd: &'a AsyncFd<T>, ready: Ready) -> Self {
        AsyncFdReadyGuard { fd, ready }
    }

    /// What the wait found ready (within the interest it waited for).
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// Forgets the readiness this guard found: the next wait for those directions waits for
    /// their next edge (a closed state stays). Call it only once an operation met
    /// `WouldBlock` (or drained the descriptor), or an edge the OS reported is lost and the
    /// wait may never end.
    pub fn clear_ready(&mut self) {
        self.fd.clear(self.ready);
    }

    /// Forgets only the part of the readiness found that is in `ready` (tokio's
    /// `clear_ready_matching`): after a write met `WouldBlock` under a guard that found both
    /// directions, `clear_ready_matching(Ready::WRITABLE)` keeps the read readiness.
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        self.ready = self.fd.clear_matching(self.ready, ready);
    }

    /// Keeps the readiness (what dropping the guard does): tokio's `retain_ready`.
    pub fn retain_ready(&mut self) {}

    /// Runs `f`, an operation on the descriptor. If it meets `WouldBlock`, clears the
    /// readiness found and returns `Err(TryIoError)`: wait again. Any other outcome is `Ok`,
    /// the readiness kept.
    ///
    /// # Errors
    /// [`TryIoError`] when `f` met `WouldBlock`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let result = f(self.fd);
        self.fd.try_io_outcome(self.ready, result)
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
            .field("ready", &self.ready)
            .finish()
    }
}

/// [`AsyncFdReadyGuard`] holding `&mut AsyncFd`, from [`readable_mut`](AsyncFd::readable_mut),
/// [`writable_mut`](AsyncFd::writable_mut) or [`ready_mut`](AsyncFd::ready_mut): its
/// [`try_io`](AsyncFdReadyMutGuard::try_io) gets `&mut AsyncFd`. tokio's
/// `AsyncFdReadyMutGuard`.
#[must_use = "a readiness guard does nothing unless its I/O runs (try_io) or it clears the readiness"]
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    fd: &'a mut AsyncFd<T>,
    ready: Ready,
}

impl<'a, T: AsRawFd> AsyncFdReadyMutGuard<'a, T> {
    pub(super) fn new(fd: &'a mut AsyncFd<T>, ready: Ready) -> Self {
        AsyncFdReadyMutGuard { fd, ready }
    }

    /// What the wait found ready (within the interest it waited for).
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// As [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        self.fd.clear(self.ready);
    }

    /// As [`AsyncFdReadyGuard::clear_ready_matching`].
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        self.ready = self.fd.clear_matching(self.ready, ready);
    }

    /// Keeps the readiness (what dropping the guard does).
    pub fn retain_ready(&mut self) {}

    /// As [`AsyncFdReadyGuard::try_io`], with `&mut AsyncFd`.
    ///
    /// # Errors
    /// [`TryIoError`] when `f` met `WouldBlock`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let result = f(self.fd);
        self.fd.try_io_outcome(self.ready, result)
    }

    /// The `AsyncFd` this guard is for.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd`, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd`'s inner object.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The `AsyncFd`'s inner object, mutably (its descriptor must not change or close).
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("fd", &*self.fd)
            .field("ready", &self.ready)
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
    pub(crate) fn new() -> Self {
        TryIoError(())
    }
}

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block: the readiness was cleared")
    }
}

impl std::error::Error for TryIoError {}
