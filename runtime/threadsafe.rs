//! Threads: [`LoopHandle`], the only door between a single-threaded loop and the rest of the
//! process; [`run_coroutine_threadsafe`] and its [`ConcurrentFuture`]
//! (`concurrent.futures.Future`); and the errors they report.
//!
//! Everything a `LoopHandle` sends goes through the loop's remote queue (see `remote.rs`): one
//! mutex-protected `Vec` the loop swaps out once per iteration, plus the reactor's `mio::Waker`
//! (an eventfd on Linux), written only by the first submission after the loop parks. Work that
//! is queued when the loop closes is dropped on the loop's thread, and the drop guard inside it
//! (the `Sender` of a `ConcurrentFuture`) resolves the future to [`ConcurrentError::LoopClosed`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::context;
use crate::event_loop::{Core, Loop};
use crate::oneshot::{self, Receiver, Sender};
use crate::remote::{Remote, RemoteMsg, SpawnCell};
use crate::sync_shim::{current_thread_id, ThreadId};
use crate::task::cell::{RawTask, Stage};
use crate::task::panic_message;
use crate::task::table::SpawnMeta;

/// The loop a [`LoopHandle`] points to is closed: asyncio's `RuntimeError('Event loop is closed')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed;

impl fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is closed")
    }
}

impl std::error::Error for LoopClosed {}

/// Why a [`ConcurrentFuture`] gave no output.
pub enum ConcurrentError {
    /// [`ConcurrentFuture::cancel`] was called (or [`ConcurrentFuture::result_timeout`] timed
    /// out and cancelled it) before the output was there; the loop drops the future.
    Cancelled,
    /// The future (or the closure that builds it) panicked on the loop; this is the payload.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The loop was closed before the future finished (or before it was even submitted); the
    /// future was dropped, unfinished, on the loop's thread.
    LoopClosed,
    /// [`ConcurrentFuture::result_timeout`] ran out of time (and cancelled the future).
    Timeout,
}

impl ConcurrentError {
    /// True for [`ConcurrentError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ConcurrentError::Cancelled)
    }

    /// True for [`ConcurrentError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, ConcurrentError::Panicked(_))
    }

    /// True for [`ConcurrentError::LoopClosed`].
    pub fn is_loop_closed(&self) -> bool {
        matches!(self, ConcurrentError::LoopClosed)
    }

    /// True for [`ConcurrentError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, ConcurrentError::Timeout)
    }

    /// The panic message when the payload is a string (as `panic!("...")` makes it).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ConcurrentError::Panicked(payload) => panic_message(payload.as_ref()),
            _ => None,
        }
    }

    /// The panic payload, or `Err(self)` for the other kinds; resume it with
    /// [`std::panic::resume_unwind`] to propagate the panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, ConcurrentError> {
        match self {
            ConcurrentError::Panicked(payload) => Ok(payload),
            other => Err(other),
        }
    }
}

impl From<LoopClosed> for ConcurrentError {
    fn from(_: LoopClosed) -> Self {
        ConcurrentError::LoopClosed
    }
}

impl fmt::Debug for ConcurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConcurrentError::Cancelled => f.write_str("Cancelled"),
            ConcurrentError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            ConcurrentError::LoopClosed => f.write_str("LoopClosed"),
            ConcurrentError::Timeout => f.write_str("Timeout"),
        }
    }
}

impl fmt::Display for ConcurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConcurrentError::Cancelled => f.write_str("the future was cancelled"),
            ConcurrentError::Panicked(_) => match self.panic_message() {
                Some(msg) => write!(f, "the future panicked: {msg}"),
                None => f.write_str("the future panicked"),
            },
            ConcurrentError::LoopClosed => f.write_str("the event loop is closed"),
            ConcurrentError::Timeout => f.write_str("timed out waiting for the future"),
        }
    }
}

