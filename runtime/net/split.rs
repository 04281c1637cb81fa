//! Owned read and write halves of a stream ([`TcpStream`](super::TcpStream),
//! [`UnixStream`](super::UnixStream)), for a reader task and a writer task.
//!
//! Both halves share the stream through an `Rc` (a loop is single-threaded, so no lock): the
//! reactor wakes the tasks waiting to read and those waiting to write apart, so the read half
//! and the write half each wake their own task.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::{Rc, Weak};

use super::stream_impl::{self, impl_async_read, impl_async_write};

pub(crate) mod sealed {
    use std::io::{self, IoSlice};
    use std::task::{Context, Poll};

    /// The operations a half needs from its stream: both directions.
    pub trait Sealed: ReadPriv + WritePriv {}

    /// The reading that `impl_async_read!` builds `AsyncRead` on (a stream, or a child's
    /// output pipe).
    pub trait ReadPriv {
        fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    }

    /// The writing that `impl_async_write!` builds `AsyncWrite` on (a stream, or a child's
    /// input pipe).
    pub trait WritePriv {
        fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
        fn poll_write_vectored_priv(
            &self,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>>;
        fn shutdown_write_priv(&self) -> io::Result<()>;
        /// Waits until what was written is sent (a stream in the io_uring completion form
        /// buffers its writes; nothing else does).
        fn poll_flush_priv(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}

/// A stream that [`into_split`](super::TcpStream::into_split) can split: [`TcpStream`](super::TcpStream)
/// and [`UnixStream`](super::UnixStream). Sealed.
pub trait Splittable: sealed::Sealed {}

/// The read half of a stream, from `into_split`. Implements `futures_io::AsyncRead` (and
/// tokio's with the `tokio-io` feature).
pub struct OwnedReadHalf<S: Splittable> {
    inner: Rc<S>,
}

/// The write half of a stream, from `into_split`. Implements `futures_io::AsyncWrite` (and
/// tokio's with the `tokio-io` feature). Dropping it shuts the write side down (the peer reads
/// EOF) unless [`OwnedWriteHalf::forget`] was called.
pub struct OwnedWriteHalf<S: Splittable> {
    inner: Rc<S>,
    shutdown_on_drop: bool,
}

pub(crate) fn split<S: Splittable>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let inner = Rc::new(stream);
    (
        OwnedReadHalf { inner: inner.clone() },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams; they are
/// handed back.
pub struct ReuniteError<S: Splittable>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: Splittable> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S: Splittable> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: Splittable> std::error::Error for ReuniteError<S> {}

impl<S: Splittable> OwnedReadHalf<S> {
    /// Puts the stream back together; fails if `write` belongs to another stream.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Rc::ptr_eq(&self.inner, &write.inner) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Rc::try_unwrap(self.inner)
            .unwrap_or_else(|_| unreachable!("the two halves hold the only references")))
    }

    /// Reads some bytes into `buf`: `Ok(0)` means EOF.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes (a `wait_for` that timed out, a
    /// losing branch of a `select!`), no data was read; the next call gets it.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_read_priv(cx, buf)).await
    }

    /// Fills `buf` entirely; `UnexpectedEof` if the stream ends first.
    ///
    /// # Cancel safety
    /// Not cancel-safe: if the future is dropped before it completes, the bytes it had read are in
    /// the front of `buf`, in order, and the stream goes on after them (nothing is read twice), but
    /// how many there were is lost with the future. To read a frame across cancellations, use
    /// [`StreamReader::readexactly`](crate::streams::StreamReader::readexactly), which keeps them
    /// in its buffer, or `read` in a loop.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        stream_impl::read_exact(buf, |cx, buf| self.inner.poll_read_priv(cx, buf)).await
    }
}

impl<S: Splittable> OwnedWriteHalf<S> {
    /// Puts the stream back together; fails if `read` belongs to another stream.
    pub fn reunite(self, read: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        read.reunite(self)
    }

    /// Drops the half without shutting the write side down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Writes some bytes of `buf`; returns how many.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, nothing was written.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Cancel safety
    /// Not cancel-safe: if the future is dropped before it completes, a prefix of `buf` of unknown
    /// length was written (in order, and nothing else); calling `write_all` again starts over from
    /// the beginning of `buf`, sending that prefix twice. Where the call may be cancelled, use
    /// `write` in a loop, advancing by what it returns, or a
    /// [`StreamWriter`](crate::streams::StreamWriter), whose `write` never waits.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        stream_impl::write_all(buf, |cx, buf| self.inner.poll_write_priv(cx, buf)).await
    }

    /// Waits until everything written was handed to the socket (see
    /// [`TcpStream::flush`](super::TcpStream::flush)).
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_flush_priv(cx)).await
    }

    /// Shuts the write side down now (the peer reads EOF; on io_uring in the completion form,
    /// once the bytes already written were sent).
    pub fn shutdown(&self) -> io::Result<()> {
        self.inner.shutdown_write_priv()
    }

    /// The stream both halves share, without keeping it alive (a server's handle on its
    /// clients' sockets, streams/server.rs).
    pub(crate) fn downgrade(&self) -> Weak<S> {
        Rc::downgrade(&self.inner)
    }
}

/// The stream both halves share (for `peer_addr`, `local_addr`...).
impl<S: Splittable> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.inner
    }
}

/// The stream both halves share (for `peer_addr`, `local_addr`...).
impl<S: Splittable> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Splittable> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown_write_priv();
        }
    }
}

impl<S: Splittable + fmt::Debug> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.inner).finish()
    }
}

impl<S: Splittable + fmt::Debug> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&*self.inner).finish()
    }
}

impl_async_read!([S: Splittable] OwnedReadHalf<S>, |half| &*half.inner);
impl_async_write!([S: Splittable] OwnedWriteHalf<S>, |half| &*half.inner);
