//! [`Task<T>`]: the handle of a spawned task, awaitable for its outcome.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::cancel_scope;
use super::cell::take_output;
use super::DoneCallbackId;
use super::Scheduler;
use super::{TaskError, TaskId, TaskRef};

/// A spawned task: asyncio's `Task`. Await it for `Ok(output)`, or `Err(TaskError)` if the task
/// was cancelled or panicked.
///
/// **Dropping a `Task`** detaches it: the loop owns every task and keeps running it (asyncio's
/// semantics, without its garbage-collection footgun), with one exception: a handle that is
/// being *awaited* (polled, pending) and is dropped because the task awaiting it was cancelled
/// (its future dropped by the loop, a [`wait_for`](crate::wait_for) timing out, an
/// [`until_cancelled`](crate::until_cancelled) giving up) cancels its task, as asyncio's
/// cancellation travels through `await`. [`shield`](crate::shield) stops that. Cancel with
/// [`Task::cancel`]. A panic in a task whose handle was dropped without taking the outcome
/// goes to the loop's exception handler.
///
/// Awaiting a task that has not finished panics outside the loop that runs it (another
/// loop, or none running): only its own loop runs it, so it would never finish there
/// (asyncio raises "attached to a different loop"). A finished task's outcome can be taken
/// anywhere on its thread.
///
/// ```
/// aioloop::run(async {
///     let task = aioloop::spawn(async { 6 * 7 });
///     assert_eq!(task.await.unwrap(), 42);
///
///     let forever = aioloop::spawn(std::future::pending::<()>());
///     assert!(forever.cancel());
///     assert!(forever.await.unwrap_err().is_cancelled());
/// });
/// ```
#[must_use = "dropping a Task detaches it; call .cancel() to stop it, or await it for its output"]
pub struct Task<T> {
    sched: Rc<Scheduler>,
    /// The task's id; its low 16 bits are the slot's generation (state.rs).
    id: TaskId,
    key: u32,
    /// `FINISHED`, `AWAITED`, `KEPT`, and what the taken outcome was. A `Cell`: a rename
    /// through `&self` ([`Task::set_name`]) may make the scheduler keep a name for the handle.
    flags: Cell<u8>,
    _output: PhantomData<fn() -> T>,
}

/// The outcome was handed out (or found gone): the slot is no longer ours.
const FINISHED: u8 = 1;
/// Polled and pending: dropped as a cancellation, the handle cancels the task.
const AWAITED: u8 = 2;
/// The outcome taken was `Cancelled`.
const WAS_CANCELLED: u8 = 4;
/// The outcome taken was a panic.
const WAS_PANIC: u8 = 8;
/// Dropped, this handle detaches its task whatever the scope: a [`shield`](crate::shield)'s,
/// or the one inside a [`SharedTask`](super::SharedTask), whose holders cancel for it.
const DETACH_ON_DROP: u8 = 16;
/// The scheduler keeps a record for this handle until it drops (`Scheduler::kept`; 24 bytes:
/// the handle does not carry it): the task's name, given at spawn or by a rename, or its
/// context once the outcome was taken.
const KEPT: u8 = 32;

