//! Threads: [`LoopHandle`], the only door between a single-threaded loop and the rest of the
//! process; [`run_coroutine_threadsafe`] and its [`ConcurrentFuture`]
//! (`concurrent.futures.Future`); and the errors they report.
//!
//! Everything a `LoopHandle` sends goes through the loop's remote queue (see `remote.rs`): one
//! mutex-protected `Vec` the loop swaps out once per iteration, plus the reactor's `mio::Waker`
//! (an eventfd on Linux), written only by the first submission after the loop parks. Work that
//! is queued when the loop closes is dropped on the loop's thread, and the drop guard inside it
//! (the `Sender` of a `ConcurrentFuture`) resolves the future to [`ConcurrentError::LoopClosed`].

mod concurrent_future;
mod error;
#[cfg(all(test, aioloop_loom))]
mod loom_tests;
pub(crate) mod outcome;
mod remote_task;
#[cfg(test)]
mod tests;
mod to_thread;

pub use concurrent_future::ConcurrentFuture;
pub use error::{ConcurrentError, LoopClosed};
pub(crate) use remote_task::RemoteTask;
pub(crate) use to_thread::to_thread_on_close;
pub use to_thread::{run_in_executor, to_thread, ToThread};

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::event_loop::Loop;
use crate::remote::{Remote, RemoteMsg, SpawnCell};
use crate::task::cell::remote_cell;
use outcome::Sender;

/// A handle to an event loop that any thread can hold: `Send + Sync + Clone`, cheap to clone
/// (one reference count). asyncio's `loop` as seen from other threads, where only the
/// `*_threadsafe` methods are allowed.
///
/// Get one with [`Loop::handle`] (so `event_loop.handle()` or
/// `aioloop::get_running_loop().handle()`). Every method works from any thread, including the
/// loop's own; once the loop is closed, every method returns `Err(LoopClosed)` (or a
/// `ConcurrentFuture` that resolves to it) instead of hanging or panicking.
///
/// Submissions are cheap: a push onto the loop's remote queue under a short lock. The loop's
/// eventfd is written only by the first submission after the loop parks, so a burst of any
/// size wakes it with one syscall. Work from one thread runs in the order it was sent.
///
/// ```
/// let event_loop = aioloop::EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// let worker = std::thread::spawn(move || {
///     // Run a coroutine on the loop; block this thread until its output is there.
///     let answer = handle.run_coroutine_threadsafe(|| async { 6 * 7 }).result().unwrap();
///     // Run a plain callback on the loop, then stop `run_forever`.
///     handle.call_soon_threadsafe(move || println!("the answer is {answer}")).unwrap();
///     handle.stop().unwrap();
///     answer
/// });
/// event_loop.run_forever();
/// assert_eq!(worker.join().unwrap(), 42);
///
/// let handle = event_loop.handle();
/// drop(event_loop); // closes the loop
/// assert!(handle.is_closed());
/// assert!(handle.call_soon_threadsafe(|| {}).is_err());
/// assert!(handle.run_coroutine_threadsafe(|| async {}).result().unwrap_err().is_loop_closed());
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    remote: Arc<Remote>,
}

impl Loop {
    /// A [`LoopHandle`] to this loop, for other threads: `call_soon_threadsafe`,
    /// `run_coroutine_threadsafe`, `stop`.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            remote: self.core.remote_queue().clone(),
        }
    }
}

impl LoopHandle {
    /// A handle to the loop behind `remote` (the loom models build their loops by hand).
    #[cfg(all(test, aioloop_loom))]
    pub(crate) fn from_remote(remote: Arc<Remote>) -> Self {
        LoopHandle { remote }
    }

