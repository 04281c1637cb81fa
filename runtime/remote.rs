//! The door from other threads into a loop: a remote queue, the loop's `mio::Waker`, and the
//! global registry that finds a loop's queue from a waker's loop id.
//!
//! Senders are [`LoopHandle`](crate::LoopHandle)s (calls and jobs), wakers woken on other
//! threads (task wakes) and `LoopBound` values dropped away from their loop. The loop takes the
//! whole queue in one swap at the start of every iteration, and before it queues a `call_soon`
//! callback or a spawned task's first step of its own when a lock-free hint says messages
//! wait (so they keep one FIFO order across threads, as asyncio's ready queue).
//!
//! All the state (the messages, the loop's parked/notified state, the closed flag) sits under
//! one mutex, which nobody holds while running user code or making a syscall; so each invariant
//! below is a plain sequential argument, and loom checks the real protocol exactly.
//!
//! Invariants:
//! - **R1.** A message is either pushed before the loop closes (and then the loop runs or drops
//!   it) or refused with the message handed back: `closed` is set and checked under the lock.
//! - **R2.** A message the queue accepted is run or dropped on the loop's own thread, never
//!   elsewhere: the loop takes messages only on its thread, `close` runs there, and a `Remote`
//!   dropped with messages still queued (only possible if its loop never closed) leaks them. That
//!   is what lets a `LoopBound` send a `!Send` value home to be dropped.
//! - **R3.** No lost wakeup: the loop parks (before a poll with no timeout) only if the queue is
//!   empty, setting `PARKED` under the lock; a sender that pushes while the state is `PARKED`
//!   sets `NOTIFIED` under the lock and writes the eventfd after releasing it. So either the loop
//!   sees the message before it blocks, or the sender sees `PARKED` and wakes it.
//! - **R4.** At most one eventfd write per park: only the sender that moves `PARKED` to
//!   `NOTIFIED` writes; every other sender (while the loop runs, or after that one) makes no
//!   syscall. A burst of any size sent while the loop is busy costs none at all.
//!
//! (An earlier version kept the parked state and a "pending" flag in atomics, with `SeqCst`
//! fences for the Dekker-style handshake. It was correct under the C11 model but loom 0.7 could
//! not check it: loom mis-models a plain store racing a read-modify-write of the same atomic
//! (loom issues 254 and 389) and reported a lost wakeup by letting a thread read back a value
//! older than its own store. The mutex costs the loop one uncontended lock per iteration
//! instead of one `xchg`, which the benches do not see.)
//!
//! The loom models (threadsafe/loom_tests.rs) check R1, R3 and R4 on this very code, the loop's
//! side included ([`RemoteDriver`]; see `sync_shim`). The
//! `Remote` itself always lives in a std `Arc` (the loop, the registry and every `LoopHandle`
//! hold one); only its insides switch to loom.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, PoisonError, RwLock};

use slab::Slab;

use crate::sync_shim::{current_thread_id, Mutex, MutexGuard, Notifier, ThreadId};
use crate::task::cell::RawTask;
use crate::task::waker::WakeTarget;

/// Work sent to a loop from outside its running context.
pub(crate) enum RemoteMsg {
    /// Wake the task in slot `key` of generation `gen` (or the main future).
    Wake {
        /// The task's slot.
        key: u32,
        /// The generation of the slot's occupant.
        gen: u16,
    },
    /// Run this closure on the loop, in FIFO order with the loop's other callbacks.
    Call(Box<dyn FnOnce() + Send>),
    /// Add this task, built on the sending thread, to the loop (detached) and schedule it.
    Spawn(SpawnCell),
}

/// A task cell built off the loop from a `Send` future (`run_coroutine_threadsafe`): the
/// sender allocates the task once, and the loop only links it into its table.
/// It carries the caller's location for debugging output.
pub(crate) struct SpawnCell(
    pub(crate) Pin<Box<dyn RawTask + Send>>,
    pub(crate) &'static std::panic::Location<'static>,
);