impl<T: 'static> Task<T> {
    /// The handle of the task `id` at `key` (whose generation is `id`'s low 16 bits); `named`
    /// if the scheduler keeps a name for it (`Scheduler::keep_name`, flagged `KEPT`).
    #[inline]
    pub(crate) fn new(sched: Rc<Scheduler>, key: u32, id: TaskId, named: bool) -> Self {
        Task {
            sched,
            id,
            key,
            flags: Cell::new(if named { KEPT } else { 0 }),
            _output: PhantomData,
        }
    }

    /// Takes the outcome if the task has finished, without waiting: asyncio's `result()` /
    /// `exception()` in one. `None` while it runs, or once the outcome was taken (by this call
    /// or by awaiting the handle); [`is_done`](Task::is_done) and
    /// [`is_cancelled`](Task::is_cancelled) keep answering after that.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let mut task = aioloop::spawn(async { 7 });
    ///     assert!(task.result().is_none(), "not run yet");
    ///     aioloop::yield_now().await;
    ///     assert_eq!(task.result().unwrap().unwrap(), 7);
    ///     assert!(task.is_done());
    /// });
    /// ```
    pub fn result(&mut self) -> Option<Result<T, TaskError>> {
        if self.flags.get() & FINISHED != 0 || !self.sched.is_done(self.key, self.gen()) {
            return None;
        }
        // Not through `poll`: a spent coop budget must not hide a finished outcome.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.sched.poll_join(self.key, self.gen(), self.id, &mut cx) {
            Poll::Ready((cell, kept)) => Some(self.take_from(cell, kept)),
            Poll::Pending => None,
        }
    }

    /// Makes this task awaitable from several places: a [`SharedTask`](super::SharedTask)
    /// that every clone can await for a clone of the outcome (asyncio's `await task` from
    /// several coroutines). See [`SharedTask`](super::SharedTask) for the rules.
    ///
    /// # Panics
    /// If the outcome was already taken from this handle (by awaiting it or by
    /// [`result`](Task::result)): there is nothing left to share.
    #[track_caller]
    pub fn shared(self) -> super::SharedTask<T>
    where
        T: Clone,
    {
        assert!(
            self.flags.get() & FINISHED == 0,
            "aioloop: Task::shared called after the task's outcome was taken"
        );
        self.flags.set(DETACH_ON_DROP | (self.flags.get() & KEPT));
        super::SharedTask::new(self)
    }

    /// Takes the outcome out of a finished `cell` (`None`: the loop closed and dropped the
    /// unfinished task) and records what it was, for the accessors that keep answering.
    /// `kept`: the join kept a record for the handle (a renamed task's name, or the task's
    /// context), which it forgets when it drops (`KEPT`).
    fn take_from(&mut self, cell: Option<super::cell_box::CellBox>, kept: bool) -> Result<T, TaskError> {
        let outcome = match cell {
            Some(mut cell) => {
                let outcome = take_output::<T>(cell.as_mut());
                // The outcome is out: the cell holds nothing to drop.
                self.sched.recycle_emptied(cell);
                outcome
            }
            None => Err(TaskError::Cancelled),
        };
        self.flags.set(
            FINISHED
                | (self.flags.get() & KEPT)
                | (kept as u8 * KEPT)
                | match &outcome {
                    Err(TaskError::Cancelled) => WAS_CANCELLED,
                    Err(TaskError::Panicked(_)) => WAS_PANIC,
                    Ok(_) => 0,
                },
        );
        outcome
    }

    /// Calls `callback` with the task once it is done (asyncio's `add_done_callback`): on the
    /// loop, as a callback after the step in which it finished; at the next iteration if it
    /// has finished already. The callbacks and the wake-ups of the tasks awaiting this one are
    /// queued in the order they were registered, as in asyncio. Returns the id that
    /// [`remove_done_callback`](Task::remove_done_callback) takes.
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskRef) + 'static) -> DoneCallbackId {
        let task = self.task_ref();
        // Runs in a copy of the current context, as asyncio's done callbacks.
        let run: Box<dyn FnOnce()> = crate::context_var::bind(Box::new(move || callback(&task)));
        let id = self.sched.add_done_callback(self.key, self.gen(), run);
        DoneCallbackId(id.unwrap_or(u64::MAX))
    }

    /// Removes a done callback that has not been queued yet; false if it is not there.
    pub fn remove_done_callback(&self, id: DoneCallbackId) -> bool {
        self.sched.remove_done_callback(self.key, self.gen(), id.0)
    }
}

impl<T> Task<T> {
    /// Requests cancellation: at the loop's next iteration the task's future is dropped (its
    /// destructors run; what it awaits is cancelled in turn) and awaiting the task gives
    /// `Err(TaskError::Cancelled)`. A task that awaits [`until_cancelled`](crate::until_cancelled)
    /// sees the request instead, runs its cleanup, and then ends cancelled.
    ///
    /// Returns false if the task had already finished (asyncio's `Task.cancel()`), true
    /// otherwise. A task that finishes during the same step in which it is cancelled counts as
    /// cancelled, as in asyncio. On a task that has finished with a panic, `cancel()` marks the
    /// panic as seen: if nobody takes the outcome, it is not reported to the exception handler
    /// (asyncio's `cancel()` likewise silences "Task exception was never retrieved").
    pub fn cancel(&self) -> bool {
        self.flags.get() & FINISHED == 0 && self.sched.cancel(self.key, self.gen(), None)
    }

