//! The methods and trait impls that [`TcpStream`](super::TcpStream) and
//! [`UnixStream`](super::UnixStream) share, written once as a macro over a struct whose field
//! `io` is a `PollEvented` of a mio stream; and the `AsyncRead`/`AsyncWrite` impls, written once
//! for the streams and their split halves.

/// Inherent I/O and address methods, `Debug`, `futures_io::{AsyncRead, AsyncWrite}` (and with the
/// `tokio-io` feature tokio's traits) for `$ty` and `&$ty`, and the split plumbing; `$addr`
/// is the type of the stream's addresses.
macro_rules! impl_stream_io {
    ($ty:ident, $addr:ty) => {
        impl_readiness!(
            $ty,
            readable = "Waits until the stream is readable (data, EOF or an error is waiting). It \
                        may report readiness that a following `try_read` finds gone: retry then.",
            writable = "Waits until the stream is writable."
        );

        impl $ty {
            /// Reads what is available without waiting: `Ok(0)` at EOF, `WouldBlock` if nothing is.
            /// A short read (fewer bytes than `buf` holds) drains the socket, as with
            /// [`read`](Self::read): `readable` then waits for new data.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_recv(buf)
            }

            /// Writes what the socket buffer takes without waiting (`WouldBlock` if nothing).
            /// A short write fills the socket buffer, as with [`write`](Self::write): `writable`
            /// then waits for room. (On io_uring in the completion form: what the stream's
            /// send buffer takes; see [`flush`](Self::flush).)
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_send(buf)
            }

            /// Reads some bytes into `buf`, waiting until some are available: `Ok(0)` means
            /// EOF (or an empty `buf`).
            ///
            /// # Cancel safety
            /// Cancel-safe: if the future is dropped before it completes (a `wait_for` that timed out, a
            /// losing branch of a `select!`), no data was read; the next call gets it.
            pub async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.io.poll_recv(cx, buf)).await
            }

            /// Fills `buf` entirely; `UnexpectedEof` if the stream ends first.
            ///
            /// # Cancel safety
            /// Not cancel-safe: if the future is dropped before it completes, the bytes it had read are in
            /// the front of `buf`, in order, and the stream goes on after them (nothing is read twice), but
            /// how many there were is lost with the future. To read a frame across cancellations, use
            /// [`StreamReader::readexactly`](crate::streams::StreamReader::readexactly), which keeps them
            /// in its buffer, or `read` in a loop.
            pub async fn read_exact(&self, buf: &mut [u8]) -> std::io::Result<()> {
                $crate::net::stream_impl::read_exact(buf, |cx, buf| self.io.poll_recv(cx, buf)).await
            }

            /// Writes some bytes of `buf`, waiting until the socket takes any; returns how many.
            ///
            /// # Cancel safety
            /// Cancel-safe: if the future is dropped before it completes, nothing was written.
            pub async fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.io.poll_send(cx, buf)).await
            }

            /// Writes all of `buf`, waiting as the socket buffer fills up.
            ///
            /// # Cancel safety
            /// Not cancel-safe: if the future is dropped before it completes, a prefix of `buf` of unknown
            /// length was written (in order, and nothing else); calling `write_all` again starts over from
            /// the beginning of `buf`, sending that prefix twice. Where the call may be cancelled, use
            /// `write` in a loop, advancing by what it returns, or a
            /// [`StreamWriter`](crate::streams::StreamWriter), whose `write` never waits.
            pub async fn write_all(&self, buf: &[u8]) -> std::io::Result<()> {
                $crate::net::stream_impl::write_all(buf, |cx, buf| self.io.poll_send(cx, buf)).await
            }

            /// Waits until everything written was handed to the socket. Writes go straight to
            /// the socket on epoll and kqueue (nothing to wait for); on io_uring in the
            /// completion form (`Builder::io_uring_completion`) they are copied into the stream's
            /// send buffer and sent at the end of the loop's iteration: `flush` waits for
            /// those sends, and reports the error one of them met (as does the next write).
            ///
            /// # Cancel safety
            /// Cancel-safe: the bytes are sent whether or not the flush is awaited.
            pub async fn flush(&self) -> std::io::Result<()> {
                std::future::poll_fn(|cx| self.io.poll_flush_send(cx)).await
            }

            /// Sends `count` bytes of `file` from `offset` (to its end if `None`): asyncio's
            /// `loop.sock_sendfile(sock, file, offset, count)`. Returns how many bytes were sent
            /// (fewer than `count` if the file ends first; 0 for an empty file), and leaves
            /// the file's position right after them (`offset` + sent; unchanged if nothing was
            /// sent).
            ///
            /// On Linux a regular file goes through `sendfile(2)`, from the page cache into the
            /// socket without a copy through user space; any other file (a pipe), a file
            /// `sendfile(2)` refuses, and other systems take the fallback: chunks read on the
            /// loop's blocking pool and written as [`write`](Self::write) does
            /// ([`sendfile_with`](Self::sendfile_with) can refuse it). Bytes written before
            /// the call go first, also on the io_uring driver's completion form, whose send
            /// buffer is flushed before each `sendfile(2)`.
            ///
            /// ```
            /// use std::io::{Seek, Write};
            /// use aioloop::net::UnixStream;
            ///
            /// aioloop::run(async {
            ///     let mut file = tempfile_with(b"hello, sendfile");
            ///     let (a, b) = UnixStream::pair().unwrap();
            ///     let sent = a.sendfile(&file, 7, Some(8)).await.unwrap();
            ///     assert_eq!(sent, 8);
            ///     assert_eq!(file.stream_position().unwrap(), 15);
            ///     let mut buf = [0u8; 8];
            ///     b.read_exact(&mut buf).await.unwrap();
            ///     assert_eq!(&buf, b"sendfile");
            /// });
            /// # fn tempfile_with(data: &[u8]) -> std::fs::File {
            /// #     let path = std::env::temp_dir().join(format!("aioloop-doc-sendfile-{}", std::process::id()));
            /// #     let mut file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
            /// #     std::fs::remove_file(&path).unwrap();
            /// #     file.write_all(data).unwrap();
            /// #     file.rewind().unwrap();
            /// #     file
            /// # }
            /// ```
            ///
            /// # Errors
            /// `InvalidInput` for a `count` of `Some(0)` ("count must be a positive integer (got
            /// 0)", as asyncio) or an `offset` in a file that cannot seek; a read's or a send's
            /// error.
            ///
            /// # Cancel safety
            /// The file's position is set as the bytes go out: if the future is dropped before
            /// it completes, the position is right after the last byte the socket took, so a
            /// new call from the position goes on where this one stopped. (From a file that
            /// cannot seek, a pipe, the chunk read and not sent yet is lost.)
            pub async fn sendfile(
                &self,
                file: &std::fs::File,
                offset: u64,
                count: Option<u64>,
            ) -> std::io::Result<u64> {
                $crate::net::sendfile::sock_sendfile(&self.io, file, offset, count, true).await
            }

            /// [`sendfile`](Self::sendfile) with asyncio's `fallback=` argument: with `false`,
            /// a file the native path cannot send (not a regular file, one `sendfile(2)`
            /// refuses, any file on systems other than Linux) is an error of kind `Unsupported`
            /// (asyncio's `SendfileNotAvailableError`) and nothing is sent.
            ///
            /// # Errors
            /// As [`sendfile`](Self::sendfile)'s, and `Unsupported`.
            pub async fn sendfile_with(
                &self,
                file: &std::fs::File,
                offset: u64,
                count: Option<u64>,
                fallback: bool,
            ) -> std::io::Result<u64> {
                $crate::net::sendfile::sock_sendfile(&self.io, file, offset, count, fallback).await
            }

            /// Polls a native send from `file` (see [`NativeSend`](crate::net::sendfile::NativeSend)):
            /// a protocol transport's sendfile, which lends its socket for each poll.
            pub(crate) fn poll_sendfile(
                &self,
                cx: &mut std::task::Context<'_>,
                send: &mut $crate::net::sendfile::NativeSend,
                file: &std::fs::File,
            ) -> std::task::Poll<std::io::Result<u64>> {
                send.poll(&self.io, cx, file)
            }

            /// Polls read readiness without reading (a protocol transport asks it before it
            /// asks a `BufferedProtocol` for a buffer).
            pub(crate) fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<()> {
                self.io.poll_read_ready(cx)
            }

            /// Polls a read into `buf` (the building block of the `AsyncRead` impls).
            pub fn poll_read(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_recv(cx, buf)
            }

            /// Polls a write of `buf` (the building block of the `AsyncWrite` impls).
            pub fn poll_write(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_send(cx, buf)
            }

            /// Polls a vectored write (one `writev` for several buffers).
            pub fn poll_write_vectored(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_send_vectored(cx, bufs)
            }

            /// Polls a [`flush`](Self::flush) (the building block of the `AsyncWrite` impls).
            pub fn poll_flush(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_flush_send(cx)
            }

            /// Shuts down the read, write or both halves of the connection (`shutdown(2)`);
            /// after `Shutdown::Write` the peer reads EOF. On io_uring in the completion form
            /// the write side goes down once the bytes already written were sent (the peer
            /// reads them, then EOF), and later writes fail with `BrokenPipe`.
            pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
                self.io.shutdown_send(how, |how| self.io.get_ref().shutdown(how))
            }

            /// Drops what the stream took and did not send yet, and shuts both directions
            /// down at once (asyncio's `transport.abort()`, for the streams server's
            /// `abort_clients`).
            pub(crate) fn abort(&self) -> std::io::Result<()> {
                self.io.abort_send(|how| self.io.get_ref().shutdown(how))
            }

            /// The local address.
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().local_addr()
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().peer_addr()
            }

            /// Takes the socket's pending error (`SO_ERROR`), if any.
            pub fn take_error(&self) -> std::io::Result<Option<std::io::Error>> {
                self.io.get_ref().take_error()
            }

            /// Splits the stream into a read half and a write half that can move into
            /// different tasks; [`OwnedReadHalf::reunite`](crate::net::OwnedReadHalf::reunite)
            /// puts them back together. Dropping the write half shuts the write side down.
            pub fn into_split(
                self,
            ) -> (
                $crate::net::OwnedReadHalf<$ty>,
                $crate::net::OwnedWriteHalf<$ty>,
            ) {
                $crate::net::split::split(self)
            }
        }

        impl $crate::net::split::sealed::Sealed for $ty {}

        impl $crate::net::split::sealed::ReadPriv for $ty {
            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_recv(cx, buf)
            }
        }

        impl $crate::net::split::sealed::WritePriv for $ty {
            fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_send(cx, buf)
            }

            fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_send_vectored(cx, bufs)
            }

            fn poll_flush_priv(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_flush_send(cx)
            }

            fn shutdown_write_priv(&self) -> std::io::Result<()> {
                $crate::net::stream_impl::shutdown_write_ok(self.shutdown(std::net::Shutdown::Write))
            }
        }

        impl $crate::net::sendfile::NativeSendfile for $ty {
            fn sendfile_native<'a>(
                &'a self,
                file: &'a std::fs::File,
                offset: u64,
                count: Option<u64>,
            ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<u64>> + 'a>> {
                Box::pin($crate::net::sendfile::send_native(&self.io, file, offset, count))
            }
        }

        impl $crate::net::split::Splittable for $ty {}

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("local_addr", &self.local_addr().ok())
                    .field("peer_addr", &self.peer_addr().ok())
                    .finish()
            }
        }

        $crate::net::stream_impl::impl_async_read!([] $ty, |s| s);
        $crate::net::stream_impl::impl_async_read!([] &$ty, |s| *s);
        $crate::net::stream_impl::impl_async_write!([] $ty, |s| s);
        $crate::net::stream_impl::impl_async_write!([] &$ty, |s| *s);
    };
}