/// Where the loop is, as senders see it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LoopState {
    /// Running (or not running at all): it takes the queue at its next iteration.
    Running,
    /// About to block, or blocked, in a poll with no timeout: the next sender must wake it.
    Parked,
    /// Parked, and a sender has written the eventfd.
    Notified,
}

/// The state under the lock.
struct Queue {
    msgs: Vec<RemoteMsg>,
    state: LoopState,
    closed: bool,
}

/// One loop's remote queue.
pub(crate) struct Remote {
    queue: Mutex<Queue>,
    notifier: Notifier,
    /// A hint, read without the lock: true while messages may be queued. Written only under
    /// the lock (true by `push`, false when the queue is emptied), so a reader that
    /// synchronized with a sender after its `push` (or is the sender's own thread) sees true
    /// until the loop took the message. No protocol invariant rests on it.
    pending: AtomicBool,
    /// The thread that created (and alone can run) the loop.
    owner: ThreadId,
    /// How many times a sender wrote the eventfd (statistics, for tests).
    wakeups: AtomicU64,
}

impl Remote {
    /// A remote queue woken through `notifier`, owned by the calling thread.
    pub(crate) fn new(notifier: Notifier) -> Self {
        Remote {
            queue: Mutex::new(Queue {
                msgs: Vec::new(),
                state: LoopState::Running,
                closed: false,
            }),
            notifier,
            pending: AtomicBool::new(false),
            owner: current_thread_id(),
            wakeups: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // No user code runs under the lock, so a poisoned lock still holds a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `msg` and wakes the loop if it is parked. Gives the message back if the loop is closed.
    pub(crate) fn push(&self, msg: RemoteMsg) -> Result<(), RemoteMsg> {
        let mut queue = self.lock();
        if queue.closed {
            return Err(msg);
        }
        queue.msgs.push(msg);
        self.pending.store(true, Relaxed);
        if queue.state != LoopState::Parked {
            return Ok(());
        }
        queue.state = LoopState::Notified;
        drop(queue);
        self.wakeups.fetch_add(1, Relaxed);
        // An error means the eventfd counter is saturated: the loop is awake anyway.
        let _ = self.notifier.wake();
        Ok(())
    }

    /// Moves every queued message into `into` (which the caller has emptied, and whose
    /// allocation the queue keeps for the next batch).
    pub(crate) fn take_into(&self, into: &mut Vec<RemoteMsg>) {
        let mut queue = self.lock();
        if !queue.msgs.is_empty() {
            std::mem::swap(&mut queue.msgs, into);
            self.pending.store(false, Relaxed);
        }
    }

    /// True if messages may be waiting (the `pending` hint, without the lock): false means
    /// every message pushed before, in happens-before order, was taken already.
    #[inline]
    pub(crate) fn maybe_pending(&self) -> bool {
        self.pending.load(Relaxed)
    }

    /// Called before a blocking poll: returns false if work is already waiting (poll with a
    /// zero timeout then), true if the loop is now parked and senders will write the eventfd.
    pub(crate) fn park(&self) -> bool {
        let mut queue = self.lock();
        if !queue.msgs.is_empty() {
            return false;
        }
        queue.state = LoopState::Parked;
        true
    }

    /// True if messages are waiting.
    pub(crate) fn has_pending(&self) -> bool {
        !self.lock().msgs.is_empty()
    }

    /// Called after a poll that followed a successful [`Remote::park`].
    pub(crate) fn unpark(&self) {
        self.lock().state = LoopState::Running;
    }

    /// Refuses all further messages and returns those still queued, for the loop to drop (on
    /// its own thread).
    pub(crate) fn close(&self) -> Vec<RemoteMsg> {
        let mut queue = self.lock();
        queue.closed = true;
        self.pending.store(false, Relaxed);
        std::mem::take(&mut queue.msgs)
    }

    /// True once the loop has closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// The eventfd model, for the loom models' loop to poll.
    #[cfg(all(test, aioloop_loom))]
    pub(crate) fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// The thread that owns the loop.
    pub(crate) fn owner(&self) -> ThreadId {
        self.owner
    }

    /// How many times senders have written the eventfd so far.
    #[cfg(test)]
    pub(crate) fn wakeups(&self) -> u64 {
        self.wakeups.load(Relaxed)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // R2: messages still here were never taken by their loop, whose thread may be
        // the only one allowed to drop them (a `LoopBound` value). Leak them instead.
        let leftover = std::mem::take(&mut self.lock().msgs);
        std::mem::forget(leftover);
    }
}

/// The remote driver: the loop's side of its remote queue (the queue itself is shared with
/// every sender), with the buffer the loop swaps the queue into.
pub(crate) struct RemoteDriver {
    remote: Arc<Remote>,
    buf: RefCell<Vec<RemoteMsg>>,
}

impl RemoteDriver {
    /// Drives `remote`.
    pub(crate) fn new(remote: Arc<Remote>) -> Self {
        RemoteDriver {
            remote,
            buf: RefCell::new(Vec::new()),
        }
    }

    /// The queue, for the senders (`LoopHandle`s) to share.
    pub(crate) fn queue(&self) -> &Arc<Remote> {
        &self.remote
    }

    /// Hands every queued message to `f`, in the order they were sent. `f` may run user code
    /// (no borrow is held while it runs) but must not call `take` again.
    #[inline]
    pub(crate) fn take(&self, mut f: impl FnMut(RemoteMsg)) {
        let mut buf = self.buf.borrow_mut();
        self.remote.take_into(&mut buf);
        if buf.is_empty() {
            // The usual iteration: nothing came from another thread.
            return;
        }
        let mut msgs = std::mem::take(&mut *buf);
        drop(buf);
        for msg in msgs.drain(..) {
            f(msg);
        }
        *self.buf.borrow_mut() = msgs;
    }

    /// The loop's side of the park protocol (R3) around one poll: when the poll
    /// `may_block` and no message waits, parks (senders will then write the eventfd), runs
    /// `poll(true)` (a poll that may block until I/O, a timer or that write) and unparks;
    /// otherwise runs `poll(false)` (a poll that must not block).
    #[inline]
    pub(crate) fn poll_parked<R>(&self, may_block: bool, poll: impl FnOnce(bool) -> R) -> R {
        let parked = may_block && self.remote.park();
        let out = poll(parked);
        if parked {
            self.remote.unpark();
        }
        out
    }

    /// True if messages are waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.remote.has_pending()
    }

    /// See [`Remote::maybe_pending`].
    #[inline]
    pub(crate) fn maybe_pending(&self) -> bool {
        self.remote.maybe_pending()
    }

    /// See [`Remote::close`].
    pub(crate) fn close(&self) -> Vec<RemoteMsg> {
        self.remote.close()
    }
}

/// Every live loop's remote queue, by loop id.
static REGISTRY: RwLock<Slab<Arc<Remote>>> = RwLock::new(Slab::new());

/// Creates the remote queue of a new loop and gives the loop its id.
#[cfg(not(aioloop_loom))]
pub(crate) fn register(registry: &mio::Registry, token: mio::Token) -> io::Result<(u16, Arc<Remote>)> {
    let remote = Arc::new(Remote::new(mio::Waker::new(registry, token)?));
    let mut loops = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    let entry = loops.vacant_entry();
    let id = u16::try_from(entry.key())
        .map_err(|_| io::Error::other("aioloop: too many event loops alive at once (limit 65,536)"))?;
    entry.insert(remote.clone());
    Ok((id, remote))
}

/// Under loom no real loop runs: the loom models build their `Remote`s by hand.
#[cfg(aioloop_loom)]
pub(crate) fn register(_registry: &mio::Registry, _token: mio::Token) -> io::Result<(u16, Arc<Remote>)> {
    Err(io::Error::other(
        "aioloop: no real event loop under --cfg aioloop_loom",
    ))
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