    /// Like [`cancel`](Task::cancel), with a message the awaiter reads with
    /// [`cancel_message`](Task::cancel_message) (asyncio's `cancel(msg)`).
    ///
    /// ```
    /// aioloop::run(async {
    ///     let mut task = aioloop::spawn(std::future::pending::<()>());
    ///     task.cancel_with("shutting down");
    ///     assert!((&mut task).await.unwrap_err().is_cancelled());
    ///     assert_eq!(task.cancel_message().as_deref(), Some("shutting down"));
    /// });
    /// ```
    pub fn cancel_with(&self, message: impl Into<String>) -> bool {
        let message: Rc<str> = message.into().into();
        self.flags.get() & FINISHED == 0 && self.sched.cancel(self.key, self.gen(), Some(message))
    }

    /// The message of the last [`cancel_with`](Task::cancel_with), also after the cancelled
    /// outcome was taken.
    pub fn cancel_message(&self) -> Option<String> {
        let message = match self.flags.get() & FINISHED {
            0 => self.sched.cancel_message(self.key, self.gen()),
            _ => self.sched.kept_message(self.id),
        };
        message.map(|m| m.to_string())
    }

    /// The cancel requests made and not taken back: asyncio 3.11's `cancelling()` (what
    /// timeout scopes and task groups rest on). As in asyncio, the count stays once the task
    /// has finished, also after its outcome was taken.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let mut task = aioloop::spawn(std::future::pending::<()>());
    ///     task.cancel();
    ///     assert_eq!(task.cancelling(), 1);
    ///     assert!((&mut task).await.unwrap_err().is_cancelled());
    ///     assert_eq!(task.cancelling(), 1, "kept after the end");
    /// });
    /// ```
    pub fn cancelling(&self) -> u32 {
        match self.flags.get() & FINISHED {
            0 => self.sched.cancelling(self.key, self.gen(), self.id),
            _ => self.sched.kept_cancels(self.id),
        }
    }

    /// Takes one cancel request back and returns how many remain: asyncio 3.11's `uncancel()`.
    /// At zero a running task is no longer being cancelled: if it observed the request (see
    /// [`until_cancelled`](crate::until_cancelled)), it now ends normally. On a finished task
    /// only the count changes: a cancelled task stays cancelled.
    pub fn uncancel(&self) -> u32 {
        match self.flags.get() & FINISHED {
            0 => self.sched.uncancel(self.key, self.gen(), self.id),
            _ => self.sched.uncancel_kept(self.id),
        }
    }

    /// True once the task has finished: returned, panicked or been cancelled.
    pub fn is_done(&self) -> bool {
        self.flags.get() & FINISHED != 0 || self.sched.is_done(self.key, self.gen())
    }

    /// True once the task has finished by cancellation (so `is_cancelled` implies `is_done`,
    /// as asyncio's `cancelled()` does); it stays true after the outcome was taken.
    pub fn is_cancelled(&self) -> bool {
        match self.flags.get() & FINISHED {
            0 => self.sched.is_cancelled(self.key, self.gen()),
            _ => self.flags.get() & WAS_CANCELLED != 0,
        }
    }

    /// True once the task has panicked (asyncio's `task.exception() is not None`); it stays
    /// true after the outcome was taken.
    pub fn is_panicked(&self) -> bool {
        match self.flags.get() & FINISHED {
            0 => self.sched.is_panicked(self.key, self.gen()),
            _ => self.flags.get() & WAS_PANIC != 0,
        }
    }

    /// An untyped reference to this task, as [`current_task`](crate::current_task) returns.
    pub fn task_ref(&self) -> TaskRef {
        TaskRef::new(
            self.sched.clone(),
            self.key,
            self.gen(),
            self.id,
            self.given_name(),
        )
    }

    /// The task's id, unique on its loop.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (asyncio's `get_name()`): the last one given by
    /// [`set_name`](Task::set_name), else the one given to [`spawn_named`](crate::spawn_named),
    /// else `Task-<id>`.
    pub fn name(&self) -> String {
        super::meta::display_name(self.id, self.given_name().as_deref())
    }

