//! # aioloop
//!
//! A single-threaded event loop for Rust with Python asyncio's model and vocabulary: one fast,
//! predictable loop per thread, tasks without `Send` bounds, asyncio's names in Rust form.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn greet(name: &str) -> String {
//!     aioloop::yield_now().await;
//!     format!("hello, {name}")
//! }
//!
//! let greetings = aioloop::run(async {
//!     let a = aioloop::spawn(greet("loop"));
//!     let b = aioloop::spawn(greet("world"));
//!     (a.await.unwrap(), b.await.unwrap())
//! });
//! assert_eq!(greetings, ("hello, loop".to_string(), "hello, world".to_string()));
//! ```
//!
//! The pieces, asyncio name first:
//! - `asyncio.run` → [`run`]; `new_event_loop` → [`EventLoop`]; `get_running_loop` →
//!   [`get_running_loop`].
//! - `create_task` → [`spawn`] returning a [`Task`]; `current_task` / `all_tasks` →
//!   [`current_task`] / [`all_tasks`]; `sleep(0)` → [`yield_now`].
//! - `asyncio.Future` → [`Future`]; `call_soon` → [`call_soon`].
//! - `gather` → [`gather!`] / [`gather()`] / [`try_gather()`]; `wait`, `as_completed`, `shield`,
//!   `TaskGroup` → [`wait`], [`as_completed`], [`shield`], [`TaskGroup`].
//! - Threads: `call_soon_threadsafe` / `run_coroutine_threadsafe` → [`LoopHandle`] (from
//!   [`Loop::handle`]) and [`run_coroutine_threadsafe`], returning a [`ConcurrentFuture`];
//!   `to_thread` / `run_in_executor` → [`to_thread`] / [`run_in_executor`]; a value that is not
//!   `Send` travels through other threads in a [`LoopBound`].
//! - `contextvars.ContextVar`, `copy_context`, `Context` → [`ContextVar`], [`copy_context`],
//!   [`Context`] (each task runs in a copy of its creator's context); tokio's `task_local!` →
//!   [`task_local!`] and [`LocalKey`].
//!
//! One iteration of the loop takes in work sent from other threads, runs everything that was
//! ready when the iteration began (in FIFO order), then polls the OS for I/O (without
//! blocking if anything is ready) and fires due timers.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod blocking;
mod callbacks;
mod combinators;
#[cfg(feature = "tokio-compat")]
pub mod compat;
mod context;
mod context_var;
mod current;
mod error;
mod event_loop;
mod fd_watch;
pub mod fs;
mod future;
#[cfg(feature = "hyper")]
pub mod hyper;
mod io;
mod loop_bound;
pub mod net;
mod prefetch;
pub mod process;
pub mod protocols;
mod remote;
pub mod signal;
pub mod streams;
pub mod sync;
mod sync_shim;
mod task;
mod task_local;
mod thread_waker;
mod threadsafe;
pub mod time;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(test)]
mod wake_counter;
mod waker_slot;

pub use aioloop_macros::{main, test};
pub use callbacks::{call_soon, CallbackHandle};
#[doc(hidden)]
pub use combinators::__macro_support as __combinators;
pub use combinators::{
    as_completed, gather, shield, staggered_race, try_gather, wait, AsCompleted, AsCompletedTimeout,
    AttemptError, ChildError, Gather, GroupTask, ReturnWhen, Shield, Shieldable, StaggeredOutcome,
    StaggeredRace, TaskGroup, TaskGroupClosed, TaskGroupJoin, TaskGroupRun, TaskGroupSpawner, TaskSet,
    TryGather, Wait,
};
pub use context::{
    all_tasks, current_task, get_running_loop, spawn, spawn_eager, spawn_eager_named, spawn_named,
    try_get_running_loop,
};
pub use context_var::{copy_context, Context, ContextScope, ContextVar, ResetError, Token};
pub use error::{CancelledError, InvalidStateError};
pub use event_loop::{
    dump_tasks, Builder, EventLoop, Loop, LoopStats, Runner, TaskDump, TaskInfo, TaskState,
};
pub use future::Future;
pub use io::IoDriverKind;
pub use loop_bound::LoopBound;
pub use task::{
    cancelled, unconstrained, until_cancelled, yield_now, Cancelled, DoneCallbackId, ExceptionContext,
    SharedTask, Task, TaskError, TaskId, TaskRef, Unconstrained, UntilCancelled, YieldNow,
};
pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
pub use threadsafe::{
    run_coroutine_threadsafe, run_in_executor, to_thread, ConcurrentError, ConcurrentFuture, LoopClosed,
    LoopHandle, ToThread,
};
// Every item of `time` is also at the root, as asyncio keeps them at `asyncio.*`, except the
// clock controls (`time::pause`, `time::resume`, `time::advance`), test tools that read best
// qualified.
pub use time::{
    call_at, call_later, interval, interval_at, sleep, sleep_until, timeout_at, timeout_scope,
    timeout_scope_at, wait_for, Interval, MissedTickBehavior, Sleep, Timeout, TimeoutError, TimeoutScope,
    TimeoutScopeRun, TimerHandle,
};

/// Runs `future` on a new event loop and returns its output: asyncio's `asyncio.run`.
///
/// Creates a loop, runs the future to completion, cancels every task still pending and runs
/// the loop until they have finished (asyncio's `_cancel_all_tasks`: a task that observes its
/// cancellation with [`until_cancelled`] runs its async cleanup; the others are dropped, their
/// destructors run), and closes the loop.
///
/// Before it closes the loop, `run` also waits (at most 300 s) for the blocking closures still
/// running ([`to_thread`], [`run_in_executor`]), as `asyncio.run`'s
/// `shutdown_default_executor` joins the executor's threads.
///
/// **Ctrl-C**, as `asyncio.run` handles it: on the process's main thread, while `SIGINT` would
/// take its default action (not ignored, and no [`signal::ctrl_c`] listener or
/// [`Loop::add_signal_handler`] handler for it on any loop), a Ctrl-C cancels the main task.
/// Its cleanup runs (a main task awaiting [`until_cancelled`] sees the request), then the
/// leftover tasks are cancelled and finish as above, the loop closes, and the process ends
/// killed by `SIGINT`, as an unhandled Ctrl-C ends it (asyncio raises `KeyboardInterrupt`). A
/// main task that takes the request back ([`TaskRef::uncancel`]) and returns makes `run` return
/// its value. A second Ctrl-C before the main task has finished ends the process at once, even
/// while the loop is blocked. A program that wants to go on after Ctrl-C listens for it itself
/// ([`signal::ctrl_c`]): then `run` leaves `SIGINT` to it.
///
/// # Panics
/// If a loop is already running on this thread (asyncio raises `RuntimeError`), or if the OS
/// refuses to create the loop's poller. A panic of `future` itself propagates, once the tasks
/// left over were cancelled and have finished (asyncio's `_cancel_all_tasks` runs in a
/// `finally`). If the main task is cancelled (other than by Ctrl-C alone, see above) and
/// does not take the request back, once the leftover tasks have finished (asyncio raises
/// `CancelledError`).
///
/// ```
/// let answer = aioloop::run(async { 42 });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    Builder::new().run(future)
}

/// The snippets of docs/guide.md, compiled and run as doctests by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideSnippets;
