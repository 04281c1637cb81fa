//! [`wait`]: wait for some or all of a set of tasks, without taking or cancelling them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::ready::ReadyList;
use crate::task::Task;
use crate::time::Sleep;

/// When [`wait`] returns: asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any task finishes (returns, panics or is cancelled).
    FirstCompleted,
    /// As soon as any task panics (asyncio: raises an exception), or when all have finished.
    /// A cancelled task does not count, as in asyncio; nor does a task whose output is an
    /// `Err` value, which returned normally (use [`try_gather`](crate::try_gather()) or a
    /// [`TaskGroup`](crate::TaskGroup) to stop at the first `Err`).
    FirstException,
    /// When every task has finished (the default).
    #[default]
    AllCompleted,
}

/// Waits for `tasks` until `return_when` is met or `timeout` passes, and returns the tasks
/// split into `(done, pending)`: asyncio's `wait(aws, timeout=, return_when=)`.
///
/// - Nothing is taken or cancelled: every task comes back. Awaiting a task of `done` gives its
///   outcome at once; the tasks of `pending` keep running.
/// - `done` holds every task that has finished by the time `wait` returns (all those that
///   finished in the same loop iteration, not just the first), `pending` the rest; both keep
///   the order of `tasks`.
/// - A timeout does not raise (as in asyncio): it returns with whatever is done. The clock
///   starts at the first poll; `Duration::ZERO` returns after one loop iteration.
/// - An empty `tasks` returns `(vec![], vec![])` at once (asyncio raises `ValueError`).
///
/// Each task is watched through its own waker, so a task finishing costs O(1), however many
/// tasks are waited for.
///
/// # Panics
/// With a timeout, when first polled outside a running loop.
///
/// ```
/// use std::time::Duration;
/// use aioloop::{wait, ReturnWhen};
///
/// // A paused (virtual) clock makes the order of the sleeps exact, whatever the machine's load.
/// let lp = aioloop::EventLoop::builder().start_paused(true).build().unwrap();
/// lp.run_until_complete(async {
///     let tasks: Vec<_> = [5u64, 1, 60_000]
///         .into_iter()
///         .map(|ms| aioloop::spawn(async move {
///             aioloop::sleep(Duration::from_millis(ms)).await;
///             ms
///         }))
///         .collect();
///     let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 1);
///
///     let (done, pending) = wait(pending, ReturnWhen::AllCompleted, Some(Duration::from_millis(20))).await;
///     assert_eq!((done.len(), pending.len()), (1, 1)); // the 60 s task timed out, still running
///     pending[0].cancel();
/// });
/// ```
pub fn wait<T, I>(tasks: I, return_when: ReturnWhen, timeout: Option<Duration>) -> Wait<T>
where
    T: 'static,
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Task<T>> = tasks.into_iter().collect();
    Wait {
        ready: ReadyList::new(tasks.len()),
        watched: Watched {
            counted: vec![false; tasks.len()],
            tasks,
            done: 0,
            panicked: false,
        },
        return_when,
        timeout,
        sleep: None,
        started: false,
        finished: false,
    }
}

/// The future of [`wait`]: resolves to `(done, pending)`.
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    watched: Watched<T>,
    ready: ReadyList,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    sleep: Option<Sleep>,
    started: bool,
    finished: bool,
}

/// The tasks and what is known of them.
struct Watched<T> {
    tasks: Vec<Task<T>>,
    /// Which tasks were seen done (each is counted once).
    counted: Vec<bool>,
    done: usize,
    panicked: bool,
}

impl<T: 'static> Watched<T> {
    /// Looks at task `index` after its waker fired (or on the first poll): counts it if it has
    /// finished, else registers its waker (polling a task that is not done takes nothing).
    fn check(&mut self, index: usize, ready: &ReadyList) {
        if self.counted[index] {
            return;
        }
        let task = &mut self.tasks[index];
        if task.is_done() {
            self.counted[index] = true;
            self.done += 1;
            self.panicked |= task.is_panicked();
            return;
        }
        let waker = ready.waker(index);
        let polled = Pin::new(task).poll(&mut Context::from_waker(&waker));
        debug_assert!(polled.is_pending(), "a task not done gave its outcome");
    }

    fn satisfied(&self, return_when: ReturnWhen) -> bool {
        let all = self.done == self.tasks.len();
        match return_when {
            ReturnWhen::FirstCompleted => self.done > 0 || all,
            ReturnWhen::FirstException => self.panicked || all,
            ReturnWhen::AllCompleted => all,
        }
    }
}

impl<T: 'static> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.finished, "aioloop: a wait was polled after it completed");
        this.ready.register(cx.waker());
        if !this.started {
            this.started = true;
            if let Some(timeout) = this.timeout {
                this.sleep = Some(crate::time::sleep(timeout));
            }
            for index in 0..this.watched.tasks.len() {
                this.watched.check(index, &this.ready);
            }
        } else {
            for index in this.ready.take() {
                this.watched.check(index, &this.ready);
            }
        }
        let timed_out = this
            .sleep
            .as_mut()
            .is_some_and(|sleep| Pin::new(sleep).poll(cx).is_ready());
        if !this.watched.satisfied(this.return_when) && !timed_out {
            return Poll::Pending;
        }
        this.finished = true;
        this.ready.clear_parent();
        this.sleep = None;
        // Everything done by now goes in `done`, also tasks whose wake is still in flight.
        // They were watched, not awaited: a cancellation of their holder leaves them running.
        let (done, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut this.watched.tasks)
            .into_iter()
            .map(|mut task| {
                task.unawait();
                task
            })
            .partition(|task| task.is_done());
        Poll::Ready((done, pending))
    }
}

impl<T> Drop for Watched<T> {
    /// asyncio's `wait` does not cancel the tasks when the waiter is cancelled: they detach,
    /// also when a zero `wait_for` drops the `wait` (where every dropped handle counts as
    /// awaited).
    fn drop(&mut self) {
        for task in &mut self.tasks {
            task.detach_on_drop();
        }
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.watched.tasks.len())
            .field("done", &self.watched.done)
            .field("return_when", &self.return_when)
            .field("timeout", &self.timeout)
            .finish()
    }
}
