//! [`Protocol`]: the callbacks a connection calls (asyncio's `asyncio.Protocol`).

use std::io;

use super::Transport;

/// The callbacks of a stream connection: asyncio's `asyncio.Protocol` (with the flow-control
/// callbacks of `BaseProtocol`). Every method has a default that does nothing (`eof_received`
/// answers `false`), as asyncio's base class does.
///
/// The order is asyncio's: [`connection_made`](Protocol::connection_made) first, then any
/// number of [`data_received`](Protocol::data_received), at most one
/// [`eof_received`](Protocol::eof_received), and [`connection_lost`](Protocol::connection_lost)
/// exactly once, last. [`pause_writing`](Protocol::pause_writing) and
/// [`resume_writing`](Protocol::resume_writing) alternate, starting with a pause, between
/// `connection_made` and `connection_lost`.
///
/// The methods run on the loop's thread, one at a time, and may call any [`Transport`] method
/// (write, close, pause reading...): nothing re-enters the protocol while one of its methods
/// runs. A `pause_writing` that a write inside a callback triggers is called right after that
/// callback returns.
///
/// A panic in `data_received` or `eof_received` (or in `connection_made` of a server's
/// connection) is the connection's fatal error, as an exception is in asyncio: the connection
/// closes at once, `connection_lost` gets an error saying which method panicked, and the panic
/// then goes on in the connection's task, reported as any task's ("Task exception was never
/// retrieved", to the loop's exception handler). If the connection's task ends otherwise
/// before `connection_lost` (the loop closes with the connection open), the socket is closed
/// and `connection_lost` is not called. A panic in `pause_writing` or `resume_writing` is no
/// fatal error, as in asyncio's `_FlowControlMixin`: it goes to the loop's exception handler
/// ("protocol.pause_writing() failed", with the panic) and the connection goes on.
///
/// ```
/// use aioloop::protocols::{Protocol, Transport};
///
/// /// Echoes what it receives, and closes after the peer's EOF.
/// struct Echo {
///     transport: Option<Transport>,
/// }
///
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: Transport) {
///         self.transport = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.transport.as_ref().unwrap().write(data).unwrap();
///     }
/// }
/// ```
pub trait Protocol {
    /// The connection is made; `transport` is its handle, which the protocol usually keeps.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Some bytes arrived (asyncio delivers them as the socket reads them: no framing).
    fn data_received(&mut self, data: &[u8]) {
        let _ = data;
    }

    /// The peer closed its write side. Answer `true` to keep the connection open for writing
    /// (a half-close: nothing more is read, the protocol closes the transport itself later);
    /// `false`, the default, closes the transport, as asyncio does when `eof_received` returns
    /// a false value.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is closed: `None` after a [`close`](Transport::close) or
    /// [`abort`](Transport::abort) or an EOF, the error that ended it otherwise. Called exactly
    /// once; the socket is closed right after.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The transport's write buffer went above its high-water mark
    /// ([`Transport::set_write_buffer_limits`]): stop writing until
    /// [`resume_writing`](Protocol::resume_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark after a
    /// [`pause_writing`](Protocol::pause_writing).
    fn resume_writing(&mut self) {}
}
