//! The reactor: the loop's `mio::Poll`, and readiness delivered to wakers.
//!
//! The reactor owns the `Poll`. Token [`WAKER_TOKEN`] belongs to the remote queue's
//! `mio::Waker`; its events need no dispatch, because the loop drains the remote queue at the
//! start of every iteration anyway.

use std::io;
use std::time::Duration;

use mio::{Events, Poll, Token};

/// The token of the loop's `mio::Waker` (eventfd on Linux, EVFILT_USER on kqueue).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// The loop's poller and its event buffer.
pub(crate) struct Reactor {
    poll: Poll,
    events: Events,
}

impl Reactor {
    /// A new poller with room for `capacity` events per poll.
    pub(crate) fn new(capacity: usize) -> io::Result<Self> {
        Ok(Reactor {
            poll: Poll::new()?,
            events: Events::with_capacity(capacity.max(1)),
        })
    }

    /// The registry that I/O sources and the remote waker register with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Waits for readiness for at most `timeout` (`None` blocks), then calls `on_event` for each
    /// event that is not the remote waker's. An interrupted wait counts as a wait with no events.
    ///
    /// # Panics
    /// If the OS poll fails for any other reason: the loop cannot go on without its poller.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>, mut on_event: impl FnMut(&mio::event::Event)) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return,
            Err(err) => panic!("aioloop: polling the reactor failed: {err}"),
        }
        for event in self.events.iter() {
            if event.token() != WAKER_TOKEN {
                on_event(event);
            }
        }
    }
}
