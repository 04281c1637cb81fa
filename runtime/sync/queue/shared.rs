//! The machinery shared by the three queues: the state, the operations and the futures of
//! `get`, `put` and `join`, generic over the item store (FIFO, LIFO, priority).
//!
//! asyncio's model is kept: a wake-up of a getter (putter) is a hint that an item (a free slot)
//! may be there, not a hand-off. The woken future re-checks when it runs; if it is dropped
//! before that, it passes the hint on, so an item is never stranded while getters wait.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::super::error::{GetNowaitError, PutNowaitError, QueueShutDown};
use crate::task::waiters::{wake_all, Turn, WaitList};
use crate::InvalidStateError;

/// Where a queue keeps its items; it decides the order of `get`.
pub(crate) trait Store {
    type Item;
    fn new() -> Self;
    fn push(&mut self, item: Self::Item);
    fn pop(&mut self) -> Option<Self::Item>;
    fn len(&self) -> usize;
}

/// First in, first out.
pub(crate) struct Fifo<T>(VecDeque<T>);

/// Last in, first out.
pub(crate) struct Lifo<T>(Vec<T>);

/// Smallest first (asyncio's `heapq`).
pub(crate) struct Priority<T>(BinaryHeap<Reverse<T>>);

impl<T> Store for Fifo<T> {
    type Item = T;
    fn new() -> Self {
        Fifo(VecDeque::new())
    }
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Store for Lifo<T> {
    type Item = T;
    fn new() -> Self {
        Lifo(Vec::new())
    }
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Store for Priority<T> {
    type Item = T;
    fn new() -> Self {
        Priority(BinaryHeap::new())
    }
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// One queue's state. Every borrow is short and runs no user code but the store's (`Ord` of a
/// priority queue's items); items leave and wakers are woken after the borrow ends.
pub(crate) struct QueueCore<S> {
    state: RefCell<State<S>>,
}

struct State<S> {
    items: S,
    maxsize: usize,
    /// Items put and not yet marked done with `task_done`.
    unfinished: usize,
    shutdown: bool,
    getters: WaitList,
    putters: WaitList,
    joiners: WaitList,
}

impl<S: Store> State<S> {
    fn is_full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<S: Store> QueueCore<S> {
    pub(crate) fn new(maxsize: usize) -> Self {
        QueueCore {
            state: RefCell::new(State {
                items: S::new(),
                maxsize,
                unfinished: 0,
                shutdown: false,
                getters: WaitList::default(),
                putters: WaitList::default(),
                joiners: WaitList::default(),
            }),
        }
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.state.borrow().maxsize
    }

    pub(crate) fn qsize(&self) -> usize {
        self.state.borrow().items.len()
    }

    pub(crate) fn full(&self) -> bool {
        self.state.borrow().is_full()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.state.borrow().shutdown
    }

    pub(crate) fn put_nowait(&self, item: S::Item) -> Result<(), PutNowaitError<S::Item>> {
        let mut state = self.state.borrow_mut();
        if state.shutdown {
            return Err(PutNowaitError::QueueShutDown(item));
        }
        if state.is_full() {
            return Err(PutNowaitError::QueueFull(item));
        }
        let getter = Self::push(&mut state, item);
        drop(state);
        wake(getter);
        Ok(())
    }

    /// Stores an item; returns the getter to wake.
    fn push(state: &mut State<S>, item: S::Item) -> Option<Waker> {
        state.items.push(item);
        state.unfinished += 1;
        state.getters.notify_one()
    }

    pub(crate) fn get_nowait(&self) -> Result<S::Item, GetNowaitError> {
        let mut state = self.state.borrow_mut();
        match state.items.pop() {
            Some(item) => {
                let putter = state.putters.notify_one();
                drop(state);
                wake(putter);
                Ok(item)
            }
            None if state.shutdown => Err(GetNowaitError::QueueShutDown),
            None => Err(GetNowaitError::QueueEmpty),
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), InvalidStateError> {
        let mut state = self.state.borrow_mut();
        if state.unfinished == 0 {
            return Err(InvalidStateError {
                what: "task_done() called too many times",
            });
        }
        state.unfinished -= 1;
        if state.unfinished == 0 {
            let joiners = state.joiners.notify_all();
            drop(state);
            wake_all(joiners);
        }
        Ok(())
    }

    pub(crate) fn shutdown(&self, immediate: bool) {
        let mut state = self.state.borrow_mut();
        state.shutdown = true;
        let mut wakers = Vec::new();
        let drained = if immediate {
            let drained = std::mem::replace(&mut state.items, S::new());
            state.unfinished = state.unfinished.saturating_sub(drained.len());
            if state.unfinished == 0 {
                wakers.extend(state.joiners.notify_all());
            }
            Some(drained)
        } else {
            None
        };
        // Every blocked getter and putter re-checks, and fails if it cannot proceed.
        wakers.extend(state.getters.notify_all());
        wakers.extend(state.putters.notify_all());
        drop(state);
        wake_all(wakers);
        drop(drained);
    }

    pub(crate) fn get(&self) -> Get<'_, S> {
        Get {
            queue: self,
            key: None,
        }
    }

    pub(crate) fn put(&self, item: S::Item) -> Put<'_, S> {
        Put {
            queue: self,
            item: Some(item),
            key: None,
        }
    }

    pub(crate) fn join(&self) -> Join<'_, S> {
        Join {
            queue: self,
            key: None,
        }
    }
}

/// `get()`: waits for an item.
pub(crate) struct Get<'a, S: Store> {
    queue: &'a QueueCore<S>,
    key: Option<usize>,
}

impl<S: Store> Future for Get<'_, S> {
    type Output = Result<S::Item, QueueShutDown>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::task::coop::poll_coop(cx, |cx| self.poll_get(cx))
    }
}

