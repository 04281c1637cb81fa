//! What the loop records about a task for diagnostics only, kept in a side table beside the
//! task slab (table.rs) so the slot itself stays small: the name of a named task and, in debug
//! mode, every task's spawn location, spawn time and poll count. asyncio likewise records a
//! task's creation traceback only in debug mode, and tokio its spawn locations only with its
//! tracing features. An unnamed task spawned outside debug mode has no entry and costs nothing.

use std::panic::Location;
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use super::waiters::WaitList;
use super::TaskId;
use super::TaskLabel;

/// A done callback with its id (`Task::add_done_callback`) and its marker's key in
/// [`TaskMeta::joiners`].
pub(crate) type DoneCallback = (u64, usize, Box<dyn FnOnce()>);

/// A task's diagnostics.
#[derive(Default)]
pub(crate) struct TaskMeta {
    /// The name given to `spawn_named`.
    pub(crate) name: Option<Rc<str>>,
    /// Debug mode's record, if the task was spawned in debug mode.
    pub(crate) trace: Option<SpawnTrace>,
    /// Cancel requests not taken back: asyncio 3.11's `cancelling()` count.
    pub(crate) cancels: u32,
    /// The message of the last `cancel_with`.
    pub(crate) cancel_message: Option<Rc<str>>,
    /// Done callbacks (`Task::add_done_callback`), queued on the loop when the task finishes.
    pub(crate) done_callbacks: Vec<DoneCallback>,
    /// The id the next done callback gets.
    pub(crate) next_callback: u64,
    /// The [`SharedTask`](crate::SharedTask) holders awaiting the task, all woken when it
    /// finishes (the `Task` handle's own awaiter waits in the slot's `join_waker`), with a
    /// marker for each done callback and, once anything was queued here after it started
    /// waiting, a join marker for the `Task` handle's awaiter: one FIFO, so that finishing
    /// wakes the awaiters and queues the callbacks in the order they were registered, as
    /// asyncio does (an awaiting task's wake-up is a done callback there).
    pub(crate) joiners: WaitList,
    /// True once a join marker is in `joiners`.
    pub(crate) join_marked: bool,
}

/// Where and when a task was spawned, and how often it has been polled: recorded for tasks
/// spawned while debug mode is on (reading the clock and counting polls cost).
pub(crate) struct SpawnTrace {
    /// Where the task was spawned (`#[track_caller]`).
    pub(crate) location: &'static Location<'static>,
    /// When it was spawned.
    pub(crate) at: Instant,
    /// How many steps the loop has run of it.
    pub(crate) polls: u32,
}

impl SpawnTrace {
    /// A trace of a task spawned now at `location`, not polled yet.
    pub(crate) fn new(location: &'static Location<'static>) -> Self {
        SpawnTrace {
            location,
            at: Instant::now(),
            polls: 0,
        }
    }
}

impl TaskMeta {
    /// Before something is queued in `joiners`: if the `Task` handle's awaiter is waiting
    /// already (`joined`) and has no place in the list yet, gives it one, ahead of what comes.
    pub(crate) fn mark_join(&mut self, joined: bool) {
        if joined && !self.join_marked {
            self.joiners.push_join_marker();
            self.join_marked = true;
        }
    }

    /// What finishing the task releases: its done callbacks, and the wakers of its joiners
    /// with the markers among them (the list is emptied, so no joiner's entry outlives the
    /// finish).
    pub(crate) fn take_on_finish(&mut self) -> (Vec<DoneCallback>, Vec<Waker>) {
        let callbacks = std::mem::take(&mut self.done_callbacks);
        let wakers = match self.joiners.is_empty() {
            true => Vec::new(),
            false => std::mem::take(&mut self.joiners).notify_all(),
        };
        (callbacks, wakers)
    }

    /// Where the task was spawned, if recorded.
    pub(crate) fn location(&self) -> Option<&'static Location<'static>> {
        self.trace.as_ref().map(|trace| trace.location)
    }
}

/// A task's name: the one it was given, or asyncio's default `Task-<id>`.
pub(crate) fn display_name(id: TaskId, name: Option<&str>) -> String {
    match name {
        Some(name) => name.to_owned(),
        None => format!("Task-{id}"),
    }
}

/// The identity of task `id` for error reports, from its diagnostics if it has any.
pub(crate) fn label(id: TaskId, meta: Option<&TaskMeta>) -> TaskLabel {
    TaskLabel {
        id,
        name: display_name(id, meta.and_then(|meta| meta.name.as_deref())),
        location: meta.and_then(TaskMeta::location),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_use_the_name_or_asyncios_default() {
        let here = Location::caller();
        let named = TaskMeta {
            name: Some(Rc::from("fetch")),
            trace: None,
            ..TaskMeta::default()
        };
        let traced = TaskMeta {
            name: None,
            trace: Some(SpawnTrace::new(here)),
            ..TaskMeta::default()
        };
        let plain = label(TaskId(7), None);
        assert_eq!((plain.name.as_str(), plain.location), ("Task-7", None));
        let named = label(TaskId(8), Some(&named));
        assert_eq!((named.name.as_str(), named.location), ("fetch", None));
        let traced = label(TaskId(9), Some(&traced));
        assert_eq!(traced.name, "Task-9");
        assert_eq!(traced.location.map(|l| l.line()), Some(here.line()));
    }
}
