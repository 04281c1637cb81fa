//! The loop's shared state ([`Core`]) and the task operations on it.
//!
//! Every `RefCell` here is borrowed only for short stretches that run no user code: futures
//! are polled, callbacks run and user values dropped after the borrow ends. That is what lets a
//! task spawn, wake, cancel or drop other tasks from inside `poll` or from a `Drop` impl.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::callbacks::{CallbackCell, Handle};
use crate::debug::{StatCells, DEFAULT_SLOW_CALLBACK};
use crate::exception::{default_handler, ExceptionContext, TaskLabel};
use crate::reactor::{Reactor, WAKER_TOKEN};
use crate::remote::{self, Remote, RemoteMsg};
use crate::task::cell::{new_cell, vacant_cell, RawTask};
use crate::task::table::TaskTable;
use crate::task::waker::{WakeTarget, MAIN_KEY};
use crate::task::{Task, TaskError, TaskRef};
use crate::time::clock::Clock;
use crate::time::driver::TimerDriver;

/// Something the loop runs in one step of an iteration.
pub(crate) enum Runnable {
    /// One poll of a task.
    Task { key: u32, gen: u16 },
    /// One poll of the future given to `run_until_complete`.
    Main,
    /// A `call_soon` callback, cancellable through its `Handle`.
    Callback(Rc<CallbackCell>),
    /// A callback nobody can cancel (sent from another thread).
    Call(Box<dyn FnOnce()>),
}

/// The exception handler type.
pub(crate) type ExceptionHandler = Rc<dyn Fn(&ExceptionContext)>;

/// One loop's state, shared by the `EventLoop`, `Loop` handles and `Task` handles.
pub(crate) struct Core {
    pub(crate) id: u16,
    pub(crate) tasks: RefCell<TaskTable>,
    pub(crate) ready: RefCell<VecDeque<Runnable>>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) remote_buf: RefCell<Vec<RemoteMsg>>,
    pub(crate) reactor: RefCell<Reactor>,
    /// Generation of the current `run_until_complete` future, so a stale main waker is ignored.
    pub(crate) main_gen: Cell<u16>,
    pub(crate) main_scheduled: Cell<bool>,
    /// The task being polled right now.
    pub(crate) current: Cell<Option<(u32, u16)>>,
    pub(crate) running: Cell<bool>,
    pub(crate) stopping: Cell<bool>,
    /// True while `run_forever` runs: the only run that `stop()` ends.
    pub(crate) forever: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    pub(crate) exception_handler: RefCell<Option<ExceptionHandler>>,
    pub(crate) clock: Clock,
    pub(crate) timers: RefCell<TimerDriver>,
    pub(crate) debug: Cell<bool>,
    pub(crate) slow_callback: Cell<Duration>,
    pub(crate) stats: StatCells,
}

impl Core {
    /// A new loop with its reactor and its entry in the remote registry.
    pub(crate) fn new(event_capacity: usize, handler: Option<ExceptionHandler>) -> std::io::Result<Rc<Core>> {
        let reactor = Reactor::new(event_capacity)?;
        let (id, remote) = remote::register(reactor.registry(), WAKER_TOKEN)?;
        let clock = Clock::new();
        let timers = RefCell::new(TimerDriver::new(clock.now()));
        Ok(Rc::new(Core {
            id,
            tasks: RefCell::new(TaskTable::default()),
            ready: RefCell::new(VecDeque::with_capacity(64)),
            remote,
            remote_buf: RefCell::new(Vec::new()),
            reactor: RefCell::new(reactor),
            main_gen: Cell::new(0),
            main_scheduled: Cell::new(false),
            current: Cell::new(None),
            running: Cell::new(false),
            stopping: Cell::new(false),
            forever: Cell::new(false),
            closed: Cell::new(false),
            exception_handler: RefCell::new(handler),
            clock,
            timers,
            debug: Cell::new(false),
            slow_callback: Cell::new(DEFAULT_SLOW_CALLBACK),
            stats: StatCells::default(),
        }))
    }

