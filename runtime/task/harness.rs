//! The task lifecycle on the [`Scheduler`]: spawn, one step (poll, or drop when cancelled),
//! finish, cancel, detach, join and discard.
//!
//! A task's life: [`Scheduler::spawn`] puts its cell in the table and queues it;
//! [`Scheduler::run_task`] takes the cell out (T5, in table.rs), polls it outside the borrow, and
//! puts it back while it is pending; when the future returns, panics, or is dropped because
//! the task was cancelled, [`Scheduler::finish`] marks the slot done and wakes the awaiter.
//! The `Task` handle then takes the outcome ([`Scheduler::poll_join`], which frees the slot),
//! or, dropped without taking it, detaches the task ([`Scheduler::detach`]): the outcome is
//! discarded when the task finishes, and an unread panic goes to the exception handler.

use std::cell::RefMut;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::callback::CallbackCell;
use super::cancel_scope::cancelling_with;
use super::cell::{vacant_cell, RawTask};
use super::cell_box::CellBox;
use super::done_callbacks::Released;
use super::inplace::Current;
use super::meta::TaskMeta;
use super::scheduler::{Runnable, Scheduler, StepHooks};
use super::table::TaskTable;
use super::waker::{waker_for, WakeTarget};
use super::{Task, TaskError};

/// How many rounds of "drop everything, then what those drops spawned" closing allows before
/// it gives up on a destructor that keeps spawning.
const MAX_CLOSE_ROUNDS: usize = 1000;

impl Scheduler {
    /// Spawns a task; it is queued at once.
    ///
    /// The generic part, which moves the future and builds the handle, is always inlined
    /// into the caller, so the future is written straight from the caller's registers into
    /// its cell and the handle straight into wherever the caller keeps it (a `Vec` of
    /// handles). Out of line, both went through the stack and were read back with wider loads
    /// than the stores that built them, which stalled every spawn (failed store-to-load
    /// forwards; a 24-byte handle is returned through memory). The table's part,
    /// [`Scheduler::enqueue_new`], is not generic and stays out of line.
    #[inline(always)]
    pub(crate) fn spawn<F>(
        self: &Rc<Self>,
        future: F,
        meta: Option<Box<TaskMeta>>,
        name: Option<Rc<str>>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let cell = self.cells.new_cell(future);
        let (key, id) = self.enqueue_new(cell, meta);
        #[cfg(feature = "tracing")]
        tracing::trace!(task.id = id.as_u64(), task.name = name.as_deref(), "spawn");
        let named = name.is_some();
        if let Some(name) = name {
            self.keep_name(id, name);
        }
        Task::new(self.clone(), key, id, named)
    }

    /// Puts a new task's cell in the table, born scheduled (T2), and queues it; returns its
    /// key and id (in registers).
    #[inline(never)]
    fn enqueue_new(&self, cell: CellBox, mut meta: Option<Box<TaskMeta>>) -> (u32, super::TaskId) {
        // The task's context (context_var.rs): none, from one field read, while the thread
        // never made a context (C1, mirrored in `contexts`).
        if self.contexts() {
            meta = with_context(meta);
        }
        let (key, gen, id) = self.tasks.borrow_mut().insert_scheduled(cell, meta);
        self.queue_task(key, gen);
        debug_assert_eq!(gen, id.0 as u16, "the generation is the id's low 16 bits");
        (key, id)
    }

    /// Spawns a task nobody holds a `Task` handle to (its outcome goes elsewhere, as a
    /// `run_coroutine_threadsafe` task's goes through its `ConcurrentFuture`); it is queued at once.
    pub(crate) fn spawn_detached(&self, cell: Pin<Box<dyn RawTask>>, meta: Option<Box<TaskMeta>>) {
        let cell = CellBox::from_box(cell);
        // Born scheduled (T2) and detached: queued without a second lookup.
        let (key, gen) = self.tasks.borrow_mut().insert_detached(cell, meta);
        self.queue_task(key, gen);
    }

    /// One step of a task: poll it, or drop it if it was cancelled.
    ///
    /// A pending poll leaves the step's cooperative budget in place (a store saved per step):
    /// the caller lifts it ([`coop::unconstrain`](super::coop::unconstrain)) before it runs
    /// anything that is not a task step. Every other way out lifts it here.
    #[inline]
    pub(crate) fn run_task<H: StepHooks>(&self, hooks: &H, key: u32, gen: u16) {
        self.step(hooks, key, gen);
        // C2 (context_var.rs): a context current now was made by this step (a first `set` in a
        // task without one), or by a drop of its outcome; it becomes the task's, if it is
        // still pending. While the thread never made a context, this is one field read.
        if self.contexts() {
            self.adopt_context(key, gen);
        }
    }

