//! [`AsyncFd`]: tokio's `AsyncFd`, readiness of an arbitrary descriptor the caller owns.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::guard::{AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};
use super::level::check_pollable;
use crate::io::driver::IoDriver;
use crate::io::registration::Registration;
use crate::io::{Direction, FdSource};
use crate::io::{Interest, Ready};
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
/// [`new`](AsyncFd::new) registers for both directions, [`with_interest`](AsyncFd::with_interest)
/// for the [`Interest`] given (waiting for a direction it leaves out panics: it would never
/// end); [`try_new`](AsyncFd::try_new) and [`try_with_interest`](AsyncFd::try_with_interest)
/// give `inner` back on failure.
///
/// Readiness is edge-triggered, as tokio's: [`readable`](AsyncFd::readable) and
/// [`writable`](AsyncFd::writable) return a guard once the reactor reported the direction
/// ready; it stays ready (the next call returns at once) until the guard's
/// [`clear_ready`](AsyncFdReadyGuard::clear_ready) or a [`try_io`](AsyncFdReadyGuard::try_io)
/// whose operation meets `WouldBlock` clears it. Then the next call waits for the next edge:
/// new data, new room. Clear it only once the operation has met `WouldBlock`, or readiness
/// that the OS reported once is lost. A read or write closed for good (the peer's `FIN`, a
/// hang-up, an error) is never cleared. Every task waiting for a direction is woken by its
/// next edge. [`ready`](AsyncFd::ready) waits for any of several directions and its guard
/// says which were found ([`Ready`]); the `_mut` forms give the guard `&mut AsyncFd`, for
/// operations that need `&mut T`. For asyncio's level-triggered callbacks, see
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
    interest: Interest,
    registration: Registration,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s descriptor with the running loop for both directions.
    ///
    /// # Errors
    /// `AlreadyExists` if this loop has the descriptor registered already (a socket, pipe or
    /// child process of aioloop's, another `AsyncFd`, a [`Loop::add_reader`](crate::Loop::add_reader)
    /// watch), on either io driver; the OS error (`EPERM` for a regular file or a directory,
    /// which epoll refuses). `inner` is dropped (see [`try_new`](AsyncFd::try_new)).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn new(inner: T) -> io::Result<Self> {
        Self::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner`'s descriptor with the running loop for `interest` only: tokio's
    /// `with_interest`. A wait for another direction panics.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use aioloop::net::{AsyncFd, Interest};
    ///
    /// aioloop::run(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
    ///     b.write_all(b"x").unwrap();
    ///     let guard = a.readable().await.unwrap();
    ///     assert!(guard.ready().is_readable());
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`new`](AsyncFd::new).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<Self> {
        Self::try_with_interest(inner, interest).map_err(io::Error::from)
    }

    /// [`new`](AsyncFd::new), giving `inner` back on failure: tokio's `try_new`.
    ///
    /// ```
    /// use aioloop::net::AsyncFd;
    ///
    /// aioloop::run(async {
    ///     let file = std::fs::File::open("Cargo.toml").unwrap();
    ///     let error = AsyncFd::try_new(file).unwrap_err(); // a regular file: never pollable
    ///     let (file, cause) = error.into_parts();
    ///     assert_eq!(cause.kind(), std::io::ErrorKind::PermissionDenied);
    ///     drop(file); // still ours
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`new`](AsyncFd::new), with `inner`.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn try_new(inner: T) -> Result<Self, AsyncFdTryNewError<T>> {
        Self::try_with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// [`with_interest`](AsyncFd::with_interest), giving `inner` back on failure: tokio's
    /// `try_with_interest`.
    ///
    /// # Errors
    /// As [`new`](AsyncFd::new), with `inner`.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn try_with_interest(inner: T, interest: Interest) -> Result<Self, AsyncFdTryNewError<T>> {
        let driver = IoDriver::current("AsyncFd::new");
        let fd = inner.as_raw_fd();
        Self::claiming(driver, inner, interest, fd, "AsyncFd::new")
    }

    /// Registers `inner`'s descriptor with `driver`'s loop for `interest` as holding the
    /// number `claim` (a watch registers a duplicate of the caller's descriptor, I6 in
    /// runtime/io/driver.rs).
    #[track_caller]
    pub(crate) fn claiming(
        driver: Rc<IoDriver>,
        inner: T,
        interest: Interest,
        claim: RawFd,
        what: &str,
    ) -> Result<Self, AsyncFdTryNewError<T>> {
        let registered = check_pollable(inner.as_raw_fd(), claim).and_then(|()| {
            let mut source = FdSource(inner.as_raw_fd());
            Registration::claiming(driver, &mut source, interest.to_mio(), claim, what)
        });
        match registered {
            Ok(registration) => Ok(AsyncFd {
                inner: Some(inner),
                interest,
                registration,
            }),
            Err(cause) => Err(AsyncFdTryNewError { inner, cause }),
        }
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

    /// Waits until the descriptor is ready for any direction of `interest` (or closed that
    /// way, or in error): tokio's `ready`. The guard's [`ready`](AsyncFdReadyGuard::ready) says
    /// which; its [`try_io`](AsyncFdReadyGuard::try_io) runs an operation, clearing what it
    /// found if the operation meets `WouldBlock`. Cancel-safe.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use aioloop::net::{AsyncFd, Interest};
    ///
    /// aioloop::run(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = AsyncFd::new(a).unwrap();
    ///     b.write_all(b"x").unwrap();
    ///     let guard = a.ready(Interest::READABLE | Interest::WRITABLE).await.unwrap();
    ///     assert!(guard.ready().is_readable() && guard.ready().is_writable());
    /// });
    /// ```
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// If `interest` has a direction the `AsyncFd` is not registered for, or if it would wait
    /// outside the loop that created the `AsyncFd`.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let ready = poll_fn(|cx| self.poll_ready_set(cx, interest)).await;
        Ok(AsyncFdReadyGuard::new(self, ready))
    }

    /// [`ready`](AsyncFd::ready) with a guard that holds `&mut self`: tokio's `ready_mut`.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// As [`ready`](AsyncFd::ready).
    pub async fn ready_mut(&mut self, interest: Interest) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let ready = poll_fn(|cx| self.poll_ready_set(cx, interest)).await;
        Ok(AsyncFdReadyMutGuard::new(self, ready))
    }

    /// Waits until the descriptor is readable (or its read side closed, or in error): the
    /// guard's [`try_io`](AsyncFdReadyGuard::try_io) runs a read, clearing the readiness if it
    /// meets `WouldBlock`. Cancel-safe.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// If the `AsyncFd` is not registered for reading, or if it would wait outside the loop
    /// that created it.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// [`readable`](AsyncFd::readable) with a guard that holds `&mut self`: tokio's
    /// `readable_mut`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use aioloop::net::AsyncFd;
    ///
    /// aioloop::run(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let mut a = AsyncFd::new(a).unwrap();
    ///     b.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 8];
    ///     let mut guard = a.readable_mut().await.unwrap();
    ///     let n = guard.try_io(|fd| fd.get_mut().read(&mut buf)).unwrap().unwrap();
    ///     assert_eq!(&buf[..n], b"hi");
    /// });
    /// ```
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// As [`readable`](AsyncFd::readable).
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
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
    /// If the `AsyncFd` is not registered for writing, or if it would wait outside the loop
    /// that created it.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// [`writable`](AsyncFd::writable) with a guard that holds `&mut self`: tokio's
    /// `writable_mut`.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    ///
    /// # Panics
    /// As [`writable`](AsyncFd::writable).
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Polls for read readiness (the building block of [`readable`](AsyncFd::readable));
    /// `Pending` stores the context's waker.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    pub fn poll_read_ready<'a>(&'a self, cx: &mut Context<'_>) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready_set(cx, Interest::READABLE)
            .map(|ready| Ok(AsyncFdReadyGuard::new(self, ready)))
    }

    /// [`poll_read_ready`](AsyncFd::poll_read_ready) with a guard that holds `&mut self`.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        self.poll_ready_set(cx, Interest::READABLE)
            .map(|ready| Ok(AsyncFdReadyMutGuard::new(self, ready)))
    }

    /// Polls for write readiness (the building block of [`writable`](AsyncFd::writable)).
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready_set(cx, Interest::WRITABLE)
            .map(|ready| Ok(AsyncFdReadyGuard::new(self, ready)))
    }

    /// [`poll_write_ready`](AsyncFd::poll_write_ready) with a guard that holds `&mut self`.
    ///
    /// # Errors
    /// None: the `io::Result` is tokio's signature.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        self.poll_ready_set(cx, Interest::WRITABLE)
            .map(|ready| Ok(AsyncFdReadyMutGuard::new(self, ready)))
    }

    /// Waits for `interest`, then runs `f` on the inner object, clearing what was found ready
    /// and waiting again whenever `f` meets `WouldBlock`: tokio's `async_io`. Cancel-safe as
    /// long as `f` is (a dropped call has run `f` only in full).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use aioloop::net::{AsyncFd, Interest};
    ///
    /// aioloop::run(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = AsyncFd::new(a).unwrap();
    ///     b.write_all(b"pong").unwrap();
    ///     let mut buf = [0; 8];
    ///     let n = a.async_io(Interest::READABLE, |sock| (&*sock).read(&mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"pong");
    /// });
    /// ```
    ///
    /// # Errors
    /// What `f` returns other than `WouldBlock`.
    ///
    /// # Panics
    /// As [`ready`](AsyncFd::ready).
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready(interest).await?;
            if let Ok(result) = guard.try_io(|fd| f(fd.get_ref())) {
                return result;
            }
        }
    }

    /// [`async_io`](AsyncFd::async_io) with `&mut T`: tokio's `async_io_mut`.
    ///
    /// # Errors
    /// What `f` returns other than `WouldBlock`.
    ///
    /// # Panics
    /// As [`ready`](AsyncFd::ready).
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready_mut(interest).await?;
            if let Ok(result) = guard.try_io(|fd| f(fd.get_mut())) {
                return result;
            }
        }
    }

    /// Ready with what the reactor found of `interest`, spending a unit of the task's budget;
    /// else stores the waker in each of its directions.
    fn poll_ready_set(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<Ready> {
        self.check_interest(interest);
        coop::poll_coop(cx, |cx| {
            let found = self.found(interest);
            if !found.is_empty() {
                return Poll::Ready(found);
            }
            let mut any = false;
            for dir in interest.directions() {
                any |= self.registration.poll_ready(cx, dir).is_ready();
            }
            match any {
                true => Poll::Ready(self.found(interest)),
                false => Poll::Pending,
            }
        })
    }

    /// What the reactor knows ready of `interest`.
    fn found(&self, interest: Interest) -> Ready {
        Ready::from_bits(self.registration.ready_bits()) & interest.mask()
    }

    #[track_caller]
    fn check_interest(&self, interest: Interest) {
        let missing = (interest.is_readable() && !self.interest.is_readable())
            || (interest.is_writable() && !self.interest.is_writable());
        assert!(
            !missing,
            "aioloop: waiting for {interest:?} on an AsyncFd registered for {:?} only \
             (AsyncFd::with_interest): the wait could never end",
            self.interest
        );
    }

    /// True if `dir` is ready; else leaves `waker` to be woken by its next edge (outside any
    /// task: a watch's tick).
    pub(crate) fn register_waker(&self, dir: Direction, waker: &Waker) -> bool {
        self.registration
            .poll_ready(&mut Context::from_waker(waker), dir)
            .is_ready()
    }

    /// Forgets the clearable readiness in `ready` (the closed states stay): the next wait for
    /// those directions is for their next edge.
    pub(crate) fn clear(&self, ready: Ready) {
        for dir in ready.clearable() {
            self.registration.clear_readiness(dir);
        }
    }

    /// A guard's `clear_ready_matching`: forgets what of `found` is in `matching`; what the
    /// guard still holds (the closed states are never cleared).
    pub(crate) fn clear_matching(&self, found: Ready, matching: Ready) -> Ready {
        self.clear(found & matching);
        found - (matching - Ready::READ_CLOSED - Ready::WRITE_CLOSED)
    }

    /// A guard's `try_io` outcome: `WouldBlock` clears what the guard found and is
    /// `TryIoError`; any other result is kept.
    pub(crate) fn try_io_outcome<R>(
        &self,
        found: Ready,
        result: io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match result {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear(found);
                Err(TryIoError::new())
            }
            result => Ok(result),
        }
    }

    /// Forgets `dir`'s readiness: the next wait is for the next edge.
    pub(crate) fn clear_ready(&self, dir: Direction) {
        self.registration.clear_readiness(dir);
    }
}

/// [`AsyncFd::try_new`] or [`AsyncFd::try_with_interest`] failed: the inner object back, with
/// the cause. tokio's `AsyncFdTryNewError`.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    cause: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The inner object and the error.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(error: AsyncFdTryNewError<T>) -> io::Error {
        error.cause
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.cause, f)
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdTryNewError")
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

impl<T> std::error::Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T: AsRawFd + AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
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