    /// Freezes the loop's clock (virtual time).
    pub(crate) fn pause_clock(&self) {
        self.clock.pause();
    }

    /// Queues a task (or the main future) for the next step, unless it is queued already,
    /// finished, or gone.
    pub(crate) fn schedule(&self, key: u32, gen: u16) {
        if key == MAIN_KEY {
            if gen == self.main_gen.get() && !self.main_scheduled.replace(true) {
                self.ready.borrow_mut().push_back(Runnable::Main);
            }
            return;
        }
        let mut tasks = self.tasks.borrow_mut();
        if let Some(slot) = tasks.get_mut(key, gen) {
            if !slot.state.scheduled() && !slot.state.done() {
                slot.state.set_scheduled(true);
                drop(tasks);
                self.ready.borrow_mut().push_back(Runnable::Task { key, gen });
            }
        }
    }

    /// The waker of the current `run_until_complete` future.
    pub(crate) fn main_target(&self) -> WakeTarget {
        WakeTarget {
            loop_id: self.id,
            key: MAIN_KEY,
            gen: self.main_gen.get(),
        }
    }

    #[track_caller]
    fn assert_open(&self, what: &str) {
        assert!(
            !self.closed.get(),
            "aioloop: {what} on a closed event loop (asyncio raises 'Event loop is closed')"
        );
    }

