//! [`Future<T>`]: asyncio's settable `Future`, a result that one side sets and many await.

use std::cell::RefCell;
use std::fmt;
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::error::{CancelledError, InvalidStateError};
use crate::task::done_callbacks::{DoneCallbacks, Released};
use crate::task::waiters::{leave, notify_all, poll_until, WaitList};
use crate::task::{cancel_scope, claim_current, DoneCallbackId};
use crate::{try_get_running_loop, Loop};

type DoneCallback<T> = Box<dyn FnOnce(&Future<T>)>;

enum Outcome<T> {
    Pending,
    Done(T),
    /// With the message of [`Future::cancel_with`], if any.
    Cancelled(Option<Rc<str>>),
}

struct State<T> {
    outcome: Outcome<T>,
    /// The done callbacks, each with its marker in `waiters`.
    callbacks: DoneCallbacks<DoneCallback<T>>,
}

struct Shared<T> {
    state: RefCell<State<T>>,
    /// The handles being awaited, all notified when the outcome is set, and a marker for each
    /// done callback in `state.callbacks`: one FIFO, so wake-ups and callbacks are queued on the
    /// loop in the order they were registered, as asyncio's (an awaiting task's wake-up is a
    /// done callback there).
    waiters: RefCell<WaitList>,
    home: Option<Loop>,
}

/// A result that is set once and awaited by any number of tasks: asyncio's `Future`
/// (`loop.create_future()`).
///
/// A `Future` is a clonable handle (not `Send`: it lives on one loop's thread). Each clone can
/// be awaited; awaiting gives `Ok(value)` (a clone of it, so `T: Clone`) or `Err(CancelledError)`.
/// Done callbacks are scheduled on the loop with `call_soon`, never run inside `set_result`;
/// they and the wake-ups of the tasks awaiting the future are queued in the order they were
/// registered (a task registers when it starts awaiting), as in asyncio.
///
/// ```
/// aioloop::run(async {
///     let fut = aioloop::Future::new();
///     let waiter = aioloop::spawn({
///         let fut = fut.clone();
///         async move { fut.await.unwrap() * 2 }
///     });
///     fut.set_result(21).unwrap();
///     assert!(fut.set_result(0).is_err(), "a Future is set once");
///     assert_eq!(waiter.await.unwrap(), 42);
/// });
/// ```
pub struct Future<T> {
    shared: Rc<Shared<T>>,
    /// This handle's entry in `waiters` while it is being awaited.
    waiter: Option<usize>,
    /// Set while it is awaited: how a drop as a cancellation cancels the future (the awaiting
    /// task was cancelled, see task/cancel_scope.rs). A fn pointer, because `Drop` knows no
    /// `T: 'static`.
    cancel_on_drop: Option<fn(&Future<T>) -> bool>,
}

impl<T: 'static> Default for Future<T> {
    fn default() -> Self {
        Future::new()
    }
}

