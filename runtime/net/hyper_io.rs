//! `hyper::rt::Read` and `hyper::rt::Write` (cargo feature `hyper`) on
//! [`TcpStream`] and [`UnixStream`]: hyper reads and
//! writes them directly, without `TokioIo`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::hyper::rt::{Read, ReadBufCursor, Write};

use super::{TcpStream, UnixStream};

/// `Read` and `Write` for a stream whose `io` field is a `PollEvented`.
macro_rules! impl_hyper_io {
    ($ty:ty) => {
        impl Read for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `poll_recv_uninit` only writes into the slice (never de-initialises).
                let n = ready!(self.io.poll_recv_uninit(cx, unsafe { buf.as_mut() }))?;
                // SAFETY: the read initialised the first `n` bytes of the unfilled part.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }

        impl Write for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.io.poll_send(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_send_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            /// Waits for the sends of the io_uring completion form (nothing to wait for on the
            /// readiness form).
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.io.poll_flush_send(cx)
            }

            /// The futures-io `poll_close`: shuts the write side down without waiting for the
            /// io_uring sends (the shutdown follows them).
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}

impl_hyper_io!(TcpStream);
impl_hyper_io!(UnixStream);
