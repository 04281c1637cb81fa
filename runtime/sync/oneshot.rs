//! A one-shot channel for tasks on one loop: one value, sent once, from a [`Sender`] to an
//! awaitable [`Receiver`]. The local counterpart of `tokio::sync::oneshot`, without atomics
//! (both halves are `!Send`). asyncio code uses a `Future` for this; use
//! [`aioloop::Future`](crate::Future) when several tasks must see the value.
//!
//! ```
//! use aioloop::sync::oneshot;
//!
//! aioloop::run(async {
//!     let (tx, rx) = oneshot::channel();
//!     aioloop::spawn(async move { tx.send(6 * 7).unwrap() });
//!     assert_eq!(rx.await, Ok(42));
//!
//!     let (tx, rx) = oneshot::channel::<i32>();
//!     drop(tx);
//!     assert_eq!(rx.await, Err(oneshot::RecvError));
//! });
//! ```

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::waker_slot::WakerSlot;

/// Creates a one-shot channel: the [`Sender`] sends one value, the [`Receiver`] awaits it.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        value: Cell::new(None),
        waker: Cell::new(WakerSlot::new()),
        sender_waker: Cell::new(WakerSlot::new()),
        sender_gone: Cell::new(false),
        closed: Cell::new(false),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            terminated: false,
        },
    )
}

struct Shared<T> {
    value: Cell<Option<T>>,
    /// The receiver's waker while it waits.
    waker: Cell<WakerSlot>,
    /// The sender's waker while it waits in [`Sender::closed`].
    sender_waker: Cell<WakerSlot>,
    /// The sender has sent or was dropped: no value will come after `value`.
    sender_gone: Cell<bool>,
    /// The receiver was dropped or [closed](Receiver::close): nothing can be sent any more.
    closed: Cell<bool>,
}

impl<T> Shared<T> {
    /// The receiver's side closes the channel: a send now fails, and the sender waiting in
    /// [`Sender::closed`] is woken.
    fn close(&self) {
        self.closed.set(true);
        if let Some(waker) = self.sender_waker.take().take() {
            waker.wake();
        }
    }
}

/// The sending half of a [`channel`]. Dropping it without sending makes the receiver's await
/// fail with [`RecvError`].
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver.
    ///
    /// # Errors
    /// Gives `value` back if the [`Receiver`] was dropped.
    pub fn send(self, value: T) -> Result<(), T> {
        if self.shared.closed.get() {
            return Err(value);
        }
        self.shared.value.set(Some(value));
        Ok(()) // dropping `self` wakes the receiver
    }

    /// True once the [`Receiver`] was dropped or [closed](Receiver::close): a value sent now
    /// would be given back.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.get()
    }

    /// Waits until the [`Receiver`] is dropped or [closed](Receiver::close) (tokio's
    /// `Sender::closed`): a producer can stop computing a value nobody will take.
    ///
    /// ```
    /// use aioloop::sync::oneshot;
    ///
    /// aioloop::run(async {
    ///     let (mut tx, rx) = oneshot::channel::<u32>();
    ///     let producer = aioloop::spawn(async move {
    ///         tx.closed().await; // e.g. in a select! with the work
    ///         "the receiver left"
    ///     });
    ///     drop(rx);
    ///     assert_eq!(producer.await.unwrap(), "the receiver left");
    /// });
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// `Ready` once the [`Receiver`] is dropped or [closed](Receiver::close); otherwise
    /// registers `cx`'s waker to be woken then (tokio's `Sender::poll_closed`).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = &*self.shared;
        if shared.closed.get() {
            return Poll::Ready(());
        }
        let mut slot = shared.sender_waker.take();
        let replaced = slot.register(cx.waker());
        shared.sender_waker.set(slot);
        drop(replaced);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.sender_gone.set(true);
        drop(self.shared.sender_waker.take());
        if let Some(waker) = self.shared.waker.take().take() {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// The receiving half of a [`channel`]: a future resolving to the value, or to [`RecvError`]
/// if the [`Sender`] was dropped without sending.
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// The await or `try_recv` gave its outcome (the value, or the error of a closed channel).
    terminated: bool,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing was sent yet, [`TryRecvError::Closed`] if the sender
    /// is gone without sending (or the value was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let outcome = match self.shared.value.take() {
            Some(value) => Ok(value),
            None if self.shared.sender_gone.get() || self.shared.closed.get() => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        };
        self.terminated |= !matches!(outcome, Err(TryRecvError::Empty));
        outcome
    }

    /// True while no value waits to be taken: before the send, and after the value was taken
    /// (tokio's `Receiver::is_empty`).
    pub fn is_empty(&self) -> bool {
        let value = self.shared.value.take();
        let empty = value.is_none();
        self.shared.value.set(value);
        empty
    }

    /// True once the await or [`try_recv`](Receiver::try_recv) gave the value, or the error of
    /// a channel that will bring none (tokio's `Receiver::is_terminated`, `FusedFuture`): polling
    /// again would only give [`RecvError`].
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// Closes the channel without dropping the receiver (tokio's `Receiver::close`): a
    /// [`send`](Sender::send) after this fails, giving its value back, and the sender's
    /// [`closed`](Sender::closed) resolves. A value sent before stays here, for
    /// [`try_recv`](Receiver::try_recv) or the await; without one, the await gives
    /// [`RecvError`] at once.
    ///
    /// ```
    /// use aioloop::sync::oneshot;
    ///
    /// aioloop::run(async {
    ///     let (tx, mut rx) = oneshot::channel();
    ///     rx.close();
    ///     assert!(tx.is_closed());
    ///     assert_eq!(tx.send(1), Err(1));
    ///     assert_eq!(rx.await, Err(oneshot::RecvError));
    /// });
    /// ```
    pub fn close(&mut self) {
        self.shared.close();
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        crate::task::coop::poll_coop(cx, |cx| {
            let shared = &*this.shared;
            if let Some(value) = shared.value.take() {
                this.terminated = true;
                return Poll::Ready(Ok(value));
            }
            if shared.sender_gone.get() || shared.closed.get() {
                this.terminated = true;
                return Poll::Ready(Err(RecvError));
            }
            let mut slot = shared.waker.take();
            let replaced = slot.register(cx.waker());
            shared.waker.set(slot);
            drop(replaced);
            Poll::Pending
        })
    }
}

impl<T> futures_core::FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.close();
        drop(self.shared.value.take());
        drop(self.shared.waker.take());
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The [`Sender`] was dropped without sending a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing was sent yet.
    Empty,
    /// The sender is gone and no value is (still) there.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value was sent yet"),
            TryRecvError::Closed => f.write_str("the oneshot sender is gone"),
        }
    }
}

impl std::error::Error for TryRecvError {}
