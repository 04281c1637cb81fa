//! Tasks polled in place: the future given to `run_until_complete` (the main coroutine) and the
//! coroutines a `gather` runs. They are not moved into a task cell (so they need not be
//! `'static`), but each has a task *identity*: a slot in the task table with no cell, flagged
//! `in_place`, so `current_task()` inside it is that task and `all_tasks()` lists it, with an id
//! and a name, as asyncio's `ensure_future` makes every coroutine a task.
//!
//! **What is already a future is awaited as it is** (asyncio's `ensure_future` returns a
//! Task, a Future or a gather unchanged). The first poll of an in-place child is a *probe*: the
//! scheduler records the child's address and size, and aioloop's own scheduled futures
//! ([`Task`](crate::Task), [`Future`](crate::Future), the gathers, [`Shield`](crate::Shield))
//! call [`Scheduler::claim`] first thing in `poll`. If the probe names them (same address, same
//! size: the child *is* that future, not a coroutine that merely awaits one, whose state machine
//! is larger), they claim it: the identity is removed at once and the child is polled as a plain
//! future from then on. A coroutine awaiting a gather on its first line is still a task.
//!
//! **Cancelling an in-place task** (through a [`TaskRef`](crate::TaskRef)) marks its slot, bumps
//! the scheduler's in-place cancel count and wakes the waker given at creation (the gather's or
//! the main future's), so the owner polls and finds the request: a gather scans its children
//! only when the count moved ([`InPlaceSet::take_cancelled`]), so the hot path pays nothing.
//! Unless the task observes cancellation (see [`until_cancelled`](crate::until_cancelled)), the
//! owner drops its future as a cancellation.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::cell::vacant_cell;
use super::meta::TaskMeta;
use super::report::{name_panic, unname_panic, Payload};
use super::scheduler::Scheduler;

/// The first poll of an in-place task, for [`Scheduler::claim`].
#[derive(Clone, Copy)]
pub(crate) struct Probe {
    addr: usize,
    size: usize,
    /// The address of the probed type's `poll`: a coroutine that awaits a scheduled future
    /// first thing can share its address and even its size (its state tag in a niche of the
    /// future's), never its `poll`.
    poll: usize,
    key: u32,
    gen: u16,
    /// The task that was current before the probed one was entered.
    prev: Option<(u32, u16)>,
    claimed: bool,
}

/// One in-place task's identity, as its owner keeps it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Identity {
    /// Not polled yet: no slot.
    #[default]
    Fresh,
    /// Not polled yet; the slot at `key`/`gen` is its identity (a gather makes every child's
    /// identity before it polls the first, as asyncio's gather makes every task first).
    Unprobed { key: u32, gen: u16 },
    /// The slot at `key`/`gen` is its identity.
    Live { key: u32, gen: u16 },
    /// It is already a scheduled future (it claimed the probe), or it finished: no slot.
    Plain,
}

/// Restores the current task when a poll ends, also on unwind.
struct Restore<'a> {
    sched: &'a Scheduler,
    prev: Option<(u32, u16)>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.sched.current.set(self.prev);
    }
}

impl Scheduler {
    /// Polls `future` in place as the task `identity` (creating the identity on the first poll,
    /// named `name` if given, its cancellation waking `waker`): `current_task()` inside is that
    /// task. A future that claims the first poll's probe is polled as a plain future from then
    /// on. When the poll returns `Ready`, the identity is removed.
    pub(crate) fn poll_in_place<F: Future>(
        &self,
        identity: &mut Identity,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
        waker: &Waker,
    ) -> Poll<F::Output> {
        let (key, gen) = match *identity {
            Identity::Plain => return future.poll(cx),
            Identity::Live { key, gen } => (key, gen),
            Identity::Fresh | Identity::Unprobed { .. } => {
                let (key, gen) = match *identity {
                    Identity::Unprobed { key, gen } => (key, gen),
                    _ => self.insert_in_place(None, waker),
                };
                *identity = Identity::Live { key, gen };
                let prev = self.current.replace(Some((key, gen)));
                let restore = Restore { sched: self, prev };
                self.probe.set(Some(Probe {
                    addr: &*future as *const F as *const () as usize,
                    size: std::mem::size_of::<F>(),
                    poll: poll_address::<F>(),
                    key,
                    gen,
                    prev,
                    claimed: false,
                }));
                let polled = self.poll_named(key, gen, future, cx);
                let probe = self.probe.take();
                drop(restore);
                let polled = polled.unwrap_or_else(|payload| std::panic::resume_unwind(payload));
                if probe.is_some_and(|p| p.claimed) {
                    *identity = Identity::Plain;
                } else if polled.is_ready() {
                    self.end_in_place(identity);
                }
                return polled;
            }
        };
        let prev = self.current.replace(Some((key, gen)));
        let restore = Restore { sched: self, prev };
        let polled = self.poll_named(key, gen, future, cx);
        drop(restore);
        let polled = polled.unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        if polled.is_ready() {
            self.end_in_place(identity);
        }
        polled
    }