impl std::error::Error for ConcurrentError {}

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
///     // Run a future on the loop; block this thread until its output is there.
///     let answer = handle.run_coroutine_threadsafe(async { 6 * 7 }).result().unwrap();
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
/// assert!(handle.run_coroutine_threadsafe(async {}).result().unwrap_err().is_loop_closed());
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
            remote: self.core.remote.clone(),
        }
    }
}

impl LoopHandle {
    /// A handle to the loop behind `remote` (the loom models build their loops by hand).
    #[cfg(loom)]
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

    /// Runs `future` as a task on the loop and returns a [`ConcurrentFuture`] for its output:
    /// asyncio's `run_coroutine_threadsafe(coro, loop)`.
    ///
    /// The future must be `Send` to travel to the loop; for a future that is not, send a
    /// closure that builds it there with [`LoopHandle::run_coroutine_threadsafe_with`]. If the
    /// loop is closed, the future is dropped here and the `ConcurrentFuture` resolves to
    /// [`ConcurrentError::LoopClosed`].
    ///
    /// ```
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let answer = std::thread::spawn(move || {
    ///     let fut = handle.run_coroutine_threadsafe(async {
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
    pub fn run_coroutine_threadsafe<F>(&self, future: F) -> ConcurrentFuture<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        // The whole task is allocated here, once; the loop links it in as it takes the queue,
        // and runs it in that same iteration.
        let cell: Pin<Box<dyn RawTask + Send>> = Box::pin(Stage::Running {
            future: RemoteTask::new(future, sender),
        });
        // A refused task is dropped right here: its sender resolves the cell to `LoopClosed`.
        let _ = self
            .remote
            .push(RemoteMsg::Spawn(SpawnCell(cell, std::panic::Location::caller())));
        ConcurrentFuture::new(receiver, &self.remote)
    }
    /// Like [`LoopHandle::run_coroutine_threadsafe`], for a future that is not `Send`: `make`
    /// (which is) runs on the loop's thread and builds the future there. A panic in `make`
    /// resolves the `ConcurrentFuture` to [`ConcurrentError::Panicked`].
    ///
    /// ```
    /// use std::rc::Rc;
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let handle = event_loop.handle();
    /// let worker = std::thread::spawn(move || {
    ///     let len = handle
    ///         .run_coroutine_threadsafe_with(|| {
    ///             let shared = Rc::new(String::from("built on the loop")); // Rc: not Send
    ///             async move {
    ///                 aioloop::yield_now().await;
    ///                 shared.len()
    ///             }
    ///         })
    ///         .result()
    ///         .unwrap();
    ///     handle.stop().unwrap();
    ///     len
    /// });
    /// event_loop.run_forever();
    /// assert_eq!(worker.join().unwrap(), 17);
    /// ```
    pub fn run_coroutine_threadsafe_with<M, F>(&self, make: M) -> ConcurrentFuture<F::Output>
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

    /// Sends `job` to run on the loop with the sending half of a new result cell, and returns
    /// the receiving half. If the loop is closed, or closes before `job` runs, the job is
    /// dropped and the cell resolves to `LoopClosed`.
    pub(crate) fn submit<T, J>(&self, job: J) -> ConcurrentFuture<T>
    where
        J: FnOnce(Sender<T>) + Send + 'static,
        T: Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
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

/// Runs `future` on the loop behind `handle` and returns a [`ConcurrentFuture`] for its output:
/// asyncio's `asyncio.run_coroutine_threadsafe(coro, loop)`. The same as
/// [`LoopHandle::run_coroutine_threadsafe`].
///
/// ```
/// let event_loop = aioloop::EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// let t = std::thread::spawn(move || {
///     let out = aioloop::run_coroutine_threadsafe(async { "done" }, &handle).result();
///     handle.stop().unwrap();
///     out.unwrap()
/// });
/// event_loop.run_forever();
/// assert_eq!(t.join().unwrap(), "done");
/// ```
#[track_caller]
pub fn run_coroutine_threadsafe<F>(future: F, handle: &LoopHandle) -> ConcurrentFuture<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle.run_coroutine_threadsafe(future)
}

/// The output of a future running on a loop, seen from another thread:
/// `concurrent.futures.Future`, as [`LoopHandle::run_coroutine_threadsafe`] returns it.
///
/// Block for it with [`result`](ConcurrentFuture::result) or
/// [`result_timeout`](ConcurrentFuture::result_timeout), or await it: it is a
/// `std::future::Future`, so another aioloop loop, tokio or any executor can wait for it without
/// blocking. Dropping it detaches the future, which keeps running (its output is then dropped
/// on the loop; a panic in it goes to the loop's exception handler).
///
/// ```
/// let event_loop = aioloop::EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// // Awaited from another loop on another thread:
/// let other = std::thread::spawn(move || {
///     let fut = handle.run_coroutine_threadsafe(async { 7 });
///     let out = aioloop::run(fut);
///     handle.stop().unwrap();
///     out.unwrap()
/// });
/// event_loop.run_forever();
/// assert_eq!(other.join().unwrap(), 7);
/// ```
pub struct ConcurrentFuture<T> {
    receiver: Receiver<T>,
    /// The thread that owns the loop producing the output.
    owner: ThreadId,
    /// The address of that loop's `Remote`, only ever compared, never dereferenced: while the
    /// output is pending the loop is not fully closed, so its `Remote` is alive and no other
    /// loop can have this address. (Not an `Arc`: cloning one per submission would make every
    /// submitting thread bounce the cache line that holds the queue's lock.)
    remote: usize,
}

impl<T> ConcurrentFuture<T> {
    /// A future over `receiver`, whose work runs on the loop behind `remote`.
    pub(crate) fn new(receiver: Receiver<T>, remote: &Remote) -> Self {
        ConcurrentFuture {
            receiver,
            owner: remote.owner(),
            remote: remote as *const Remote as usize,
        }
    }

