//! [`StreamSocket`]: the stream under a transport, TCP or Unix, with the calls the transport
//! makes.

use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll};

use super::SocketAddress;
use crate::net::{TcpStream, UnixStream};

/// A connected stream socket of either family, as [`connect_accepted_socket`](super::connect_accepted_socket) takes it.
#[derive(Debug)]
pub enum StreamSocket {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-domain connection.
    Unix(UnixStream),
}

impl From<TcpStream> for StreamSocket {
    fn from(stream: TcpStream) -> Self {
        StreamSocket::Tcp(stream)
    }
}

impl From<UnixStream> for StreamSocket {
    fn from(stream: UnixStream) -> Self {
        StreamSocket::Unix(stream)
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            StreamSocket::Tcp($s) => $e,
            StreamSocket::Unix($s) => $e,
        }
    };
}

impl StreamSocket {
    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_read(cx, buf))
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write(cx, buf))
    }

    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        each!(self, s => s.try_write(buf))
    }

    pub(super) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_flush(cx))
    }

    /// `shutdown(SHUT_WR)`: the peer reads EOF after the bytes sent.
    pub(super) fn shutdown_write(&self) -> io::Result<()> {
        each!(self, s => s.shutdown(Shutdown::Write))
    }

    /// Drops what the socket took and did not send (io_uring's send buffer) and shuts it down.
    pub(super) fn abort(&self) {
        let _ = each!(self, s => s.abort());
    }

    /// asyncio's `peername` and `sockname` extra info, read once when the transport is made.
    pub(super) fn addresses(&self) -> (Option<SocketAddress>, Option<SocketAddress>) {
        match self {
            StreamSocket::Tcp(s) => (
                s.peer_addr().ok().map(SocketAddress::Inet),
                s.local_addr().ok().map(SocketAddress::Inet),
            ),
            StreamSocket::Unix(s) => (
                s.peer_addr().ok().map(SocketAddress::Unix),
                s.local_addr().ok().map(SocketAddress::Unix),
            ),
        }
    }
}
