//! One iteration of the loop, asyncio's `_run_once`:
//! 1. take in the remote queue (work and wakes from other threads);
//! 2. run what was ready when the iteration began; what becomes ready meanwhile waits for the
//!    next iteration, so I/O and timers are never starved;
//! 3. poll the reactor: timeout 0 if anything is ready (and then only every
//!    `BUSY_POLL_INTERVAL` iterations, see runtime/reactor.rs), else until the earliest timer,
//!    else block;
//! 4. hand I/O readiness to the wakers registered for it;
//! 5. (time) advance the clock and wake expired timers.

use std::cell::RefMut;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::core::{Core, Runnable};
use crate::debug::StatCells;
use crate::reactor::Wait;
use crate::remote::RemoteMsg;
use crate::task::cell::RawTask;
use crate::task::table::TaskTable;
use crate::task::waker::{waker_for, WakeTarget};
use crate::task::TaskError;
use crate::time::driver::TimerEntry;

impl Core {
    /// Runs one iteration. `main` polls the `run_until_complete` future when it is woken and
    /// returns true once it has finished; the iteration then returns true at once.
    pub(crate) fn run_once(&self, main: &mut dyn FnMut(&mut Context<'_>) -> bool) -> bool {
        StatCells::bump(&self.stats.iterations, 1);
        self.take_remote();
        let ready_now = self.ready.borrow().len();
        for _ in 0..ready_now {
            let Some(runnable) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            match runnable {
                Runnable::Task { key, gen } => self.run_task(key, gen),
                Runnable::Main => {
                    self.main_scheduled.set(false);
                    let waker = waker_for(self.main_target());
                    if main(&mut Context::from_waker(&waker)) {
                        return true;
                    }
                }
                Runnable::Callback(cell) => {
                    if let Some(callback) = cell.take() {
                        self.run_callback(callback);
                    }
                }
                Runnable::Call(callback) => self.run_callback(callback),
            }
        }
        self.poll_reactor();
        self.fire_timers();
        false
    }

    /// Step 1: moves remote wakes and calls onto the ready queue, in the order they were sent.
    fn take_remote(&self) {
        let mut msgs = std::mem::take(&mut *self.remote_buf.borrow_mut());
        self.remote.take_into(&mut msgs);
        for msg in msgs.drain(..) {
            match msg {
                RemoteMsg::Wake { key, gen } => {
                    StatCells::bump(&self.stats.remote_wakes, 1);
                    self.schedule(key, gen);
                }
                RemoteMsg::Call(callback) => self.ready.borrow_mut().push_back(Runnable::Call(callback)),
                RemoteMsg::Spawn(cell) => self.spawn_remote(cell),
            }
        }
        *self.remote_buf.borrow_mut() = msgs;
    }

    /// Runs a callback; a panic goes to the exception handler.
    fn run_callback(&self, callback: Box<dyn FnOnce()>) {
        StatCells::bump(&self.stats.callbacks, 1);
        let started = self.spawn_clock();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(callback)) {
            self.report("Exception in callback", None, Some(payload));
        }
        if let Some(started) = started {
            self.check_slow(None, started.elapsed());
        }
    }

    /// One step of a task: poll it, or drop it if it was cancelled.
    fn run_task(&self, key: u32, gen: u16) {
        let Some((mut cell, cancel)) = self.tasks.borrow_mut().start_step(key, gen) else {
            return;
        };
        if cancel {
            self.drop_future(&mut cell, TaskError::Cancelled, key, gen);
            return self.finish_task(key, gen, cell, true);
        }

        StatCells::bump(&self.stats.polls, 1);
        let started = self.spawn_clock();
        self.current.set(Some((key, gen)));
        let waker = waker_for(WakeTarget {
            loop_id: self.id,
            key,
            gen,
        });
        #[cfg(feature = "tracing")]
        let _span = self
            .tasks
            .borrow()
            .get(key, gen)
            .map(|slot| tracing::trace_span!("poll", task.id = slot.state.id().as_u64()).entered());
        let polled = catch_unwind(AssertUnwindSafe(|| {
            cell.as_mut().poll_task(&mut Context::from_waker(&waker))
        }));
        self.current.set(None);
        if let Some(started) = started {
            let took = started.elapsed();
            if took >= self.slow_callback.get() {
                let task = self.tasks.borrow().label(key, gen);
                self.check_slow(task, took);
            }
        }

        match polled {
            Ok(Poll::Pending) => {
                if let Some(slot) = self.tasks.borrow_mut().get_mut(key, gen) {
                    slot.cell = cell;
                }
            }
            Ok(Poll::Ready(())) => {
                let tasks = self.tasks.borrow_mut();
                let cancelled = tasks
                    .get(key, gen)
                    .is_some_and(|slot| slot.state.cancel_requested());
                if cancelled {
                    // asyncio: a task cancelled in the step in which it returns counts as cancelled.
                    drop(tasks);
                    self.drop_future(&mut cell, TaskError::Cancelled, key, gen);
                    self.finish_task(key, gen, cell, true);
                } else {
                    self.finish_task_in(tasks, key, gen, cell, false);
                }
            }
            Err(payload) => {
                self.drop_future(&mut cell, TaskError::Panicked(payload), key, gen);
                self.finish_task(key, gen, cell, false);
            }
        }
    }

