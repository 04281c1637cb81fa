//! The scheduler: the ready queue, the task table and the task being polled, owned by one
//! [`Scheduler`] behind methods. The task lifecycle on it (spawn, step, finish, cancel, detach,
//! join, discard) is in harness.rs; the loop's iteration (event_loop/iteration.rs) pops
//! [`Runnable`]s and hands task steps to [`Scheduler::run_task`].
//!
//! **T1.** No `RefCell` borrow of the loop's state (here, in the drivers, in a task's slot) is
//! held while user code runs. To poll a task the loop takes its cell out of the slot (leaving
//! the stand-in, T5), releases the borrow, polls, and puts it back; every drop of a future, an
//! output, a callback or a foreign waker happens after the borrow ends. An outcome nobody will
//! read is dropped while its finished slot is still in the table, so a report about it can
//! name the task; the slot is freed after. This is what lets a task spawn, wake, cancel or drop
//! tasks from `poll` or from `Drop`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use slab::Slab;

use super::callback::CallbackCell;
use super::cell_pool::CellPool;
use super::inplace::{Current, LazySet, Probe};
use super::meta::TaskMeta;
use super::ready::ReadyQueue;
use super::report::{ExceptionHandler, Payload, Reporter, TaskLabel};
use super::table::TaskTable;
use super::waker::{target_of, WakeHook, WakeTarget, MAIN_KEY};
use super::{TaskId, TaskRef};

/// The queue length from which an iteration gives cache hints ([`Scheduler::hints_pay`]).
const HINT_QUEUE: usize = 64;
/// The table length from which an iteration gives cache hints: 4,096 tasks' slots and cells
/// (160 KiB of slots, 256 KiB or more of cells) outgrow a core's L2 cache.
const HINT_TABLE: usize = 4096;
/// How far apart [`Scheduler::hints_pay`] looks at two queued steps to tell a scattered
/// queue from a walk in key order.
const SCATTER_SPAN: usize = 8;
/// How many steps ahead of the one it takes [`Scheduler::prefetch_steps`] hints a slot.
const SLOT_AHEAD: usize = 4;
/// How many steps ahead it hints a task's cell (its slot hinted [`SLOT_AHEAD`] steps before).
const CELL_AHEAD: usize = 2;

/// Something the loop runs in one step of an iteration.
pub(crate) enum Runnable {
    /// One poll of a task.
    Task { key: u32, gen: u16 },
    /// One poll of the future given to `run_until_complete`.
    Main,
    /// A `call_soon` callback, cancellable through its `CallbackHandle`.
    Callback(Rc<CallbackCell>),
    /// A callback nobody can cancel (sent from another thread).
    Call(Box<dyn FnOnce()>),
}

/// What the scheduler needs from its loop while it runs a task step: where wakes go, the step
/// counter and debug mode's slow-step timing. Static dispatch: the hot path pays nothing.
pub(crate) trait StepHooks {
    /// The schedule hook of the wakers handed to the task.
    type Wake: WakeHook;

    /// A task step begins: counts it, and returns when it began if slow steps are timed
    /// (debug mode).
    fn step_begins(&self) -> Option<Instant>;

    /// A timed step that began at `started` ended: reports it if it was slow. `task` names
    /// the task (asked only for a report).
    fn step_ended(&self, started: Instant, task: &dyn Fn() -> Option<TaskLabel>);
}