impl<S: Store> Get<'_, S> {
    fn poll_get(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<S::Item, QueueShutDown>> {
        let queue = self.queue;
        let mut state = queue.state.borrow_mut();
        if let Some(key) = self.key {
            let turn = state.getters.poll_notified(key, cx.waker());
            if !matches!(turn, Turn::Notified) {
                drop(state);
                drop(turn); // a replaced waker, after the borrow
                return Poll::Pending;
            }
            self.key = None;
        }
        if let Some(item) = state.items.pop() {
            let putter = state.putters.notify_one();
            drop(state);
            wake(putter);
            return Poll::Ready(Ok(item));
        }
        if state.shutdown {
            return Poll::Ready(Err(QueueShutDown(())));
        }
        let key = state.getters.push(cx.waker());
        drop(state);
        self.key = Some(key);
        Poll::Pending
    }
}

impl<S: Store> Drop for Get<'_, S> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut state = self.queue.state.borrow_mut();
        // Woken for an item we will not take: wake the next getter for it.
        let next = if state.getters.remove(key) && state.items.len() > 0 {
            state.getters.notify_one()
        } else {
            None
        };
        drop(state);
        wake(next);
    }
}

/// `put(item)`: waits for a free slot.
pub(crate) struct Put<'a, S: Store> {
    queue: &'a QueueCore<S>,
    item: Option<S::Item>,
    key: Option<usize>,
}

// The item is never pinned (it is moved out by value), so `Put` can be `Unpin` whatever it is.
impl<S: Store> Unpin for Put<'_, S> {}

impl<S: Store> Future for Put<'_, S> {
    type Output = Result<(), QueueShutDown<S::Item>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::task::coop::poll_coop(cx, |cx| self.poll_put(cx))
    }
}

impl<S: Store> Put<'_, S> {
    fn poll_put(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), QueueShutDown<S::Item>>> {
        let this = &mut *self;
        let mut state = this.queue.state.borrow_mut();
        if let Some(key) = this.key {
            let turn = state.putters.poll_notified(key, cx.waker());
            if !matches!(turn, Turn::Notified) {
                drop(state);
                drop(turn); // a replaced waker, after the borrow
                return Poll::Pending;
            }
            this.key = None;
        }
        let item = this
            .item
            .take()
            .expect("aioloop: a queue's put future polled after completion");
        if state.shutdown {
            return Poll::Ready(Err(QueueShutDown(item)));
        }
        if state.is_full() {
            this.item = Some(item);
            this.key = Some(state.putters.push(cx.waker()));
            return Poll::Pending;
        }
        let getter = QueueCore::push(&mut state, item);
        drop(state);
        wake(getter);
        Poll::Ready(Ok(()))
    }
}

impl<S: Store> Drop for Put<'_, S> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut state = self.queue.state.borrow_mut();
        // Woken for a free slot we will not use: wake the next putter for it.
        let next = if state.putters.remove(key) && !state.is_full() {
            state.putters.notify_one()
        } else {
            None
        };
        drop(state);
        wake(next);
        // The unsent item drops with `self`, after the borrow.
    }
}

/// `join()`: waits until every item put has been marked done.
pub(crate) struct Join<'a, S: Store> {
    queue: &'a QueueCore<S>,
    key: Option<usize>,
}

impl<S: Store> Future for Join<'_, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        crate::task::coop::poll_coop(cx, |cx| self.poll_join(cx))
    }
}

impl<S: Store> Join<'_, S> {
    fn poll_join(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let queue = self.queue;
        let mut state = queue.state.borrow_mut();
        match self.key {
            // As asyncio's `_finished` event: once notified, done, whatever was put since.
            Some(key) => {
                let turn = state.joiners.poll_notified(key, cx.waker());
                drop(state);
                if turn.notified() {
                    self.key = None;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
            None if state.unfinished == 0 => Poll::Ready(()),
            None => {
                let key = state.joiners.push(cx.waker());
                drop(state);
                self.key = Some(key);
                Poll::Pending
            }
        }
    }
}

impl<S: Store> Drop for Join<'_, S> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.queue.state.borrow_mut().joiners.remove(key);
        }
    }
}