    /// Schedules `callback` to run on the loop's thread, at the loop's next iteration, in FIFO
    /// order with its other callbacks: asyncio's `loop.call_soon_threadsafe`. Callbacks sent
    /// from one thread run in the order they were sent. A panic in the callback goes to the
    /// loop's exception handler.
    ///
    /// Returns `Err(LoopClosed)` (and drops `callback` on the calling thread) if the loop is
    /// closed. A callback still queued when the loop closes is dropped there, unrun.
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce() + Send + 'static) -> Result<(), LoopClosed> {
        self.remote
            .push(RemoteMsg::Call(Box::new(callback)))
            .map_err(|_| LoopClosed)
    }

    /// Runs a coroutine as a task on the loop and returns a [`ConcurrentFuture`] for its
    /// output: asyncio's `run_coroutine_threadsafe(coro, loop)`.
    ///
    /// `make` (which is `Send`) runs on the loop's thread and builds the coroutine there, so the
    /// coroutine itself need not be `Send`: it can await [`sleep`](crate::sleep), hold an `Rc`,
    /// use any of the loop's types, as an asyncio coroutine does. A panic in `make` or in the
    /// coroutine resolves the `ConcurrentFuture` to [`ConcurrentError::Panicked`]; a task
    /// cancelled on the loop, to [`ConcurrentError::Cancelled`]; a closed loop, to
    /// [`ConcurrentError::LoopClosed`]. For a future that is already built and `Send`,
    /// [`LoopHandle::run_future_threadsafe`] saves the closure.
    ///
    /// ```
    /// use std::time::Duration;
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let worker = std::thread::spawn(move || {
    ///     let answer = handle
    ///         .run_coroutine_threadsafe(|| async {
    ///             aioloop::sleep(Duration::from_millis(1)).await; // a coroutine that sleeps
    ///             21 * 2
    ///         })
    ///         .result()
    ///         .unwrap();
    ///     handle.stop().unwrap();
    ///     answer
    /// });
    /// event_loop.run_forever();
    /// assert_eq!(worker.join().unwrap(), 42);
    /// ```
    pub fn run_coroutine_threadsafe<M, F>(&self, make: M) -> ConcurrentFuture<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.submit(move |sender: Sender<F::Output>| {
            if sender.is_cancelled() {
                return;
            }
            match catch_unwind(AssertUnwindSafe(make)) {
                Ok(future) => drop(crate::spawn(RemoteTask::new(future, sender))),
                Err(payload) => {
                    let _ = sender.send(Err(ConcurrentError::Panicked(payload)));
                }
            }
        })
    }

    /// Like [`LoopHandle::run_coroutine_threadsafe`] for a future that is already built and
    /// `Send` (it cannot hold the loop's own types, like a [`Sleep`](crate::time::Sleep),
    /// across an await). It costs one allocation less: the task is built here and linked in as
    /// the loop takes its queue. If the loop is closed, the future is dropped here and the
    /// `ConcurrentFuture` resolves to [`ConcurrentError::LoopClosed`].
    ///
    /// ```
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let answer = std::thread::spawn(move || {
    ///     let fut = handle.run_future_threadsafe(async {
    ///         aioloop::yield_now().await;
    ///         21 * 2
    ///     });
    ///     let answer = fut.result().unwrap();
    ///     handle.stop().unwrap();
    ///     answer
    /// });
    /// event_loop.run_forever();
    /// assert_eq!(answer.join().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn run_future_threadsafe<F>(&self, future: F) -> ConcurrentFuture<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (sender, receiver) = outcome::channel();
        // The whole task is allocated here, once; the loop links it in as it takes the queue,
        // and runs it in that same iteration.
        let cell = remote_cell(RemoteTask::new(future, sender));
        // A refused task is dropped right here: its sender resolves the cell to `LoopClosed`.
        let _ = self
            .remote
            .push(RemoteMsg::Spawn(SpawnCell(cell, std::panic::Location::caller())));
        ConcurrentFuture::new(receiver, &self.remote)
    }

    /// Sends `job` to run on the loop with the sending half of a new result cell, and returns
    /// the receiving half. If the loop is closed, or closes before `job` runs, the job is
    /// dropped and the cell resolves to `LoopClosed`.
    pub(crate) fn submit<T, J>(&self, job: J) -> ConcurrentFuture<T>
    where
        J: FnOnce(Sender<T>) + Send + 'static,
        T: Send + 'static,
    {
        let (sender, receiver) = outcome::channel();
        // A refused job is dropped right here: its sender resolves the cell to `LoopClosed`.
        let _ = self.remote.push(RemoteMsg::Call(Box::new(move || job(sender))));
        ConcurrentFuture::new(receiver, &self.remote)
    }

    /// Stops the loop's [`EventLoop::run_forever`](crate::EventLoop::run_forever) after the
    /// iteration in which this request arrives (asyncio's `loop.call_soon_threadsafe(loop.stop)`).
    /// `Err(LoopClosed)` if the loop is closed.
    pub fn stop(&self) -> Result<(), LoopClosed> {
        self.call_soon_threadsafe(|| {
            if let Some(event_loop) = crate::try_get_running_loop() {
                event_loop.stop();
            }
        })
    }

    /// True once the loop is closed (its `EventLoop` was dropped): every call then fails with
    /// `LoopClosed`.
    pub fn is_closed(&self) -> bool {
        self.remote.is_closed()
    }

    /// The remote queue (for `LoopBound`).
    pub(crate) fn remote(&self) -> &Remote {
        &self.remote
    }
}

impl PartialEq for LoopHandle {
    /// Two handles are equal when they point to the same loop.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.remote, &other.remote)
    }
}

impl Eq for LoopHandle {}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Runs the coroutine that `make` builds on the loop behind `handle` and returns a
/// [`ConcurrentFuture`] for its output: asyncio's `asyncio.run_coroutine_threadsafe(coro, loop)`.
/// The same as [`LoopHandle::run_coroutine_threadsafe`].
///
/// ```
/// use std::time::Duration;
/// let event_loop = aioloop::EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// let t = std::thread::spawn(move || {
///     let coro = || async {
///         aioloop::sleep(Duration::from_millis(1)).await;
///         "done"
///     };
///     let out = aioloop::run_coroutine_threadsafe(coro, &handle).result();
///     handle.stop().unwrap();
///     out.unwrap()
/// });
/// event_loop.run_forever();
/// assert_eq!(t.join().unwrap(), "done");
/// ```
pub fn run_coroutine_threadsafe<M, F>(make: M, handle: &LoopHandle) -> ConcurrentFuture<F::Output>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    handle.run_coroutine_threadsafe(make)
}
