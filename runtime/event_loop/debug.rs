//! Debug mode and introspection: slow-step warnings, "destroyed but pending" warnings, task
//! dumps and loop statistics (asyncio's debug mode, `slow_callback_duration`, and more).
//!
//! Debug mode is off by default; turn it on with [`Builder::debug`](crate::Builder::debug) or
//! the environment variable `AIOLOOP_DEBUG=1`. Warnings go to the loop's exception handler
//! (the default prints them to stderr), as asyncio routes them through its logger.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use super::Core;
use crate::context;
use crate::task::meta::{display_name, SpawnTrace, TaskMeta};
use crate::task::{TaskId, TaskLabel, TaskView};

/// asyncio's default `slow_callback_duration`.
pub(crate) const DEFAULT_SLOW_CALLBACK: Duration = Duration::from_millis(100);

/// True when the `AIOLOOP_DEBUG` environment variable asks for debug mode.
pub(crate) fn debug_from_env() -> bool {
    std::env::var_os("AIOLOOP_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The loop's counters, bumped on the hot path (plain `Cell`s: one thread).
#[derive(Default)]
pub(crate) struct StatCells {
    pub(crate) iterations: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) callbacks: Cell<u64>,
    pub(crate) local_wakes: Cell<u64>,
    pub(crate) remote_wakes: Cell<u64>,
    pub(crate) io_events: Cell<u64>,
    pub(crate) timers_fired: Cell<u64>,
}

impl StatCells {
    #[inline]
    pub(crate) fn bump(cell: &Cell<u64>, by: u64) {
        cell.set(cell.get().wrapping_add(by));
    }

    fn snapshot(&self, pending_timers: u64) -> LoopStats {
        LoopStats {
            pending_timers,
            iterations: self.iterations.get(),
            polls: self.polls.get(),
            callbacks: self.callbacks.get(),
            local_wakes: self.local_wakes.get(),
            remote_wakes: self.remote_wakes.get(),
            io_events: self.io_events.get(),
            timers_fired: self.timers_fired.get(),
        }
    }
}

/// Counters of what a loop has done since it was created (see [`Loop::stats`](crate::Loop::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopStats {
    /// Iterations of the loop.
    pub iterations: u64,
    /// Task polls.
    pub polls: u64,
    /// Callbacks run (`call_soon`, `call_later`, threadsafe calls).
    pub callbacks: u64,
    /// Wakes delivered on the loop's own thread.
    pub local_wakes: u64,
    /// Wakes that came through the remote queue (other threads, or while the loop was not running).
    pub remote_wakes: u64,
    /// I/O readiness events.
    pub io_events: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Timers set and neither fired nor cancelled yet (sleeps, timeouts, `call_later`): a
    /// figure of the moment, not a count since creation. A dropped sleep cancels its timer, so
    /// this comes back to 0 when nothing waits on time.
    ///
    /// ```
    /// use std::time::Duration;
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     let sleeper = aioloop::spawn(aioloop::sleep(Duration::from_secs(60)));
    ///     aioloop::yield_now().await; // the sleeper sets its timer
    ///     assert_eq!(lp.stats().pending_timers, 1);
    ///     sleeper.cancel(); // drops the sleep, which cancels its timer
    ///     assert!(sleeper.await.is_err());
    ///     assert_eq!(lp.stats().pending_timers, 0);
    /// });
    /// ```
    pub pending_timers: u64,
}

/// What a task is doing, as [`dump_tasks`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Queued to be polled in the next step.
    Scheduled,
    /// Being polled right now (it called `dump_tasks` itself, or is up the stack).
    Running,
    /// Waiting for a wake-up.
    Waiting,
    /// Finished; its outcome has not been taken yet.
    Done,
}

/// One task in a [`TaskDump`].
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// What it is doing.
    pub state: TaskState,
    /// Where it was spawned, if it was spawned in debug mode (outside debug mode a task does
    /// not record it, as asyncio keeps a task's creation traceback only in debug mode).
    pub location: Option<&'static Location<'static>>,
    /// How long ago it was spawned, if it was spawned in debug mode and debug mode is on.
    pub age: Option<Duration>,
    /// How many times it has been polled, if it was spawned in debug mode.
    pub polls: Option<u32>,
}