    /// Ends a task with `error`, dropping its future (or output). A panic in that drop is
    /// reported to the exception handler.
    fn drop_future(&self, cell: &mut Pin<Box<dyn RawTask>>, error: TaskError, key: u32, gen: u16) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| cell.as_mut().drop_future())) {
            let task = self.tasks.borrow().label(key, gen);
            self.report(
                "A task's future panicked while being dropped",
                task,
                Some(payload),
            );
        }
        cell.as_mut().set_error(error);
    }

    /// Records that a task finished (its cell holds the outcome) and wakes its awaiter, or
    /// frees the slot at once if nobody holds the `Task` handle.
    fn finish_task(&self, key: u32, gen: u16, cell: Pin<Box<dyn RawTask>>, cancelled: bool) {
        self.finish_task_in(self.tasks.borrow_mut(), key, gen, cell, cancelled);
    }

    /// [`Core::finish_task`] with the task table already borrowed (the borrow is released
    /// before any user code runs).
    fn finish_task_in(
        &self,
        mut tasks: RefMut<'_, TaskTable>,
        key: u32,
        gen: u16,
        cell: Pin<Box<dyn RawTask>>,
        cancelled: bool,
    ) {
        let Some(slot) = tasks.get_mut(key, gen) else {
            // Not expected (nothing frees a slot whose cell is out); drop it outside the borrow.
            drop(tasks);
            drop(cell);
            return;
        };
        slot.state.set_done(true);
        slot.state.set_cancelled(cancelled);
        slot.state.set_cancel_requested(false);
        if slot.state.detached() {
            drop(tasks);
            self.discard_outcome(key, gen, cell);
        } else {
            slot.cell = cell;
            let waker = slot.join_waker.take();
            drop(tasks);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Steps 3 and 4: waits for I/O, a remote wake or the earliest timer, as long as nothing
    /// is ready. Under a paused clock, an otherwise idle loop jumps the clock to the next timer.
    fn poll_reactor(&self) {
        // A pending `stop()` keeps the poll from blocking only where it ends the run.
        let stopping = self.stopping.get() && self.forever.get();
        let busy = !self.ready.borrow().is_empty() || stopping;
        let paused = self.clock.is_paused();
        let next = if busy {
            None
        } else {
            self.timers.borrow().wheel.next_wakeup()
        };
        let mut wait = match next {
            _ if busy => Wait::Zero,
            None => Wait::Forever,
            Some(deadline) => {
                let now = self.timers.borrow().now_tick(self.clock.now());
                if deadline <= now || paused {
                    Wait::Zero
                } else {
                    Wait::Until {
                        deadline,
                        after: Duration::from_nanos(deadline - now),
                    }
                }
            }
        };
        let parked = wait != Wait::Zero && self.remote.park();
        if !parked {
            wait = Wait::Zero;
        }
        if wait == Wait::Zero {
            // A busy loop polls for I/O only every `BUSY_POLL_INTERVAL` iterations; any other
            // zero-timeout poll only if it could report something (the remote queue and the
            // wheel are checked without it). Virtual time still advances.
            let poll = match busy {
                true => self.reactor.borrow_mut().busy_poll_due(),
                false => self.reactor.borrow().has_io_sources(),
            };
            if !poll {
                self.advance_paused_clock(paused && !busy, next);
                return;
            }
        }
        let io_events = self.reactor.borrow_mut().poll(wait);
        StatCells::bump(&self.stats.io_events, io_events as u64);
        if parked {
            self.remote.unpark();
        }
        self.wake_io();
        self.advance_paused_clock(paused && !busy && io_events == 0, next);
    }

    /// Step 4: wakes the tasks whose I/O became ready. The wakers were collected by the poll;
    /// they are woken (and dropped) after the reactor's borrow ends, since a foreign waker may
    /// run arbitrary code, even code that registers a socket.
    fn wake_io(&self) {
        let mut woken = self.reactor.borrow_mut().take_woken();
        if woken.is_empty() {
            return self.reactor.borrow_mut().restore_woken(woken);
        }
        for waker in woken.drain(..) {
            waker.wake();
        }
        self.reactor.borrow_mut().restore_woken(woken);
    }

    /// Virtual time: when the loop is `idle` under a paused clock and nothing else became
    /// ready, jumps the clock to the next timer's deadline.
    fn advance_paused_clock(&self, idle: bool, next: Option<u64>) {
        if let (true, Some(deadline)) = (idle, next) {
            if self.ready.borrow().is_empty() && !self.remote.has_pending() {
                let at = self.timers.borrow().instant_of(deadline);
                self.clock.advance_to(at);
            }
        }
    }

    /// Step 5: advances the wheel to the clock and fires every due timer, in deadline order.
    fn fire_timers(&self) {
        if self.timers.borrow().wheel.is_empty() {
            return;
        }
        let now = self.timers.borrow().now_tick(self.clock.now());
        loop {
            let fired = self.timers.borrow_mut().wheel.poll_expired(now);
            if fired.is_some() {
                StatCells::bump(&self.stats.timers_fired, 1);
            }
            match fired {
                None => break,
                Some((_, TimerEntry::Wake(waker))) => waker.wake(),
                Some((_, TimerEntry::Call(cell))) => {
                    self.ready.borrow_mut().push_back(Runnable::Callback(cell))
                }
            }
        }
    }
}
