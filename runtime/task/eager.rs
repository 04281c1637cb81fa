//! Eager tasks: asyncio's `create_task(coro, eager_start=True)` (3.14) and `eager_task_factory`
//! (3.12). The new task's first step runs at once, inside the call that spawns it, until its
//! first suspension; a task that finishes there is returned done and is never queued, one that
//! suspends goes on as any task (woken by what it awaits).
//!
//! **The nested step.** The first step runs inside whatever called the spawn: another task's
//! step, the main future's poll, a callback, or the first step of another eager task. Around
//! it [`Scheduler::spawn_eager`] sets aside what belongs to the caller's step and puts it back
//! after, also if the step unwinds, so the caller resumes exactly as it was (asyncio's
//! `_swap_current_task`):
//! - the scheduler's current task (a slot, a lazy gather child, or none), so
//!   [`current_task`](crate::current_task) is the new task inside its step and the caller's
//!   again after;
//! - the in-place probe (inplace.rs), so nothing in the step can claim the caller's;
//! - the cooperative budget (coop.rs): the step gets a fresh one, as any step; the caller's
//!   is put back as it was;
//! - the cancel scopes (cancel_scope.rs): the step runs outside them, as a step the loop
//!   runs, so a handle it drops detaches rather than cancels;
//! - the current context (C1, C2 in context_var.rs): the step runs in the task's context, a
//!   copy of the caller's current one taken at the spawn, swapped in with `context_var::enter`
//!   and the caller's put back; a context the step makes (a first `set` in a task whose
//!   caller had none) stays in the task's slot, never current for the caller. A pending task
//!   keeps it (its side-table entry), a finished one drops it.
//!
//! The step is counted and, in debug mode, timed as a step of its own (a slow one is reported
//! naming the new task); the caller's step, whose timer keeps running, includes it. A panic in
//! the step ends the new task panicked, as in any step: it never unwinds into the caller.
//!
//! `spawn`'s path is untouched: eager spawning is its own entry point, and the loop's steps
//! (harness.rs) have no branch for it. Only the part that builds the cell and the handle is
//! generic; the step is compiled in this crate (`Core::eager_step`), so the loop's `step`,
//! `finish` and `spawn` compile to the same instructions as without eager tasks (checked on
//! the compare bench's binary: `run_once` and `enqueue_new` identical but for addresses).

use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use super::cancel_scope::{self, cancelling_with};
use super::cell::vacant_cell;
use super::cell_box::CellBox;
use super::coop;
use super::harness::poll_step;
use super::inplace::{Current, SuspendedProbe};
use super::meta::TaskMeta;
use super::scheduler::{Scheduler, StepHooks};
use super::waker::{waker_for, WakeTarget};
use super::{Task, TaskError};

/// A task inserted by [`Scheduler::spawn_eager`] whose first step has not run yet: its slot,
/// its real cell and its context, for [`Scheduler::eager_step`].
pub(crate) struct EagerStart {
    key: u32,
    gen: u16,
    cell: CellBox,
    context: Option<crate::context_var::Context>,
}

