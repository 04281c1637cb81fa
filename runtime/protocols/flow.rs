//! [`FlowControl`]: a transport's write buffer limits and the `pause_writing` /
//! `resume_writing` calls they make due (asyncio's `_FlowControlMixin`), and
//! [`deliver_flow`], which makes those calls: one for the stream transport (either protocol
//! kind) and the datagram one. The subprocess transport makes its stdin pipe's through
//! [`FlowTarget`] too.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Weak;

use super::any::WeakShared;
use super::callback::{catch_failed, Failed};
use super::write_state::WriteState;
use super::{BufferedProtocol, DatagramProtocol, Protocol, SubprocessProtocol, DEFAULT_HIGH_WATER};

/// The flow-control callbacks every protocol trait has (asyncio's `BaseProtocol`'s).
pub(super) trait FlowCallbacks {
    fn pause_writing(&mut self);
    fn resume_writing(&mut self);
}

impl FlowCallbacks for dyn Protocol {
    fn pause_writing(&mut self) {
        Protocol::pause_writing(self);
    }
    fn resume_writing(&mut self) {
        Protocol::resume_writing(self);
    }
}

impl FlowCallbacks for dyn BufferedProtocol {
    fn pause_writing(&mut self) {
        BufferedProtocol::pause_writing(self);
    }
    fn resume_writing(&mut self) {
        BufferedProtocol::resume_writing(self);
    }
}

impl FlowCallbacks for dyn DatagramProtocol {
    fn pause_writing(&mut self) {
        DatagramProtocol::pause_writing(self);
    }
    fn resume_writing(&mut self) {
        DatagramProtocol::resume_writing(self);
    }
}

impl FlowCallbacks for dyn SubprocessProtocol {
    fn pause_writing(&mut self) {
        SubprocessProtocol::pause_writing(self);
    }
    fn resume_writing(&mut self) {
        SubprocessProtocol::resume_writing(self);
    }
}

/// A transport's link to its protocol, as [`deliver_flow`] calls it: a datagram protocol's,
/// or a stream protocol's of either kind ([`WeakShared`]).
pub(super) trait FlowTarget {
    /// Makes the flow calls `next` hands out (`true` pauses) until it answers `None`; a panic
    /// in one does not stop the others and is reported once they were made ([`Failed`]).
    /// False if one of the protocol's methods is running: nothing was asked. Nothing once the
    /// protocol is gone.
    fn try_flow(&self, next: impl FnMut() -> Option<bool>) -> bool;
}

impl<P: ?Sized + FlowCallbacks> FlowTarget for Weak<RefCell<P>> {
    fn try_flow(&self, mut next: impl FnMut() -> Option<bool>) -> bool {
        let Some(protocol) = self.upgrade() else {
            return true;
        };
        let Ok(mut borrowed) = protocol.try_borrow_mut() else {
            return false;
        };
        let mut failed = Vec::new();
        while let Some(pause) = next() {
            failed.extend(if pause {
                catch_failed("pause_writing", || borrowed.pause_writing())
            } else {
                catch_failed("resume_writing", || borrowed.resume_writing())
            });
        }
        drop(borrowed);
        failed.into_iter().for_each(Failed::report);
        true
    }
}

impl FlowTarget for WeakShared {
    fn try_flow(&self, next: impl FnMut() -> Option<bool>) -> bool {
        match self {
            WeakShared::Plain(p) => p.try_flow(next),
            WeakShared::Buffered(p) => p.try_flow(next),
        }
    }
}

/// Calls the `pause_writing` / `resume_writing` due in `state`'s [`FlowControl`] on
/// `protocol`, unless one of its methods is running: then `wake` wakes the transport's task,
/// which calls this again once that method returned. Nothing re-enters the protocol, and no
/// borrow of `state` is held while it runs.
pub(super) fn deliver_flow(
    protocol: &impl FlowTarget,
    state: &RefCell<impl WriteState>,
    wake: impl FnOnce(),
) {
    if !state.borrow_mut().flow().is_due() {
        return;
    }
    if !protocol.try_flow(|| state.borrow_mut().flow().next_due()) {
        wake();
    }
}

/// The water marks, whether the protocol is paused, and the flow calls not made yet.
pub(super) struct FlowControl {
    high: usize,
    low: usize,
    /// `pause_writing` was called and no `resume_writing` since (`_protocol_paused`).
    paused: bool,
    /// Flow-control calls not made yet, because the protocol was busy: `true` pauses.
    due: VecDeque<bool>,
}

impl FlowControl {
    /// asyncio's defaults: 64 KiB and a quarter of it.
    pub(super) fn new() -> Self {
        FlowControl {
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            paused: false,
            due: VecDeque::new(),
        }
    }

    /// asyncio's `_maybe_pause_protocol`, with the buffer holding `size` bytes.
    pub(super) fn maybe_pause(&mut self, size: usize) {
        if size > self.high && !self.paused {
            self.paused = true;
            self.due.push_back(true);
        }
    }

    /// `pause_writing` was called and no `resume_writing` since.
    pub(super) fn is_paused(&self) -> bool {
        self.paused
    }

    /// asyncio's `_maybe_resume_protocol`, with the buffer holding `size` bytes.
    pub(super) fn maybe_resume(&mut self, size: usize) {
        if self.paused && size <= self.low {
            self.paused = false;
            self.due.push_back(false);
        }
    }

    /// asyncio's `set_write_buffer_limits(high, low)` on a buffer of `buffered` bytes
    /// (`_set_write_buffer_limits`, then `_maybe_pause_protocol`): without `high`, 64 KiB, or
    /// four times `low` if given; without `low`, a quarter of `high`; a `pause_writing` is due
    /// at once if the buffer is above the new high mark (a lost transport's buffer is empty).
    /// `InvalidInput` unless `high >= low`.
    pub(super) fn set_limits(
        &mut self,
        high: Option<usize>,
        low: Option<usize>,
        buffered: usize,
    ) -> io::Result<()> {
        let high = match (high, low) {
            (Some(high), _) => high,
            (None, None) => DEFAULT_HIGH_WATER,
            (None, Some(low)) => low.saturating_mul(4),
        };
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("high ({high}) must be >= low ({low}) must be >= 0"),
            ));
        }
        self.high = high;
        self.low = low;
        self.maybe_pause(buffered);
        Ok(())
    }

    /// A transport's `set_write_buffer_limits(high, low)`: [`set_limits`](FlowControl::set_limits)
    /// on its `state`'s buffer, then `deliver` makes the `pause_writing` that may be due.
    ///
    /// # Errors
    /// As [`set_limits`](FlowControl::set_limits).
    pub(super) fn set_transport_limits(
        state: &RefCell<impl WriteState>,
        high: Option<usize>,
        low: Option<usize>,
        deliver: impl FnOnce(),
    ) -> io::Result<()> {
        let mut state = state.borrow_mut();
        let buffered = state.buffered();
        state.flow().set_limits(high, low, buffered)?;
        drop(state);
        deliver();
        Ok(())
    }

    /// `(low, high)`: asyncio's `get_write_buffer_limits()`.
    pub(super) fn limits(&self) -> (usize, usize) {
        (self.low, self.high)
    }

    /// Whether a flow call is due.
    pub(super) fn is_due(&self) -> bool {
        !self.due.is_empty()
    }

    /// The next flow call due, taken: `true` pauses.
    pub(super) fn next_due(&mut self) -> Option<bool> {
        self.due.pop_front()
    }

    /// Forgets the calls due (the transport is lost).
    pub(super) fn clear(&mut self) {
        self.due.clear();
    }
}