/// Every live task of a loop, as [`dump_tasks`] returns it. `Display` prints one line per task.
#[derive(Debug, Clone, Default)]
pub struct TaskDump {
    /// The tasks, in slot order.
    pub tasks: Vec<TaskInfo>,
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} task(s)", self.tasks.len())?;
        for t in &self.tasks {
            write!(f, "  #{} {:?} {:?}", t.id, t.name, t.state)?;
            if let Some(polls) = t.polls {
                write!(f, " polls={polls}")?;
            }
            if let Some(location) = t.location {
                write!(f, " spawned at {location}")?;
            }
            if let Some(age) = t.age {
                write!(f, " age={age:.3?}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl Core {
    /// The loop's counters.
    pub(crate) fn stats(&self) -> LoopStats {
        self.stats.snapshot(self.time().pending() as u64)
    }

    /// What to record about a task spawned now at `location`: its name, and in debug mode a
    /// spawn trace. `None` (nothing stored) for an unnamed task outside debug mode.
    #[inline]
    pub(crate) fn task_meta(
        &self,
        name: Option<Rc<str>>,
        location: &'static Location<'static>,
    ) -> Option<Box<TaskMeta>> {
        let trace = self.debug.get().then(|| SpawnTrace::new(location));
        if name.is_none() && trace.is_none() {
            return None;
        }
        // Boxed: the usual spawn passes `None` through the spawn path, and an unboxed
        // `Option<TaskMeta>` (160 bytes) was copied along it even then.
        Some(Box::new(TaskMeta::new(name, trace)))
    }

    /// Every live task (not yet freed), with its state.
    pub(crate) fn dump(&self) -> TaskDump {
        let now = self.debug_now();
        let mut tasks = Vec::new();
        self.sched().for_each_task(|task: &TaskView<'_>| {
            let trace = task.meta.and_then(|meta| meta.trace.as_ref());
            tasks.push(TaskInfo {
                id: task.id,
                name: display_name(task.id, task.meta.and_then(|meta| meta.name.as_deref())),
                state: if task.done {
                    TaskState::Done
                } else if task.running {
                    TaskState::Running
                } else if task.scheduled {
                    TaskState::Scheduled
                } else {
                    TaskState::Waiting
                },
                location: trace.map(|trace| trace.location),
                age: trace
                    .zip(now)
                    .map(|(trace, now)| now.saturating_duration_since(trace.at)),
                polls: trace.map(|trace| trace.polls),
            });
        });
        TaskDump { tasks }
    }

    /// In debug mode, reports a step of `task` (or a callback, for `None`) that took longer
    /// than `slow_callback_duration`, as asyncio's "Executing <Task...> took 0.150 seconds".
    pub(crate) fn check_slow(&self, task: Option<TaskLabel>, took: Duration) {
        if took >= self.slow_callback.get() {
            let what = match &task {
                Some(TaskLabel {
                    name,
                    location: Some(location),
                    ..
                }) => format!("task '{name}' (spawned at {location})"),
                // Spawned before debug mode was turned on: no location was recorded.
                Some(task) => format!("task '{}'", task.name),
                None => "a callback".to_string(),
            };
            let message = format!("Executing {what} took {:.3} seconds", took.as_secs_f64());
            self.report(&message, task, None);
        }
    }
}

/// Every live task of the running loop: id, name and state, and for tasks spawned in debug mode
/// their spawn location, age and poll count. An empty dump outside a loop.
///
/// ```
/// aioloop::run(async {
///     let _a = aioloop::spawn_named("a", std::future::pending::<()>());
///     let dump = aioloop::dump_tasks();
///     assert_eq!(dump.tasks.len(), 2, "the main task and a");
///     assert_eq!(dump.tasks[1].name, "a");
///     println!("{dump}");
/// });
/// ```
pub fn dump_tasks() -> TaskDump {
    context::current().map(|core| core.dump()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::panic::Location;

    use crate::EventLoop;

    #[test]
    fn only_named_tasks_and_debug_mode_record_diagnostics() {
        let event_loop = EventLoop::builder().debug(false).build().unwrap();
        let core = &event_loop.clone_handle().core;
        let here = Location::caller();
        assert!(
            core.task_meta(None, here).is_none(),
            "an unnamed task costs no entry"
        );
        let named = core.task_meta(Some("n".into()), here).unwrap();
        assert!(named.trace.is_none(), "no trace outside debug mode");
        core.debug.set(true);
        let traced = core.task_meta(None, here).unwrap();
        assert_eq!(traced.location(), Some(here));
        assert_eq!(traced.trace.map(|t| t.polls), Some(0));
    }
}
