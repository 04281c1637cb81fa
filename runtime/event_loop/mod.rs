//! [`EventLoop`] (owns a loop; dropping it closes the loop) and [`Loop`] (a cheap handle to one).

mod builder;
mod close;
mod core;
mod debug;
mod extensions;
mod interrupt;
mod iteration;
mod run_exit;
mod runner;

use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Deref;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, RawWakerVTable};
use std::time::{Duration, Instant};

pub use builder::Builder;
pub(crate) use core::Core;
pub use runner::Runner;

use crate::context;
use crate::io::IoDriverKind;
use crate::remote;
use crate::task::cancel_scope::cancelling;
use crate::task::waker::{self, WakeHook, WakeTarget};
use crate::task::CallbackHandle;
use crate::task::{ExceptionContext, MainTask, Task};
use crate::time::clock::add_saturating;
use crate::time::TimerHandle;
pub use debug::{dump_tasks, LoopStats, TaskDump, TaskInfo, TaskState};

/// The schedule hook of the loop's wakers (task/waker.rs): a wake goes to the scheduler's ready
/// queue when that loop is running on this thread, else through the loop's remote queue.
pub(crate) struct LoopWake;

/// The vtable of every task waker (one `static`, so `will_wake` compares equal).
static LOOP_WAKER: RawWakerVTable = waker::vtable::<LoopWake>();

// SAFETY: `vtable` returns `LOOP_WAKER`, built by `vtable::<LoopWake>()`; `wake` is callable
// from any thread (it touches only the calling thread's own loop, else the remote registry).
unsafe impl WakeHook for LoopWake {
    fn wake(target: WakeTarget) {
        #[cfg(feature = "tracing")]
        tracing::trace!(loop_id = target.loop_id, key = target.key, "wake");
        let local = context::with_current(|core| {
            let mine = core.id == target.loop_id;
            if mine {
                debug::StatCells::bump(&core.stats.local_wakes, 1);
                core.sched().schedule(target.key, target.gen);
            }
            mine
        });
        if local != Some(true) {
            remote::wake(target);
        }
    }

    #[inline]
    fn vtable() -> &'static RawWakerVTable {
        &LOOP_WAKER
    }
}

/// An event loop: asyncio's `new_event_loop()`. It runs on the thread that created it (it is
/// not `Send`); dropping it closes it, dropping every unfinished task (their destructors run).
///
/// It dereferences to [`Loop`], the handle that tasks get from
/// [`get_running_loop`](crate::get_running_loop), for `spawn`, `call_soon`, `time`, `stop`...
///
/// ```
/// let event_loop = aioloop::EventLoop::new().unwrap();
/// let task = event_loop.spawn(async { "spawned before the loop runs" });
/// let out = event_loop.run_until_complete(async move { task.await.unwrap() });
/// assert_eq!(out, "spawned before the loop runs");
/// ```
pub struct EventLoop {
    handle: Loop,
}

