//! The completion list of a [`TaskSet`](crate::TaskSet): each member task's future is wrapped
//! in [`Notify`], whose drop (the future returned, panicked, or was cancelled: the loop drops a
//! task's future exactly when the task finishes) puts the member's key on the list and wakes the
//! set's joiner. So the set learns of completions in the order they happen, without polling
//! the tasks that have not finished, the way [`TaskGroup`](crate::TaskGroup) learns of its
//! children's ends through their `Member`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::waker_slot::WakerSlot;

/// A member's place in the set: its slab key and a stamp that tells it apart from later
/// members given the same key (a detached member may finish after its key was reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MemberKey {
    pub(super) key: usize,
    pub(super) stamp: u64,
}

#[derive(Default)]
struct Inner {
    finished: VecDeque<MemberKey>,
    joiner: WakerSlot,
}

/// The list of members whose future was dropped, oldest first, and the joiner's waker.
#[derive(Default, Clone)]
pub(super) struct DoneList {
    inner: Rc<RefCell<Inner>>,
}

impl DoneList {
    /// The oldest finished member, if any; else `waker` (when given) is woken at the next one.
    pub(super) fn pop(&self, waker: Option<&Waker>) -> Option<MemberKey> {
        let mut inner = self.inner.borrow_mut();
        if let Some(member) = inner.finished.pop_front() {
            return Some(member);
        }
        let old = waker.and_then(|waker| inner.joiner.register(waker));
        drop(inner);
        drop(old);
        None
    }

    /// Puts a member back at the front (its task was not done after all).
    pub(super) fn push_front(&self, member: MemberKey) {
        self.inner.borrow_mut().finished.push_front(member);
    }

    /// Forgets every finished member (their entries are gone).
    pub(super) fn clear(&self) {
        self.inner.borrow_mut().finished.clear();
    }

    fn finish(&self, member: MemberKey) {
        let joiner = {
            let mut inner = self.inner.borrow_mut();
            inner.finished.push_back(member);
            inner.joiner.take()
        };
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

/// Reports its member finished when dropped.
struct Signal {
    list: DoneList,
    member: MemberKey,
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.list.finish(self.member);
    }
}

pin_project! {
    /// A member's future inside its task. Fields drop in order: the future's destructors run
    /// before the set hears of the end.
    pub(super) struct Notify<F> {
        #[pin]
        future: F,
        signal: Signal,
    }
}

impl<F> Notify<F> {
    pub(super) fn new(future: F, list: DoneList, member: MemberKey) -> Self {
        Notify {
            future,
            signal: Signal { list, member },
        }
    }
}

impl<F: Future> Future for Notify<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}
