//! [`thread_waker`]: the waker of state that lives on one thread (a loop's) and is found
//! through a thread-local table. A `Waker` must be `Send`: this one holds only a key and a
//! function, and its wake calls the function with the key on the thread that made it, and does
//! nothing on another (the reactor wakes on the loop's own thread). `add_reader`'s watches
//! (runtime/fd_watch/watch.rs) and the signal dispatcher (runtime/signal/driver.rs) queue their
//! next loop callback through it.

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::thread::{self, ThreadId};

/// A waker's key, its thread and what its wake does.
struct ThreadWaker<K> {
    thread: ThreadId,
    key: K,
    wake: fn(&K),
}

impl<K: Send + Sync + 'static> Wake for ThreadWaker<K> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if thread::current().id() == self.thread {
            (self.wake)(&self.key);
        }
    }
}

/// A waker whose wake calls `wake(&key)` on this thread, and does nothing on another.
pub(crate) fn thread_waker<K: Send + Sync + 'static>(key: K, wake: fn(&K)) -> Waker {
    Waker::from(Arc::new(ThreadWaker {
        thread: thread::current().id(),
        key,
        wake,
    }))
}