impl Scheduler {
    /// Spawns a task whose first step the caller runs at once with
    /// [`Scheduler::eager_step`] (see the module docs), and returns its handle and what the
    /// step needs. Split so that the only generic part, which builds the cell and the handle
    /// in the program's crate, calls nothing of the step: the step is compiled here, with the
    /// loop's hooks, and the loop's own `step` and `finish` keep their internal linkage (a
    /// function a generic one calls is exported, and then called through the GOT).
    #[inline(always)]
    pub(crate) fn spawn_eager<F>(
        self: &Rc<Self>,
        future: F,
        meta: Option<Box<TaskMeta>>,
        name: Option<Rc<str>>,
    ) -> (Task<F::Output>, EagerStart)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let cell = self.cells.new_cell(future);
        let named = name.is_some();
        let (start, id) = self.insert_eager(cell, meta, name);
        // The handle exists before the step: should anything unwind out of it, the handle's
        // drop detaches the task.
        let task = Task::new(self.clone(), start.key, id, named);
        (task, start)
    }

    /// Inserts an eager task's slot: born unscheduled (T2: nothing is queued for it), holding
    /// the stand-in while the step has the real cell out (T5); its context is a copy of the
    /// caller's current one (none while the thread never made one, C1), kept beside the
    /// cell, not in the slot, since the step swaps it in at once.
    #[inline(never)]
    fn insert_eager(
        &self,
        cell: CellBox,
        meta: Option<Box<TaskMeta>>,
        name: Option<Rc<str>>,
    ) -> (EagerStart, super::TaskId) {
        let context = crate::context_var::capture();
        let (key, gen, id) = self.tasks.borrow_mut().insert(vacant_cell(), meta);
        #[cfg(feature = "tracing")]
        tracing::trace!(task.id = id.as_u64(), task.name = name.as_deref(), "spawn eager");
        if let Some(name) = name {
            self.keep_name(id, name);
        }
        let start = EagerStart {
            key,
            gen,
            cell,
            context,
        };
        (start, id)
    }

    /// The first step of the eager task `start`: [`Scheduler::step`](super::harness) without
    /// the queue, with the caller's state set aside around it (see the module docs). `hooks`
    /// are the loop's, as for a step it runs.
    pub(crate) fn eager_step<H: StepHooks>(&self, hooks: &H, start: EagerStart) {
        let EagerStart {
            key,
            gen,
            mut cell,
            mut context,
        } = start;
        #[cfg(feature = "tracing")]
        let _span = self
            .tasks
            .borrow()
            .get(key, gen)
            .map(|slot| tracing::trace_span!("poll", task.id = slot.state.id().as_u64()).entered());
        let _caller = CallerStep {
            sched: self,
            current: self.current.get(),
            probe: self.suspend_probe(),
            // Lifted now; the step sets a fresh budget as it begins (`poll_step`).
            _budget: coop::enter_unconstrained(),
        };
        cancel_scope::outside(|| {
            let started = hooks.step_begins();
            self.current.set(Current::slot(key, gen));
            // W1 (waker.rs): dropping it does nothing, so it is not dropped.
            let waker = std::mem::ManuallyDrop::new(waker_for::<H::Wake>(WakeTarget {
                loop_id: self.id(),
                key,
                gen,
            }));
            // The task's context swapped in, the caller's put back after, also on unwind;
            // a context the step made is left in `context` (C1, C2).
            let no_context_yet = !crate::context_var::used();
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::context_var::enter(&mut context, || poll_step(&mut cell, &waker))
            }));
            if no_context_yet && polled.is_err() {
                // C1's one exception: a step that made the thread's first context and
                // unwound left it current. The caller had none (no context existed): the
                // task's context goes with the task.
                context = crate::context_var::take_current();
            }
            // Pending or finished, the context stays the task's (`get_context`) until its slot
            // is freed; dropped here if the slot is gone already.
            if let Some(context) = context.take() {
                let replaced = self.tasks.borrow_mut().put_context(key, gen, context);
                drop(replaced);
            }
            self.current.set(Current::NONE);
            coop::unconstrain();
            if let Some(started) = started {
                hooks.step_ended(started, &|| self.label(key, gen));
            }
            self.end_eager_step(key, gen, cell, polled);
        });
    }

    /// After the eager step of the task at `key`/`gen`: as after a step the loop runs
    /// (harness.rs, `Scheduler::step`), the cell goes back while the task is pending, else the
    /// task finishes (cancelled if it was asked to in the step it returned).
    fn end_eager_step(&self, key: u32, gen: u16, mut cell: CellBox, polled: std::thread::Result<Poll<()>>) {
        match polled {
            Ok(Poll::Pending) => {
                if let Some(slot) = self.tasks.borrow_mut().get_mut(key, gen) {
                    // T5: the slot holds the vacant stand-in, which owns nothing.
                    std::mem::forget(std::mem::replace(&mut slot.cell, cell));
                }
            }
            Ok(Poll::Ready(())) => {
                let cancelled = self
                    .tasks
                    .borrow()
                    .get(key, gen)
                    .is_some_and(|slot| slot.state.cancel_requested());
                if cancelled {
                    let message = self.cancel_message(key, gen);
                    let cancelled =
                        cancelling_with(message, || self.end_cancelled_in_task(key, gen, &mut cell));
                    self.finish(key, gen, cell, cancelled);
                } else {
                    self.finish(key, gen, cell, false);
                }
            }
            Err(payload) => {
                // The future was dropped during the unwind (`DropOnUnwind`, harness.rs).
                cell.as_mut().set_error(TaskError::Panicked(payload));
                self.finish(key, gen, cell, false);
            }
        }
    }
}

/// What the caller's step had when an eager step began, put back when it ends (also on
/// unwind): the current task, the in-place probe and (by the budget guard) the coop budget.
struct CallerStep<'a> {
    sched: &'a Scheduler,
    current: Current,
    probe: SuspendedProbe,
    _budget: coop::BudgetGuard,
}

impl Drop for CallerStep<'_> {
    fn drop(&mut self) {
        self.sched.current.set(self.current);
        self.sched.resume_probe(self.probe);
    }
}
