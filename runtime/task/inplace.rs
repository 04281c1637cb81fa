//! Tasks polled in place: the future given to `run_until_complete` (the main coroutine) and the
//! coroutines a `gather` runs. They are not moved into a task cell (so they need not be
//! `'static`), but each has a task *identity*: a slot in the task table with no cell, flagged
//! `in_place`, so `current_task()` inside it is that task and `all_tasks()` lists it, with an id
//! and a name, as asyncio's `ensure_future` makes every coroutine a task.
//!
//! **A gather's children get their slot lazily.** A gather's child is a task from the start,
//! but its slot is made only when someone looks: `current_task()` inside it
//! ([`Scheduler::current_key`]), `all_tasks()` or a task dump ([`Scheduler::materialize_all`],
//! which walks the registry of running gathers, [`LazySet`]). Until then the scheduler's
//! current task names it by (set, index) ([`Current`]), so a gather of coroutines nobody
//! inspects polls each child with one swap of the current task and touches the task table not
//! at all. Nothing can tell the difference: a child can only be cancelled through a
//! [`TaskRef`](crate::TaskRef), which only a look hands out. (Ids are given when the slot is
//! made, so they follow the order of the looks, not of the children.) The main task's slot is
//! made at its first poll.
//!
//! **What is already a future is awaited as it is** (asyncio's `ensure_future` returns a
//! Task, a Future or a gather unchanged). The first poll of an in-place child is a *probe*: the
//! scheduler records the child's address and size, and aioloop's own scheduled futures
//! ([`Task`](crate::Task), [`Future`](crate::Future), the gathers, [`Shield`](crate::Shield))
//! call [`Scheduler::claim`] first thing in `poll`. If the probe names them (same address, same
//! size: the child *is* that future, not a coroutine that merely awaits one, whose state machine
//! is larger), they claim it: the identity is removed at once and the child is polled as a plain
//! future from then on. A coroutine awaiting a gather on its first line is still a task.
//! Whether a future claims is a property of its type (only those futures call `claim`, on
//! themselves), so a gather probes only its first child of each type ([`InPlaceSet`]).
//!
//! **Cancelling an in-place task** (through a [`TaskRef`](crate::TaskRef)) marks its slot, bumps
//! the scheduler's in-place cancel count and wakes the waker given at creation (the gather's or
//! the main future's), so the owner polls and finds the request: a gather scans its children
//! only when the count moved ([`InPlaceSet::take_cancelled`]), and the main task looks at its
//! slot only once the count is not zero, so the hot path pays nothing.
//! Unless the task observes cancellation (see [`until_cancelled`](crate::until_cancelled)), the
//! owner drops its future as a cancellation.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::cell::vacant_cell;
use super::meta::TaskMeta;
use super::report::{name_panic, unname_panic, Payload};
use super::scheduler::Scheduler;

thread_local! {
    /// The address of the future the running probe names (0: no probe runs), so that a
    /// claimable future's `poll` outside a probe costs one thread-local load.
    static PROBING: Cell<usize> = const { Cell::new(0) };
}

/// The task whose code runs now, as the scheduler keeps it: one word, read and written whole
/// on the hot path. Bits 62..64 the kind (none, a slot, a lazy child); for a slot, bits 32..48
/// the generation and 0..32 the key; for a lazy child, bits 32..62 the set and 0..32 the index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Current(u64);

/// What a [`Current`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Running {
    /// No task (a callback, or between steps).
    None,
    /// The task in slot `key`/`gen`.
    Slot(u32, u16),
    /// Child `index` of the lazy set registered under `set`, whose identity slot is made only
    /// when someone asks for it (see the module docs).
    Lazy { set: u32, index: u32 },
}

/// The largest number of gathers alive at once on one loop (the set's bits in [`Current`]).
const MAX_SETS: usize = 1 << 30;

impl Current {
    /// No task runs.
    pub(crate) const NONE: Current = Current(0);

    /// The task in slot `key`/`gen` runs.
    #[inline]
    pub(crate) fn slot(key: u32, gen: u16) -> Self {
        Current((1 << 62) | ((gen as u64) << 32) | key as u64)
    }

    /// Child `index` of lazy set `set` runs.
    #[inline]
    fn lazy(set: u32, index: u32) -> Self {
        Current((2 << 62) | ((set as u64) << 32) | index as u64)
    }

