//! The io driver: the loop's [`Reactor`] (`mio::Poll`, the registration slab, the timerfd)
//! behind a few methods. Its state is private; the loop drives it ([`IoDriver::poll`],
//! [`IoDriver::wake_ready`]) and each [`Registration`](super::registration::Registration)
//! holds the driver it is registered with.
//!
//! The driver of the loop running on this thread is found with [`IoDriver::current`]: the
//! loop enters it ([`enter`]) whenever it becomes the running loop.
//!
//! - **I3.** A poll collects the wakers it releases; [`IoDriver::wake_ready`] wakes them after
//!   the reactor's borrow ends (a foreign waker may run anything, even register a socket).
//!   Wakers replaced or freed by a registration are likewise dropped outside the borrow (T1).

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::task::Waker;

use mio::{Interest, Token};

use super::reactor::{PollWait, Reactor, WAKER_TOKEN};
use super::slots::{Direction, SlotId};

/// A loop's I/O: its poller and registrations.
pub(crate) struct IoDriver {
    reactor: RefCell<Reactor>,
    /// The loop closed: no new registrations.
    closed: Cell<bool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<IoDriver>>> = const { RefCell::new(None) };
}

/// Makes `driver` the running loop's io driver until the guard drops.
pub(crate) fn enter(driver: &Rc<IoDriver>) -> EnterGuard {
    let previous = CURRENT.with(|current| current.replace(Some(driver.clone())));
    EnterGuard { previous }
}

/// Restores the previous io driver (none, in practice: loops do not nest).
pub(crate) struct EnterGuard {
    previous: Option<Rc<IoDriver>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Swap first, drop after: dropping the Rc must not happen inside the borrow.
        let left = CURRENT.with(|current| current.replace(previous));
        drop(left);
    }
}

impl IoDriver {
    /// A new poller with room for `capacity` events per poll.
    pub(crate) fn new(capacity: usize) -> io::Result<Rc<Self>> {
        Ok(Rc::new(IoDriver {
            reactor: RefCell::new(Reactor::new(capacity)?),
            closed: Cell::new(false),
        }))
    }

    /// The running loop's io driver, or a panic that names the function the user called.
    #[track_caller]
    pub(crate) fn current(what: &str) -> Rc<IoDriver> {
        let current = CURRENT
            .try_with(|current| current.borrow().clone())
            .ok()
            .flatten();
        current.unwrap_or_else(|| {
            panic!("aioloop::{what} called with no running event loop: call it from inside a task or a future run by run_until_complete / aioloop::run")
        })
    }

    /// True if `driver` is the running loop's io driver.
    pub(crate) fn is_current(driver: &Rc<IoDriver>) -> bool {
        CURRENT
            .try_with(|current| current.borrow().as_ref().is_some_and(|c| Rc::ptr_eq(c, driver)))
            .unwrap_or(false)
    }

    /// Calls `f` with the registry and the token reserved for the remote queue's `mio::Waker`.
    pub(crate) fn with_waker_registry<R>(&self, f: impl FnOnce(&mio::Registry, Token) -> R) -> R {
        f(self.reactor.borrow().registry(), WAKER_TOKEN)
    }

    /// Refuses further registrations (the loop closed).
    pub(crate) fn close(&self) {
        self.closed.set(true);
    }

    /// True once the loop closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Registers `source` for `interest` (edge-triggered, as mio always is) under a fresh slot.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<SlotId> {
        self.reactor.borrow_mut().register(source, interest)
    }

    /// Deregisters `source` and frees its slot. Idempotent per `id`.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, id: SlotId) {
        let wakers = self.reactor.borrow_mut().deregister(source, id);
        drop(wakers);
    }

    /// True if `dir` of `id` is ready; else stores `waker` for it (the last poller wins).
    #[inline]
    pub(crate) fn poll_ready(&self, id: SlotId, dir: Direction, waker: &Waker) -> bool {
        let (ready, old) = self.reactor.borrow_mut().io().poll_ready(id, dir, waker);
        drop(old);
        ready
    }

    /// Forgets `dir`'s readiness of `id` (an operation met `WouldBlock` or drained the buffer).
    #[inline]
    pub(crate) fn clear(&self, id: SlotId, dir: Direction) {
        self.reactor.borrow_mut().io().clear(id, dir);
    }

    /// True if `dir` of `id` is ready as far as the driver knows.
    #[inline]
    pub(crate) fn is_ready(&self, id: SlotId, dir: Direction) -> bool {
        self.reactor.borrow_mut().io().is_ready(id, dir)
    }

    /// True if a zero-timeout poll could report anything (see [`Reactor::has_io_sources`]).
    #[inline]
    pub(crate) fn has_io_sources(&self) -> bool {
        self.reactor.borrow().has_io_sources()
    }

    /// Whether a busy iteration should poll (see [`Reactor::busy_poll_due`]).
    #[inline]
    pub(crate) fn busy_poll_due(&self) -> bool {
        self.reactor.borrow_mut().busy_poll_due()
    }

    /// Waits for readiness as `wait` allows and records it; returns the number of I/O events.
    /// The wakers it releases are woken by [`IoDriver::wake_ready`].
    pub(crate) fn poll(&self, wait: PollWait) -> usize {
        self.reactor.borrow_mut().poll(wait)
    }

    /// Wakes the tasks whose I/O the last poll found ready. The wakers are woken (and dropped)
    /// after the reactor's borrow ends, since a foreign waker may run arbitrary code, even code
    /// that registers a socket.
    pub(crate) fn wake_ready(&self) {
        let mut woken = self.reactor.borrow_mut().take_woken();
        if woken.is_empty() {
            return self.reactor.borrow_mut().restore_woken(woken);
        }
        for waker in woken.drain(..) {
            waker.wake();
        }
        self.reactor.borrow_mut().restore_woken(woken);
    }
}
