//! The io driver: the loop's reactor behind a few methods, on one of two backends (an enum,
//! not a trait object: one branch per poll or registration, none per readiness check, since
//! the registrations' slab is the driver's own):
//!
//! - epoll (kqueue on macOS and the BSDs): the [`Reactor`] (`mio::Poll`, the timerfd);
//! - io_uring (cargo feature `io-uring`, Linux): the `UringReactor` (`io::uring`),
//!   chosen by [`IoDriverKind`] and a probe at loop creation.
//!
//! Its state is private; the loop drives it ([`IoDriver::poll`], [`IoDriver::wake_ready`]) and
//! each [`Registration`](super::registration::Registration) holds the driver it is registered
//! with.
//!
//! The driver of the loop running on this thread is found with [`IoDriver::current`]: the
//! loop enters it ([`enter`]) whenever it becomes the running loop.
//!
//! - **I3.** A poll collects the wakers it releases; [`IoDriver::wake_ready`] wakes them after
//!   the driver's borrow ends (a foreign waker may run anything, even register a socket).
//!   Wakers replaced or freed by a registration are likewise dropped outside the borrow (T1).
//! - **I6.** Each registration records the descriptor number it holds (its source's, or the
//!   one it claims: a watch of `Loop::add_reader` registers a duplicate and claims the
//!   caller's number), so a watch or an `AsyncFd` of a number this loop has registered
//!   already (a socket's) fails with `AlreadyExists` on either backend ([`IoDriver::register_claiming`]);
//!   epoll alone would refuse only the same number, and io_uring never.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::Waker;

use mio::{Interest, Token};

use super::kind::IoDriverKind;
use super::reactor::{PollWait, Reactor, BUSY_POLL_INTERVAL, WAKER_TOKEN};
use super::slots::{Direction, IoSlots, SlotId};
use super::Source;

/// What a loop asks of its io driver.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoConfig {
    /// Events per epoll wait.
    pub(crate) event_capacity: usize,
    /// The driver asked for (`Auto` probes).
    pub(crate) kind: IoDriverKind,
    /// Submission entries of the io_uring ring.
    #[cfg_attr(not(all(feature = "io-uring", target_os = "linux")), allow(dead_code))]
    pub(crate) uring_entries: u32,
    /// Stream reads and writes on the io_uring driver in the completion form.
    #[cfg_attr(not(all(feature = "io-uring", target_os = "linux")), allow(dead_code))]
    pub(crate) uring_completion: bool,
}

/// A loop's I/O: its poller and registrations.
pub(crate) struct IoDriver {
    state: RefCell<State>,
    /// The loop closed: no new registrations.
    closed: Cell<bool>,
    /// Why an `Auto` driver runs epoll, when io_uring was refused.
    fallback: Option<io::Error>,
    /// Streams read through the io_uring driver's multishot receives (the completion form).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    recv_form: Cell<bool>,
    /// Streams write through the io_uring driver's sends (the completion form); fixed at
    /// creation.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    send_form: bool,
}

/// The driver's mutable state: the registrations and the backend that polls them.
struct State {
    /// The registrations: readiness and wakers per source.
    io: IoSlots,
    /// Wakers released by the last poll, to be woken outside the driver's borrow.
    woken: Vec<Waker>,
    /// How many I/O sources (sockets, pipes...) are registered.
    io_sources: usize,
    /// Steps run in busy iterations since the last poll (see [`BUSY_POLL_INTERVAL`]).
    busy_steps: u32,
    backend: Backend,
}

/// The poller.
enum Backend {
    Epoll(Reactor),
    /// Boxed: the ring is large, and the epoll variant stays inline.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    IoUring(Box<super::uring::UringReactor>),
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<IoDriver>>> = const { RefCell::new(None) };
}

/// Restores the previous io driver when dropped.
pub(crate) type EnterGuard = crate::current::EnterGuard<IoDriver>;

/// Makes `driver` the running loop's io driver until the guard drops.
pub(crate) fn enter(driver: &Rc<IoDriver>) -> EnterGuard {
    crate::current::enter(&CURRENT, driver)
}

