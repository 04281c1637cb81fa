//! The reactor: the loop's `mio::Poll`, and readiness delivered to wakers.
//!
//! The reactor owns the `Poll`. Two tokens are reserved: [`WAKER_TOKEN`] for the remote queue's
//! `mio::Waker` and [`TIMER_TOKEN`] for the precise wake-up timer. Neither needs dispatch: the
//! loop drains the remote queue and advances its timers in every iteration anyway.
//!
//! Every other token belongs to an I/O registration in the [`IoSlots`] slab (generation-checked,
//! see runtime/io/slots.rs). A poll records readiness there and collects the wakers it releases;
//! the loop wakes them after its borrow of the reactor ends ([`Reactor::take_woken`]), since a
//! waker may be a foreign one that runs arbitrary code.

use std::io;
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};

use super::slots::{IoSlots, Ready, SlotId};
use super::timerfd::TimerFd;

/// The token of the loop's `mio::Waker` (eventfd on Linux, EVFILT_USER on kqueue).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);
/// The token of the loop's timerfd.
pub(crate) const TIMER_TOKEN: Token = Token(usize::MAX - 1);

/// A busy loop (tasks ready, so a poll would not block) with I/O sources registered polls for
/// I/O once in this many iterations, not in every one: a zero-timeout `epoll_wait` costs more
/// than a dozen task steps, and a task that yields in a loop would pay it per yield. Readiness
/// is noticed at most this many iterations late, so sockets are never starved (tokio's
/// `event_interval` is 61 scheduler ticks; asyncio polls every iteration). An idle loop polls
/// at once, as before.
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
    /// How many I/O sources (sockets, pipes...) are registered.
    io_sources: usize,
    /// The I/O registrations: readiness and wakers per source.
    io: IoSlots,
    /// Wakers released by the last poll, to be woken outside the reactor's borrow.
    woken: Vec<Waker>,
    /// Busy iterations since the last poll (see [`BUSY_POLL_INTERVAL`]).
    busy_skips: u32,
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
            io_sources: 0,
            io: IoSlots::default(),
            woken: Vec::new(),
            busy_skips: 0,
        })
    }

    /// The registry that I/O sources and the remote waker register with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// True if a zero-timeout poll could report anything: some I/O source is registered. The
    /// remote waker and the timer need no poll to be noticed (the loop checks the remote queue's
    /// flag and the timer wheel itself), so a busy loop with no I/O skips the syscall.
    pub(crate) fn has_io_sources(&self) -> bool {
        self.io_sources > 0
    }

    /// Whether a busy iteration should poll (with a zero timeout): never without I/O sources,
    /// else once every [`BUSY_POLL_INTERVAL`] busy iterations since the last poll.
    pub(crate) fn busy_poll_due(&mut self) -> bool {
        if self.io_sources == 0 {
            return false;
        }
        self.busy_skips += 1;
        self.busy_skips >= BUSY_POLL_INTERVAL
    }

    /// Counts a newly registered I/O source.
    pub(crate) fn add_io_source(&mut self) {
        self.io_sources += 1;
    }

    /// Forgets a deregistered I/O source.
    pub(crate) fn remove_io_source(&mut self) {
        self.io_sources = self.io_sources.saturating_sub(1);
    }

    /// Registers `source` (edge-triggered, as mio always is) under a fresh slot.
    pub(crate) fn register(
        &mut self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<SlotId> {
        let id = self.io.insert();
        if let Err(err) = self.poll.registry().register(source, id.token(), interest) {
            self.io.remove(id);
            return Err(err);
        }
        self.add_io_source();
        Ok(id)
    }

    /// Deregisters `source` and frees its slot; returns the slot's wakers, for the caller to
    /// drop outside its borrow. Idempotent per `id`.
    pub(crate) fn deregister(
        &mut self,
        source: &mut impl mio::event::Source,
        id: SlotId,
    ) -> Option<[Option<Waker>; 2]> {
        let wakers = self.io.remove(id)?;
        // An error (the fd is already closed) leaves nothing registered either way.
        let _ = self.poll.registry().deregister(source);
        self.remove_io_source();
        Some(wakers)
    }

    /// The registrations' readiness and wakers.
    pub(crate) fn io(&mut self) -> &mut IoSlots {
        &mut self.io
    }

    /// Moves out the wakers the last poll released (the caller wakes them outside its borrow,
    /// then hands the emptied `Vec` back through [`Reactor::restore_woken`]).
    pub(crate) fn take_woken(&mut self) -> Vec<Waker> {
        std::mem::take(&mut self.woken)
    }

    /// Gives back the emptied buffer of [`Reactor::take_woken`] so its allocation is reused.
    pub(crate) fn restore_woken(&mut self, buf: Vec<Waker>) {
        if self.woken.is_empty() {
            self.woken = buf;
        }
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
    /// waker's or the timer's) in its registration, collecting the wakers it releases for
    /// [`Reactor::take_woken`]. An interrupted wait counts as a wait with no events.
    /// Returns the number of I/O events.
    ///
    /// # Panics
    /// If the OS poll fails for any other reason: the loop cannot go on without its poller.
    pub(crate) fn poll(&mut self, wait: PollWait) -> usize {
        let timeout = self.timeout(wait);
        self.busy_skips = 0;
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
                    self.io.dispatch(token, Ready::from_event(event), &mut self.woken);
                }
            }
        }
        io_events
    }
}