    /// Child `index` of the lazy set whose child 0 this names (one `or` on the hot path).
    #[inline]
    fn lazy_child(self, index: u32) -> Self {
        Current(self.0 | index as u64)
    }

    /// What it names.
    #[inline]
    pub(crate) fn get(self) -> Running {
        match self.0 >> 62 {
            0 => Running::None,
            1 => Running::Slot(self.0 as u32, (self.0 >> 32) as u16),
            _ => Running::Lazy {
                set: ((self.0 >> 32) as u32) & ((MAX_SETS - 1) as u32),
                index: self.0 as u32,
            },
        }
    }
}

/// The first poll of an in-place task, for [`Scheduler::claim`].
#[derive(Clone, Copy)]
pub(crate) struct Probe {
    addr: usize,
    size: usize,
    /// The address of the probed type's `poll`: a coroutine that awaits a scheduled future
    /// first thing can share its address and even its size (its state tag in a niche of the
    /// future's), never its `poll`.
    poll: usize,
    /// The task that was current before the probed one was entered.
    prev: Current,
    claimed: bool,
}

/// One in-place task's identity, as its owner keeps it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Identity {
    /// Not polled yet, no slot: a gather's child until someone looks at it.
    #[default]
    Pending,
    /// Not polled yet; the slot at `key`/`gen` is its identity.
    Unprobed { key: u32, gen: u16 },
    /// Polled (it is not a scheduled future), no slot yet.
    Lazy,
    /// The slot at `key`/`gen` is its identity.
    Live { key: u32, gen: u16 },
    /// It is already a scheduled future (it claimed the probe), or it finished: no slot.
    Plain,
}

impl Identity {
    /// Its slot, if it has one.
    fn slot(self) -> Option<(u32, u16)> {
        match self {
            Identity::Unprobed { key, gen } | Identity::Live { key, gen } => Some((key, gen)),
            _ => None,
        }
    }
}

/// The identities of one combinator's children, shared with the scheduler's registry so that
/// `current_task()` and `all_tasks()` can make a child's slot when they need it.
pub(crate) struct LazySet {
    ids: Box<[Cell<Identity>]>,
    /// How many identity slots were made for these children (by a look), so that a set
    /// nobody looked at is released without a walk over its children.
    slots_made: Cell<usize>,
    /// Woken when one of the children is asked to cancel.
    owner: Waker,
}

/// Restores the current task when a poll ends, also on unwind; after a probe, also the probe
/// that was running around it (a probed gather probes its own children), so the outer probe's
/// outcome survives the inner one.
struct Restore<'a> {
    sched: &'a Scheduler,
    prev: Current,
    /// The probe and the probed address before this poll's probe, if it probes.
    outer: Option<(Option<Probe>, usize)>,
}

impl Drop for Restore<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sched.current.set(self.prev);
        if let Some((probe, addr)) = self.outer {
            self.sched.probe.set(probe);
            PROBING.set(addr);
        }
    }
}

/// The running probe and the address it names, set aside while a nested step of another task
/// runs inside the probed poll (an eager task's first step, eager.rs), so that nothing in that
/// step can claim it; [`Scheduler::resume_probe`] puts them back.
#[derive(Clone, Copy)]
pub(super) struct SuspendedProbe(Option<Probe>, usize);

impl Scheduler {
    /// Polls `future` in place as the task whose identity `cell` holds (`lazy` names it while
    /// it has no slot): `current_task()` inside is that task. The first poll probes; a future
    /// that claims the probe is polled as a plain future from then on. When the poll returns
    /// `Ready`, the identity is removed.
    #[inline]
    pub(crate) fn poll_in_place<F: Future>(
        &self,
        cell: &Cell<Identity>,
        lazy: Current,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let (target, first) = match cell.get() {
            Identity::Plain => return future.poll(cx),
            Identity::Live { key, gen } => (Current::slot(key, gen), false),
            Identity::Lazy => (lazy, false),
            Identity::Unprobed { key, gen } => {
                cell.set(Identity::Live { key, gen });
                (Current::slot(key, gen), true)
            }
            Identity::Pending => {
                cell.set(Identity::Lazy);
                (lazy, true)
            }
        };
        if !first {
            return self.poll_as(cell, target, future, cx);
        }
        let prev = self.current.replace(target);
        let addr = &*future as *const F as *const () as usize;
        let outer = Some((self.probe.get(), PROBING.get()));
        self.probe.set(Some(Probe {
            addr,
            size: std::mem::size_of::<F>(),
            poll: poll_address::<F>(),
            prev,
            claimed: false,
        }));
        PROBING.set(addr);
        let restore = Restore {
            sched: self,
            prev,
            outer,
        };
        let polled = future.poll(cx);
        let claimed = self.probe.get().is_some_and(|p| p.claimed);
        drop(restore);
        if claimed || polled.is_ready() {
            self.end_in_place(cell);
        }
        polled
    }

