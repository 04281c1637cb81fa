//! [`Barrier`]: asyncio's `Barrier` (Python 3.11), a meeting point for a fixed number of tasks.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::BrokenBarrierError;
use crate::task::waiters::{leave, notify_all, poll_until, WaitList};

/// A barrier for `parties` tasks: asyncio's `asyncio.Barrier`. Each task calls
/// [`wait`](Barrier::wait); the call returns once `parties` tasks are waiting, and the barrier
/// is then ready for the next round.
///
/// ```
/// use aioloop::sync::Barrier;
///
/// aioloop::run(async {
///     let barrier = Barrier::new(3);
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             aioloop::spawn(async move { barrier.wait().await })
///         })
///         .collect();
///     let mut indices = Vec::new();
///     for task in tasks {
///         indices.push(task.await.unwrap().unwrap());
///     }
///     indices.sort();
///     assert_eq!(indices, [0, 1, 2]);
/// });
/// ```
///
/// States, as in asyncio: *filling* (tasks arrive), *draining* (the last one arrived; the
/// released tasks leave, and newcomers wait until they have), *resetting* (after
/// [`reset`](Barrier::reset) with tasks inside: they fail with [`BrokenBarrierError`], then
/// the barrier fills again) and *broken* (after [`abort`](Barrier::abort): every wait fails
/// until a `reset`). A waiting task that is cancelled just leaves, as in asyncio.
///
/// `Barrier` is a cheap handle: clones share the barrier. It is `!Send`.
#[derive(Clone)]
pub struct Barrier {
    inner: Rc<BarrierInner>,
}

struct BarrierInner {
    parties: usize,
    state: Cell<State>,
    /// Tasks inside `wait`: arrived in this round, or released and not yet gone.
    count: Cell<usize>,
    waiters: RefCell<WaitList>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Filling,
    Draining,
    Resetting,
    Broken,
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    /// If `parties` is zero (asyncio raises `ValueError`).
    pub fn new(parties: usize) -> Self {
        assert!(parties > 0, "aioloop: a Barrier needs at least one party");
        Barrier {
            inner: Rc::new(BarrierInner {
                parties,
                state: Cell::new(State::Filling),
                count: Cell::new(0),
                waiters: RefCell::default(),
            }),
        }
    }

    /// Waits until `parties` tasks are waiting, then releases them all. Returns this task's
    /// arrival index in its round, `0..parties` (asyncio's return value of `wait()`).
    ///
    /// While the barrier drains the previous round or resets, a new arrival first waits for
    /// that to end.
    ///
    /// # Errors
    /// [`BrokenBarrierError`] if the barrier is broken ([`abort`](Barrier::abort)) when the
    /// task arrives, or is aborted or [`reset`](Barrier::reset) while it waits.
    pub async fn wait(&self) -> Result<usize, BrokenBarrierError> {
        let inner = &*self.inner;
        inner
            .until(|s| !matches!(s, State::Draining | State::Resetting))
            .await;
        if inner.state.get() == State::Broken {
            return Err(BrokenBarrierError);
        }
        let index = inner.count.get();
        inner.count.set(index + 1);
        let _leave = Leave(inner);
        if index + 1 == inner.parties {
            inner.state.set(State::Draining);
            inner.notify_all();
        } else {
            inner.until(|s| s != State::Filling).await;
            if matches!(inner.state.get(), State::Broken | State::Resetting) {
                return Err(BrokenBarrierError);
            }
        }
        Ok(index)
    }

    /// Returns the barrier to the empty, filling state; tasks waiting in it now fail with
    /// [`BrokenBarrierError`]. Also repairs a broken barrier. asyncio's `reset()`.
    pub fn reset(&self) {
        let inner = &*self.inner;
        if inner.count.get() > 0 {
            inner.state.set(State::Resetting);
        } else {
            inner.state.set(State::Filling);
        }
        inner.notify_all();
    }

    /// Breaks the barrier: current and future [`wait`](Barrier::wait)s fail with
    /// [`BrokenBarrierError`] until [`reset`](Barrier::reset). asyncio's `abort()`.
    pub fn abort(&self) {
        self.inner.state.set(State::Broken);
        self.inner.notify_all();
    }

    /// The number of tasks needed to pass the barrier.
    pub fn parties(&self) -> usize {
        self.inner.parties
    }

    /// The number of tasks waiting for the barrier to fill (0 while it drains or resets).
    pub fn n_waiting(&self) -> usize {
        match self.inner.state.get() {
            State::Filling => self.inner.count.get(),
            _ => 0,
        }
    }

    /// True if the barrier is broken.
    pub fn broken(&self) -> bool {
        self.inner.state.get() == State::Broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.inner.parties)
            .field("state", &self.inner.state.get())
            .field("count", &self.inner.count.get())
            .finish()
    }
}

impl BarrierInner {
    fn notify_all(&self) {
        notify_all(&self.waiters);
    }

    /// Waits until `pred` holds for the state (re-checked after every notification).
    fn until(&self, pred: fn(State) -> bool) -> Until<'_> {
        Until {
            inner: self,
            pred,
            key: None,
        }
    }
}

/// A task leaving `wait` (released, failed or cancelled): asyncio's `_exit`.
struct Leave<'a>(&'a BarrierInner);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let inner = self.0;
        inner.count.set(inner.count.get() - 1);
        if inner.count.get() == 0 {
            if matches!(inner.state.get(), State::Draining | State::Resetting) {
                inner.state.set(State::Filling);
            }
            inner.notify_all();
        }
    }
}

struct Until<'a> {
    inner: &'a BarrierInner,
    pred: fn(State) -> bool,
    key: Option<usize>,
}

impl Future for Until<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (inner, pred) = (self.inner, self.pred);
        // Every change of state notifies all waiters.
        poll_until(&inner.waiters, &mut self.key, cx, || pred(inner.state.get()))
    }
}

impl Drop for Until<'_> {
    fn drop(&mut self) {
        // Notifications here are broadcasts: nothing to pass on.
        leave(&self.inner.waiters, self.key);
    }
}
