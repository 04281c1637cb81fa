//! Synchronisation primitives and queues for the tasks of one loop: asyncio's `asyncio.Lock`,
//! `Event`, `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier`, `Queue`, `LifoQueue` and
//! `PriorityQueue`, under the same names, plus a local [`oneshot`] channel.
//!
//! Everything here lives on one thread, so nothing needs an atomic or a mutex: the handles are
//! `Rc`-based, cheap to clone (clones share the primitive, as passing an asyncio object around
//! does) and `!Send`. Use them between tasks of the same loop; across threads, use a `Send`
//! channel instead.
//!
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! assert_send(aioloop::sync::Queue::<u8>::new(0)); // error: `Rc<..>` cannot be sent between threads
//! ```
//!
//! Common to all of them:
//! - **FIFO.** Waiters are woken in the order they started waiting. A `Lock` or `Semaphore`
//!   hands the released lock or permit directly to the first waiter, so a newcomer never
//!   overtakes it; as in asyncio 3.12, neither does a task that releases and acquires again
//!   while a woken waiter has not run yet.
//! - **Cancellation-safe.** Dropping a waiting future (as [`Task::cancel`](crate::Task::cancel)
//!   does) removes it from the wait list. A waiter dropped after it was woken but before it
//!   ran passes on what it was woken for: the lock, the permit, the notification, or the
//!   wake-up for a queue item (the item stays in the queue for the next getter).
//! - **Guards.** `lock()` and `acquire()` return guards that release on drop (asyncio's
//!   `async with`); `forget()` on a guard plus `release()` gives asyncio's manual style.
//!
//! All wait lists are one shared structure (`task/waiters.rs`, also used by
//! [`Future`](crate::Future) and the streams): a slab of entries linked in FIFO order, so
//! waiting allocates nothing once the slab has grown.

mod barrier;
mod bounded_semaphore;
mod condition;
mod error;
mod event;
mod lock;
pub mod oneshot;
mod queue;
mod semaphore;

pub use barrier::Barrier;
pub use bounded_semaphore::BoundedSemaphore;
pub use condition::{Condition, ConditionWait};
pub use error::{BrokenBarrierError, GetNowaitError, PutNowaitError, QueueShutDown};
pub use event::{Event, EventWait};
pub use lock::{Lock, LockAcquire, LockGuard};
pub use queue::{LifoQueue, PriorityQueue, Queue};
pub use semaphore::{Semaphore, SemaphoreAcquire, SemaphorePermit};
