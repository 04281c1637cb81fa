//! The synchronization types of the code that other threads touch (the remote queue in
//! [`crate::remote`], the result cell in [`crate::threadsafe::outcome`]): std's in a normal
//! build, loom's under `--cfg aioloop_loom`, so that the loom models (threadsafe/loom_tests.rs, inside
//! the crate) explore every interleaving of the real code, not of a copy.
//!
//! Under loom, the loop's `mio::Waker` (an eventfd) is replaced by `ModelEventfd` (loom builds), a model of
//! what the loop relies on: a write makes the next poll return, and a blocking poll waits for one.

#[cfg(not(aioloop_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};

#[cfg(aioloop_loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};

/// What wakes a parked loop: the reactor's `mio::Waker`.
#[cfg(not(aioloop_loom))]
pub(crate) type Notifier = mio::Waker;

/// What wakes a parked loop: under loom, the eventfd model.
#[cfg(aioloop_loom)]
pub(crate) type Notifier = ModelEventfd;

/// A thread's identity, as the remote queue records its loop's owner.
#[cfg(not(aioloop_loom))]
pub(crate) type ThreadId = std::thread::ThreadId;

/// A thread's identity, as the remote queue records its loop's owner (a loom thread's).
#[cfg(aioloop_loom)]
pub(crate) type ThreadId = loom::thread::ThreadId;

/// The calling thread's identity.
pub(crate) fn current_thread_id() -> ThreadId {
    #[cfg(not(aioloop_loom))]
    return std::thread::current().id();
    #[cfg(aioloop_loom)]
    return loom::thread::current().id();
}

/// Under loom: the eventfd behind the loop's `mio::Waker`, as the loop uses it. mio registers
/// the eventfd edge-triggered and never reads it, so every write is one readiness event that
/// the next `epoll_wait` returns (whether it blocks or not) and then forgets.
#[cfg(aioloop_loom)]
pub(crate) struct ModelEventfd {
    /// (an event is waiting for the next poll, number of writes so far)
    state: Mutex<(bool, usize)>,
    cond: Condvar,
}

#[cfg(all(test, aioloop_loom))]
impl Default for ModelEventfd {
    fn default() -> Self {
        ModelEventfd::new()
    }
}

#[cfg(aioloop_loom)]
impl ModelEventfd {
    /// A quiet eventfd.
    pub(crate) fn new() -> Self {
        ModelEventfd {
            state: Mutex::new((false, 0)),
            cond: Condvar::new(),
        }
    }

    /// `mio::Waker::wake`: one write.
    pub(crate) fn wake(&self) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap();
        state.0 = true;
        state.1 += 1;
        self.cond.notify_all();
        Ok(())
    }

    /// A poll with no timeout: blocks until an event is waiting, and consumes it.
    #[cfg(test)]
    pub(crate) fn poll_blocking(&self) {
        let mut state = self.state.lock().unwrap();
        while !state.0 {
            state = self.cond.wait(state).unwrap();
        }
        state.0 = false;
    }

    /// A poll with a zero timeout: consumes a waiting event, if any.
    #[cfg(test)]
    pub(crate) fn poll_now(&self) {
        self.state.lock().unwrap().0 = false;
    }

    /// How many times the eventfd was written.
    #[cfg(test)]
    pub(crate) fn writes(&self) -> usize {
        self.state.lock().unwrap().1
    }
}