    /// Blocks the calling thread until the output is there: `Ok(output)`, or the reason there
    /// is none.
    ///
    /// # Panics
    /// If the output is not there yet and this is the thread of the loop that must produce it:
    /// from inside that loop (a task or callback: await the `ConcurrentFuture` there instead)
    /// it would deadlock, and outside it (only this thread can run the loop) it would wait
    /// forever.
    #[track_caller]
    pub fn result(self) -> Result<T, ConcurrentError> {
        self.assert_may_block("result");
        self.receiver
            .wait(None)
            .expect("a wait without a deadline ends with the outcome")
    }

    /// Like [`result`](ConcurrentFuture::result), waiting at most `timeout`. If the time runs
    /// out first, the future is cancelled on the loop (as asyncio's `Future.result(timeout)`
    /// followed by `cancel()`) and the result is `Err(ConcurrentError::Timeout)`. An output
    /// that arrives in the very instant of the timeout is returned rather than lost.
    ///
    /// # Panics
    /// As [`result`](ConcurrentFuture::result).
    #[track_caller]
    pub fn result_timeout(self, timeout: Duration) -> Result<T, ConcurrentError> {
        self.assert_may_block("result_timeout");
        let deadline = Instant::now().checked_add(timeout);
        if let Some(outcome) = self.receiver.wait(deadline) {
            return outcome;
        }
        if self.receiver.cancel() {
            return Err(ConcurrentError::Timeout);
        }
        self.receiver
            .try_take()
            .expect("a ConcurrentFuture that cannot be cancelled is done")
    }

    /// Cancels the future: the `ConcurrentFuture` resolves to [`ConcurrentError::Cancelled`] at
    /// once, and the loop drops the future at its next iteration (its destructors run there;
    /// it may not have started at all). Returns false if the output (or an error) was already
    /// there.
    pub fn cancel(&self) -> bool {
        self.receiver.cancel()
    }