impl<T: 'static> Future<T> {
    /// A pending future bound to the running loop (if any): its done callbacks are scheduled
    /// there. Outside a loop it binds to whichever loop is running when it completes.
    pub fn new() -> Self {
        Future::bound_to(try_get_running_loop())
    }

    /// A pending future whose done callbacks run on `event_loop`.
    pub fn with_loop(event_loop: &Loop) -> Self {
        Future::bound_to(Some(event_loop.clone()))
    }

    fn bound_to(home: Option<Loop>) -> Self {
        Future {
            shared: Rc::new(Shared {
                state: RefCell::new(State {
                    outcome: Outcome::Pending,
                    callbacks: DoneCallbacks::default(),
                }),
                waiters: RefCell::default(),
                home,
            }),
            waiter: None,
            cancel_on_drop: None,
        }
    }

    /// Sets the result and wakes every awaiter. Errors if the future is already done
    /// (set or cancelled), as asyncio raises `InvalidStateError`.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Done(value))
            .map_err(|_| InvalidStateError {
                what: "the Future is already done",
            })
    }

    /// Cancels the future: awaiters get `Err(CancelledError)`. Returns false if it was
    /// already done.
    pub fn cancel(&self) -> bool {
        self.complete(Outcome::Cancelled(None)).is_ok()
    }

    /// Like [`cancel`](Future::cancel), with a message read back with
    /// [`cancel_message`](Future::cancel_message): asyncio's `Future.cancel(msg)`. A task
    /// cancelled with [`Task::cancel_with`](crate::Task::cancel_with) while it awaits the
    /// future cancels it with the task's message, as asyncio's `Task.cancel(msg)` does.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let fut = aioloop::Future::<u8>::new();
    ///     assert!(fut.cancel_with("no longer needed"));
    ///     assert!(fut.clone().await.is_err());
    ///     assert_eq!(fut.cancel_message().as_deref(), Some("no longer needed"));
    /// });
    /// ```
    pub fn cancel_with(&self, message: impl Into<String>) -> bool {
        let message: Rc<str> = message.into().into();
        self.complete(Outcome::Cancelled(Some(message))).is_ok()
    }

    /// The message the future was cancelled with ([`cancel_with`](Future::cancel_with)), if
    /// it was.
    pub fn cancel_message(&self) -> Option<String> {
        match &self.shared.state.borrow().outcome {
            Outcome::Cancelled(message) => message.as_deref().map(str::to_owned),
            _ => None,
        }
    }

    /// The drop of an awaiting task's handle as a cancellation (see `cancel_on_drop`): cancels
    /// with the message of the task's cancellation, if it has one.
    fn cancel_through_await(&self) -> bool {
        self.complete(Outcome::Cancelled(cancel_scope::message())).is_ok()
    }

    fn complete(&self, outcome: Outcome<T>) -> Result<(), Outcome<T>> {
        let released = {
            let mut state = self.shared.state.borrow_mut();
            if !matches!(state.outcome, Outcome::Pending) {
                return Err(outcome);
            }
            state.outcome = outcome;
            // With done callbacks: wake-ups and callbacks in registration order.
            let with_callbacks = !state.callbacks.is_empty();
            with_callbacks.then(|| state.callbacks.release(&mut self.shared.waiters.borrow_mut()))
        };
        let Some(released) = released else {
            notify_all(&self.shared.waiters);
            return Ok(());
        };
        for each in released {
            match each {
                Released::Waiter(_, waker) => waker.wake(),
                Released::Callback(callback) => self.schedule_callback(callback),
            }
        }
        Ok(())
    }

    /// Runs `callback` on the loop: the future's own loop if open, else the running loop, else
    /// (no loop anywhere) right now.
    fn schedule_callback(&self, callback: DoneCallback<T>) {
        let handle = self.clone();
        let target = self
            .shared
            .home
            .clone()
            .filter(|home| !home.is_closed())
            .or_else(try_get_running_loop);
        match target {
            Some(event_loop) => {
                event_loop.call_soon(move || callback(&handle));
            }
            None => callback(&handle),
        }
    }

    /// Adds a callback run with this future once it is done (at once-scheduled if it already
    /// is). Callbacks run on the loop, after the setter returns, in registration order. The
    /// returned id removes it again with [`Future::remove_done_callback`].
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<T>) + 'static) -> DoneCallbackId {
        // Runs in a copy of the current context, as asyncio's done callbacks.
        let callback: DoneCallback<T> = crate::context_var::bind(Box::new(callback));
        let mut state = self.shared.state.borrow_mut();
        if matches!(state.outcome, Outcome::Pending) {
            let mut waiters = self.shared.waiters.borrow_mut();
            return DoneCallbackId(state.callbacks.add(&mut waiters, callback));
        }
        let id = DoneCallbackId(state.callbacks.take_id());
        drop(state);
        self.schedule_callback(callback);
        id
    }

    /// Removes a done callback that has not been scheduled yet: asyncio's
    /// `remove_done_callback`. Returns false if it was not there (removed already, or already
    /// scheduled because the future is done).
    ///
    /// ```
    /// aioloop::run(async {
    ///     let fut = aioloop::Future::<u8>::new();
    ///     let id = fut.add_done_callback(|_| unreachable!("removed"));
    ///     assert!(fut.remove_done_callback(id));
    ///     fut.set_result(1).unwrap();
    ///     aioloop::yield_now().await;
    /// });
    /// ```
    pub fn remove_done_callback(&self, id: DoneCallbackId) -> bool {
        let callback = {
            let mut state = self.shared.state.borrow_mut();
            let mut waiters = self.shared.waiters.borrow_mut();
            state.callbacks.remove(&mut waiters, id.0)
        };
        // Dropped outside the borrows: dropping what it captured may touch this future.
        callback.is_some()
    }

    /// True once a result was set or the future was cancelled.
    pub fn is_done(&self) -> bool {
        !matches!(self.shared.state.borrow().outcome, Outcome::Pending)
    }

    /// True if the future was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.shared.state.borrow().outcome, Outcome::Cancelled(_))
    }
}

impl<T: Clone + 'static> Future<T> {
    /// The outcome without waiting: `None` while pending, else the value (cloned) or
    /// `Err(CancelledError)`. asyncio's `result()`, with "not done yet" as `None`.
    pub fn result(&self) -> Option<Result<T, CancelledError>> {
        self.shared.state.borrow().outcome.result()
    }
}

impl<T: Clone> Outcome<T> {
    /// `None` while pending, else the value (cloned) or `Err(CancelledError)`.
    fn result(&self) -> Option<Result<T, CancelledError>> {
        match self {
            Outcome::Pending => None,
            Outcome::Done(value) => Some(Ok(value.clone())),
            Outcome::Cancelled(_) => Some(Err(CancelledError)),
        }
    }
}

impl<T> Clone for Future<T> {
    /// Another handle to the same future (each handle can be awaited on its own).
    fn clone(&self) -> Self {
        Future {
            shared: self.shared.clone(),
            waiter: None,
            cancel_on_drop: None,
        }
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        let waiting = self.waiter.is_some();
        leave(&self.shared.waiters, self.waiter.take());
        // The awaiting task was cancelled: so is the future it awaited (asyncio's
        // `Task.cancel()` cancels `_fut_waiter`).
        if let (true, Some(cancel)) = (waiting, self.cancel_on_drop) {
            if cancel_scope::active() {
                cancel(self);
            }
        }
    }
}

impl<T: Clone + 'static> StdFuture for Future<T> {
    type Output = Result<T, CancelledError>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        claim_current(&*self);
        let this = &mut *self;
        this.cancel_on_drop = Some(Future::cancel_through_await);
        let shared = &*this.shared;
        let done = || !matches!(shared.state.borrow().outcome, Outcome::Pending);
        std::task::ready!(poll_until(&shared.waiters, &mut this.waiter, cx, done));
        let result = shared.state.borrow().outcome.result();
        Poll::Ready(result.expect("the outcome was set"))
    }
}

impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.shared.state.borrow().outcome {
            Outcome::Pending => "pending",
            Outcome::Done(_) => "finished",
            Outcome::Cancelled(_) => "cancelled",
        };
        f.debug_struct("Future").field("state", &state).finish()
    }
}
