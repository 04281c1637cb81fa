//! The per-loop signal driver: one `signal_hook_mio` self-pipe per loop, read by a dispatcher
//! that hands each delivery to the loop's listeners ([`Signals`](super::Signals)) and handlers
//! ([`Loop::add_signal_handler`](crate::Loop::add_signal_handler)).
//!
//! signal-hook installs the process-wide handler (async-signal-safe: it sets a flag and writes
//! a byte to every registered self-pipe), so this crate has no signal handler of its own.
//! signal-hook calls every registered action, so several loops on several threads each get
//! every delivery through their own pipe. Deliveries of one signal that arrive before the
//! dispatcher reads the pipe coalesce into one, as Unix signals themselves do.
//!
//! **The dispatcher is no task**, as asyncio's signal handling is none: it is a chain of loop
//! callbacks, its *ticks* (as `add_reader`'s watches, runtime/fd_watch/watch.rs). A tick reads
//! which signals arrived, delivers them, and leaves a waker with the pipe's registration
//! ([`thread_waker`]), whose wake (the next byte) queues the next tick. So the dispatcher is
//! not in `all_tasks()`, `run`'s cancelling of the leftover tasks leaves it alone (a handler
//! still runs during their cleanup), and a debug-mode loop does not report it as a pending
//! task at close.
//!
//! A loop's driver lives in the loop's extension slot ([`LoopDriver`], runtime/event_loop/
//! extensions.rs), and knows its loop by a `Weak`. The loop drops the slot when it closes (after
//! its tasks and callbacks): that drops the driver's handlers (asyncio's `close` removes every
//! signal handler) and deregisters the pipe; once the last listener is gone too, dropping the
//! pipe unregisters the loop's actions from signal-hook.
//!
//! Every listener and handler holds an [`Interest`] in its signal, taken once the pipe is
//! registered for it; a driver's listeners and handlers are dropped before its pipe, so an
//! interest never outlives the pipe that delivers to it (see [`super::interest`]).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Waker};

use signal_hook_mio::v1_0::Signals as SignalPipe;
use slab::Slab;

use super::interest::{self, Interest};
use crate::event_loop::Core;
use crate::io::{Direction, PollEvented};
use crate::thread_waker::thread_waker;
use crate::waker_slot::WakerSlot;

/// The self-pipe, shared between the driver (to add signals) and the dispatcher's registration.
struct PipeSource(Rc<RefCell<SignalPipe>>);

impl mio::event::Source for PipeSource {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.0.borrow_mut().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.0.borrow_mut().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.0.borrow_mut().deregister(registry)
    }
}

/// signal-hook-mio hides the pipe's descriptor: the io_uring driver polls it through its side
/// `mio::Poll`.
impl crate::io::Source for PipeSource {
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
}

/// One listener: deliveries not yet received, and the waker of the task waiting for them.
pub(crate) struct Listener {
    signum: libc::c_int,
    pending: usize,
    waker: WakerSlot,
    _interest: Interest,
}

/// A handler installed by `add_signal_handler`. Its callback is shared only with the calls
/// queued for it, which hold it weakly: removing or replacing the handler drops the callback, so
/// a queued call finds it gone and does nothing (asyncio cancels the queued call).
pub(crate) struct Handler {
    callback: Rc<RefCell<dyn FnMut()>>,
    _interest: Interest,
}

/// One loop's signal state. The listeners and handlers are declared (so dropped) before the
/// pipe: their interests go before the pipe stops delivering.
pub(crate) struct Driver {
    core: Weak<Core>,
    listeners: RefCell<Slab<Listener>>,
    handlers: RefCell<HashMap<libc::c_int, Handler>>,
    /// The pipe registered with the loop's reactor: `None` until the first tick registers it
    /// (on the running loop), and again once the loop closed.
    evented: RefCell<Option<PollEvented<PipeSource>>>,
    /// True while a tick is queued.
    scheduled: Cell<bool>,
    /// The waker each tick leaves with the registration ([`thread_waker`]): its wake (the
    /// next byte) queues the next tick.
    waker: Waker,
    pipe: Rc<RefCell<SignalPipe>>,
    registered: RefCell<HashSet<libc::c_int>>,
}

