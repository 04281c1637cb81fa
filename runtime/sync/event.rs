//! [`Event`]: asyncio's `Event`, a flag that tasks wait for.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::task::waiters::{leave, poll_turn, wake_all, WaitList};

/// A flag tasks can wait for: asyncio's `asyncio.Event`.
///
/// [`set`](Event::set) sets the flag and wakes every waiter (in the order they started
/// waiting); [`clear`](Event::clear) resets it; [`wait`](Event::wait) returns at once while the
/// flag is set, else waits for the next `set`. As in asyncio, a waiter woken by `set` returns
/// even if the flag is cleared again before it runs.
///
/// `Event` is a cheap handle: clones share the same flag. It is `!Send` and uses no atomics.
/// A waiter dropped while waiting leaves the list.
///
/// ```
/// use aioloop::sync::Event;
///
/// aioloop::run(async {
///     let ready = Event::new();
///     let waiter = aioloop::spawn({
///         let ready = ready.clone();
///         async move { ready.wait().await; "woken" }
///     });
///     aioloop::yield_now().await;
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
#[derive(Clone, Default)]
pub struct Event {
    inner: Rc<EventInner>,
}

#[derive(Default)]
struct EventInner {
    set: Cell<bool>,
    waiters: RefCell<WaitList>,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Self {
        Event::default()
    }

    /// Sets the flag and wakes every task waiting for it. Setting a set event does nothing.
    pub fn set(&self) {
        if !self.inner.set.replace(true) {
            let wakers = self.inner.waiters.borrow_mut().notify_all();
            wake_all(wakers);
        }
    }

    /// Resets the flag: later [`wait`](Event::wait)s block until the next [`set`](Event::set).
    pub fn clear(&self) {
        self.inner.set.set(false);
    }

    /// True while the flag is set.
    pub fn is_set(&self) -> bool {
        self.inner.set.get()
    }

    /// Waits until the flag is set; returns at once if it is set now.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<usize>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.event;
        let inner = &*event.inner;
        poll_turn(&inner.waiters, &mut self.key, cx, || inner.set.get())
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        // A notification of an event is broadcast: nothing to pass on.
        leave(&self.event.inner.waiters, self.key);
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}
