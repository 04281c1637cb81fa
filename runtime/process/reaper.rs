//! Reaping children whose [`Child`](super::Child) handle was dropped before they exited, so
//! that no zombie is left behind.
//!
//! A dropped, still-running child (killed first if `kill_on_drop` was set) is handed to a
//! detached task on the running loop that waits for its exit through the same pidfd or
//! `SIGCHLD` watch and reaps it. If there is no open loop to run that task (the handle was
//! dropped outside a loop, or the loop closes before the child exits and drops the task), the
//! child goes to a small detached thread that blocks in `waitpid` for it instead. Either way
//! the exit status is collected exactly once.

use std::future::poll_fn;
use std::process::Child as StdChild;

use super::exit::ExitWatch;
use crate::context;

/// A child that nobody waits for any more.
pub(crate) struct Orphan {
    child: Option<StdChild>,
    watch: Option<ExitWatch>,
}

impl Orphan {
    pub(crate) fn new(child: StdChild, watch: Option<ExitWatch>) -> Self {
        Orphan {
            child: Some(child),
            watch,
        }
    }

    /// Makes sure the child is reaped eventually (see the module docs).
    pub(crate) fn reap(mut self) {
        let Some(child) = self.child.as_mut() else { return };
        if !matches!(child.try_wait(), Ok(None)) {
            // Reaped now, or `waitpid` refuses: nothing more to do either way.
            self.child = None;
            return;
        }
        let core = context::current().filter(|core| !core.is_closed());
        if let (Some(core), true) = (core, self.watch.is_some()) {
            drop(core.spawn(self.wait(), Some("aioloop::process reaper".into())));
        }
        // Otherwise dropping `self` hands the child to a thread.
    }

    /// Waits for the exit through the reactor and reaps.
    async fn wait(mut self) {
        let (Some(child), Some(watch)) = (self.child.as_mut(), self.watch.as_mut()) else {
            return;
        };
        if poll_fn(|cx| watch.poll_exit(cx, child)).await.is_ok() {
            self.child = None;
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        // Deregister first: the watch belongs to this thread's loop.
        self.watch = None;
        let Some(mut child) = self.child.take() else {
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("aioloop-reaper".into())
            .spawn(move || {
                let _ = child.wait();
            });
        // If even a thread cannot be had, the zombie stays until this process exits: there is
        // no better place left to wait.
        drop(spawned);
    }
}
