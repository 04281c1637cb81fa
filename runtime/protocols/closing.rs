//! [`Closing`]: where a transport is in its end (asyncio's `_closing` and `_conn_lost`) and
//! what `connection_lost` is due to report. The stream and the datagram transports' `close`,
//! `abort`, `is_closing` and their tasks' "buffer sent while closing" share it.

use std::cell::RefCell;
use std::io;

use super::write_state::WriteState;

/// A transport's closing state, next to its own write buffer.
#[derive(Default)]
pub(in crate::protocols) struct Closing {
    /// `close` or `abort` was called, or the connection failed (`_closing`).
    pub(in crate::protocols) closing: bool,
    /// `connection_lost` is due or done (`_conn_lost > 0`).
    pub(in crate::protocols) conn_lost: bool,
    /// What `connection_lost` is due to report.
    pub(in crate::protocols) lost_exc: Option<io::Error>,
    /// The end is an abort (`abort`, or a failure): what is unsent is dropped and nothing is
    /// waited for, so the transport's end closes its socket at once and ends a wait under way
    /// (a TLS close's for the peer's `close_notify`).
    aborted: bool,
}

impl Closing {
    /// asyncio's `close()`: closing from now on, and `connection_lost` due at once if
    /// `nothing_buffered` (else once the buffer is sent, [`sent_all`](Closing::sent_all)).
    /// False if it was closing already: nothing changed, the transport's task need not wake.
    pub(in crate::protocols) fn close(&mut self, nothing_buffered: bool) -> bool {
        if self.closing {
            return false;
        }
        self.closing = true;
        self.conn_lost = nothing_buffered;
        true
    }

    /// asyncio's `_force_close(exc)` but for the buffer, which the caller drops when this
    /// answers true: closing, and `connection_lost` due with `exc`. False if it was due
    /// already (nothing changed).
    pub(in crate::protocols) fn force(&mut self, exc: Option<io::Error>) -> bool {
        if self.conn_lost {
            return false;
        }
        self.closing = true;
        self.conn_lost = true;
        self.lost_exc = exc;
        self.aborted = true;
        true
    }

    /// asyncio's `abort()` but for the buffer, which the caller drops when this answers true:
    /// [`force`](Closing::force) with no error, and the end is an abort even if
    /// `connection_lost` was due already (a `close` waiting for its buffer's last bytes or
    /// for the peer's `close_notify`): the wait ends at once, and `connection_lost` gets what
    /// it was due to. Aborting again changes nothing.
    pub(in crate::protocols) fn abort(&mut self) -> bool {
        self.aborted = true;
        self.force(None)
    }

    /// The end is an abort: the socket is closed at once, unflushed, and nothing waited for.
    pub(in crate::protocols) fn aborted(&self) -> bool {
        self.aborted
    }

    /// A transport's `close()` (asyncio's): [`close`](Closing::close) on its `state`, and
    /// `wake` wakes its task if that changed anything.
    pub(in crate::protocols) fn close_transport(state: &RefCell<impl WriteState>, wake: impl FnOnce()) {
        let mut state = state.borrow_mut();
        let nothing_buffered = state.buffered() == 0;
        if state.end().close(nothing_buffered) {
            drop(state);
            wake();
        }
    }

    /// A transport's `abort()` (asyncio's): [`WriteState::abort`] on its `state`, then `wake`
    /// wakes its task (which ends any wait of its end).
    pub(in crate::protocols) fn abort_transport(state: &RefCell<impl WriteState>, wake: impl FnOnce()) {
        state.borrow_mut().abort();
        wake();
    }

    /// The write buffer was sent: a closing transport's `connection_lost` is due now. True if
    /// it is.
    pub(in crate::protocols) fn sent_all(&mut self) -> bool {
        if self.closing {
            self.conn_lost = true;
        }
        self.closing
    }
}
