//! [`AsyncFd`]: tokio's `AsyncFd`, readiness of an arbitrary descriptor the caller owns.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::guard::{AsyncFdReadyGuard, TryIoError};
use super::level::check_pollable;
use crate::io::driver::IoDriver;
use crate::io::registration::Registration;
use crate::io::{Direction, FdSource};
use crate::task::coop;

/// An object with a descriptor (a socket, pipe, terminal, eventfd, inotify or timerfd
/// descriptor... anything `epoll` accepts) registered with the running loop's reactor, so
/// tasks can wait until it is readable or writable: tokio's `AsyncFd`.
///
/// The `AsyncFd` owns `inner` and gives it back with [`into_inner`](AsyncFd::into_inner)
/// (deregistered, open); dropping it deregisters the descriptor, then drops `inner`. The
/// descriptor must stay open as long as the `AsyncFd` holds it (`inner` closing it behind
/// the `AsyncFd`'s back, through [`get_mut`](AsyncFd::get_mut), is a logic error: the
/// reactor stops reporting it, and a number reused meanwhile may lose its own registration
/// when this one is removed). Set it non-blocking yourself: the `AsyncFd` only waits for
/// readiness, the I/O is yours.
///
/// Readiness is edge-triggered, as tokio's: [`readable`](AsyncFd::readable) and
/// [`writable`](AsyncFd::writable) return a guard once the reactor reported the direction
/// ready; it stays ready (the next call returns at once) until the guard's
/// [`clear_ready`](AsyncFdReadyGuard::clear_ready) or a [`try_io`](AsyncFdReadyGuard::try_io)
/// whose operation meets `WouldBlock` clears it. Then the next call waits for the next edge:
/// new data, new room. Clear it only once the operation has met `WouldBlock`, or readiness
/// that the OS reported once is lost. A read or write closed for good (the peer's `FIN`, a
/// hang-up, an error) is never cleared. Every task waiting for a direction is woken by its
/// next edge. For asyncio's level-triggered callbacks, see
/// [`Loop::add_reader`](crate::Loop::add_reader), which watches through the same mechanism.
///
/// The `AsyncFd` belongs to the loop that created it: waiting on it under another loop (or
/// after its loop closed) panics.
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
///     b.write_all(b"ping").unwrap();
///     let mut buf = [0; 16];
///     let n = loop {
///         let mut guard = a.readable().await.unwrap();
///         match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///             Ok(result) => break result.unwrap(),
///             Err(_would_block) => continue, // readiness cleared: wait for the next edge
///         }
///     };
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct AsyncFd<T: AsRawFd> {
    /// `None` only while [`AsyncFd::into_inner`] takes it.
    inner: Option<T>,
    registration: Registration,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s descriptor with the running loop for both directions.
    ///
    /// # Errors
    /// `AlreadyExists` if this loop has the descriptor registered already (a socket, pipe or
    /// child process of aioloop's, another `AsyncFd`, a [`Loop::add_reader`](crate::Loop::add_reader)
    /// watch), on either io driver; the OS error (`EPERM` for a regular file or a directory,
    /// which epoll refuses).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn new(inner: T) -> io::Result<Self> {
        let driver = IoDriver::current("AsyncFd::new");
        let fd = inner.as_raw_fd();
        Self::claiming(driver, inner, fd, "AsyncFd::new")
    }

    /// Registers `inner`'s descriptor with `driver`'s loop as holding the number `claim`
    /// (a watch registers a duplicate of the caller's descriptor, I6 in runtime/io/driver.rs).
    #[track_caller]
    pub(crate) fn claiming(driver: Rc<IoDriver>, inner: T, claim: RawFd, what: &str) -> io::Result<Self> {
        check_pollable(inner.as_raw_fd(), claim)?;
        let mut source = FdSource(inner.as_raw_fd());
        let registration = Registration::claiming(driver, &mut source, claim, what)?;
        Ok(AsyncFd {
            inner: Some(inner),
            registration,
        })
    }

    /// The inner object.
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("an AsyncFd holds its inner object until dropped")
    }

    /// The inner object, mutably. Its descriptor must not change or close.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner
            .as_mut()
            .expect("an AsyncFd holds its inner object until dropped")
    }

    /// Deregisters the descriptor and hands the inner object back (its descriptor open).
    pub fn into_inner(mut self) -> T {
        let inner = self
            .inner
            .take()
            .expect("an AsyncFd holds its inner object until dropped");
        self.registration.deregister(&mut FdSource(inner.as_raw_fd()));
        inner
    }

    /// Waits until the descriptor is readable (or its read side closed, or in error): the
    /// guard's [`try_io`](AsyncFdReadyGuard::try_io) runs a read, clearing the readiness if it
    /// meets `WouldBlock`. Cancel-safe.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// If it would wait outside the loop that created the `AsyncFd`.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the descriptor is writable (or its write side closed, or in error), as
    /// [`readable`](AsyncFd::readable) for reads. Cancel-safe.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use aioloop::net::AsyncFd;
    ///
    /// aioloop::run(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = AsyncFd::new(a).unwrap();
    ///     let mut guard = a.writable().await.unwrap();
    ///     let n = guard.try_io(|fd| fd.get_ref().write(b"hi")).unwrap().unwrap();
    ///     assert_eq!(n, 2);
    /// });
    /// ```
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// If it would wait outside the loop that created the `AsyncFd`.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for read readiness (the building block of [`readable`](AsyncFd::readable));
    /// `Pending` stores the context's waker.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    pub fn poll_read_ready<'a>(&'a self, cx: &mut Context<'_>) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_guard(cx, Direction::Read)
    }

    /// Polls for write readiness (the building block of [`writable`](AsyncFd::writable)).
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_guard(cx, Direction::Write)
    }

    /// Waits for read (`read = true`) or write readiness, then runs `f` on the inner object,
    /// clearing the readiness and waiting again whenever `f` meets `WouldBlock`: tokio's
    /// `async_io` for one direction. Cancel-safe as long as `f` is (a dropped call has run
    /// `f` only in full).
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
    ///     b.write_all(b"pong").unwrap();
    ///     let mut buf = [0; 8];
    ///     let n = a.async_io(true, |sock| (&*sock).read(&mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"pong");
    /// });
    /// ```
    ///
    /// # Errors
    /// What `f` returns other than `WouldBlock`.
    pub async fn async_io<R>(&self, read: bool, mut f: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let dir = if read { Direction::Read } else { Direction::Write };
        let inner = self.get_ref();
        poll_fn(|cx| coop::poll_coop(cx, |cx| self.registration.poll_io(cx, dir, || f(inner)))).await
    }

    fn poll_guard<'a>(
        &'a self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, dir)
            .map(|()| Ok(AsyncFdReadyGuard::new(self, dir)))
    }

    /// Ready if `dir` is ready as far as the reactor knows, spending a unit of the task's
    /// budget; else stores the waker.
    fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        coop::poll_coop(cx, |cx| self.registration.poll_ready(cx, dir))
    }

    /// True if `dir` is ready; else leaves `waker` to be woken by its next edge (outside any
    /// task: a watch's tick).
    pub(crate) fn register_waker(&self, dir: Direction, waker: &Waker) -> bool {
        self.registration
            .poll_ready(&mut Context::from_waker(waker), dir)
            .is_ready()
    }

    /// Forgets `dir`'s readiness: the next wait is for the next edge.
    pub(crate) fn clear_ready(&self, dir: Direction) {
        self.registration.clear_readiness(dir);
    }

    /// Runs `f` (a guard found `dir` ready), clearing `dir`'s readiness if it meets
    /// `WouldBlock`.
    pub(crate) fn try_io_in<'a, R>(
        &'a self,
        dir: Direction,
        f: impl FnOnce(&'a Self) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready(dir);
                Err(TryIoError::new())
            }
            result => Ok(result),
        }
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            // I4: deregistered before `inner`, dropped after this, closes the descriptor.
            self.registration.deregister(&mut FdSource(inner.as_raw_fd()));
        }
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd").field("inner", &self.inner).finish()
    }
}
