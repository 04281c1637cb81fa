//! [`TaskGroup`]: structured concurrency, asyncio 3.11's `TaskGroup`.
//!
//! The group's state is shared (`Rc<RefCell<..>>`) by the group, its join future and one
//! `Member` per child, which each child's wrapper future owns: dropping the wrapper (the child
//! returned, or was cancelled) drops the member, which leaves the group and wakes the joiner
//! when it was the last. Borrows of the state never span user code: futures are polled, wakers
//! woken and tasks cancelled after the borrow ends.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use slab::Slab;

use super::group_child::{GroupChild, GroupTask, Member};
use super::group_errors::{ChildError, TaskGroupClosed};
use crate::task::cancel_scope;
use crate::task::TaskRef;
use crate::waker_slot::WakerSlot;

/// Structured concurrency: a set of child tasks that succeed together or fail together, none
/// outliving the group. asyncio 3.11's `async with TaskGroup() as tg`.
///
/// - [`TaskGroup::run`] is the asyncio form, `async with TaskGroup() as tg: <body>`: the body
///   runs as the group's owner code, and a failing child cancels the body too.
/// - [`spawn`](TaskGroup::spawn) starts a child task: a future returning `Result<T, E>`. The
///   returned [`GroupTask<T>`] (a [`Task<T>`](crate::Task) that may be dropped without a
///   warning) resolves to `Ok(value)` when the child returns `Ok(value)`.
///   [`spawn_plain`](TaskGroup::spawn_plain) starts a child that returns a plain value.
/// - **A child fails** when its future returns `Err(e)` or panics. The first failure cancels
///   every sibling, as asyncio's done callback does: once the children already scheduled in
///   that iteration have taken their step (one returning there keeps its value, one failing
///   there adds its error), their futures are dropped; the error (`e`, or
///   the panic payload) goes to the group, and the failed child's own task resolves to
///   `Err(TaskError::Cancelled)` since its error was handed over. A child cancelled on its own
///   (through its handle) is not a failure, as in asyncio.
/// - [`join`](TaskGroup::join) waits until every child has finished and returns `Ok(())`, or
///   every [`ChildError`] in the order they happened (asyncio's `ExceptionGroup`): the
///   children that failed in the same iteration (dropping a cancelled future cannot fail).
/// - **Cancelling the owner** (dropping the group, or dropping an unfinished join future, as
///   happens when the task awaiting it is cancelled or times out) cancels every child. So does
///   [`cancel`](TaskGroup::cancel).
/// - Children can spawn siblings through a [`spawner`](TaskGroup::spawner); `join` waits for
///   those too. Spawning into a group that is failing, joined or cancelled returns
///   [`TaskGroupClosed`].
///
/// With [`new`](TaskGroup::new) and [`join`](TaskGroup::join) (rather than
/// [`run`](TaskGroup::run)), a failure does not interrupt the owner while it does other work:
/// it learns of it at `join`. A child's failure that is never retrieved (the group is dropped
/// first) goes to the loop's exception handler: a panic with its payload, an `Err` as "TaskGroup
/// child error was never retrieved" (without the value, `E` need not be `Debug`).
///
/// ```
/// use std::time::Duration;
/// use aioloop::{sleep, ChildError, TaskGroup};
///
/// aioloop::run(async {
///     // Every child succeeds: the values come from the children's tasks.
///     let tg = TaskGroup::<String>::new();
///     let a = tg.spawn(async { sleep(Duration::from_millis(2)).await; Ok(1) }).unwrap();
///     let b = tg.spawn(async { Ok("two") }).unwrap();
///     tg.join().await.unwrap();
///     assert_eq!((a.await.unwrap(), b.await.unwrap()), (1, "two"));
///
///     // One child fails: the sibling is cancelled and join reports the error.
///     let tg = TaskGroup::new();
///     let slow = tg.spawn(async { sleep(Duration::from_secs(3600)).await; Ok(()) }).unwrap();
///     tg.spawn(async { Err::<(), _>("broken".to_string()) }).unwrap();
///     let errors = tg.join().await.unwrap_err();
///     assert!(matches!(&errors[..], [ChildError::Failed(e)] if e == "broken"));
///     assert!(slow.await.unwrap_err().is_cancelled());
/// });
/// ```
pub struct TaskGroup<E> {
    pub(super) state: Rc<RefCell<GroupState<E>>>,
}

pub(super) struct GroupState<E> {
    pub(super) phase: Phase,
    /// Children whose future has not been dropped yet.
    pub(super) running: usize,
    /// Every running child, to cancel it.
    pub(super) members: Slab<Option<TaskRef>>,
    pub(super) errors: Vec<ChildError<E>>,
    pub(super) joiner: WakerSlot,
    /// The task running the group's body ([`TaskGroup::run`]), woken when a child fails.
    pub(super) body: WakerSlot,
    /// The `TaskGroup` was dropped: nobody will take `errors`.
    pub(super) owner_gone: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Open,
    Failing,
    Cancelled,
    Joined,
}

