//! [`Runner`]: asyncio 3.11's `asyncio.Runner`, several main futures run one after another on
//! one loop, then the loop closed the way [`run`](crate::run) closes it. `run` is a `Runner`
//! used once, as `asyncio.run` is.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};

use super::interrupt::{end_process_interrupted, RunInterrupt};
use super::{Builder, EventLoop, Loop, MainEnd};
use crate::context_var::Context;

/// Runs main futures one after another on one event loop, then closes it: asyncio 3.11's
/// `asyncio.Runner` (`with asyncio.Runner() as runner: runner.run(main())`).
///
/// The loop is built at the first [`run`](Runner::run) or [`get_loop`](Runner::get_loop).
/// Each `run` is a [`run_until_complete`](EventLoop::run_until_complete) with
/// [`aioloop::run`](crate::run)'s Ctrl-C handling; tasks left over stay on the loop for the
/// next `run`. Every main future runs in the runner's one context (a copy of the thread's
/// current one, taken when the loop is built), so what one `run` sets in a
/// [`ContextVar`](crate::ContextVar) the next one sees, as asyncio's `Runner` keeps one
/// context. [`close`](Runner::close), or dropping the runner, cancels the tasks still pending
/// and lets their async cleanup run, waits for the blocking pool's closures, and closes the
/// loop, as `aioloop::run` does at its end.
///
/// ```
/// use aioloop::{ContextVar, Runner};
///
/// static USER: ContextVar<&str> = ContextVar::new("user");
///
/// let mut runner = Runner::new();
/// runner.run(async { USER.set("ada") });
/// let seen = runner.run(async { USER.get() });
/// assert_eq!(seen, Some("ada"), "the runner's context is kept between runs");
/// let lp = runner.get_loop();
/// runner.close();
/// assert!(lp.is_closed());
/// ```
pub struct Runner {
    state: State,
}

enum State {
    /// Not built yet.
    Fresh(Builder),
    /// Built: the loop and the main futures' context.
    Open {
        event_loop: EventLoop,
        context: Option<Context>,
    },
    Closed,
}

impl Runner {
    /// A runner whose loop [`EventLoop::builder`] defaults build.
    pub fn new() -> Runner {
        Runner::with_builder(EventLoop::builder())
    }

    /// A runner whose loop `builder` builds (asyncio's `Runner(debug=..., loop_factory=...)`).
    ///
    /// ```
    /// let mut runner = aioloop::Runner::with_builder(aioloop::EventLoop::builder().debug(true));
    /// assert!(runner.get_loop().is_debug());
    /// ```
    pub fn with_builder(builder: Builder) -> Runner {
        Runner {
            state: State::Fresh(builder),
        }
    }

    /// Runs `future` as the loop's main task to completion and returns its output: asyncio's
    /// `Runner.run(coro)`. Tasks it leaves pending stay on the loop for the next `run` (or
    /// [`close`](Runner::close)).
    ///
    /// On the process's main thread, Ctrl-C during the run cancels the main task, and if that
    /// ends it, the runner closes and the process ends killed by `SIGINT` (see
    /// [`aioloop::run`](crate::run)).
    ///
    /// # Panics
    /// If the runner is closed (asyncio's `RuntimeError: Runner is closed`); if a loop is
    /// already running on this thread, e.g. a `run` from inside a running main future
    /// (asyncio's "cannot be called from a running event loop"); if the loop cannot be built;
    /// if the main task is cancelled and does not take the request back. A panic of `future`
    /// propagates (the runner stays usable).
    #[track_caller]
    pub fn run<F: Future>(&mut self, future: F) -> F::Output {
        self.run_main(None, future)
    }