    /// Sets the running probe aside (none runs until [`Scheduler::resume_probe`]).
    pub(super) fn suspend_probe(&self) -> SuspendedProbe {
        SuspendedProbe(self.probe.take(), PROBING.replace(0))
    }

    /// Puts back a probe [`Scheduler::suspend_probe`] set aside.
    pub(super) fn resume_probe(&self, saved: SuspendedProbe) {
        self.probe.set(saved.0);
        PROBING.set(saved.1);
    }

    /// A poll after the first (no probe) of the in-place task `current` names, whose identity
    /// `cell` holds: [`Scheduler::poll_in_round`] under a guard that also puts the current task
    /// back if the poll unwinds (outside a gather's round nobody else would).
    #[inline]
    fn poll_as<F: Future>(
        &self,
        cell: &Cell<Identity>,
        current: Current,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let on_unwind = Restore {
            sched: self,
            prev: self.current.get(),
            outer: None,
        };
        let polled = self.poll_in_round(cell, current, future, cx);
        // Returned normally: `poll_in_round` restored the current task already.
        std::mem::forget(on_unwind);
        polled
    }

    /// Polls the in-place task `current` names, whose identity `cell` holds, with the current
    /// task swapped in and out around the poll, and ends its identity when it is ready. No drop
    /// guard: inside [`InPlaceSet::round`], if the poll unwinds, the current task still names
    /// the child, which is how the round names the panic, and the round puts the owner back as
    /// the current task. (A guard per poll costs a landing pad around every child's poll.)
    #[inline]
    fn poll_in_round<F: Future>(
        &self,
        cell: &Cell<Identity>,
        current: Current,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let prev = self.current.replace(current);
        let polled = future.poll(cx);
        self.current.set(prev);
        if polled.is_ready() {
            self.end_in_place(cell);
        }
        polled
    }

    /// Called first thing by the `poll` of aioloop's scheduled futures (`this`): if the running
    /// in-place poll probes exactly this future, it is not a coroutine but a future already
    /// scheduled, so its task identity goes (see the module docs). Their `poll` must be
    /// `#[inline(never)]`, so that it has one address. Outside a probe: one thread-local load.
    #[inline]
    pub(crate) fn claim<F: Future>(&self, this: &F) {
        let addr = this as *const F as *const () as usize;
        if PROBING.get() == addr {
            self.claim_probe(addr, std::mem::size_of::<F>(), poll_address::<F>());
        }
    }

    /// [`Scheduler::claim`] once the address matched.
    #[cold]
    fn claim_probe(&self, addr: usize, size: usize, poll: usize) {
        let Some(mut probe) = self.probe.get() else {
            return;
        };
        if probe.claimed || probe.addr != addr || probe.size != size || probe.poll != poll {
            return;
        }
        probe.claimed = true;
        self.probe.set(Some(probe));
        PROBING.set(0);
        // Claimed first thing in its poll: the probed task is still the current one.
        let target = self.current.replace(probe.prev);
        match target.get() {
            Running::Slot(key, gen) => self.remove_in_place(key, gen),
            Running::Lazy { set, index } => {
                let set = self.lazy_sets.borrow().get(set as usize).cloned();
                if let Some(cell) = set.as_ref().and_then(|set| set.ids.get(index as usize)) {
                    self.end_in_place(cell);
                }
            }
            Running::None => {}
        }
    }

    /// Panics if the task at `key`/`gen` is the one running: a task awaiting its own handle
    /// would wait for itself forever (asyncio raises `RuntimeError` into it).
    #[inline]
    pub(crate) fn assert_not_current(&self, key: u32, gen: u16) {
        if let Running::Slot(k, g) = self.current.get().get() {
            if (k, g) == (key, gen) {
                awaits_itself();
            }
        }
    }