impl<E: 'static> TaskGroup<E> {
    /// An empty group. Needs no running loop; [`spawn`](TaskGroup::spawn) does.
    pub fn new() -> Self {
        TaskGroup {
            state: Rc::new(RefCell::new(GroupState {
                phase: Phase::Open,
                running: 0,
                members: Slab::new(),
                errors: Vec::new(),
                joiner: WakerSlot::new(),
                body: WakerSlot::new(),
                owner_gone: false,
            })),
        }
    }

    /// Spawns `future` as a child task of the group (asyncio's `tg.create_task`). Its `Err`
    /// or panic fails the group (see [`TaskGroup`]).
    ///
    /// # Errors
    /// [`TaskGroupClosed`] if the group is failing, has been joined, or was cancelled.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Result<GroupTask<T>, TaskGroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        spawn_into(&self.state, None, future)
    }

    /// Spawns a child that returns a plain value (asyncio's `tg.create_task(coro)` of a
    /// coroutine that returns a value): it fails the group only by panicking.
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    #[track_caller]
    pub fn spawn_plain<F>(&self, future: F) -> Result<GroupTask<F::Output>, TaskGroupClosed>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_into(&self.state, None, plain(future))
    }

    /// Like [`spawn`](TaskGroup::spawn), with a name for the task.
    ///
    /// # Errors
    /// As [`spawn`](TaskGroup::spawn).
    #[track_caller]
    pub fn spawn_named<F, T>(
        &self,
        name: impl Into<String>,
        future: F,
    ) -> Result<GroupTask<T>, TaskGroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        spawn_into(&self.state, Some(name.into()), future)
    }

    /// A handle for the children to spawn siblings into this group (asyncio lets a child call
    /// `tg.create_task`); `join` then also waits for those.
    pub fn spawner(&self) -> TaskGroupSpawner<E> {
        TaskGroupSpawner {
            state: self.state.clone(),
        }
    }

    /// Waits until every child has finished: `Ok(())`, or every child's error in the order they
    /// happened. Afterwards the group is joined and takes no new children.
    ///
    /// Dropping the join future before it completes (its task was cancelled, a timeout passed)
    /// cancels every child.
    pub fn join(&self) -> TaskGroupJoin<'_, E> {
        TaskGroupJoin {
            group: self,
            completed: false,
        }
    }

    /// Cancels every child and closes the group to new ones; `join` then waits for the
    /// cancelled children's futures to be dropped.
    pub fn cancel(&self) {
        cancel_all(&self.state);
    }

    /// Number of children still running.
    pub fn len(&self) -> usize {
        self.state.borrow().running
    }

    /// True when no child is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once a child has failed (and the others were cancelled).
    pub fn is_failing(&self) -> bool {
        self.state.borrow().phase == Phase::Failing
    }
}

impl<E: 'static> Default for TaskGroup<E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        cancel_all(&self.state);
        let errors = {
            let mut state = self.state.borrow_mut();
            state.owner_gone = true;
            std::mem::take(&mut state.errors)
        };
        report_unretrieved(errors);
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("TaskGroup")
            .field("phase", &state.phase)
            .field("running", &state.running)
            .field("errors", &state.errors.len())
            .finish()
    }
}

/// Spawns a child into the group behind `state`, unless the group is closed.
#[track_caller]
fn spawn_into<E, F, T>(
    state: &Rc<RefCell<GroupState<E>>>,
    name: Option<String>,
    future: F,
) -> Result<GroupTask<T>, TaskGroupClosed>
where
    E: 'static,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
{
    let slot = {
        let mut state = state.borrow_mut();
        match state.phase {
            Phase::Open => {}
            Phase::Failing => return Err(TaskGroupClosed::Failing),
            Phase::Cancelled => return Err(TaskGroupClosed::Cancelled),
            Phase::Joined => return Err(TaskGroupClosed::Joined),
        }
        state.running += 1;
        state.members.insert(None)
    };
    let child = GroupChild::new(future, Member::new(state.clone(), slot));
    // If spawning panics (no running loop), the child is dropped and its member leaves.
    let task = match name {
        Some(name) => crate::spawn_named(name, child),
        None => crate::spawn(child),
    };
    let task_ref = task.task_ref();
    if let Some(member) = state.borrow_mut().members.get_mut(slot) {
        *member = Some(task_ref);
    }
    Ok(GroupTask::new(task))
}

/// Spawns into a [`TaskGroup`] from anywhere, typically from its children: see
/// [`TaskGroup::spawner`]. Cheap to clone. It does not keep the group open: once the group is
/// failing, joined, cancelled or dropped, spawning returns [`TaskGroupClosed`].
pub struct TaskGroupSpawner<E> {
    state: Rc<RefCell<GroupState<E>>>,
}