/// One loop's tasks and ready queue.
pub(crate) struct Scheduler {
    /// The loop id wakers carry.
    id: u16,
    /// The task slots. Declared before `cells`, so it drops first: its cells live in the
    /// pool's arena (B1, in cell_box.rs).
    pub(super) tasks: RefCell<TaskTable>,
    /// The memory of task cells: an arena and free cells, reused by spawns (cell_pool.rs).
    pub(super) cells: CellPool,
    ready: RefCell<ReadyQueue>,
    /// The task being polled right now (read it through `current_key`, which makes the slot
    /// of a lazy in-place task, inplace.rs).
    pub(super) current: Cell<Current>,
    /// Generation of the current `run_until_complete` future, so a stale main waker is ignored.
    main_gen: Cell<u16>,
    main_scheduled: Cell<bool>,
    /// The thread made a context (`USED`, C1 in context_var.rs), mirrored here when a run
    /// begins and when it turns true meanwhile: then a step or callback may leave one current,
    /// which the loop takes back after it (C2), and a spawn takes a copy of the current one.
    /// A field read on the hot paths, not a thread-local's. True outside a run (a spawn then
    /// reads `USED`).
    contexts: Cell<bool>,
    pub(super) reporter: Reporter,
    /// The first poll of an in-place task, while it runs (inplace.rs).
    pub(super) probe: Cell<Option<Probe>>,
    /// The children identities of every running gather, so their slots can be made when
    /// someone asks (inplace.rs).
    pub(super) lazy_sets: RefCell<Slab<Rc<LazySet>>>,
    /// How many in-place tasks were asked to cancel, so their owners scan their children only
    /// when it moved (inplace.rs).
    in_place_cancels: Cell<u64>,
    /// What `Task` handles read after their slot may be gone, until the handle drops: the
    /// names of named tasks, the messages of cancelled tasks whose outcome was taken, and the
    /// names of renamed tasks and the contexts of tasks that had one, once their outcome was
    /// taken. An entry is there only while a handle that forgets it when it drops lives.
    kept: RefCell<HashMap<TaskId, Kept>>,
    /// The slot of the current `run_until_complete` future's task, once it has one (set at
    /// its first poll, cleared when the run ends; inplace.rs `MainTask`).
    main_slot: Cell<Option<(u32, u16)>>,
    /// The cancel requests of that task not taken back (its `cancelling()`), kept here since
    /// its slot goes as it ends.
    main_cancels: Cell<u32>,
}

impl Scheduler {
    /// Whether the thread made a context (see `contexts`).
    #[inline(always)]
    pub(crate) fn contexts(&self) -> bool {
        self.contexts.get()
    }

    /// An empty scheduler for loop `id`, reporting to `handler` (else stderr).
    pub(crate) fn new(id: u16, handler: Option<ExceptionHandler>) -> Rc<Scheduler> {
        Rc::new(Scheduler {
            id,
            tasks: RefCell::new(TaskTable::default()),
            cells: CellPool::default(),
            ready: RefCell::new(ReadyQueue::new()),
            current: Cell::new(Current::NONE),
            main_gen: Cell::new(0),
            main_scheduled: Cell::new(false),
            // True outside a run (see `LoopContextGuard`).
            contexts: Cell::new(true),
            reporter: Reporter::new(handler),
            probe: Cell::new(None),
            lazy_sets: RefCell::new(Slab::new()),
            in_place_cancels: Cell::new(0),
            kept: RefCell::new(HashMap::new()),
            main_slot: Cell::new(None),
            main_cancels: Cell::new(0),
        })
    }

    /// The loop id its wakers carry.
    #[inline]
    pub(crate) fn id(&self) -> u16 {
        self.id
    }

    /// How many in-place tasks have been asked to cancel (inplace.rs).
    #[inline]
    pub(crate) fn in_place_cancels(&self) -> u64 {
        self.in_place_cancels.get()
    }

    /// Keeps what task `id` was told about cancellation after its slot is freed (its handle
    /// took the outcome): the last cancel message, for `Task::cancel_message`, and the
    /// requests not taken back, for `cancelling()`/`uncancel()` (asyncio's count outlives the
    /// task). Nothing is kept for a task never cancelled.
    pub(super) fn keep_cancel_record(&self, id: TaskId, message: Option<Rc<str>>, cancels: u32) {
        if message.is_none() && cancels == 0 {
            return;
        }
        let mut kept = self.kept.borrow_mut();
        let kept = kept.entry(id).or_default();
        kept.message = message;
        kept.cancels = cancels;
    }

    /// The kept cancel message of task `id`.
    pub(crate) fn kept_message(&self, id: TaskId) -> Option<Rc<str>> {
        self.kept.borrow().get(&id)?.message.clone()
    }

    /// The kept count of cancel requests of task `id` (`cancelling()` once its slot is freed).
    pub(crate) fn kept_cancels(&self, id: TaskId) -> u32 {
        self.kept.borrow().get(&id).map_or(0, |kept| kept.cancels)
    }