    /// Spawns a task; it is queued at once.
    #[track_caller]
    pub(crate) fn spawn<F>(self: &Rc<Self>, future: F, name: Option<Rc<str>>) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.assert_open("spawn");
        let meta = self.task_meta(name.clone(), std::panic::Location::caller());
        let (key, gen, id) = self.tasks.borrow_mut().insert(new_cell(future), meta);
        #[cfg(feature = "tracing")]
        tracing::trace!(task.id = id.as_u64(), task.name = name.as_deref(), "spawn");
        self.schedule(key, gen);
        Task::new(self.clone(), key, gen, id, name)
    }

    /// The real time, in debug mode only (for task ages and slow-step timing).
    #[inline]
    pub(crate) fn spawn_clock(&self) -> Option<Instant> {
        self.debug.get().then(Instant::now)
    }

    /// Queues a callback.
    #[track_caller]
    pub(crate) fn call_soon(&self, callback: Box<dyn FnOnce()>) -> Handle {
        self.assert_open("call_soon");
        let cell = CallbackCell::new(callback);
        self.ready
            .borrow_mut()
            .push_back(Runnable::Callback(cell.clone()));
        Handle::new(cell)
    }

    /// `Task::cancel`: marks the task and queues it so the loop drops its future next iteration.
    pub(crate) fn cancel_task(&self, key: u32, gen: u16) -> bool {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return false;
        };
        if slot.state.done() {
            return false;
        }
        slot.state.set_cancel_requested(true);
        #[cfg(feature = "tracing")]
        tracing::trace!(task.id = slot.state.id().as_u64(), "cancel");
        drop(tasks);
        self.schedule(key, gen);
        true
    }

    pub(crate) fn task_is_done(&self, key: u32, gen: u16) -> bool {
        self.tasks
            .borrow()
            .get(key, gen)
            .is_none_or(|slot| slot.state.done())
    }

    pub(crate) fn task_is_cancelled(&self, key: u32, gen: u16) -> bool {
        self.tasks
            .borrow()
            .get(key, gen)
            .is_some_and(|slot| slot.state.cancelled())
    }

    pub(crate) fn task_is_panicked(&self, key: u32, gen: u16) -> bool {
        let tasks = self.tasks.borrow();
        tasks.get(key, gen).is_some_and(|slot| slot.cell.is_panic())
    }

    /// The join half of `Task::poll`: `Ready(Some(cell))` with the finished cell (its slot is
    /// freed), `Ready(None)` if the loop closed and dropped the task, else registers the waker.
    pub(crate) fn poll_join(
        &self,
        key: u32,
        gen: u16,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Pin<Box<dyn RawTask>>>> {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return Poll::Ready(None);
        };
        if slot.state.done() {
            let slot = tasks.remove(key, gen).expect("slot checked above");
            drop(tasks);
            return Poll::Ready(Some(slot.cell));
        }
        let old = slot.join_waker.register(cx.waker());
        drop(tasks);
        drop(old);
        Poll::Pending
    }

    /// A `Task` handle was dropped without taking the outcome.
    pub(crate) fn detach_task(&self, key: u32, gen: u16) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return;
        };
        if slot.state.done() {
            let cell = std::mem::replace(&mut slot.cell, vacant_cell());
            drop(tasks);
            self.discard_outcome(key, gen, cell);
        } else {
            slot.state.set_detached(true);
            let waker = slot.join_waker.take();
            drop(tasks);
            drop(waker);
        }
    }

    /// Drops the outcome (`cell`, taken out of its slot) of the finished task at `key`/`gen`,
    /// which nobody will read, then frees the slot. An unread panic goes to the exception
    /// handler, as asyncio reports "Task exception was never retrieved". The slot stays in the
    /// table (done, its cell vacant) while the outcome is dropped, so a report can name the task
    /// without carrying its diagnostics out of the table.
    pub(crate) fn discard_outcome(&self, key: u32, gen: u16, mut cell: Pin<Box<dyn RawTask>>) {
        let task = || self.tasks.borrow().label(key, gen);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cell.as_mut().take_error()));
        match outcome {
            Ok(Some(TaskError::Panicked(payload))) => {
                self.report("Task exception was never retrieved", task(), Some(payload))
            }
            Ok(_) => {}
            Err(payload) => self.report("Dropping a task's output panicked", task(), Some(payload)),
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(cell)));
        if let Err(payload) = dropped {
            self.report("Dropping a task's output panicked", task(), Some(payload));
        }
        let slot = self.tasks.borrow_mut().remove(key, gen);
        drop(slot);
    }

    /// Hands an error to the exception handler (outside any borrow); a panicking handler is
    /// reported on stderr and the loop goes on.
    pub(crate) fn report(
        &self,
        message: &str,
        task: Option<TaskLabel>,
        payload: Option<Box<dyn std::any::Any + Send>>,
    ) {
        let context = ExceptionContext {
            message: message.to_owned(),
            task,
            payload,
        };
        let handler = self.exception_handler.borrow().clone();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match handler {
            Some(handler) => handler(&context),
            None => default_handler(&context),
        }));
        if outcome.is_err() {
            eprintln!("aioloop: the exception handler panicked while handling: {context}");
        }
    }

    /// A `TaskRef` for the task in `key`/`gen`, if it is still there.
    fn task_ref(self: &Rc<Self>, key: u32, gen: u16) -> Option<TaskRef> {
        let label = self.tasks.borrow().label(key, gen)?;
        Some(TaskRef {
            core: self.clone(),
            key,
            gen,
            id: label.id,
            name: label.name,
        })
    }

    /// The running task's identity for error reports.
    pub(crate) fn current_label(&self) -> Option<TaskLabel> {
        let (key, gen) = self.current.get()?;
        self.tasks.borrow().label(key, gen)
    }

    pub(crate) fn current_task_ref(self: &Rc<Self>) -> Option<TaskRef> {
        let (key, gen) = self.current.get()?;
        self.task_ref(key, gen)
    }

    pub(crate) fn all_task_refs(self: &Rc<Self>) -> Vec<TaskRef> {
        let live: Vec<(u32, u16)> = self
            .tasks
            .borrow()
            .iter()
            .filter(|(_, slot)| !slot.state.done())
            .map(|(key, slot)| (key, slot.state.gen()))
            .collect();
        live.into_iter()
            .filter_map(|(key, gen)| self.task_ref(key, gen))
            .collect()
    }
}
