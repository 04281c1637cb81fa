//! The watches of `Loop::add_reader` / `add_writer`: per loop, per descriptor number, one
//! [`Watch`] (a registered duplicate of the descriptor, an [`AsyncFd`]) with up to two
//! callbacks, one per direction.
//!
//! **Level from edges.** The reactor reports edges (I2 in runtime/io/slots.rs); asyncio calls a
//! reader once per loop iteration for as long as the descriptor stays readable. A direction
//! runs as a chain of loop callbacks, its *ticks* (`call_soon`, so the user's callback runs on
//! the loop as a callback: a panic goes to the exception handler, "Exception in callback").
//! A tick asks the descriptor itself (a zero-timeout `poll(2)`, [`ready_now`]): if it is ready,
//! the tick queues the next tick (the next iteration's; queued first, so a panicking callback
//! does not end the chain) and calls the callback; if not, it clears the direction's readiness
//! and leaves an edge waker ([`thread_waker`]) with the registration, whose wake (the next
//! edge) queues the next tick. The check and the clearing happen in one callback, between two
//! polls of the reactor, so no edge falls between them. At most one tick per direction is
//! queued.
//!
//! **Ownership.** The table owns the watches; queued ticks hold theirs too. Removing a
//! direction drops its callback (a queued tick then does nothing: asyncio cancels the handle);
//! removing the last deregisters and closes the duplicate at once (the caller may close its
//! descriptor right after). The table is the loop's, in its extension slot ([`Watches`],
//! runtime/event_loop/extensions.rs): a loop that closes drops its ticks with its callbacks,
//! then the table, so every watch goes with the loop. The wakers left with the registrations
//! hold their watch weakly ([`thread_waker`]). No task is involved: the watches are not in
//! `all_tasks()`, and cancelling tasks leaves them alone, as asyncio's readers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::task::Waker;

use super::async_fd::AsyncFd;
use super::level::{duplicate, ready_now, same_file};
use crate::event_loop::Core;
use crate::io::Direction;
use crate::io::Interest;
use crate::thread_waker::thread_waker;

/// One loop's watches, by the caller's descriptor number: the loop's extension
/// (`Core::extensions`) from its first watch until it closes, when dropping it drops every
/// watch (their callbacks and duplicates).
#[derive(Default)]
struct Watches(RefCell<HashMap<RawFd, Rc<Watch>>>);

/// One direction of a watch: the callback, whether a tick is queued, and the waker the
/// registration wakes at the next edge.
struct Side {
    /// Shared only with the tick that calls it: replacing or removing it drops it.
    callback: Rc<RefCell<dyn FnMut()>>,
    /// True while a tick is queued; each tick holds the flag of the side it was queued for.
    scheduled: Rc<Cell<bool>>,
    waker: Waker,
}

/// One watched descriptor of one loop.
pub(super) struct Watch {
    core: Weak<Core>,
    /// The caller's number.
    fd: RawFd,
    /// The registered duplicate; `None` once both directions were removed.
    io: RefCell<Option<AsyncFd<OwnedFd>>>,
    reader: RefCell<Option<Side>>,
    writer: RefCell<Option<Side>>,
}

impl Watch {
    /// The watch of `fd` on `core`'s loop, if any.
    fn find(core: &Core, fd: RawFd) -> Option<Rc<Watch>> {
        let watches = core.extensions().get::<Watches>()?;
        let watch = watches.0.borrow().get(&fd).cloned();
        watch
    }

    /// The watch of `fd` on `core`'s loop, registered now if there is none (or if the one
    /// there watches another file, the number having been closed and reused since).
    #[track_caller]
    fn of(core: &Rc<Core>, fd: RawFd, what: &str) -> io::Result<Rc<Watch>> {
        if let Some(watch) = Watch::find(core, fd) {
            if watch
                .io
                .borrow()
                .as_ref()
                .is_some_and(|io| same_file(io.as_raw_fd(), fd))
            {
                return Ok(watch);
            }
            watch.remove(Direction::Read);
            watch.remove(Direction::Write);
        }
        let dup = duplicate(fd)?;
        let both = Interest::READABLE | Interest::WRITABLE;
        let io = AsyncFd::claiming(core.io().clone(), dup, both, fd, what)?;
        let watch = Rc::new(Watch {
            core: Rc::downgrade(core),
            fd,
            io: RefCell::new(Some(io)),
            reader: RefCell::default(),
            writer: RefCell::default(),
        });
        let watches = core.extensions().get_or_insert_with(Watches::default);
        let replaced = watches.0.borrow_mut().insert(fd, watch.clone());
        drop(replaced); // outside the borrow (none: the one there was removed above)
        Ok(watch)
    }

    fn side(&self, dir: Direction) -> &RefCell<Option<Side>> {
        match dir {
            Direction::Read => &self.reader,
            Direction::Write => &self.writer,
        }
    }

