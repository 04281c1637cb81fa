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
//!
//! One iteration of the loop takes in work sent from other threads, runs everything that was
//! ready when the iteration began (in FIFO order), then polls the OS for I/O (without
//! blocking if anything is ready) and fires due timers.

#![warn(missing_docs)]

mod callbacks;
mod context;
mod error;
mod event_loop;
mod exception;
mod future;
mod io;
pub mod net;
pub mod process;
mod reactor;
#[allow(dead_code)] // the Call variant and is_closed serve LoopHandle (threads issue)
mod remote;
pub mod signal;
pub mod streams;
mod task;
pub mod time;

pub use aioloop_macros::{main, test};
pub use callbacks::{call_soon, Handle};
pub use context::{get_running_loop, try_get_running_loop};
pub use error::{CancelledError, InvalidStateError};
pub use event_loop::{Builder, EventLoop, Loop};
pub use exception::ExceptionContext;
pub use future::Future;
pub use task::{
    all_tasks, current_task, spawn, spawn_named, yield_now, Task, TaskError, TaskId, TaskRef, YieldNow,
};
pub use time::{
    call_at, call_later, interval, sleep, sleep_until, timeout_at, wait_for, TimeoutError, TimerHandle,
};

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
