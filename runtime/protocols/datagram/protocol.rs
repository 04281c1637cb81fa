//! [`DatagramProtocol`]: the callbacks a datagram endpoint calls (asyncio's
//! `asyncio.DatagramProtocol`).

use std::io;

use super::DatagramTransport;
use crate::protocols::SocketAddress;

/// The callbacks of a datagram endpoint: asyncio's `asyncio.DatagramProtocol` (with the
/// flow-control callbacks of `BaseProtocol`). Every method has a default that does nothing,
/// as asyncio's base class does.
///
/// The order is asyncio's: [`connection_made`](DatagramProtocol::connection_made) first, then
/// any number of [`datagram_received`](DatagramProtocol::datagram_received) and
/// [`error_received`](DatagramProtocol::error_received), and
/// [`connection_lost`](DatagramProtocol::connection_lost) exactly once, last.
/// [`pause_writing`](DatagramProtocol::pause_writing) and
/// [`resume_writing`](DatagramProtocol::resume_writing) alternate, starting with a pause.
///
/// The methods run on the loop's thread, one at a time, and may call any
/// [`DatagramTransport`] method: nothing re-enters the protocol while one of its methods runs
/// (an `error_received` or `pause_writing` that a `sendto` inside a callback makes due is
/// called right after that callback returns).
///
/// A panic in `datagram_received` or `error_received` is the endpoint's fatal error, as a
/// panic in a stream protocol is: the endpoint closes at once, `connection_lost` gets an
/// error saying which method panicked, and the panic then goes on in the endpoint's task,
/// reported as any task's. (asyncio lets an exception in `datagram_received` reach the loop's
/// exception handler and keeps the endpoint open; a Rust panic may leave the protocol half
/// updated, so aioloop does not call it again.) A panic in `pause_writing` or
/// `resume_writing` is no fatal error, as in asyncio's `_FlowControlMixin`: it goes to the
/// loop's exception handler ("protocol.pause_writing() failed", with the panic) and the
/// endpoint goes on.
///
/// ```
/// use aioloop::protocols::{DatagramProtocol, DatagramTransport, SocketAddress};
///
/// /// Sends each datagram back where it came from.
/// struct Echo {
///     transport: Option<DatagramTransport>,
/// }
///
/// impl DatagramProtocol for Echo {
///     fn connection_made(&mut self, transport: DatagramTransport) {
///         self.transport = Some(transport);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: &SocketAddress) {
///         self.transport.as_ref().unwrap().sendto(data, Some(addr)).unwrap();
///     }
/// }
/// ```
pub trait DatagramProtocol {
    /// The endpoint is made; `transport` is its handle, which the protocol usually keeps.
    fn connection_made(&mut self, transport: DatagramTransport) {
        let _ = transport;
    }

    /// A datagram arrived from `addr` (on a connected endpoint, the remote address).
    fn datagram_received(&mut self, data: &[u8], addr: &SocketAddress) {
        let _ = (data, addr);
    }

    /// A send or a receive failed: asyncio's `error_received(exc)` for an `OSError`. The
    /// endpoint stays open. On a connected UDP endpoint, an ICMP "port unreachable" for an
    /// earlier datagram comes here as `ConnectionRefused`.
    fn error_received(&mut self, exc: io::Error) {
        let _ = exc;
    }

    /// The endpoint is closed: `None` after a [`close`](DatagramTransport::close) or
    /// [`abort`](DatagramTransport::abort), the error that ended it otherwise. Called exactly
    /// once; the socket is closed right after.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The transport's write buffer went above its high-water mark
    /// ([`DatagramTransport::set_write_buffer_limits`]): stop sending until
    /// [`resume_writing`](DatagramProtocol::resume_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark after a
    /// [`pause_writing`](DatagramProtocol::pause_writing).
    fn resume_writing(&mut self) {}
}
