//! [`FlowControl`]: a transport's write buffer limits and the `pause_writing` /
//! `resume_writing` calls they make due (asyncio's `_FlowControlMixin`), for the stream
//! transport and the datagram one.

use std::cell::{RefCell, RefMut};
use std::collections::VecDeque;
use std::io;
use std::rc::Weak;

use super::{DatagramProtocol, Protocol, DEFAULT_HIGH_WATER};

/// The flow-control callbacks both protocol traits have (asyncio's `BaseProtocol`'s).
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

impl FlowCallbacks for dyn DatagramProtocol {
    fn pause_writing(&mut self) {
        DatagramProtocol::pause_writing(self);
    }
    fn resume_writing(&mut self) {
        DatagramProtocol::resume_writing(self);
    }
}

/// Calls the `pause_writing` / `resume_writing` due in `flow` (a borrow of the transport's
/// [`FlowControl`]) on `protocol`, unless one of its methods is running: then `wake` wakes
/// the transport's task, which calls this again once that method returned. Nothing re-enters
/// the protocol.
pub(super) fn deliver_flow<'a, P: ?Sized + FlowCallbacks>(
    protocol: &Weak<RefCell<P>>,
    flow: impl Fn() -> RefMut<'a, FlowControl>,
    wake: impl FnOnce(),
) {
    if !flow().is_due() {
        return;
    }
    let Some(protocol) = protocol.upgrade() else {
        return;
    };
    let Ok(mut protocol) = protocol.try_borrow_mut() else {
        wake();
        return;
    };
    loop {
        let Some(pause) = flow().next_due() else {
            return;
        };
        if pause {
            protocol.pause_writing();
        } else {
            protocol.resume_writing();
        }
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
