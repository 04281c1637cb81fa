//! [`StreamSocket`]: the stream under a transport, TCP or Unix, with the calls the transport
//! makes; [`Io`]: what a transport runs on, that stream, one end of a pipe, or (feature `tls`)
//! a TLS session over that stream.

use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll};

use super::pipe::Pipe;
#[cfg(feature = "tls")]
use super::tls_socket::TlsSocket;
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

    pub(super) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        each!(self, s => s.poll_read_ready(cx))
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

    /// Polls a native send from `file` on the socket (runtime/net/sendfile.rs).
    pub(super) fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        send: &mut crate::net::sendfile::NativeSend,
        file: &std::fs::File,
    ) -> Poll<io::Result<u64>> {
        each!(self, s => s.poll_sendfile(cx, send, file))
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

/// What a transport runs on: a stream socket (asyncio's `_SelectorSocketTransport`), one end
/// of a pipe (`_UnixReadPipeTransport`, `_UnixWritePipeTransport`) or a TLS session over a
/// stream socket (asyncio's `SSLProtocol` transport). The transport's buffer, flow control and
/// close/abort state serve all; where the pipes differ the transport and the driver ask
/// [`Io::kind`], where TLS does the transport asks
/// whether it has TLS info.
pub(super) enum Io {
    Stream(StreamSocket),
    Pipe(Pipe),
    #[cfg(feature = "tls")]
    Tls(Box<TlsSocket>),
}

/// The kind of an [`Io`], kept by the transport after the socket is closed (a TLS session is a
/// `Stream`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum IoKind {
    Stream,
    ReadPipe,
    WritePipe,
}

impl From<StreamSocket> for Io {
    fn from(sock: StreamSocket) -> Self {
        Io::Stream(sock)
    }
}

impl From<Pipe> for Io {
    fn from(pipe: Pipe) -> Self {
        Io::Pipe(pipe)
    }
}

impl Io {
    pub(super) fn kind(&self) -> IoKind {
        match self {
            Io::Stream(_) => IoKind::Stream,
            #[cfg(feature = "tls")]
            Io::Tls(_) => IoKind::Stream,
            Io::Pipe(Pipe::Read(_)) => IoKind::ReadPipe,
            Io::Pipe(Pipe::Write { .. }) => IoKind::WritePipe,
        }
    }

    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Io::Stream(s) => s.poll_read(cx, buf),
            Io::Pipe(p) => p.poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.poll_read(cx, buf),
        }
    }

    /// Ready once a read may find bytes or the end (asyncio's transports read a
    /// `BufferedProtocol` only then); a read may still find nothing. Always ready for a TLS
    /// session, whose decrypted bytes its socket's readiness does not show.
    pub(super) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Io::Stream(s) => s.poll_read_ready(cx),
            Io::Pipe(p) => p.poll_read_ready(cx),
            #[cfg(feature = "tls")]
            Io::Tls(_) => Poll::Ready(()),
        }
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Io::Stream(s) => s.poll_write(cx, buf),
            Io::Pipe(p) => p.poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.poll_write(cx, buf),
        }
    }

    /// Polls a native send from `file`: a plain stream's socket only (a TLS session
    /// encrypts: the fallback's; a pipe transport has no sendfile at all).
    pub(super) fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        send: &mut crate::net::sendfile::NativeSend,
        file: &std::fs::File,
    ) -> Poll<io::Result<u64>> {
        match self {
            Io::Stream(s) => s.poll_sendfile(cx, send, file),
            _ => Poll::Ready(Err(crate::net::sendfile::not_available(
                "the transport has no socket of its own (TLS)",
            ))),
        }
    }

    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Io::Stream(s) => s.try_write(buf),
            Io::Pipe(p) => p.try_write(buf),
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.try_write(buf),
        }
    }

    /// Sends what is left before a clean close: a stream's [`StreamSocket::poll_flush`] (the
    /// io_uring completion form's send buffer); a TLS session's records, then its
    /// `close_notify`, then the wait for the peer's (`TlsSocket::poll_close`, `TimedOut` past
    /// the shutdown timeout); a pipe's writes are in the kernel already.
    pub(super) fn poll_finish(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Io::Stream(s) => s.poll_flush(cx),
            Io::Pipe(_) => Poll::Ready(Ok(())),
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.poll_close(cx),
        }
    }

    /// A stream's write shutdown (a pipe transport's `write_eof` closes it instead, a TLS
    /// transport's refuses).
    pub(super) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Io::Stream(s) => s.shutdown_write(),
            Io::Pipe(_) => Ok(()),
            #[cfg(feature = "tls")]
            Io::Tls(_) => Ok(()),
        }
    }

    /// A stream's [`StreamSocket::abort`] (under TLS too); a pipe holds nothing unsent.
    pub(super) fn abort(&self) {
        match self {
            Io::Stream(s) => s.abort(),
            Io::Pipe(_) => {}
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.abort(),
        }
    }

    /// Ready once the reader of a write pipe closed its end; never for the other kinds.
    pub(super) fn poll_reader_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Io::Pipe(p) => p.poll_reader_closed(cx),
            _ => Poll::Pending,
        }
    }

    /// The `peername` and `sockname` of a stream, or the `pipe` of a pipe: asyncio's extra
    /// info, read once when the transport is made.
    pub(super) fn extra_info(&self) -> (Option<SocketAddress>, Option<SocketAddress>) {
        match self {
            Io::Stream(s) => s.addresses(),
            Io::Pipe(p) => (None, Some(SocketAddress::Pipe(p.fd()))),
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.addresses(),
        }
    }

    /// What the TLS handshake settled, for a TLS session (asyncio's `ssl_object` extra info).
    #[cfg(feature = "tls")]
    pub(super) fn tls_info(&self) -> Option<crate::tls::TlsInfo> {
        match self {
            Io::Tls(t) => Some(t.info().clone()),
            _ => None,
        }
    }
}
