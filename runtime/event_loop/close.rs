//! Closing a loop: every unfinished task and pending callback is dropped (their destructors
//! run, with the loop still current so they may call `spawn` or `get_running_loop`), the
//! remote queue refuses further work, and the loop id is released.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::core::{Core, Runnable};
use crate::context;
use crate::remote;

/// How many rounds of "drop everything, then what those drops spawned" closing allows before
/// it gives up on a destructor that keeps spawning.
const MAX_CLOSE_ROUNDS: usize = 1000;

impl Core {
    /// Closes the loop. Idempotent.
    pub(crate) fn close(self: &Rc<Self>) {
        if self.closed.get() {
            return;
        }
        let _enter = context::try_enter(self);
        for round in 0.. {
            let slots = self.tasks.borrow_mut().remove_unfinished();
            let ready: Vec<Runnable> = self.ready.borrow_mut().drain(..).collect();
            if slots.is_empty() && ready.is_empty() {
                break;
            }
            if round == MAX_CLOSE_ROUNDS {
                self.report(
                    "Closing the loop gave up: task destructors kept spawning new tasks",
                    None,
                    None,
                );
                break;
            }
            for freed in slots {
                let task = freed.label();
                if self.debug.get() {
                    self.report("Task was destroyed but it is pending!", Some(task.clone()), None);
                }
                if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(freed))) {
                    self.report(
                        "A task's future panicked while being dropped",
                        Some(task),
                        Some(payload),
                    );
                }
            }
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(ready))) {
                self.report("Dropping a callback panicked", None, Some(payload));
            }
        }
        // Timers whose futures are gone were removed with them; what is left are `call_later`
        // callbacks and wakers of futures owned elsewhere. Drop them outside the borrow.
        loop {
            let entry = self.timers.borrow_mut().wheel.poll_expired(u64::MAX);
            let Some(entry) = entry else { break };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(entry))) {
                self.report("Dropping a callback panicked", None, Some(payload));
            }
        }
        self.closed.set(true);
        let refused = self.remote.close();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(refused))) {
            self.report("Dropping a callback panicked", None, Some(payload));
        }
        remote::unregister(self.id);
    }
}
