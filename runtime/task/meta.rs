//! What the loop records about a task for diagnostics only, kept in a side table beside the
//! task slab (table.rs) so the slot itself stays small: the name of a named task and, in debug
//! mode, every task's spawn location, spawn time and poll count. asyncio likewise records a
//! task's creation traceback only in debug mode, and tokio its spawn locations only with its
//! tracing features. An unnamed task spawned outside debug mode has no entry and costs nothing.

use std::panic::Location;
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use super::done_callbacks::{DoneCallbacks, Released};
use super::waiters::{Turn, WaitList};
use super::TaskId;
use super::TaskLabel;

/// A task's done callback (`Task::add_done_callback`), bound to its task already.
pub(crate) type DoneCallback = Box<dyn FnOnce()>;

/// A task's diagnostics.
#[derive(Default)]
pub(crate) struct TaskMeta {
    /// The name given to `spawn_named`, or by the last `set_name`.
    pub(crate) name: Option<Rc<str>>,
    /// `name` was set by `set_name`: the join keeps it for the handle (a name given at spawn
    /// is kept from the spawn on, `Scheduler::keep_name`).
    pub(crate) renamed: bool,
    /// Debug mode's record, if the task was spawned in debug mode.
    pub(crate) trace: Option<SpawnTrace>,
    /// Cancel requests not taken back (asyncio 3.11's `cancelling()` count): while the task
    /// runs, those beyond the first, which is the slot's `cancel_requested` flag; once it
    /// finished, all of them (the finish moves the flag's request here).
    pub(crate) cancels: u32,
    /// The message of the last `cancel_with`.
    pub(crate) cancel_message: Option<Rc<str>>,
    /// The outcome counts as seen: a panic is not reported when nobody takes it (asyncio's
    /// `cancel()` on a done future, and `gather`'s done callback, clear `__log_traceback`).
    pub(crate) outcome_seen: bool,
    /// Done callbacks (`Task::add_done_callback`), queued on the loop when the task finishes,
    /// each with its marker in `joiners`.
    done_callbacks: DoneCallbacks<DoneCallback>,
    /// The [`SharedTask`](crate::SharedTask) holders awaiting the task, all woken when it
    /// finishes (the `Task` handle's own awaiter waits in the slot's `join_waker`), with the
    /// done callbacks' markers and, once anything was queued here after it started waiting, a
    /// join marker for the `Task` handle's awaiter: one FIFO, so that finishing wakes the
    /// awaiters and queues the callbacks in the order they were registered, as asyncio does.
    joiners: WaitList,
    /// The key of the join marker in `joiners`, once placed.
    join_marker: Option<usize>,
    /// The task's context (context_var.rs), if it has one: taken at spawn when a context was
    /// current, made by the task's first `set`, or by `get_context`. The slot's `has_context`
    /// flag says it is here, so a task without one pays nothing per step. It stays here during
    /// the task's steps (current meanwhile) and after the task finished, until the slot is
    /// freed: the join moves it to what the scheduler keeps for the handle; a detached task's
    /// is dropped outside the table's borrow (it holds user values, T1).
    pub(crate) context: Option<crate::context_var::Context>,
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
    /// The entry of a task spawned with `name` and, in debug mode, `trace`.
    pub(crate) fn new(name: Option<Rc<str>>, trace: Option<SpawnTrace>) -> TaskMeta {
        TaskMeta {
            name,
            trace,
            ..TaskMeta::default()
        }
    }

    /// Keeps `callback` until the task finishes; returns its id. `joined`: the `Task` handle's
    /// awaiter is waiting already (it keeps its place ahead of the callback).
    pub(crate) fn add_done_callback(&mut self, joined: bool, callback: DoneCallback) -> u64 {
        self.mark_join(joined);
        self.done_callbacks.add(&mut self.joiners, callback)
    }

    /// Takes back the done callback `id`; `None` if it is not kept (removed, or released).
    pub(crate) fn remove_done_callback(&mut self, id: u64) -> Option<DoneCallback> {
        self.done_callbacks.remove(&mut self.joiners, id)
    }

    /// For a [`SharedTask`](crate::SharedTask) holder: queues `waker` at the end of `joiners`
    /// (a new `entry`), or refreshes it at `entry`; returns the waker it replaced. `joined` as
    /// for [`TaskMeta::add_done_callback`].
    pub(crate) fn wait_as_joiner(
        &mut self,
        joined: bool,
        entry: &mut Option<usize>,
        waker: &Waker,
    ) -> Option<Waker> {
        if let Some(at) = *entry {
            match self.joiners.poll_notified(at, waker) {
                Turn::Waiting(replaced) => return replaced,
                // Joiners are notified only when the task finishes, which empties the list.
                Turn::Notified => {}
            }
        }
        self.mark_join(joined);
        *entry = Some(self.joiners.push(waker));
        None
    }

    /// A [`SharedTask`](crate::SharedTask) holder queued at `entry` goes away.
    pub(crate) fn leave_joiners(&mut self, entry: usize) {
        self.joiners.remove(entry);
    }

    /// Before something is queued in `joiners`: if the `Task` handle's awaiter is waiting
    /// already (`joined`) and has no place in the list yet, gives it one, ahead of what comes.
    fn mark_join(&mut self, joined: bool) {
        if joined && self.join_marker.is_none() {
            self.join_marker = Some(self.joiners.push_marker());
        }
    }

    /// What finishing the task releases, in registration order: the joiners' wakers and the
    /// done callbacks, with the key of the `Task` handle awaiter's place among them if it has
    /// one (else it comes last: it began waiting after everything else). The list is emptied,
    /// so no joiner's entry outlives the finish.
    pub(crate) fn take_on_finish(&mut self) -> (Vec<Released<DoneCallback>>, Option<usize>) {
        let mut joiners = std::mem::take(&mut self.joiners);
        (self.done_callbacks.release(&mut joiners), self.join_marker.take())
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
        let named = TaskMeta::new(Some(Rc::from("fetch")), None);
        let traced = TaskMeta::new(None, Some(SpawnTrace::new(here)));
        let plain = label(TaskId(7), None);
        assert_eq!((plain.name.as_str(), plain.location), ("Task-7", None));
        let named = label(TaskId(8), Some(&named));
        assert_eq!((named.name.as_str(), named.location), ("fetch", None));
        let traced = label(TaskId(9), Some(&traced));
        assert_eq!(traced.name, "Task-9");
        assert_eq!(traced.location.map(|l| l.line()), Some(here.line()));
    }
}
