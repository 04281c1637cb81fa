//! [`DatagramOptions`]: the addresses and socket options of
//! [`create_datagram_endpoint`](super::create_datagram_endpoint) (asyncio's `local_addr`,
//! `remote_addr`, `reuse_port` and `allow_broadcast` arguments).

use crate::net::{OwnedAddr, ToSocketAddrs};

/// How [`create_datagram_endpoint`](super::create_datagram_endpoint) makes its UDP socket:
/// asyncio's `create_datagram_endpoint(local_addr=..., remote_addr=..., reuse_port=...,
/// allow_broadcast=...)`.
///
/// At least one address is needed. With a [`local_addr`](Self::local_addr) the socket is
/// bound there; with a [`remote_addr`](Self::remote_addr) it is connected there (unless
/// [`allow_broadcast`](Self::allow_broadcast)), and `sendto` without an address goes there.
/// Host names are resolved when the endpoint is made, on the loop's blocking pool (see
/// [`ToSocketAddrs`]); with both addresses, each local address is paired with a remote one of
/// its family, and the pairs are tried in turn. As in asyncio, `SO_REUSEADDR` is never set
/// (it lets another socket steal a bound UDP port).
///
/// ```
/// use aioloop::protocols::{create_datagram_endpoint, DatagramOptions, DatagramProtocol};
///
/// struct Quiet;
/// impl DatagramProtocol for Quiet {}
///
/// aioloop::run(async {
///     let options = DatagramOptions::new().local_addr("127.0.0.1:0").allow_broadcast(true);
///     let (transport, _quiet) = create_datagram_endpoint(|| Quiet, options).await.unwrap();
///     assert!(transport.local_addr().unwrap().ip().is_loopback());
///     transport.close();
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct DatagramOptions {
    pub(super) local_addr: Option<OwnedAddr>,
    pub(super) remote_addr: Option<OwnedAddr>,
    pub(super) reuse_port: bool,
    pub(super) allow_broadcast: bool,
}

impl DatagramOptions {
    /// No address yet, no socket option: asyncio's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds the socket to `addr` (port 0 picks a free port): asyncio's `local_addr`.
    pub fn local_addr(mut self, addr: impl ToSocketAddrs) -> Self {
        self.local_addr = Some(addr.to_owned_addr());
        self
    }

    /// Connects the socket to `addr`, the endpoint's remote address: asyncio's
    /// `remote_addr`. `sendto` without an address sends there, and to no other address.
    pub fn remote_addr(mut self, addr: impl ToSocketAddrs) -> Self {
        self.remote_addr = Some(addr.to_owned_addr());
        self
    }

    /// Sets `SO_REUSEPORT`, so that other sockets may bind the same address (each datagram
    /// goes to one of them): asyncio's `reuse_port`.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `SO_BROADCAST`, so that datagrams may go to a broadcast address: asyncio's
    /// `allow_broadcast`. As in asyncio, the socket is then not connected to a
    /// [`remote_addr`](Self::remote_addr): it stays the address `sendto` defaults to.
    pub fn allow_broadcast(mut self, on: bool) -> Self {
        self.allow_broadcast = on;
        self
    }
}
