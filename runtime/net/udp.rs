//! [`UdpSocket`]: UDP datagrams.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::addr::{first_ok, resolve};
use super::datagram::impl_datagram_io;
use super::ToSocketAddrs;
use crate::io::{Direction, PollEvented};

/// A UDP socket registered with the running loop: asyncio's `create_datagram_endpoint` at
/// the socket level.
///
/// Unconnected, it sends with [`send_to`](UdpSocket::send_to) and receives with
/// [`recv_from`](UdpSocket::recv_from); after [`connect`](UdpSocket::connect) it exchanges
/// datagrams with one peer through [`send`](UdpSocket::send) and [`recv`](UdpSocket::recv).
/// One task may wait to receive and one to send at the same time.
///
/// ```
/// use aioloop::net::UdpSocket;
///
/// aioloop::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"hi", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0 picks a free port); with several resolved addresses,
    /// the first that binds wins. A host name is looked up on the loop's blocking pool, not on
    /// the loop (see [`ToSocketAddrs`]).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        first_ok(addr, "UdpSocket::bind", async |addr| {
            Self::from_mio(mio::net::UdpSocket::bind(addr)?)
        })
        .await
    }

    /// Wraps a standard socket (switched to non-blocking mode) and registers it with the
    /// running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Self::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    #[track_caller]
    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: PollEvented::new(socket, "UdpSocket::bind")?,
        })
    }

    /// Deregisters the socket and returns it as a standard socket (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_inner().into())
    }

    /// Sets the default peer: [`send`](UdpSocket::send) goes there and only its datagrams are
    /// received. The first resolved address that works is used.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        first_ok(addr, "UdpSocket::connect", async |addr| {
            self.io.get_ref().connect(addr)
        })
        .await
    }

    /// Sends one datagram to `target` (its first resolved address, as the standard library
    /// does; a host name is looked up on the loop's blocking pool, see [`ToSocketAddrs`]);
    /// returns the number of bytes sent.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = resolve(target, "UdpSocket::send_to").await?[0];
        self.io
            .async_io(Direction::Write, |io| io.send_to(buf, target))
            .await
    }

    /// Receives one datagram without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Direction::Read, |io| io.peek_from(buf)).await
    }

    /// Polls [`send_to`](UdpSocket::send_to) with a resolved address.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |io| io.send_to(buf, target))
    }

    /// Sends without waiting (`WouldBlock` if the socket buffer is full).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |io| io.send_to(buf, target))
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), such as an ICMP port-unreachable
    /// reported after a send on a connected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl_datagram_io!(UdpSocket, SocketAddr);
impl_as_fd!(UdpSocket);
