//! [`WaitList`]: the one list of parked tasks, a FIFO, shared by every primitive that makes
//! tasks wait for something: the locks, semaphores, events, conditions, barriers and queues of
//! `sync/`, [`Future`](crate::Future)'s awaiters, and the stream writer's and server's waiters.
//!
//! Entries live in a [`Slab`] (no allocation per waiter once it has grown) and are linked into a
//! doubly linked FIFO through their slab keys, so pushing, notifying the first waiter and
//! removing any waiter are all O(1).
//!
//! An entry is in one of two states:
//! - **waiting**: linked into the FIFO, holding the waker of the future that owns it;
//! - **notified**: unlinked by [`WaitList::notify_one`] / [`WaitList::notify_all`], but still in
//!   the slab until its owner sees it ([`WaitList::poll_notified`]) or is dropped
//!   ([`WaitList::remove`]).
//!
//! That second state is what makes the primitives cancellation-safe: a future dropped after it
//! was notified but before it ran learns so from `remove` and passes the notification (the lock,
//! the permit, the wake-up for a queue item) on to the next waiter.
//!
//! The owner of an entry keeps its key and must hand it back exactly once, through
//! `poll_notified` returning [`Turn::Notified`] or through `remove`; keys are therefore never
//! stale. Wakers (to wake, or replaced ones to drop) are returned to the caller, who lets go of
//! them after releasing its `RefCell` borrow (architecture.md, T1); an entry keeps its waker in
//! a [`WakerSlot`].
//!
//! Two ways of waiting use it:
//! - **a turn** ([`poll_turn`]): the notifier hands the waiter something (a lock, a permit),
//!   one waiter per notification;
//! - **a condition** ([`Waiter::poll_until`]): whoever changes the state the waiters watch
//!   notifies them all, and each re-checks its condition, queueing again if it does not hold.

use std::cell::RefCell;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::waker_slot::WakerSlot;

const NIL: usize = usize::MAX;

struct Entry {
    /// The owner's waker while waiting; empty once it has been handed out.
    waker: WakerSlot,
    prev: usize,
    next: usize,
    notified: bool,
}

/// A FIFO of waiting futures; see the module docs.
pub(crate) struct WaitList {
    entries: Slab<Entry>,
    head: usize,
    tail: usize,
}

impl Default for WaitList {
    fn default() -> Self {
        WaitList {
            entries: Slab::new(),
            head: NIL,
            tail: NIL,
        }
    }
}

impl WaitList {
    /// Appends a waiting entry for `waker`; returns its key.
    pub(crate) fn push(&mut self, waker: &Waker) -> usize {
        let mut slot = WakerSlot::new();
        let none = slot.register(waker);
        debug_assert!(none.is_none(), "a new slot is empty");
        let key = self.entries.insert(Entry {
            waker: slot,
            prev: self.tail,
            next: NIL,
            notified: false,
        });
        match self.tail {
            NIL => self.head = key,
            tail => self.entries[tail].next = key,
        }
        self.tail = key;
        key
    }

    /// For the owner of `key`, when its future is polled: if the entry was notified, frees it
    /// ([`Turn::Notified`]: the key is spent). Otherwise refreshes the stored waker.
    pub(crate) fn poll_notified(&mut self, key: usize, waker: &Waker) -> Turn {
        let entry = &mut self.entries[key];
        if entry.notified {
            self.entries.remove(key);
            return Turn::Notified;
        }
        Turn::Waiting(entry.waker.register(waker))
    }

    /// Frees `key` (its owner is going away); returns true if it had been notified, in which
    /// case the owner must pass on whatever the notification carried.
    pub(crate) fn remove(&mut self, key: usize) -> bool {
        let notified = self.entries[key].notified;
        if !notified {
            self.unlink(key);
        }
        self.entries.remove(key);
        notified
    }

    /// Appends a marker: an entry whose waker does nothing, holding a place in the FIFO for its
    /// owner (a done callback's among the awaiters, `done_callbacks.rs`), who tells it apart by
    /// its key in [`WaitList::notify_all_keyed`] and frees it with [`WaitList::remove`],
    /// whether notified or not.
    pub(crate) fn push_marker(&mut self) -> usize {
        self.push(Waker::noop())
    }