    /// `uncancel()` on task `id` once its slot is freed: takes one kept request back and
    /// returns how many remain.
    pub(crate) fn uncancel_kept(&self, id: TaskId) -> u32 {
        let mut kept = self.kept.borrow_mut();
        match kept.get_mut(&id) {
            Some(kept) if kept.cancels > 0 => {
                kept.cancels -= 1;
                kept.cancels
            }
            _ => 0,
        }
    }

    /// Keeps the name of task `id` for its handle, which does not carry it (`Task::name`).
    pub(super) fn keep_name(&self, id: TaskId, name: Rc<str>) {
        self.kept.borrow_mut().entry(id).or_default().name = Some(name);
    }

    /// The kept name of task `id`.
    pub(crate) fn kept_name(&self, id: TaskId) -> Option<Rc<str>> {
        self.kept.borrow().get(&id)?.name.clone()
    }

    /// Keeps `context` as the context of task `id` for its handle (`Task::get_context` once the
    /// outcome was taken).
    pub(crate) fn keep_context(&self, id: TaskId, context: crate::context_var::Context) {
        let old = self
            .kept
            .borrow_mut()
            .entry(id)
            .or_default()
            .context
            .replace(context);
        drop(old);
    }

    /// The join of task `id` takes its slot away: keeps for its handle what a rename and its
    /// context left in `meta` (the name only if it was renamed: a name given at spawn is kept
    /// already). Returns whether anything was kept, so the handle forgets it when it drops.
    /// Called under the table's borrow: the context moves, nothing is dropped.
    pub(super) fn keep_for_handle(&self, id: TaskId, meta: &mut TaskMeta) -> bool {
        let name = meta.name.clone().filter(|_| meta.renamed);
        let context = meta.context.take();
        if name.is_none() && context.is_none() {
            return false;
        }
        let mut kept = self.kept.borrow_mut();
        let kept = kept.entry(id).or_default();
        if name.is_some() {
            kept.name = name;
        }
        kept.context = context;
        true
    }

    /// The name of task `id` at `key`/`gen`: `Some` of its name, or of `None` if it has none,
    /// from its slot while it is there, else from what is kept for its handle; `None` if
    /// neither is there (the task is gone).
    pub(crate) fn task_name(&self, key: u32, gen: u16, id: TaskId) -> Option<Option<Rc<str>>> {
        let tasks = self.tasks.borrow();
        if let Some(slot) = tasks.get(key, gen) {
            return Some(tasks.meta_of(key, slot).and_then(|meta| meta.name.clone()));
        }
        drop(tasks);
        self.kept.borrow().get(&id).map(|kept| kept.name.clone())
    }

    /// Renames task `id` at `key`/`gen` (`set_name`): in its side-table entry, made if it has
    /// none, while its slot is there (dumps, reports, `TaskRef`s, the handle read it there),
    /// and in what is kept for its handle, if anything is. False if neither is there.
    pub(crate) fn rename(&self, key: u32, gen: u16, id: TaskId, name: Rc<str>) -> bool {
        let mut tasks = self.tasks.borrow_mut();
        let old = tasks.meta_mut(key, gen).map(|meta| {
            meta.renamed = true;
            meta.name.replace(name.clone())
        });
        drop(tasks);
        let in_slot = old.is_some();
        let mut kept = self.kept.borrow_mut();
        let in_kept = match kept.get_mut(&id) {
            Some(kept) => {
                kept.name = Some(name);
                true
            }
            None => false,
        };
        in_slot || in_kept
    }