/// A loop's driver in the loop's extension slot (`Core::extensions`), until the loop closes.
/// Dropping it (at close) is the driver's close step: it drops the handlers and deregisters the
/// pipe, before the loop's reactor closes. The driver itself goes with its last listener;
/// dropping the last `Rc` of the pipe unregisters its signal-hook actions.
struct LoopDriver(Rc<Driver>);

impl Drop for LoopDriver {
    fn drop(&mut self) {
        // Outside the borrows: a handler's destructor is user code.
        let handlers = std::mem::take(&mut *self.0.handlers.borrow_mut());
        drop(handlers);
        let evented = self.0.evented.borrow_mut().take();
        drop(evented);
    }
}

impl Driver {
    /// The loop's driver if it has one already (never creates one; none once the loop closed).
    pub(crate) fn existing(core: &Core) -> Option<Rc<Driver>> {
        let installed = core.extensions().get::<LoopDriver>()?;
        Some(installed.0.clone())
    }

    /// True once this driver's loop is closed (or gone): nothing will deliver to it again.
    pub(crate) fn is_closed(&self) -> bool {
        self.core.upgrade().is_none_or(|core| core.is_closed())
    }

    /// True if this driver's loop is the one running on this thread (only that loop reads
    /// the pipe and hands deliveries to the listeners).
    pub(crate) fn is_current(&self) -> bool {
        crate::context::with_current(|core| std::ptr::eq(self.core.as_ptr(), Rc::as_ptr(core)))
            .unwrap_or(false)
    }

    /// The driver of `core`, ready to receive `signum`: the number is checked first
    /// ([`check`](super::kind::check)), so nothing is set up for a refused signal; the driver
    /// is created on first use.
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub(crate) fn for_signal(core: &Rc<Core>, signum: libc::c_int) -> io::Result<Rc<Driver>> {
        super::kind::check(signum)?;
        let driver = Driver::of(core)?;
        driver.register(signum)?;
        Ok(driver)
    }

    /// The driver of `core`, created on first use (in the loop's extension slot): its first
    /// tick is queued (it registers the pipe once the loop runs).
    #[track_caller]
    fn of(core: &Rc<Core>) -> io::Result<Rc<Driver>> {
        core.assert_open("add_signal_handler");
        let mut made = None;
        let installed = core.extensions().get_or_try_insert_with(|| {
            let driver = Driver::new(core)?;
            made = Some(driver.clone());
            io::Result::Ok(LoopDriver(driver))
        })?;
        let driver = installed.0.clone();
        if made.is_some_and(|made| Rc::ptr_eq(&made, &driver)) {
            driver.schedule();
        }
        Ok(driver)
    }

    /// A new driver of `core`, with its pipe (registered with no signal yet).
    fn new(core: &Rc<Core>) -> io::Result<Rc<Driver>> {
        let pipe = SignalPipe::new(std::iter::empty::<libc::c_int>())?;
        Ok(Rc::new_cyclic(|driver: &Weak<Driver>| Driver {
            core: Rc::downgrade(core),
            listeners: RefCell::default(),
            handlers: RefCell::default(),
            evented: RefCell::default(),
            scheduled: Cell::new(false),
            waker: thread_waker(driver.clone(), Driver::schedule),
            pipe: Rc::new(RefCell::new(pipe)),
            registered: RefCell::default(),
        }))
    }

    /// Queues the dispatcher's next tick, unless one is queued or the loop is closed.
    fn schedule(self: &Rc<Self>) {
        if self.scheduled.replace(true) {
            return;
        }
        let Some(core) = self.core.upgrade().filter(|core| !core.is_closed()) else {
            return;
        };
        let driver = self.clone();
        drop(core.call_soon(Box::new(move || driver.tick())));
    }