impl<E: 'static> TaskGroupSpawner<E> {
    /// As [`TaskGroup::spawn`].
    ///
    /// # Errors
    /// [`TaskGroupClosed`] if the group is failing, joined or cancelled.
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Result<GroupTask<T>, TaskGroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        spawn_into(&self.state, None, future)
    }

    /// As [`TaskGroup::spawn_plain`].
    ///
    /// # Errors
    /// As [`TaskGroupSpawner::spawn`].
    #[track_caller]
    pub fn spawn_plain<F>(&self, future: F) -> Result<GroupTask<F::Output>, TaskGroupClosed>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_into(&self.state, None, plain(future))
    }

    /// Cancels the group, as [`TaskGroup::cancel`]: every child is cancelled and the group is
    /// closed to new ones; under [`TaskGroup::run`] the body is cancelled too (dropped at the
    /// point where it waits), and `run` returns once the children have finished, with
    /// `Err` of the children's errors, empty if none failed. asyncio 3.15's `tg.cancel()`
    /// (gh-108951), which leaves the `async with` block without raising `CancelledError`.
    /// Callable from the body or from a child (which is cancelled with the others); a second
    /// call, or one after the group has ended, does nothing.
    pub fn cancel(&self) {
        cancel_all(&self.state);
    }

    /// As [`TaskGroup::spawn_named`].
    ///
    /// # Errors
    /// As [`TaskGroupSpawner::spawn`].
    #[track_caller]
    pub fn spawn_named<F, T>(
        &self,
        name: impl Into<String>,
        future: F,
    ) -> Result<GroupTask<T>, TaskGroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        spawn_into(&self.state, Some(name.into()), future)
    }
}

impl<E> Clone for TaskGroupSpawner<E> {
    fn clone(&self) -> Self {
        TaskGroupSpawner {
            state: self.state.clone(),
        }
    }
}

impl<E> fmt::Debug for TaskGroupSpawner<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupSpawner")
            .field("phase", &self.state.borrow().phase)
            .finish()
    }
}

/// A child future of a plain value, as one that never returns `Err`.
async fn plain<F: Future, E>(future: F) -> Result<F::Output, E> {
    Ok(future.await)
}

/// Cancels every running child and closes the group (unless it is joined already). Inside a
/// cancellation drop the children cancelled are recorded for it, so a `wait_for` or a
/// `timeout_scope` that dropped the group waits for them, as asyncio's `__aexit__` awaits the
/// aborted children before the timeout is reported.
fn cancel_all<E>(state: &RefCell<GroupState<E>>) {
    let (children, body) = {
        let mut state = state.borrow_mut();
        if state.phase != Phase::Joined {
            state.phase = Phase::Cancelled;
        }
        let children: Vec<TaskRef> = state.members.iter().filter_map(|(_, m)| m.clone()).collect();
        (children, state.body.take())
    };
    // A body run by `TaskGroup::run` is cancelled too, at its next poll.
    if let Some(body) = body {
        body.wake();
    }
    for child in children {
        if child.cancel() {
            cancel_scope::collect(|| child.clone());
        }
    }
}

/// Hands child panics nobody will retrieve to the loop's exception handler.
pub(super) fn report_unretrieved<E>(errors: Vec<ChildError<E>>) {
    let Some(core) = crate::context::current() else {
        return;
    };
    for error in errors {
        match error {
            ChildError::Panicked(payload) => {
                core.report("TaskGroup child panic was never retrieved", None, Some(payload));
            }
            // `E` need be neither `Debug` nor `Send`: the report says that, not what. asyncio
            // would raise it in the group's `ExceptionGroup`, past the timeout that dropped it.
            ChildError::Failed(_) => core.report(
                "TaskGroup child error was never retrieved (the child returned Err after its group was dropped)",
                None,
                None,
            ),
        }
    }
}

/// The future of [`TaskGroup::join`].
#[must_use = "futures do nothing unless awaited"]
pub struct TaskGroupJoin<'a, E> {
    group: &'a TaskGroup<E>,
    completed: bool,
}

impl<E> Future for TaskGroupJoin<'_, E> {
    type Output = Result<(), Vec<ChildError<E>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            !self.completed,
            "aioloop: a TaskGroup join was polled after it completed"
        );
        let outcome = poll_join(&self.group.state, cx);
        self.completed = outcome.is_ready();
        outcome
    }
}

/// Waits until every child of the group behind `state` has finished, then closes the group
/// (unless it was cancelled) and hands out the errors.
pub(super) fn poll_join<E>(
    state: &RefCell<GroupState<E>>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Vec<ChildError<E>>>> {
    let mut state = state.borrow_mut();
    if state.running > 0 {
        let old = state.joiner.register(cx.waker());
        drop(state);
        drop(old);
        return Poll::Pending;
    }
    if state.phase != Phase::Cancelled {
        state.phase = Phase::Joined;
    }
    let errors = std::mem::take(&mut state.errors);
    let joiner = state.joiner.take();
    drop(state);
    drop(joiner);
    Poll::Ready(if errors.is_empty() { Ok(()) } else { Err(errors) })
}

impl<E> Drop for TaskGroupJoin<'_, E> {
    fn drop(&mut self) {
        if !self.completed {
            cancel_all(&self.group.state);
        }
    }
}

impl<E> fmt::Debug for TaskGroupJoin<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupJoin")
            .field("group", self.group)
            .finish()
    }
}