    /// Makes `callback` the watch's callback for `dir`, replacing any; a new direction's
    /// first tick is queued.
    fn set(self: &Rc<Self>, dir: Direction, callback: Rc<RefCell<dyn FnMut()>>) {
        let replaced = match &mut *self.side(dir).borrow_mut() {
            Some(side) => Some(std::mem::replace(&mut side.callback, callback)),
            side @ None => {
                // Its wake (the next edge) queues the direction's next tick, if the watch
                // still has one.
                let waker = thread_waker(Rc::downgrade(self), move |watch: &Rc<Watch>| {
                    watch.schedule(dir);
                });
                *side = Some(Side {
                    callback,
                    scheduled: Rc::default(),
                    waker,
                });
                None
            }
        };
        drop(replaced); // outside the borrow: its destructor is user code
        self.schedule(dir);
    }

    /// Removes `dir`'s callback; the last one removed deregisters and closes the duplicate
    /// and leaves the table. False if `dir` had none.
    fn remove(&self, dir: Direction) -> bool {
        let Some(side) = self.side(dir).borrow_mut().take() else {
            return false;
        };
        if self.reader.borrow().is_none() && self.writer.borrow().is_none() {
            let io = self.io.borrow_mut().take();
            drop(io);
            let watches = self
                .core
                .upgrade()
                .and_then(|core| core.extensions().get::<Watches>());
            if let Some(watches) = watches {
                let removed = {
                    let mut table = watches.0.borrow_mut();
                    let mine = table
                        .get(&self.fd)
                        .is_some_and(|entry| std::ptr::eq(&**entry, self));
                    mine.then(|| table.remove(&self.fd)).flatten()
                };
                drop(removed);
            }
        }
        drop(side); // after the borrows: the callback's destructor is user code
        true
    }

    /// Queues `dir`'s next tick, unless one is queued or `dir` has no callback.
    fn schedule(self: &Rc<Self>, dir: Direction) {
        let ticket = match &*self.side(dir).borrow() {
            Some(side) if !side.scheduled.replace(true) => side.scheduled.clone(),
            _ => return,
        };
        let Some(core) = self.core.upgrade().filter(|core| !core.is_closed()) else {
            return;
        };
        let watch = self.clone();
        core.call_soon(Box::new(move || watch.tick(dir, &ticket)));
    }

    /// One tick of `dir`, queued with `ticket` (its side's flag): calls the callback if the
    /// descriptor is ready now (the next tick queued first), else clears the readiness and
    /// waits for the next edge.
    fn tick(self: &Rc<Self>, dir: Direction, ticket: &Rc<Cell<bool>>) {
        let (callback, waker) = match &*self.side(dir).borrow() {
            // Not removed (nor removed and added again) since it was queued: asyncio
            // cancels the handle of a removed callback.
            Some(side) if Rc::ptr_eq(&side.scheduled, ticket) => {
                side.scheduled.set(false);
                (side.callback.clone(), side.waker.clone())
            }
            _ => return,
        };
        let step = {
            let io = self.io.borrow();
            let Some(io) = io.as_ref() else { return };
            if ready_now(io.get_ref().as_fd(), dir) {
                Step::Call
            } else {
                io.clear_ready(dir);
                match io.register_waker(dir, &waker) {
                    // Still ready after the clearing: a closed state the descriptor no
                    // longer shows (a FIFO with a new writer). Look again next iteration.
                    true => Step::Again,
                    false => Step::Wait,
                }
            }
        };
        match step {
            Step::Call => {
                self.schedule(dir);
                (callback.borrow_mut())();
            }
            Step::Again => self.schedule(dir),
            Step::Wait => {} // the edge waker queues the next tick
        }
    }
}

/// What a tick found.
enum Step {
    /// Ready now: call the callback (and tick again next iteration).
    Call,
    /// Not ready, but the registration stays ready (a closed state): tick again.
    Again,
    /// Not ready: the edge waker is left with the registration.
    Wait,
}

/// `Loop::add_reader` / `add_writer` on `core`'s loop.
#[track_caller]
pub(super) fn add(
    core: &Rc<Core>,
    fd: RawFd,
    dir: Direction,
    callback: impl FnMut() + 'static,
    what: &str,
) -> io::Result<()> {
    if core.is_closed() {
        panic!("aioloop: {what} on a closed event loop (asyncio raises 'Event loop is closed')");
    }
    let watch = Watch::of(core, fd, what)?;
    watch.set(dir, Rc::new(RefCell::new(callback)));
    Ok(())
}

/// `Loop::remove_reader` / `remove_writer` on `core`'s loop.
pub(super) fn remove(core: &Core, fd: RawFd, dir: Direction) -> bool {
    Watch::find(core, fd).is_some_and(|watch| watch.remove(dir))
}
