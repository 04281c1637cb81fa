//! Combinators: [`gather`](fn@gather), [`gather!`](crate::gather!), [`try_gather`], [`select!`](crate::select!),
//! [`try_gather!`](crate::try_gather!), [`wait`](fn@wait), [`as_completed`](fn@as_completed), [`shield`](fn@shield), [`staggered_race`], [`TaskGroup`] and [`TaskSet`],
//! asyncio's ways of running many awaitables at once.
//!
//! Every combinator gives each child its own waker, which puts the child's index on a shared
//! ready list and wakes the parent: the parent polls only the children that were woken, so a
//! wake costs O(1) however many children there are (see `ready.rs`).
//!
//! Where Rust differs from asyncio:
//! - asyncio wraps every coroutine given to `gather` in a task; here plain futures run inside
//!   the task that awaits the combinator and are owned by it: dropping the combinator (the
//!   awaiting task was cancelled) drops them. Cancellation in asyncio is an exception thrown
//!   into the coroutine; here it is the future being dropped, its destructors running.
//! - A [`Task`](crate::Task) handle dropped *as a cancellation* while it is awaited cancels its
//!   task, as cancelling an asyncio awaiter cancels what it awaits (see the guide's
//!   "Cancellation"): a task given as a child of `gather` is cancelled when the task awaiting
//!   the gather is. Dropped in ordinary code, a handle detaches its task (it keeps running);
//!   [`shield`](fn@shield) and [`wait`](fn@wait) always detach.

mod as_completed;
mod child;
mod done_list;
mod gather;
mod group_child;
mod group_errors;
mod ready;
mod select;
mod select_parse;
mod shield;
mod staggered;
mod task_group;
mod task_group_run;
mod task_set;
mod tuple;
mod wait;

pub use as_completed::{as_completed, AsCompleted, AsCompletedTimeout};
pub use gather::{gather, try_gather, Gather, TryGather};
pub use group_child::GroupTask;
pub use group_errors::{ChildError, TaskGroupClosed};
pub use shield::{shield, Shield, Shieldable};
pub use staggered::{staggered_race, AttemptError, StaggeredOutcome, StaggeredRace};
pub use task_group::{TaskGroup, TaskGroupJoin, TaskGroupSpawner};
pub use task_group_run::TaskGroupRun;
pub use task_set::TaskSet;
pub use wait::{wait, ReturnWhen, Wait};

/// What the expansions of [`gather!`](crate::gather!) and [`try_gather!`](crate::try_gather!)
/// name. Not public API.
#[doc(hidden)]
pub mod __macro_support {
    pub use super::child::MaybeDone;
    pub use super::select::select_start;
    pub use super::tuple::{Children, GatherTuple, TryChildren, TryGatherTuple};
    pub use crate::task::coop::poll_budget_available;
}