    /// True once the output or an error is there (`result` would not block).
    pub fn is_done(&self) -> bool {
        self.receiver.is_done()
    }

    /// True if it was cancelled with [`cancel`](ConcurrentFuture::cancel) (or by a timeout).
    pub fn is_cancelled(&self) -> bool {
        self.receiver.is_cancelled()
    }

    #[track_caller]
    fn assert_may_block(&self, what: &str) {
        if self.is_done() {
            return; // nothing to wait for
        }
        // Pending: its loop has not finished closing, so its `Remote` still has this address.
        let running_here = context::with_current(|core| Arc::as_ptr(&core.remote) as usize == self.remote);
        if running_here == Some(true) {
            panic!(
                "aioloop: ConcurrentFuture::{what}() called from inside the event loop that must \
                 complete it: blocking its thread would deadlock. Await the ConcurrentFuture \
                 instead (it implements Future), or call {what}() from another thread."
            );
        }
        if self.owner == current_thread_id() {
            panic!(
                "aioloop: ConcurrentFuture::{what}() called on the thread that owns the event \
                 loop that must complete it, while that loop is not running: only this thread \
                 can run the loop, so it would wait forever. Run the loop (or await the \
                 ConcurrentFuture in it) instead."
            );
        }
    }
}

impl<T> Future for ConcurrentFuture<T> {
    type Output = Result<T, ConcurrentError>;

    /// # Panics
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.receiver.poll(cx)
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrentFuture")
            .field("state", &self.receiver.state_name())
            .finish()
    }
}

pin_project! {
    /// The task that serves a `ConcurrentFuture` on the loop: polls the user's future, catches
    /// its panic, sends the outcome, and ends early (dropping the future) once the
    /// `ConcurrentFuture` was cancelled. Dropped unfinished (the loop closed), it drops its
    /// `Sender`, which resolves the `ConcurrentFuture` to `LoopClosed`.
    pub struct RemoteTask<F: Future> {
        #[pin]
        future: F,
        sender: Option<Sender<F::Output>>,
        // The waker given to the sender for cancellation (a task's waker never changes, so it
        // is registered once).
        registered: Option<Waker>,
    }
}

impl<F: Future> RemoteTask<F> {
    /// A task body that runs `future` and sends its outcome through `sender`.
    pub fn new(future: F, sender: Sender<F::Output>) -> Self {
        RemoteTask {
            future,
            sender: Some(sender),
            registered: None,
        }
    }
}

impl<F: Future> Future for RemoteTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let Some(sender) = this.sender.as_ref() else {
            return Poll::Ready(());
        };
        if sender.is_cancelled() {
            *this.sender = None;
            return Poll::Ready(());
        }
        let outcome = match catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Pending) => {
                let known = this
                    .registered
                    .as_ref()
                    .is_some_and(|waker| waker.will_wake(cx.waker()));
                if !known {
                    if !sender.register_task(cx.waker()) {
                        // Cancelled meanwhile: end now, the loop drops the future.
                        *this.sender = None;
                        return Poll::Ready(());
                    }
                    *this.registered = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(ConcurrentError::Panicked(payload)),
        };
        let sender = this.sender.take().expect("checked above");
        match outcome {
            // Nobody will see this panic: the loop's exception handler does.
            Err(ConcurrentError::Panicked(payload)) if sender.receiver_gone() => report_unretrieved(payload),
            outcome => drop(sender.send(outcome)),
        }
        Poll::Ready(())
    }
}