    /// The running task's slot, made first if the running task is a lazy in-place child.
    pub(crate) fn current_key(&self) -> Option<(u32, u16)> {
        let current = self.current.get();
        let slot = self.key_of(current)?;
        if let Running::Lazy { .. } = current.get() {
            self.current.set(Current::slot(slot.0, slot.1));
        }
        Some(slot)
    }

    /// The slot of the task `current` names, made first if it is a lazy in-place child.
    fn key_of(&self, current: Current) -> Option<(u32, u16)> {
        match current.get() {
            Running::None => None,
            Running::Slot(key, gen) => Some((key, gen)),
            Running::Lazy { set, index } => {
                let set = self.lazy_sets.borrow().get(set as usize).cloned()?;
                self.materialize(&set, index as usize)
            }
        }
    }

    /// Makes the slot of every in-place child that has none yet (for `all_tasks()` and the
    /// task dump, which list them).
    pub(crate) fn materialize_all(&self) {
        if self.lazy_sets.borrow().is_empty() {
            return;
        }
        let sets: Vec<Rc<LazySet>> = self
            .lazy_sets
            .borrow()
            .iter()
            .map(|(_, set)| set.clone())
            .collect();
        for set in &sets {
            for index in 0..set.ids.len() {
                self.materialize(set, index);
            }
        }
        let _ = self.current_key();
    }

    /// How many in-place children are tasks without a slot yet.
    pub(crate) fn lazy_len(&self) -> usize {
        let sets = self.lazy_sets.borrow();
        sets.iter()
            .map(|(_, set)| {
                set.ids
                    .iter()
                    .filter(|id| matches!(id.get(), Identity::Pending | Identity::Lazy))
                    .count()
            })
            .sum()
    }

    /// The slot of child `index` of `set`, made if it has none (and is still a task).
    fn materialize(&self, set: &LazySet, index: usize) -> Option<(u32, u16)> {
        let cell = set.ids.get(index)?;
        let made = match cell.get() {
            Identity::Pending => Identity::Unprobed { key: 0, gen: 0 },
            Identity::Lazy => Identity::Live { key: 0, gen: 0 },
            other => return other.slot(),
        };
        let (key, gen) = self.insert_in_place(None, &set.owner);
        set.slots_made.set(set.slots_made.get() + 1);
        cell.set(match made {
            Identity::Unprobed { .. } => Identity::Unprobed { key, gen },
            _ => Identity::Live { key, gen },
        });
        Some((key, gen))
    }

    /// Inserts an identity slot (no cell, never scheduled) whose cancellation wakes `waker`.
    pub(crate) fn insert_in_place(&self, name: Option<Rc<str>>, waker: &Waker) -> (u32, u16) {
        let meta = name.map(|name| Box::new(TaskMeta::new(Some(name), None)));
        let mut tasks = self.tasks.borrow_mut();
        let (key, gen, _) = tasks.insert(vacant_cell(), meta);
        let slot = tasks.get_mut(key, gen).expect("just inserted");
        slot.state.set_in_place(true);
        let old = slot.join_waker.register(waker);
        drop(tasks);
        drop(old);
        (key, gen)
    }

    /// The in-place task whose identity `cell` holds finished, was claimed, or its future was
    /// dropped: its slot goes.
    #[inline]
    pub(crate) fn end_in_place(&self, cell: &Cell<Identity>) {
        if let Some((key, gen)) = cell.replace(Identity::Plain).slot() {
            self.remove_in_place(key, gen);
        }
    }

    /// Removes an identity slot; its waker is dropped after the borrow.
    fn remove_in_place(&self, key: u32, gen: u16) {
        let slot = self.tasks.borrow_mut().remove(key, gen);
        drop(slot);
    }
}

/// Claims the probe for `this` on the running loop, if any (for aioloop's futures that hold no
/// scheduler of their own). Outside a probe: one thread-local load.
#[inline]
pub(crate) fn claim_current<F: Future>(this: &F) {
    let addr = this as *const F as *const () as usize;
    if PROBING.get() == addr {
        super::current::with_current(|sched| {
            sched.claim_probe(addr, std::mem::size_of::<F>(), poll_address::<F>())
        });
    }
}