impl EventLoop {
    /// A new loop with the default configuration. Fails only if the OS refuses a poller.
    pub fn new() -> io::Result<EventLoop> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a new loop.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs the loop until `future` completes and returns its output (asyncio's
    /// `run_until_complete`). The future need not be `'static` or `Send`: it is polled in place,
    /// as a task of its own (the main task, as asyncio's `ensure_future` makes a coroutine a
    /// task): [`current_task`](crate::current_task) inside it is that task. A future that is
    /// already scheduled (a [`Task`], an [`aioloop::Future`](crate::Future), a gather) is
    /// awaited as it is, not wrapped. Tasks still pending when it returns stay on the loop for
    /// the next run.
    ///
    /// # Panics
    /// If a loop (this one or another) is already running on this thread, as asyncio raises
    /// `RuntimeError`; the running loop stays usable. If the loop is closed. A panic of
    /// `future` itself propagates to the caller (the loop stays usable). If the main task is
    /// cancelled (and does not observe it with [`until_cancelled`](crate::until_cancelled)),
    /// its future is dropped and this panics, as asyncio raises `CancelledError`.
    #[track_caller]
    pub fn run_until_complete<F: Future>(&self, future: F) -> F::Output {
        match self.run_main(future).output {
            Some(output) => output,
            None => panic!(
                "aioloop: the main task was cancelled (asyncio's run_until_complete raises \
                 CancelledError); to run cleanup first, await aioloop::until_cancelled"
            ),
        }
    }

    /// [`EventLoop::run_until_complete`], telling how the main task ended where that panics
    /// for a cancelled one.
    #[track_caller]
    pub(crate) fn run_main<F: Future>(&self, future: F) -> MainEnd<F::Output> {
        // The main future runs in a copy of the thread's context, as asyncio's main task, so
        // what it sets stays inside the loop; with none current, in none until it sets one
        // (the fast path of `enter`). Taken before the loop leaves no context current (C2).
        self.run_main_in(&mut crate::context_var::capture(), future)
    }

    /// [`EventLoop::run_main`] with the main task in `main_context` (`None`: none until it
    /// sets a variable, which then makes one there), which keeps what the task set.
    #[track_caller]
    pub(crate) fn run_main_in<F: Future>(
        &self,
        main_context: &mut Option<crate::context_var::Context>,
        future: F,
    ) -> MainEnd<F::Output> {
        let core = &self.handle.core;
        let _enter = context::enter(core);
        let _context = crate::context_var::LoopContextGuard::new(core.sched().clone());
        let _running = RunningGuard::new(core, false);
        core.sched().begin_main();
        let mut main = MainTask::new(core.sched().clone());
        let mut future = pin!(Some(future));
        let mut output = None;
        MainTask::unnamed_panics(|| {
            while !core.run_once(&mut |cx| {
                let running = future.as_mut().as_pin_mut().expect("polled until it completes");
                match crate::context_var::enter(main_context, || main.poll(running, cx)) {
                    Some(Poll::Ready(value)) => {
                        output = Some(value);
                        true
                    }
                    Some(Poll::Pending) => false,
                    None => true,
                }
            }) {}
        });
        let cancels = main.cancel_requests();
        drop(main);
        if output.is_none() {
            cancelling(|| future.set(None));
        }
        MainEnd { output, cancels }
    }

    /// Runs the loop until [`Loop::stop`] is called (asyncio's `run_forever`). If `stop` was
    /// called before, runs one iteration and returns.
    ///
    /// # Panics
    /// As [`EventLoop::run_until_complete`].
    ///
    /// ```
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let lp = event_loop.clone_handle();
    /// event_loop.call_soon(move || lp.stop());
    /// event_loop.run_forever();
    /// ```
    #[track_caller]
    pub fn run_forever(&self) {
        let core = &self.handle.core;
        let _enter = context::enter(core);
        let _context = crate::context_var::LoopContextGuard::new(core.sched().clone());
        let _running = RunningGuard::new(core, true);
        loop {
            core.run_once(&mut |_| false);
            if core.stopping.get() {
                break;
            }
        }
    }

    /// A [`Loop`] handle to this loop (clonable, cheap).
    pub fn clone_handle(&self) -> Loop {
        self.handle.clone()
    }
}

/// How the main task of a run ended.
pub(crate) struct MainEnd<T> {
    /// Its output; `None` if it was cancelled (its future dropped as a cancellation).
    pub(crate) output: Option<T>,
    /// Its cancel requests not taken back (asyncio's `cancelling()`) when it ended: a task that
    /// observed a cancellation and returned still has them.
    pub(crate) cancels: u32,
}

impl Deref for EventLoop {
    type Target = Loop;

    fn deref(&self) -> &Loop {
        &self.handle
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        self.handle.core.close();
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle.fmt(f)
    }
}

/// Sets `running` (and, for `run_forever`, `forever`) for the duration of a run, resetting
/// them and `stopping` even on unwind.
struct RunningGuard<'a> {
    core: &'a Core,
}

impl<'a> RunningGuard<'a> {
    fn new(core: &'a Core, forever: bool) -> Self {
        assert!(!core.closed.get(), "aioloop: cannot run a closed event loop");
        core.running.set(true);
        core.forever.set(forever);
        RunningGuard { core }
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.core.running.set(false);
        self.core.forever.set(false);
        self.core.stopping.set(false);
    }
}

/// A cheap, clonable handle to an event loop, as [`get_running_loop`](crate::get_running_loop)
/// returns. Not `Send`: it belongs to the loop's thread.
#[derive(Clone)]
pub struct Loop {
    pub(crate) core: Rc<Core>,
}

impl Loop {
    pub(crate) fn from_core(core: Rc<Core>) -> Self {
        Loop { core }
    }

