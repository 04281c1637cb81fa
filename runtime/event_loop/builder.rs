//! [`Builder`]: the knobs of a new loop.

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use super::core::Core;
use super::debug::{debug_from_env, DEFAULT_SLOW_CALLBACK};
use super::{EventLoop, Loop, Runner};
use crate::blocking::{self, Pool};
use crate::io::driver::IoConfig;
use crate::io::IoDriverKind;
use crate::task::{ExceptionContext, ExceptionHandler};

/// The io_uring driver's default submission queue size.
const DEFAULT_URING_ENTRIES: u32 = 256;

/// Configures and builds an [`EventLoop`].
///
/// ```
/// let lp = aioloop::EventLoop::builder()
///     .event_capacity(256)
///     .exception_handler(|ctx| eprintln!("custom: {ctx}"))
///     .build()
///     .unwrap();
/// assert_eq!(lp.run_until_complete(async { 1 + 1 }), 2);
/// ```
#[must_use = "a Builder does nothing until .build() or .run()"]
pub struct Builder {
    event_capacity: usize,
    exception_handler: Option<ExceptionHandler>,
    start_paused: bool,
    debug: Option<bool>,
    slow_callback_duration: Duration,
    blocking_threads: usize,
    blocking_keep_alive: Duration,
    timer_slack: Option<Duration>,
    io_driver: Option<IoDriverKind>,
    uring_entries: u32,
    uring_completion: Option<bool>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default configuration.
    pub fn new() -> Self {
        Builder {
            event_capacity: 1024,
            exception_handler: None,
            start_paused: false,
            debug: None,
            slow_callback_duration: DEFAULT_SLOW_CALLBACK,
            blocking_threads: blocking::default_max_threads(),
            blocking_keep_alive: blocking::DEFAULT_KEEP_ALIVE,
            timer_slack: None,
            io_driver: None,
            uring_entries: DEFAULT_URING_ENTRIES,
            uring_completion: None,
        }
    }

    /// How many I/O events one poll of the reactor can return (default 1024). More events
    /// than this wait for the next iteration; nothing is lost.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The handler for errors nobody can receive: a panic in a detached task, in a task whose
    /// outcome was never taken, or in a callback. The default prints one line to stderr.
    /// asyncio's `loop.set_exception_handler`.
    pub fn exception_handler(mut self, handler: impl Fn(&ExceptionContext) + 'static) -> Self {
        self.exception_handler = Some(Rc::new(handler));
        self
    }

