//! [`WriteState`]: what the stream and the datagram transports' states have alike (a write
//! buffer, a [`Closing`] and a [`FlowControl`]), so that the owners' methods serve both:
//! `close`, `abort` (which ends any wait of the end) and `_force_close` (closing.rs), the
//! write buffer limits and the flow calls (flow.rs).

use std::io;

use super::closing::Closing;
use super::flow::FlowControl;

/// A transport's state, behind its `RefCell`: the stream transport's and the datagram one's.
pub(in crate::protocols) trait WriteState {
    /// What the write buffer holds (asyncio's `get_write_buffer_size()`): 0 when it is empty.
    fn buffered(&self) -> usize;

    /// Where the transport is in its end.
    fn end(&mut self) -> &mut Closing;

    /// Its write buffer limits and the flow calls due.
    fn flow(&mut self) -> &mut FlowControl;

    /// Drops the write buffer unsent: the transport is lost.
    fn discard(&mut self);

    /// asyncio's `_force_close(exc)`: drops the buffer, stops reading, and makes
    /// `connection_lost` due with `exc` (nothing if it was due already).
    fn force_close(&mut self, exc: Option<io::Error>) {
        if self.end().force(exc) {
            self.discard();
        }
    }

    /// asyncio's `abort()`: [`force_close`](WriteState::force_close) with no error, and an
    /// abort ends any wait of the transport's end, also once `connection_lost` was due
    /// ([`Closing::abort`]): a TLS close's wait for the peer's `close_notify` ends at once.
    fn abort(&mut self) {
        if self.end().abort() {
            self.discard();
        }
    }
}
