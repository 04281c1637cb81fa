//! [`SharedTask<T>`]: a task awaited from several places, each getting a clone of its outcome.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::cancel_scope;
use super::{claim_current, DoneCallbackId, Task, TaskError, TaskId, TaskRef};

/// A task that any number of holders can await: asyncio's `await task` from several
/// coroutines. Made with [`Task::shared`] (for `T: Clone`); clone it for every awaiter.
///
/// - **Every holder gets the outcome.** Awaiting any clone gives `Ok` with a clone of the
///   output, or the same `Err(TaskError)` as every other holder: `Cancelled`, or `Panicked`
///   with a copy of the panic (its message, as a `String`: a panic payload cannot be cloned,
///   so a non-string payload arrives as the text "a panic with a non-string payload"). The
///   outcome is kept until the last clone is dropped; a clone may be awaited again (by
///   `&mut`), as asyncio allows `await task` twice. All waiting holders are woken in the
///   iteration in which the task finishes.
/// - **A plain `Task` takes its outcome once.** [`Task::shared`] consumes the `Task`, so no
///   plain handle can take the outcome from under the holders; a `Task` awaited after it gave
///   its outcome panics with a clear message, it never hangs.
/// - **Cancellation travels through the await, as in asyncio.** A holder being awaited
///   whose awaiter is cancelled (the task awaiting it is cancelled, a
///   [`wait_for`](crate::wait_for) around it times out) cancels the shared task, so every
///   other holder then gets `Err(TaskError::Cancelled)`: asyncio's `Task.cancel()` cancels
///   the task it awaits, whoever else awaits it. A holder awaited through
///   [`shield`](crate::shield) does not: the task runs on for the others. A holder dropped
///   without being awaited never cancels anything; when the last one goes, the task is
///   detached (it keeps running, and a panic nobody saw goes to the exception handler).
///
/// ```
/// aioloop::run(async {
///     let task = aioloop::spawn(async {
///         aioloop::yield_now().await;
///         String::from("done")
///     })
///     .shared();
///     let (a, b) = (task.clone(), task.clone());
///     let first = aioloop::spawn(async move { a.await.unwrap() });
///     let second = aioloop::spawn(async move { aioloop::shield(b).await.unwrap() });
///     assert_eq!(task.await.unwrap(), "done");
///     assert_eq!(first.await.unwrap(), "done");
///     assert_eq!(second.await.unwrap(), "done");
/// });
/// ```
#[must_use = "dropping every SharedTask detaches the task; await one for its output"]
pub struct SharedTask<T> {
    shared: Rc<Shared<T>>,
    /// This holder's place in the task's list of joiners while it waits.
    entry: Option<usize>,
    /// Polled and pending: dropped as a cancellation, the holder cancels the task.
    awaited: bool,
    /// Held by a [`shield`](crate::shield): dropped, it never cancels the task.
    shielded: bool,
}

/// What every holder of one task shares.
struct Shared<T> {
    /// The task's handle; it takes the outcome once, for everyone. It never cancels on drop
    /// (`Task::shared` marks it): the holders do that.
    task: RefCell<Task<T>>,
    /// The outcome, once a holder took it from the task.
    outcome: RefCell<Option<Result<T, TaskError>>>,
}

impl<T: Clone + 'static> SharedTask<T> {
    pub(super) fn new(task: Task<T>) -> Self {
        SharedTask {
            shared: Rc::new(Shared {
                task: RefCell::new(task),
                outcome: RefCell::new(None),
            }),
            entry: None,
            awaited: false,
            shielded: false,
        }
    }

    /// A clone of the outcome if the task has finished, without waiting: asyncio's
    /// `result()` / `exception()`. Unlike [`Task::result`] it takes nothing: every holder
    /// may ask, as often as it likes.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let task = aioloop::spawn(async { 7 }).shared();
    ///     assert!(task.result().is_none(), "not run yet");
    ///     aioloop::yield_now().await;
    ///     assert_eq!(task.result().unwrap().unwrap(), 7);
    ///     assert_eq!(task.clone().result().unwrap().unwrap(), 7);
    /// });
    /// ```
    pub fn result(&self) -> Option<Result<T, TaskError>> {
        self.shared.outcome()
    }
}

