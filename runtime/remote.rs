//! The door from other threads into a loop: a remote queue, its `mio::Waker`, and the global
//! registry that finds a loop's queue from a waker's loop id.
//!
//! Invariants:
//! 1. A message is either pushed before the loop closes (and then the loop runs or drops it) or
//!    refused with the message handed back: `closed` is set and checked under the queue lock.
//! 2. No lost wakeup: before blocking in poll the loop stores `PARKED` and then reads `pending`;
//!    a sender stores `pending` and then swaps `PARKED` for `NOTIFIED` and writes the eventfd only
//!    when it wins. All four accesses are `SeqCst`, so either the loop sees `pending` or the sender
//!    sees `PARKED` (Dekker's argument); the eventfd is written once per park, not once per send.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use slab::Slab;

use crate::task::waker::WakeTarget;

const RUNNING: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

/// Work sent to a loop from outside its running context.
pub(crate) enum RemoteMsg {
    /// Wake the task in slot `key` of generation `gen` (or the main future).
    Wake { key: u32, gen: u16 },
    /// Run this closure on the loop, in FIFO order with the loop's other callbacks.
    Call(Box<dyn FnOnce() + Send>),
}

/// One loop's remote queue.
pub(crate) struct Remote {
    queue: Mutex<Vec<RemoteMsg>>,
    closed: AtomicBool,
    pending: AtomicBool,
    state: AtomicU8,
    waker: mio::Waker,
}

impl Remote {
    fn lock(&self) -> MutexGuard<'_, Vec<RemoteMsg>> {
        // Closures never run under the lock, so a poisoned lock still holds a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `msg` and wakes the loop if it is parked. Gives the message back if the loop is closed.
    pub(crate) fn push(&self, msg: RemoteMsg) -> Result<(), RemoteMsg> {
        {
            let mut queue = self.lock();
            if self.closed.load(SeqCst) {
                return Err(msg);
            }
            queue.push(msg);
        }
        self.pending.store(true, SeqCst);
        if self
            .state
            .compare_exchange(PARKED, NOTIFIED, SeqCst, SeqCst)
            .is_ok()
        {
            // An error here means the eventfd counter is saturated: the loop is awake anyway.
            let _ = self.waker.wake();
        }
        Ok(())
    }

    /// Moves every queued message into `into` (which the caller has emptied).
    pub(crate) fn take_into(&self, into: &mut Vec<RemoteMsg>) {
        if self.pending.swap(false, SeqCst) {
            std::mem::swap(&mut *self.lock(), into);
        }
    }

    /// Called before a blocking poll: returns false if work is already waiting (poll with a
    /// zero timeout then), true if senders will now write the eventfd.
    pub(crate) fn park(&self) -> bool {
        self.state.store(PARKED, SeqCst);
        if self.pending.load(SeqCst) {
            self.state.store(RUNNING, SeqCst);
            return false;
        }
        true
    }

    /// True if messages are waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(SeqCst)
    }

    /// Called after a poll that followed a successful [`Remote::park`].
    pub(crate) fn unpark(&self) {
        self.state.store(RUNNING, SeqCst);
    }

    /// Refuses all further messages and returns those still queued, for the loop to drop.
    pub(crate) fn close(&self) -> Vec<RemoteMsg> {
        let mut queue = self.lock();
        self.closed.store(true, SeqCst);
        std::mem::take(&mut *queue)
    }

    /// True once the loop has closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }
}

/// Every live loop's remote queue, by loop id.
static REGISTRY: RwLock<Slab<Arc<Remote>>> = RwLock::new(Slab::new());

/// Creates the remote queue of a new loop and gives the loop its id.
pub(crate) fn register(registry: &mio::Registry, token: mio::Token) -> io::Result<(u16, Arc<Remote>)> {
    let remote = Arc::new(Remote {
        queue: Mutex::new(Vec::new()),
        closed: AtomicBool::new(false),
        pending: AtomicBool::new(false),
        state: AtomicU8::new(RUNNING),
        waker: mio::Waker::new(registry, token)?,
    });
    let mut loops = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    let entry = loops.vacant_entry();
    let id = u16::try_from(entry.key())
        .map_err(|_| io::Error::other("aioloop: too many event loops alive at once (limit 65,536)"))?;
    entry.insert(remote.clone());
    Ok((id, remote))
}

/// Forgets a closed loop's id so a later loop can reuse it.
pub(crate) fn unregister(id: u16) {
    let mut loops = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    loops.try_remove(id as usize);
}

/// Delivers a wake for a loop that is not running on the calling thread. A wake for a loop
/// that no longer exists is dropped.
pub(crate) fn wake(target: WakeTarget) {
    let loops = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(remote) = loops.get(target.loop_id as usize) {
        let _ = remote.push(RemoteMsg::Wake {
            key: target.key,
            gen: target.gen,
        });
    }
}