    /// The context of task `id` at `key`/`gen` (`get_context`): the current one if its step
    /// runs now (its context is current, made now if it has none, as a first `set` makes one);
    /// else the one in its side-table entry; else, for a task that has none yet (spawned
    /// where no context was current, it runs in an empty one), a new empty context, given to
    /// the task for its next steps, so what it sees does not change and what it sets shows
    /// in the context returned. Once the slot is gone, the context kept for its handle;
    /// `None` if none is.
    ///
    /// A task polled in place (inplace.rs: the main task, a gather's child) runs in the context
    /// its poller makes current: while it is not being polled, it gets an empty context of its
    /// own, which it never runs in. Known gap: a task with no context asked for it while its
    /// step is under way but it is not the current task (from a gathered child of it, or an
    /// eager task it spawned) gets a context that becomes current only from its next step on;
    /// a first `set` later in that same step makes another one, which replaces it.
    pub(crate) fn task_context(&self, key: u32, gen: u16, id: TaskId) -> Option<crate::context_var::Context> {
        if self.current_key() == Some((key, gen)) {
            return Some(crate::context_var::current_context());
        }
        let tasks = self.tasks.borrow();
        match tasks.get(key, gen) {
            Some(slot) => {
                let (has, in_place) = (slot.state.has_context(), slot.state.in_place());
                let context = tasks.meta_of(key, slot).and_then(|meta| meta.context.clone());
                drop(tasks);
                if let (true, Some(context)) = (has, context) {
                    return Some(context);
                }
                // Made outside the borrow: the thread's first context tells the loop (C2).
                let context = crate::context_var::Context::new();
                if !in_place {
                    let gone = self.tasks.borrow_mut().put_context(key, gen, context.clone());
                    drop(gone);
                }
                Some(context)
            }
            None => {
                drop(tasks);
                self.kept.borrow().get(&id)?.context.clone()
            }
        }
    }

    /// The handle of task `id` is gone: so is what was kept for it (dropped outside the
    /// borrow: a context holds user values).
    pub(crate) fn forget_kept(&self, id: TaskId) {
        let kept = self.kept.borrow_mut().remove(&id);
        drop(kept);
    }

    /// Counts a cancel request of an in-place task.
    pub(super) fn count_in_place_cancel(&self) {
        self.in_place_cancels.set(self.in_place_cancels.get() + 1);
    }

    /// Queues a task (or the main future) for the next step, unless it is queued already,
    /// finished, or gone (T2, in table.rs).
    #[inline]
    pub(crate) fn schedule(&self, key: u32, gen: u16) {
        if key == MAIN_KEY {
            if gen == self.main_gen.get() && !self.main_scheduled.replace(true) {
                self.ready.borrow_mut().push(Runnable::Main);
            }
            return;
        }
        let mut tasks = self.tasks.borrow_mut();
        if let Some(slot) = tasks.get_mut(key, gen) {
            if !slot.state.scheduled() && !slot.state.done() {
                slot.state.set_scheduled(true);
                drop(tasks);
                self.queue_task(key, gen);
            }
        }
    }

    /// Queues the task at `key`/`gen`, whose slot was just marked `scheduled` (T2).
    #[inline]
    pub(super) fn queue_task(&self, key: u32, gen: u16) {
        self.ready.borrow_mut().push(Runnable::Task { key, gen });
    }

    /// A new `run_until_complete` future: earlier main wakers go stale, and it is queued.
    pub(crate) fn begin_main(&self) {
        let gen = self.main_gen.get().wrapping_add(1);
        self.main_gen.set(gen);
        self.schedule(MAIN_KEY, gen);
    }

    /// The wake target of the current `run_until_complete` future.
    #[inline]
    pub(crate) fn main_target(&self) -> WakeTarget {
        WakeTarget {
            loop_id: self.id,
            key: MAIN_KEY,
            gen: self.main_gen.get(),
        }
    }

    /// Queues a callback behind everything ready.
    #[inline]
    pub(crate) fn push(&self, runnable: Runnable) {
        self.ready.borrow_mut().push(runnable);
    }

    /// How many runnables are queued.
    #[inline]
    pub(crate) fn ready_len(&self) -> usize {
        self.ready.borrow().len()
    }

