//! The watches of `Loop::add_reader` / `add_writer`: per loop, per descriptor number, one
//! [`Watch`] (a registered duplicate of the descriptor, an [`AsyncFd`]) with up to two
//! callbacks, each called by a task of its own for as long as its direction stays ready.
//!
//! **Level from edges.** The reactor reports edges (I2 in runtime/io/slots.rs); asyncio calls a
//! reader once per loop iteration for as long as the descriptor stays readable. A direction's
//! task asks the descriptor itself (a zero-timeout `poll(2)`, [`ready_now`]): while it is
//! ready, the task queues the callback (`call_soon`, so it runs on the loop as a callback, a
//! panic going to the exception handler) and yields one iteration; once it is not, the task
//! clears the direction's readiness and waits for the next edge. The check and the clearing
//! happen in one step of the task, between two polls of the reactor, so no edge falls
//! between them.
//!
//! **Ownership.** The tasks own their watch (an `Rc`); the table and the `Loop` methods hold
//! it weakly. Removing a direction cancels its task and drops its callback; removing the last
//! deregisters and closes the duplicate at once (the caller may close its descriptor right
//! after). A loop that closes drops its tasks, and with them every watch.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::task::Poll;

use super::async_fd::AsyncFd;
use super::level::{duplicate, ready_now, same_file};
use crate::event_loop::Core;
use crate::io::Direction;
use crate::task::Task;

thread_local! {
    /// Every loop's watches on this thread, by the loop's address and the caller's number.
    /// An entry whose watch is gone (its tasks dropped) is dead and pruned at the next add.
    static WATCHES: RefCell<HashMap<(usize, RawFd), Weak<Watch>>> = RefCell::default();
}

/// A callback, shared only with the calls queued for it (weakly): replacing or removing it
/// drops it, and a queued call then does nothing (asyncio cancels the handle).
type Callback = Rc<RefCell<dyn FnMut()>>;

/// One direction's callback and the task that calls it.
struct Side {
    callback: Callback,
    task: Task<()>,
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

fn key(core: &Rc<Core>, fd: RawFd) -> (usize, RawFd) {
    (Rc::as_ptr(core) as usize, fd)
}

impl Watch {
    /// The live watch of `fd` on `core`'s loop, if any.
    fn find(core: &Rc<Core>, fd: RawFd) -> Option<Rc<Watch>> {
        WATCHES
            .with(|watches| watches.borrow().get(&key(core, fd)).and_then(Weak::upgrade))
            .filter(|watch| std::ptr::eq(watch.core.as_ptr(), Rc::as_ptr(core)))
    }

    /// The watch of `fd` on `core`'s loop, registered now if there is none (or if the one
    /// there watches another file, the number having been closed and reused).
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
        let io = AsyncFd::claiming(core.io().clone(), dup, fd, what)?;
        let watch = Rc::new(Watch {
            core: Rc::downgrade(core),
            fd,
            io: RefCell::new(Some(io)),
            reader: RefCell::default(),
            writer: RefCell::default(),
        });
        WATCHES.with(|watches| {
            let mut watches = watches.borrow_mut();
            watches.retain(|_, watch| watch.strong_count() > 0);
            watches.insert(key(core, fd), Rc::downgrade(&watch));
        });
        Ok(watch)
    }

    fn side(&self, dir: Direction) -> &RefCell<Option<Side>> {
        match dir {
            Direction::Read => &self.reader,
            Direction::Write => &self.writer,
        }
    }

    /// Makes `callback` the watch's callback for `dir`, replacing any; starts the
    /// direction's task if it has none.
    fn set(self: &Rc<Self>, core: &Rc<Core>, dir: Direction, callback: Callback) {
        let replaced = match &mut *self.side(dir).borrow_mut() {
            Some(side) => Some(std::mem::replace(&mut side.callback, callback)),
            side @ None => {
                let what = match dir {
                    Direction::Read => "add_reader",
                    Direction::Write => "add_writer",
                };
                let name = format!("aioloop::{what} fd {}", self.fd);
                let task = core.spawn(run(self.clone(), dir), Some(name.into()));
                *side = Some(Side { callback, task });
                None
            }
        };
        drop(replaced); // outside the borrow: its destructor is user code
    }