    /// [`Scheduler::run_task`] but for the context it leaves current.
    #[inline(always)]
    fn step<H: StepHooks>(&self, hooks: &H, key: u32, gen: u16) {
        let Some((mut cell, cancel, has_context)) = self.tasks.borrow_mut().start_step(key, gen) else {
            return;
        };
        if cancel {
            super::coop::unconstrain();
            let message = self.cancel_message(key, gen);
            let cancelled = cancelling_with(message, || self.end_cancelled_in_task(key, gen, &mut cell));
            return self.finish(key, gen, cell, cancelled);
        }

        let started = hooks.step_begins();
        self.current.set(Current::slot(key, gen));
        // W1 (waker.rs): dropping it does nothing, so it is not dropped (a call through its
        // vtable per step).
        let waker = std::mem::ManuallyDrop::new(waker_for::<H::Wake>(WakeTarget {
            loop_id: self.id(),
            key,
            gen,
        }));
        #[cfg(feature = "tracing")]
        let _span = self
            .tasks
            .borrow()
            .get(key, gen)
            .map(|slot| tracing::trace_span!("poll", task.id = slot.state.id().as_u64()).entered());
        // A task with a context steps in it, out of line (its closure built only there). One
        // without runs in none (C2).
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match has_context {
            false => poll_step(&mut cell, &waker),
            true => self.step_in_context(key, gen, &mut || poll_step(&mut cell, &waker)),
        }));
        self.current.set(Current::NONE);
        if let Some(started) = started {
            super::coop::unconstrain();
            hooks.step_ended(started, &|| self.label(key, gen));
        }

        match polled {
            Ok(Poll::Pending) => {
                if let Some(slot) = self.tasks.borrow_mut().get_mut(key, gen) {
                    // T5: the slot holds the vacant stand-in, which owns nothing (a zero-sized
                    // `Box` allocates nothing): forgotten, not dropped through its vtable.
                    std::mem::forget(std::mem::replace(&mut slot.cell, cell));
                }
            }
            Ok(Poll::Ready(())) => {
                super::coop::unconstrain();
                let tasks = self.tasks.borrow_mut();
                let cancelled = tasks
                    .get(key, gen)
                    .is_some_and(|slot| slot.state.cancel_requested());
                if cancelled {
                    // asyncio: a task cancelled in the step in which it returns counts as
                    // cancelled (so does one that returns after a delivered cancel request).
                    drop(tasks);
                    let message = self.cancel_message(key, gen);
                    let cancelled =
                        cancelling_with(message, || self.end_cancelled_in_task(key, gen, &mut cell));
                    self.finish(key, gen, cell, cancelled);
                } else {
                    self.finish_in(tasks, key, gen, cell, false);
                }
            }
            Err(payload) => {
                super::coop::unconstrain();
                // The future was dropped during the unwind (`DropOnUnwind`).
                cell.as_mut().set_error(TaskError::Panicked(payload));
                self.finish(key, gen, cell, false);
            }
        }
    }

    /// One poll (`poll`) of the task at `key`/`gen` with its context current: a clone of the
    /// one in its side-table entry, which keeps it meanwhile (for `get_context` from a nested
    /// step or a gathered child), put back after the step, also when the task finished (the
    /// context stays the task's until its slot is freed). If the poll unwinds, the future is
    /// dropped in the context.
    #[cold]
    #[inline(never)]
    fn step_in_context(&self, key: u32, gen: u16, poll: &mut dyn FnMut() -> Poll<()>) -> Poll<()> {
        let mut context = self.tasks.borrow().context_of(key, gen);
        let polled = crate::context_var::enter(&mut context, poll);
        if let Some(context) = context {
            let replaced = self.tasks.borrow_mut().put_context(key, gen, context);
            drop(replaced);
        }
        polled
    }

    /// After a step of the task at `key`/`gen`, once the thread made a context (C1): a
    /// context the step left current (made by a first `set` in a task without one, or by
    /// `get_context` inside it) becomes the task's while its slot is there (pending, or
    /// finished with its handle holding on), else is dropped; none is current again (C2).
    #[cold]
    #[inline(never)]
    fn adopt_context(&self, key: u32, gen: u16) {
        let Some(context) = crate::context_var::take_current() else {
            return;
        };
        let dropped = self.tasks.borrow_mut().put_context(key, gen, context);
        drop(dropped);
    }

    /// [`Scheduler::end_cancelled`] inside the task: its future's destructors (asyncio's
    /// `except CancelledError:` and `finally:` blocks, which run inside the task) see it as
    /// [`current_task`](crate::current_task), as they do when the future completes or panics
    /// (tokio's task_id.rs `task_id_future_destructor_abort`), and run in its context, as
    /// asyncio throws `CancelledError` into the coroutine in the task's context.
    pub(super) fn end_cancelled_in_task(&self, key: u32, gen: u16, cell: &mut CellBox) -> bool {
        let outer = self.current.replace(Current::slot(key, gen));
        let mut context = self.tasks.borrow().context_of(key, gen);
        let cancelled = crate::context_var::enter(&mut context, || self.end_cancelled(cell));
        // The context stays the task's (`get_context` after the end), as after a step.
        if let Some(context) = context {
            let replaced = self.tasks.borrow_mut().put_context(key, gen, context);
            drop(replaced);
        }
        self.current.set(outer);
        cancelled
    }

    /// Ends a cancelled task, dropping its future (or output); true if it ends cancelled. A
    /// panic in that drop becomes its outcome instead, as an exception raised during
    /// cancellation does in asyncio (and tokio's test_abort_task_that_panics_on_drop_returned).
    fn end_cancelled(&self, cell: &mut CellBox) -> bool {
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cell.as_mut().drop_future()));
        let (error, cancelled) = match dropped {
            Ok(()) => (TaskError::Cancelled, true),
            Err(payload) => (TaskError::Panicked(payload), false),
        };
        cell.as_mut().set_error(error);
        cancelled
    }

    /// Records that a task finished (its cell holds the outcome) and wakes its awaiter, or
    /// discards the outcome at once if nobody holds the `Task` handle.
    pub(super) fn finish(&self, key: u32, gen: u16, cell: CellBox, cancelled: bool) {
        self.finish_in(self.tasks.borrow_mut(), key, gen, cell, cancelled);
    }

    /// [`Scheduler::finish`] with the task table already borrowed (the borrow is released
    /// before any user code runs).
    fn finish_in(
        &self,
        mut tasks: RefMut<'_, TaskTable>,
        key: u32,
        gen: u16,
        cell: CellBox,
        cancelled: bool,
    ) {
        let Some(slot) = tasks.get_mut(key, gen) else {
            // Not expected (nothing frees a slot whose cell is out); drop it outside the borrow.
            drop(tasks);
            drop(cell);
            return;
        };
        slot.state.set_done(true);
        slot.state.set_cancelled(cancelled);
        let requested = slot.state.cancel_requested();
        slot.state.set_cancel_requested(false);
        let waker = slot.join_waker.take();
        // An awaited task keeps its outcome for the handle; a detached one's is discarded.
        let detached = match slot.state.detached() {
            true => Some(cell),
            false => {
                // T5: the slot holds the vacant stand-in, which owns nothing: forgotten, not
                // dropped through its vtable.
                std::mem::forget(std::mem::replace(&mut slot.cell, cell));
                None
            }
        };
        let mut has_meta = slot.state.has_meta();
        if requested {
            // asyncio's `cancelling()` count outlives the task: the flag's request joins the
            // side table's (`TaskMeta::cancels`).
            if let Some(meta) = tasks.meta_mut(key, gen) {
                meta.cancels += 1;
                has_meta = true;
            }
        }
        if !has_meta {
            // The usual case: no side-table entry (no diagnostics, done callbacks or shared
            // joiners), so nothing else to run or wake.
            drop(tasks);
            if let Some(waker) = waker {
                waker.wake();
            }
            if let Some(cell) = detached {
                self.discard_in_task(key, gen, cell);
            }
            return;
        }
        self.finish_with_meta(tasks, key, gen, waker, detached);
    }

    /// The rest of [`Scheduler::finish_in`] for a task with a side-table entry (done
    /// callbacks, `SharedTask` joiners, diagnostics): out of line, so the usual finish stays
    /// as small as it was.
    #[cold]
    #[inline(never)]
    fn finish_with_meta(
        &self,
        mut tasks: RefMut<'_, TaskTable>,
        key: u32,
        gen: u16,
        waker: Option<Waker>,
        detached: Option<CellBox>,
    ) {
        let (released, join_marker) = tasks
            .meta_mut(key, gen)
            .map(TaskMeta::take_on_finish)
            .unwrap_or_default();
        drop(tasks);
        // One registration order for the joiners, the done callbacks and the `Task` handle's
        // awaiter (at its join marker, or last). A detached task's waker is that of a
        // `wait_for` waiting for it to finish cancelling.
        let mut waker = waker;
        for each in released {
            match each {
                Released::Callback(callback) => {
                    self.push(Runnable::Callback(CallbackCell::new(callback)));
                }
                Released::Waiter(at, _) if Some(at) == join_marker => {
                    if let Some(waker) = waker.take() {
                        waker.wake();
                    }
                }
                Released::Waiter(_, joiner) => joiner.wake(),
            }
        }
        if let Some(waker) = waker {
            waker.wake();
        }
        if let Some(cell) = detached {
            // Nobody will ask for its context: dropped outside the borrow, after the outcome.
            let context = self.tasks.borrow_mut().take_context(key, gen);
            self.discard_in_task(key, gen, cell);
            drop(context);
        }
    }

    /// `Task::cancel`: marks the task and queues it so the loop drops its future next iteration
    /// (or, if it observes cancellation, delivers the request). False if the task has finished
    /// (or is gone); a panic it finished with then counts as seen, as asyncio's `cancel()`
    /// clears `__log_traceback` before it looks at the state. `message` is kept for the
    /// awaiter (`Task::cancel_message`).
    pub(crate) fn cancel(&self, key: u32, gen: u16, message: Option<Rc<str>>) -> bool {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return false;
        };
        if slot.state.done() {
            if slot.cell.is_panic() {
                drop(tasks);
                self.mark_seen(key, gen);
            }
            return false;
        }
        let again = slot.state.cancel_requested();
        slot.state.set_cancel_requested(true);
        // A request while the task cleans up after a delivered one is delivered again (if it
        // observes it) or drops the task.
        slot.state.set_cancel_delivered(false);
        let in_place = slot.state.in_place();
        #[cfg(feature = "tracing")]
        tracing::trace!(task.id = slot.state.id().as_u64(), "cancel");
        if again || message.is_some() {
            if let Some(meta) = tasks.meta_mut(key, gen) {
                meta.cancels += again as u32;
                if message.is_some() {
                    meta.cancel_message = message;
                }
            }
        }
        if in_place {
            // Its owner polls it; wake the owner (inplace.rs).
            let owner = tasks
                .get(key, gen)
                .and_then(|slot| slot.join_waker.get().cloned());
            drop(tasks);
            self.count_in_place_cancel();
            self.count_main_cancel(key, gen, 1);
            if let Some(owner) = owner {
                owner.wake();
            }
            return true;
        }
        drop(tasks);
        self.schedule(key, gen);
        true
    }

    /// asyncio 3.11's `cancelling()` of task `id` at `key`/`gen`: the cancel requests not taken
    /// back, while it runs and after it finished (asyncio never resets the count), also once
    /// its handle took the outcome.
    pub(crate) fn cancelling(&self, key: u32, gen: u16, id: super::TaskId) -> u32 {
        let tasks = self.tasks.borrow();
        match tasks.get(key, gen) {
            Some(slot) => {
                let extra = tasks.meta_of(key, slot).map_or(0, |meta| meta.cancels);
                slot.state.cancel_requested() as u32 + extra
            }
            None => {
                drop(tasks);
                self.kept_cancels(id)
            }
        }
    }

    /// asyncio 3.11's `uncancel()` of task `id` at `key`/`gen`: takes one cancel request back
    /// and returns how many remain; at zero a running task is no longer being cancelled (a
    /// delivered request is withdrawn, so it ends normally). On a finished task only the
    /// count changes, as in asyncio.
    pub(crate) fn uncancel(&self, key: u32, gen: u16, id: super::TaskId) -> u32 {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get(key, gen) else {
            drop(tasks);
            return self.uncancel_kept(id);
        };
        let requested = slot.state.cancel_requested() as u32;
        let extra = tasks.meta_of(key, slot).map_or(0, |meta| meta.cancels);
        if requested + extra > 0 && slot.state.in_place() {
            self.count_main_cancel(key, gen, -1);
        }
        if extra > 0 {
            if let Some(meta) = tasks.meta_mut(key, gen) {
                meta.cancels -= 1;
            }
            return requested + extra - 1;
        }
        if requested == 1 {
            if let Some(slot) = tasks.get_mut(key, gen) {
                slot.state.set_cancel_requested(false);
                slot.state.set_cancel_delivered(false);
            }
        }
        0
    }

    /// The message given with the last cancel request, if any.
    pub(crate) fn cancel_message(&self, key: u32, gen: u16) -> Option<Rc<str>> {
        let tasks = self.tasks.borrow();
        tasks
            .meta_at(key, gen)
            .and_then(|meta| meta.cancel_message.clone())
    }

    /// `Task::add_done_callback`: `callback` is queued on the loop when the task finishes; at
    /// once if it has, also when its slot is gone (the outcome was taken). Returns its id,
    /// `None` if it was queued at once.
    pub(crate) fn add_done_callback(&self, key: u32, gen: u16, callback: Box<dyn FnOnce()>) -> Option<u64> {
        let mut tasks = self.tasks.borrow_mut();
        let done = tasks.get(key, gen).is_none_or(|slot| slot.state.done());
        if done {
            drop(tasks);
            self.push(Runnable::Callback(CallbackCell::new(callback)));
            return None;
        }
        let joined = tasks
            .get(key, gen)
            .is_some_and(|slot| slot.join_waker.get().is_some());
        Some(tasks.meta_mut(key, gen)?.add_done_callback(joined, callback))
    }

    /// `Task::remove_done_callback`: false if it is not there (removed, or already queued).
    pub(crate) fn remove_done_callback(&self, key: u32, gen: u16, id: u64) -> bool {
        let mut tasks = self.tasks.borrow_mut();
        let callback = tasks
            .meta_mut(key, gen)
            .and_then(|meta| meta.remove_done_callback(id));
        drop(tasks);
        callback.is_some()
    }

    /// Whether the task at `key`/`gen` has finished (or is gone), registering `cx`'s waker to be
    /// woken when it does: for `wait_for`, which waits for the tasks it cancelled.
    pub(crate) fn poll_finished(&self, key: u32, gen: u16, cx: &mut Context<'_>) -> Poll<()> {
        let mut tasks = self.tasks.borrow_mut();
        match tasks.get_mut(key, gen) {
            Some(slot) if !slot.state.done() => {
                let old = slot.join_waker.register(cx.waker());
                drop(tasks);
                drop(old);
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }

    /// True once the task has finished (or its slot is gone).
    pub(crate) fn is_done(&self, key: u32, gen: u16) -> bool {
        self.tasks
            .borrow()
            .get(key, gen)
            .is_none_or(|slot| slot.state.done())
    }

    /// True once the task has finished by cancellation.
    pub(crate) fn is_cancelled(&self, key: u32, gen: u16) -> bool {
        self.tasks
            .borrow()
            .get(key, gen)
            .is_some_and(|slot| slot.state.cancelled())
    }

    /// True once the task has panicked and its outcome was not taken yet.
    pub(crate) fn is_panicked(&self, key: u32, gen: u16) -> bool {
        let tasks = self.tasks.borrow();
        tasks.get(key, gen).is_some_and(|slot| slot.cell.is_panic())
    }

    /// The join half of `Task::poll`: `Ready(Some(cell))` with the finished cell (its slot is
    /// freed; the message of a cancellation and the `cancelling()` count are kept for the
    /// handle of task `id`), `Ready(None)` if the loop closed and dropped the task, else
    /// registers the waker.
    #[inline]
    pub(crate) fn poll_join(
        &self,
        key: u32,
        gen: u16,
        id: super::TaskId,
        cx: &mut Context<'_>,
    ) -> Poll<(Option<CellBox>, bool)> {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return Poll::Ready((None, false));
        };
        if slot.state.done() {
            let mut kept = false;
            if slot.state.has_meta() {
                let cancelled = slot.state.cancelled();
                if let Some(meta) = tasks.meta_mut(key, gen) {
                    let message = meta.cancel_message.clone().filter(|_| cancelled);
                    self.keep_cancel_record(id, message, meta.cancels);
                    // A renamed task's name and the task's context, for the handle.
                    kept = self.keep_for_handle(id, meta);
                }
            }
            let slot = tasks.remove_found(key);
            drop(tasks);
            return Poll::Ready((Some(slot.cell), kept));
        }
        let old = slot.join_waker.register(cx.waker());
        drop(tasks);
        drop(old);
        Poll::Pending
    }

    /// The join of a [`SharedTask`](crate::SharedTask) holder: `Ready` once the task at
    /// `key`/`gen` has finished (or is gone), else waits in the task's list of joiners, where
    /// `entry` is the holder's place (`None` before it queues). The list is emptied when the
    /// task finishes (`TaskMeta::take_on_finish`), so a finished task's joiner has no entry.
    pub(crate) fn poll_joiner(
        &self,
        key: u32,
        gen: u16,
        entry: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut tasks = self.tasks.borrow_mut();
        let (running, joined) = tasks.get(key, gen).map_or((false, false), |slot| {
            (!slot.state.done(), slot.join_waker.get().is_some())
        });
        let meta = match running {
            true => tasks.meta_mut(key, gen),
            false => None,
        };
        let Some(meta) = meta else {
            *entry = None;
            return Poll::Ready(());
        };
        let replaced = meta.wait_as_joiner(joined, entry, cx.waker());
        drop(tasks);
        drop(replaced);
        Poll::Pending
    }

    /// A [`SharedTask`](crate::SharedTask) holder queued at `entry` goes away before the task
    /// at `key`/`gen` finished.
    pub(crate) fn leave_joiners(&self, key: u32, gen: u16, entry: usize) {
        let mut tasks = self.tasks.borrow_mut();
        let running = tasks.get(key, gen).is_some_and(|slot| !slot.state.done());
        if let Some(meta) = running.then(|| tasks.meta_mut(key, gen)).flatten() {
            meta.leave_joiners(entry);
        }
    }

    /// Keeps the memory of a finished cell whose outcome was taken (it holds nothing to drop)
    /// for a later spawn.
    #[inline]
    pub(crate) fn recycle_emptied(&self, cell: CellBox) {
        self.cells.recycle_emptied(cell);
    }

    /// The outcome of the task at `key`/`gen` counts as seen: if nobody takes it, a panic is
    /// not reported (see `TaskMeta::outcome_seen`).
    pub(crate) fn mark_seen(&self, key: u32, gen: u16) {
        if let Some(meta) = self.tasks.borrow_mut().meta_mut(key, gen) {
            meta.outcome_seen = true;
        }
    }

    /// A `Task` handle was dropped without taking the outcome (inside
    /// `cancel_scope::detaching_seen`, the outcome counts as seen).
    pub(crate) fn detach(&self, key: u32, gen: u16) {
        if super::cancel_scope::seen() {
            self.mark_seen(key, gen);
        }
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return;
        };
        if slot.state.done() {
            return self.discard_finished(tasks, key, gen);
        }
        slot.state.set_detached(true);
        let waker = slot.join_waker.take();
        drop(tasks);
        drop(waker);
    }

    /// [`Scheduler::detach`] of a task that has finished: its outcome is discarded, its slot
    /// freed. Out of line, so the usual detach (of a task still running) keeps its small
    /// frame: inline, this branch's context handling cost every detach 3 instructions
    /// (callgrind, chained spawn).
    #[cold]
    #[inline(never)]
    fn discard_finished(&self, mut tasks: RefMut<'_, TaskTable>, key: u32, gen: u16) {
        let Some(slot) = tasks.get_mut(key, gen) else {
            return;
        };
        let cell = std::mem::replace(&mut slot.cell, vacant_cell());
        // Nobody will ask for its context: dropped outside the borrow, after the outcome.
        let context = tasks.take_context(key, gen);
        drop(tasks);
        self.discard(key, gen, cell);
        drop(context);
    }

    /// [`Scheduler::discard`] of a detached task's outcome as the task finishes, inside the
    /// task: the output's destructors see it as [`current_task`](crate::current_task), as its
    /// future's did (tokio's task_id.rs
    /// `task_id_output_destructor_handle_dropped_before_completion`). An outcome discarded
    /// later, by a `Task` handle dropped after the task finished, is dropped where the handle is.
    fn discard_in_task(&self, key: u32, gen: u16, cell: CellBox) {
        let outer = self.current.replace(Current::slot(key, gen));
        self.discard(key, gen, cell);
        self.current.set(outer);
    }

    /// Drops the outcome (`cell`, taken out of its slot) of the finished task at `key`/`gen`,
    /// which nobody will read, then frees the slot. An unread panic goes to the exception
    /// handler, as asyncio reports "Task exception was never retrieved". The slot stays in the
    /// table (done, its cell vacant) while the outcome is dropped, so a report can name the task
    /// without carrying its diagnostics out of the table.
    fn discard(&self, key: u32, gen: u16, mut cell: CellBox) {
        let task = || self.label(key, gen);
        const DROP_PANICKED: &str = "Dropping a task's output panicked";
        let error = match cell.output_drops() {
            true => self
                .reporter
                .catch(DROP_PANICKED, task, || cell.as_mut().take_error()),
            // Dropping the output runs no code: nothing to catch.
            false => Some(cell.as_mut().take_error()),
        };
        if let Some(Some(TaskError::Panicked(payload))) = error {
            let seen = self
                .tasks
                .borrow()
                .meta_at(key, gen)
                .is_some_and(|meta| meta.outcome_seen);
            if !seen {
                self.report("Task exception was never retrieved", task(), Some(payload));
            }
        }
        // `take_error` left the finished cell empty (its output was moved out before anything
        // was dropped, also if that drop panicked): nothing in it to drop.
        self.cells.recycle_emptied(cell);
        let slot = self.tasks.borrow_mut().remove(key, gen);
        drop(slot);
    }

    /// Closing the loop: drops every unfinished task and every queued runnable, and again
    /// what those drops spawned or queued, each drop outside the borrows and reported if it
    /// panics. In `debug` mode each unfinished task is reported ("destroyed but pending").
    pub(crate) fn drop_unfinished(&self, debug: bool) {
        for round in 0.. {
            let slots = self.tasks.borrow_mut().remove_unfinished();
            let ready = self.drain_ready();
            if slots.is_empty() && ready.is_empty() {
                break;
            }
            if round == MAX_CLOSE_ROUNDS {
                self.report(
                    "Closing the loop gave up: task destructors kept spawning new tasks",
                    None,
                    None,
                );
                break;
            }
            for freed in slots {
                let task = freed.label();
                if let Some(meta) = freed.meta.as_ref().filter(|_| !freed.slot.state.detached()) {
                    // A renamed task's name, for its handle (dropped with the scheduler if
                    // the handle never looks at its task again).
                    if let Some(name) = meta.name.clone().filter(|_| meta.renamed) {
                        self.keep_name(task.id, name);
                    }
                }
                if debug {
                    self.report("Task was destroyed but it is pending!", Some(task.clone()), None);
                }
                self.reporter.drop_reporting(
                    freed,
                    "A task's future panicked while being dropped",
                    move || Some(task),
                );
            }
            self.reporter
                .drop_reporting(ready, "Dropping a callback panicked", || None);
        }
    }
}