    /// Renames the task (asyncio's `Task.set_name`): from now on [`name`](Task::name) here, on
    /// every [`TaskRef`] of the task (also those taken before), in
    /// [`dump_tasks`](crate::dump_tasks) and in the reports of the exception handler and of
    /// debug mode give `name`. A finished task can be renamed too, also after its outcome was
    /// taken. Inside the task, [`current_task`](crate::current_task) gives a [`TaskRef`] with
    /// the same method.
    ///
    /// A task never renamed pays nothing for this: the name lives beside the task's slot,
    /// made by the first rename.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let mut task = aioloop::spawn_named("fetch", async {
    ///         aioloop::current_task().unwrap().set_name("fetch: parsing");
    ///     });
    ///     let before = task.task_ref();
    ///     task.set_name("fetch: connecting");
    ///     assert_eq!(before.name(), "fetch: connecting");
    ///     (&mut task).await.unwrap();
    ///     assert_eq!(task.name(), "fetch: parsing", "the task renamed itself");
    ///     task.set_name("fetch: done");
    ///     assert_eq!(task.name(), "fetch: done");
    /// });
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let name: Rc<str> = name.into().into();
        if !self.sched.rename(self.key, self.gen(), self.id, name.clone()) {
            // Nothing holds the task's name any more (its outcome was taken, or the loop
            // closed): the scheduler keeps it for this handle, which forgets it when it drops.
            self.sched.keep_name(self.id, name);
            self.flags.set(self.flags.get() | KEPT);
        }
    }

    /// The [`Context`](crate::Context) the task runs in (asyncio 3.12's `Task.get_context()`):
    /// the same context, not a copy, so [`Context::get`](crate::Context::get) sees what the
    /// task has set, in its steps so far and later ones. Every task has one, as in asyncio: a
    /// copy of the context current where it was spawned (the given one under
    /// [`Context::spawn`](crate::Context::spawn)); inside the task's step it is the current
    /// context. A task spawned where no context was current runs in an empty one, made when
    /// first asked for (or by the task's first [`ContextVar::set`](crate::ContextVar::set)).
    ///
    /// It stays the task's context after the task finished (returned, cancelled or
    /// panicked), also once its outcome was taken: the scheduler keeps it for the handle.
    ///
    /// Tasks the loop does not step in a slot of their own (the main task of
    /// [`run`](crate::run), and a coroutine a [`gather`](crate::gather!) polls in place,
    /// which runs in its awaiting task's context) give their context only while they run
    /// ([`current_task`](crate::current_task)`().get_context()` inside them); asked from
    /// elsewhere, an empty context they never run in.
    ///
    /// ```
    /// use aioloop::{copy_context, ContextVar};
    /// static USER: ContextVar<&str> = ContextVar::new("user");
    ///
    /// aioloop::run(async {
    ///     let ctx = copy_context();
    ///     let mut task = ctx.spawn(async { USER.set("ada") });
    ///     (&mut task).await.unwrap();
    ///     assert_eq!(task.get_context(), ctx, "the same context");
    ///     assert_eq!(ctx.get(&USER), Some("ada"));
    ///
    ///     let task = aioloop::spawn(async { USER.set("grace") });
    ///     let context = task.get_context();
    ///     task.await.unwrap();
    ///     assert_eq!(context.get(&USER), Some("grace"), "set after it was asked for");
    ///     assert_eq!(USER.get(), None, "the task's own context, not the caller's");
    /// });
    /// ```
    pub fn get_context(&self) -> crate::Context {
        if let Some(context) = self.sched.task_context(self.key, self.gen(), self.id) {
            return context;
        }
        // Nothing holds a context of the task: it ran in none. The scheduler keeps the empty
        // one made now for this handle, so it is the same next time.
        let context = crate::Context::new();
        self.sched.keep_context(self.id, context.clone());
        self.flags.set(self.flags.get() | KEPT);
        context
    }

    /// The task's name if it has one: its slot's while it is there, else what the scheduler
    /// keeps for this handle.
    fn given_name(&self) -> Option<Rc<str>> {
        match self.flags.get() & FINISHED {
            0 => self.sched.task_name(self.key, self.gen(), self.id).flatten(),
            _ => self.sched.kept_name(self.id),
        }
    }

    /// The slot's generation: the id's low 16 bits (state.rs).
    #[inline]
    fn gen(&self) -> u16 {
        self.id.0 as u16
    }

    /// This handle is not awaited (any more): dropped, it detaches the task whatever the
    /// reason (`shield`, `wait`).
    pub(crate) fn unawait(&mut self) {
        self.flags.set(self.flags.get() & !AWAITED);
    }

    /// Dropped, this handle detaches the task, also in a scope where every dropped handle
    /// counts as awaited (a zero `wait_for`): for a [`shield`](crate::shield) being dropped.
    pub(crate) fn detach_on_drop(&mut self) {
        self.flags.set((self.flags.get() & !AWAITED) | DETACH_ON_DROP);
    }

    /// This handle's awaiter is being dropped as a cancellation: the task is cancelled (and
    /// recorded for a `wait_for` that waits for it), as asyncio's cancellation travels
    /// through `await`.
    pub(crate) fn cancel_through_await(&self) {
        if self.flags.get() & FINISHED == 0
            && self.sched.cancel(self.key, self.gen(), cancel_scope::message())
        {
            cancel_scope::collect(|| self.task_ref());
        }
    }

    /// Whether the task has finished, registering `entry` (a place in the task's list of
    /// joiners, see `Scheduler::poll_joiner`) to be woken when it does.
    pub(crate) fn poll_joiner(&self, entry: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        match self.flags.get() & FINISHED {
            0 => self.sched.poll_joiner(self.key, self.gen(), entry, cx),
            _ => Poll::Ready(()),
        }
    }

    /// Panics if the running task is this one: it would wait for itself forever.
    pub(crate) fn assert_not_current(&self) {
        self.sched.assert_not_current(self.key, self.gen());
    }

    /// Panics unless the task's loop is the one running on this thread: an unfinished task
    /// of another loop (or of none running) would be waited for forever, as only its own loop
    /// runs it (asyncio raises "attached to a different loop"). Called before a poll of the
    /// handle returns `Pending`.
    #[inline]
    pub(crate) fn assert_on_own_loop(&self) {
        if !super::current::is_current(&self.sched) {
            awaited_off_its_loop();
        }
    }

    /// Gives up `entry` in the task's list of joiners (its holder is dropped unfinished).
    pub(crate) fn leave_joiners(&self, entry: usize) {
        if self.flags.get() & FINISHED == 0 {
            self.sched.leave_joiners(self.key, self.gen(), entry);
        }
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.sched.claim(&*self);
        assert!(
            self.flags.get() & FINISHED == 0,
            "aioloop: a Task was polled after it returned its outcome"
        );
        super::coop::poll_coop(cx, |cx| {
            match self.sched.poll_join(self.key, self.gen(), self.id, cx) {
                Poll::Pending => {
                    self.assert_on_own_loop();
                    if self.flags.get() & AWAITED == 0 {
                        self.assert_not_current();
                    }
                    self.flags.set(self.flags.get() | AWAITED);
                    Poll::Pending
                }
                Poll::Ready((cell, kept)) => Poll::Ready(self.take_from(cell, kept)),
            }
        })
    }
}

