//! [`LoopBound<T>`]: a value that is not `Send` (an [`aioloop::Future`](crate::Future), an `Rc`)
//! travelling through other threads and back to its loop, touched only on the loop's thread.

use std::fmt;
use std::thread::{self, ThreadId};

use crate::context;
use crate::remote::RemoteMsg;
use crate::threadsafe::LoopHandle;

/// A value that need not be `Send`, wrapped so that it can travel through other threads and be
/// used again when it comes back to the thread of the loop it was made on.
///
/// This is how a thread resolves an [`aioloop::Future`](crate::Future) (which is not `Send`)
/// through [`run_coroutine_threadsafe`](crate::run_coroutine_threadsafe), as asyncio programs do
/// with `run_coroutine_threadsafe(set_it(fut), loop)`: wrap the future in a `LoopBound`, move
/// it into the thread, and unwrap it in the coroutine, which runs on the loop.
///
/// Every access checks the thread: [`get`](LoopBound::get), [`get_mut`](LoopBound::get_mut) and
/// [`into_inner`](LoopBound::into_inner) panic anywhere but on the loop's thread, so the value
/// is never touched elsewhere. Dropped on another thread, the value is sent back to its loop
/// and dropped there; if that loop is closed it is leaked instead (never dropped on the wrong
/// thread).
///
/// ```
/// use std::time::Duration;
///
/// aioloop::run(async {
///     let fut = aioloop::Future::<u32>::new();
///     let bound = aioloop::LoopBound::new(fut.clone());
///     let handle = aioloop::get_running_loop().handle();
///     std::thread::spawn(move || {
///         std::thread::sleep(Duration::from_millis(10)); // some blocking work
///         // The coroutine runs on the loop, where the Future may be touched.
///         handle.run_future_threadsafe(async move { bound.into_inner().set_result(42) });
///     });
///     assert_eq!(fut.await.unwrap(), 42);
/// });
/// ```
pub struct LoopBound<T: 'static> {
    /// `None` only after `into_inner` took it.
    value: Option<T>,
    home: ThreadId,
    handle: LoopHandle,
}

// SAFETY: the value is only ever touched on the thread `home`: `get`, `get_mut` and
// `into_inner` check the thread and panic elsewhere, and `Drop` off that thread does not drop
// the value but sends it to the loop, whose remote queue runs or drops its messages only on
// the loop's thread, which is `home` (the loop was running on `home` when the value was
// wrapped, and loops never change threads), or else leaks it (see `remote.rs`, invariant 2).
unsafe impl<T: 'static> Send for LoopBound<T> {}

/// Carries a value home inside a remote job.
struct Homebound<T>(T);

// SAFETY: a `Homebound` is only created inside a job pushed to the remote queue of the loop
// whose thread owns the value; that queue runs or drops it on that thread only, and a job the
// queue refuses is forgotten, not dropped (see `LoopBound`'s `Drop`).
unsafe impl<T> Send for Homebound<T> {}

impl<T: 'static> LoopBound<T> {
    /// Wraps `value`, binding it to the running loop's thread.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn new(value: T) -> Self {
        let core = context::expect_current("LoopBound::new");
        LoopBound {
            value: Some(value),
            home: thread::current().id(),
            handle: crate::Loop::from_core(core).handle(),
        }
    }

    /// True on the thread of the loop the value belongs to, where it may be used.
    pub fn is_home(&self) -> bool {
        thread::current().id() == self.home
    }

    #[track_caller]
    fn assert_home(&self, what: &str) {
        assert!(
            self.is_home(),
            "aioloop: LoopBound::{what} called away from the thread of the value's event loop \
             (use it in a coroutine sent with run_coroutine_threadsafe, or a callback sent with \
             call_soon_threadsafe)"
        );
    }

    /// The value.
    ///
    /// # Panics
    /// Away from the loop's thread.
    #[track_caller]
    pub fn get(&self) -> &T {
        self.assert_home("get");
        self.value.as_ref().expect("the value is there until into_inner")
    }

    /// The value, mutably.
    ///
    /// # Panics
    /// Away from the loop's thread.
    #[track_caller]
    pub fn get_mut(&mut self) -> &mut T {
        self.assert_home("get_mut");
        self.value.as_mut().expect("the value is there until into_inner")
    }

    /// Unwraps the value.
    ///
    /// # Panics
    /// Away from the loop's thread.
    #[track_caller]
    pub fn into_inner(mut self) -> T {
        self.assert_home("into_inner");
        self.value.take().expect("the value is there until into_inner")
    }

    /// Unwraps the value on the loop's thread, or gives the wrapper back elsewhere.
    pub fn try_into_inner(mut self) -> Result<T, Self> {
        if self.is_home() {
            Ok(self.value.take().expect("the value is there until into_inner"))
        } else {
            Err(self)
        }
    }

    /// A handle to the loop the value belongs to.
    pub fn loop_handle(&self) -> &LoopHandle {
        &self.handle
    }
}

impl<T: 'static> Drop for LoopBound<T> {
    fn drop(&mut self) {
        let Some(value) = self.value.take() else {
            return;
        };
        if self.is_home() {
            drop(value);
            return;
        }
        let parcel = Homebound(value);
        let job = Box::new(move || drop(parcel));
        if let Err(refused) = self.handle.remote().push(RemoteMsg::Call(job)) {
            // The loop is closed: the value may not be dropped here, so it is leaked.
            std::mem::forget(refused);
        }
    }
}

impl<T: 'static> fmt::Debug for LoopBound<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopBound")
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}
