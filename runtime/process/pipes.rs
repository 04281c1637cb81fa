//! [`ChildStdin`], [`ChildStdout`] and [`ChildStderr`]: the child's standard streams as
//! non-blocking pipes registered with the loop's reactor, with the same async I/O traits as the
//! sockets (`futures_io::{AsyncRead, AsyncWrite}`, and tokio's under the `tokio-io` feature).
//!
//! They share the sockets' plumbing: reads and writes are `PollEvented`'s transfer operations
//! (a short read or write clears the readiness, architecture.md I2), and the trait impls come
//! from the streams' `impl_async_read!` / `impl_async_write!` over the crate's `ReadPriv` /
//! `WritePriv`.

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::os::fd::OwnedFd;
use std::task::{Context, Poll};

use mio::unix::pipe::{Receiver, Sender};

use crate::io::{Direction, PollEvented};
use crate::net::split::sealed::{ReadPriv, WritePriv};
use crate::net::stream_impl::{self, impl_async_read, impl_async_write};

/// Makes a pipe end non-blocking and registers it with the running loop.
#[track_caller]
fn register<E: mio::event::Source + std::os::fd::AsRawFd>(
    pipe: E,
    nonblocking: impl FnOnce(&E) -> io::Result<()>,
) -> io::Result<PollEvented<E>> {
    nonblocking(&pipe)?;
    PollEvented::new(pipe, "process::Command::spawn")
}

/// The write end of a child's standard input. Dropping it (or closing it through
/// `AsyncWrite::poll_close`, e.g. `AsyncWriteExt::close`) closes the pipe, so the child reads
/// EOF; writes after a close fail with `BrokenPipe`.
pub struct ChildStdin {
    /// `None` once closed.
    io: RefCell<Option<PollEvented<Sender>>>,
}

impl ChildStdin {
    #[track_caller]
    pub(crate) fn new(std: std::process::ChildStdin) -> io::Result<Self> {
        let io = register(Sender::from(std), |pipe| pipe.set_nonblocking(true))?;
        Ok(ChildStdin {
            io: RefCell::new(Some(io)),
        })
    }

    fn closed() -> io::Error {
        io::Error::new(io::ErrorKind::BrokenPipe, "aioloop: the child's stdin was closed")
    }

    /// Runs `op` on the open pipe, or fails with `BrokenPipe` once it is closed.
    fn with_pipe<R>(
        &self,
        op: impl FnOnce(&PollEvented<Sender>) -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match &*self.io.borrow() {
            Some(io) => op(io),
            None => Poll::Ready(Err(Self::closed())),
        }
    }

    /// Polls a write of `buf` (the building block of the `AsyncWrite` impls). A short write
    /// means the pipe buffer is full: the next write waits for room without a syscall.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.with_pipe(|io| io.poll_write(cx, buf))
    }

    /// Polls a vectored write.
    pub fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.with_pipe(|io| io.poll_write_vectored(cx, bufs))
    }

    /// Writes some bytes of `buf`, waiting until the pipe takes any; returns how many.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    /// Writes all of `buf`, waiting whenever the pipe buffer is full.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        stream_impl::write_all(buf, |cx, buf| self.poll_write(cx, buf)).await
    }

    /// The pipe's descriptor, deregistered from the loop (still non-blocking), e.g. for
    /// [`connect_write_pipe`](crate::protocols::connect_write_pipe).
    ///
    /// # Errors
    /// `BrokenPipe` if the pipe was closed already.
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        match self.io.into_inner() {
            Some(io) => Ok(io.into_inner().into()),
            None => Err(Self::closed()),
        }
    }
}

impl WritePriv for ChildStdin {
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write(cx, buf)
    }

    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, bufs)
    }

    /// Closes the pipe: the child reads EOF.
    fn shutdown_write_priv(&self) -> io::Result<()> {
        let pipe = self.io.borrow_mut().take();
        drop(pipe); // deregisters and closes, after the borrow
        Ok(())
    }
}

impl_async_write!([] ChildStdin, |s| s);

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("pipe", &self.io.borrow())
            .finish()
    }
}

/// The read end of a child's standard output.
pub struct ChildStdout {
    io: PollEvented<Receiver>,
}

/// The read end of a child's standard error.
pub struct ChildStderr {
    io: PollEvented<Receiver>,
}

macro_rules! impl_reader {
    ($ty:ident, $std:ty) => {
        impl $ty {
            #[track_caller]
            pub(crate) fn new(std: $std) -> io::Result<Self> {
                let io = register(Receiver::from(std), |pipe| pipe.set_nonblocking(true))?;
                Ok($ty { io })
            }

            /// Polls a read into `buf` (the building block of the `AsyncRead` impls). A short
            /// read means the pipe is drained: the next read waits for new data without a
            /// syscall.
            pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }

            /// Reads some bytes into `buf`, waiting until some are available: `Ok(0)` means
            /// EOF (the child closed its end, usually by exiting).
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                poll_fn(|cx| self.poll_read(cx, buf)).await
            }

            /// Reads until EOF, appending to `out`; returns how many bytes were read.
            pub async fn read_to_end(&self, out: &mut Vec<u8>) -> io::Result<usize> {
                poll_fn(|cx| poll_read_to_end(self, cx, out)).await
            }

            /// Waits until the pipe is readable (data, EOF or an error is waiting). It may
            /// report readiness that a following read finds gone: the read then waits.
            pub async fn readable(&self) -> io::Result<()> {
                self.io.ready(Direction::Read).await;
                Ok(())
            }

            /// The pipe's descriptor, deregistered from the loop (still non-blocking), e.g.
            /// for [`connect_read_pipe`](crate::protocols::connect_read_pipe).
            ///
            /// # Errors
            /// None for now; a `Result` as `ChildStdin`'s.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                Ok(self.io.into_inner().into())
            }
        }

        impl ReadPriv for $ty {
            fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.poll_read(cx, buf)
            }
        }

        impl_async_read!([] $ty, |s| s);

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("pipe", &self.io)
                    .finish()
            }
        }
    };
}

impl_reader!(ChildStdout, std::process::ChildStdout);
impl_reader!(ChildStderr, std::process::ChildStderr);

/// Reads the pipe in `pipe`, if any, until EOF into `out`, then drops it (closing it), so
/// polling again after EOF finds nothing left to do.
pub(crate) fn poll_drain(
    pipe: &mut Option<impl ReadPriv>,
    cx: &mut Context<'_>,
    out: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    if let Some(reader) = pipe {
        std::task::ready!(poll_read_to_end(reader, cx, out))?;
        *pipe = None;
    }
    Poll::Ready(Ok(()))
}

/// Reads `reader` until EOF into `out`; returns the total read by this call once EOF is seen.
/// Interrupted (`Pending`) calls keep what they appended, so polling again resumes.
pub(crate) fn poll_read_to_end(
    reader: &impl ReadPriv,
    cx: &mut Context<'_>,
    out: &mut Vec<u8>,
) -> Poll<io::Result<usize>> {
    let start = out.len();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.poll_read_priv(cx, &mut chunk) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(out.len() - start)),
            Poll::Ready(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}