/// The panic of [`Task::assert_on_own_loop`] (out of line: the check is on every pending
/// poll of a handle).
#[cold]
#[inline(never)]
#[track_caller]
fn awaited_off_its_loop() -> ! {
    panic!(
        "aioloop: a Task was awaited outside the event loop that runs it (it would never finish \
         there: await a task inside the loop that spawned it, or send its result through a \
         thread-safe channel)"
    )
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if self.flags.get() & FINISHED == 0 {
            // Dropped as a cancellation while awaited: cancellation travels through the await
            // (task/cancel_scope.rs).
            if cancel_scope::active()
                && self.flags.get() & DETACH_ON_DROP == 0
                && (self.flags.get() & AWAITED != 0 || cancel_scope::strict())
            {
                self.cancel_through_await();
            }
            self.sched.detach(self.key, self.gen());
        }
        // What the scheduler keeps for a handle: its name and context, and for a task
        // cancelled (or panicked in the cleanup of a cancellation) its cancel message and count.
        if self.flags.get() & (WAS_CANCELLED | WAS_PANIC | KEPT) != 0 {
            self.sched.forget_kept(self.id);
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.given_name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_is_three_words() {
        assert_eq!(std::mem::size_of::<Task<u64>>(), 24);
    }

    /// A named handle's name is kept by the scheduler for the handle, and forgotten when the
    /// handle drops (the map does not grow with every named spawn).
    #[test]
    fn dropping_a_handle_forgets_its_name() {
        let sched = Scheduler::new(0, None);
        let task = sched.spawn(async {}, None, Some(Rc::from("gone")));
        let id = task.id();
        assert_eq!(sched.kept_name(id).as_deref(), Some("gone"));
        drop(task);
        assert!(sched.kept_name(id).is_none());
    }
}
