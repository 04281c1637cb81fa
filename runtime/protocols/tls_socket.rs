//! [`TlsSocket`]: a TLS session over a [`StreamSocket`], the transport's [`Io`]
//! for the `_tls` entry points (asyncio's `SSLProtocol` under a transport). It is the streams'
//! TLS connection ([`crate::tls::split`]'s halves), driven by the transport's task instead of
//! a reader and a writer.

use std::cell::RefCell;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::TlsStream;

use super::sock::Io;
use super::{SocketAddress, StreamSocket};
use crate::streams::Socket;
use crate::tls::{TlsInfo, TlsRead, TlsWrite};

/// An established TLS session: its read and write halves, a handle on its socket for
/// [`abort`](TlsSocket::abort), what the handshake settled.
pub(super) struct TlsSocket {
    read: RefCell<TlsRead<StreamSocket>>,
    write: RefCell<TlsWrite<StreamSocket>>,
    socket: Weak<dyn Socket>,
    info: TlsInfo,
    addresses: (Option<SocketAddress>, Option<SocketAddress>),
}

impl TlsSocket {
    /// The transport's [`Io`] over an established session; its close waits
    /// `shutdown_timeout` at most for the peer's `close_notify`.
    pub(super) fn io(stream: TlsStream<StreamSocket>, shutdown_timeout: Duration) -> Io {
        let addresses = stream.get_ref().0.addresses();
        let (read, write, info) = crate::tls::split(stream, shutdown_timeout);
        Io::Tls(Box::new(TlsSocket {
            socket: read.socket(),
            read: RefCell::new(read),
            write: RefCell::new(write),
            info,
            addresses,
        }))
    }

    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.read.borrow_mut()).poll_read(cx, buf)
    }

    /// Hands `buf` to the session, which sends what the socket takes; what it does not take
    /// the halves' sender task sends as the socket drains (see [`TlsWrite`]).
    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.write.borrow_mut()).poll_write(cx, buf)
    }

    /// [`poll_write`](TlsSocket::poll_write) without waiting: `WouldBlock` if the session
    /// takes nothing now.
    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_write(&mut cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// asyncio's SSL shutdown (`_start_shutdown`, `_do_shutdown`), the write half's close
    /// (see `crate::tls`'s `shutdown` module): sends what the session holds, then
    /// `close_notify`, then shuts the socket's write side down; then reads and drops what the
    /// peer sends until its `close_notify` (or its error: a peer gone without one), all within
    /// the shutdown timeout from the first poll. Past it the socket is aborted and the close
    /// fails with `TimedOut` (asyncio's "SSL shutdown timed out"). The wait also keeps the
    /// socket from being closed with the peer's records unread (TLS 1.3's session tickets at
    /// least), which would send a reset and make the peer lose the end of our data and our
    /// `close_notify`. A failure to send ends it with that error (the peer is gone).
    pub(super) fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.read.borrow().read_no_more();
        Pin::new(&mut *self.write.borrow_mut()).poll_close(cx)
    }

    /// Drops what is unsent and shuts the socket down at once (no `close_notify`).
    pub(super) fn abort(&self) {
        if let Some(socket) = self.socket.upgrade() {
            socket.abort();
        }
    }

    pub(super) fn addresses(&self) -> (Option<SocketAddress>, Option<SocketAddress>) {
        self.addresses.clone()
    }

    pub(super) fn info(&self) -> &TlsInfo {
        &self.info
    }
}

/// The session's socket, as rustls's adapter reads and writes it.
impl AsyncRead for StreamSocket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        StreamSocket::poll_read(&self, cx, buf)
    }
}

impl AsyncWrite for StreamSocket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        StreamSocket::poll_write(&self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        StreamSocket::poll_flush(&self, cx)
    }

    /// Shuts the write side down (after `close_notify`).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            StreamSocket::Tcp(s) => Pin::new(s).poll_close(cx),
            StreamSocket::Unix(s) => Pin::new(s).poll_close(cx),
        }
    }
}

/// The handle a server's `close_clients`/`abort_clients` and [`TlsSocket::abort`] reach the
/// socket under the session through.
impl Socket for StreamSocket {
    fn shutdown(&self, how: Shutdown) {
        match self {
            StreamSocket::Tcp(s) => Socket::shutdown(s, how),
            StreamSocket::Unix(s) => Socket::shutdown(s, how),
        }
    }

    fn abort(&self) {
        StreamSocket::abort(self);
    }
}