    /// True if nothing is queued.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.ready.borrow().is_empty()
    }

    /// Takes the next runnable off the queue. Taking the main future's entry lets a later
    /// wake queue it again.
    #[inline]
    pub(crate) fn pop(&self) -> Option<Runnable> {
        let next = self.ready.borrow_mut().pop();
        if let Some(Runnable::Main) = next {
            self.main_scheduled.set(false);
        }
        next
    }

    /// Whether an iteration that begins with `ready` runnables queued should give cache hints
    /// for its task steps ([`Scheduler::prefetch_steps`]): only when the queue and the table
    /// are long and the queue's first steps are scattered over the table. A short queue's
    /// tasks were mostly touched recently (a yield round), a small table's slots and cells
    /// stay in the cache, and steps in key order (tasks run in the order they were spawned,
    /// either way round as keys are reused) are a walk the hardware prefetcher follows by
    /// itself; there the hints would cost more than they save. Asked once per iteration, so
    /// a step pays one test of the answer.
    #[inline]
    pub(crate) fn hints_pay(&self, ready: usize) -> bool {
        if ready < HINT_QUEUE {
            return false;
        }
        let (Ok(queue), Ok(tasks)) = (self.ready.try_borrow(), self.tasks.try_borrow()) else {
            return false;
        };
        let spread = match (queue.task_at(0), queue.task_at(SCATTER_SPAN)) {
            (Some((first, _)), Some((later, _))) => first.abs_diff(later),
            _ => u32::MAX,
        };
        tasks.len() >= HINT_TABLE && spread > 2 * SCATTER_SPAN as u32
    }

    /// Cache hints for the steps queued behind the task step the loop just took: the slot of
    /// the step [`SLOT_AHEAD`] places on and, its slot hinted earlier, the cell of the step
    /// [`CELL_AHEAD`] places on. Tasks are stepped in wake order, scattered over the table
    /// when timers or I/O woke them, so without the hints each step begins with two cache
    /// misses in a row (slot, then cell).
    #[inline(never)]
    pub(crate) fn prefetch_steps(&self) {
        let (Ok(ready), Ok(tasks)) = (self.ready.try_borrow(), self.tasks.try_borrow()) else {
            return;
        };
        if let Some((key, _)) = ready.task_at(SLOT_AHEAD - 1) {
            tasks.prefetch_slot(key);
        }
        if let Some((key, gen)) = ready.task_at(CELL_AHEAD - 1) {
            tasks.prefetch_cell(key, gen);
        }
    }

    /// A cache hint for the slot of the task `waker` wakes, if it is one of this loop's
    /// (`H` being the loop's wake hook): the time driver calls it for the timer it fires a few
    /// wakes later, so the slot misses of a burst of timer wakes overlap.
    #[inline]
    pub(crate) fn prefetch_wake<H: WakeHook>(&self, waker: &std::task::Waker) {
        if let Some(target) = target_of::<H>(waker) {
            if target.loop_id == self.id && target.key != MAIN_KEY {
                if let Ok(tasks) = self.tasks.try_borrow() {
                    tasks.prefetch_slot(target.key);
                }
            }
        }
    }

    /// Empties the ready queue (closing the loop); the caller drops what it returns outside
    /// the borrow.
    pub(super) fn drain_ready(&self) -> Vec<Runnable> {
        self.ready.borrow_mut().drain()
    }

    /// The exception handler and the catch-then-report primitive.
    #[inline]
    pub(crate) fn reporter(&self) -> &Reporter {
        &self.reporter
    }

    /// Hands an error to the exception handler ([`Reporter::report`]).
    pub(crate) fn report(&self, message: &str, task: Option<TaskLabel>, payload: Option<Payload>) {
        self.reporter.report(message, task, payload);
    }

    /// Replaces the exception handler.
    pub(crate) fn set_exception_handler(&self, handler: ExceptionHandler) {
        self.reporter.set_handler(handler);
    }

    /// Number of tasks: slots in use (finished tasks whose outcome was not taken included) and
    /// gathered children whose slot is not made yet.
    pub(crate) fn len(&self) -> usize {
        self.tasks.borrow().len() + self.lazy_len()
    }

    /// The identity of the task at `key`/`gen` for error reports, if it is still there.
    pub(crate) fn label(&self, key: u32, gen: u16) -> Option<TaskLabel> {
        self.tasks.borrow().label(key, gen)
    }

    /// The running task's identity for error reports.
    pub(crate) fn current_label(&self) -> Option<TaskLabel> {
        let (key, gen) = self.current_key()?;
        self.label(key, gen)
    }

    /// A `TaskRef` for the task in `key`/`gen`, if it is still there.
    fn task_ref(self: &Rc<Self>, key: u32, gen: u16) -> Option<TaskRef> {
        let tasks = self.tasks.borrow();
        let slot = tasks.get(key, gen)?;
        let id = slot.state.id();
        let name = tasks.meta_of(key, slot).and_then(|meta| meta.name.clone());
        drop(tasks);
        Some(TaskRef::new(self.clone(), key, gen, id, name))
    }

    /// The task of the current `run_until_complete` future, while it runs and once it was
    /// first polled (`run`'s Ctrl-C handling cancels it, event_loop/interrupt.rs).
    pub(crate) fn main_task_ref(self: &Rc<Self>) -> Option<TaskRef> {
        let (key, gen) = self.main_slot.get()?;
        self.task_ref(key, gen)
    }

    /// Counts a cancel request (`delta` 1) or its withdrawal (-1) of the in-place task at
    /// `key`/`gen`, if it is the `run_until_complete` future's.
    #[cold]
    #[inline(never)]
    pub(super) fn count_main_cancel(&self, key: u32, gen: u16, delta: i32) {
        if self.main_slot.get() == Some((key, gen)) {
            self.main_cancels
                .set(self.main_cancels.get().saturating_add_signed(delta));
        }
    }

    /// The cancel requests of the current `run_until_complete` future's task not taken back,
    /// also once it has ended.
    pub(crate) fn main_cancels(&self) -> u32 {
        self.main_cancels.get()
    }

    /// Makes the in-place task at `key`/`gen` the `run_until_complete` future's (`None`: the
    /// run ended).
    pub(super) fn set_main_slot(&self, slot: Option<(u32, u16)>) {
        self.main_slot.set(slot);
        self.main_cancels.set(0);
    }

    /// The task whose step is running, if any.
    pub(crate) fn current_task_ref(self: &Rc<Self>) -> Option<TaskRef> {
        let (key, gen) = self.current_key()?;
        self.task_ref(key, gen)
    }

    /// Every task that has not finished, in slot order.
    pub(crate) fn all_task_refs(self: &Rc<Self>) -> Vec<TaskRef> {
        self.materialize_all();
        let live: Vec<(u32, u16)> = self
            .tasks
            .borrow()
            .iter()
            .filter(|(_, slot)| !slot.state.done())
            .map(|(key, slot)| (key, slot.state.gen()))
            .collect();
        live.into_iter()
            .filter_map(|(key, gen)| self.task_ref(key, gen))
            .collect()
    }

    /// Calls `visit` with every task slot in use, in slot order (for task dumps). `visit` runs
    /// under the table's borrow: it must not run user code.
    pub(crate) fn for_each_task(&self, mut visit: impl FnMut(&TaskView<'_>)) {
        self.materialize_all();
        let current = self.current_key();
        let tasks = self.tasks.borrow();
        for (key, slot) in tasks.iter() {
            let state = slot.state;
            visit(&TaskView {
                id: state.id(),
                meta: tasks.meta_of(key, slot),
                done: state.done(),
                running: current == Some((key, state.gen())),
                scheduled: state.scheduled(),
            });
        }
    }
}

/// What the scheduler keeps for one `Task` handle (see `Scheduler::kept`).
#[derive(Default)]
struct Kept {
    name: Option<Rc<str>>,
    /// The task's context once its slot is gone (`Task::get_context`).
    context: Option<crate::context_var::Context>,
    message: Option<Rc<str>>,
    /// The task's `cancelling()` count when its outcome was taken, less later `uncancel()`s.
    cancels: u32,
}

/// One task as [`Scheduler::for_each_task`] shows it.
pub(crate) struct TaskView<'a> {
    pub(crate) id: TaskId,
    /// Its diagnostics, if it has any (named, or spawned in debug mode).
    pub(crate) meta: Option<&'a TaskMeta>,
    /// Finished; the outcome was not taken yet.
    pub(crate) done: bool,
    /// Its step is running now.
    pub(crate) running: bool,
    /// Queued for a step.
    pub(crate) scheduled: bool,
}

impl crate::context_var::UsedMirror for Scheduler {
    /// Mirrors the thread's `USED` flag (context_var.rs), when a run begins or it turns true.
    fn set_contexts(&self, used: bool) {
        self.contexts.set(used);
    }
}