    /// True if no entry is in the list, waiting or notified but not yet seen by its owner.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Notifies the first waiting entry; returns its waker, to be woken by the caller once its
    /// borrow has ended. `None` if nobody waits.
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        self.unlink(key);
        let entry = &mut self.entries[key];
        entry.notified = true;
        let waker = entry.waker.take();
        debug_assert!(waker.is_some(), "a waiting entry holds its owner's waker");
        waker
    }

    /// Notifies every waiting entry, in FIFO order; returns their wakers.
    pub(crate) fn notify_all(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while let Some(waker) = self.notify_one() {
            wakers.push(waker);
        }
        wakers
    }

    /// Notifies every waiting entry, in FIFO order; returns their keys and wakers (for an owner
    /// that placed markers among the waiters).
    pub(crate) fn notify_all_keyed(&mut self) -> Vec<(usize, Waker)> {
        let mut notified = Vec::new();
        loop {
            let key = self.head;
            match self.notify_one() {
                Some(waker) => notified.push((key, waker)),
                None => return notified,
            }
        }
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let entry = &self.entries[key];
            (entry.prev, entry.next)
        };
        match prev {
            NIL => self.head = next,
            prev => self.entries[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.entries[next].prev = prev,
        }
    }
}

/// Notifies the first waiter of `list` and wakes it once the borrow has ended; false if nobody
/// waits. The hand-off of a lock, a permit or one condition notification.
pub(crate) fn wake_one(list: &RefCell<WaitList>) -> bool {
    let next = list.borrow_mut().notify_one();
    match next {
        Some(waker) => {
            waker.wake();
            true
        }
        None => false,
    }
}

/// Wakes every waker of `wakers` (call it after the borrow that produced them has ended).
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

/// The poll of a future that waits its turn on `list` (`key` is its entry, `None` before it
/// queues). On the first poll, `take_now` takes what the future waits for if that is available
/// at once; otherwise the future queues. Once queued, it is ready when notified: the notifier
/// has handed it the lock, the permit, or the news.
pub(crate) fn poll_turn(
    list: &RefCell<WaitList>,
    key: &mut Option<usize>,
    cx: &mut Context<'_>,
    take_now: impl FnOnce() -> bool,
) -> Poll<()> {
    super::coop::poll_coop(cx, |cx| match *key {
        None if take_now() => Poll::Ready(()),
        None => {
            *key = Some(list.borrow_mut().push(cx.waker()));
            Poll::Pending
        }
        Some(entry) => {
            let turn = list.borrow_mut().poll_notified(entry, cx.waker());
            match turn {
                Turn::Notified => {
                    *key = None;
                    Poll::Ready(())
                }
                Turn::Waiting(replaced) => {
                    drop(replaced);
                    Poll::Pending
                }
            }
        }
    })
}

/// The drop of a [`poll_turn`] future: leaves `list`; true if it had been notified, in which
/// case the caller passes on what it was handed.
pub(crate) fn leave(list: &RefCell<WaitList>, key: Option<usize>) -> bool {
    key.is_some_and(|entry| list.borrow_mut().remove(entry))
}

/// The poll of a future that waits until `holds()` (`key` is its entry in `list`, `None` while
/// it is not queued): ready at once if `holds()`, else queued until a notification, after which
/// it re-checks and queues again if the condition still does not hold. Whoever changes what
/// `holds` reads must notify every waiter of `list` ([`WaitList::notify_all`]).
pub(crate) fn poll_until(
    list: &RefCell<WaitList>,
    key: &mut Option<usize>,
    cx: &mut Context<'_>,
    holds: impl Fn() -> bool,
) -> Poll<()> {
    // A waiter not notified has nothing to re-check; a notified one re-checks, and queues
    // again if the condition does not suit it.
    while poll_turn(list, key, cx, &holds).is_ready() {
        if holds() {
            return Poll::Ready(());
        }
    }
    Poll::Pending
}

/// Notifies every waiter of `list` and wakes them once the borrow has ended: the broadcast of
/// a change to what [`poll_until`] waiters watch.
pub(crate) fn notify_all(list: &RefCell<WaitList>) {
    let wakers = list.borrow_mut().notify_all();
    wake_all(wakers);
}

/// A future's place in a list it waits on until a condition holds ([`poll_until`]); leaves the
/// list when dropped. For futures written with `poll_fn`, which have no `Drop` of their own.
pub(crate) struct Waiter<'a> {
    list: &'a RefCell<WaitList>,
    key: Option<usize>,
}

impl<'a> Waiter<'a> {
    /// Not queued yet on `list`.
    pub(crate) fn new(list: &'a RefCell<WaitList>) -> Self {
        Waiter { list, key: None }
    }

