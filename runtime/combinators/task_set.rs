//! [`TaskSet`]: a dynamic set of tasks whose outcomes come out in completion order.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::{FusedStream, Stream};
use slab::Slab;

use super::done_list::{DoneList, MemberKey, Notify};
use crate::task::{Task, TaskError, TaskRef};

/// A set of tasks, all with the same output type, whose outcomes you take one at a time as
/// they finish: tokio's `JoinSet`, asyncio's "set of tasks" idiom (`tasks = set()`,
/// `asyncio.wait(tasks, return_when=FIRST_COMPLETED)` in a loop).
///
/// - [`spawn`](TaskSet::spawn) starts a task in the set (it runs at once, whether or not you
///   join it); [`join_next`](TaskSet::join_next) waits for the next task to finish and hands its
///   outcome over: `Some(Ok(output))`, `Some(Err(TaskError))` if it panicked or was cancelled,
///   `None` once the set is empty. Tasks that finish in the same iteration come out in the order
///   they finished. `TaskSet` is also a `Stream` of those outcomes.
/// - [`len`](TaskSet::len) counts the tasks whose outcome was not taken yet (finished or not).
/// - **Dropping the set cancels every task in it** (their futures are dropped at the loop's next
///   iteration), as does [`cancel_all`](TaskSet::cancel_all); [`detach_all`](TaskSet::detach_all)
///   lets them run on without the set. A panic whose outcome is never taken (the set was
///   dropped first) goes to the loop's exception handler, as with a dropped [`Task`].
///
/// How it differs from [`TaskGroup`](crate::TaskGroup): a group is fail-fast structured
/// concurrency (children return `Result`, the first `Err` or panic cancels the siblings, and
/// `join` waits for all of them); a `TaskSet` is not fail-fast: a task's panic or cancellation is
/// just that task's outcome, the others keep running, and you take outcomes one by one, which
/// suits a server's connection handlers or a crawler's bounded pool of fetches.
///
/// ```
/// use std::time::Duration;
/// use aioloop::{sleep, TaskSet};
///
/// aioloop::run(async {
///     let mut set = TaskSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     assert_eq!(set.len(), 3);
///     let mut order = Vec::new();
///     while let Some(outcome) = set.join_next().await {
///         order.push(outcome.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
///     assert!(set.is_empty());
/// });
/// ```
pub struct TaskSet<T: 'static> {
    tasks: Slab<Entry<T>>,
    done: DoneList,
    next_stamp: u64,
}

struct Entry<T: 'static> {
    task: Task<T>,
    stamp: u64,
}