    /// [`run`](Runner::run) with `future` in `context` rather than the runner's own: asyncio's
    /// `Runner.run(coro, context=ctx)`. The main task runs in `context` itself, not a copy (what
    /// it sets, `context` holds afterwards); the runner's context is left as it was.
    ///
    /// # Panics
    /// As [`run`](Runner::run); also if `context` is entered already (current on this thread's
    /// stack: Python's "cannot enter context").
    ///
    /// ```
    /// use aioloop::{Context, ContextVar, Runner};
    ///
    /// static USER: ContextVar<&str> = ContextVar::new("user");
    ///
    /// let mut runner = Runner::new();
    /// runner.run(async { USER.set("ada") });
    /// let ctx = Context::new();
    /// let seen = runner.run_with_context(&ctx, async {
    ///     let before = USER.get();
    ///     USER.set("grace");
    ///     before
    /// });
    /// assert_eq!(seen, None, "ctx is not the runner's context");
    /// assert_eq!(ctx.get(&USER), Some("grace"), "the main task ran in ctx itself");
    /// assert_eq!(runner.run(async { USER.get() }), Some("ada"));
    /// ```
    #[track_caller]
    pub fn run_with_context<F: Future>(&mut self, context: &Context, future: F) -> F::Output {
        self.run_main(Some(context), future)
    }

    /// [`run`](Runner::run) in `context`, or in the runner's own context.
    #[track_caller]
    fn run_main<F: Future>(&mut self, context: Option<&Context>, future: F) -> F::Output {
        let (event_loop, own_context) = self.open();
        let mut given = context.cloned();
        let context = if given.is_some() { &mut given } else { own_context };
        let interrupt = RunInterrupt::arm(event_loop.handle.core.remote_queue());
        let end = panic::catch_unwind(AssertUnwindSafe(|| event_loop.run_main_in(context, future)));
        // The handling ends with the main task, before any cleanup (asyncio restores the
        // default SIGINT handler as `Runner.run` returns).
        let interrupted = interrupt.is_some_and(RunInterrupt::disarm);
        let end = end.unwrap_or_else(|payload| panic::resume_unwind(payload));
        match end {
            // Ctrl-C's cancel alone ended the main task (also one that observed it and
            // returned without taking it back): asyncio raises `KeyboardInterrupt`, and the
            // runner is closed on the way out.
            end if interrupted && end.cancels == 1 => {
                self.close();
                end_process_interrupted()
            }
            MainEnd {
                output: Some(output), ..
            } => output,
            MainEnd { output: None, .. } => panic!(
                "aioloop: the main task was cancelled (asyncio.run and Runner.run raise \
                 CancelledError); to run cleanup first, await aioloop::until_cancelled"
            ),
        }
    }

    /// The runner's loop, built now if no `run` built it yet: asyncio's `Runner.get_loop()`.
    ///
    /// # Panics
    /// If the runner is closed, or if the loop cannot be built.
    #[track_caller]
    pub fn get_loop(&mut self) -> Loop {
        self.open().0.clone_handle()
    }

    /// Cancels the tasks still pending and runs the loop until they have finished (their async
    /// cleanup runs), waits (at most 300 s) for the blocking pool's closures, and closes the
    /// loop: asyncio's `Runner.close()`. Closing a closed runner, or one that never built its
    /// loop, does nothing more than mark it closed.
    pub fn close(&mut self) {
        if let State::Open { event_loop, .. } = std::mem::replace(&mut self.state, State::Closed) {
            event_loop.cancel_all_tasks();
            event_loop.shutdown_default_executor();
        }
    }

    /// True once [`close`](Runner::close) was called.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The loop and the main futures' context, built at the first call.
    #[track_caller]
    fn open(&mut self) -> (&EventLoop, &mut Option<Context>) {
        if let State::Fresh(_) = self.state {
            let State::Fresh(builder) = std::mem::replace(&mut self.state, State::Closed) else {
                unreachable!()
            };
            let event_loop = builder
                .build()
                .unwrap_or_else(|err| panic!("aioloop: failed to build the event loop: {err}"));
            self.state = State::Open {
                event_loop,
                context: crate::context_var::capture(),
            };
        }
        match &mut self.state {
            State::Open { event_loop, context } => (event_loop, context),
            State::Closed => panic!("aioloop: the Runner is closed (asyncio's RuntimeError)"),
            State::Fresh(_) => unreachable!("built above"),
        }
    }
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

/// Closes the runner (see [`Runner::close`]), as leaving asyncio's `with Runner()` block does.
impl Drop for Runner {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Fresh(_) => "fresh",
            State::Open { .. } => "open",
            State::Closed => "closed",
        };
        f.debug_struct("Runner").field("state", &state).finish()
    }
}