    /// See [`poll_until`].
    pub(crate) fn poll_until(&mut self, cx: &mut Context<'_>, holds: impl Fn() -> bool) -> Poll<()> {
        poll_until(self.list, &mut self.key, cx, holds)
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        // Notifications here are broadcasts: nothing to pass on.
        leave(self.list, self.key.take());
    }
}

/// What [`WaitList::poll_notified`] found.
#[must_use = "drop a replaced waker after the borrow ends"]
pub(crate) enum Turn {
    /// The entry was notified and is freed: the key is spent.
    Notified,
    /// Still waiting; holds the waker this poll replaced, to drop once the borrow has ended.
    Waiting(Option<Waker>),
}

impl Turn {
    /// True for [`Turn::Notified`]; a replaced waker is dropped here, so call it only once the
    /// borrow of the list has ended.
    pub(crate) fn notified(self) -> bool {
        matches!(self, Turn::Notified)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct Tagged(usize, Arc<AtomicUsize>);

    impl Wake for Tagged {
        fn wake(self: Arc<Self>) {
            self.1.store(self.0, Ordering::SeqCst);
        }
    }

    fn waker(tag: usize, seen: &Arc<AtomicUsize>) -> Waker {
        Waker::from(Arc::new(Tagged(tag, seen.clone())))
    }

    #[test]
    fn notifies_in_fifo_order_and_skips_removed_entries() {
        let seen = Arc::new(AtomicUsize::new(0));
        let mut list = WaitList::default();
        let a = list.push(&waker(1, &seen));
        let b = list.push(&waker(2, &seen));
        let c = list.push(&waker(3, &seen));
        assert!(!list.remove(b), "b was waiting, not notified");

        list.notify_one().unwrap().wake();
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        list.notify_one().unwrap().wake();
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        assert!(list.notify_one().is_none());
        assert_eq!(list.head, NIL);

        assert!(list.poll_notified(a, Waker::noop()).notified());
        assert!(list.remove(c), "c was notified but never polled");
        assert!(list.entries.is_empty());
    }

    #[test]
    fn poll_refreshes_the_waker_of_a_waiting_entry() {
        let seen = Arc::new(AtomicUsize::new(0));
        let mut list = WaitList::default();
        let a = list.push(&waker(1, &seen));
        assert!(!list.poll_notified(a, &waker(7, &seen)).notified());
        let wakers = list.notify_all();
        assert_eq!(wakers.len(), 1);
        wake_all(wakers);
        assert_eq!(seen.load(Ordering::SeqCst), 7);
    }

    #[test]
    fn a_condition_waiter_queues_again_until_it_holds_and_leaves_on_drop() {
        let seen = Arc::new(AtomicUsize::new(0));
        let list = RefCell::new(WaitList::default());
        let holds = std::cell::Cell::new(false);
        let waker = waker(1, &seen);
        let mut cx = Context::from_waker(&waker);
        let mut waiter = Waiter::new(&list);
        assert!(waiter.poll_until(&mut cx, || holds.get()).is_pending());
        notify_all(&list);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        // Notified but the condition still fails: queued again, not ready.
        assert!(waiter.poll_until(&mut cx, || holds.get()).is_pending());
        assert!(list.borrow().head != NIL, "queued again");
        holds.set(true);
        // Not notified since: nothing to re-check.
        assert!(waiter.poll_until(&mut cx, || holds.get()).is_pending());
        drop(waiter);
        assert!(list.borrow().entries.is_empty(), "left the list on drop");
        let mut waiter = Waiter::new(&list);
        assert!(waiter.poll_until(&mut cx, || holds.get()).is_ready());
    }

    #[test]
    fn unlinking_head_middle_and_tail_keeps_the_chain() {
        let mut list = WaitList::default();
        let keys: Vec<_> = (0..5).map(|_| list.push(Waker::noop())).collect();
        list.remove(keys[0]);
        list.remove(keys[2]);
        list.remove(keys[4]);
        let mut order = Vec::new();
        while list.notify_one().is_some() {
            let newly = keys
                .iter()
                .copied()
                .find(|&k| list.entries.get(k).is_some_and(|e| e.notified) && !order.contains(&k));
            order.push(newly.unwrap());
        }
        assert_eq!(order, [keys[1], keys[3]]);
        assert_eq!(list.head, NIL);
        assert_eq!(list.tail, NIL);
    }
}