    /// Starts the loop's clock paused (virtual time): see [`crate::time`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let slept = aioloop::EventLoop::builder().start_paused(true).run(async {
    ///     let t0 = aioloop::get_running_loop().time();
    ///     aioloop::sleep(Duration::from_secs(24 * 3600)).await; // a virtual day, at once
    ///     aioloop::get_running_loop().time() - t0
    /// });
    /// assert_eq!(slept, Duration::from_secs(24 * 3600));
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self
    }

    /// Debug mode (asyncio's `loop.set_debug`): every task step and callback is timed and one
    /// slower than [`Builder::slow_callback_duration`] is reported, naming the task and where it
    /// was spawned; a loop closed with tasks still pending reports each ("Task was destroyed
    /// but it is pending!"). Tasks spawned while it is on record where and when they were
    /// spawned and how often they are polled, for those reports, the exception handler's
    /// [`spawn_location`](ExceptionContext::spawn_location) and task dumps; outside debug mode
    /// a task records none of that (as asyncio keeps a task's creation traceback only in debug
    /// mode). Reports go to the exception handler. Default: off, unless the environment
    /// variable `AIOLOOP_DEBUG` is set to something other than `0`.
    pub fn debug(mut self, enabled: bool) -> Self {
        self.debug = Some(enabled);
        self
    }

    /// How long one task step or callback may take before debug mode reports it
    /// (default 100 ms, as asyncio).
    pub fn slow_callback_duration(mut self, duration: Duration) -> Self {
        self.slow_callback_duration = duration;
        self
    }

    /// The bound on the loop's threads for blocking calls ([`to_thread`](crate::to_thread),
    /// [`run_in_executor`](crate::run_in_executor)); more calls wait their turn. Default
    /// `min(32, cores + 4)`, as asyncio's default executor. At least 1.
    pub fn blocking_threads(mut self, threads: usize) -> Self {
        self.blocking_threads = threads.max(1);
        self
    }

    /// How long an idle blocking thread waits for work before it exits (default 10 s).
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// How late a timer may fire so that timers close together share one wake-up of the loop.
    /// Without this call the loop chooses (see below); `timer_slack(Duration::ZERO)` makes
    /// every wake-up exact.
    ///
    /// With a slack set, when the loop has nothing to do but wait for its earliest timer, it
    /// waits until that deadline rounded up to the next multiple of `slack` (counted on the
    /// loop's clock), and then fires, in deadline order, every timer due by then. So a timer
    /// fires late by less than `slack` and never early, equal deadlines keep the order they
    /// were set in, and timers whose deadlines fall in one period of `slack` cost one wake-up
    /// instead of one each. A timer already due when the loop looks is not delayed, and
    /// neither is anything the loop is woken for by I/O or other tasks in the meantime. The
    /// paused clock's jumps follow the same rule, so virtual time shows exactly what the real
    /// clock does.
    ///
    /// The default keeps aioloop's sub-millisecond precision where it costs nothing and
    /// spares the CPU where timers are dense: a wake-up is exact (a `timerfd` armed for the
    /// deadline: `sleep(1ms)` takes about 1.02 ms, where tokio's takes 2 and asyncio's
    /// millisecond poll timeout about 1-2), unless it comes less than a millisecond after the
    /// loop last woke up for a timer: then the loop waits for the next whole millisecond (on
    /// the loop's clock) after that firing, or the deadline if later. So a program whose
    /// timers are due every few hundred microseconds (timeouts on thousands of connections,
    /// rate limiters) wakes about once per millisecond, as under tokio's millisecond wheel,
    /// instead of once per deadline
    /// (each wake-up costs microseconds of CPU: arming the timer, the poll, the context switch;
    /// docs/benchmarks.md measures it), and timers come at most a millisecond late. Under a
    /// paused clock the default is exact, so tests read exact virtual times.
    ///
    /// A program with many dense timers that prefers CPU to precision sets a wider slack:
    /// with 2 ms its timers are as late as tokio's (about 1 ms at the median, 2 ms at most)
    /// and it wakes half as often as tokio, about half tokio's CPU on such timers
    /// (`cargo bench --bench timer_lateness`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let lateness = aioloop::EventLoop::builder()
    ///     .start_paused(true)
    ///     .timer_slack(Duration::from_millis(1))
    ///     .run(async {
    ///         let lp = aioloop::get_running_loop();
    ///         let deadline = lp.time() + Duration::from_micros(300);
    ///         aioloop::sleep_until(deadline).await;
    ///         lp.time() - deadline
    ///     });
    /// assert!(lateness < Duration::from_millis(1));
    /// ```
    pub fn timer_slack(mut self, slack: Duration) -> Self {
        self.timer_slack = Some(slack);
        self
    }

    /// The io driver (see [`IoDriverKind`]): [`Epoll`](IoDriverKind::Epoll) (kqueue on macOS
    /// and the BSDs), [`IoUring`](IoDriverKind::IoUring) or [`Auto`](IoDriverKind::Auto), which
    /// probes for io_uring and falls back to epoll (debug mode reports why). Default: the
    /// environment variable `AIOLOOP_IO_DRIVER` (`epoll`, `io_uring` or `auto`) if set, else
    /// `Auto` with the `io-uring` cargo feature and `Epoll` without. Every driver runs the
    /// same API; [`Loop::io_driver`] tells which one a loop runs.
    ///
    /// ```
    /// use aioloop::{EventLoop, IoDriverKind};
    /// let lp = EventLoop::builder().io_driver(IoDriverKind::Auto).build().unwrap();
    /// let runs = lp.io_driver();
    /// assert!(runs == IoDriverKind::Epoll || runs == IoDriverKind::IoUring);
    /// ```
    pub fn io_driver(mut self, kind: IoDriverKind) -> Self {
        self.io_driver = Some(kind);
        self
    }

    /// The io_uring driver's submission queue size (default 256; its completion queue holds
    /// sixteen times as many). More submissions than this in one iteration cost an extra
    /// `io_uring_enter`; nothing is lost. The kernel refuses 0 and more than 32768, which makes
    /// an `Auto` loop fall back to epoll. Ignored by the epoll driver.
    pub fn io_uring_entries(mut self, entries: u32) -> Self {
        self.uring_entries = entries;
        self
    }

    /// Stream reads and writes on the io_uring driver in the completion form: each TCP and
    /// Unix stream keeps a multishot receive in the kernel, which fills buffers of the loop's
    /// buffer ring ahead of the reads, and its writes are copied into a send buffer that the
    /// loop sends at the end of its iteration (`flush` waits for those sends; a send's error
    /// is reported by the next write or flush), or, `false`, the readiness form (the socket's
    /// own `read` and `write` once a poll says ready, as on epoll).
    /// Default: on, unless the environment variable `AIOLOOP_IO_URING_COMPLETION` is `0` (or
    /// `off`): with its sends it makes about 0.04 system calls per echo round trip against
    /// the readiness form's 5, and costs less CPU (docs/benchmarks-net.md). A kernel without
    /// multishot receives or buffer rings keeps the readiness form (debug mode says so). Ignored by the epoll
    /// driver. With it, `into_std` on a stream with bytes received ahead and not read is an
    /// `InvalidData` error (they cannot go back into the socket), and written bytes reach the
    /// socket only when the loop runs on (or `flush` returned): a blocking call on the loop's
    /// thread right after a write must flush first.
    ///
    /// ```
    /// use aioloop::{EventLoop, IoDriverKind};
    /// let lp = EventLoop::builder()
    ///     .io_driver(IoDriverKind::Auto)
    ///     .io_uring_completion(true)
    ///     .build()
    ///     .unwrap();
    /// drop(lp);
    /// ```
    pub fn io_uring_completion(mut self, on: bool) -> Self {
        self.uring_completion = Some(on);
        self
    }

    /// Builds the loop. Fails if the OS refuses a poller or an eventfd, if the io driver
    /// asked for cannot run here ([`IoDriverKind::IoUring`] without the feature or where the
    /// kernel refuses it), if `AIOLOOP_IO_DRIVER` names no driver, or, on the io_uring
    /// driver, if `AIOLOOP_IO_URING_FILES` is not a file table size (a number, `0` or `off`).
    pub fn build(self) -> io::Result<EventLoop> {
        let kind = match self.io_driver {
            Some(kind) => kind,
            None => IoDriverKind::from_env_or_default()?,
        };
        let io = IoConfig {
            event_capacity: self.event_capacity,
            kind,
            uring_entries: self.uring_entries,
            uring_completion: self.uring_completion.unwrap_or_else(completion_from_env),
        };
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        let uring_completion = io.uring_completion;
        let pool = Pool::new(self.blocking_threads, self.blocking_keep_alive);
        let core = Core::new(io, self.exception_handler, pool)?;
        if self.start_paused {
            core.time().pause();
        }
        core.time().set_slack(self.timer_slack);
        core.debug.set(self.debug.unwrap_or_else(debug_from_env));
        if let (true, Some(reason)) = (core.debug.get(), core.io().fallback_reason()) {
            core.report(
                &format!("aioloop: io_uring unavailable, the loop runs on epoll: {reason}"),
                None,
                None,
            );
        }
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if core.debug.get()
            && core.io().kind() == IoDriverKind::IoUring
            && uring_completion
            && !core.io().recv_form()
        {
            core.report(
                "aioloop: io_uring without the completion form (Builder::io_uring_completion): \
                 the kernel lacks IORING_OP_RECV or IORING_OP_SEND; streams read and write as on \
                 epoll",
                None,
                None,
            );
        }
        core.slow_callback.set(self.slow_callback_duration);
        Ok(EventLoop {
            handle: Loop::from_core(core),
        })
    }

    /// Builds a loop, runs `future` to completion, cancels the tasks left over (running the
    /// loop until they have finished, so that those observing the cancellation run their async
    /// cleanup) and closes the loop: [`aioloop::run`](crate::run) with this configuration,
    /// Ctrl-C handling on the main thread included.
    ///
    /// # Panics
    /// If the loop cannot be built, or if a loop is already running on this thread. A panic of
    /// `future` propagates, after the leftover tasks were cancelled and finished, as above; so
    /// does the cancellation of the main task (as [`aioloop::run`](crate::run) says).
    #[track_caller]
    pub fn run<F: Future>(self, future: F) -> F::Output {
        // asyncio.run: `with Runner(...) as runner: return runner.run(main)`. The runner
        // closes (the leftover tasks cancelled, their async cleanup run, the blocking pool
        // joined) also when the main future panicked (the loop stays usable after that
        // panic); the panic then goes on with its own payload.
        let mut runner = Runner::with_builder(self);
        let output = panic::catch_unwind(AssertUnwindSafe(|| runner.run(future)));
        runner.close();
        output.unwrap_or_else(|payload| panic::resume_unwind(payload))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("event_capacity", &self.event_capacity)
            .field("exception_handler", &self.exception_handler.is_some())
            .field("start_paused", &self.start_paused)
            .field("debug", &self.debug)
            .field("slow_callback_duration", &self.slow_callback_duration)
            .field("blocking_threads", &self.blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("timer_slack", &self.timer_slack)
            .field("io_driver", &self.io_driver)
            .field("io_uring_completion", &self.uring_completion)
            .field("io_uring_entries", &self.uring_entries)
            .finish()
    }
}

/// The default of [`Builder::io_uring_completion`]: on unless `AIOLOOP_IO_URING_COMPLETION=0`
/// (only meaningful with the `io-uring` feature on Linux).
fn completion_from_env() -> bool {
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    return crate::io::uring::probe::completion_form_wanted();
    #[cfg(not(all(feature = "io-uring", target_os = "linux")))]
    false
}