impl<T: Clone + 'static> Shared<T> {
    /// A clone of the outcome, taking it from the task first if it has finished.
    fn outcome(&self) -> Option<Result<T, TaskError>> {
        if self.outcome.borrow().is_none() {
            let taken = self.task.borrow_mut().result()?;
            *self.outcome.borrow_mut() = Some(taken);
        }
        self.outcome.borrow().as_ref().map(|outcome| match outcome {
            Ok(value) => Ok(value.clone()),
            Err(error) => Err(error.copy()),
        })
    }
}

impl<T> SharedTask<T> {
    fn task(&self) -> std::cell::Ref<'_, Task<T>> {
        self.shared.task.borrow()
    }

    /// The outcome was taken from the task: the task's slot (and this holder's entry in its
    /// joiners) is gone.
    fn taken(&self) -> bool {
        self.shared.outcome.borrow().is_some()
    }

    /// Requests cancellation, as [`Task::cancel`]: every holder then gets
    /// `Err(TaskError::Cancelled)`. False if the task had already finished.
    pub fn cancel(&self) -> bool {
        self.task().cancel()
    }

    /// [`Task::cancel_with`]: cancels with a message every holder can read.
    pub fn cancel_with(&self, message: impl Into<String>) -> bool {
        self.task().cancel_with(message)
    }

    /// [`Task::cancel_message`].
    pub fn cancel_message(&self) -> Option<String> {
        self.task().cancel_message()
    }

    /// [`Task::is_done`].
    pub fn is_done(&self) -> bool {
        self.task().is_done()
    }

    /// [`Task::is_cancelled`].
    pub fn is_cancelled(&self) -> bool {
        self.task().is_cancelled()
    }

    /// [`Task::is_panicked`].
    pub fn is_panicked(&self) -> bool {
        self.task().is_panicked()
    }

    /// [`Task::id`].
    pub fn id(&self) -> TaskId {
        self.task().id()
    }

    /// [`Task::name`].
    pub fn name(&self) -> String {
        self.task().name()
    }

    /// [`Task::task_ref`].
    pub fn task_ref(&self) -> TaskRef {
        self.task().task_ref()
    }

    /// Dropped, this holder leaves the task running whatever the scope (a shield's holder).
    pub(crate) fn detach_on_drop(&mut self) {
        self.shielded = true;
    }
}

impl<T: 'static> SharedTask<T> {
    /// [`Task::add_done_callback`].
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskRef) + 'static) -> DoneCallbackId {
        self.task().add_done_callback(callback)
    }

    /// [`Task::remove_done_callback`].
    pub fn remove_done_callback(&self, id: DoneCallbackId) -> bool {
        self.task().remove_done_callback(id)
    }
}

impl<T: Clone + 'static> Future for SharedTask<T> {
    type Output = Result<T, TaskError>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        claim_current(&*this);
        if !this.taken() {
            let (shared, entry) = (&this.shared, &mut this.entry);
            let joined = super::coop::poll_coop(cx, |cx| shared.task.borrow().poll_joiner(entry, cx));
            if joined.is_pending() {
                let task = shared.task.borrow();
                task.assert_on_own_loop();
                if !this.awaited {
                    task.assert_not_current();
                }
                drop(task);
                this.awaited = true;
                return Poll::Pending;
            }
        }
        this.entry = None;
        this.awaited = false;
        let outcome = this.shared.outcome();
        Poll::Ready(outcome.expect("aioloop: a finished task's outcome is kept (loop bug)"))
    }
}

impl<T> Clone for SharedTask<T> {
    /// Another holder of the same task, not waiting yet.
    fn clone(&self) -> Self {
        SharedTask {
            shared: self.shared.clone(),
            entry: None,
            awaited: false,
            shielded: false,
        }
    }
}

impl<T> Drop for SharedTask<T> {
    fn drop(&mut self) {
        if self.taken() {
            return;
        }
        let task = self.shared.task.borrow();
        if let Some(entry) = self.entry.take() {
            task.leave_joiners(entry);
        }
        // Dropped as a cancellation while awaited: cancellation travels through the await
        // (task/cancel_scope.rs), as for a `Task`.
        if cancel_scope::active() && !self.shielded && (self.awaited || cancel_scope::strict()) {
            task.cancel_through_await();
        }
    }
}

impl<T> fmt::Debug for SharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTask")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}