    /// Spawns a task on this loop (running or not): asyncio's `loop.create_task`.
    ///
    /// # Panics
    /// If the loop is closed.
    #[doc(alias = "create_task")]
    #[track_caller]
    #[inline(always)] // as `aioloop::spawn` (harness.rs, `Scheduler::spawn`, says why)
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future, None)
    }

    /// Spawns a named task on this loop.
    #[track_caller]
    pub fn spawn_named<F>(&self, name: impl Into<String>, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future, Some(Rc::from(name.into())))
    }

    /// Spawns a task on this loop and, if the loop is running, runs its first step at once
    /// (asyncio's `loop.create_task(coro, eager_start=True)`); see
    /// [`spawn_eager`](crate::spawn_eager). On a loop that is not running it is a plain
    /// [`spawn`](Loop::spawn): the first step waits for the loop, as asyncio's `eager_start`
    /// does without a running loop.
    ///
    /// # Panics
    /// If the loop is closed.
    ///
    /// ```
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let before = event_loop.spawn_eager(async { 1 });
    /// assert!(!before.is_done(), "the loop is not running: a plain spawn");
    /// let lp = event_loop.clone_handle();
    /// let total = event_loop.run_until_complete(async move {
    ///     let during = lp.spawn_eager(async { 2 });
    ///     assert!(during.is_done(), "ran inside spawn_eager");
    ///     before.await.unwrap() + during.await.unwrap()
    /// });
    /// assert_eq!(total, 3);
    /// ```
    #[doc(alias = "eager_start")]
    #[doc(alias = "create_task")]
    #[track_caller]
    pub fn spawn_eager<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn_eager(future, None, "spawn_eager")
    }

    /// [`Loop::spawn_eager`] with a name for the task.
    #[doc(alias = "eager_start")]
    #[track_caller]
    pub fn spawn_eager_named<F>(&self, name: impl Into<String>, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core
            .spawn_eager(future, Some(Rc::from(name.into())), "spawn_eager_named")
    }

    /// Schedules `callback` for this loop's next iteration: asyncio's `loop.call_soon`.
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> CallbackHandle {
        self.core.call_soon(Box::new(callback))
    }

    /// Runs `callback` on this loop once `delay` has passed on its clock: asyncio's
    /// `loop.call_later`. Callbacks due at the same instant run in the order they were
    /// scheduled; [`TimerHandle::cancel`] cancels.
    ///
    /// # Panics
    /// If the loop is closed.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let fired = Rc::new(Cell::new(false));
    /// let flag = fired.clone();
    /// event_loop.call_later(Duration::from_millis(2), move || flag.set(true));
    /// event_loop.run_until_complete(async { aioloop::sleep(Duration::from_millis(5)).await });
    /// assert!(fired.get());
    /// ```
    #[track_caller]
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> TimerHandle {
        let when = add_saturating(self.time(), delay);
        self.core.call_at(when, Box::new(callback), "call_later")
    }

    /// Runs `callback` on this loop when its clock reads `when`: asyncio's `loop.call_at`.
    ///
    /// # Panics
    /// If the loop is closed.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// let event_loop = aioloop::EventLoop::new().unwrap();
    /// let fired = Rc::new(Cell::new(false));
    /// let flag = fired.clone();
    /// let when = event_loop.time() + Duration::from_millis(2);
    /// event_loop.call_at(when, move || flag.set(true));
    /// event_loop.run_until_complete(async { aioloop::sleep_until(when + Duration::from_millis(1)).await });
    /// assert!(fired.get());
    /// ```
    #[track_caller]
    pub fn call_at(&self, when: Instant, callback: impl FnOnce() + 'static) -> TimerHandle {
        self.core.call_at(when, Box::new(callback), "call_at")
    }

    /// The loop's clock: asyncio's `loop.time()`, as an `Instant`. Under a paused clock this
    /// is virtual time.
    pub fn time(&self) -> Instant {
        self.core.time().now()
    }

    /// Stops [`EventLoop::run_forever`] after the current iteration. It does not interrupt
    /// [`EventLoop::run_until_complete`], which runs until its future completes (asyncio raises
    /// `RuntimeError` there instead; a Rust future has no output to return early).
    pub fn stop(&self) {
        self.core.stopping.set(true);
    }

    /// True while the loop is running.
    pub fn is_running(&self) -> bool {
        self.core.running.get()
    }

    /// True once the loop has been closed (its `EventLoop` was dropped).
    pub fn is_closed(&self) -> bool {
        self.core.closed.get()
    }

    /// Turns debug mode on or off (see [`Builder::debug`]).
    pub fn set_debug(&self, enabled: bool) {
        self.core.debug.set(enabled);
    }

    /// True if debug mode is on.
    pub fn is_debug(&self) -> bool {
        self.core.debug.get()
    }

    /// The io driver the loop runs on: [`IoDriverKind::Epoll`] or [`IoDriverKind::IoUring`]
    /// (never `Auto`: an `Auto` loop reports what its probe chose). See [`Builder::io_driver`].
    pub fn io_driver(&self) -> IoDriverKind {
        self.core.io().kind()
    }

    /// Counters of what the loop has done: iterations, polls, wakes, I/O events, timers.
    pub fn stats(&self) -> LoopStats {
        self.core.stats()
    }

    /// Every live task of this loop (see [`dump_tasks`]).
    pub fn dump_tasks(&self) -> TaskDump {
        self.core.dump()
    }

    /// Replaces the exception handler (see [`Builder::exception_handler`]).
    pub fn set_exception_handler(&self, handler: impl Fn(&ExceptionContext) + 'static) {
        self.core.sched().set_exception_handler(Rc::new(handler));
    }
}

impl PartialEq for Loop {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.core, &other.core)
    }
}

impl Eq for Loop {}

impl fmt::Debug for Loop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop")
            .field("id", &self.core.id)
            .field("running", &self.is_running())
            .field("closed", &self.is_closed())
            .field("tasks", &self.core.sched().len())
            .finish()
    }
}