/// The backend `config` asks for, and why io_uring was refused when `Auto` fell back.
///
/// # Errors
/// `IoUring` asked for where it cannot run (the probe's reason, or the feature missing), or
/// the OS refusing a poller.
fn backend(config: IoConfig) -> io::Result<(Backend, Option<io::Error>)> {
    let epoll = || Reactor::new(config.event_capacity).map(Backend::Epoll);
    match config.kind {
        IoDriverKind::Epoll => Ok((epoll()?, None)),
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        kind => {
            use super::uring::{probe::probe, UringReactor};
            match probe(config.uring_entries, config.uring_completion) {
                Ok((ring, recv_form)) => Ok((
                    Backend::IoUring(Box::new(UringReactor::new(ring, recv_form)?)),
                    None,
                )),
                Err(err) if kind == IoDriverKind::Auto => Ok((epoll()?, Some(err))),
                Err(err) => Err(err),
            }
        }
        #[cfg(not(all(feature = "io-uring", target_os = "linux")))]
        IoDriverKind::Auto => Ok((epoll()?, None)),
        #[cfg(not(all(feature = "io-uring", target_os = "linux")))]
        IoDriverKind::IoUring => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "aioloop: IoDriverKind::IoUring needs Linux and aioloop's `io-uring` cargo feature \
             (this build has no io_uring driver)",
        )),
    }
}

impl IoDriver {
    /// A new driver as `config` asks.
    ///
    /// # Errors
    /// As [`backend`].
    pub(crate) fn new(config: IoConfig) -> io::Result<Rc<Self>> {
        let (backend, fallback) = backend(config)?;
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        let recv_form = Cell::new(matches!(&backend, Backend::IoUring(reactor) if reactor.recv_form()));
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        let send_form = matches!(&backend, Backend::IoUring(reactor) if reactor.send_form());
        Ok(Rc::new(IoDriver {
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            recv_form,
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            send_form,
            state: RefCell::new(State {
                io: IoSlots::default(),
                woken: Vec::new(),
                io_sources: 0,
                busy_steps: 0,
                backend,
            }),
            closed: Cell::new(false),
            fallback,
        }))
    }

    /// The driver that runs (never `Auto`).
    pub(crate) fn kind(&self) -> IoDriverKind {
        match self.state.borrow().backend {
            Backend::Epoll(_) => IoDriverKind::Epoll,
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            Backend::IoUring(_) => IoDriverKind::IoUring,
        }
    }

    /// True if streams read through multishot receives (the io_uring driver's completion
    /// form): their reads go through [`IoDriver::recv`].
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    #[inline]
    pub(crate) fn recv_form(&self) -> bool {
        self.recv_form.get()
    }