    /// Removes `dir`'s callback (cancelling its task); the last one removed deregisters and
    /// closes the duplicate. False if `dir` had none.
    fn remove(&self, dir: Direction) -> bool {
        let Some(side) = self.side(dir).borrow_mut().take() else {
            return false;
        };
        side.task.cancel();
        if self.reader.borrow().is_none() && self.writer.borrow().is_none() {
            let io = self.io.borrow_mut().take();
            drop(io);
            if let Some(core) = self.core.upgrade() {
                let removed = WATCHES.with(|watches| watches.borrow_mut().remove(&key(&core, self.fd)));
                drop(removed);
            }
        }
        drop(side); // after the borrows: the callback's destructor is user code
        true
    }

    /// Whether `dir` is ready now (`None` once the watch has no duplicate any more).
    fn ready_now(&self, dir: Direction) -> Option<bool> {
        self.io
            .borrow()
            .as_ref()
            .map(|io| ready_now(io.get_ref().as_fd(), dir))
    }

    /// Queues a call of `dir`'s callback on the loop; false if it has none any more.
    fn queue_call(&self, dir: Direction) -> bool {
        let Some(callback) = self
            .side(dir)
            .borrow()
            .as_ref()
            .map(|side| Rc::downgrade(&side.callback))
        else {
            return false;
        };
        let Some(core) = self.core.upgrade() else {
            return false;
        };
        core.call_soon(Box::new(move || {
            // Replaced or removed since it was queued: asyncio cancels the handle.
            if let Some(callback) = callback.upgrade() {
                (callback.borrow_mut())();
            }
        }));
        true
    }

    /// Waits for the next edge of `dir`: clears its readiness, then waits until the reactor
    /// reports it ready again. Returns whether it waited (false: the direction stayed ready,
    /// a closed state that is never cleared) and `None` once the watch has no duplicate.
    async fn next_edge(&self, dir: Direction) -> Option<bool> {
        let mut waited = false;
        let mut cleared = false;
        poll_fn(|cx| {
            let io = self.io.borrow();
            let Some(io) = io.as_ref() else {
                return Poll::Ready(None);
            };
            if !cleared {
                io.clear_ready(dir);
                cleared = true;
            }
            match io.poll_ready(cx, dir) {
                Poll::Ready(()) => Poll::Ready(Some(waited)),
                Poll::Pending => {
                    waited = true;
                    Poll::Pending
                }
            }
        })
        .await
    }
}

/// A direction's task: calls the callback once per iteration while the descriptor is ready
/// for `dir`, and waits for an edge while it is not. Ends when the direction is removed
/// (cancelled then, in fact, before it notices).
async fn run(watch: Rc<Watch>, dir: Direction) {
    loop {
        match watch.ready_now(dir) {
            None => return,
            Some(true) => {
                if !watch.queue_call(dir) {
                    return;
                }
                crate::yield_now().await;
            }
            Some(false) => match watch.next_edge(dir).await {
                None => return,
                Some(true) => {}
                // A closed state the descriptor no longer shows (a FIFO with a new writer):
                // look again next iteration, never spin in one.
                Some(false) => crate::yield_now().await,
            },
        }
    }
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
    watch.set(core, dir, Rc::new(RefCell::new(callback)));
    Ok(())
}

/// `Loop::remove_reader` / `remove_writer` on `core`'s loop.
pub(super) fn remove(core: &Rc<Core>, fd: RawFd, dir: Direction) -> bool {
    Watch::find(core, fd).is_some_and(|watch| watch.remove(dir))
}