impl Core {
    /// Links a task sent by `run_coroutine_threadsafe` into the table, detached (no `Task`
    /// handle exists: its outcome goes through the `ConcurrentFuture`), and schedules it.
    pub(crate) fn spawn_remote(&self, spawn: SpawnCell) {
        debug_assert!(!self.closed.get(), "a closed loop takes no remote work");
        let cell: Pin<Box<dyn RawTask>> = spawn.0;
        let (key, gen) = {
            let mut tasks = self.tasks.borrow_mut();
            let meta = SpawnMeta {
                name: None,
                location: spawn.1,
                spawned_at: self.spawn_clock(),
            };
            let (key, gen, _) = tasks.insert(cell, meta);
            if let Some(slot) = tasks.get_mut(key, gen) {
                slot.detached = true;
            }
            (key, gen)
        };
        self.schedule(key, gen);
    }
}

/// A panic whose `ConcurrentFuture` was dropped: nobody will see it, so the loop's exception
/// handler does (as asyncio reports "exception was never retrieved").
fn report_unretrieved(payload: Box<dyn Any + Send>) {
    let message = "Exception in a run_coroutine_threadsafe future whose ConcurrentFuture was dropped";
    match context::current() {
        Some(core) => {
            let task = core.current_label();
            core.report(message, task, Some(payload));
        }
        None => eprintln!(
            "aioloop: {message}: {}",
            panic_message(payload.as_ref()).unwrap_or("<non-string payload>")
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::EventLoop;

    /// The eventfd is written only by the first submission after the loop parks: a burst sent
    /// while the loop is busy costs no syscall at all, and one sent to a parked loop one write
    /// per park.
    #[test]
    fn a_burst_costs_no_eventfd_write_while_the_loop_runs() {
        const BURST: usize = 100_000;
        let event_loop = EventLoop::new().unwrap();
        let handle = event_loop.handle();
        let remote = event_loop.core.remote.clone();
        let ran = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(AtomicBool::new(false));
        let (sent_tx, sent_rx) = mpsc::channel();
        let producer = {
            let (handle, ran, release) = (handle.clone(), ran.clone(), release.clone());
            std::thread::spawn(move || {
                // Wait until the loop is busy (running the task below), then send the burst.
                sent_rx.recv().unwrap();
                for _ in 0..BURST {
                    let ran = ran.clone();
                    handle
                        .call_soon_threadsafe(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                }
                release.store(true, Ordering::SeqCst);
            })
        };
        let before = remote.wakeups();
        event_loop.run_until_complete(async {
            sent_tx.send(()).unwrap();
            // Busy on the loop's thread while the burst arrives.
            while !release.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            while ran.load(Ordering::Relaxed) < BURST {
                crate::yield_now().await;
            }
        });
        producer.join().unwrap();
        assert_eq!(
            remote.wakeups() - before,
            0,
            "the loop never parked during the burst"
        );

        // A parked loop: one submission, one write.
        let h = handle.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30)); // the loop parks meanwhile
            h.stop().unwrap();
        });
        let before = remote.wakeups();
        event_loop.run_forever();
        stopper.join().unwrap();
        assert_eq!(remote.wakeups() - before, 1);
    }

    /// A burst at a parked loop: at most one write per park, far fewer than the submissions.
    #[test]
    fn a_burst_at_a_parked_loop_costs_one_write_per_park() {
        const BURST: usize = 100_000;
        let event_loop = EventLoop::new().unwrap();
        let handle = event_loop.handle();
        let remote = event_loop.core.remote.clone();
        let ran = Arc::new(AtomicUsize::new(0));
        let producer = {
            let ran = ran.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30)); // the loop parks meanwhile
                for _ in 0..BURST {
                    let ran = ran.clone();
                    handle
                        .call_soon_threadsafe(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                }
                handle.stop().unwrap();
            })
        };
        let before = remote.wakeups();
        event_loop.run_forever();
        producer.join().unwrap();
        event_loop.run_until_complete(crate::yield_now());
        assert_eq!(ran.load(Ordering::Relaxed), BURST);
        let writes = remote.wakeups() - before;
        eprintln!("{BURST} submissions at a parked loop: {writes} eventfd writes");
        assert!(
            (1..=(BURST / 20) as u64).contains(&writes),
            "{writes} eventfd writes"
        );
    }
}