    /// Polls the in-place task at `key`/`gen`; a panic comes back as its payload, naming that
    /// task (report.rs, `TaskPanic`), for the caller to resume once it has restored the
    /// current task.
    #[inline]
    fn poll_named<F: Future>(
        &self,
        key: u32,
        gen: u16,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Result<Poll<F::Output>, Payload> {
        catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
            .map_err(|payload| name_panic(payload, || self.label(key, gen)))
    }

    /// Called first thing by the `poll` of aioloop's scheduled futures (`this`): if the running
    /// in-place poll probes exactly this future, it is not a coroutine but a future already
    /// scheduled, so its task identity goes (see the module docs). Their `poll` must be
    /// `#[inline(never)]`, so that it has one address.
    #[inline]
    pub(crate) fn claim<F: Future>(&self, this: &F) {
        let Some(mut probe) = self.probe.get() else {
            return;
        };
        let addr = this as *const F as *const () as usize;
        if probe.claimed
            || probe.addr != addr
            || probe.size != std::mem::size_of::<F>()
            || probe.poll != poll_address::<F>()
        {
            return;
        }
        probe.claimed = true;
        self.probe.set(Some(probe));
        self.current.set(probe.prev);
        self.remove_in_place(probe.key, probe.gen);
    }

    /// Inserts an identity slot (no cell, never scheduled) whose cancellation wakes `waker`.
    pub(crate) fn insert_in_place(&self, name: Option<Rc<str>>, waker: &Waker) -> (u32, u16) {
        let meta = name.map(|name| TaskMeta {
            name: Some(name),
            ..TaskMeta::default()
        });
        let mut tasks = self.tasks.borrow_mut();
        let (key, gen, _) = tasks.insert(vacant_cell(), meta);
        let slot = tasks.get_mut(key, gen).expect("just inserted");
        slot.state.set_in_place(true);
        let old = slot.join_waker.register(waker);
        drop(tasks);
        drop(old);
        (key, gen)
    }

    /// The in-place task `identity` finished or its future was dropped: its slot goes.
    pub(crate) fn end_in_place(&self, identity: &mut Identity) {
        match std::mem::replace(identity, Identity::Plain) {
            Identity::Live { key, gen } | Identity::Unprobed { key, gen } => self.remove_in_place(key, gen),
            Identity::Fresh | Identity::Plain => {}
        }
    }

    /// Removes an identity slot; its waker is dropped after the borrow.
    fn remove_in_place(&self, key: u32, gen: u16) {
        let slot = self.tasks.borrow_mut().remove(key, gen);
        drop(slot);
    }
}

/// Claims the probe for `this` on the running loop, if any (for aioloop's futures that hold no
/// scheduler of their own).
#[inline]
pub(crate) fn claim_current<F: Future>(this: &F) {
    super::current::with_current(|sched| sched.claim(this));
}

/// The address of `F`'s `poll`.
fn poll_address<F: Future>() -> usize {
    <F as Future>::poll as fn(Pin<&mut F>, &mut Context<'_>) -> Poll<F::Output> as usize
}

/// The identities of a combinator's children (a gather's), bound to the running loop at the
/// first poll. Outside a loop (a foreign executor) the children are polled as plain futures.
/// Dropping the set removes the identities of children still running.
#[derive(Default)]
pub(crate) struct InPlaceSet {
    sched: Option<Rc<Scheduler>>,
    ids: Box<[Identity]>,
    /// The scheduler's in-place cancel count when the children were last scanned.
    cancels_seen: u64,
}

impl InPlaceSet {
    /// Binds the set to the running loop for `len` children, unless it is bound already, and
    /// makes every child's identity (a cancellation of one wakes `owner`).
    pub(crate) fn bind(&mut self, len: usize, owner: &Waker) {
        if self.ids.len() == len && (len == 0 || self.sched.is_some()) {
            return;
        }
        self.sched = super::current::current();
        self.ids = match &self.sched {
            Some(sched) => {
                self.cancels_seen = sched.in_place_cancels();
                (0..len)
                    .map(|_| {
                        let (key, gen) = sched.insert_in_place(None, owner);
                        Identity::Unprobed { key, gen }
                    })
                    .collect()
            }
            None => vec![Identity::Plain; len].into_boxed_slice(),
        };
    }

    /// Polls child `index` as its own task (see [`Scheduler::poll_in_place`]).
    #[inline]
    pub(crate) fn poll<F: Future>(
        &mut self,
        index: usize,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        match (&self.sched, self.ids.get_mut(index)) {
            (Some(sched), Some(identity)) => sched.poll_in_place(identity, future, cx, Waker::noop()),
            _ => future.poll(cx),
        }
    }

    /// Child `index` is gone (its future was dropped): its identity goes.
    pub(crate) fn end(&mut self, index: usize) {
        if let (Some(sched), Some(identity)) = (&self.sched, self.ids.get_mut(index)) {
            sched.end_in_place(identity);
        }
    }

    /// The children asked to cancel that do not observe it, if any in-place task was cancelled
    /// since the last call (a scan of the children, only then).
    pub(crate) fn take_cancelled(&mut self) -> Vec<usize> {
        let Some(sched) = &self.sched else {
            return Vec::new();
        };
        let cancels = sched.in_place_cancels();
        if cancels == self.cancels_seen {
            return Vec::new();
        }
        self.cancels_seen = cancels;
        let tasks = sched.tasks.borrow();
        (0..self.ids.len())
            .filter(|&i| match self.ids[i] {
                Identity::Live { key, gen } | Identity::Unprobed { key, gen } => tasks
                    .get(key, gen)
                    .is_some_and(|slot| slot.state.cancel_pending()),
                _ => false,
            })
            .collect()
    }

    /// Cancels the task that runs the owner (the task polling the combinator now), as a
    /// cancelled child of asyncio's `gather` raises `CancelledError` in the awaiting task.
    ///
    /// # Panics
    /// If no task runs it (the gather is the future given to `run_until_complete`): a
    /// cancelled child leaves it no output to return.
    pub(crate) fn cancel_owner(&self) {
        let owner = self.sched.as_ref().and_then(|sched| sched.current_task_ref());
        match owner {
            Some(owner) => {
                owner.cancel();
            }
            None => panic!(
                "aioloop: a gathered coroutine was cancelled, and the gather (run by \
                 run_until_complete, not by a task) has no task to cancel with it"
            ),
        }
    }
}

impl Drop for InPlaceSet {
    fn drop(&mut self) {
        for index in 0..self.ids.len() {
            self.end(index);
        }
    }
}

/// The future given to `run_until_complete`, as an in-place task (asyncio's `ensure_future`):
/// a coroutine gets a task identity; a future already scheduled (a `Task`, a gather) claims
/// the probe and is awaited as it is.
pub(crate) struct MainTask {
    sched: Rc<Scheduler>,
    identity: Identity,
}

impl MainTask {
    /// The main task of a run of `sched`'s loop; its identity is made at the first poll.
    pub(crate) fn new(sched: Rc<Scheduler>) -> Self {
        MainTask {
            sched,
            identity: Identity::Fresh,
        }
    }

    /// Polls the main future as its task, or returns `None` if the task was asked to cancel
    /// and does not observe it: the caller must then drop the future as a cancellation.
    pub(crate) fn poll<F: Future>(
        &mut self,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Option<Poll<F::Output>> {
        if let Identity::Live { key, gen } = self.identity {
            if self.sched.cancel_pending(key, gen) {
                self.sched.end_in_place(&mut self.identity);
                return None;
            }
        }
        let waker = cx.waker().clone();
        let polled = catch_unwind(AssertUnwindSafe(|| {
            self.sched.poll_in_place(&mut self.identity, future, cx, &waker)
        }));
        // The caller of `run_until_complete` gets the payload as it was panicked with (for
        // `#[should_panic]` and `catch_unwind` downcasts), not wrapped with the task's name.
        Some(polled.unwrap_or_else(|payload| std::panic::resume_unwind(unname_panic(payload).1)))
    }
}

impl Drop for MainTask {
    fn drop(&mut self) {
        self.sched.end_in_place(&mut self.identity);
    }
}