impl<T: 'static> TaskSet<T> {
    /// An empty set. Needs no running loop; [`spawn`](TaskSet::spawn) does.
    pub fn new() -> Self {
        TaskSet {
            tasks: Slab::new(),
            done: DoneList::default(),
            next_stamp: 0,
        }
    }

    /// Spawns `future` as a task of the set (see [`spawn`](crate::spawn)) and returns a
    /// [`TaskRef`] to cancel or inspect it; its outcome comes from
    /// [`join_next`](TaskSet::join_next).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> TaskRef
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(None, future)
    }

    /// Like [`spawn`](TaskSet::spawn), with a name for the task.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let mut set = aioloop::TaskSet::new();
    ///     let task = set.spawn_named("worker-1", async { 1 });
    ///     assert_eq!(task.name(), "worker-1");
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 1);
    /// });
    /// ```
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn spawn_named<F>(&mut self, name: impl Into<String>, future: F) -> TaskRef
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(Some(name.into()), future)
    }

    #[track_caller]
    fn insert<F>(&mut self, name: Option<String>, future: F) -> TaskRef
    where
        F: Future<Output = T> + 'static,
    {
        let entry = self.tasks.vacant_entry();
        let member = MemberKey {
            key: entry.key(),
            stamp: self.next_stamp,
        };
        let future = Notify::new(future, self.done.clone(), member);
        // If spawning panics (no running loop), the future is dropped and reports a member
        // that is not in the set: `join_next` skips it.
        let task = match name {
            Some(name) => crate::spawn_named(name, future),
            None => crate::spawn(future),
        };
        self.next_stamp += 1;
        let task_ref = task.task_ref();
        entry.insert(Entry {
            task,
            stamp: member.stamp,
        });
        task_ref
    }

    /// Waits for the next task to finish and takes its outcome: `Some(Ok(output))`, or
    /// `Some(Err(TaskError))` if it panicked or was cancelled; `None` when the set is empty.
    ///
    /// Cancel-safe: dropping the future before it completes loses no outcome (as in a
    /// [`select!`](crate::select!) loop).
    pub async fn join_next(&mut self) -> Option<Result<T, TaskError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The outcome of a task that has already finished, if any, without waiting; `None` if no
    /// task has finished (or the set is empty).
    ///
    /// ```
    /// aioloop::run(async {
    ///     let mut set = aioloop::TaskSet::new();
    ///     set.spawn(async { 7 });
    ///     assert!(set.try_join_next().is_none()); // spawned, not run yet
    ///     aioloop::yield_now().await;
    ///     assert_eq!(set.try_join_next().unwrap().unwrap(), 7);
    /// });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, TaskError>> {
        match self.next_finished(&mut Context::from_waker(Waker::noop()), false) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => None,
        }
    }

    /// Polls for the next outcome (the building block of [`join_next`](TaskSet::join_next)):
    /// `Ready(None)` when the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, TaskError>>> {
        self.next_finished(cx, true)
    }

    fn next_finished(&mut self, cx: &mut Context<'_>, register: bool) -> Poll<Option<Result<T, TaskError>>> {
        loop {
            if self.tasks.is_empty() {
                return Poll::Ready(None);
            }
            let Some(member) = self.done.pop(register.then(|| cx.waker())) else {
                return Poll::Pending;
            };
            let Some(entry) = self.tasks.get_mut(member.key).filter(|e| e.stamp == member.stamp) else {
                continue; // a detached member, or one that failed to spawn
            };
            match Pin::new(&mut entry.task).poll(cx) {
                Poll::Ready(outcome) => {
                    self.tasks.remove(member.key);
                    return Poll::Ready(Some(outcome));
                }
                // Its future is gone but the loop has not recorded the end yet; the task's own
                // join wakes us (not with `try_join_next`'s no-op waker: then it is tried again
                // at the next call).
                Poll::Pending => {
                    self.done.push_front(member);
                    return Poll::Pending;
                }
            }
        }
    }

    /// Cancels every task of the set (see [`Task::cancel`]). They stay in the set: their
    /// outcomes (`Err(TaskError::Cancelled)`, or the output of a task that had finished
    /// already) still come from [`join_next`](TaskSet::join_next).
    pub fn cancel_all(&self) {
        for (_, entry) in &self.tasks {
            entry.task.cancel();
        }
    }

    /// Cancels every task and waits until all have finished, discarding their outcomes; the set
    /// is then empty.
    pub async fn shutdown(&mut self) {
        self.cancel_all();
        while self.join_next().await.is_some() {}
    }

    /// Removes every task from the set without cancelling it: they run on, detached (as a
    /// dropped [`Task`] handle does).
    pub fn detach_all(&mut self) {
        self.tasks.clear();
        self.done.clear();
    }

    /// Number of tasks in the set: running, or finished with their outcome not taken yet.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<T: 'static> Default for TaskSet<T> {
    fn default() -> Self {
        TaskSet::new()
    }
}

/// Spawns every future of the iterator into the set.
///
/// # Panics
/// If no loop is running on this thread.
impl<T: 'static, F> Extend<F> for TaskSet<T>
where
    F: Future<Output = T> + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        for future in futures {
            self.spawn(future);
        }
    }
}

/// A set of a task for every future of the iterator: `futures.collect::<TaskSet<_>>()`.
///
/// ```
/// aioloop::run(async {
///     let mut set: aioloop::TaskSet<u32> = (1..=3).map(|i| async move { i * 10 }).collect();
///     set.extend([async { 40 }]);
///     let mut total = 0;
///     while let Some(outcome) = set.join_next().await {
///         total += outcome.unwrap();
///     }
///     assert_eq!(total, 100);
/// });
/// ```
///
/// # Panics
/// If no loop is running on this thread.
impl<T: 'static, F> FromIterator<F> for TaskSet<T>
where
    F: Future<Output = T> + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> Self {
        let mut set = TaskSet::new();
        set.extend(futures);
        set
    }
}

impl<T: 'static> Drop for TaskSet<T> {
    fn drop(&mut self) {
        for (_, entry) in &self.tasks {
            entry.task.cancel();
        }
    }
}

impl<T: 'static> Stream for TaskSet<T> {
    type Item = Result<T, TaskError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<T: 'static> FusedStream for TaskSet<T> {
    fn is_terminated(&self) -> bool {
        self.is_empty()
    }
}

impl<T: 'static> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.tasks.len()).finish()
    }
}
