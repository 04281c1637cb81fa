//! One iteration of the loop, asyncio's `_run_once`:
//! 1. take in the remote queue (work and wakes from other threads);
//! 2. run what was ready when the iteration began; what becomes ready meanwhile waits for the
//!    next iteration, so I/O and timers are never starved;
//! 3. poll the reactor: timeout 0 if anything is ready (and then only once
//!    `BUSY_POLL_INTERVAL` steps ran since the last poll, see runtime/io/reactor.rs), else until
//!    the earliest timer, else block;
//! 4. hand I/O readiness to the wakers registered for it;
//! 5. (time) advance the clock and wake expired timers.

use std::task::Context;
use std::time::{Duration, Instant};

use super::core::Core;
use super::debug::StatCells;
use super::LoopWake;
use std::pin::Pin;

use crate::io::reactor::PollWait;
use crate::remote::{RemoteMsg, SpawnCell};
use crate::task::cell::RawTask;
use crate::task::coop;
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
        self.debug_now()
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
        // Task steps leave their budget in place (`Scheduler::run_task`); the budget is lifted
        // before anything else runs, and the guard puts the previous one back on the way out.
        let _budget = coop::enter_unconstrained();
        self.take_remote();
        let sched = &**self.sched();
        let ready_now = sched.ready_len();
        let hints = sched.hints_pay(ready_now);
        for _ in 0..ready_now {
            let Some(runnable) = sched.pop() else {
                break;
            };
            match runnable {
                Runnable::Task { key, gen } => {
                    if hints {
                        sched.prefetch_steps();
                    }
                    sched.run_task(self, key, gen);
                }
                Runnable::Main => {
                    let waker = waker_for::<LoopWake>(sched.main_target());
                    if coop::budget(|| main(&mut Context::from_waker(&waker))) {
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
        coop::unconstrain();
        self.poll_reactor(u32::try_from(ready_now).unwrap_or(u32::MAX));
        self.fire_timers();
        false
    }

    /// Step 1: moves remote wakes and calls onto the ready queue, in the order they were sent.
    /// Also run by `Core::take_remote_first` (before a `call_soon` or a `spawn` queues its
    /// work) when remote work is waiting.
    pub(super) fn take_remote(&self) {
        self.remote.take(|msg| match msg {
            RemoteMsg::Wake { key, gen } => {
                StatCells::bump(&self.stats.remote_wakes, 1);
                self.sched.schedule(key, gen);
            }
            RemoteMsg::Call(callback) => self.sched.push(Runnable::Call(callback)),
            // A task built by `run_coroutine_threadsafe` joins the table detached (its outcome
            // goes through its `ConcurrentFuture`, no `Task` handle exists).
            RemoteMsg::Spawn(SpawnCell(cell, location)) => {
                debug_assert!(!self.closed.get(), "a closed loop takes no remote work");
                let cell: Pin<Box<dyn RawTask>> = cell;
                self.sched.spawn_detached(cell, self.task_meta(None, location));
            }
        });
    }

    /// Runs a callback; a panic goes to the exception handler.
    fn run_callback(&self, callback: Box<dyn FnOnce()>) {
        StatCells::bump(&self.stats.callbacks, 1);
        // Callbacks are unconstrained (a task step before may have left its budget).
        coop::unconstrain();
        let started = self.debug_now();
        self.sched()
            .reporter()
            .catch("Exception in callback", || None, callback);
        // A bound callback (context_var.rs) enters its own context inside; an unbound one runs
        // in none (C2), and a context its sets made (also if it panicked) is dropped after it.
        if self.sched().contexts() {
            drop(crate::context_var::take_current());
        }
        if let Some(started) = started {
            self.check_slow(None, started.elapsed());
        }
    }

    /// Steps 3 and 4: waits for I/O, a remote wake or the earliest timer, as long as nothing
    /// is ready (`steps`: how many the iteration ran). Under a paused clock, an otherwise idle
    /// loop jumps the clock to the next timer.
    fn poll_reactor(&self, steps: u32) {
        // A pending `stop()` keeps the poll from blocking only where it ends the run.
        let stopping = self.stopping.get() && self.forever.get();
        let busy = !self.sched().is_idle() || stopping;
        let paused = self.time.is_paused();
        // Blocking work in flight holds a paused clock (blocking.rs, "Virtual time"): the loop
        // waits for it (its last job wakes the loop) instead of jumping to the next timer.
        let held = paused && !busy && self.blocking_pool().holds_virtual_time();
        let next = if busy { None } else { self.time.next_deadline() };
        let mut wait = match next {
            _ if busy => PollWait::Zero,
            None => PollWait::Forever,
            Some(_) if held => PollWait::Forever,
            Some(deadline) => {
                let now = self.time.now_tick();
                if deadline <= now || paused {
                    PollWait::Zero
                } else {
                    PollWait::Until {
                        deadline,
                        after: Duration::from_nanos(deadline - now),
                    }
                }
            }
        };
        let polled = self.remote.poll_parked(wait != PollWait::Zero, |may_block| {
            if !may_block {
                // A busy loop polls for I/O only once `BUSY_POLL_INTERVAL` steps ran since the
                // last poll; any other zero-timeout poll only if it could report something (the
                // remote queue and the wheel are checked without it).
                let poll = match busy {
                    true => self.io.busy_poll_due(steps),
                    false => self.io.has_io_sources(),
                };
                if !poll {
                    return None;
                }
                wait = PollWait::Zero;
            }
            Some(self.io.poll(wait))
        });
        let Some(io_events) = polled else {
            // Virtual time still advances.
            return self.advance_paused_clock(paused && !busy && !held, next);
        };
        StatCells::bump(&self.stats.io_events, io_events as u64);
        // Step 4: wake the tasks whose I/O became ready.
        self.io.wake_ready();
        self.advance_paused_clock(paused && !busy && !held && io_events == 0, next);
    }

    /// Virtual time: when the loop is `idle` under a paused clock and nothing else became
    /// ready, jumps the clock to the next timer's deadline.
    fn advance_paused_clock(&self, idle: bool, next: Option<u64>) {
        if let (true, Some(deadline)) = (idle, next) {
            if self.sched().is_idle() && !self.remote.has_pending() {
                self.time.jump_to(deadline);
            }
        }
    }

    /// Step 5: advances the wheel to the clock and fires every due timer, in deadline order.
    fn fire_timers(&self) {
        if self.time.is_empty() {
            return;
        }
        let now = self.time.now_tick();
        self.time.fire_due(
            now,
            |fired| {
                StatCells::bump(&self.stats.timers_fired, 1);
                match fired {
                    TimerEntry::Wake(waker) => waker.wake(),
                    TimerEntry::Call(cell) => self.sched.push(Runnable::Callback(cell)),
                }
            },
            |later| {
                if let TimerEntry::Wake(waker) = later {
                    self.sched.prefetch_wake::<LoopWake>(waker);
                }
            },
        );
    }
}
