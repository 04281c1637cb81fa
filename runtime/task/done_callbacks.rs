//! [`DoneCallbacks`]: the done callbacks of a [`Future`](crate::Future) or a task, each holding
//! its place among the awaiters of one [`WaitList`] with a marker entry, so that finishing hands
//! out the awaiters' wake-ups and the callbacks in the one order they were registered in, as
//! asyncio does (an awaiting task's wake-up is itself a done callback there).
//!
//! A marker is an entry of the list whose waker does nothing; the list's owner tells it from a
//! waiter by its key, which the callback keeps beside it. Callbacks and markers are appended
//! together and removed together, so they are in the same order.

use std::task::Waker;

use super::waiters::WaitList;

/// The done callbacks of one future or task; see the module docs.
pub(crate) struct DoneCallbacks<C> {
    /// In registration order: the callback's id, its marker's key in the wait list, itself.
    entries: Vec<(u64, usize, C)>,
    /// The id the next callback gets.
    next_id: u64,
}

impl<C> Default for DoneCallbacks<C> {
    fn default() -> Self {
        DoneCallbacks {
            entries: Vec::new(),
            next_id: 0,
        }
    }
}

/// One thing that finishing releases, in registration order ([`DoneCallbacks::release`]).
pub(crate) enum Released<C> {
    /// A waiter's waker to wake, with the key its entry had in the wait list (a marker the
    /// list's owner placed for a purpose of its own comes out here too, told by that key).
    Waiter(usize, Waker),
    /// A done callback to queue on the loop.
    Callback(C),
}

impl<C> DoneCallbacks<C> {
    /// Appends `callback`, with a marker at the end of `waiters`; returns its id.
    pub(crate) fn add(&mut self, waiters: &mut WaitList, callback: C) -> u64 {
        let id = self.take_id();
        let marker = waiters.push_marker();
        self.entries.push((id, marker, callback));
        id
    }

    /// An id for a callback that is not kept (it is queued at once: the future is done).
    pub(crate) fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Takes back the callback `id` and frees its marker; `None` if it is not there (removed
    /// already, or released).
    pub(crate) fn remove(&mut self, waiters: &mut WaitList, id: u64) -> Option<C> {
        let at = self.entries.iter().position(|(each, _, _)| *each == id)?;
        let (_, marker, callback) = self.entries.remove(at);
        waiters.remove(marker);
        Some(callback)
    }

    /// True if no callback is kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Notifies every entry of `waiters` and takes every callback: both in the order they were
    /// registered. The callbacks' markers are freed; the waiters' notified entries stay for
    /// their owners, as [`WaitList::notify_all`] leaves them.
    pub(crate) fn release(&mut self, waiters: &mut WaitList) -> Vec<Released<C>> {
        let mut callbacks = std::mem::take(&mut self.entries).into_iter().peekable();
        let notified = waiters.notify_all_keyed();
        let mut released = Vec::with_capacity(notified.len());
        for (key, waker) in notified {
            match callbacks.next_if(|(_, marker, _)| *marker == key) {
                Some((_, marker, callback)) => {
                    waiters.remove(marker);
                    released.push(Released::Callback(callback));
                }
                None => released.push(Released::Waiter(key, waker)),
            }
        }
        debug_assert!(callbacks.next().is_none(), "a marker per callback");
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wake_counter::wake_counter;

    #[test]
    fn release_keeps_the_registration_order_of_waiters_and_callbacks() {
        let (counter, waker) = wake_counter();
        let mut waiters = WaitList::default();
        let mut callbacks = DoneCallbacks::default();
        let first = waiters.push(&waker);
        callbacks.add(&mut waiters, "a");
        let removed = callbacks.add(&mut waiters, "removed");
        let second = waiters.push(&waker);
        callbacks.add(&mut waiters, "b");
        assert_eq!(callbacks.remove(&mut waiters, removed), Some("removed"));
        assert_eq!(callbacks.remove(&mut waiters, removed), None);

        let order: Vec<String> = callbacks
            .release(&mut waiters)
            .into_iter()
            .map(|released| match released {
                Released::Waiter(key, waker) => {
                    waker.wake();
                    format!("waiter {key}")
                }
                Released::Callback(name) => name.to_owned(),
            })
            .collect();
        assert_eq!(
            order,
            [
                format!("waiter {first}"),
                "a".into(),
                format!("waiter {second}"),
                "b".into()
            ]
        );
        assert_eq!(counter.wakes(), 2);
        assert!(callbacks.is_empty());
        // The markers are freed; the waiters' notified entries wait for their owners.
        assert!(waiters.remove(first) && waiters.remove(second));
        assert!(waiters.is_empty());
    }
}
