//! The epoll reactor (kqueue on macOS and the BSDs): the loop's `mio::Poll`, and readiness
//! recorded in the registrations' slab.
//!
//! The reactor owns the `Poll`. Two tokens are reserved: [`WAKER_TOKEN`] for the remote queue's
//! `mio::Waker` and [`TIMER_TOKEN`] for the precise wake-up timer. Neither needs dispatch: the
//! loop drains the remote queue and advances its timers in every iteration anyway.
//!
//! Every other token belongs to an I/O registration in the [`IoSlots`] slab (generation-checked,
//! see runtime/io/slots.rs), which the io driver owns and lends to each poll (the io_uring
//! reactor records into the same slab). A poll records readiness there and collects the wakers
//! it releases; the driver wakes them after its borrow ends, since a waker may be a foreign one
//! that runs arbitrary code.

use std::io;
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};

use super::slots::{IoSlots, Ready};
use super::timerfd::TimerFd;

/// The token of the loop's `mio::Waker` (eventfd on Linux, EVFILT_USER on kqueue).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);
/// The token of the loop's timerfd.
pub(crate) const TIMER_TOKEN: Token = Token(usize::MAX - 1);

/// A busy loop (tasks ready, so a poll would not block) with I/O sources registered polls for
/// I/O once this many steps (task steps, callbacks) have run in busy iterations since its last
/// poll, not in every iteration: a zero-timeout `epoll_wait` costs more than a dozen task
/// steps, and a task that yields alone in a loop would pay it per yield. Readiness is noticed
/// at most this many steps late, as tokio's `event_interval` (61 scheduler ticks): a loop with
/// many tasks ready polls in every iteration, as asyncio's `_run_once` does; a task yielding
/// alone sees I/O at most 61 iterations late. An idle loop polls at once.
pub(crate) const BUSY_POLL_INTERVAL: u32 = 61;

/// How long a poll may block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollWait {
    /// Do not block: something is ready already.
    Zero,
    /// Block until I/O or a remote wake: there is no timer.
    Forever,
    /// Block until the earliest timer, whose deadline (in clock ticks) is `deadline`, `after`
    /// from now.
    Until { deadline: u64, after: Duration },
}

/// The loop's poller, its event buffer and its wake-up timer.
pub(crate) struct Reactor {
    poll: Poll,
    events: Events,
    timer: Option<TimerFd>,
    /// The deadline the timer is armed for, if any.
    armed: Option<u64>,
}

impl Reactor {
    /// A new poller with room for `capacity` events per poll.
    pub(crate) fn new(capacity: usize) -> io::Result<Self> {
        let poll = Poll::new()?;
        let timer = TimerFd::new().filter(|timer| {
            let fd = timer.raw_fd();
            poll.registry()
                .register(&mut mio::unix::SourceFd(&fd), TIMER_TOKEN, Interest::READABLE)
                .is_ok()
        });
        Ok(Reactor {
            poll,
            events: Events::with_capacity(capacity.max(1)),
            timer,
            armed: None,
        })
    }

    /// The registry that I/O sources and the remote waker register with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Registers `source` (edge-triggered, as mio always is) under `token`.
    pub(crate) fn register(
        &mut self,
        source: &mut impl mio::event::Source,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.poll.registry().register(source, token, interest)
    }

    /// Deregisters `source`. An error (the fd is already closed) leaves nothing registered
    /// either way, so it is ignored.
    pub(crate) fn deregister(&mut self, source: &mut impl mio::event::Source) {
        let _ = self.poll.registry().deregister(source);
    }

    /// Turns a wait into mio's timeout, arming the precise timer when there is one.
    fn timeout(&mut self, wait: PollWait) -> Option<Duration> {
        match wait {
            PollWait::Zero => Some(Duration::ZERO),
            PollWait::Forever => None,
            PollWait::Until { deadline, after } => {
                let Some(timer) = &self.timer else {
                    return Some(after);
                };
                if self.armed != Some(deadline) {
                    if !timer.arm(after) {
                        return Some(after);
                    }
                    self.armed = Some(deadline);
                }
                None
            }
        }
    }

    /// Waits for readiness as `wait` allows, then records each I/O event (not the remote
    /// waker's or the timer's) in its registration in `io`, pushing the wakers it releases
    /// onto `woken`. An interrupted wait counts as a wait with no events. Returns the number of
    /// I/O events.
    ///
    /// # Panics
    /// If the OS poll fails for any other reason: the loop cannot go on without its poller.
    pub(crate) fn poll(&mut self, wait: PollWait, io: &mut IoSlots, woken: &mut Vec<Waker>) -> usize {
        let timeout = self.timeout(wait);
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return 0,
            Err(err) => panic!("aioloop: polling the reactor failed: {err}"),
        }
        let mut io_events = 0;
        for event in self.events.iter() {
            match event.token() {
                WAKER_TOKEN => {}
                TIMER_TOKEN => self.armed = None,
                token => {
                    io_events += 1;
                    io.dispatch(token, Ready::from_event(event), woken);
                }
            }
        }
        io_events
    }
}
