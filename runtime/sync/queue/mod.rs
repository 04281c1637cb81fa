//! asyncio's three queues: [`Queue`] (FIFO), [`LifoQueue`] and [`PriorityQueue`]. They share
//! one implementation (`shared.rs`) and differ only in the order of `get`.

mod shared;

use std::fmt;
use std::future::Future;
use std::rc::Rc;

use self::shared::{Fifo, Lifo, Priority, QueueCore};
use super::error::{GetNowaitError, PutNowaitError, QueueShutDown};
use crate::InvalidStateError;

/// Defines a queue type over a store, with asyncio's methods.
macro_rules! queue_type {
    ($(#[$doc:meta])* $name:ident, $store:ident $(, $bound:path)?) => {
        $(#[$doc])*
        pub struct $name<T> {
            core: Rc<QueueCore<$store<T>>>,
        }

        impl<T $(: $bound)?> $name<T> {
            /// A queue holding at most `maxsize` items; `0` means unbounded (asyncio's
            /// default).
            pub fn new(maxsize: usize) -> Self {
                $name { core: Rc::new(QueueCore::new(maxsize)) }
            }

            /// Puts `item`, waiting while the queue is full. asyncio's `await q.put(item)`.
            ///
            /// Dropping the future before it completes puts nothing (the item is dropped with
            /// it). A free slot is not reserved for a waiting putter: as in asyncio, a
            /// `put_nowait` may take it first, and the putter then waits again.
            ///
            /// # Errors
            /// [`QueueShutDown`], with the item, if the queue is or gets shut down.
            pub fn put(&self, item: T) -> impl Future<Output = Result<(), QueueShutDown<T>>> + '_ {
                self.core.put(item)
            }

            /// Removes and returns an item, waiting while the queue is empty. asyncio's
            /// `await q.get()`.
            ///
            /// Cancellation-safe: if the future is dropped after it was woken for an item but
            /// before it took it, the item stays in the queue and the next waiting getter is
            /// woken for it.
            ///
            /// # Errors
            /// [`QueueShutDown`] if the queue is shut down and empty (items put before a
            /// non-immediate shutdown can still be taken).
            pub fn get(&self) -> impl Future<Output = Result<T, QueueShutDown>> + '_ {
                self.core.get()
            }

            /// Puts `item` if there is room, without waiting. asyncio's `put_nowait`.
            ///
            /// # Errors
            /// [`PutNowaitError::QueueFull`] if the queue holds `maxsize` items,
            /// [`PutNowaitError::QueueShutDown`] if it is shut down; both give the item back.
            pub fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
                self.core.put_nowait(item)
            }

            /// Removes and returns an item if there is one, without waiting. asyncio's
            /// `get_nowait`.
            ///
            /// # Errors
            /// [`GetNowaitError::QueueEmpty`] if the queue is empty,
            /// [`GetNowaitError::QueueShutDown`] if it is empty and shut down.
            pub fn get_nowait(&self) -> Result<T, GetNowaitError> {
                self.core.get_nowait()
            }

            /// Marks one item taken from the queue as processed. Once every item put has been
            /// marked, [`join`](Self::join) returns. asyncio's `task_done()`.
            ///
            /// # Errors
            /// If called more times than items were put (asyncio raises `ValueError`).
            pub fn task_done(&self) -> Result<(), InvalidStateError> {
                self.core.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done); returns at once if none is outstanding.
            /// asyncio's `await q.join()`.
            pub fn join(&self) -> impl Future<Output = ()> + '_ {
                self.core.join()
            }

            /// Shuts the queue down (asyncio 3.13): `put` and `put_nowait` then fail with
            /// [`QueueShutDown`]; `get` fails once the queue is empty; every blocked putter and
            /// getter is woken to find out. With `immediate`, the items still queued are
            /// dropped (each counts as done for [`join`](Self::join)), so `get` fails at once.
            pub fn shutdown(&self, immediate: bool) {
                self.core.shutdown(immediate)
            }

            /// True once [`shutdown`](Self::shutdown) was called.
            pub fn is_shutdown(&self) -> bool {
                self.core.is_shutdown()
            }

            /// The number of items in the queue. asyncio's `qsize()`.
            pub fn qsize(&self) -> usize {
                self.core.qsize()
            }

            /// True if the queue holds no item.
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// True if the queue holds `maxsize` items (never for an unbounded queue).
            pub fn full(&self) -> bool {
                self.core.full()
            }

            /// The capacity given to [`new`](Self::new); `0` for unbounded.
            pub fn maxsize(&self) -> usize {
                self.core.maxsize()
            }
        }

        impl<T $(: $bound)?> Default for $name<T> {
            /// An unbounded queue.
            fn default() -> Self {
                $name::new(0)
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name { core: self.core.clone() }
            }
        }

        impl<T $(: $bound)?> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("maxsize", &self.maxsize())
                    .field("qsize", &self.qsize())
                    .field("shutdown", &self.is_shutdown())
                    .finish_non_exhaustive()
            }
        }
    };
}

