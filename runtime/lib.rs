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
//!
//! One iteration of the loop takes in work sent from other threads, runs everything that was
//! ready when the iteration began (in FIFO order), then polls the OS for I/O (without
//! blocking if anything is ready) and fires due timers.

#![warn(missing_docs)]

mod blocking;
mod callbacks;
mod combinators;
mod context;
mod debug;
mod error;
mod event_loop;
mod future;
mod io;
mod loop_bound;
pub mod net;
mod oneshot;
pub mod process;
mod reactor;
mod remote;
pub mod signal;
pub mod streams;
pub mod sync;
mod sync_shim;
mod task;
mod threadsafe;
pub mod time;
mod waker_slot;

pub use aioloop_macros::{main, test};
pub use blocking::{run_in_executor, to_thread, ToThread};
pub use callbacks::{call_soon, Handle};
#[doc(hidden)]
pub use combinators::__macro_support as __combinators;
pub use combinators::{
    as_completed, gather, shield, try_gather, wait, AsCompleted, AsCompletedTimeout, ChildError, Gather,
    GroupTask, ReturnWhen, Shield, TaskGroup, TaskGroupClosed, TaskGroupJoin, TaskGroupRun, TaskGroupSpawner,
    TryGather, Wait,
};
pub use context::{get_running_loop, try_get_running_loop};
pub use debug::{dump_tasks, LoopStats, TaskDump, TaskInfo, TaskState};
pub use error::{CancelledError, InvalidStateError};
pub use event_loop::{Builder, EventLoop, Loop};
pub use future::{DoneCallbackId, Future};
pub use loop_bound::LoopBound;
pub use task::{
    all_tasks, cancelled, current_task, spawn, spawn_named, until_cancelled, yield_now, Cancelled,
    ExceptionContext, Task, TaskError, TaskId, TaskRef, UntilCancelled, YieldNow,
};
pub use threadsafe::{run_coroutine_threadsafe, ConcurrentError, ConcurrentFuture, LoopClosed, LoopHandle};
pub use time::{
    call_at, call_later, interval, sleep, sleep_until, timeout_at, wait_for, TimeoutError, TimerHandle,
};

/// The crate's cross-thread internals, for the loom models in `tests/loom_remote.rs` only
/// (built with `--cfg loom`; not part of the API).
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::oneshot::Sender;
    pub use crate::remote::{Remote, RemoteMsg};
    pub use crate::sync_shim::ModelEventfd;
    pub use crate::threadsafe::RemoteTask;

    use crate::{ConcurrentFuture, LoopHandle};
    use std::sync::Arc;

    /// A handle to a hand-built loop.
    pub fn handle(remote: Arc<Remote>) -> LoopHandle {
        LoopHandle::from_remote(remote)
    }

    /// `LoopHandle::submit`: a job that gets the sender of the returned future's cell.
    pub fn submit<T: Send + 'static>(
        handle: &LoopHandle,
        job: impl FnOnce(Sender<T>) + Send + 'static,
    ) -> ConcurrentFuture<T> {
        handle.submit(job)
    }

    /// A `ConcurrentFuture` over a fresh cell, with its sender.
    pub fn pair<T>(remote: Arc<Remote>) -> (Sender<T>, ConcurrentFuture<T>) {
        let (sender, receiver) = crate::oneshot::channel();
        (sender, ConcurrentFuture::new(receiver, &remote))
    }
}

/// Runs `future` on a new event loop and returns its output: asyncio's `asyncio.run`.
///
/// Creates a loop, runs the future to completion, drops every task still pending (their
/// destructors run) and closes the loop.
///
/// # Panics
/// If a loop is already running on this thread (asyncio raises `RuntimeError`), or if the OS
/// refuses to create the loop's poller. A panic of `future` itself propagates.
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