/// The address of `F`'s `poll`.
fn poll_address<F: Future>() -> usize {
    <F as Future>::poll as fn(Pin<&mut F>, &mut Context<'_>) -> Poll<F::Output> as usize
}

/// The identities of a combinator's children (a gather's), bound to the running loop at the
/// first poll. Outside a loop (a foreign executor) the children are polled as plain futures.
/// A child's slot is made only when someone asks for it (`current_task()` inside it,
/// `all_tasks()`, a task dump), so a gather whose children nobody looks at touches the task
/// table not at all. Dropping the set removes the identities of children still running.
pub(crate) struct InPlaceSet {
    sched: Option<Rc<Scheduler>>,
    set: Option<Rc<LazySet>>,
    /// The set's key in the scheduler's registry.
    key: u32,
    /// What names its child 0 as the current task ([`Current::lazy`]`(key, 0)`).
    first_child: Current,
    /// The scheduler's in-place cancel count when the children were last scanned.
    cancels_seen: u64,
    /// The type of the first child whose probe ended with it pending, and whether it claimed:
    /// whether a future claims is a property of its type (only aioloop's scheduled futures
    /// call `claim`, on themselves), so the children of that type after it need no probe
    /// (a gather of 100,000 coroutines probes one).
    probed: Option<Probed>,
    /// The child being polled now ([`NOT_POLLING`] between polls), so that a panic caught by
    /// [`InPlaceSet::round`] names it.
    polling: u32,
}

/// [`InPlaceSet::polling`] when no child is being polled.
const NOT_POLLING: u32 = u32::MAX;

/// A probe's outcome for one child type (its `poll`'s address and its size).
#[derive(Clone, Copy)]
struct Probed {
    poll: usize,
    size: usize,
    claimed: bool,
}

impl Probed {
    fn of<F: Future>(claimed: bool) -> Self {
        Probed {
            poll: poll_address::<F>(),
            size: std::mem::size_of::<F>(),
            claimed,
        }
    }

    fn is<F: Future>(self) -> bool {
        self.poll == poll_address::<F>() && self.size == std::mem::size_of::<F>()
    }
}

impl Default for InPlaceSet {
    fn default() -> Self {
        InPlaceSet {
            sched: None,
            set: None,
            key: 0,
            first_child: Current::NONE,
            cancels_seen: 0,
            probed: None,
            polling: NOT_POLLING,
        }
    }
}

impl InPlaceSet {
    /// Binds the set to the running loop for `len` children, unless it is bound already (a
    /// cancellation of one child wakes `owner`).
    #[inline]
    pub(crate) fn bind(&mut self, len: usize, owner: &Waker) {
        if len == 0 || self.set.as_ref().is_some_and(|set| set.ids.len() == len) {
            return;
        }
        self.bind_new(len, owner);
    }

    fn bind_new(&mut self, len: usize, owner: &Waker) {
        self.release();
        let Some(sched) = super::current::current() else {
            return;
        };
        self.cancels_seen = sched.in_place_cancels();
        let set = Rc::new(LazySet {
            ids: (0..len).map(|_| Cell::new(Identity::Pending)).collect(),
            slots_made: Cell::new(0),
            owner: owner.clone(),
        });
        let key = sched.lazy_sets.borrow_mut().insert(set.clone());
        assert!(
            key < MAX_SETS,
            "aioloop: too many gathers alive on one loop (limit 2^30)"
        );
        self.key = key as u32;
        self.first_child = Current::lazy(self.key, 0);
        self.set = Some(set);
        self.sched = Some(sched);
    }

    /// Polls child `index` as its own task (see [`Scheduler::poll_in_place`]), sharing the
    /// step's coop budget with its siblings (`coop::end_in_place_step`).
    #[inline]
    pub(crate) fn poll<F: Future>(
        &mut self,
        index: usize,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let budget = super::coop::begin_in_place_step();
        let polled = self.poll_child(index, future, cx);
        super::coop::end_in_place_step(budget);
        polled
    }

    /// [`InPlaceSet::poll`] without the budget's refund.
    #[inline]
    fn poll_child<F: Future>(
        &mut self,
        index: usize,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let (Some(sched), Some(cell)) = (&self.sched, self.set.as_ref().and_then(|set| set.ids.get(index)))
        else {
            return future.poll(cx);
        };
        let current = self.first_child.lazy_child(index as u32);
        let probed = self.probed.filter(|probed| probed.is::<F>());
        if let Some(Probed { claimed: false, .. }) = probed {
            // The usual case: a coroutine of a type already probed. Its identity stays as it
            // is (no slot, or the one someone made); `current_key` finds either. A panic is
            // named by the current task it leaves behind (see `round`).
            return sched.poll_in_round(cell, current, future, cx);
        }
        let unprobed = matches!(cell.get(), Identity::Pending | Identity::Unprobed { .. });
        if unprobed && probed.is_some() {
            // A scheduled future's type: it would claim the probe.
            sched.end_in_place(cell);
        }
        self.polling = index as u32;
        let polled = sched.poll_in_place(cell, current, future, cx);
        self.polling = NOT_POLLING;
        if unprobed && self.probed.is_none() && polled.is_pending() {
            // A pending child that claimed the probe has no identity left.
            self.probed = Some(Probed::of::<F>(matches!(cell.get(), Identity::Plain)));
        }
        polled
    }

    /// What polls children of type `F` without a per-poll look at the set: available once a
    /// child of that type was probed and did not claim (so every child of the type is a
    /// coroutine whose identity stays as it is, see [`InPlaceSet::poll`]). A combinator whose
    /// children share one type takes it after each probing poll until it has it.
    #[inline]
    pub(crate) fn uniform<F: Future>(&self) -> Option<Uniform> {
        match (self.probed, &self.sched, &self.set) {
            (Some(probed @ Probed { claimed: false, .. }), Some(sched), Some(set)) if probed.is::<F>() => {
                Some(Uniform {
                    sched: sched.clone(),
                    set: set.clone(),
                    first_child: self.first_child,
                })
            }
            _ => None,
        }
    }

    /// Runs `round`, one polling round of the children (each polled through
    /// [`InPlaceSet::poll`]): a child's panic leaves it carrying that child's task identity
    /// (report.rs, `TaskPanic`; a child without a slot gets one for it), so the awaiter and the
    /// exception handler name the child. One catch per round, not per child; a panic that
    /// already names a task (from a gather nested deeper) keeps its name, so the innermost
    /// child is named, and one caught by user code inside a child was named already: nothing
    /// is left behind to name a later panic wrongly.
    #[inline]
    pub(crate) fn round<R>(&mut self, round: impl FnOnce(&mut Self) -> R) -> R {
        if self.sched.is_none() {
            // Not on a loop: the children are plain futures, nobody to name.
            return round(self);
        }
        let owner = self
            .sched
            .as_ref()
            .map_or(Current::NONE, |sched| sched.current.get());
        match catch_unwind(AssertUnwindSafe(|| round(&mut *self))) {
            Ok(output) => output,
            Err(payload) => std::panic::resume_unwind(self.name_panic(payload, owner)),
        }
    }

    /// `payload` out of [`InPlaceSet::round`], naming the child that was being polled (if the
    /// panic came from one), and the owner (`owner`) made the current task again. A child
    /// polled on the fast path ([`Scheduler::poll_in_round`]) left itself as the current task
    /// when it unwound; one polled with a probe restored the current task and left its index
    /// in `polling`.
    #[cold]
    fn name_panic(&mut self, payload: Payload, owner: Current) -> Payload {
        let index = std::mem::replace(&mut self.polling, NOT_POLLING);
        let Some(sched) = self.sched.as_ref() else {
            return payload;
        };
        let running = sched.current.replace(owner);
        let child = if index != NOT_POLLING {
            Current::lazy(self.key, index)
        } else if running != owner {
            running
        } else {
            // The panic came from the owner's code between polls (`on_done`), not a child.
            return payload;
        };
        name_panic(payload, || {
            let (key, gen) = sched.key_of(child)?;
            sched.label(key, gen)
        })
    }

    /// Child `index` is gone (its future was dropped): its identity goes.
    pub(crate) fn end(&mut self, index: usize) {
        if let (Some(sched), Some(cell)) = (&self.sched, self.set.as_ref().and_then(|set| set.ids.get(index)))
        {
            sched.end_in_place(cell);
        }
    }

    /// The children asked to cancel that do not observe it, if any in-place task was cancelled
    /// since the last call (a scan of the children, only then).
    pub(crate) fn take_cancelled(&mut self) -> Vec<usize> {
        let (Some(sched), Some(set)) = (&self.sched, &self.set) else {
            return Vec::new();
        };
        let cancels = sched.in_place_cancels();
        if cancels == self.cancels_seen {
            return Vec::new();
        }
        self.cancels_seen = cancels;
        let tasks = sched.tasks.borrow();
        (0..set.ids.len())
            .filter(|&i| match set.ids[i].get().slot() {
                Some((key, gen)) => tasks
                    .get(key, gen)
                    .is_some_and(|slot| slot.state.cancel_pending()),
                None => false,
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

    /// Removes the identities of children still running and leaves the registry.
    fn release(&mut self) {
        let (Some(sched), Some(set)) = (self.sched.take(), self.set.take()) else {
            return;
        };
        if set.slots_made.get() != 0 {
            for cell in set.ids.iter() {
                sched.end_in_place(cell);
            }
        }
        let registered = sched.lazy_sets.borrow_mut().try_remove(self.key as usize);
        drop(registered);
    }
}

/// Polls the children of one type of an [`InPlaceSet`] on the fast path
/// ([`InPlaceSet::uniform`]): the identity swap and nothing else.
pub(crate) struct Uniform {
    sched: Rc<Scheduler>,
    set: Rc<LazySet>,
    first_child: Current,
}

impl Uniform {
    /// Polls child `index` as its own task, as [`InPlaceSet::poll`] would (inside the set's
    /// [`InPlaceSet::round`]).
    #[inline]
    pub(crate) fn poll<F: Future>(
        &self,
        index: usize,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let cell = &self.set.ids[index];
        let budget = super::coop::begin_in_place_step();
        let polled = self
            .sched
            .poll_in_round(cell, self.first_child.lazy_child(index as u32), future, cx);
        super::coop::end_in_place_step(budget);
        polled
    }
}

impl Drop for InPlaceSet {
    fn drop(&mut self) {
        self.release();
    }
}

/// The future given to `run_until_complete`, as an in-place task (asyncio's `ensure_future`):
/// a coroutine gets a task identity; a future already scheduled (a `Task`, a gather) claims
/// the probe and is awaited as it is.
pub(crate) struct MainTask {
    sched: Rc<Scheduler>,
    identity: Cell<Identity>,
}

impl MainTask {
    /// The main task of a run of `sched`'s loop; its identity is made at the first poll.
    pub(crate) fn new(sched: Rc<Scheduler>) -> Self {
        MainTask {
            sched,
            identity: Cell::new(Identity::Pending),
        }
    }

    /// Polls the main future as its task, or returns `None` if the task was asked to cancel
    /// and does not observe it: the caller must then drop the future as a cancellation.
    #[inline]
    pub(crate) fn poll<F: Future>(
        &mut self,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Option<Poll<F::Output>> {
        match self.identity.get() {
            // Nothing in place was ever asked to cancel on this loop: neither was this task.
            Identity::Live { key, gen }
                if self.sched.in_place_cancels() != 0 && self.sched.cancel_pending(key, gen) =>
            {
                self.sched.end_in_place(&self.identity);
                return None;
            }
            Identity::Pending => {
                let (key, gen) = self.sched.insert_in_place(None, cx.waker());
                self.identity.set(Identity::Unprobed { key, gen });
                self.sched.set_main_slot(Some((key, gen)));
            }
            _ => {}
        }
        Some(
            self.sched
                .poll_in_place(&self.identity, Current::NONE, future, cx),
        )
    }

    /// The task's cancel requests not taken back (asyncio's `cancelling()`), also once it
    /// has ended.
    pub(crate) fn cancel_requests(&self) -> u32 {
        self.sched.main_cancels()
    }

    /// Runs `run`, the whole run of the main task (the loop's iterations until it finishes):
    /// a panic that comes out of it reaches the caller of `run_until_complete` as it was
    /// panicked with (for `#[should_panic]` and `catch_unwind` downcasts), not with the name
    /// of the gathered coroutine it came from (see [`InPlaceSet::round`]). One catch per run,
    /// not per poll.
    pub(crate) fn unnamed_panics<R>(run: impl FnOnce() -> R) -> R {
        catch_unwind(AssertUnwindSafe(run))
            .unwrap_or_else(|payload| std::panic::resume_unwind(unname_panic(payload).1))
    }
}

impl Drop for MainTask {
    fn drop(&mut self) {
        self.sched.set_main_slot(None);
        self.sched.end_in_place(&self.identity);
    }
}

/// [`Scheduler::assert_not_current`]'s panic.
#[cold]
#[track_caller]
fn awaits_itself() -> ! {
    panic!("aioloop: a task cannot await itself (asyncio's \"Task cannot await on itself\")")
}