    /// A read of the stream `id` in the completion form (see
    /// [`RecvStep`](super::uring::recv::RecvStep)); on `Wait` the read waker is `waker`.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn recv(
        &self,
        id: SlotId,
        dst: &mut [std::mem::MaybeUninit<u8>],
        peek: bool,
        waker: Option<&Waker>,
    ) -> super::uring::recv::RecvStep {
        // Completions taken in on the way released wakers: `with_uring` wakes them, outside
        // the borrow (I3); the loop's next poll might otherwise block with their tasks not
        // scheduled.
        self.with_uring(|reactor, io, woken| Some(reactor.recv(id, dst, peek, waker, io, woken)))
            .unwrap_or(super::uring::recv::RecvStep::Direct)
    }

    /// True if streams write through sends (the io_uring driver's completion form): their
    /// writes go through [`IoDriver::with_uring`].
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    #[inline]
    pub(crate) fn send_form(&self) -> bool {
        self.send_form
    }

    /// Runs `f` on the io_uring reactor with the registrations and the wakers released so
    /// far (`None` on epoll); the wakers completions released on the way are woken after the
    /// borrow (I3).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn with_uring<R>(
        &self,
        f: impl FnOnce(&mut super::uring::UringReactor, &mut IoSlots, &mut Vec<Waker>) -> Option<R>,
    ) -> Option<R> {
        let (result, wake) = {
            let state = &mut *self.state.borrow_mut();
            let Backend::IoUring(reactor) = &mut state.backend else {
                return None;
            };
            let result = f(reactor, &mut state.io, &mut state.woken)?;
            (result, !state.woken.is_empty())
        };
        if wake {
            self.wake_ready();
        }
        Some(result)
    }

    /// Arms the multishot receive of the stream `id`, whose read just met `WouldBlock`; false
    /// if the completion form cannot take it now (see `UringReactor::arm_recv`).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn arm_recv(&self, id: SlotId) -> bool {
        let state = &mut *self.state.borrow_mut();
        let armed = match &mut state.backend {
            Backend::IoUring(reactor) => reactor.arm_recv(id, &mut state.io),
            Backend::Epoll(_) => false,
        };
        if let Backend::IoUring(reactor) = &state.backend {
            self.recv_form.set(reactor.recv_form());
        }
        armed
    }

    /// Makes sure the read readiness of the stream `id` will be reported (see
    /// `UringReactor::watch_read`).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn watch_read(&self, id: SlotId) {
        let state = &mut *self.state.borrow_mut();
        if let Backend::IoUring(reactor) = &mut state.backend {
            reactor.watch_read(id, &mut state.io);
        }
    }

    /// Stops the receive of the stream `id` and waits for its final completion; returns how
    /// many received bytes were not read.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn stop_recv(&self, id: SlotId) -> usize {
        let state = &mut *self.state.borrow_mut();
        match &mut state.backend {
            Backend::IoUring(reactor) => reactor.stop_recv(id, &mut state.io, &mut state.woken),
            Backend::Epoll(_) => 0,
        }
    }

    /// Why io_uring was refused, when an `Auto` driver fell back to epoll.
    pub(crate) fn fallback_reason(&self) -> Option<&io::Error> {
        self.fallback.as_ref()
    }

    /// The running loop's io driver, or a panic that names the function the user called.
    #[track_caller]
    pub(crate) fn current(what: &str) -> Rc<IoDriver> {
        crate::current::expect(&CURRENT, what)
    }

    /// True if `driver` is the running loop's io driver.
    pub(crate) fn is_current(driver: &Rc<IoDriver>) -> bool {
        crate::current::is(&CURRENT, driver)
    }

    /// Calls `f` with the registry and the token reserved for the remote queue's `mio::Waker`.
    pub(crate) fn with_waker_registry<R>(&self, f: impl FnOnce(&mio::Registry, Token) -> R) -> R {
        match &self.state.borrow().backend {
            Backend::Epoll(reactor) => f(reactor.registry(), WAKER_TOKEN),
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            Backend::IoUring(reactor) => f(reactor.registry(), WAKER_TOKEN),
        }
    }

    /// Refuses further registrations (the loop closed).
    pub(crate) fn close(&self) {
        self.closed.set(true);
    }

    /// True once the loop closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Registers `source` for `interest` (edge-triggered, on either backend) under a fresh slot;
    /// `stream` for a TCP or Unix stream (the io_uring driver reads those by completions).
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
        interest: Interest,
        stream: bool,
    ) -> io::Result<SlotId> {
        let fd = source.raw_fd().unwrap_or(-1);
        self.register_as(source, interest, stream, fd)
    }

    /// Registers `source` for `interest` (not as a stream) as holding the descriptor number
    /// `claim` (I6), which may be another than its own.
    ///
    /// # Errors
    /// `AlreadyExists` if a registration of this loop holds `claim` already; else as
    /// [`IoDriver::register`].
    pub(crate) fn register_claiming(
        &self,
        source: &mut impl Source,
        interest: Interest,
        claim: RawFd,
    ) -> io::Result<SlotId> {
        if self.state.borrow().io.holds_fd(claim) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "aioloop: file descriptor {claim} is already registered with this loop (EEXIST: \
                     a socket, pipe or child process of aioloop's, an AsyncFd or an add_reader / \
                     add_writer watch holds it; asyncio raises RuntimeError 'File descriptor \
                     {claim} is used by transport')"
                ),
            ));
        }
        self.register_as(source, interest, false, claim)
    }

    /// [`IoDriver::register`], recording `fd` as the number the registration holds (I6).
    fn register_as(
        &self,
        source: &mut impl Source,
        interest: Interest,
        stream: bool,
        fd: RawFd,
    ) -> io::Result<SlotId> {
        let state = &mut *self.state.borrow_mut();
        let id = state.io.insert_holding(fd);
        let registered = match &mut state.backend {
            Backend::Epoll(reactor) => {
                let _ = stream;
                reactor.register(source, id.token(), interest)
            }
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            Backend::IoUring(reactor) => reactor.register(source, id, interest, stream),
        };
        if let Err(err) = registered {
            state.io.remove(id);
            return Err(err);
        }
        state.io_sources += 1;
        Ok(id)
    }

    /// Deregisters `source` and frees its slot. Idempotent per `id`.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, id: SlotId) {
        let wakers = {
            let state = &mut *self.state.borrow_mut();
            let wakers = match &mut state.backend {
                Backend::Epoll(reactor) => state.io.remove(id).inspect(|_| reactor.deregister(source)),
                #[cfg(all(feature = "io-uring", target_os = "linux"))]
                Backend::IoUring(reactor) => reactor.deregister(source, id, &mut state.io),
            };
            if wakers.is_some() {
                state.io_sources = state.io_sources.saturating_sub(1);
            }
            wakers
        };
        drop(wakers);
    }

    /// True if `dir` of `id` is ready; else adds `waker` to its waiters (every waiter is
    /// woken by the next edge, I5 in runtime/io/slots.rs).
    #[inline]
    pub(crate) fn poll_ready(&self, id: SlotId, dir: Direction, waker: &Waker) -> bool {
        self.state.borrow_mut().io.poll_ready(id, dir, waker)
    }

    /// Forgets `dir`'s readiness of `id` (an operation met `WouldBlock` or drained the buffer).
    #[inline]
    pub(crate) fn clear(&self, id: SlotId, dir: Direction) {
        self.state.borrow_mut().io.clear(id, dir);
    }

    /// The readiness bits of `id` (runtime/io/slots.rs).
    pub(crate) fn ready_bits(&self, id: SlotId) -> u8 {
        self.state.borrow().io.ready_bits(id)
    }

    /// True if `dir` of `id` is ready as far as the driver knows.
    #[inline]
    pub(crate) fn is_ready(&self, id: SlotId, dir: Direction) -> bool {
        self.state.borrow().io.is_ready(id, dir)
    }

    /// True if a zero-timeout poll could report anything: some I/O source is registered. The
    /// remote waker and the timer need no poll to be noticed (the loop checks the remote queue's
    /// flag and the timer wheel itself), so a busy loop with no I/O skips the poll.
    #[inline]
    pub(crate) fn has_io_sources(&self) -> bool {
        self.state.borrow().io_sources > 0
    }

    /// Whether a busy iteration that ran `steps` steps should poll (with a zero timeout): never
    /// without I/O sources, else once [`BUSY_POLL_INTERVAL`] steps have run in busy iterations
    /// since the last poll.
    #[inline]
    pub(crate) fn busy_poll_due(&self, steps: u32) -> bool {
        let state = &mut *self.state.borrow_mut();
        if state.io_sources == 0 {
            return false;
        }
        state.busy_steps = state.busy_steps.saturating_add(steps);
        state.busy_steps >= BUSY_POLL_INTERVAL
    }

    /// Waits for readiness as `wait` allows and records it; returns the number of I/O events.
    /// The wakers it releases are woken by [`IoDriver::wake_ready`].
    pub(crate) fn poll(&self, wait: PollWait) -> usize {
        let state = &mut *self.state.borrow_mut();
        state.busy_steps = 0;
        match &mut state.backend {
            Backend::Epoll(reactor) => reactor.poll(wait, &mut state.io, &mut state.woken),
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            Backend::IoUring(reactor) => reactor.poll(wait, &mut state.io, &mut state.woken),
        }
    }

    /// Wakes the tasks whose I/O the last poll found ready. The wakers are woken (and dropped)
    /// after the driver's borrow ends, since a foreign waker may run arbitrary code, even code
    /// that registers a socket.
    pub(crate) fn wake_ready(&self) {
        let mut woken = std::mem::take(&mut self.state.borrow_mut().woken);
        if woken.is_empty() {
            return self.restore_woken(woken);
        }
        for waker in woken.drain(..) {
            waker.wake();
        }
        self.restore_woken(woken);
    }

    /// Gives back the emptied buffer of [`IoDriver::wake_ready`] so its allocation is reused.
    fn restore_woken(&self, buf: Vec<Waker>) {
        let state = &mut *self.state.borrow_mut();
        if state.woken.is_empty() {
            state.woken = buf;
        }
    }
}