/// `futures_io::AsyncRead` (and with the `tokio-io` feature tokio's) for `$ty` (generic over
/// `[$gen]`): `|$s| $stream` turns `$s: &Self` into a `&` reference to the stream, whose
/// [`ReadPriv`](crate::net::split::sealed::ReadPriv) method does the work. Used by the streams,
/// their references, the read half of a split and a child's output pipes.
macro_rules! impl_async_read {
    ([$($gen:tt)*] $ty:ty, |$s:ident| $stream:expr) => {
        impl<$($gen)*> futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $crate::net::split::sealed::ReadPriv::poll_read_priv($stream, cx, buf)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl<$($gen)*> tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                let unfilled = buf.initialize_unfilled();
                let n = std::task::ready!($crate::net::split::sealed::ReadPriv::poll_read_priv(
                    $stream, cx, unfilled
                ))?;
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

/// `futures_io::AsyncWrite` (and with the `tokio-io` feature tokio's) for `$ty`, as
/// [`impl_async_read!`] does for reading, through
/// [`WritePriv`](crate::net::split::sealed::WritePriv) (streams, write halves, a child's stdin).
/// Flushing waits for the sends of a stream in the io_uring completion form (nothing to wait
/// for otherwise); closing (`poll_close`, tokio's `poll_shutdown`) shuts the write side down
/// without waiting for them (the shutdown follows the sends).
macro_rules! impl_async_write {
    ([$($gen:tt)*] $ty:ty, |$s:ident| $stream:expr) => {
        impl<$($gen)*> futures_io::AsyncWrite for $ty {
            $crate::net::stream_impl::write_methods!(poll_close, |$s| $stream);
        }

        #[cfg(feature = "tokio-io")]
        impl<$($gen)*> tokio::io::AsyncWrite for $ty {
            $crate::net::stream_impl::write_methods!(poll_shutdown, |$s| $stream);

            fn is_write_vectored(&self) -> bool {
                true
            }
        }
    };
}

/// The methods futures-io's and tokio's `AsyncWrite` share (their signatures are the same);
/// `$close` names the one that shuts the write side down.
macro_rules! write_methods {
    ($close:ident, |$s:ident| $stream:expr) => {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let $s = &*self;
            $crate::net::split::sealed::WritePriv::poll_write_priv($stream, cx, buf)
        }

        fn poll_write_vectored(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let $s = &*self;
            $crate::net::split::sealed::WritePriv::poll_write_vectored_priv($stream, cx, bufs)
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $s = &*self;
            $crate::net::split::sealed::WritePriv::poll_flush_priv($stream, cx)
        }

        /// Shuts the write side down: the peer reads EOF after the bytes written. It does not
        /// wait for the io_uring completion form's sends (the shutdown goes out after them, as
        /// with `shutdown(Write)`): waiting would deadlock a relay whose peer reads only after
        /// the close, where the readiness form's bytes are in the kernel already. A send error
        /// already met is reported.
        fn $close(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $s = &*self;
            if let std::task::Poll::Ready(Err(err)) =
                $crate::net::split::sealed::WritePriv::poll_flush_priv($stream, cx)
            {
                return std::task::Poll::Ready(Err(err));
            }
            std::task::Poll::Ready($crate::net::split::sealed::WritePriv::shutdown_write_priv(
                $stream,
            ))
        }
    };
}

pub(crate) use impl_async_read;
pub(crate) use impl_async_write;
pub(crate) use impl_stream_io;
pub(crate) use write_methods;

/// A write shutdown of a connection the peer already closed is not an error worth reporting
/// from `close`: the goal (no more writes) holds.
pub(crate) fn shutdown_write_ok(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(err) if err.kind() == std::io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

/// Fills `buf` with reads through `poll_read`; `UnexpectedEof` if the stream ends first. The
/// `read_exact` of the streams and of their read halves.
pub(crate) async fn read_exact(
    mut buf: &mut [u8],
    mut poll_read: impl FnMut(&mut std::task::Context<'_>, &mut [u8]) -> std::task::Poll<std::io::Result<usize>>,
) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::future::poll_fn(|cx| poll_read(cx, buf)).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

/// Writes all of `buf` through `poll_write`; `WriteZero` if a write takes nothing. The
/// `write_all` of the streams and of their write halves.
pub(crate) async fn write_all(
    mut buf: &[u8],
    mut poll_write: impl FnMut(&mut std::task::Context<'_>, &[u8]) -> std::task::Poll<std::io::Result<usize>>,
) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::future::poll_fn(|cx| poll_write(cx, buf)).await? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}