/// One poll of a task's cell, in [`Scheduler::run_task`].
///
/// If the poll panics, the future is dropped while the panic unwinds, as on a thread (tokio's
/// rt_common panic_in_task): its `Drop` impls see `thread::panicking()`, and the std `Mutex`
/// guards it holds are poisoned. A panic in that drop aborts, as a double panic does. Free on
/// the hot path: the guard is forgotten.
#[inline(always)]
pub(super) fn poll_step(cell: &mut CellBox, waker: &Waker) -> Poll<()> {
    super::coop::begin_step();
    let mut guard = DropOnUnwind(cell.as_mut());
    let polled = guard.0.as_mut().poll_task(&mut Context::from_waker(waker));
    std::mem::forget(guard);
    polled
}

/// `meta` with the current context (a copy, or the context itself under `Context::spawn`), if
/// one is current: the context of a task spawned now.
#[cold]
#[inline(never)]
fn with_context(meta: Option<Box<TaskMeta>>) -> Option<Box<TaskMeta>> {
    match crate::context_var::capture() {
        None => meta,
        Some(context) => {
            let mut meta = meta.unwrap_or_default();
            meta.context = Some(context);
            Some(meta)
        }
    }
}

/// Drops a task's future if its poll unwinds (see `Scheduler::run_task`).
struct DropOnUnwind<'a>(Pin<&'a mut dyn RawTask>);

impl Drop for DropOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.as_mut().drop_future();
    }
}
