//! One iteration of the loop, asyncio's `_run_once`:
//! 1. take in the remote queue (work and wakes from other threads);
//! 2. run what was ready when the iteration began; what becomes ready meanwhile waits for the
//!    next iteration, so I/O and timers are never starved;
//! 3. poll the reactor: timeout 0 if anything is ready (and then only every
//!    `BUSY_POLL_INTERVAL` iterations, see runtime/reactor.rs), else until the earliest timer,
//!    else block;
//! 4. hand I/O readiness to the wakers registered for it;
//! 5. (time) advance the clock and wake expired timers.

use std::task::Context;
use std::time::{Duration, Instant};

use super::core::Core;
use super::LoopWake;
use crate::debug::StatCells;
use crate::reactor::Wait;
use crate::remote::RemoteMsg;
use crate::task::waker::waker_for;
use crate::task::{Runnable, StepHooks, TaskLabel};
use crate::time::driver::TimerEntry;

/// The loop's side of a task step: wakes go to [`LoopWake`], steps are counted, and in debug
/// mode slow ones are reported.
impl StepHooks for Core {
    type Wake = LoopWake;

    #[inline]
    fn step_begins(&self) -> Option<Instant> {
        StatCells::bump(&self.stats.polls, 1);
        self.spawn_clock()
    }

    fn step_ended(&self, started: Instant, task: &dyn Fn() -> Option<TaskLabel>) {
        let took = started.elapsed();
        if took >= self.slow_callback.get() {
            self.check_slow(task(), took);
        }
    }
}

impl Core {
    /// Runs one iteration. `main` polls the `run_until_complete` future when it is woken and
    /// returns true once it has finished; the iteration then returns true at once.
    pub(crate) fn run_once(&self, main: &mut dyn FnMut(&mut Context<'_>) -> bool) -> bool {
        StatCells::bump(&self.stats.iterations, 1);
        self.take_remote();
        let sched = &**self.sched();
        let ready_now = sched.ready_len();
        for _ in 0..ready_now {
            let Some(runnable) = sched.pop() else {
                break;
            };
            match runnable {
                Runnable::Task { key, gen } => sched.run_task(self, key, gen),
                Runnable::Main => {
                    let waker = waker_for::<LoopWake>(sched.main_target());
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
                    self.sched().schedule(key, gen);
                }
                RemoteMsg::Call(callback) => self.sched().push(Runnable::Call(callback)),
                RemoteMsg::Spawn(cell) => self.spawn_remote(cell),
            }
        }
        *self.remote_buf.borrow_mut() = msgs;
    }

    /// Runs a callback; a panic goes to the exception handler.
    fn run_callback(&self, callback: Box<dyn FnOnce()>) {
        StatCells::bump(&self.stats.callbacks, 1);
        let started = self.spawn_clock();
        self.sched()
            .reporter()
            .catch("Exception in callback", || None, callback);
        if let Some(started) = started {
            self.check_slow(None, started.elapsed());
        }
    }

    /// Steps 3 and 4: waits for I/O, a remote wake or the earliest timer, as long as nothing
    /// is ready. Under a paused clock, an otherwise idle loop jumps the clock to the next timer.
    fn poll_reactor(&self) {
        // A pending `stop()` keeps the poll from blocking only where it ends the run.
        let stopping = self.stopping.get() && self.forever.get();
        let busy = !self.sched().is_idle() || stopping;
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
            if self.sched().is_idle() && !self.remote.has_pending() {
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
                Some((_, TimerEntry::Call(cell))) => self.sched().push(Runnable::Callback(cell)),
            }
        }
    }
}