queue_type! {
    /// A first-in, first-out queue for tasks on one loop: asyncio's `asyncio.Queue`.
    ///
    /// `maxsize` bounds it (`0`: unbounded); [`put`](Queue::put) waits while it is full,
    /// [`get`](Queue::get) while it is empty. [`task_done`](Queue::task_done) and
    /// [`join`](Queue::join) track the processing of items, and [`shutdown`](Queue::shutdown)
    /// ends it with asyncio 3.13's semantics.
    ///
    /// ```
    /// use aioloop::sync::Queue;
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// aioloop::run(async {
    ///     let queue = Queue::new(2); // at most two items waiting
    ///     let total = Rc::new(Cell::new(0));
    ///     let worker = aioloop::spawn({
    ///         let (queue, total) = (queue.clone(), total.clone());
    ///         async move {
    ///             while let Ok(n) = queue.get().await {
    ///                 total.set(total.get() + n);
    ///                 queue.task_done().unwrap();
    ///             }
    ///         }
    ///     });
    ///     for n in 1..=10 {
    ///         queue.put(n).await.unwrap(); // waits while two items are queued
    ///     }
    ///     queue.join().await; // every item was processed
    ///     assert_eq!(total.get(), 55);
    ///     queue.shutdown(false); // the worker's get() now fails: it returns
    ///     worker.await.unwrap();
    /// });
    /// ```
    ///
    /// Waiting getters and putters are woken in FIFO order; as in asyncio, a wake-up is a
    /// hint, re-checked when the woken task runs. Cancellation is safe: a dropped waiter leaves
    /// the queue, and one dropped after it was woken passes the wake-up on, so no item is left
    /// behind while getters wait.
    ///
    /// `Queue` is a cheap handle: clones share the queue. It is `!Send` (one loop, no atomics).
    Queue, Fifo
}

queue_type! {
    /// A last-in, first-out queue (a stack) for tasks on one loop: asyncio's
    /// `asyncio.LifoQueue`. Everything but the order of `get` is as for [`Queue`].
    ///
    /// ```
    /// use aioloop::sync::LifoQueue;
    ///
    /// let q = LifoQueue::new(0);
    /// for n in [1, 3, 2] {
    ///     q.put_nowait(n).unwrap();
    /// }
    /// let order: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    /// assert_eq!(order, [2, 3, 1]);
    /// ```
    LifoQueue, Lifo
}

queue_type! {
    /// A priority queue for tasks on one loop: asyncio's `asyncio.PriorityQueue`. `get`
    /// returns the smallest item first (use `(priority, data)` tuples, or
    /// [`std::cmp::Reverse`] for largest first). Everything else is as for [`Queue`].
    ///
    /// The items' `Ord` runs while the queue's state is borrowed: it must not call into the
    /// same queue.
    ///
    /// ```
    /// use aioloop::sync::PriorityQueue;
    ///
    /// let q = PriorityQueue::new(0);
    /// for n in [1, 3, 2] {
    ///     q.put_nowait(n).unwrap();
    /// }
    /// let order: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    /// assert_eq!(order, [1, 2, 3]);
    /// ```
    PriorityQueue, Priority, Ord
}