    /// One tick of the dispatcher: registers the pipe (the first tick), reads which signals
    /// arrived and delivers them, leaving [`Driver::waker`] with the registration. Reading
    /// drains the pipe; the `WouldBlock` met afterwards clears the readiness, so the next byte
    /// written by the signal handler is a new edge.
    fn tick(&self) {
        self.scheduled.set(false);
        let mut arrived = Vec::new();
        {
            let mut evented = self.evented.borrow_mut();
            if evented.is_none() {
                match PollEvented::new(PipeSource(self.pipe.clone()), "signal") {
                    Ok(registered) => *evented = Some(registered),
                    Err(err) => {
                        drop(evented);
                        if let Some(core) = self.core.upgrade() {
                            core.report(
                                &format!("aioloop: cannot register the signal pipe: {err}"),
                                None,
                                None,
                            );
                        }
                        return;
                    }
                }
            }
            let Some(evented) = evented.as_ref() else { return };
            let mut cx = Context::from_waker(&self.waker);
            while evented.poll_ready(&mut cx, Direction::Read).is_ready() {
                let _: io::Result<()> = evented.try_io(Direction::Read, |source| {
                    arrived.extend(source.0.borrow_mut().pending());
                    Err(io::ErrorKind::WouldBlock.into())
                });
            }
        }
        self.deliver(&arrived);
    }

    /// Makes sure signal-hook delivers `signum` to this loop's pipe (and that the signal gets
    /// its default action back once nobody is interested, see [`interest::prepare`]).
    fn register(&self, signum: libc::c_int) -> io::Result<()> {
        if self.registered.borrow().contains(&signum) {
            return Ok(());
        }
        interest::prepare(signum)?;
        self.pipe.borrow().add_signal(signum)?;
        self.registered.borrow_mut().insert(signum);
        Ok(())
    }

    /// A new listener for `signum` (registered already); returns its key.
    pub(crate) fn listen(&self, signum: libc::c_int) -> usize {
        self.listeners.borrow_mut().insert(Listener {
            signum,
            pending: 0,
            waker: WakerSlot::new(),
            _interest: Interest::new(signum),
        })
    }

    /// Makes `callback` the handler of `signum` (registered already), replacing any.
    pub(crate) fn set_handler(&self, signum: libc::c_int, callback: impl FnMut() + 'static) {
        let handler = Handler {
            callback: Rc::new(RefCell::new(callback)),
            _interest: Interest::new(signum),
        };
        let old = self.handlers.borrow_mut().insert(signum, handler);
        drop(old); // outside the borrow: dropping it may drop the last interest in the signal
    }

    /// Removes the handler of `signum`; false if there was none.
    pub(crate) fn remove_handler(&self, signum: libc::c_int) -> bool {
        let removed = self.handlers.borrow_mut().remove(&signum);
        removed.is_some()
    }

    /// Removes a listener.
    pub(crate) fn unlisten(&self, key: usize) {
        let removed = self.listeners.borrow_mut().try_remove(key);
        drop(removed);
    }

    /// Takes one pending delivery of listener `key`, or stores `waker` to be woken by the next.
    pub(crate) fn take_delivery(&self, key: usize, waker: &Waker) -> bool {
        let mut listeners = self.listeners.borrow_mut();
        let Some(listener) = listeners.get_mut(key) else {
            return false;
        };
        if listener.pending > 0 {
            listener.pending -= 1;
            return true;
        }
        let old = listener.waker.register(waker);
        drop(listeners);
        drop(old);
        false
    }

    /// Hands the signals that arrived to the listeners (woken) and handlers (queued with
    /// `call_soon`, so a panicking handler goes to the exception handler).
    fn deliver(&self, signals: &[libc::c_int]) {
        let mut woken = Vec::new();
        for listener in self.listeners.borrow_mut().iter_mut().map(|(_, l)| l) {
            if signals.contains(&listener.signum) {
                listener.pending = 1; // deliveries coalesce until received
                woken.extend(listener.waker.take());
            }
        }
        for waker in woken {
            waker.wake();
        }
        let Some(core) = self.core.upgrade() else { return };
        for signum in signals {
            let Some(callback) = self
                .handlers
                .borrow()
                .get(signum)
                .map(|h| Rc::downgrade(&h.callback))
            else {
                continue;
            };
            core.call_soon(Box::new(move || {
                // Removed (or replaced) since the delivery: asyncio cancels the queued call.
                let Some(callback) = callback.upgrade() else {
                    return;
                };
                (callback.borrow_mut())();
            }));
        }
    }
}
