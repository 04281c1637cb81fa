//! `hyper::rt::Read` and `hyper::rt::Write` (cargo feature `hyper`) on
//! [`TcpStream`](super::TcpStream) and [`UnixStream`](super::UnixStream): hyper reads and
//! writes them directly, without `TokioIo`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::hyper::rt::{Read, ReadBufCursor, Write};

use super::{TcpStream, UnixStream};
use crate::io::{Direction, PollEvented};

/// Reads into the uninitialised part of hyper's buffer with one `read(2)`, waiting for
/// readiness as the streams' own reads do (no zeroing first, unlike a `&mut [u8]` read).
fn poll_read_uninit<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> Poll<io::Result<usize>>
where
    E: mio::event::Source + AsRawFd,
{
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    if io.recv_form() {
        return io.poll_recv_into(cx, buf, false);
    }
    let len = buf.len();
    io.poll_transfer(cx, Direction::Read, len, |source| {
        // SAFETY: `buf` is valid for writes of `len` bytes (it is a live `&mut` slice), and
        // `read(2)` writes at most `len` bytes into it; initialised or not does not matter to
        // a write.
        let n = unsafe { libc::read(source.as_raw_fd(), buf.as_mut_ptr().cast(), len) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    })
}

/// `Read` and `Write` for a stream whose `io` field is a `PollEvented`.
macro_rules! impl_hyper_io {
    ($ty:ty) => {
        impl Read for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `poll_read_uninit` only writes into the slice (never de-initialises).
                let n = ready!(poll_read_uninit(&self.io, cx, unsafe { buf.as_mut() }))?;
                // SAFETY: `read(2)` initialised the first `n` bytes of the unfilled part.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }

        impl Write for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            /// Writes are not buffered: nothing to flush.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts the write side down: the peer reads EOF.
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(super::stream_impl::shutdown_write_ok(
                    self.shutdown(std::net::Shutdown::Write),
                ))
            }
        }
    };
}

impl_hyper_io!(TcpStream);
impl_hyper_io!(UnixStream);
