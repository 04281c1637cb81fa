//! Tasks: spawned futures the loop owns, and the [`Task`] handle that awaits their outcome.

mod callback;
pub(crate) mod cancel_scope;
pub(crate) mod cell;
mod cell_box;
mod cell_pool;
pub(crate) mod coop;
pub(crate) mod current;
pub(crate) mod done_callbacks;
mod eager;
mod error;
mod handle;
mod harness;
mod inplace;
pub(crate) mod meta;
mod observe;
mod ready;
mod report;
mod scheduler;
mod shared;
mod slot_store;
mod state;
mod table;
mod task_ref;
pub(crate) mod waiters;
pub(crate) mod waker;
mod yield_now;

use std::fmt;

pub(crate) use callback::CallbackCell;
pub use callback::{CallbackHandle, DoneCallbackId};
pub use coop::{unconstrained, Unconstrained};
pub(crate) use eager::EagerStart;
pub(crate) use error::panic_message;
pub use error::TaskError;
pub use handle::Task;
pub(crate) use inplace::{claim_current, InPlaceSet, MainTask};
pub use observe::{cancelled, until_cancelled, Cancelled, UntilCancelled};
pub use report::ExceptionContext;
pub(crate) use report::{unname_panic, ExceptionHandler, TaskLabel};
pub(crate) use scheduler::{Runnable, Scheduler, StepHooks, TaskView};
pub use shared::SharedTask;
pub use task_ref::TaskRef;
pub use yield_now::{yield_now, YieldNow};

/// A task's identity, unique within its loop for the loop's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number (the `N` of asyncio's default name `Task-N`).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
