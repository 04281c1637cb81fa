//! Closing a loop: every unfinished task and pending callback is dropped (their destructors
//! run, with the loop still current so they may call `spawn` or `get_running_loop`), then the
//! loop's extension values are dropped (`Core::extensions`: other modules' per-loop state,
//! which deregisters its sources before the reactor closes), the remote queue refuses further
//! work, and the loop id is released.

use std::rc::Rc;

use super::core::Core;
use crate::context;
use crate::remote;

/// What a panicking callback (or timer, or refused remote message) destructor is reported as.
const CALLBACK_DROP_PANICKED: &str = "Dropping a callback panicked";

impl Core {
    /// Closes the loop. Idempotent.
    pub(crate) fn close(self: &Rc<Self>) {
        if self.closed.get() {
            return;
        }
        let _enter = context::try_enter(self);
        let reporter = self.sched.reporter();
        self.sched.drop_unfinished(self.debug.get());
        // Timers whose futures are gone were removed with them; what is left are `call_later`
        // callbacks and wakers of futures owned elsewhere. Drop them outside the borrow.
        loop {
            let entry = self.time.pop_due(u64::MAX);
            let Some(entry) = entry else { break };
            reporter.drop_reporting(entry, CALLBACK_DROP_PANICKED, || None);
        }
        // Then the other modules' per-loop state (extensions.rs), taken out of the slots first:
        // its destructors are user code, which may reach the slots again.
        for value in self.extensions.take_all() {
            reporter.drop_reporting(value, CALLBACK_DROP_PANICKED, || None);
        }
        self.closed.set(true);
        self.io.close();
        let refused = self.remote.close();
        self.blocking_pool().shutdown();
        reporter.drop_reporting(refused, CALLBACK_DROP_PANICKED, || None);
        remote::unregister(self.id);
    }
}
