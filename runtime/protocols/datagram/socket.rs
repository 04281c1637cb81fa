//! [`DatagramSocket`]: the socket under a datagram transport, UDP or Unix-domain, with the
//! calls the transport makes.

use std::io;
use std::path::Path;
use std::task::{Context, Poll};

use crate::net::{UdpSocket, UnixDatagram};
use crate::protocols::SocketAddress;

/// A datagram socket of either family, as
/// [`datagram_endpoint_from_socket`](crate::protocols::datagram_endpoint_from_socket) takes
/// it (asyncio's `create_datagram_endpoint(sock=...)`).
#[derive(Debug)]
pub enum DatagramSocket {
    /// A UDP socket.
    Udp(UdpSocket),
    /// A Unix-domain datagram socket.
    Unix(UnixDatagram),
}

impl From<UdpSocket> for DatagramSocket {
    fn from(socket: UdpSocket) -> Self {
        DatagramSocket::Udp(socket)
    }
}

impl From<UnixDatagram> for DatagramSocket {
    fn from(socket: UnixDatagram) -> Self {
        DatagramSocket::Unix(socket)
    }
}

/// Where a datagram goes, checked against the socket's family.
enum Target<'a> {
    /// The connected peer.
    Peer,
    Inet(std::net::SocketAddr),
    Path(&'a Path),
}

impl DatagramSocket {
    /// `to` as the socket sends to it; `InvalidInput` if it is of the other family or a Unix
    /// address that names no path (an unbound sender).
    fn target<'a>(&self, to: Option<&'a SocketAddress>) -> io::Result<Target<'a>> {
        match (self, to) {
            (_, None) => Ok(Target::Peer),
            (DatagramSocket::Udp(_), Some(SocketAddress::Inet(addr))) => Ok(Target::Inet(*addr)),
            (DatagramSocket::Unix(_), Some(SocketAddress::Unix(addr))) if addr.as_pathname().is_some() => {
                Ok(Target::Path(addr.as_pathname().expect("checked")))
            }
            (_, Some(addr)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Invalid address: this socket cannot send to {addr:?}"),
            )),
        }
    }

    /// `InvalidInput` if the socket cannot send to `to` (see [`target`](Self::target)).
    pub(super) fn check_target(&self, to: Option<&SocketAddress>) -> io::Result<()> {
        self.target(to).map(drop)
    }

    /// One datagram and its sender.
    pub(super) fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddress)>> {
        match self {
            DatagramSocket::Udp(s) => s
                .poll_recv_from(cx, buf)
                .map_ok(|(n, addr)| (n, SocketAddress::Inet(addr))),
            DatagramSocket::Unix(s) => s
                .poll_recv_from(cx, buf)
                .map_ok(|(n, addr)| (n, SocketAddress::Unix(addr))),
        }
    }

    /// Sends one datagram to `to`, or to the connected peer (`None`), once the socket takes
    /// it.
    pub(super) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        to: Option<&SocketAddress>,
    ) -> Poll<io::Result<usize>> {
        match (self, self.target(to)?) {
            (DatagramSocket::Udp(s), Target::Peer) => s.poll_send(cx, buf),
            (DatagramSocket::Unix(s), Target::Peer) => s.poll_send(cx, buf),
            (DatagramSocket::Udp(s), Target::Inet(addr)) => s.poll_send_to(cx, buf, addr),
            (DatagramSocket::Unix(s), Target::Path(path)) => s.poll_send_to(cx, buf, path),
            _ => unreachable!("target() checked the family"),
        }
    }

    /// [`poll_send`](Self::poll_send) without waiting: `WouldBlock` if the socket is full.
    pub(super) fn try_send(&self, buf: &[u8], to: Option<&SocketAddress>) -> io::Result<usize> {
        match (self, self.target(to)?) {
            (DatagramSocket::Udp(s), Target::Peer) => s.try_send(buf),
            (DatagramSocket::Unix(s), Target::Peer) => s.try_send(buf),
            (DatagramSocket::Udp(s), Target::Inet(addr)) => s.try_send_to(buf, addr),
            (DatagramSocket::Unix(s), Target::Path(path)) => s.try_send_to(buf, path),
            _ => unreachable!("target() checked the family"),
        }
    }

    /// asyncio's `peername` and `sockname` extra info, read once when the transport is made.
    pub(super) fn addresses(&self) -> (Option<SocketAddress>, Option<SocketAddress>) {
        match self {
            DatagramSocket::Udp(s) => (
                s.peer_addr().ok().map(SocketAddress::Inet),
                s.local_addr().ok().map(SocketAddress::Inet),
            ),
            DatagramSocket::Unix(s) => (
                s.peer_addr().ok().map(SocketAddress::Unix),
                s.local_addr().ok().map(SocketAddress::Unix),
            ),
        }
    }
}
